"""Normalise a stream of raw CRM records (what ``funnelsync normalize`` runs).

Input is either JSON lines (one raw record, or one page, per line) or a single JSON document.
A line or document may be an API page (``records`` for Salesforce, ``results`` for HubSpot),
any other object whose one list holds the records (``{"deals": [...]}``, HubSpot v1's
``{"contacts": [...], "has-more": ...}``, SOSL's ``{"searchRecords": [...]}``), a list of
records, or one record. HubSpot v1 records (``dealId`` / ``vid``) are read by the HubSpot
mappers. A record of the other CRM, or an object holding several lists, is rejected with a
message naming its shape.

JSON is read by orjson, several times faster than the standard library; what orjson refuses or
reads otherwise (NaN and infinities, lone surrogates, integers beyond 64 bits) is read by
``json.loads``, so every input means, and every error reads, as the standard library says.

The input may be text lines or the byte lines of a binary file; bytes are decoded as
``config.encoding`` describes (UTF-8 with or without a byte-order mark, UTF-16), and a line
that cannot be decoded is rejected with its number while the other lines still map. A UTF-8
line is handed to orjson as bytes (it checks UTF-8 itself) and decoded only when orjson refuses
it. Each record yields a ``NormalizedItem`` carrying the record and its warnings, or the reason
it was rejected; one bad record never stops the rest. ``record_line`` writes a record as the
bytes of pydantic's compact JSON, with orjson where that gives the same bytes.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from importlib import resources
from itertools import chain
from typing import IO, Any, Literal, TextIO

import orjson

from funnelsync.config.encoding import (
    SAVE_AS_UTF8,
    BadLine,
    decode_text,
    decode_utf8_line,
    utf8_or_decoded_lines,
)
from funnelsync.config.models import AppConfig
from funnelsync.errors import ConfigError, DataError
from funnelsync.mapping import hubspot, salesforce
from funnelsync.mapping.funnel import StageMaps
from funnelsync.mapping.hubspot.catalog import HubSpotCatalog
from funnelsync.mapping.result import MapResult
from funnelsync.mapping.schema import FunnelDeal, FunnelLead

SourceName = Literal["salesforce", "hubspot"]
ObjectName = Literal["lead", "deal"]
Mapper = Callable[[Any], MapResult]

PAGE_KEYS = {"salesforce": "records", "hubspot": "results"}
SHAPES: dict[str, Callable[[Any], str | None]] = {
    "salesforce": salesforce.shape_of, "hubspot": hubspot.shape_of,
}
OTHER = {"salesforce": "hubspot", "hubspot": "salesforce"}

# name → (source, object, file, pipelines file for HubSpot deal labels)
SAMPLES: dict[str, tuple[SourceName, ObjectName, str, str | None]] = {
    "salesforce-deals": ("salesforce", "deal", "salesforce_opportunities.json", None),
    "salesforce-leads": ("salesforce", "lead", "salesforce_leads.jsonl", None),
    "hubspot-deals": ("hubspot", "deal", "hubspot_deals.jsonl", "hubspot_pipelines.json"),
    "hubspot-contacts": ("hubspot", "lead", "hubspot_contacts.jsonl", None),
}


# A run of 19 digits may be an integer beyond 64 bits (below -2**63 it has 19), which orjson
# reads as a float.
_DIGITS_AS_ZERO = bytes(48 if 48 <= b <= 57 else 32 for b in range(256))
_LONG_DIGITS = b"0" * 19


def _loads(text: str) -> Any:
    """The JSON value of ``text``, as ``json.loads`` reads it (orjson where that is the same)."""
    try:
        value = orjson.loads(text)
    except orjson.JSONDecodeError:
        return json.loads(text)
    if _LONG_DIGITS in text.encode("utf-8", "surrogatepass").translate(_DIGITS_AS_ZERO):
        return json.loads(text)
    return value


_UNREAD = object()


def _loads_utf8(line: bytes) -> Any:
    """The JSON value of a UTF-8 line as ``_loads`` reads its text, read by orjson from the
    bytes; ``_UNREAD`` when only the text can tell (a line orjson refuses: not UTF-8, blank,
    or what ``_loads`` hands to ``json.loads``)."""
    try:
        value = orjson.loads(line)
    except orjson.JSONDecodeError:
        return _UNREAD
    return _UNREAD if _LONG_DIGITS in line.translate(_DIGITS_AS_ZERO) else value


@dataclass(frozen=True)
class NormalizedItem:
    """One input record: where it was (``line 3``, ``records[2]``) and what became of it."""

    position: str
    record: FunnelLead | FunnelDeal | None = None
    warnings: list[str] = field(default_factory=list)
    error: str | None = None


def make_mapper(source: SourceName, obj: ObjectName, config: AppConfig | None = None,
                catalog: HubSpotCatalog | None = None) -> Mapper:
    """The mapping function for one CRM object, bound to the config's maps and write-back."""
    cfg = config or AppConfig()
    maps, wb = StageMaps(cfg), cfg.writeback
    if source == "salesforce":
        bind = salesforce.lead_mapper if obj == "lead" else salesforce.opportunity_mapper
        return bind(maps, wb)
    if obj == "lead":
        return hubspot.contact_mapper(maps, wb)
    return hubspot.deal_mapper(maps, catalog, wb)


