"""The admin's entry point. Parses arguments, calls the library, renders results: nothing else."""

from __future__ import annotations

import functools
import json
import sys
from collections.abc import Callable
from typing import Any, TypeVar

import click

from funnelsync import __version__
from funnelsync.config import AppConfig, load_config
from funnelsync.errors import FunnelsyncError

F = TypeVar("F", bound=Callable[..., Any])

CONFIG_HELP = "Config file (default: $FUNNELSYNC_CONFIG or ./funnelsync.toml)."


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


def config_option(required: bool = False) -> Callable[[F], F]:
    return click.option("-c", "--config", "config_path", type=click.Path(dir_okay=False),
                        default=None, help=CONFIG_HELP)


def open_config(config_path: str | None, required: bool = True) -> AppConfig:
    return load_config(config_path, required=required)


def echo_json(data: Any) -> None:
    click.echo(json.dumps(data, indent=2, default=str, sort_keys=False))


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="funnelsync")
def main() -> None:
    """funnelsync: Salesforce and HubSpot to one sales funnel.

    \b
    Example:
      funnelsync demo
      funnelsync sync -c funnelsync.toml --dry-run
    """


@main.group("config")
def config_group() -> None:
    """Check configuration files."""


@config_group.command("check")
@config_option()
@handle_errors
def config_check(config_path: str | None) -> None:
    """Validate a config file and list every problem with its TOML path.

    \b
    Example:
      funnelsync config check -c funnelsync.toml
    """
    config = open_config(config_path)
    crms = ", ".join(config.sources()) or "no CRM"
    click.echo(f"config ok: {crms}; {len(config.funnel.stages)} funnel stages; "
               f"state {config.state.url}")


@main.command("schema")
@click.option("--json", "as_json", is_flag=True, help="Print the JSON Schema of every model.")
def schema_cmd(as_json: bool) -> None:
    """Show the common funnel schema.

    \b
    Example:
      funnelsync schema --json > funnel-schema.json
    """
    from funnelsync.mapping.schema import CatalogStage, FunnelDeal, FunnelLead, StageChange

    models = [FunnelLead, FunnelDeal, StageChange, CatalogStage]
    if as_json:
        echo_json({m.__name__: m.model_json_schema() for m in models})
        return
    for model in models:
        click.echo(model.__name__)
        for name, info in model.model_fields.items():
            click.echo(f"  {name}: {info.annotation}".replace("typing.", ""))


def run() -> None:  # pragma: no cover - console entry for python -m
    main(prog_name="funnelsync")


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())

