"""Explainable lead score, 0-100 (FUNNEL_MODEL.md "Lead score").

Pure: the clock comes in as ``now`` (timezone-aware). Families, each adding (reason, points):

- fit: best job-title keyword (word match, case-insensitive), industry, country, and the
  highest employee band the company reaches;
- engagement and behaviour: for every ``scoring.engagement_points`` key ``k`` the count in
  ``lead.extra[k + "s"]`` (``email_open`` -> ``email_opens``, ``demo_request`` ->
  ``demo_requests``) times its points, decayed by ``0.5 ** (age / half_life)`` where age runs
  from ``last_activity_at`` (else ``created_at``) to ``now``; lines are rounded half-up one by
  one, and their sum is capped at ``engagement_cap`` with an explicit negative cap line;
- qualification: ``qualification_points`` per BANT field present in ``lead.extra["bant"]``;
- idle penalty: ``-idle_penalty`` once the last activity is ``idle_penalty_days`` or more old.

The breakdown always sums to ``Score.value``: when the raw total leaves 0..100 a final
``("clamped to 0..100", delta)`` line brings it back. A lead without any activity timestamp
gets undecayed engagement and no idle penalty (its age is unknown, not old).

``Scorer`` precomputes its tables once and avoids pydantic in the hot path; build one per run
and call ``.score`` per lead. ``score_lead`` is the one-off convenience form.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime
from typing import Any, NamedTuple

from funnelsync.config.models import ScoringConfig
from funnelsync.mapping.schema import FunnelLead

BANT_FIELDS = ("budget", "authority", "need", "timeline")
CLAMP_REASON = "clamped to 0..100"
_SECONDS_PER_DAY = 86_400.0
_TITLE_CACHE_SIZE = 20_000  # distinct titles repeat a lot; bounded so memory stays flat


class Score(NamedTuple):
    """A lead score and the (reason, points) lines that add up to it."""

    value: int
    breakdown: list[tuple[str, int]]


class Scorer:
    """Lead scoring with the config's tables precomputed; ``score`` is pure and fast."""

    def __init__(self, scoring: ScoringConfig) -> None:
        self.scoring = scoring
        self._title_points = {k.strip().lower(): v for k, v in scoring.title_points.items()}
        self._title_re = _keyword_pattern(self._title_points)
        self._title_cache: dict[str, tuple[str, int] | None] = {}
        self._industry = {k.strip().lower(): (f"industry: {k.strip().lower()}", v)
                          for k, v in scoring.industry_points.items()}
        self._country = {k.strip().lower(): (f"country: {k.strip().lower()}", v)
                         for k, v in scoring.country_points.items()}
        self._bands = sorted(((b.min, f"employees: {b.min}+", b.points)
                              for b in scoring.employee_bands), reverse=True)
        self._engagement = [(f"{k}s", f"{k}s: ".replace("_", " "), float(p))
                            for k, p in scoring.engagement_points.items()]
        self._half_life_days = float(scoring.half_life_days)
        self._cap = scoring.engagement_cap
        self._bant_points = scoring.qualification_points
        self._idle_days = scoring.idle_penalty_days
        self._idle_penalty = scoring.idle_penalty

    def score(self, lead: FunnelLead, now: datetime) -> Score:
        """Score one lead at time ``now`` (timezone-aware)."""
        parts: list[tuple[str, int]] = []
        self._add_fit(lead, parts)
        # Not updated_at: our own write-back bumps it and would reset the decay.
        ref = lead.last_activity_at or lead.created_at
        age_days = None if ref is None else max(0.0, (now - ref).total_seconds()
                                                / _SECONDS_PER_DAY)
        extra = lead.extra
        if extra:
            self._add_engagement(extra, age_days, parts)
            self._add_qualification(extra.get("bant"), parts)
        if age_days is not None and self._idle_penalty and age_days >= self._idle_days:
            parts.append((f"no activity {int(age_days)}d", -self._idle_penalty))
        return _clamped(parts)

    def _add_fit(self, lead: FunnelLead, parts: list[tuple[str, int]]) -> None:
        if lead.title:
            hit = self._title_hit(lead.title)
            if hit is not None:
                parts.append(hit)
        for value, table in ((lead.industry, self._industry), (lead.country, self._country)):
            if value:
                row = table.get(value.strip().lower())
                if row is not None:
                    parts.append(row)
        if lead.employees is not None:
            for minimum, label, points in self._bands:
                if lead.employees >= minimum:
                    parts.append((label, points))
                    break

    def _title_hit(self, title: str) -> tuple[str, int] | None:
        cache = self._title_cache
        if title in cache:
            return cache[title]
        hit = _best_title_match(self._title_re, self._title_points, title)
        if len(cache) >= _TITLE_CACHE_SIZE:
            cache.clear()
        cache[title] = hit
        return hit

    def _add_engagement(self, extra: Mapping[str, Any], age_days: float | None,
                        parts: list[tuple[str, int]]) -> None:
        factor = 1.0 if not age_days else 0.5 ** (age_days / self._half_life_days)
        suffix = " (decayed)" if factor < 1.0 else ""
        total = 0
        for key, prefix, per_event in self._engagement:
            count = extra.get(key)
            kind = count.__class__
            if (kind is not int and kind is not float) or not 0 < count < 1e9:  # None, bool, NaN
                continue
            points = int(count * per_event * factor + 0.5)  # half-up: one page view counts
            if points:
                parts.append((f"{prefix}{count}{suffix}", points))
                total += points
        if total > self._cap:
            parts.append((f"engagement cap {self._cap}", self._cap - total))

    def _add_qualification(self, bant: Any, parts: list[tuple[str, int]]) -> None:
        if not isinstance(bant, Mapping) or not self._bant_points:
            return
        for field in BANT_FIELDS:
            value = bant.get(field)
            if value is not None and value is not False and value != "":
                parts.append((f"BANT: {field}", self._bant_points))


def _keyword_pattern(points: Mapping[str, int]) -> re.Pattern[str] | None:
    if not points:
        return None
    # Longest first so "vice president" wins over a shorter keyword at the same position.
    words = sorted(points, key=len, reverse=True)
    return re.compile(r"\b(?:" + "|".join(re.escape(w) for w in words) + r")\b", re.IGNORECASE)


def _best_title_match(pattern: re.Pattern[str] | None, points: Mapping[str, int],
                      title: str) -> tuple[str, int] | None:
    if pattern is None:
        return None
    best: tuple[str, int] | None = None
    for match in pattern.finditer(title):
        value = points[match.group(0).lower()]
        if best is None or value > best[1]:
            best = (f"title: {match.group(0)}", value)  # as written in the title, e.g. "VP"
    return best


def _clamped(parts: list[tuple[str, int]]) -> Score:
    total = 0
    for _, points in parts:
        total += points
    value = 0 if total < 0 else 100 if total > 100 else total
    if value != total:
        parts.append((CLAMP_REASON, value - total))
    return Score(value, parts)


def score_lead(lead: FunnelLead, scoring: ScoringConfig, now: datetime) -> Score:
    """Score one lead; in loops build one ``Scorer(scoring)`` and call ``.score`` instead."""
    return Scorer(scoring).score(lead, now)


__all__ = ["BANT_FIELDS", "CLAMP_REASON", "Score", "Scorer", "score_lead"]