def normalize_stream(lines: Iterable[str] | Iterable[bytes], source: SourceName,
                     mapper: Mapper) -> Iterator[NormalizedItem]:
    """Map every record of a JSON-lines or single-JSON-document input, lazily. ``lines`` are
    the lines of a text file, or of a binary file (then decoded, see the module docstring)."""
    it = _input_lines(lines)
    for number, line in enumerate(it, start=1):
        if type(line) is bytes:
            line = decode_utf8_line(line)
        if isinstance(line, BadLine):
            yield _unreadable(number, line)
            continue
        if not line.strip():
            continue
        if _parses(line):
            yield from _normalize_lines(chain([line], it), number, source, mapper)
        else:
            # Not one JSON value per line: the whole input is one (pretty-printed) document.
            yield from _normalize_document(line, number, it, source, mapper)
        return


def _input_lines(lines: Iterable[Any]) -> Iterator[str | bytes | BadLine]:
    """One item per input line: text, UTF-8 bytes (left for orjson to read, see
    ``utf8_or_decoded_lines``) or a line that cannot be decoded; a byte-order mark at the
    start is dropped."""
    it = iter(lines)
    first = next(it, None)
    if isinstance(first, bytes | bytearray):
        yield from utf8_or_decoded_lines(chain([bytes(first)], it))
    elif first is not None:
        yield first.removeprefix("\ufeff")
        yield from it


def _unreadable(number: int, line: BadLine) -> NormalizedItem:
    return NormalizedItem(f"line {number}", error=f"{line.reason}; {SAVE_AS_UTF8}")


def _parses(line: str) -> bool:
    try:
        _loads(line.rstrip())
    except json.JSONDecodeError:
        return False
    return True


def _normalize_lines(lines: Iterable[str | bytes | BadLine], start: int, source: SourceName,
                     mapper: Mapper) -> Iterator[NormalizedItem]:
    for number, line in enumerate(lines, start=start):
        if type(line) is bytes:
            value = _loads_utf8(line)
            if value is not _UNREAD:  # the common case: a line orjson reads as json.loads does
                yield from _normalize_value(value, f"line {number}", source, mapper)
                continue
            line = decode_utf8_line(line)
        if isinstance(line, BadLine):
            yield _unreadable(number, line)
            continue
        text = line.rstrip()
        if not text:
            continue
        try:
            value = _loads(text)
        except json.JSONDecodeError as exc:
            yield NormalizedItem(f"line {number}", error=f"not valid JSON: {exc.msg} "
                                                        f"(column {exc.colno})")
            continue
        yield from _normalize_value(value, f"line {number}", source, mapper)


