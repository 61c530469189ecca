"""What a mapper returns: the normalised record plus the warnings met on the way."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from funnelsync.errors import DataError
from funnelsync.mapping.schema import FunnelDeal, FunnelLead

M = TypeVar("M", bound=BaseModel)


@dataclass(frozen=True)
class MapResult:
    """A mapped record and the human-readable warnings (unmapped stages, dirty values)."""

    record: FunnelLead | FunnelDeal
    warnings: list[str] = field(default_factory=list)


def build_model(model: type[M], values: dict[str, Any], *, source: str, kind: str,
                record_id: str) -> M:
    """Construct a schema model; a value the schema still refuses becomes a DataError naming
    the field, so callers only ever see a record or a DataError."""
    try:
        return model(**values)
    except ValidationError as exc:
        first = exc.errors(include_url=False)[0]
        name = ".".join(str(p) for p in first["loc"]) or "(record)"
        raise DataError(f"{source} {kind} {record_id}: field {name}: {first['msg']}",
                        source=source, record_id=record_id, field=name) from None


def construct_parsed(model: type[M], values: dict[str, Any]) -> M:
    """A schema model from values the mapping's parsers already checked, without validating
    them a second time (validation was most of a record's mapping cost).

    Every value must already be what the schema allows: the parsers turn raw CRM values into
    text, exact decimals, aware UTC times and bounded percentages, or into a warning and a
    null. Fields left out take their defaults; a name the model does not have is a
    programming error (TypeError). The mappers' property test checks that validating the
    result changes nothing."""
    order, names, defaults = _field_plan(model)
    if tuple(values) == order:  # every field, in schema order (what serialising follows)
        ordered = values
    elif values.keys() <= names:
        ordered = {name: values[name] if name in values else default()
                   for name, default in defaults}
    else:
        raise TypeError(f"{model.__name__} has no field {sorted(values.keys() - names)[0]}")
    record = model.__new__(model)
    _set = object.__setattr__  # frozen models: what pydantic's model_construct does too
    _set(record, "__dict__", ordered)
    _set(record, "__pydantic_fields_set__", set(values))
    _set(record, "__pydantic_extra__", None)
    _set(record, "__pydantic_private__", None)
    return record


@cache
def _field_plan(model: type[BaseModel]) -> tuple[tuple[str, ...], frozenset[str],
                                                 tuple[tuple[str, Callable[[], Any]], ...]]:
    """The model's field names in schema order and as a set, and (name, default maker) in
    schema order (a required field's maker raises, so a missing one is caught)."""
    plan = []
    for name, info in model.model_fields.items():
        if info.is_required():
            plan.append((name, _required(model, name)))
        else:
            plan.append((name, _default(info)))
    return tuple(model.model_fields), frozenset(model.model_fields), tuple(plan)


def _required(model: type[BaseModel], name: str) -> Callable[[], Any]:
    def missing() -> Any:
        raise TypeError(f"{model.__name__}: field {name} is required")
    return missing


def _default(info: Any) -> Callable[[], Any]:
    if info.default_factory is not None:
        return info.default_factory
    value = info.default
    return lambda: value


def unmapped_warning(label: str, what: str, config_table: str) -> str:
    """The standard 'not mapped' warning: names the value and where to map it, e.g.
    ``salesforce opportunity 006A: stage 'Technical Validation' is not mapped; add it under
    [mapping.salesforce.opportunity_stage]``."""
    return f"{label}: {what} is not mapped; add it under [{config_table}]"


def missing_stage_warning(label: str, field: str) -> str:
    """The warning for a record that lacks its stage field altogether (not requested, or cut
    from a saved page): its funnel stage cannot be known, which is not the same as empty."""
    return (f"{label}: {field} is missing, so the funnel stage is unknown; include {field} in "
            "the fields you request")


__all__ = ["MapResult", "build_model", "construct_parsed", "missing_stage_warning",
           "unmapped_warning"]
