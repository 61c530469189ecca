"""Configuration: the typed models, loading TOML with ``${ENV}`` secrets, and the reference."""

from funnelsync.config.loading import load_config, parse_config
from funnelsync.config.models import AppConfig

__all__ = ["AppConfig", "load_config", "parse_config"]
