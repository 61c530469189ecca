"""Normalising the lines of a binary file: UTF-8 lines are read by orjson from their bytes, and
every line means, maps and fails exactly as its decoded text does."""

from __future__ import annotations

import codecs
import io
import json
from typing import Any

import pytest

from funnelsync.cli.run import _record_writer
from funnelsync.config.encoding import BadLine, utf8_or_decoded_lines
from funnelsync.config.models import AppConfig
from funnelsync.mapping.normalize import NormalizedItem, make_mapper, normalize_stream
from funnelsync.mapping.schema import FunnelLead

OPP = {"attributes": {"type": "Opportunity", "url": "/x"}, "Id": "006A", "Name": "Acme",
       "Amount": 48000.0, "StageName": "Prospecting", "CloseDate": "2026-12-15",
       "CreatedDate": "2026-09-02T14:05:11.000+0000"}
ROW = json.dumps(OPP)
EDGE_LINES = [
    ROW,
    ROW.replace("48000.0", "12345678901234567890"),
    ROW.replace("48000.0", "-9223372036854775809"),  # beyond 64 bits: json.loads reads it
    ROW.replace("48000.0", "123456789012345678901234.5"),
    ROW.replace("48000.0", "NaN"),
    ROW.replace("48000.0", "-Infinity"),
    ROW.replace("48000.0", "1e400"),
    ROW.replace('"Acme"', '"\\ud83d\\ude80 Caf\\u00e9"'),  # escaped pair: one character
    ROW.replace('"Acme"', '"Ōsaka 名前 🚀 \u2028"'),
    ROW + "\u00a0",  # trailing non-ASCII space: text's rstrip drops it, orjson refuses it
    ROW + "\x0c",
    "\u2028",
    "   ",
    "",
    '{"Id": ',
    "[1, 2]",
    json.dumps({"records": [OPP, {**OPP, "Id": "006B"}], "done": True}),
    json.dumps({"id": "9", "properties": {}}),
    '{"Id": "006C", "Id": "006D"}',
]


def _items(lines: list[Any]) -> list[NormalizedItem]:
    return list(normalize_stream(lines, "salesforce",
                                 make_mapper("salesforce", "deal", AppConfig())))


@pytest.mark.parametrize("line", EDGE_LINES)
def test_a_byte_line_maps_as_its_text_does(line: str) -> None:
    lines = [ROW, line, ROW]  # after a good first line: the JSON-lines path
    text = _items([item + "\n" for item in lines])
    assert _items([(item + "\n").encode() for item in lines]) == text
    assert [i.position for i in text if i.error is None][0] == "line 1"


@pytest.mark.parametrize("number", ["-9223372036854775809", "123456789012345678901"])
@pytest.mark.parametrize("as_bytes", [True, False])
def test_integers_beyond_64_bits_are_read_exactly(number: str, as_bytes: bool) -> None:
    line = ROW.replace("48000.0", number)
    [_, item] = _items([(ROW + "\n").encode(), line.encode()] if as_bytes else [ROW, line])
    assert item.record is not None
    assert item.record.amount is None  # type: ignore[union-attr]
    # The value named is the integer itself, not the float orjson would make of it.
    assert item.warnings == [f"salesforce opportunity 006A: Amount {number} is out of range "
                             "(an amount must be smaller than 10^16); using null"]


def test_a_latin1_line_among_byte_lines_is_named_and_the_rest_map() -> None:
    bad = ROW.replace('"Acme"', '"Caf\u00e9"').encode("latin-1")
    items = _items([codecs.BOM_UTF8 + ROW.encode() + b"\n", bad + b"\n", ROW.encode()])
    assert [(i.position, i.error) for i in items] == [
        ("line 1", None),
        ("line 2", "not valid UTF-8 (byte 0xe9 at column "
                   f"{ROW.index('Acme') + 4}); save the file as UTF-8"),
        ("line 3", None)]


@pytest.mark.parametrize("size", [1, 2, 5, 64, 10_000])
def test_utf8_lines_stay_bytes_across_any_chunking(size: int) -> None:
    data = codecs.BOM_UTF8 + b'{"a": "M\xc3\xbcller"}\r\n\n{"b": "\xe9"}\n{"c": 3}'
    chunks = [data[i:i + size] for i in range(0, len(data), size)]
    assert list(utf8_or_decoded_lines(chunks)) == [
        b'{"a": "M\xc3\xbcller"}\r\n', b"\n", b'{"b": "\xe9"}\n', b'{"c": 3}']


def test_utf16_lines_are_decoded() -> None:
    data = '{"a": "Müller"}\n{"c": 3}\n'.encode("utf-16")
    assert list(utf8_or_decoded_lines([data[:3], data[3:]])) == ['{"a": "Müller"}\n',
                                                                 '{"c": 3}\n']
    broken = "ok\n".encode("utf-16") + b"\x00\xd8\x41\x00\n\x00"
    assert list(utf8_or_decoded_lines([broken])) == [
        "ok\n", BadLine("not valid UTF-16; the input was not read past this line")]


LEAD = FunnelLead(source="salesforce", source_id="00QA", company="Café")


def test_a_utf8_stream_gets_the_bytes_as_they_are() -> None:
    raw = io.BytesIO()
    out = io.TextIOWrapper(raw, encoding="utf-8", newline="\n")
    out.write("first\n")
    write = _record_writer(out)
    write(b'{"company":"Caf\xc3\xa9"}\n')
    out.flush()
    assert raw.getvalue() == b'first\n{"company":"Caf\xc3\xa9"}\n'


def test_a_stream_in_another_encoding_gets_text() -> None:
    raw = io.BytesIO()
    out = io.TextIOWrapper(raw, encoding="latin-1")
    _record_writer(out)(b'{"company":"Caf\xc3\xa9"}\n')
    out.flush()
    assert raw.getvalue() == b'{"company":"Caf\xe9"}\n'
    text = io.StringIO()
    _record_writer(text)(b'{"company":"Caf\xc3\xa9"}\n')
    assert text.getvalue() == '{"company":"Café"}\n'
