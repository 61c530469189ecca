"""Documentation generated from the pydantic config models, so it never drifts from them.

- ``render_reference()``: the markdown configuration reference (README, `funnelsync config
  reference`); a test keeps the README copy identical.
- ``render_config(values)``: a commented TOML config (`funnelsync init`): every key with its
  description and default (commented out), the keys in ``values`` written live.
"""

from __future__ import annotations

import types
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Union, get_args, get_origin

from pydantic import BaseModel, SecretStr
from pydantic.fields import FieldInfo

from funnelsync.config.models import AppConfig, CrmConnection, StateConfig
from funnelsync.config.toml_text import toml_key, toml_value

REFERENCE_START = "<!-- config-reference:start -->"
REFERENCE_END = "<!-- config-reference:end -->"
PROSE = "## "  # descriptions; a single "# " marks a setting left at its default

# Example values for keys without a default: shown commented out in `funnelsync init` output.
EXAMPLES: dict[str, Any] = {
    "salesforce.username": "integration@acme.example",
    "salesforce.password": "${SF_PASSWORD}",
    "salesforce.security_token": "${SF_SECURITY_TOKEN}",
    "salesforce.consumer_key": "3MVG9...",
    "salesforce.consumer_secret": "${SF_CONSUMER_SECRET}",
    "salesforce.privatekey_file": "keys/salesforce.pem",
    "salesforce.session_id": "${SF_SESSION_ID}",
    "salesforce.instance_url": "https://acme.my.salesforce.com",
    "salesforce.login_url": "https://acme.my.salesforce.com",
    "hubspot.access_token": "${HUBSPOT_TOKEN}",
    "hubspot.client_id": "1a2b3c4d-...",
    "hubspot.client_secret": "${HUBSPOT_CLIENT_SECRET}",
    "hubspot.refresh_token": "${HUBSPOT_REFRESH_TOKEN}",
    "hubspot.pipelines": ["default"],
    "mapping.salesforce.lead_status": {"Working - Contacted": "interest"},
    "mapping.salesforce.opportunity_stage": {"Proposal/Price Quote": "decision"},
    "mapping.hubspot.lifecycle_stage": {"opportunity": "intent"},
    "mapping.hubspot.deal_stages": {"default": {"contractsent": "decision"}},
    "scoring.country_points": {"germany": 5},
    "alerts.webhook_url": "https://hooks.slack.com/services/T000/B000/XXXX",
}


# -- walking the models --------------------------------------------------------------------
def _without_none(annotation: Any) -> Any:
    if get_origin(annotation) in (Union, types.UnionType):
        rest = [a for a in get_args(annotation) if a is not type(None)]
        return rest[0] if len(rest) == 1 else annotation
    return annotation


def _model_of(annotation: Any) -> type[BaseModel] | None:
    inner = _without_none(annotation)
    return inner if isinstance(inner, type) and issubclass(inner, BaseModel) else None


def _list_model_of(annotation: Any) -> type[BaseModel] | None:
    inner = _without_none(annotation)
    if get_origin(inner) is list:
        return _model_of(get_args(inner)[0])
    return None


def _is_table(info: FieldInfo) -> bool:
    return _model_of(info.annotation) is not None or _list_model_of(info.annotation) is not None


def _ordered(model: type[BaseModel]) -> list[tuple[str, FieldInfo]]:
    """Plain keys first, then sub-tables: TOML needs a table's own keys before sub-tables."""
    items = list(model.model_fields.items())
    return ([(n, f) for n, f in items if not _is_table(f)]
            + [(n, f) for n, f in items if _is_table(f)])


def _default(info: FieldInfo) -> Any:
    if info.is_required():
        return None
    return info.get_default(call_default_factory=True)


def _doc(model: type[BaseModel]) -> str:
    return " ".join((model.__doc__ or "").split())


