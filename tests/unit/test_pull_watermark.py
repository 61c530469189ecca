"""Where a stream's pull starts, read from its stored watermark."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from funnelsync.connectors.paging import AfterKey
from funnelsync.store import Watermark
from funnelsync.sync.pull import start_of

T = datetime(2026, 11, 20, 8, 0, 0, 500000, tzinfo=UTC)
SAVED = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
KEY = AfterKey(T, "0065g000000000dAAA").encode()


def test_no_watermark_is_a_full_load() -> None:
    assert start_of(None) == (None, None)


def test_a_full_load_cut_short_goes_on_at_its_token() -> None:
    assert start_of(Watermark(None, "live:4411", SAVED)) == (None, "live:4411")


def test_a_key_starts_after_it() -> None:
    assert start_of(Watermark(T, KEY, SAVED)) == (T, KEY)


@pytest.mark.parametrize("resume", [None, "archived:4411", "live:", "bulk2:750X:"])
def test_a_cursor_without_a_key_starts_at_the_cursor(resume: str | None) -> None:
    """Watermarks stored before keys were kept, or whose token belongs to an unordered load
    run over an older cursor, read as ``>= cursor`` (id '')."""
    assert start_of(Watermark(T, resume, SAVED)) == (T, None)