def _normalize_document(first: str, number: int, rest: Iterator[str | bytes | BadLine],
                        source: SourceName, mapper: Mapper) -> Iterator[NormalizedItem]:
    """The input from line ``number`` on as one text; undecodable lines are reported and
    left blank (so line numbers stay right)."""
    parts = ["\n" * (number - 1), first]
    for index, line in enumerate(rest, start=number + 1):
        if type(line) is bytes:
            line = decode_utf8_line(line)
        if isinstance(line, BadLine):
            yield _unreadable(index, line)
            line = "\n"
        parts.append(line)
    yield from _normalize_text("".join(parts), source, mapper)


def _normalize_text(text: str, source: SourceName,
                    mapper: Mapper) -> Iterator[NormalizedItem]:
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        if _looks_like_json_lines(text):
            # JSON lines whose first record is broken: report it and keep the others.
            yield from _normalize_lines(text.splitlines(), 1, source, mapper)
        else:
            yield NormalizedItem(f"line {exc.lineno} column {exc.colno}",
                                 error=f"not valid JSON: {exc.msg}")
        return
    yield from _normalize_value(value, "", source, mapper)


def _looks_like_json_lines(text: str) -> bool:
    lines = [line for line in text.splitlines() if line.strip()]
    return len(lines) > 1 and any(line.lstrip().startswith("{") and _parses(line)
                                  for line in lines[1:])


def _normalize_value(value: Any, where: str, source: SourceName,
                     mapper: Mapper) -> Iterator[NormalizedItem]:
    if type(value) is dict and PAGE_KEYS[source] not in value and SHAPES[source](value):
        # The common case, one record of the CRM asked for: no other shape to rule out.
        yield _mapped(value, where or "record", mapper)
        return
    found = _records_in(value, source)
    if found is None:
        yield _map_one(value, where or "record", source, mapper)
        return
    records, key = found
    prefix = f"{where} {key}".strip()
    for index, raw in enumerate(records):
        yield _map_one(raw, f"{prefix}[{index}]", source, mapper)


def _records_in(value: Any, source: SourceName) -> tuple[list[Any], str] | None:
    """The records of a list, an API page or any other object whose one list holds them
    (with the key of that list); None when ``value`` is not a collection of records."""
    if isinstance(value, list):
        return value, ""
    if not isinstance(value, dict):
        return None
    page = value.get(PAGE_KEYS[source])
    if isinstance(page, list):
        return page, PAGE_KEYS[source]
    if _is_record(value):
        return None
    lists = [key for key, item in value.items() if isinstance(item, list)]
    return (value[lists[0]], lists[0]) if len(lists) == 1 else None


def _is_record(value: Any) -> bool:
    return any(shape(value) for shape in SHAPES.values())


def _shape_problem(raw: Any, source: SourceName) -> str | None:
    """Why ``raw`` cannot be a record of ``source``, naming its shape; None when it may be."""
    if not isinstance(raw, dict) or SHAPES[source](raw):
        return None
    other = OTHER[source]
    foreign = SHAPES[other](raw)
    if foreign:
        return f"{foreign}, not a {source} record (map it with --source {other})"
    lists = [key for key, item in raw.items() if isinstance(item, list)]
    if len(lists) > 1:
        return (f"an object holding several lists ({', '.join(lists)}), not a record (pass "
                "the one list that holds the records)")
    return None


def _map_one(raw: Any, position: str, source: SourceName, mapper: Mapper) -> NormalizedItem:
    problem = _shape_problem(raw, source)
    if problem:
        return NormalizedItem(position, error=problem)
    return _mapped(raw, position, mapper)


def _mapped(raw: Any, position: str, mapper: Mapper) -> NormalizedItem:
    try:
        result = mapper(raw)
    except DataError as exc:
        return NormalizedItem(position, error=str(exc))
    return NormalizedItem(position, record=result.record, warnings=result.warnings)


def open_sample(name: str) -> TextIO:
    """A bundled sample file (see SAMPLES), opened for reading."""
    if name not in SAMPLES:
        raise ConfigError(f"unknown sample {name!r}", hint=f"choose one of {', '.join(SAMPLES)}")
    return _open_resource(SAMPLES[name][2])


