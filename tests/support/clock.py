"""One fake clock for every test: epoch seconds that move only when someone waits on them.

Give ``clock`` where a ``Callable[[], float]`` clock is taken (sandbox, rate limiter, token
expiry, ``RetryPolicy(clock=...)``) and ``clock.sleep`` where a sleeper is: waiting advances
the time at once and is recorded in ``sleeps`` (rounded to the millisecond), so no test waits
for real. ``tick`` lets time pass without anyone waiting. Thread-safe: a sandbox server thread
and the client may share one clock.

``utc`` reads it as a timezone-aware datetime (a ``funnelsync.clock.Clock``), and ``timebase``
makes a ``Timebase`` of it for the CLI's commands (``commands_on``): their "now", their
deadlines and their waits all move this one clock.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime

from funnelsync.clock import Timebase

START = 1000.0  # where a clock only ever compared with itself starts
SANDBOX_START = 1_795_435_200.0  # 2026-11-23T12:00:00Z, a Monday: an anchor for sandbox data


class FakeClock:
    def __init__(self, start: float = START) -> None:
        self.now = start
        self.sleeps: list[float] = []
        self._lock = threading.Lock()

    def __call__(self) -> float:
        with self._lock:
            return self.now

    def sleep(self, seconds: float) -> None:
        with self._lock:
            self.sleeps.append(round(seconds, 3))
            self.now += max(0.0, seconds)

    def tick(self, seconds: float) -> None:
        with self._lock:
            self.now += seconds

    def utc(self) -> datetime:
        return datetime.fromtimestamp(self(), UTC)

    def timebase(self) -> Timebase:
        return Timebase(now=self.utc, elapsed=self, sleep=self.sleep)
