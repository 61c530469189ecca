"""funnelsync: Salesforce and HubSpot to one sales-funnel model."""

from __future__ import annotations

__version__ = "0.1.0"

from funnelsync.config.loading import load_config, parse_config
from funnelsync.config.models import AppConfig  # noqa: E402
from funnelsync.errors import (  # noqa: E402
    AuthError,
    ConfigError,
    DataError,
    FunnelsyncError,
    LockHeld,
    RateLimited,
    RemoteError,
)
from funnelsync.mapping.schema import CatalogStage, FunnelDeal, FunnelLead, StageChange  # noqa: E402

_LAZY = {  # heavier parts load on first use, so `import funnelsync` stays light
    "SyncJob": "funnelsync.sync.job",
    "RunResult": "funnelsync.sync.job",
    "Store": "funnelsync.store",
    "Sandbox": "funnelsync.sandbox",
}


def __getattr__(name: str) -> object:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'funnelsync' has no attribute {name!r}")


__all__ = [
    "AppConfig",
    "AuthError",
    "CatalogStage",
    "ConfigError",
    "DataError",
    "FunnelDeal",
    "FunnelLead",
    "FunnelsyncError",
    "LockHeld",
    "RateLimited",
    "RemoteError",
    "RunResult",
    "Sandbox",
    "StageChange",
    "Store",
    "SyncJob",
    "__version__",
    "load_config",
    "parse_config",
]
