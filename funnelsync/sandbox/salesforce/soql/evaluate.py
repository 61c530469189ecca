"""Evaluate a parsed SOQL `Query` over in-memory records: compile once, then filter, sort, project.

`compile` resolves every name against the schema (canonical case, INVALID_FIELD/INVALID_TYPE),
type-checks literals (INVALID_QUERY_FILTER_OPERATOR) and builds plain closures, so the per-record
work is a few dict lookups and comparisons. Datetime values are compared as instants, in the
form of fixed-width UTC text, which Salesforce's own '...000+0000' values give by slicing.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from funnelsync.sandbox.salesforce.soql.parse import Cond, Lit, Node, Not, SoqlError, utc_instant

Record = Mapping[str, Any]
Resolve = Callable[[str], Record | None]
Getter = Callable[[Record], Any]
Predicate = Callable[[Record], bool]
References = Mapping[str, Mapping[str, str | Sequence[str]]]

_CATEGORY = {
    "id": "id", "reference": "id", "boolean": "boolean", "int": "number", "double": "number",
    "currency": "number", "percent": "number", "date": "date", "datetime": "datetime",
}  # every other type (string, picklist, email, textarea, ...) compares as text
_LITERAL_KIND = {"text": "string", "id": "string", "number": "number", "boolean": "boolean",
                 "date": "date", "datetime": "datetime"}
_TYPE_WORD = {"text": "string", "id": "id", "boolean": "boolean", "date": "date",
              "datetime": "dateTime"}
_USER_RELATIONSHIPS = frozenset({"Owner", "CreatedBy", "LastModifiedBy"})
_NO_COLUMN = ("No such column '{field}' on entity '{obj}'. If you are attempting to use a custom "
              "field, be sure to append the '__c' after the custom field name. Please reference "
              "your WSDL or the describe call for the appropriate names.")
_NO_RELATIONSHIP = ("Didn't understand relationship '{rel}' in field path. If you are attempting "
                    "to use a custom relationship, be sure to append the '__r' after the custom "
                    "relationship name. Please reference your WSDL or the describe call for the "
                    "appropriate names.")
_NO_OBJECT = ("sObject type '{obj}' is not supported. If you are attempting to use a custom "
              "object, be sure to append the '__c' after the entity name. Please reference your "
              "WSDL or the describe call for the appropriate names.")


# -- value normalisation: one comparable form per category, None for null ------------------
def _norm_text(value: Any) -> str | None:
    return None if value is None else str(value).casefold()  # SOQL text compares ignore case


def _norm_number(value: Any) -> float | int | None:
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return value
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def _norm_bool(value: Any) -> bool | None:
    if isinstance(value, str):
        return value.lower() == "true"
    return None if value is None else bool(value)


def _norm_date(value: Any) -> str | None:
    return None if value is None else str(value)[:10]


def _instant(value: Any) -> str | None:
    """A datetime value as UTC 'YYYY-MM-DDTHH:MM:SS.mmm' (text order = time order)."""
    if type(value) is not str:
        return None
    if value[19:20] == "." and (
        (len(value) == 28 and value.endswith("+0000")) or (len(value) == 24 and value[-1] == "Z")
    ):
        return value[:23]  # already UTC with milliseconds: the common case needs no parsing
    return _parse_other(value)


@lru_cache(maxsize=4096)
def _parse_other(value: str) -> str | None:
    try:
        return utc_instant(value)
    except ValueError:
        return None


_NORM: dict[str, Callable[[Any], Any] | None] = {
    "text": _norm_text, "id": None, "number": _norm_number, "boolean": _norm_bool,
    "date": _norm_date, "datetime": _instant,
}


class _Lowest:
    """Sorts before every value: stands in for null in a sort key."""

    def __lt__(self, other: object) -> bool:
        return other is not self

    def __gt__(self, other: object) -> bool:
        return False


class _Highest:
    def __lt__(self, other: object) -> bool:
        return False

    def __gt__(self, other: object) -> bool:
        return other is not self


LOW, HIGH = _Lowest(), _Highest()


# -- names ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Field:
    path: tuple[str, ...]  # canonical output path, e.g. ("Owner", "Name")
    refs: tuple[str, ...]  # reference fields followed, e.g. ("OwnerId",)
    objs: tuple[str, ...]  # object at each level, e.g. ("Opportunity", "User")
    sf_type: str

    @property
    def name(self) -> str:
        return self.path[-1]

    @property
    def category(self) -> str:
        return _CATEGORY.get(self.sf_type, "text")


def _relationship_name(field: str) -> str | None:
    if field.endswith("__c"):
        return field[:-3] + "__r"
    return field[:-2] if field.endswith("Id") and len(field) > 2 else None


class Catalog:
    """Case-insensitive names over `schema`; `references` overrides guessed lookup targets."""

    def __init__(self, schema: Mapping[str, Mapping[str, str]],
                 references: References | None) -> None:
        self.schema = schema
        self.references = references or {}
        self.objects = {name.lower(): name for name in schema}
        self.columns = {obj: {f.lower(): f for f in fields} for obj, fields in schema.items()}

    def object(self, written: str) -> str:
        if written.lower() not in self.objects:
            raise SoqlError("INVALID_TYPE", _NO_OBJECT.format(obj=written))
        return self.objects[written.lower()]

    def field(self, obj: str, written: str) -> Field:
        *rels, leaf = written.split(".")
        path, refs, objs = [], [], [obj]
        for rel in rels:
            ref, rel_name, target = self.relationship(objs[-1], rel)
            path.append(rel_name)
            refs.append(ref)
            objs.append(target)
        canonical = self.columns[objs[-1]].get(leaf.lower())
        if canonical is None:
            raise SoqlError("INVALID_FIELD", _NO_COLUMN.format(field=leaf, obj=objs[-1]))
        sf_type = self.schema[objs[-1]][canonical]
        return Field((*path, canonical), tuple(refs), tuple(objs), sf_type)

    def relationship(self, obj: str, written: str) -> tuple[str, str, str]:
        for field, sf_type in self.schema[obj].items():
            rel = _relationship_name(field)
            if sf_type == "reference" and rel and rel.lower() == written.lower():
                for target in self.targets(obj, field, rel):
                    if target in self.schema:
                        return field, rel, target
        raise SoqlError("INVALID_FIELD", _NO_RELATIONSHIP.format(rel=written))

    def targets(self, obj: str, field: str, rel: str) -> tuple[str, ...]:
        known = self.references.get(obj, {}).get(field)
        if known:
            return (known,) if isinstance(known, str) else tuple(known)
        return (self.guess_target(rel),)

    @staticmethod
    def guess_target(rel: str) -> str:
        if rel in _USER_RELATIONSHIPS:
            return "User"
        return rel[:-3] + "__c" if rel.endswith("__r") else rel


def getter(field: Field, resolve: Resolve | None) -> Getter:
    """Raw value of `field` in a record, following lookups through `resolve`."""
    name = field.name
    if not field.refs:
        return lambda r: r.get(name)
    if resolve is None:
        raise ValueError("relationship fields need a resolve(id) callable")
    hops = field.refs

    def follow(record: Record) -> Any:
        current: Record | None = record
        for ref in hops:
            ref_id = current.get(ref)
            current = None if ref_id is None else resolve(ref_id)
            if current is None:
                return None
        return current.get(name)

    return follow


def comparable(field: Field, resolve: Resolve | None) -> Getter:
    """Normalised (comparable) value of `field`; None stands for null."""
    get, norm = getter(field, resolve), _NORM[field.category]
    if norm is None:
        return get
    if not field.refs:
        name = field.name
        return lambda r: norm(r.get(name))
    return lambda r: norm(get(r))


# -- WHERE ----------------------------------------------------------------------------------
_COMPARE: dict[str, Callable[[Getter, Any], Predicate]] = {
    "=": lambda f, t: lambda r: f(r) == t,
    "!=": lambda f, t: lambda r: f(r) != t,  # SOQL != is true for null values too
    "<": lambda f, t: lambda r: (v := f(r)) is not None and v < t,
    "<=": lambda f, t: lambda r: (v := f(r)) is not None and v <= t,
    ">": lambda f, t: lambda r: (v := f(r)) is not None and v > t,
    ">=": lambda f, t: lambda r: (v := f(r)) is not None and v >= t,
}


def _check_literal(field: Field, lit: Lit) -> None:
    category = field.category
    if lit.kind in ("null", _LITERAL_KIND[category]):
        return
    word = _TYPE_WORD.get(category) or ("int" if field.sf_type == "int" else "double")
    quotes = "should be" if category in ("text", "id") else "should not be"
    raise SoqlError(
        "INVALID_QUERY_FILTER_OPERATOR",
        f"value of filter criterion for field '{field.name}' must be of type {word} "
        f"and {quotes} enclosed in quotes",
    )


def _target(lit: Lit, field: Field) -> Any:
    """The literal in the record values' comparable form (the parser decoded the others)."""
    if field.category == "text" and lit.value is not None:
        return _norm_text(lit.value)
    return lit.value


