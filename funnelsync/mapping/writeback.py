"""Write-back fields, the rules every CRM shares: which fields to read with a record (their
live values) and how funnel values become one CRM's field updates.

None means "leave the field as it is"; a name configured as "" is never read nor written; score,
owner and status go to leads only, the win probability (whole percent) to deals only.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from funnelsync.config.models import WritebackConfig
from funnelsync.mapping.parse import RecordReader, live_writeback, with_names


def with_writeback(names: tuple[str, ...], writeback: WritebackConfig | None, source: str, *,
                   with_score: bool) -> list[str]:
    """``names`` plus the CRM's configured write-back names, to read their live values: the
    score for leads (``with_score``), the win probability for deals."""
    crm = writeback.for_crm(source) if writeback is not None else None
    if crm is None:
        return list(names)
    return with_names(names, [crm.stage_name, crm.score_name if with_score else "",
                              "" if with_score else crm.probability_name])


@dataclass(frozen=True)
class LiveFields:
    """The fields one kind of record carries its live write-back values in, looked up in the
    config once (a mapper bound to a config reads them from every record it maps)."""

    stage: str
    score: str
    with_score: bool
    probability: str

    def read(self, reader: RecordReader) -> dict[str, Any]:
        """``{"stage", "score"}`` (and ``win_probability``) as the record holds them."""
        return live_writeback(reader, self.stage, self.score, self.with_score,
                              self.probability)["live"]


def live_fields(writeback: WritebackConfig | None, source: str, *,
                with_score: bool) -> LiveFields | None:
    """Where ``source``'s records hold their live write-back values: the score for leads
    (``with_score``), the win probability for deals; None without a WritebackConfig."""
    crm = writeback.for_crm(source) if writeback is not None else None
    if crm is None:
        return None
    return LiveFields(crm.stage_name, crm.score_name, with_score,
                      "" if with_score else crm.probability_name)


def live_values(reader: RecordReader, writeback: WritebackConfig | None, *,
                with_score: bool) -> dict[str, Any]:
    """``{"live": ...}`` from the record's write-back fields; {} without a WritebackConfig."""
    fields = live_fields(writeback, reader.source, with_score=with_score)
    return {} if fields is None else {"live": fields.read(reader)}


def _unchanged(value: Any) -> Any:
    return value


@dataclass(frozen=True)
class WritebackTarget:
    """Where one CRM keeps each write-back value, and how it writes a score, an owner id and a
    win probability."""

    stage: str
    score: str
    owner: str
    status: str
    score_value: Callable[[float], Any]
    owner_value: Callable[[str], Any] = _unchanged
    probability: str = ""
    probability_value: Callable[[float], Any] = _unchanged

    def fields(self, kind: Literal["leads", "deals"], stage: str | None, score: float | None,
               *, owner_id: str | None = None, status: str | None = None,
               probability: float | None = None) -> dict[str, Any]:
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
        if not lead and probability is not None and self.probability:
            fields[self.probability] = self.probability_value(probability)
        return fields


__all__ = ["LiveFields", "WritebackTarget", "live_fields", "live_values", "with_writeback"]
