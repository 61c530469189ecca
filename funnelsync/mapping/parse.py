"""Value parsers shared by the CRM mappers, and the per-record reader that turns bad values
into warnings.

Every parser takes one raw value (whatever JSON gave us) and returns the parsed value or None
for "no value" (null, missing, empty or blank string). A value that is present but cannot be
parsed raises ``ValueError`` with the reason; ``RecordReader`` turns that into a warning and a
null, so one dirty field never loses the whole record.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from funnelsync.errors import DataError

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MISSING = object()
_SLOW = object()
_THOUSANDS = re.compile(r"[+-]?\d{1,3}(,\d{3})+(\.\d*)?")


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _number_text(value: Any) -> str:
    """The text of a number-like value; thousands separators are dropped ("1,200.50")."""
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise ValueError("is not a number")
    text = str(value).strip()
    if "," in text:
        # Only a real thousands grouping is accepted: "1,2,3" is not silently 123.
        if not _THOUSANDS.fullmatch(text):
            raise ValueError("is not a number")
        text = text.replace(",", "")
    return text


def parse_text(value: Any) -> str | None:
    """Trimmed text; numbers become their text; objects and lists are rejected."""
    if _blank(value):
        return None
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise ValueError("is not text")
    return str(value).strip()


def parse_email(value: Any) -> str | None:
    """Trimmed, lower-case e-mail address (CRMs keep whatever case people typed)."""
    text = parse_text(value)
    return text.lower() if text else None


def parse_decimal(value: Any) -> Decimal | None:
    """An exact amount: 48000.0, "1200.5" and "1,200.50" all parse; NaN/infinity do not."""
    if _blank(value):
        return None
    text = repr(value) if isinstance(value, float) else _number_text(value)
    try:
        number = Decimal(text)
    except InvalidOperation:
        raise ValueError("is not a number") from None
    if not number.is_finite():
        raise ValueError("is not a finite number")
    return number


# Salesforce's widest currency field has 16 digits before the point (18 with 2 decimals).
# Below this bound an amount, a sum of a million of them, and a probability-weighted share
# all round to cents within Decimal's 28 significant digits and convert to a finite float.
AMOUNT_LIMIT = Decimal(10) ** 16
AMOUNT_LIMIT_FLOAT = 1e16  # the same bound: 10^16 is exact as a float


def parse_amount(value: Any) -> Decimal | None:
    """A deal amount: an exact decimal (as ``parse_decimal``) smaller in size than 10^16,
    so reports can round, sum and weight it."""
    number = parse_decimal(value)
    if number is not None and not abs(number) < AMOUNT_LIMIT:
        raise ValueError("is out of range (an amount must be smaller than 10^16)")
    return number


def parse_float(value: Any) -> float | None:
    """A finite float from a JSON number or a numeric string."""
    if type(value) is float:  # a JSON number already: what its text would parse to
        if not math.isfinite(value):
            raise ValueError("is not a finite number")
        return value
    if _blank(value):
        return None
    try:
        number = float(_number_text(value))
    except ValueError:
        raise ValueError("is not a number") from None
    if not math.isfinite(number):
        raise ValueError("is not a finite number")
    return number


def parse_int(value: Any) -> int | None:
    """A whole number; "250", 250 and 250.0 parse, "12.5" does not."""
    if _blank(value):
        return None
    number = parse_float(value)
    if number is None or not number.is_integer():
        raise ValueError("is not a whole number")
    return int(number)


def parse_bool(value: Any) -> bool | None:
    """JSON booleans and HubSpot's "true"/"false" strings."""
    if _blank(value):
        return None
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    raise ValueError("is not true or false")


def parse_datetime(value: Any) -> datetime | None:
    """An aware UTC datetime from ISO 8601 (``Z``, ``+0000``, ``+02:00``), a bare date, or
    epoch milliseconds (number or digit string, as HubSpot sends them). Naive times are UTC."""
    if _blank(value):
        return None
    if isinstance(value, bool):
        raise ValueError("is not a date-time")
    if isinstance(value, int | float) or (isinstance(value, str)
                                          and value.strip().lstrip("-").isdigit()):
        return _from_epoch_millis(value)
    if not isinstance(value, str):
        raise ValueError("is not a date-time")
    try:
        return _utc(datetime.fromisoformat(value.strip()))
    except (ValueError, OverflowError):
        raise ValueError("is not a valid date-time") from None