def _like_pattern(pattern: str) -> re.Pattern[str]:
    parts = []
    for piece in re.findall(r"\\.|.", pattern, flags=re.DOTALL):
        wildcard = {"%": ".*", "_": "."}.get(piece)
        parts.append(wildcard or re.escape(piece[-1]))
    return re.compile("".join(parts), re.IGNORECASE | re.DOTALL)


def _leaf(cond: Cond, obj: str, catalog: Catalog, resolve: Resolve | None) -> Predicate:
    field = catalog.field(obj, cond.field)
    lits = cond.value if isinstance(cond.value, tuple) else (cond.value,)
    _check_operands(cond.op, field, lits)
    if cond.op == "LIKE":
        return _like(field, lits[0], resolve)
    value_of = comparable(field, resolve)
    if cond.op in ("IN", "NOT IN"):
        wanted = frozenset(_target(lit, field) for lit in lits)
        if cond.op == "IN":
            return lambda r: value_of(r) in wanted
        return lambda r: value_of(r) not in wanted
    target = _target(lits[0], field)
    if target is None and cond.op not in ("=", "!="):
        return lambda r: False  # ordering against null matches nothing
    return _COMPARE[cond.op](value_of, target)


def _check_operands(op: str, field: Field, lits: tuple[Lit, ...]) -> None:
    if op == "LIKE" and field.category not in ("text", "id"):
        raise SoqlError("INVALID_QUERY_FILTER_OPERATOR",
                        f"invalid operator on field '{field.name}': LIKE needs a text field")
    for lit in lits:
        _check_literal(field, lit)


def _like(field: Field, lit: Lit, resolve: Resolve | None) -> Predicate:
    if lit.value is None:
        return lambda r: False
    get, rx = getter(field, resolve), _like_pattern(str(lit.value))
    return lambda r: (v := get(r)) is not None and rx.fullmatch(str(v)) is not None


def predicate(node: Node, obj: str, catalog: Catalog, resolve: Resolve | None) -> Predicate:
    if isinstance(node, Cond):
        return _leaf(node, obj, catalog, resolve)
    if isinstance(node, Not):
        inner = predicate(node.item, obj, catalog, resolve)
        return lambda r: not inner(r)
    parts = tuple(predicate(item, obj, catalog, resolve) for item in node.items)
    return _all_of(parts) if node.op == "AND" else _any_of(parts)


def _all_of(parts: tuple[Predicate, ...]) -> Predicate:
    def all_of(record: Record) -> bool:
        return all(part(record) for part in parts)

    return all_of


def _any_of(parts: tuple[Predicate, ...]) -> Predicate:
    def any_of(record: Record) -> bool:
        return any(part(record) for part in parts)

    return any_of

