"""HubSpot deal stages as the mappers read them: closedness by stage, and stage-entry times.

Closed flags follow the stage. The pipelines catalog (``/crm/v3/pipelines/deals``,
``metadata.isClosed`` and ``metadata.probability``) says which stages are closed and won;
without it, HubSpot's default pipeline still defines two: ``closedwon`` and ``closedlost`` are
closed by definition. A deal's own ``hs_is_closed`` / ``hs_is_closed_won`` are calculated
properties that HubSpot returns only when asked for; when they say otherwise than the stage,
the stage wins and the record gets a warning.

The time a deal entered a stage is ``hs_v2_date_entered_<stageId>``; the older
``hs_date_entered_<stageId>`` (being retired, still in many saved pages) is read when the v2
one holds no time, and for a contact's lifecycle also its "Became a ... date" properties
``hs_lifecyclestage_<stage>_date``. ``hs_v2_date_entered_current_stage`` is a calculated
property, not a stage.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from funnelsync.mapping.parse import RecordReader, parse_datetime
from funnelsync.mapping.schema import CatalogStage

ENTERED_PREFIX = "hs_v2_date_entered_"
# The older stage-entry properties, being retired by HubSpot but still in many saved pages.
LEGACY_ENTERED_PREFIX = "hs_date_entered_"
# A contact's "Became a <stage> date" properties, the oldest of the three forms.
BECAME_PREFIX, BECAME_SUFFIX = "hs_lifecyclestage_", "_date"
# (prefix, suffix) of every stage-entry property, best first.
ENTRY_PATTERNS = ((ENTERED_PREFIX, ""), (LEGACY_ENTERED_PREFIX, ""),
                  (BECAME_PREFIX, BECAME_SUFFIX))
# "Date entered current stage" is a calculated property, not the entry into a stage.
NOT_A_STAGE = "current_stage"
# HubSpot's default pipeline: its closed stages are closed by definition (won, lost). Its open
# stages are not listed: a portal can edit their probability, and with it their closedness.
DEFAULT_PIPELINE = "default"
DEFAULT_CLOSED_STAGES: dict[str, bool] = {"closedwon": True, "closedlost": False}


def stage_flags(pipeline: str | None, stage: str | None,
                known: CatalogStage | None) -> tuple[bool, bool] | None:
    """(closed, won) as the stage defines them: the catalog's, else HubSpot's default pipeline
    closed stages; None when neither knows the stage."""
    if known is not None:
        return known.is_closed, known.is_won
    if pipeline in (None, DEFAULT_PIPELINE) and stage in DEFAULT_CLOSED_STAGES:
        return True, DEFAULT_CLOSED_STAGES[stage]
    return None


def check_flags(r: RecordReader, stage: str | None, by_stage: tuple[bool, bool],
                flags: dict[str, bool | None]) -> None:
    """Warn when the record's own closed/won flags say otherwise than its stage."""
    for value, expected in zip(flags.values(), by_stage, strict=True):
        if value is not None and value != expected:
            break
    else:
        return  # they agree (or are absent), as on nearly every deal: no message to build
    wrong = [f"{name} {str(value).lower()}" for (name, value), expected
             in zip(flags.items(), by_stage, strict=True)
             if value is not None and value != expected]
    if wrong:
        state = ("closed won" if by_stage[1] else "closed lost") if by_stage[0] else "open"
        verb = "contradicts" if len(wrong) == 1 else "contradict"
        r.warn(f"{' and '.join(wrong)} {verb} stage {stage!r}, which is {state}; using the "
               "stage's flags")


def entered_at(r: RecordReader, stage: str | None) -> datetime | None:
    """When the deal entered its current stage: the v2 property, else the older one."""
    if stage is None:
        return None
    return (r.timestamp(f"{ENTERED_PREFIX}{stage}")
            or r.timestamp(f"{LEGACY_ENTERED_PREFIX}{stage}"))


def stage_entries(values: Mapping[str, Any]) -> dict[str, tuple[int, Any]]:
    """stage id → (rank, time entered); the rank is the property form's place in
    ENTRY_PATTERNS (0: v2), so a better form wins when two hold a time."""
    found: dict[str, tuple[int, Any]] = {}
    for name, value in values.items():
        entry = _stage_of(name)
        if entry is None:
            continue
        try:
            at = parse_datetime(value)
        except ValueError:
            continue
        stage, rank = entry
        if at is not None and (stage not in found or rank < found[stage][0]):
            found[stage] = (rank, at)
    return found


def _stage_of(name: Any) -> tuple[str, int] | None:
    if not isinstance(name, str):
        return None
    for rank, (prefix, suffix) in enumerate(ENTRY_PATTERNS):
        if name.startswith(prefix) and name.endswith(suffix):
            stage = name[len(prefix):len(name) - len(suffix)]
            if stage and stage != NOT_A_STAGE:
                return stage, rank
    return None


__all__ = ["DEFAULT_CLOSED_STAGES", "ENTERED_PREFIX", "LEGACY_ENTERED_PREFIX", "check_flags",
           "entered_at", "stage_entries", "stage_flags"]
