"""`--log-format json`: every line on stderr is a JSON object (pull warnings, rejected rows,
Python and library warnings, the error that ends a command), and stdout carries only the result,
one JSON line, so `sync --log-format json >> funnelsync.jsonl 2>&1` writes JSON lines."""

from __future__ import annotations

import json
import logging
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from support.clock import FakeClock
from syncsupport import config_text

from funnelsync.cli.main import main
from funnelsync.sandbox import Sandbox
from funnelsync.sync.job import current_run_id

SIZE = {"seed": 5, "leads": 150, "deals": 120}


def json_lines(text: str) -> list[dict[str, Any]]:
    """Every line of ``text`` parsed as a JSON object (a line that is not one fails)."""
    lines = [json.loads(line) for line in text.splitlines()]
    assert all(isinstance(line, dict) for line in lines)
    return lines


@pytest.fixture
def noisy_libraries(monkeypatch: pytest.MonkeyPatch) -> None:
    """A Python warning and a library warning during the run, as a real run may meet them."""
    from funnelsync.sync import job

    pull_source = job.pull_source

    def noisy(*args: Any, **kwargs: Any) -> Any:
        warnings.warn("certificate of proxy.example is self-signed", UserWarning, stacklevel=1)
        logging.getLogger("urllib3.connectionpool").warning("Connection pool is full")
        return pull_source(*args, **kwargs)

    monkeypatch.setattr(job, "pull_source", noisy)


@pytest.mark.usefixtures("noisy_libraries")
@pytest.mark.parametrize("command", [["sync", "--dry-run"], ["pull"]])
def test_stderr_is_json_lines_and_stdout_is_the_result_line(tmp_path: Path, command: list[str],
                                                            clock: FakeClock) -> None:
    with Sandbox(**SIZE, clock=clock) as sb:
        (tmp_path / "c.toml").write_text(config_text(sb, f"sqlite:///{tmp_path / 's.db'}"))
        with warnings.catch_warnings():
            warnings.simplefilter("always")
            result = CliRunner().invoke(main, [*command, "-c", str(tmp_path / "c.toml"),
                                               "--log-format", "json"])
    assert result.exit_code in (0, 1), result.output
    logs = json_lines(result.stderr)
    (data,) = json_lines(result.stdout)
    assert set(data) >= {"pulled", "warnings", "errors"}
    warned = [line for line in logs if line["level"] == "warning"]
    assert {line["logger"] for line in warned} >= {"py.warnings", "urllib3.connectionpool"}
    pull_warnings = [line["msg"] for line in warned if line["logger"] == "funnelsync.cli"]
    assert pull_warnings == data["warnings"][:len(pull_warnings)] and data["warnings"]


@pytest.fixture
def no_run_in_progress() -> Iterator[None]:
    """Log lines name the run in progress; this error comes before any run."""
    token = current_run_id.set(None)
    yield
    current_run_id.reset(token)


@pytest.mark.usefixtures("no_run_in_progress")
def test_the_error_that_ends_a_command_is_a_json_line(tmp_path: Path) -> None:
    (tmp_path / "c.toml").write_text('[state]\nurl = "sqlite:///s.db"\n')
    result = CliRunner().invoke(main, ["sync", "-c", str(tmp_path / "c.toml"),
                                       "--log-format", "json"])
    assert (result.exit_code, result.stdout) == (2, "")
    (line,) = json_lines(result.stderr)
    assert {k: v for k, v in line.items() if k != "ts"} == {
        "level": "error", "logger": "funnelsync.cli", "exit_code": 2,
        "msg": "the config names no CRM: there is nothing to pull or sync (add a [salesforce] "
               "or [hubspot] section; `funnelsync init` shows every key)"}


def test_a_config_error_keeps_its_problems_in_the_json_line(tmp_path: Path) -> None:
    (tmp_path / "c.toml").write_text("[state]\nlock_ttl_seconds = 0\n[alerts]\nidle_days = 0\n")
    result = CliRunner().invoke(main, ["pull", "-c", str(tmp_path / "c.toml"),
                                       "--log-format", "json"])
    (line,) = json_lines(result.stderr)
    assert (result.exit_code, line["exit_code"], line["problems"]) == (2, 2, [
        "state.lock_ttl_seconds: must be greater than 0",
        "alerts.idle_days: must be greater than 0"])
