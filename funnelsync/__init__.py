"""funnelsync: Salesforce and HubSpot to one sales-funnel model."""

from __future__ import annotations

__version__ = "0.1.0"

from funnelsync.config import AppConfig, load_config, parse_config  # noqa: E402
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
    "StageChange",
    "__version__",
    "load_config",
    "parse_config",
]
