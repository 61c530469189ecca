"""Random deal journeys through a pipeline: which stages a deal entered, and when.

Both CRMs' deals are drawn with these, each over its own stage order.
"""

from __future__ import annotations

import random

from funnelsync.sandbox.common import DAY_MS, rint


def stage_path(rng: random.Random, order: tuple[str, ...], won: str, lost: str,
               optional: str | None = None) -> list[str]:
    """Stages a deal entered, oldest first: forward runs with skips and a few backward moves."""
    roll = rng.random()
    if roll < 0.18:
        path, final = list(order[: rint(rng, len(order) - 2, len(order) + 1)]), won
    elif roll < 0.40:
        path, final = list(order[: rint(rng, 1, len(order) + 1)]), lost
    else:
        path, final = list(order[: rint(rng, 1, len(order) + 1)]), None
    if optional and optional in path and path[-1] != optional and rng.random() < 0.7:
        path.remove(optional)  # most deals never pass the org's custom stage
    if len(path) > 2 and rng.random() < 0.15:
        del path[rint(rng, 1, len(path) - 1)]  # a skipped stage
    if final is None and len(path) > 1 and path[-1] != order[-1] and rng.random() < 0.08:
        path.append(order[order.index(path[-1]) + 1])
        path.append(path[-2])  # a backward move: went ahead, came back
    if final:
        path.append(final)
    return path


def stage_times(rng: random.Random, count: int, now_ms: int, stale: bool) -> list[int]:
    """Increasing entry times for `count` stages, the last one in the past."""
    created = now_ms - rint(rng, (120 if stale else 20) * DAY_MS, 400 * DAY_MS)
    gaps = [rint(rng, DAY_MS // 2, 25 * DAY_MS) for _ in range(count - 1)]
    span = now_ms - created - (90 * DAY_MS if stale else DAY_MS)
    total = sum(gaps)
    if total > span > 0:
        gaps = [g * span // total for g in gaps]
    times = [created]
    for gap in gaps:
        times.append(times[-1] + max(gap, 60_000))
    return times
