"""Funnel write-back values → one CRM's field names: the rules every CRM shares.

None means "leave the field as it is"; a stage or score name configured as "" is never written;
score, owner and status go to leads only.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal


def _unchanged(value: Any) -> Any:
    return value


@dataclass(frozen=True)
class WritebackTarget:
    """Where one CRM keeps each write-back value, and how it writes a score and an owner id."""

    stage: str
    score: str
    owner: str
    status: str
    score_value: Callable[[float], Any]
    owner_value: Callable[[str], Any] = _unchanged

    def fields(self, kind: Literal["leads", "deals"], stage: str | None, score: float | None,
               *, owner_id: str | None = None, status: str | None = None) -> dict[str, Any]:
        """The field → value updates of one record (``kind`` "leads" or "deals")."""
        if kind not in ("leads", "deals"):
            raise ValueError(f"kind must be 'leads' or 'deals', not {kind!r}")
        lead = kind == "leads"
        fields: dict[str, Any] = {}
        if stage is not None and self.stage:
            fields[self.stage] = stage
        if lead and score is not None and self.score:
            fields[self.score] = self.score_value(score)
        if lead and owner_id is not None:
            fields[self.owner] = self.owner_value(owner_id)
        if lead and status is not None:
            fields[self.status] = status
        return fields


__all__ = ["WritebackTarget"]