def sample_catalog(name: str) -> HubSpotCatalog | None:
    """The pipelines catalog bundled with a HubSpot sample, if it has one."""
    pipelines = SAMPLES[name][3]
    if pipelines is None:
        return None
    with _open_resource(pipelines) as handle:
        return load_catalog(handle)


def load_catalog(handle: IO[str] | IO[bytes]) -> HubSpotCatalog:
    """A HubSpotCatalog from a saved ``/crm/v3/pipelines/deals`` response (a text or binary
    file; bytes are decoded as ``config.encoding`` describes)."""
    hint = "save the JSON answer of GET /crm/v3/pipelines/deals"
    data = handle.read()
    try:
        text = decode_text(data) if isinstance(data, bytes) else data.removeprefix("\ufeff")
    except ValueError as exc:
        raise ConfigError(f"cannot read the pipelines file: {exc}",
                          hint=f"{SAVE_AS_UTF8}; {hint}") from None
    try:
        return HubSpotCatalog.from_pipelines(json.loads(text))
    except (json.JSONDecodeError, DataError) as exc:
        raise ConfigError(f"cannot read the pipelines file: {exc}", hint=hint) from None


def _open_resource(filename: str) -> TextIO:
    path = resources.files("funnelsync").joinpath("samples", filename)
    return path.open("r", encoding="utf-8")


def record_json(record: FunnelLead | FunnelDeal) -> str:
    """One normalised record as a compact JSON line (decimals and times as strings)."""
    return record.model_dump_json()


# orjson writes what pydantic's serialiser writes for the values the mappers produce (text,
# numbers, booleans, None, dates, aware times, exact decimals, dicts of these), byte for byte,
# in a third of the time. A value it would write otherwise or not at all (an integer beyond 64
# bits, a non-text key, a subclass, a dataclass) makes it refuse, and pydantic writes the line.
_LINE_OPTIONS = (orjson.OPT_UTC_Z | orjson.OPT_APPEND_NEWLINE
                 | orjson.OPT_PASSTHROUGH_SUBCLASS | orjson.OPT_PASSTHROUGH_DATACLASS)


def record_line(record: FunnelLead | FunnelDeal) -> bytes:
    """``record_json(record)`` and a newline, as UTF-8 bytes. Its times must be UTC, as the
    mappers make them, or at least offset by whole minutes (the two serialisers cut an offset
    with seconds to minutes each their own way). A record holding text that is not Unicode (a
    lone surrogate, which JSON's ``\\ud800`` escape can make) cannot be written: DataError
    naming the field."""
    try:
        return orjson.dumps(record.__dict__, default=_decimal_text, option=_LINE_OPTIONS)
    except TypeError:  # orjson.JSONEncodeError included
        pass
    try:
        return (record.model_dump_json() + "\n").encode("utf-8")
    except ValueError:  # pydantic's serialisation error: text it cannot encode
        raise _unwritable(record) from None


def _unwritable(record: FunnelLead | FunnelDeal) -> DataError:
    name = next((name for name, value in record.__dict__.items() if not _is_unicode(value)),
                "(record)")
    record_id = record.source_id.encode("utf-8", "backslashreplace").decode("utf-8")
    return DataError(f"{record.source} record {record_id}: field {name} holds a lone "
                     "surrogate (half of a UTF-16 pair, e.g. the escape \\ud800), which is not "
                     "text; fix it in the input", source=record.source, record_id=record_id,
                     field=name)


def _is_unicode(value: Any) -> bool:
    if isinstance(value, str):
        return not any("\ud800" <= char <= "\udfff" for char in value)
    if isinstance(value, dict):
        return all(_is_unicode(k) and _is_unicode(v) for k, v in value.items())
    if isinstance(value, list | tuple):
        return all(_is_unicode(item) for item in value)
    return True


def _decimal_text(value: Any) -> str:
    if type(value) is Decimal:
        return str(value)  # as pydantic writes a Decimal
    raise TypeError(f"{type(value).__name__} is left to pydantic")


__all__ = [
    "SAMPLES",
    "NormalizedItem",
    "load_catalog",
    "make_mapper",
    "normalize_stream",
    "open_sample",
    "record_json",
    "record_line",
    "sample_catalog",
]
