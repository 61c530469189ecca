"""The wall clock: the one place that reads the current time.

Code that needs "now" takes a ``Clock`` (injectable in tests) whose default is ``utc_now``; pure
decisions take ``now`` itself as an argument. A base module: every layer may import it.

The CLI's commands do not take arguments for time; they run on ``command_timebase()``: the
wall clock, the monotonic clock and ``time.sleep`` unless a program that embeds the CLI (a
test, a replay of a past day) sets another ``Timebase`` with ``commands_on``. One object for
all three, so whoever replaces one replaces them all and they stay in step.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    """The current time, timezone-aware, in UTC."""
    return datetime.now(UTC)


@dataclass(frozen=True)
class Timebase:
    """Where a command reads time and how it waits: ``now`` for decisions and records,
    ``elapsed`` (seconds, only differences count) for deadlines and rate limits, and
    ``sleep`` for back-off and pacing."""

    now: Clock = utc_now
    elapsed: Callable[[], float] = time.monotonic
    sleep: Callable[[float], None] = time.sleep

    def epoch_seconds(self) -> float:
        """``now`` as seconds since the epoch (the clock the sandbox takes)."""
        return self.now().timestamp()


WALL = Timebase()
_command_timebase = WALL


def command_timebase() -> Timebase:
    """The timebase CLI commands run on: ``WALL`` unless ``commands_on`` set another."""
    return _command_timebase


@contextmanager
def commands_on(timebase: Timebase) -> Iterator[Timebase]:
    """Run the CLI's commands on ``timebase`` inside the ``with`` block, then restore."""
    global _command_timebase
    before, _command_timebase = _command_timebase, timebase
    try:
        yield timebase
    finally:
        _command_timebase = before


__all__ = ["WALL", "Clock", "Timebase", "command_timebase", "commands_on", "utc_now"]
