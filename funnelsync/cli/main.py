"""The ``funnelsync`` command: one group that maps errors to exit codes, and its commands."""

from __future__ import annotations

import logging
import sys
from typing import Any

import click

from funnelsync import __version__
from funnelsync.cli import admin, identity, revenue, run
from funnelsync.cli.common import LOG_FORMAT_KEY, safe_text
from funnelsync.errors import (
    EXIT_REMOTE,
    ConfigError,
    FunnelsyncError,
    RemoteError,
    exit_code_for,
)


class FunnelsyncGroup(click.Group):
    """A group whose commands end a FunnelsyncError the same way: one line on stderr (secrets
    masked; a JSON log line under ``--log-format json``), and the exit code of the error's
    kind (0 ok, 1 partial failure, 2 usage or config error, 3 another run holds the lock, 4
    authentication or remote unavailable). A state store that fails in the middle of a
    command is a remote failure too."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except FunnelsyncError as exc:
            _report_error(ctx, exc)
            sys.exit(exit_code_for(exc))
        except Exception as exc:
            if not _is_database_error(exc):
                raise
            reason = (str(exc.orig).strip().splitlines() or [type(exc.orig).__name__])[0]
            _report_error(ctx, RemoteError(f"the state store failed: {reason}"))
            sys.exit(EXIT_REMOTE)


def _report_error(ctx: click.Context, exc: FunnelsyncError) -> None:
    """The error on stderr: a JSON log line under ``--log-format json``, else ``error: ...``
    (a ConfigError lists its problems one per line; any other error is one line)."""
    if ctx.meta.get(LOG_FORMAT_KEY) == "json":
        from funnelsync.cli.console import log_problem

        problems = exc.problems if isinstance(exc, ConfigError) else []
        fields: dict[str, Any] = {"exit_code": exit_code_for(exc)}
        if exc.run_id is not None:  # the run it ended; the run id is no longer in the context
            fields["run_id"] = exc.run_id
        if problems:
            fields["problems"] = problems
        log_problem(logging.ERROR, FunnelsyncError.__str__(exc), **fields)
        return
    lines = str(exc).split("\n") if isinstance(exc, ConfigError) else [str(exc)]
    click.echo("\n".join(safe_text(line) for line in [f"error: {lines[0]}", *lines[1:]]),
               err=True)


def _is_database_error(exc: Exception) -> bool:
    """Whether the database driver raised ``exc`` (SQLAlchemy is imported only by commands
    that open the store, so a command that did not cannot have raised it)."""
    sa_exc = sys.modules.get("sqlalchemy.exc")
    return sa_exc is not None and isinstance(exc, sa_exc.DBAPIError)


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