def type_name(annotation: Any) -> str:
    """A reader's name for a field type: string, integer, list of strings, table, ..."""
    inner = _without_none(annotation)
    names = {str: "string", int: "integer", float: "number", bool: "boolean", Path: "path",
             SecretStr: "secret string"}
    if inner in names:
        return names[inner]
    origin = get_origin(inner)
    if origin is list:
        return f"list of {type_name(get_args(inner)[0])}"
    if origin is dict:
        return f"table: key → {type_name(get_args(inner)[1])}"
    if _model_of(inner):
        return "table"
    return str(inner)


# -- markdown reference ---------------------------------------------------------------------
def render_reference() -> str:
    """The configuration reference as markdown: one table per TOML section."""
    lines = ["Every key of the config file, generated from the pydantic models "
             "(`funnelsync config reference` prints this). `${NAME}` in any string is replaced "
             "by the environment variable NAME; unknown keys are errors.", ""]
    for header, model, info in _sections(AppConfig, ""):
        lines += _reference_section(header, model, info)
    return "\n".join(lines).rstrip() + "\n"


def _sections(model: type[BaseModel],
              prefix: str) -> Iterator[tuple[str, type[BaseModel], FieldInfo]]:
    for name, info in _ordered(model):
        path = f"{prefix}.{name}" if prefix else name
        sub = _model_of(info.annotation) or _list_model_of(info.annotation)
        if sub is None:
            continue
        header = f"[[{path}]]" if _list_model_of(info.annotation) else f"[{path}]"
        yield header, sub, info
        yield from _sections(sub, path)


def _reference_section(header: str, model: type[BaseModel], info: FieldInfo) -> list[str]:
    keys = [(n, f) for n, f in _ordered(model) if not _is_table(f)]
    lines = [f"### `{header}`", ""]
    parts = [_doc(model)]
    if header.startswith("[["):
        parts += [info.description or "", f"Default: {_default_cell(info)}."]
    about = " ".join(filter(None, parts))
    if about:
        lines += [about, ""]
    if not keys:
        return lines
    lines += ["| key | type | default | description |", "|---|---|---|---|"]
    for name, info in keys:
        lines.append(f"| `{name}` | {type_name(info.annotation)} | {_default_cell(info)} | "
                     f"{_cell(info.description or '')} |")
    return lines + [""]


def _default_cell(info: FieldInfo) -> str:
    if info.is_required():
        return "required"
    value = _default(info)
    if value is None:
        return "–"
    if isinstance(value, list) and value and isinstance(value[0], BaseModel):
        ids = [getattr(v, "id", None) for v in value]
        if all(ids):
            return ", ".join(f"`{i}`" for i in ids)
        return ", ".join(f"`{toml_value(v)}`" for v in value)
    return f"`{_cell(toml_value(value))}`"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


# -- commented config -----------------------------------------------------------------------
def render_config(values: dict[str, Any] | None = None, *, header: str = "",
                  live_defaults: bool = False) -> str:
    """A commented TOML config: every key with its description; ``values`` (nested by section)
    written live, everything else commented out at its default or an example. A CRM section
    not in ``values`` is commented out whole. ``live_defaults`` writes every default live."""
    values = values or {}
    out = [line for line in header.splitlines()]
    for name, info in _ordered(AppConfig):
        model = _model_of(info.annotation)
        assert model is not None
        # CRM sections stay commented out until given; the others' headers are always live
        active = name in values or _default(info) is not None
        out += _table_lines(f"[{name}]", model, name, values.get(name, {}), active,
                            live_defaults)
    return "\n".join(out).rstrip() + "\n"


def _table_lines(header: str, model: type[BaseModel], path: str, given: dict[str, Any],
                 active: bool, live_defaults: bool) -> list[str]:
    about = _doc(model)
    lines = ["", *_wrap_comment(about, PROSE)] if about else [""]
    lines.append(header if active else f"# {header}")
    for name, info in _ordered(model):
        key_path = f"{path}.{name}"
        sub = _model_of(info.annotation)
        if sub is not None:
            lines += _table_lines(f"[{key_path}]", sub, key_path, given.get(name, {}), active,
                                  live_defaults)
        elif _list_model_of(info.annotation) is not None:
            lines += _array_lines(key_path, info, given.get(name), active, live_defaults)
        else:
            lines += _key_lines(name, info, key_path, given, active, live_defaults)
    return lines


