"""What the CLI modules share: the -c and --json options, text and JSON output, opening the
store."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import click

from funnelsync.config.secrets import mask_secrets
from funnelsync.errors import ConfigError
from funnelsync.reports.printable import printable

if TYPE_CHECKING:
    from funnelsync.config.models import AppConfig
    from funnelsync.store import Store

CONFIG_HELP = "Config file (default: $FUNNELSYNC_CONFIG or ./funnelsync.toml)."

config_option = click.option("-c", "--config", "config_path", type=click.Path(dir_okay=False),
                             default=None, help=CONFIG_HELP)
json_option = click.option("--json", "as_json", is_flag=True, help="Print JSON on stdout.")


def safe_text(text: str) -> str:
    """Text for a terminal or a log file: secrets masked, control characters visible."""
    return printable(mask_secrets(text))


def echo_line(text: str, *, err: bool = False) -> None:
    """One line of text (CRM values inside it included) on stdout or stderr: secrets masked,
    control characters and escape sequences shown, never executed."""
    click.echo(safe_text(text), err=err)


def echo_json(data: Any) -> None:
    """One JSON document on stdout, secrets masked."""
    click.echo(mask_secrets(json.dumps(data, indent=2, default=str)))


def open_store(config: AppConfig, *, need_data: bool = True) -> Store:
    """The configured state store; with ``need_data``, a ConfigError while it is still empty."""
    from funnelsync.store import Store

    store = Store.open(config.state.url)
    if need_data and store.count_records(include_deleted=True) == 0 and not store.catalog():
        store.close()
        raise ConfigError("the state store holds no records yet",
                          hint="run `funnelsync sync -c FILE` (or `pull`) first")
    return store
