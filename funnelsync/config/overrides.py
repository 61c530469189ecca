"""Read the manual identity overrides file (``identity.overrides_file``), TOML or CSV.

TOML::

    link = [["salesforce:lead:00Q5e00000AbCdE", "hubspot:lead:5101"]]
    never-link = [["ana@acme.com", "ana.smith@acme.com"]]

CSV (header optional)::

    action,a,b
    link,salesforce:lead:00Q5e00000AbCdE,hubspot:lead:5101
    never-link,ana@acme.com,ana.smith@acme.com

Each side is a record key (``source:kind:id``, kind ``lead``) or an e-mail (every record with
that e-mail). The file may carry a byte-order mark (UTF-8 or UTF-16, as Excel and PowerShell
save); bytes that are not text are a ConfigError naming the file, the line and the byte.
"""

from __future__ import annotations

import csv
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from funnelsync.config.encoding import read_text_file
from funnelsync.errors import ConfigError

ACTIONS = {"link": "link", "never-link": "never_link", "never_link": "never_link"}
_HINT = "see identity.overrides_file in the README: link / never-link pairs"


@dataclass(frozen=True)
class Overrides:
    """Manual decisions: pairs of record keys or e-mails (the identity overrides file)."""

    link: tuple[tuple[str, str], ...] = ()
    never_link: tuple[tuple[str, str], ...] = ()


def load_overrides(path: Path | None) -> Overrides:
    """The overrides in ``path``; empty when no file is configured."""
    if path is None:
        return Overrides()
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise ConfigError(f"cannot read identity.overrides_file {path}: {exc.strerror}",
                          hint="check the path in [identity] overrides_file") from None
    text = read_text_file(data, f"identity.overrides_file {path}")
    if Path(path).suffix.lower() == ".csv":
        return parse_csv(text, str(path))
    return parse_toml(text, str(path))


def parse_toml(text: str, where: str = "<overrides>") -> Overrides:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{where}: invalid TOML: {exc}", hint=_HINT) from None
    pairs: dict[str, list[tuple[str, str]]] = {"link": [], "never_link": []}
    for name, value in data.items():
        if name not in ACTIONS:
            raise ConfigError(f"{where}: unknown key {name!r}", hint=_HINT)
        pairs[ACTIONS[name]] += [_pair(item, where, name) for item in _list(value, where, name)]
    return Overrides(tuple(pairs["link"]), tuple(pairs["never_link"]))


def parse_csv(text: str, where: str = "<overrides>") -> Overrides:
    pairs: dict[str, list[tuple[str, str]]] = {"link": [], "never_link": []}
    for number, row in enumerate(csv.reader(text.splitlines()), start=1):
        cells = [c.strip() for c in row]
        if not any(cells) or cells[0].startswith("#") or (number == 1 and cells[0] == "action"):
            continue
        if len(cells) != 3 or cells[0].lower() not in ACTIONS:
            raise ConfigError(f"{where}:{number}: expected link|never-link,A,B, got {row}",
                              hint=_HINT)
        pairs[ACTIONS[cells[0].lower()]].append(_pair(cells[1:], where, str(number)))
    return Overrides(tuple(pairs["link"]), tuple(pairs["never_link"]))


def _list(value: Any, where: str, name: str) -> list[Any]:
    if not isinstance(value, list):
        raise ConfigError(f"{where}: {name} must be a list of pairs", hint=_HINT)
    return value


def _pair(item: Any, where: str, name: str) -> tuple[str, str]:
    if (not isinstance(item, list | tuple) or len(item) != 2
            or not all(isinstance(x, str) and x.strip() for x in item)):
        raise ConfigError(f"{where}: {name}: each entry must be a pair of two non-empty "
                          f"strings, got {item!r}", hint=_HINT)
    return item[0].strip(), item[1].strip()


__all__ = ["load_overrides", "parse_csv", "parse_toml"]
