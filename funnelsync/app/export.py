"""`funnelsync export`: stream stored objects to JSON lines, CSV or Parquet.

Rows come from the store's streaming iterators and are written as they arrive (Parquet in
record batches), so memory does not grow with the number of records. Columns and their types
are those of ``app.tables``, the same the warehouse integrations load; nested values (``extra``,
alert evidence, run counts) are JSON text in CSV and Parquet. Deals keep their original
``amount`` and ``currency`` and add ``amount_converted`` in ``converted_currency`` (the report
currency, at the rates pulled last): empty for a deal whose currency has no rate. The warehouse
tables leave those two out: a converted figure there would not follow later rate changes.
"""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import asdict
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import IO, Any

from funnelsync.app.tables import TABLES, Column, person_row
from funnelsync.connectors.paging import batched
from funnelsync.errors import ConfigError
from funnelsync.mapping.schema import FunnelDeal
from funnelsync.reports.money import DealMoney
from funnelsync.reports.spreadsheet import csv_cell
from funnelsync.store import Store

OBJECTS = ("leads", "deals", "stage_changes", "people", "alerts", "runs")
FORMATS = ("jsonl", "csv", "parquet")
PARQUET_BATCH = 10_000
CONVERTED_COLUMNS = (
    Column("amount_converted", "decimal", "The amount in converted_currency, at the rate of the "
                                          "close date; empty without a rate."),
    Column("converted_currency", "text", "ISO code of amount_converted: the report currency."),
)


def export_columns(obj: str) -> tuple[Column, ...]:
    """Columns of an exported object: the table's, and for deals their converted amount."""
    return TABLES[obj].columns + (CONVERTED_COLUMNS if obj == "deals" else ())
# What json.dumps(ensure_ascii=False) leaves raw that a terminal or a line-splitting reader
# would act on: DEL and the C1 controls, the bidirectional controls, the Unicode line and
# paragraph separators (it escapes the C0 controls itself).
_RAW_IN_JSON = re.compile("[\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e"
                          "\u2066-\u2069]")


def columns_of(obj: str) -> list[str]:
    """Column names of an exported object, in schema order."""
    return [c.name for c in export_columns(obj)]


def iter_rows(store: Store, obj: str, money: DealMoney | None = None
              ) -> Iterator[dict[str, Any]]:
    """Stored rows of ``obj`` as JSON-ready dicts (non-deleted leads and deals, deals with
    their amount converted by ``money``; the people the identity step holds now)."""
    if obj in ("leads", "deals"):
        for record in store.iter_records(kind=obj):  # type: ignore[arg-type]
            yield record.data if obj == "leads" else _converted(record.data, money)
    elif obj == "stage_changes":
        for change in store.iter_stage_changes():
            yield change.model_dump(mode="json")
    elif obj in ("people", "alerts", "runs"):
        for item in _value_rows(store, obj):
            yield json.loads(json.dumps(asdict(item), default=_json_default))
    else:
        raise ConfigError(f"unknown object {obj!r}", hint=f"use one of {', '.join(OBJECTS)}")


def _converted(data: dict[str, Any], money: DealMoney | None) -> dict[str, Any]:
    value = money.converted(FunnelDeal.model_validate(data)) if money else None
    return {**data, "amount_converted": None if value is None else str(value),
            "converted_currency": None if value is None or money is None else money.currency}


def _value_rows(store: Store, obj: str) -> Iterator[Any]:
    if obj == "people":
        return (person_row(pid, links) for pid, links in store.iter_people_since(None))
    return store.iter_alerts() if obj == "alerts" else store.iter_runs()


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    raise TypeError(type(value).__name__)


def write_jsonl(rows: Iterable[dict[str, Any]], out: IO[str]) -> int:
    count = 0
    for row in rows:
        out.write(json_line(row) + "\n")
        count += 1
    return count


