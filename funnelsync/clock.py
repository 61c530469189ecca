"""The wall clock: the one place that reads the current time.

Code that needs "now" takes a ``Clock`` (injectable in tests) whose default is ``utc_now``; pure
decisions take ``now`` itself as an argument. A base module: every layer may import it.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    """The current time, timezone-aware, in UTC."""
    return datetime.now(UTC)


__all__ = ["Clock", "utc_now"]
