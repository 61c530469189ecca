"""Funnel values → HubSpot property updates: the property names and the text HubSpot wants
for each value (every property value is a string)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from funnelsync.config.models import WritebackConfig
from funnelsync.mapping.writeback import WritebackTarget


def writeback_fields(kind: Literal["leads", "deals"], stage: str | None, score: float | None,
                     writeback: WritebackConfig, *, owner_id: str | None = None,
                     status: str | None = None,
                     probability: float | None = None) -> dict[str, str]:
    """Computed stage/score (and, for routed or re-entering contacts, owner and lifecycle
    stage) → HubSpot property values (strings) for a batch update.

    None means "leave the property as it is"; a property configured as "" is never written;
    scores are written for contacts only, with at most one decimal ("72", "72.5"); owner →
    hubspot_owner_id, status → lifecyclestage (contacts only; see ``clear_first``); the win
    probability → the configured deal property, a whole number of percent ("45")."""
    wb = writeback.hubspot
    target = WritebackTarget(wb.stage_property, wb.score_property, owner="hubspot_owner_id",
                             status="lifecyclestage", score_value=format_score, owner_value=str,
                             probability=wb.probability_property,
                             probability_value=_whole_percent)
    return target.fields(kind, stage, score, owner_id=owner_id, status=status,
                         probability=probability)


def _whole_percent(value: float) -> str:
    return str(round(value))


def clear_first(fields: Mapping[str, Any]) -> dict[str, str]:
    """Properties to blank in an earlier update: HubSpot keeps a later lifecyclestage when a
    write names an earlier one, so a re-entry first clears it, then sets the new value."""
    return {"lifecyclestage": ""} if fields.get("lifecyclestage") else {}


def format_score(score: float) -> str:
    """A score as HubSpot number text: one decimal at most, no trailing zeros."""
    text = f"{round(float(score), 1):.1f}"
    return text[:-2] if text.endswith(".0") else text


__all__ = ["clear_first", "format_score", "writeback_fields"]
