"""What the CLI modules share: the -c and --json options, text and JSON output, opening the
store, and the time commands run on."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from funnelsync.clock import Timebase, command_timebase
from funnelsync.config.secrets import mask_secrets
from funnelsync.errors import ConfigError
from funnelsync.reports.printable import printable

if TYPE_CHECKING:
    from funnelsync.config.models import AppConfig
    from funnelsync.crm.source import ConnectorFactory
    from funnelsync.store import Store

CONFIG_HELP = "Config file (default: $FUNNELSYNC_CONFIG or ./funnelsync.toml)."
# Leads or deals per CRM that `demo` and `sandbox` may ask for: the sandbox holds its data in
# memory.
MAX_SANDBOX_RECORDS = 100_000

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


def echo_json(data: Any, *, one_line: bool = False) -> None:
    """One JSON document on stdout, secrets masked; indented, or on one line."""
    click.echo(mask_secrets(json.dumps(data, indent=None if one_line else 2, default=str)))


LOG_FORMAT_KEY = "funnelsync.log_format"


def remember_log_format(log_format: str) -> None:
    """Note this invocation's ``--log-format``, so its error line takes that format too."""
    click.get_current_context().meta[LOG_FORMAT_KEY] = log_format


def open_store(config: AppConfig, *, need_data: bool = True) -> Store:
    """The configured state store; with ``need_data``, a ConfigError while it is still empty."""
    from funnelsync.store import Store

    store = Store.open(config.state.url, clock=command_timebase().now)
    if need_data and store.count_records(include_deleted=True) == 0 and not store.catalog():
        store.close()
        raise ConfigError("the state store holds no records yet",
                          hint="run `funnelsync sync -c FILE` (or `pull`) first")
    return store


def command_connectors(timebase: Timebase | None = None) -> ConnectorFactory:
    """Connectors whose back-off, rate-limit pacing and token expiry run on ``timebase`` (the
    command's, see ``funnelsync.clock.command_timebase``)."""
    from funnelsync.connectors.http import RetryPolicy
    from funnelsync.crm.source import default_connector

    time = timebase or command_timebase()

    def connect(name: str, config: AppConfig) -> Any:
        retry = RetryPolicy.from_limits(config.limits, clock=time.elapsed, sleep=time.sleep)
        return default_connector(name, config, retry=retry, clock=time.elapsed,
                                 sleep=time.sleep)

    return connect


def output_path(value: str, option: str = "-o") -> Path:
    """The file an option names, checked before any work is done: its folder exists and may
    be written, and it is not a folder itself. A ConfigError (exit 2, one line) otherwise."""
    path = Path(value)
    folder = path.parent
    if path.is_dir():
        raise ConfigError(f"{option} {value}: is a folder, not a file",
                          hint="give a file name inside it")
    if not folder.is_dir():
        what = "is not a folder" if folder.exists() else "does not exist"
        raise ConfigError(f"{option} {value}: the folder {folder} {what}",
                          hint="create the folder first, or choose another path")
    if not os.access(folder, os.W_OK) or (path.exists() and not os.access(path, os.W_OK)):
        raise ConfigError(f"{option} {value}: permission denied",
                          hint="choose a path you may write")
    return path


def write_output(path: Path, text: str, option: str = "-o") -> None:
    """Write ``text`` to ``path``; an error of the file system is a ConfigError (exit 2)."""
    try:
        path.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"{option} {path}: cannot write it: {exc.strerror or exc}",
                          hint="choose a path you may write") from None
