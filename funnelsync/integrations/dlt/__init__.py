"""The funnel as a dlt source: ``funnel_source(config)`` → leads, deals, stage_changes, people,
alerts (and, on request, runs), merged incrementally into any dlt destination.

Needs the ``dlt`` extra: ``pip install "funnelsync[dlt]"``.
"""

from __future__ import annotations

try:
    import dlt as _dlt  # noqa: F401 - fail here, with the fix, rather than deep inside
except ImportError as exc:  # pragma: no cover - exercised in a subprocess by the tests
    raise ImportError("funnelsync.integrations.dlt needs dlt, which is not installed: "
                      "pip install 'funnelsync[dlt]'") from exc

from funnelsync.integrations.dlt.source import RESOURCES, funnel_source

__all__ = ["RESOURCES", "funnel_source"]
