"""What a mapper returns: the normalised record plus the warnings met on the way."""

from __future__ import annotations

from dataclasses import dataclass, field
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


__all__ = ["MapResult", "build_model", "missing_stage_warning", "unmapped_warning"]
