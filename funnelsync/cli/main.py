"""The ``funnelsync`` command: one group that maps errors to exit codes, and its commands."""

from __future__ import annotations

import sys
from typing import Any

import click

from funnelsync import __version__
from funnelsync.cli import admin, identity, revenue, run
from funnelsync.errors import FunnelsyncError, exit_code_for


class FunnelsyncGroup(click.Group):
    """A group whose commands end a FunnelsyncError the same way: one line on stderr, and the
    exit code of the error's kind (0 ok, 1 partial failure, 2 usage or config error, 3 another
    run holds the lock, 4 authentication or remote unavailable)."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except FunnelsyncError as exc:
            click.echo(f"error: {exc}", err=True)
            sys.exit(exit_code_for(exc))


@click.group(cls=FunnelsyncGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="funnelsync")
def main() -> None:
    """funnelsync: Salesforce and HubSpot to one sales funnel.

    \b
    Example:
      funnelsync demo
      funnelsync sync -c funnelsync.toml --dry-run
    """


for _command in (*run.COMMANDS, *admin.COMMANDS, *identity.COMMANDS, *revenue.COMMANDS):
    main.add_command(_command)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
