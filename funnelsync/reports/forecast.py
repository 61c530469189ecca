"""Bookings forecast from the stage history: per open deal, the chance of closing won in each
coming period, and an interval for the sum.

A deal's chance in a period is read from deals that were once where it is now: the same funnel
stage (in the same CRM and pipeline when the sample is large enough), still there after as many
days as it has spent there; the share of them won within the same distance in time is the
chance. The close date is a prior, not the truth: it takes half of the weight when it lies
ahead. Everything is
computed "as of" a moment with only what was known then, so the backtest reuses it.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from itertools import product

from funnelsync.reports.stats import days_between

MIN_SAMPLE = 10  # closed deals below which a group falls back to a wider one
CLOSE_DATE_WEIGHT = 0.5  # share of the timing taken from a close date that lies ahead
EXACT_LIMIT = 14  # deals up to which the interval is enumerated exactly
DRAWS = 4000  # Monte Carlo draws above that
SEED = 16

Entry = tuple[str, datetime]


@dataclass(frozen=True)
class Timeline:
    """One deal's funnel stages with entry times (won/lost last when it closed), its amount in
    the report currency, and the CRM's stage probabilities along its raw stages."""

    key: str
    group: str  # "source/pipeline"
    path: tuple[Entry, ...]
    amount: float
    close_date: date | None = None
    crm_probability: tuple[tuple[datetime, float | None], ...] = ()
    name: str | None = None
    original: tuple[str | None, float | None] = (None, None)  # currency and amount in the CRM
    created: datetime | None = None  # when the deal was created (None: its first stage entry)

    def entries_at(self, at: datetime) -> tuple[Entry, ...]:
        return tuple(e for e in self.path if e[1] <= at)

    def crm_probability_at(self, at: datetime) -> float | None:
        known = [p for t, p in self.crm_probability if t <= at]
        return known[-1] if known else None


@dataclass(frozen=True)
class Terminal:
    won: str
    lost: str


@dataclass(frozen=True)
class Estimate:
    """Chance of a win within one window, from the stays that were where the deal is now and
    whose window had fully passed by the forecast moment."""

    probability: float
    basis: str  # "pipeline", "stage", "age" (every stage) or "pooled"
    sample_size: int
    won: int  # won within the window
    won_ever: int  # won by the forecast moment, at any time after that age


@dataclass(frozen=True)
class Period:
    label: str
    start: datetime
    end: datetime


@dataclass
class DealForecast:
    timeline: Timeline
    stage: str
    age_days: float
    estimates: list[Estimate]  # one per period
    by_period: list[float] = field(default_factory=list)


def _outcome(entries: tuple[Entry, ...], terminal: Terminal) -> tuple[str, datetime | None]:
    if entries and entries[-1][0] == terminal.won:
        return "won", entries[-1][1]
    if entries and entries[-1][0] == terminal.lost:
        return "lost", entries[-1][1]
    return "open", None


Stay = tuple[str, str, datetime, float, datetime | None]  # group, stage, entered, days, won at


def _stays(timeline: Timeline, as_of: datetime, terminal: Terminal) -> list[Stay]:
    """Each stay in an open stage known at ``as_of``: days spent there (until leaving or
    ``as_of``) and when the deal was won, if it was by then."""
    entries = timeline.entries_at(as_of)
    outcome, closed_at = _outcome(entries, terminal)
    won_at = closed_at if outcome == "won" else None
    out = []
    for i, (stage, entered) in enumerate(entries):
        if stage in (terminal.won, terminal.lost):
            continue
        left = entries[i + 1][1] if i + 1 < len(entries) else as_of
        out.append((timeline.group, stage, entered, days_between(entered, left), won_at))
    return out


@dataclass
class History:
    """The stays known at one moment, for estimates by stage, pipeline and age.

    A stay counts for a window [d1, d2) days after age ``a`` only when that window had passed
    by the moment (entered + a + d2 <= as_of): deals still open then count as not won, so
    deals that never close lower the rate instead of vanishing from it.
    """

    as_of: datetime
    stays: list[Stay]
    _cache: dict[tuple[object, ...], Estimate] = field(default_factory=dict)

    @classmethod
    def at(cls, timelines: Sequence[Timeline], as_of: datetime, terminal: Terminal) -> History:
        return cls(as_of, [s for t in timelines for s in _stays(t, as_of, terminal)])

    def sample(self, stage: str | None, group: str | None, age: float, window: tuple[float, float]
               ) -> Estimate:
        key = (stage, group, round(age), window)
        if key not in self._cache:
            self._cache[key] = self._count(stage, group, round(age), window)
        return self._cache[key]

    def _count(self, stage: str | None, group: str | None, age: float,
               window: tuple[float, float]) -> Estimate:
        lo, hi = window
        won = won_ever = n = 0
        for g, s, entered, spent, won_at in self.stays:
            if (stage is not None and s != stage) or (group is not None and g != group) or \
                    spent < age or days_between(entered, self.as_of) < age + hi:
                continue
            n += 1
            if won_at is not None:
                remaining = days_between(entered, won_at) - age
                won_ever += 1
                won += lo <= remaining < hi
        basis = "pipeline" if group else "stage" if stage else "age" if age else "pooled"
        return Estimate(won / n if n else 0.0, basis, n, won, won_ever)

    def estimate(self, stage: str, group: str, age: float, window: tuple[float, float]
                 ) -> Estimate:
        """The narrowest sample with at least MIN_SAMPLE stays: this stage in this pipeline,
        then in every pipeline, then every stage at this age; else the pooled rate over every
        stage and age."""
        for s, g in ((stage, group), (stage, None), (None, None)):
            found = self.sample(s, g, age, window)
            if found.sample_size >= MIN_SAMPLE:
                return found
        return self.sample(None, None, 0.0, window)