def _utc(parsed: datetime) -> datetime:
    """Naive times are UTC; aware ones are converted to UTC."""
    if parsed.tzinfo is None:
        return parsed.replace(tzinfo=UTC)
    return parsed if parsed.tzinfo is UTC else parsed.astimezone(UTC)


def _from_epoch_millis(value: int | float | str) -> datetime:
    try:
        millis = float(value)
        if not math.isfinite(millis):
            raise ValueError
        return _EPOCH + timedelta(milliseconds=millis)
    except (ValueError, OverflowError):
        raise ValueError("is not a valid epoch-milliseconds time") from None


def parse_date(value: Any) -> date | None:
    """A calendar date from ``YYYY-MM-DD`` or from a full date-time (its UTC date)."""
    if _blank(value):
        return None
    if isinstance(value, str) and len(value.strip()) == 10:
        try:
            return date.fromisoformat(value.strip())
        except ValueError:
            raise ValueError("is not a valid date") from None
    parsed = parse_datetime(value)
    return parsed.date() if parsed else None


def date_to_datetime(day: date | None) -> datetime | None:
    """Midnight UTC of a date (Salesforce LastActivityDate is a date, the schema wants time)."""
    return datetime(day.year, day.month, day.day, tzinfo=UTC) if day else None


def parse_percent(value: Any) -> float | None:
    """A 0-100 percentage (Salesforce Probability, DefaultProbability)."""
    number = parse_float(value)
    if number is not None and not 0 <= number <= 100:
        raise ValueError("is not between 0 and 100")
    return number


def parse_fraction_percent(value: Any) -> float | None:
    """A 0-1 fraction as HubSpot sends probabilities ("0.2") → percent (20.0), exactly."""
    number = parse_decimal(value)
    if number is None:
        return None
    if not 0 <= number <= 1:
        raise ValueError("is not between 0 and 1")
    return float(number * 100)


