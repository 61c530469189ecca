"""Bookings expected from deals not created yet: the lead flow through the funnel.

Per coming period: (deals expected to be created from ``as_of`` to the period's end, at the
recent arrival rate) × (the historic conversion of created deals to won) × (the share of those
wins that fall inside the period, from the distribution of creation → won cycle times) × (the
average won amount). Every input is read from deals known at ``as_of``, so the backtest can use
it without seeing the future.

The conversion rate corrects for deals too young to have closed yet: each deal created in the
look-back counts with the share of wins that come within its age (its "exposure"), so a
fortnight-old deal does not count as a loss. A sample below MIN_SAMPLE widens to all history
and says so; when even that is too small the figure is 0 with the reason.
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from funnelsync.reports.forecast import MIN_SAMPLE, Period, Terminal, Timeline
from funnelsync.reports.stats import days_between, median

ARRIVAL_DAYS = 90  # recent window of the arrival rate
CONVERSION_DAYS = 365  # look-back of the conversion rate and the average won amount
WIDE_ARRIVAL_DAYS = 365  # the arrival window when the recent one holds too few deals


@dataclass(frozen=True)
class FlowInputs:
    """What the expected new bookings are built from, each with its sample."""

    arrival_per_day: float
    arrival_days: int
    arrivals: int
    conversion: float
    created: int  # deals in the conversion sample
    exposure: float  # their summed share of wins that could have come by ``as_of``
    won: int
    cycle_days: tuple[float, ...]  # creation → won of every deal won by ``as_of``, sorted
    average_won: float
    notes: tuple[str, ...]

    @property
    def usable(self) -> bool:
        return len(self.cycle_days) >= MIN_SAMPLE and self.won > 0 and self.arrivals > 0

    def won_within(self, days: float) -> float:
        """Share of wins that come within ``days`` of creation (the cycle-time CDF)."""
        if days <= 0 or not self.cycle_days:
            return 0.0
        return bisect.bisect_right(self.cycle_days, days) / len(self.cycle_days)


def created_at(timeline: Timeline) -> datetime | None:
    """When a deal was created: its creation time, else its first known stage entry."""
    if timeline.created is not None:
        return timeline.created
    return timeline.path[0][1] if timeline.path else None


def won_at(timeline: Timeline, as_of: datetime, terminal: Terminal) -> datetime | None:
    """When the deal was won, if it was by ``as_of``."""
    entries = timeline.entries_at(as_of)
    if entries and entries[-1][0] == terminal.won:
        return entries[-1][1]
    return None


def _arrivals(created: Sequence[datetime], as_of: datetime) -> tuple[int, int, list[str]]:
    recent = sum(as_of - timedelta(days=ARRIVAL_DAYS) <= c < as_of for c in created)
    if recent >= MIN_SAMPLE:
        return recent, ARRIVAL_DAYS, []
    wide = sum(as_of - timedelta(days=WIDE_ARRIVAL_DAYS) <= c < as_of for c in created)
    return wide, WIDE_ARRIVAL_DAYS, [
        f"only {recent} deals created in the last {ARRIVAL_DAYS} days (fewer than "
        f"{MIN_SAMPLE}): arrival rate over {WIDE_ARRIVAL_DAYS} days"]


def flow_inputs(timelines: Sequence[Timeline], as_of: datetime,
                terminal: Terminal) -> FlowInputs:
    """Arrival rate, conversion, cycle times and average won amount known at ``as_of``."""
    known = [(t, c) for t in timelines if (c := created_at(t)) is not None and c < as_of]
    wins = [(t, c, w) for t, c in known if (w := won_at(t, as_of, terminal)) is not None]
    cycles = tuple(sorted(max(days_between(c, w), 0.0) for _, c, w in wins))
    arrivals, window, notes = _arrivals([c for _, c in known], as_of)
    start = as_of - timedelta(days=CONVERSION_DAYS)
    cohort = [(t, c) for t, c in known if c >= start]
    if len(cohort) < MIN_SAMPLE:
        notes.append(f"only {len(cohort)} deals created in the last {CONVERSION_DAYS} days "
                     f"(fewer than {MIN_SAMPLE}): conversion over all history")
        cohort = known
    inputs = FlowInputs(arrivals / window, window, arrivals, 0.0, len(cohort), 0.0, 0, cycles,
                        0.0, ())
    keys = {t.key for t, _ in cohort}
    won = [t for t, _, _ in wins if t.key in keys]
    exposure = sum(inputs.won_within(days_between(c, as_of)) for _, c in cohort)
    recent_wins = [t.amount for t, _, w in wins if w >= start] or [t.amount for t, _, _ in wins]
    if len(cycles) < MIN_SAMPLE:
        notes.append(f"only {len(cycles)} won deals to learn cycle times from (fewer than "
                     f"{MIN_SAMPLE}): no new-pipeline estimate")
    conversion = min(len(won) / exposure, 1.0) if exposure > 0 else 0.0
    average = sum(recent_wins) / len(recent_wins) if recent_wins else 0.0
    return FlowInputs(arrivals / window, window, arrivals, conversion, len(cohort),
                      exposure, len(won), cycles, average, tuple(notes))


def share_in_period(inputs: FlowInputs, as_of: datetime, period: Period) -> float:
    """Of the deals created between ``as_of`` and the period's end (evenly over that time)
    that will be won, the share won inside the period; summed day by day at mid-day."""
    days = days_between(as_of, period.end)
    if days <= 0:
        return 0.0
    start, steps, total = days_between(as_of, period.start), max(round(days), 1), 0.0
    for i in range(steps):
        created = (i + 0.5) * days / steps  # days after as_of
        total += inputs.won_within(days - created) - inputs.won_within(start - created)
    return total / steps


def expected_by_period(inputs: FlowInputs, as_of: datetime,
                       periods: Sequence[Period]) -> list[dict[str, Any]]:
    """Per period: deals expected to be created by its end, the share of their wins inside
    it, and the expected bookings (0 when the inputs are too thin)."""
    out = []
    for p in periods:
        created = inputs.arrival_per_day * days_between(as_of, p.end)
        share = share_in_period(inputs, as_of, p)
        value = created * inputs.conversion * share * inputs.average_won if inputs.usable \
            else 0.0
        out.append({"period": p.label, "deals_created": round(created, 2),
                    "share_won_in_period": round(share, 4), "expected": round(value, 2)})
    return out


def explain_inputs(inputs: FlowInputs) -> dict[str, Any]:
    """The inputs as the forecast's JSON lists them."""
    cycle = median(inputs.cycle_days)
    return {"arrival_rate_per_day": round(inputs.arrival_per_day, 4),
            "arrival_window_days": inputs.arrival_days, "arrivals": inputs.arrivals,
            "conversion_rate": round(inputs.conversion, 4),
            "conversion_sample": inputs.created, "conversion_won": inputs.won,
            "conversion_exposure": round(inputs.exposure, 2),
            "cycle_days_median": None if cycle is None else round(cycle, 1),
            "cycle_sample": len(inputs.cycle_days),
            "average_won_amount": round(inputs.average_won, 2),
            "fallback": bool(inputs.notes), "notes": list(inputs.notes)}


__all__ = ["FlowInputs", "created_at", "expected_by_period", "explain_inputs", "flow_inputs",
           "share_in_period", "won_at"]