def period_bounds(as_of: datetime, kind: str, count: int) -> list[Period]:
    """``count`` calendar months or quarters from the one holding ``as_of``; the first starts
    at ``as_of``."""
    step = 3 if kind == "quarter" else 1
    month = (as_of.month - 1) // step * step + 1
    year, periods, start = as_of.year, [], as_of
    for _ in range(count):
        label = f"{year}-Q{(month - 1) // 3 + 1}" if kind == "quarter" else f"{year}-{month:02d}"
        month += step
        if month > 12:
            year, month = year + 1, month - 12
        end = datetime(year, month, 1, tzinfo=UTC)
        periods.append(Period(label, start, end))
        start = end
    return periods


def close_date_prior(chances: Sequence[float], as_of: datetime, periods: Sequence[Period],
                     close_date: date | None) -> list[float]:
    """Chances per period with a close date still ahead taking CLOSE_DATE_WEIGHT of the
    total into its period (a past close date says nothing about when)."""
    if close_date is None or close_date < as_of.date():
        return list(chances)
    at = datetime(close_date.year, close_date.month, close_date.day, tzinfo=UTC)
    total = sum(chances)
    return [(1 - CLOSE_DATE_WEIGHT) * c + CLOSE_DATE_WEIGHT * total * (
        p.start <= at < p.end or (i == 0 and at < p.start))
        for i, (c, p) in enumerate(zip(chances, periods, strict=True))]


def open_at(timeline: Timeline, as_of: datetime, terminal: Terminal) -> Entry | None:
    """(stage, entered) of a deal open at ``as_of``; None when not created yet or closed."""
    entries = timeline.entries_at(as_of)
    if not entries or entries[-1][0] in (terminal.won, terminal.lost):
        return None
    return entries[-1]


def forecast_deals(timelines: Sequence[Timeline], as_of: datetime, periods: Sequence[Period],
                   terminal: Terminal, *, use_close_date: bool = True) -> list[DealForecast]:
    """Every deal open at ``as_of`` with its probability of closing won in each period."""
    history = History.at(timelines, as_of, terminal)
    windows = [(days_between(as_of, p.start), days_between(as_of, p.end)) for p in periods]
    out = []
    for t in timelines:
        current = open_at(t, as_of, terminal)
        if current is None:
            continue
        age = days_between(current[1], as_of)
        estimates = [history.estimate(current[0], t.group, age, w) for w in windows]
        chances = [e.probability for e in estimates]
        if use_close_date:
            chances = close_date_prior(chances, as_of, periods, t.close_date)
        out.append(DealForecast(t, current[0], age, estimates, chances))
    return out


def sum_quantiles(amounts: Sequence[float], probs: Sequence[float],
                  qs: Sequence[float] = (0.1, 0.5, 0.9), seed: int = SEED) -> list[float]:
    """Quantiles of a sum of independent ``amount × Bernoulli(p)``: exact enumeration for a
    few deals, seeded Monte Carlo beyond. A quantile is the smallest total whose cumulative
    probability reaches q."""
    pairs = [(a, p) for a, p in zip(amounts, probs, strict=True) if p > 0 and a != 0]
    if len(pairs) <= EXACT_LIMIT:
        outcomes: list[tuple[float, float]] = []
        for draw in product((0, 1), repeat=len(pairs)):
            weight = 1.0
            for (_, p), hit in zip(pairs, draw, strict=True):
                weight *= p if hit else 1 - p
            outcomes.append((sum(a for (a, _), hit in zip(pairs, draw, strict=True) if hit),
                             weight))
    else:
        rng = random.Random(seed)
        outcomes = [(sum(a for a, p in pairs if rng.random() < p), 1 / DRAWS)
                    for _ in range(DRAWS)]
    return [_weighted_quantile(outcomes, q) for q in qs]


def _weighted_quantile(outcomes: list[tuple[float, float]], q: float) -> float:
    total, cumulative = sum(w for _, w in outcomes), 0.0
    ordered = sorted(outcomes)
    for value, weight in ordered:
        cumulative += weight
        if cumulative >= q * total - 1e-12:
            return value
    return ordered[-1][0] if ordered else 0.0


__all__ = ["Estimate", "History", "Period", "Terminal", "Timeline", "forecast_deals",
           "open_at", "period_bounds", "sum_quantiles",
           "close_date_prior"]
