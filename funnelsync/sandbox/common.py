"""Small shared pieces of the sandbox: time formats, Salesforce ids, JSON, the Response type.

Time is kept as integer epoch milliseconds everywhere inside the sandbox and formatted only at
the edge, in each vendor's own format (Salesforce ``2026-11-20T08:00:00.000+0000``, HubSpot
``2026-11-20T08:00:00.000Z``). The formatters cache the date part because data generation
formats hundreds of thousands of timestamps.
"""

from __future__ import annotations

import datetime as dt
import json
import random
from dataclasses import dataclass, field
from functools import lru_cache

DAY_MS = 86_400_000
_EPOCH_ORDINAL = dt.date(1970, 1, 1).toordinal()
_ID_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
_CHECKSUM_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"

_dumps = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode


def dumps(obj: object) -> bytes:
    """Compact JSON as UTF-8 bytes (the sandbox's only serializer, kept fast)."""
    return _dumps(obj).encode()


@lru_cache(maxsize=4096)
def day_string(day: int) -> str:
    """``YYYY-MM-DD`` of a day number counted from 1970-01-01."""
    return dt.date.fromordinal(_EPOCH_ORDINAL + day).isoformat()


_TIME_OF_DAY: dict[int, str] = {}
_DAYS: dict[int, str] = {}
_MILLIS = [f".{n:03d}" for n in range(1000)]


def _stamp(ms: int) -> str:
    """``YYYY-MM-DDTHH:MM:SS.mmm`` in UTC; both caches stay small (days used, seconds of day)."""
    day, rest = divmod(ms, DAY_MS)
    secs, millis = divmod(rest, 1000)
    try:
        date_text = _DAYS[day]
    except KeyError:
        date_text = _DAYS[day] = day_string(day) + "T"
    try:
        clock = _TIME_OF_DAY[secs]
    except KeyError:
        hours, minutes = divmod(secs // 60, 60)
        clock = _TIME_OF_DAY[secs] = f"{hours:02d}:{minutes:02d}:{secs % 60:02d}"
    return date_text + clock + _MILLIS[millis]


def sf_datetime(ms: int) -> str:
    """Salesforce REST datetime, always UTC: ``2026-11-20T08:00:00.000+0000``."""
    return _stamp(ms) + "+0000"


def hs_datetime(ms: int) -> str:
    """HubSpot datetime: ``2026-11-20T08:00:00.000Z``."""
    return _stamp(ms) + "Z"


def sf_date(ms: int) -> str:
    return day_string(ms // DAY_MS)


@lru_cache(maxsize=65536)
def parse_datetime_ms(text: str) -> int | None:
    """Epoch ms of an ISO-8601 datetime or date (any vendor's format); None when unparseable."""
    value = text.strip()
    if value.isdigit():
        return int(value)
    if value.endswith("Z"):
        value = value[:-1] + "+00:00"
    elif len(value) > 5 and value[-5] in "+-" and value[-3] != ":":
        value = value[:-2] + ":" + value[-2:]
    try:
        parsed = dt.datetime.fromisoformat(value)
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=dt.UTC)
    return int(parsed.timestamp() * 1000)


_UPPER_BITS = str.maketrans({c: ("1" if c.isupper() else "0") for c in _ID_ALPHABET})


_CHUNK_CACHE: dict[str, str] = {}


def _chunk_char(chunk: str) -> str:
    try:
        return _CHUNK_CACHE[chunk]
    except KeyError:
        bits = chunk.translate(_UPPER_BITS)[::-1]
        char = _CHUNK_CACHE[chunk] = _CHECKSUM_ALPHABET[int(bits, 2)]
        return char


def sf_checksum(id15: str) -> str:
    """The 3-character suffix that turns a 15-character Salesforce id into its 18-char form."""
    return _chunk_char(id15[:5]) + _chunk_char(id15[5:10]) + _chunk_char(id15[10:])


_PAIRS = [a + b for a in _ID_ALPHABET for b in _ID_ALPHABET]  # base62, two digits at a time


def sf_id(prefix: str, number: int) -> str:
    """A deterministic 18-character Salesforce id with the given 3-character key prefix."""
    high, low = divmod(number, 3844)
    if high < 3844:
        id15 = f"{prefix}5g000000{_PAIRS[high]}{_PAIRS[low]}"
    else:
        digits = ""
        while number:
            number, rem = divmod(number, 62)
            digits = _ID_ALPHABET[rem] + digits
        id15 = f"{prefix}5g{digits.rjust(10, '0')}"
    return id15 + _chunk_char(id15[:5]) + _chunk_char(id15[5:10]) + _chunk_char(id15[10:])


@dataclass
class Request:
    """One parsed HTTP request, independent of the server plumbing."""

    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]  # lower-cased names
    body: bytes = b""
    row_faults: bool = False  # set by the server: inject row-lock failures into this write
    target_length: int = 0  # length of the raw request target (path + query string)

    def arg(self, name: str, default: str | None = None) -> str | None:
        values = self.query.get(name)
        return values[0] if values else default

    def json(self) -> object:
        return json.loads(self.body or b"null")


@dataclass
class Response:
    status: int
    body: bytes = b""
    content_type: str = "application/json;charset=UTF-8"
    headers: dict[str, str] = field(default_factory=dict)


def json_response(status: int, obj: object, headers: dict[str, str] | None = None) -> Response:
    return Response(status, dumps(obj), headers=dict(headers or {}))


def rint(rng: random.Random, low: int, high: int) -> int:
    """A random int in [low, high): much cheaper than `randrange`, still seeded."""
    return low + int(rng.random() * (high - low))
