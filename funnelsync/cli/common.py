"""What every CLI module shares: error-to-exit-code handling, the -c option, JSON output.

A module of its own because nothing may import ``cli.py`` (the entry point).
"""

from __future__ import annotations

import functools
import json
import sys
from collections.abc import Callable
from typing import Any, TypeVar

import click

from funnelsync.errors import FunnelsyncError

F = TypeVar("F", bound=Callable[..., Any])

CONFIG_HELP = "Config file (default: $FUNNELSYNC_CONFIG or ./funnelsync.toml)."

config_option = click.option("-c", "--config", "config_path", type=click.Path(dir_okay=False),
                             default=None, help=CONFIG_HELP)
json_option = click.option("--json", "as_json", is_flag=True, help="Print JSON on stdout.")


def handle_errors(func: F) -> F:
    """Turn a FunnelsyncError into one clear line on stderr and its exit code."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except FunnelsyncError as exc:
            click.echo(f"error: {exc}", err=True)
            sys.exit(exc.exit_code)

    return wrapper  # type: ignore[return-value]


def echo_json(data: Any) -> None:
    """One JSON document on stdout."""
    click.echo(json.dumps(data, indent=2, default=str, sort_keys=False))
