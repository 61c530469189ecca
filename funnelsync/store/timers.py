"""The lead timers of the state store: SLA timers and nurture's lost-since mark, one per lead."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

import sqlalchemy as sa

from funnelsync.rules.sla import LeadTimer
from funnelsync.store.connection import StoreBase
from funnelsync.store.schema import lead_timers

_FIELDS = ("mql_at", "mql_status", "activity_at_mql", "owner_id", "lead_source", "touched_at",
           "touch_kind", "baseline", "lost_since")
_DELETE_CHUNK = 500  # lead ids per DELETE ... IN (...)


class TimersMixin(StoreBase):
    """lead_timers table."""

    def load_timers(self, source: str) -> dict[str, LeadTimer]:
        """Every stored timer of one CRM, by lead id."""
        return {t.lead_id: t for t in self.iter_timers(source)}

    def iter_timers(self, source: str | None = None) -> Iterator[LeadTimer]:
        """Stored timers (of one CRM, or all) ordered by source and lead id."""
        for _, timer in self.iter_timer_rows(source):
            yield timer

    def iter_timer_rows(self, source: str | None = None) -> Iterator[tuple[str, LeadTimer]]:
        """(source, timer) for every stored timer (of one CRM, or all), by source and lead id."""
        query = sa.select(lead_timers).order_by(lead_timers.c.source, lead_timers.c.lead_id)
        if source is not None:
            query = query.where(lead_timers.c.source == source)
        with self._read() as conn:
            for row in conn.execution_options(yield_per=1000).execute(query):
                yield row.source, LeadTimer(row.lead_id, **{f: getattr(row, f) for f in _FIELDS})

    def save_timers(self, source: str, changed: Iterable[LeadTimer],
                    removed: Iterable[str] = ()) -> None:
        """Upsert changed timers and delete removed ones, in one transaction."""
        rows = [_row(source, t) for t in changed]
        gone = list(removed)
        with self._write() as conn:
            for start in range(0, len(gone), _DELETE_CHUNK):
                conn.execute(lead_timers.delete().where(
                    lead_timers.c.source == source,
                    lead_timers.c.lead_id.in_(gone[start:start + _DELETE_CHUNK])))
            if rows:
                ins = self._insert(lead_timers)
                ins = ins.on_conflict_do_update(index_elements=["source", "lead_id"], set_={
                    f: ins.excluded[f] for f in _FIELDS})
                conn.execute(ins, rows)


def _row(source: str, timer: LeadTimer) -> dict[str, Any]:
    return {"source": source, "lead_id": timer.lead_id,
            **{f: getattr(timer, f) for f in _FIELDS}}
