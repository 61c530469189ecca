"""Client-side rate limiting for HubSpot, so that a normal run draws no 429.

HubSpot counts requests per token in a rolling 10-second window (private apps: about 100-190)
and search requests separately (about 5 a second). Each window remembers when its recent calls
were made and, before a new one, waits until the oldest leaves the window. A search call needs
room in both windows and is recorded in both at the same instant, so neither window is fooled
by a wait spent in the other.

Clock and sleeper are injectable: tests advance a fake clock instead of sleeping.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable

from funnelsync.config.models import LimitsConfig

SEARCH_KINDS = frozenset({"search", "probe"})  # both are search calls


class RollingWindow:
    """At most ``max_calls`` calls in any ``window`` seconds."""

    def __init__(self, max_calls: int, window: float) -> None:
        if max_calls <= 0 or window <= 0:
            raise ValueError("max_calls and window must be positive")
        self.max_calls = max_calls
        self.window = window
        self._stamps: deque[float] = deque()

    def wait_needed(self, now: float) -> float:
        """Seconds to wait before a call at ``now`` fits (0 when it fits now)."""
        while self._stamps and self._stamps[0] <= now - self.window:
            self._stamps.popleft()
        if len(self._stamps) < self.max_calls:
            return 0.0
        return self._stamps[0] + self.window - now

    def record(self, now: float) -> None:
        self._stamps.append(now)


class HubSpotLimiter:
    """The general 10-second window plus the per-second search window."""

    def __init__(self, limits: LimitsConfig, *, clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.general = RollingWindow(limits.hubspot_requests_per_10s, 10.0)
        self.search = RollingWindow(limits.hubspot_search_per_second, 1.0)
        self.clock = clock
        self.sleep = sleep
        self.waited = 0.0  # total seconds spent waiting, for reports

    def acquire(self, kind: str) -> None:
        """Block until a call of ``kind`` fits every window it counts in, then record it."""
        windows = [self.general, self.search] if kind in SEARCH_KINDS else [self.general]
        while True:
            now = self.clock()
            wait = max(w.wait_needed(now) for w in windows)
            if wait <= 0:
                for w in windows:
                    w.record(now)
                return
            self.waited += wait
            self.sleep(wait)
