"""Value parsers shared by both mappers (funnelsync/mapping/parse.py)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import pytest

from funnelsync.mapping import parse as p


@pytest.mark.parametrize(("value", "expected"), [
    ("2026-11-20T08:00:00.000+0000", datetime(2026, 11, 20, 8, tzinfo=UTC)),
    ("2026-11-20T10:00:00.000+0200", datetime(2026, 11, 20, 8, tzinfo=UTC)),
    ("2026-10-01T12:00:00.000Z", datetime(2026, 10, 1, 12, tzinfo=UTC)),
    ("2026-10-01T12:00:00Z", datetime(2026, 10, 1, 12, tzinfo=UTC)),
    ("2026-10-01T12:00:00", datetime(2026, 10, 1, 12, tzinfo=UTC)),
    ("2026-10-01", datetime(2026, 10, 1, tzinfo=UTC)),
    ("1732350000000", datetime(2024, 11, 23, 8, 20, tzinfo=UTC)),
    (1732350000000, datetime(2024, 11, 23, 8, 20, tzinfo=UTC)),
    ("  ", None), (None, None), ("", None),
])
def test_parse_datetime(value: Any, expected: datetime | None) -> None:
    parsed = p.parse_datetime(value)
    assert parsed == expected
    if parsed is not None:
        assert parsed.tzinfo is UTC


@pytest.mark.parametrize(("value", "reason"), [
    ("2026-02-30T00:00:00Z", "is not a valid date-time"),
    ("yesterday", "is not a valid date-time"),
    ("99999999999999999999", "is not a valid epoch-milliseconds time"),
    (True, "is not a date-time"),
    ({"a": 1}, "is not a date-time"),
])
def test_parse_datetime_rejects(value: Any, reason: str) -> None:
    with pytest.raises(ValueError, match=f"^{reason}$"):
        p.parse_datetime(value)


@pytest.mark.parametrize(("value", "expected"), [
    ("1,200.50", Decimal("1200.50")), ("1200.5", Decimal("1200.5")), (48000.0, Decimal("48000.0")),
    (12, Decimal("12")), ("-1,000", Decimal("-1000")), ("", None), (None, None),
])
def test_parse_decimal(value: Any, expected: Decimal | None) -> None:
    assert p.parse_decimal(value) == expected


@pytest.mark.parametrize("value", ["abc", "1,2,3", "12,34.5", "NaN", "Infinity", True, [1]])
def test_parse_decimal_rejects(value: Any) -> None:
    with pytest.raises(ValueError):
        p.parse_decimal(value)


@pytest.mark.parametrize(("value", "expected"), [
    ("250", 250), (250, 250), (250.0, 250), ("1,200", 1200), (None, None)])
def test_parse_int(value: Any, expected: int | None) -> None:
    assert p.parse_int(value) == expected


@pytest.mark.parametrize(("value", "expected"), [
    (True, True), ("false", False), (" TRUE ", True), (None, None), ("", None)])
def test_parse_bool(value: Any, expected: bool | None) -> None:
    assert p.parse_bool(value) == expected


@pytest.mark.parametrize(("value", "expected"), [
    ("2026-12-15", date(2026, 12, 15)), ("2026-12-15T23:30:00-0200", date(2026, 12, 16)),
    ("1765756800000", date(2025, 12, 15)), (None, None)])
def test_parse_date(value: Any, expected: date | None) -> None:
    assert p.parse_date(value) == expected


@pytest.mark.parametrize(("value", "expected"), [
    ("0.2", 20.0), ("0.35", 35.0), ("1.0", 100.0), ("0", 0.0), (None, None)])
def test_parse_fraction_percent_is_exact(value: Any, expected: float | None) -> None:
    assert p.parse_fraction_percent(value) == expected


def test_email_is_trimmed_and_lower_case() -> None:
    assert p.parse_email("  Maria.Lopez@ACME.Example \t") == "maria.lopez@acme.example"
    assert p.parse_email(" ") is None


def test_reader_follows_relationships_and_collects_warnings() -> None:
    reader = p.RecordReader("salesforce", "opportunity", "006A",
                            {"Owner": {"Name": "Dana"}, "Account": None, "Amount": "x"})
    assert (reader.text("Owner.Name"), reader.text("Account.Name")) == ("Dana", None)
    assert reader.decimal("Amount") is None
    assert reader.has("Account") and not reader.has("Missing")
    assert reader.warnings == ["salesforce opportunity 006A: Amount 'x' is not a number; "
                               "using null"]


def test_naive_and_offset_times_end_in_utc() -> None:
    offset = datetime(2026, 1, 1, 1, tzinfo=timezone(timedelta(hours=1)))
    assert p.parse_datetime(offset.isoformat()) == datetime(2026, 1, 1, tzinfo=UTC)
