"""Loading configuration: TOML text or file → ``AppConfig``, with ``${ENV}`` expansion.

Validation reports every problem at once, each with its TOML path (and line/column for TOML
syntax errors). Files are decoded as ``config.encoding`` describes: a byte-order mark (UTF-8 or
UTF-16, as Windows editors and PowerShell write) is accepted; bytes that are not text are a
ConfigError naming the file, the line and the byte.
"""

from __future__ import annotations

import os
import re
import tomllib
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from funnelsync.config.encoding import read_text_file
from funnelsync.config.models import AppConfig
from funnelsync.config.toml_text import toml_key
from funnelsync.errors import ConfigError

DEFAULT_CONFIG_NAME = "funnelsync.toml"
CONFIG_ENV = "FUNNELSYNC_CONFIG"
_ENV_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


def expand_env(data: Any, environ: dict[str, str] | os._Environ[str], path: str = "",
               problems: list[str] | None = None) -> Any:
    """Replace ``${VAR}`` in every string; record unset variables in ``problems``."""
    problems = problems if problems is not None else []
    if isinstance(data, dict):
        return {k: expand_env(v, environ, _join(path, k), problems) for k, v in data.items()}
    if isinstance(data, list):
        return [expand_env(v, environ, f"{path}[{i}]", problems) for i, v in enumerate(data)]
    if isinstance(data, str):
        def substitute(match: re.Match[str]) -> str:
            name = match.group(1)
            if name not in environ:
                problems.append(f"{path}: environment variable {name} is not set")
                return ""
            return environ[name]
        return _ENV_REF.sub(substitute, data)
    return data


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _format_loc(loc: tuple[int | str, ...]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif not str(part).startswith(("function-after", "function-before")):
            out = _join(out, str(part))
    return out or "(top level)"


def _format_error(err: dict[str, Any]) -> str:
    loc = tuple(p for p in err["loc"] if not _is_union_tag(p))
    message = err["msg"].removeprefix("Value error, ").replace("Input should be", "must be")
    if err["type"] == "extra_forbidden":
        message = "unknown key (check the spelling; see config.example.toml)"
    elif err["type"] == "missing":
        message = "is required"
    return f"{_format_loc(loc)}: {message}"


def _is_union_tag(part: int | str) -> bool:
    return isinstance(part, str) and part in {"SalesforceConfig", "HubSpotConfig"}


def _check_stage_refs(config: AppConfig) -> list[str]:
    known = set(config.funnel.stage_ids()) | {config.funnel.lost_stage}
    problems: list[str] = []
    maps: list[tuple[str, dict[str, str]]] = [
        ("mapping.salesforce.lead_status", config.mapping.salesforce.lead_status),
        ("mapping.salesforce.opportunity_stage", config.mapping.salesforce.opportunity_stage),
        ("mapping.hubspot.lifecycle_stage", config.mapping.hubspot.lifecycle_stage),
    ]
    maps += [(f"mapping.hubspot.deal_stages.{toml_key(p)}", m)
             for p, m in config.mapping.hubspot.deal_stages.items()]
    for path, mapping in maps:
        for value, stage in mapping.items():
            if stage not in known:
                problems.append(f"{path}.{toml_key(value)}: unknown funnel stage {stage!r} "
                                f"(known: {', '.join(sorted(known))})")
    return problems


def _check_stage_refs_partial(raw: Any) -> list[str]:
    """Stage references in [mapping] when another section failed: validate just [funnel] and
    [mapping] so those problems are reported in the same run, not after the others are fixed."""
    if not isinstance(raw, dict):
        return []
    try:
        partial = AppConfig.model_validate({k: raw[k] for k in ("funnel", "mapping") if k in raw})
    except ValidationError:
        return []  # [funnel] or [mapping] itself is broken; those errors are already listed
    return _check_stage_refs(partial)


def parse_config(text: str, *, source: str = "<config>",
                 environ: dict[str, str] | None = None) -> AppConfig:
    """Parse TOML text into an AppConfig, raising ConfigError listing every problem."""
    try:
        raw = tomllib.loads(text.removeprefix("\ufeff"))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{source}: invalid TOML: {exc}",
                          hint="fix the syntax at that line and column") from None
    problems: list[str] = []
    expanded = expand_env(raw, os.environ if environ is None else environ, "", problems)
    config: AppConfig | None = None
    try:
        config = AppConfig.model_validate(expanded)
    except ValidationError as exc:
        problems += [_format_error(e) for e in exc.errors(include_url=False)]
    if config is not None:
        problems += _check_stage_refs(config)
    else:
        problems += _check_stage_refs_partial(expanded)
    if problems or config is None:
        raise ConfigError(f"{source}: {len(problems)} problem(s) in the configuration",
                          problems=problems)
    return config


def resolve_config_path(path: str | Path | None) -> Path | None:
    """The config file to use: the given one, $FUNNELSYNC_CONFIG, or ./funnelsync.toml."""
    if path:
        return Path(path)
    if os.environ.get(CONFIG_ENV):
        return Path(os.environ[CONFIG_ENV])
    default = Path(DEFAULT_CONFIG_NAME)
    return default if default.exists() else None


def load_config(path: str | Path | None = None, *, required: bool = True) -> AppConfig:
    """Load and validate a config file; without one (and not required) use the defaults."""
    resolved = resolve_config_path(path)
    if resolved is None:
        if required:
            raise ConfigError("no configuration file found",
                              hint=f"pass -c FILE, set ${CONFIG_ENV}, or create "
                                   f"./{DEFAULT_CONFIG_NAME} (funnelsync init writes one)")
        return AppConfig()
    try:
        data = resolved.read_bytes()
    except OSError as exc:
        raise ConfigError(f"cannot read configuration file {resolved}: {exc.strerror}",
                          hint="check the path given with -c") from None
    return parse_config(read_text_file(data, resolved), source=str(resolved))
