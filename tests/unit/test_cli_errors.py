"""The command group maps the exception tree to exit codes once, for every command."""

from __future__ import annotations

from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from funnelsync.cli.main import FunnelsyncGroup, main
from funnelsync.errors import AuthError, ConfigError, DataError, LockHeld, RateLimited, RemoteError


def group_raising(exc: Exception) -> click.Group:
    """A FunnelsyncGroup with one command, one level down, that raises ``exc``."""

    @click.group(cls=FunnelsyncGroup)
    def top() -> None:
        """Top."""

    @top.group("nested")
    def nested() -> None:
        """Nested."""

    @nested.command("fail")
    def fail() -> None:
        raise exc

    return top


@pytest.mark.parametrize(("exc", "code", "stderr"), [
    (ConfigError("bad key", hint="see the reference"), 2, "error: bad key (see the reference)\n"),
    (ConfigError("2 problem(s)", problems=["a: x", "b: y"]), 2,
     "error: 2 problem(s)\n  - a: x\n  - b: y\n"),
    (LockHeld("another run holds the lock", holder="h:1:ab"), 3,
     "error: another run holds the lock\n"),
    (AuthError("token refused"), 4, "error: token refused\n"),
    (RemoteError("CRM unreachable"), 4, "error: CRM unreachable\n"),
    (RateLimited("daily quota reached"), 4, "error: daily quota reached\n"),
    (DataError("record rejected"), 1, "error: record rejected\n"),
])
def test_a_funnelsync_error_is_one_line_and_the_exit_code_of_its_kind(
        exc: Exception, code: int, stderr: str) -> None:
    result = CliRunner().invoke(group_raising(exc), ["nested", "fail"])
    assert (result.exit_code, result.stderr, result.stdout) == (code, stderr, "")


def test_other_exceptions_are_not_turned_into_error_lines() -> None:
    result = CliRunner().invoke(group_raising(KeyError("x")), ["nested", "fail"])
    assert (result.exit_code, type(result.exception), result.stderr) == (1, KeyError, "")


def test_every_command_hangs_off_the_one_group() -> None:
    assert isinstance(main, FunnelsyncGroup)
    assert sorted(main.commands) == [
        "audit", "config", "demo", "doctor", "export", "forecast", "forget", "identity", "init",
        "normalize", "person", "pull", "report", "runs", "sandbox", "schema", "sync"]
    config = main.commands["config"]
    assert isinstance(config, click.Group)
    assert sorted(config.commands) == ["check", "reference"]


@pytest.mark.parametrize("args", [
    ["pull"], ["sync", "--dry-run"], ["runs"], ["audit"],
    ["export", "--object", "deals", "-o", "-"], ["identity"], ["person", "a@b.example"],
    ["forget", "a@b.example"], ["config", "check"],
])
def test_commands_of_every_module_map_a_config_error_to_exit_2(
        args: list[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(main, [*args, "-c", "nope.toml"])
    assert (result.exit_code, result.stderr) == (
        2, "error: cannot read configuration file nope.toml: No such file or directory "
           "(check the path given with -c)\n")