def _shorten(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def with_names(names: Sequence[str], extra: Sequence[str]) -> list[str]:
    """``names`` plus each non-empty name of ``extra`` not already there, in order."""
    out = list(names)
    out += [n for n in extra if n and n not in out]
    return out


def live_writeback(reader: RecordReader, stage_name: str, score_name: str,
                   with_score: bool, probability_name: str = "") -> dict[str, Any]:
    """``{"live": {"stage", "score"}}`` (and ``win_probability`` when its name is given): the
    record's current write-back values, so the sync diffs against them. A name configured as ""
    is not read."""
    stage = reader.text(stage_name) if stage_name else None
    score = reader.number(score_name) if with_score and score_name else None
    live: dict[str, Any] = {"stage": stage, "score": score}
    if probability_name:
        live["win_probability"] = reader.number(probability_name)
    return {"live": live}


class RecordReader:
    """Reads the fields of one raw record, collecting a warning for every unusable value."""

    __slots__ = ("_get", "kind", "record_id", "source", "values", "warnings")

    def __init__(self, source: str, kind: str, record_id: str, values: Mapping[str, Any]) -> None:
        self.source = source
        self.kind = kind
        self.record_id = record_id
        self.values = values
        self.warnings: list[str] = []
        # A plain dict's own lookup: the common case (every field of every record) kept cheap.
        self._get = values.get if type(values) is dict else None

    def label(self) -> str:
        return f"{self.source} {self.kind} {self.record_id}"

    def warn(self, message: str) -> None:
        self.warnings.append(f"{self.label()}: {message}")

    def has(self, name: str) -> bool:
        if "." not in name and type(self.values) is dict:
            return name in self.values
        return self.raw(name, quiet=True) is not _MISSING

    def raw(self, name: str, *, quiet: bool = False) -> Any:
        """The raw value at ``name``; ``Owner.Name`` follows a relationship (null-safe)."""
        value: Any = self.values
        if "." not in name and isinstance(value, dict):
            # The common case kept cheap (every field of every record): no split, no ABC check.
            found = value.get(name, _MISSING)
            return None if found is _MISSING and not quiet else found
        for part in name.split("."):
            if value is None:
                return None
            if not isinstance(value, Mapping):
                if not quiet:
                    self.warn(f"{name}: expected an object, got {_shorten(value)}; using null")
                return None
            value = value.get(part, _MISSING)
            if value is _MISSING:
                return _MISSING if quiet else None
        return value

    def _quick(self, name: str) -> Any:
        """What ``raw`` gives for a field of a plain dict or of its related dict (``Owner.Name``)
        without its checks; ``_SLOW`` when only ``raw`` can tell (or must warn)."""
        values = self.values
        if type(values) is not dict:
            return _SLOW
        if "." not in name:
            return values.get(name)
        head, _, tail = name.partition(".")
        related = values.get(head)
        if related is None:
            return None
        if type(related) is not dict or "." in tail:
            return _SLOW
        return related.get(tail)

    def parsed(self, name: str, parser: Any, value: Any = _MISSING) -> Any:
        raw = self._quick(name) if value is _MISSING else value
        if raw is _SLOW:
            raw = self.raw(name)
        try:
            return parser(raw)
        except ValueError as exc:
            self.warn(f"{name} {_shorten(raw)} {exc}; using null")
            return None

    def text(self, name: str) -> str | None:
        get = self._get
        value = get(name) if get is not None and "." not in name else self._quick(name)
        if type(value) is str:  # the common case, without the general parser's checks
            return value.strip() or None
        if value is None:
            return None
        return self.parsed(name, parse_text)

    def email(self, name: str) -> str | None:
        return self.parsed(name, parse_email)

    def decimal(self, name: str) -> Decimal | None:
        return self.parsed(name, parse_decimal)

    def amount(self, name: str) -> Decimal | None:
        get = self._get
        value = get(name) if get is not None and "." not in name else _SLOW
        if type(value) is float and -AMOUNT_LIMIT_FLOAT < value < AMOUNT_LIMIT_FLOAT:
            return Decimal(repr(value))  # a JSON number, the common case: what parse_amount gives
        if value is None:
            return None
        return self.parsed(name, parse_amount)

    def number(self, name: str) -> float | None:
        return self.parsed(name, parse_float)

    def integer(self, name: str) -> int | None:
        return self.parsed(name, parse_int)

    def flag(self, name: str, default: bool | None = False) -> bool | None:
        get = self._get
        value = get(name) if get is not None and "." not in name else 0
        if value is True or value is False:  # a JSON boolean, the common case
            return value
        if value is None:
            return default
        result = self.parsed(name, parse_bool)
        return default if result is None else result

    def timestamp(self, name: str) -> datetime | None:
        get = self._get
        value = get(name) if get is not None and "." not in name else 0
        if value is None:
            return None
        if type(value) is str and len(value) >= 20 and value[10] == "T":
            # The usual API form ("…T08:00:00.000+0000" / "…Z"): straight to fromisoformat.
            try:
                return _utc(datetime.fromisoformat(value))
            except (ValueError, OverflowError):
                pass  # the general parser reports it
        return self.parsed(name, parse_datetime)

    def day(self, name: str) -> date | None:
        get = self._get
        value = get(name) if get is not None and "." not in name else 0
        if value is None:
            return None
        if type(value) is str and len(value) == 10:  # "YYYY-MM-DD", as parse_date reads it
            try:
                return date.fromisoformat(value)
            except ValueError:
                pass  # the general parser reports it
        return self.parsed(name, parse_date)

    def first_timestamp(self, *names: str) -> datetime | None:
        """The first of several fields that holds a valid time (e.g. lastmodifieddate, then
        hs_lastmodifieddate)."""
        for name in names:
            found = self.timestamp(name)
            if found is not None:
                return found
        return None


def require_record(raw: Any, source: str, kind: str) -> Mapping[str, Any]:
    """The record as a mapping, or DataError if it is not a JSON object."""
    if type(raw) is not dict and not isinstance(raw, Mapping):
        raise DataError(f"{source} {kind} (no id): record is a {type(raw).__name__}, not a JSON "
                        "object", source=source, field="(record)",
                        hint="pass the raw records exactly as the API returns them")
    return raw


def require_id(value: Any, source: str, kind: str, field: str) -> str:
    """The record id as a non-empty string, or DataError naming the field."""
    if value is None or value is _MISSING:
        raise DataError(f"{source} {kind} (no id): field {field} is missing; every record needs "
                        "its id", source=source, field=field,
                        hint=f"include {field} in the fields you request")
    if not isinstance(value, str) or not value.strip():
        raise DataError(f"{source} {kind} (no id): field {field} must be a non-empty string, got "
                        f"{_shorten(value)}", source=source, field=field,
                        hint="pass the raw records exactly as the API returns them")
    return value.strip()