def json_line(row: dict[str, Any]) -> str:
    """``row`` as one line of JSON: text stays readable (UTF-8), but control characters,
    bidirectional controls and line separators from the CRM are ``\\uXXXX`` escapes (the same
    values, still valid JSON), so the line neither splits nor acts on a terminal."""
    text = json.dumps(row, ensure_ascii=False, default=_json_default)
    return _RAW_IN_JSON.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


def write_csv(rows: Iterable[dict[str, Any]], out: IO[str], columns: list[str]) -> int:
    writer = csv.DictWriter(out, fieldnames=columns, extrasaction="ignore")
    writer.writeheader()
    count = 0
    for row in rows:
        writer.writerow({k: _csv_cell(row.get(k)) for k in columns})
        count += 1
    return count


def _csv_cell(value: Any) -> Any:
    """Nested values as JSON; text a spreadsheet would run as a formula is quoted."""
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False, sort_keys=True)
    return csv_cell(value)


def write_parquet(rows: Iterable[dict[str, Any]], path: Path, obj: str,
                  batch_size: int = PARQUET_BATCH) -> int:
    """Parquet through pyarrow, ``batch_size`` rows in memory at a time."""
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError:
        raise ConfigError("Parquet export needs pyarrow, which is not installed",
                          hint="pip install 'funnelsync[parquet]', or use --format jsonl/csv"
                          ) from None
    schema = pa.schema([(name, _arrow_type(pa, obj, name)) for name in columns_of(obj)])
    count = 0
    with pq.ParquetWriter(str(path), schema) as writer:
        for batch in batched(rows, batch_size):
            cols = {name: [_arrow_value(r.get(name), schema.field(name).type, pa)
                           for r in batch] for name in schema.names}
            writer.write_batch(pa.record_batch(cols, schema=schema))
            count += len(batch)
    return count


def _arrow_type(pa: Any, obj: str, name: str) -> Any:
    """The Parquet type of a column; anything nested is stored as JSON text."""
    kind = next(c.data_type for c in export_columns(obj) if c.name == name)
    if kind == "timestamp":
        return pa.timestamp("us", tz="UTC")
    if kind == "decimal":
        return pa.decimal128(38, 9)
    return {"bigint": pa.int64, "double": pa.float64, "bool": pa.bool_,
            "date": pa.date32}.get(kind, pa.string)()


def _arrow_value(value: Any, arrow_type: Any, pa: Any) -> Any:
    if value is None:
        return None
    if pa.types.is_timestamp(arrow_type):
        return datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    if pa.types.is_date32(arrow_type):
        return date.fromisoformat(str(value))
    if pa.types.is_floating(arrow_type):
        return float(value)
    if pa.types.is_decimal(arrow_type):
        return Decimal(str(value))
    if pa.types.is_string(arrow_type) and isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False, sort_keys=True)
    return value if not pa.types.is_string(arrow_type) else str(value)


def export(store: Store, obj: str, fmt: str, path: Path | None, out: IO[str] | None = None,
           *, money: DealMoney | None = None) -> int:
    """Write every stored ``obj`` row to ``path`` (or ``out`` for jsonl/csv); returns the count.
    Deals' ``amount_converted`` comes from ``money`` (empty without one)."""
    if obj not in OBJECTS:
        raise ConfigError(f"unknown object {obj!r}", hint=f"use one of {', '.join(OBJECTS)}")
    rows = iter_rows(store, obj, money)
    if fmt == "parquet":
        if path is None:
            raise ConfigError("Parquet cannot go to stdout", hint="give -o FILE.parquet")
        return write_parquet(rows, path, obj)
    if path is None:
        assert out is not None
        return _write_text(rows, out, fmt, obj)
    with path.open("w", encoding="utf-8", newline="") as fh:
        return _write_text(rows, fh, fmt, obj)


def _write_text(rows: Iterable[dict[str, Any]], out: IO[str], fmt: str, obj: str) -> int:
    if fmt == "jsonl":
        return write_jsonl(rows, out)
    if fmt == "csv":
        return write_csv(rows, out, columns_of(obj))
    raise ConfigError(f"unknown format {fmt!r}", hint=f"use one of {', '.join(FORMATS)}")
