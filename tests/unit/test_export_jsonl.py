"""`export --format jsonl`: CRM text stays readable, but nothing in it can act on a terminal or
split a line."""

from __future__ import annotations

import io
import json

from funnelsync.app.export import write_jsonl

HOSTILE = "Ann\u202eevil\u202c \x85next\u2028line\u2029 \x9b31m \x1b[2J del\x7f \u2066iso\u2069"


def test_controls_bidi_overrides_and_line_separators_are_escaped() -> None:
    out = io.StringIO()
    assert write_jsonl([{"name": HOSTILE, "city": "Zürich 東京"}], out) == 1
    assert out.getvalue() == (
        '{"name": "Ann\\u202eevil\\u202c \\u0085next\\u2028line\\u2029 \\u009b31m '
        '\\u001b[2J del\\u007f \\u2066iso\\u2069", "city": "Zürich 東京"}\n')


def test_the_escaped_line_reads_back_as_the_same_values() -> None:
    out = io.StringIO()
    write_jsonl([{"name": HOSTILE}, {"name": "plain"}], out)
    lines = out.getvalue().splitlines()  # str.splitlines also splits at U+2028 and U+0085
    assert [json.loads(line) for line in lines] == [{"name": HOSTILE}, {"name": "plain"}]