def _key_lines(name: str, info: FieldInfo, key_path: str, given: dict[str, Any],
               active: bool, live_defaults: bool) -> list[str]:
    lines = _wrap_comment(info.description or "", PROSE)
    if active and name in given:
        return lines + [f"{name} = {toml_value(given[name])}"]
    value = _default(info)
    if active and live_defaults and value is not None:
        return lines + [f"{name} = {toml_value(value)}"]
    shown = EXAMPLES.get(key_path) if value in (None, {}, []) else value
    if shown is None:
        shown = value if value is not None else ""
    return lines + [f"# {name} = {toml_value(shown)}"]


def _array_lines(key_path: str, info: FieldInfo, given: list[Any] | None, active: bool,
                 live_defaults: bool) -> list[str]:
    lines = _wrap_comment(info.description or "", PROSE)
    items = given if (active and given) else _default(info) or []
    live = active and (bool(given) or live_defaults)
    prefix = "" if live else "# "
    for item in items:
        data = item.model_dump(exclude_none=True) if isinstance(item, BaseModel) else item
        lines += [f"{prefix}[[{key_path}]]"]
        lines += [f"{prefix}{toml_key(k)} = {toml_value(v)}" for k, v in data.items()
                  if v != ""]
    return lines


def _wrap_comment(text: str, prefix: str, width: int = 98) -> list[str]:
    words, lines, line = text.split(), [], ""
    for word in words:
        if line and len(prefix) + len(line) + 1 + len(word) > width:
            lines.append(prefix + line)
            line = word
        else:
            line = f"{line} {word}" if line else word
    return lines + ([prefix + line] if line else [])


def replace_between_markers(text: str, body: str) -> str:
    """``text`` with everything between the reference markers replaced by ``body``."""
    start, end = text.index(REFERENCE_START), text.index(REFERENCE_END)
    return text[:start + len(REFERENCE_START)] + "\n" + body + text[end:]


DEFAULT_STATE_URL = StateConfig().url
INIT_HEADER = """\
# funnelsync configuration, written by `funnelsync init`.
#
# "## " lines describe the setting below them. "# key = value" lines show a setting at its
# default (or an example value): uncomment and edit one to change it. "${NAME}" in any string
# reads the environment variable NAME: keep secrets there, never in this file.
# Next: `funnelsync config check -c FILE`, then `funnelsync doctor -c FILE`.
# Every key: `funnelsync config reference`."""

SANDBOX_HEADER = """\
#
# Both CRMs point at the funnelsync sandbox at {url} (demo credentials).
# The sandbox is local, so the client-side HubSpot limits are raised; real HubSpot private apps
# allow 100-190 requests per 10 seconds."""


def sandbox_values(url: str, state_url: str) -> dict[str, Any]:
    """Config values pointing every CRM at a sandbox at ``url``."""
    crms = {name: model.sandbox_login(url) for name, model in _crm_sections()}
    return {**crms, "state": {"url": state_url},
            # search stays at the default: the sandbox, like HubSpot, allows 5 searches/s
            "limits": {"hubspot_requests_per_10s": 10_000}}


def _crm_sections() -> Iterator[tuple[str, type[CrmConnection]]]:
    for name, info in AppConfig.model_fields.items():
        model = _model_of(info.annotation)
        if model is not None and issubclass(model, CrmConnection):
            yield name, model


def init_config(sandbox_url: str | None = None, state_url: str | None = None) -> str:
    """The text `funnelsync init` writes: commented defaults, or a sandbox-ready config; a
    given ``state_url`` is written live in either."""
    if sandbox_url is None:
        values = {"state": {"url": state_url}} if state_url is not None else None
        return render_config(values, header=INIT_HEADER)
    header = INIT_HEADER + "\n" + SANDBOX_HEADER.format(url=sandbox_url)
    return render_config(sandbox_values(sandbox_url, state_url or DEFAULT_STATE_URL),
                         header=header)
