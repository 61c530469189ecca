"""Small statistics the reports need: quantiles, durations, a Wilson interval.

Kept dependency-free (no numpy) so the reports run anywhere the core package runs.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import UTC, date, datetime, time

SECONDS_PER_DAY = 86_400.0


def quantile(values: Sequence[float], q: float) -> float | None:
    """The q-quantile with linear interpolation between closest ranks (numpy's default).

    position = q * (n - 1) in the sorted values; None for an empty input.
    """
    if not values:
        return None
    ordered = sorted(values)
    pos = q * (len(ordered) - 1)
    low = math.floor(pos)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (pos - low)


def median(values: Sequence[float]) -> float | None:
    """The median (quantile 0.5), None for an empty input."""
    return quantile(values, 0.5)


def days_between(start: datetime, end: datetime) -> float:
    """Elapsed days (fractional) from start to end."""
    return (end - start).total_seconds() / SECONDS_PER_DAY


def as_utc_datetime(value: date | datetime) -> datetime:
    """A date becomes midnight UTC; a naive datetime is taken as UTC."""
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    return datetime.combine(value, time.min, tzinfo=UTC)


def wilson_interval(successes: int, n: int, z: float = 1.959964) -> tuple[float, float] | None:
    """Wilson score interval for a binomial proportion (95% by default); None when n == 0.

    Chosen over the normal approximation because stage samples are small and rates sit near
    0 or 1, where the normal interval leaves [0, 1] or collapses to a point.
    """
    if n <= 0:
        return None
    p = successes / n
    z2 = z * z
    centre = (p + z2 / (2 * n)) / (1 + z2 / n)
    half = z * math.sqrt(p * (1 - p) / n + z2 / (4 * n * n)) / (1 + z2 / n)
    return max(0.0, centre - half), min(1.0, centre + half)


def round_or_none(value: float | None, digits: int = 2) -> float | None:
    """Round for display and stable JSON; None stays None."""
    return None if value is None else round(value, digits)
