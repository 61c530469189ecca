"""SOQL for the sandbox: parse a query, check it against a schema, run it over in-memory records.

Pure and dependency-free (imports nothing else from funnelsync). Syntax is
checked in `parse`, names and WHERE in `evaluate`; this module is the public API.

Contract with the caller (the sandbox server)
---------------------------------------------
- ``schema``: ``{object: {field: type}}`` with canonical names ("Opportunity", "SystemModstamp")
  and types id, string, boolean, int, double, currency, percent, date, datetime, reference,
  picklist, email, textarea (unknown types compare as text). Query names match it ignoring case;
  output keys use its case.
- ``records``: mappings keyed by canonical field names (an absent key is null), values in API
  form: numbers as numbers, booleans as bool, dates "YYYY-MM-DD", datetimes as Salesforce
  strings ("2026-11-20T08:00:00.000+0000"; any ISO offset works, comparison is by instant).
  The caller decides visibility: pass live records for ``query``, live + deleted for ``queryAll``.
- ``resolve(id) -> record | None``: the record a lookup id points to (any object). Its
  ``attributes["type"]``, if present, names its object in the output (polymorphic owners);
  otherwise the lookup's target object is used. ``None`` means a dangling lookup (output null).
- Relationship ``X`` is the reference field ``XId`` (custom ``Foo__r`` is ``Foo__c``). Its target
  object comes from ``references`` ``{object: {reference field: target or (targets, ...)}}`` (the
  first target present in the schema is used to check field names), else a guess: Owner,
  CreatedBy and LastModifiedBy -> User, ``FooId`` -> Foo, ``Foo__c`` -> Foo__c.

Errors are ``SoqlError(error_code, message)`` with Salesforce's codes: MALFORMED_QUERY (syntax,
unsupported clauses, AND/OR mixed without parentheses, duplicate fields), INVALID_TYPE
(unknown object), INVALID_FIELD (unknown field or relationship), INVALID_QUERY_FILTER_OPERATOR
(literal of the wrong type, e.g. a datetime literal against a date field).

Semantics as in Salesforce: text comparisons and sorting ignore case, ``!=`` and ``NOT IN``
match null values, ORDER BY puts nulls first for ASC and last for DESC unless NULLS FIRST/LAST
says otherwise, sorting is stable, ``LIMIT`` applies after sorting, ``COUNT()`` returns only a
total (capped by LIMIT).

Typical server use (compile once per query, keep the selected list for the query locator)::

    compiled = compile(soql_text, schema, resolve, references=refs, api_version="59.0")
    if compiled.count_only:
        total, rows = compiled.count(records), []
    else:
        selected = compiled.select(records)          # raw records, filtered/sorted/limited
        page = [compiled.project(r) for r in selected[start:start + batch_size]]
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from funnelsync.sandbox.salesforce.soql.evaluate import (
    HIGH,
    LOW,
    Catalog,
    Field,
    Getter,
    Record,
    References,
    Resolve,
    comparable,
    predicate,
)
from funnelsync.sandbox.salesforce.soql.parse import Cond, Lit, OrderItem, Query, SoqlError, parse

__all__ = ["Compiled", "Cond", "Lit", "OrderItem", "Query", "SoqlError", "compile", "parse", "run"]

Schema = Mapping[str, Mapping[str, str]]
Sorter = Callable[[list[Record]], None]


# -- ORDER BY -------------------------------------------------------------------------------
def _key(parts: list[tuple[Getter, Any]]) -> Callable[[Record], Any]:
    """Sort key over (value getter, null stand-in) pairs; two keys is the incremental hot path."""
    if len(parts) == 1:
        ((f1, n1),) = parts
        return lambda r: n1 if (a := f1(r)) is None else a
    if len(parts) == 2:
        (f1, n1), (f2, n2) = parts
        return lambda r: (n1 if (a := f1(r)) is None else a, n2 if (b := f2(r)) is None else b)
    return lambda r: tuple([n if (v := f(r)) is None else v for f, n in parts])


def _sorter(items: tuple[OrderItem, ...], obj: str, catalog: Catalog,
            resolve: Resolve | None) -> Sorter | None:
    if not items:
        return None
    keyed = []
    for item in items:
        field = catalog.field(obj, item.field)
        # Under reverse=True the highest stand-in comes first, so flip it for DESC.
        null = LOW if item.nulls_first == item.ascending else HIGH
        keyed.append((comparable(field, resolve), null, item.ascending))
    if all(asc == keyed[0][2] for _, _, asc in keyed):
        key, reverse = _key([(f, n) for f, n, _ in keyed]), not keyed[0][2]
        return lambda rows: rows.sort(key=key, reverse=reverse)
    # Mixed directions: stable sorts from the last key to the first.
    passes = [(_key([(f, n)]), not asc) for f, n, asc in reversed(keyed)]

    def sort(rows: list[Record]) -> None:
        for key, reverse in passes:
            rows.sort(key=key, reverse=reverse)

    return sort


# -- projection -----------------------------------------------------------------------------
@dataclass(frozen=True)
class _Level:
    """Output shape of one object level: (output key, source field, nested level or None)."""

    obj: str
    items: tuple[tuple[str, str, _Level | None], ...]


def _projection(obj: str, fields: list[Field]) -> _Level:
    tree: dict[str, Any] = {}
    for field in fields:
        node = tree
        for rel, ref, target in zip(field.path[:-1], field.refs, field.objs[1:], strict=True):
            node = node.setdefault(rel, (ref, {}, target))[1]
        if field.name in node:
            raise SoqlError("MALFORMED_QUERY", f"duplicate field selected: {'.'.join(field.path)}")
        node[field.name] = (field.name, None, None)
    return _freeze(obj, tree)


def _freeze(obj: str, tree: dict[str, Any]) -> _Level:
    items = tuple(
        (key, source, None if sub is None else _freeze(target, sub))
        for key, (source, sub, target) in tree.items()
    )
    return _Level(obj, items)


def _projector(level: _Level, prefix: str,
               resolve: Resolve | None) -> Callable[[Record], dict[str, Any]]:
    """The row builder for the FROM object: flat copy in selected order, then lookups nested.

    Lookup keys first receive the reference id, then the nested row; overwriting a key keeps
    its position, so the output order is the selected order without a branch per field.
    """
    pairs, nested = _plan(level, prefix, resolve)
    kind, url = level.obj, f"{prefix}{level.obj}/"

    def project(record: Record) -> dict[str, Any]:
        return _row(record, kind, f"{url}{record.get('Id')}", pairs, nested)

    return project


def _plan(level: _Level, prefix: str, resolve: Resolve | None) -> tuple[tuple, tuple]:
    pairs = tuple((key, source) for key, source, _ in level.items)
    nested = tuple((key, _related(child, prefix, resolve))
                   for key, _, child in level.items if child is not None)
    return pairs, nested


def _related(level: _Level, prefix: str,
             resolve: Resolve | None) -> Callable[[Any], dict[str, Any] | None]:
    """Builder of a nested lookup row from a reference id; None for a null or dangling lookup."""
    pairs, nested = _plan(level, prefix, resolve)
    base = level.obj

    def build(ref_id: Any) -> dict[str, Any] | None:
        record = None if ref_id is None or resolve is None else resolve(ref_id)
        if record is None:
            return None
        attributes = record.get("attributes")  # polymorphic lookups name their own type
        kind = attributes.get("type", base) if isinstance(attributes, Mapping) else base
        return _row(record, kind, f"{prefix}{kind}/{record.get('Id')}", pairs, nested)

    return build


def _row(record: Record, kind: str, url: str, pairs: tuple, nested: tuple) -> dict[str, Any]:
    """One result row: its attributes, the selected fields, then the nested lookup rows."""
    get = record.get
    out: dict[str, Any] = {"attributes": {"type": kind, "url": url}}
    for key, source in pairs:
        out[key] = get(source)
    for key, build in nested:
        out[key] = build(out[key])
    return out


# -- public API -----------------------------------------------------------------------------
class Compiled:
    """A query checked against a schema, ready to run over records many times.

    Attributes: ``obj`` (canonical object name), ``fields`` (canonical selected paths such as
    "Owner.Name"), ``count_only``, ``limit``, and ``project(record) -> dict``: one row in REST
    shape (attributes, then the selected fields in order, lookups nested or None).
    """

    def __init__(self, query: Query, schema: Schema, resolve: Resolve | None = None, *,
                 references: References | None = None, api_version: str = "59.0") -> None:
        catalog = Catalog(schema, references)
        self.obj = catalog.object(query.obj)
        self.count_only = query.count_only
        self.limit = query.limit
        fields = [catalog.field(self.obj, written) for written in query.fields]
        if resolve is None and any(f.refs for f in fields):
            raise ValueError("relationship fields need a resolve(id) callable")
        self.fields = tuple(".".join(f.path) for f in fields)
        prefix = f"/services/data/v{api_version.lstrip('v')}/sobjects/"
        # A plain attribute, not a method: one call less per row on the paging hot path.
        self.project: Callable[[Record], dict[str, Any]] = _projector(
            _projection(self.obj, fields), prefix, resolve)
        self._where = None if query.where is None else predicate(
            query.where, self.obj, catalog, resolve)
        self._sort = _sorter(query.order_by, self.obj, catalog, resolve)

    def matches(self, record: Record) -> bool:
        """Whether the WHERE clause accepts `record` (True without a WHERE)."""
        return self._where is None or self._where(record)

    def select(self, records: Iterable[Record]) -> list[Record]:
        """The matching raw records, in ORDER BY order (stable), cut to LIMIT."""
        where = self._where
        rows = list(records) if where is None else [r for r in records if where(r)]
        if self._sort is not None:
            self._sort(rows)
        return rows if self.limit is None else rows[: self.limit]

    def count(self, records: Iterable[Record]) -> int:
        """Number of matching records, capped by LIMIT (the totalSize of COUNT())."""
        where = self._where
        total = sum(1 for r in records if where is None or where(r))
        return total if self.limit is None else min(total, self.limit)



def compile(query: Query | str, schema: Schema, resolve: Resolve | None = None, *,
            references: References | None = None, api_version: str = "59.0") -> Compiled:
    """Check `query` (text or parsed) against `schema` and build its evaluator; SoqlError if bad."""
    parsed = parse(query) if isinstance(query, str) else query
    return Compiled(parsed, schema, resolve, references=references, api_version=api_version)


def run(query: Query | str, records: Iterable[Record], schema: Schema,
        resolve: Resolve | None = None, *, references: References | None = None,
        api_version: str = "59.0") -> tuple[int, list[dict[str, Any]]]:
    """Run a query at once: (totalSize, rows in REST shape); COUNT() gives (total, [])."""
    compiled = compile(query, schema, resolve, references=references, api_version=api_version)
    if compiled.count_only:
        return compiled.count(records), []
    rows = compiled.select(records)
    return len(rows), [compiled.project(r) for r in rows]
