"""Local stand-in for the Salesforce and HubSpot APIs (demos, tests, benchmarks).

`Sandbox` is imported lazily so that using one submodule (e.g. `soql`) does not start up the
whole server stack.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from funnelsync.sandbox.server import Sandbox

__all__ = ["Sandbox"]


def __getattr__(name: str) -> Any:
    if name == "Sandbox":
        from funnelsync.sandbox.server import Sandbox

        return Sandbox
    raise AttributeError(f"module 'funnelsync.sandbox' has no attribute {name!r}")
