"""A state URL's password never reaches an output: config check, doctor, runs, sync, logs and
error lines show it as ``***`` (one helper, ``mask_secrets``)."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from funnelsync.cli.console import setup_logging
from funnelsync.cli.main import main
from funnelsync.config.secrets import mask_secrets
from funnelsync.sync.job import current_run_id

SECRET = "S3cr3t-pw"
UNREACHABLE = f"postgresql+psycopg://funnel:{SECRET}@127.0.0.1:1/funnel"
MASKED = "postgresql+psycopg://funnel:***@127.0.0.1:1/funnel"


@pytest.fixture(autouse=True)
def _isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("FUNNELSYNC_CONFIG", raising=False)


def write_config(tmp_path: Path, state_url: str = UNREACHABLE, crm: str = "") -> str:
    (tmp_path / "c.toml").write_text(f'{crm}[state]\nurl = "{state_url}"\n', encoding="utf-8")
    return "c.toml"


@pytest.mark.parametrize(("text", "masked"), [
    ("postgresql://user:PASS@db.example/funnel", "postgresql://user:***@db.example/funnel"),
    ("failed: postgresql+psycopg://u:p@ss@h:5432/d; retry",
     "failed: postgresql+psycopg://u:***@h:5432/d; retry"),
    ("postgresql://:only-pw@h/d", "postgresql://:***@h/d"),
    ("'https://bot:tok@hooks.example/x' and sqlite:///a.db",
     "'https://bot:***@hooks.example/x' and sqlite:///a.db"),
    ("postgresql://user@h/d and https://h:8443/x", "postgresql://user@h/d and https://h:8443/x"),
])
def test_mask_secrets_hides_the_password_of_every_url(text: str, masked: str) -> None:
    assert mask_secrets(text) == masked


def test_config_check_shows_the_state_url_masked(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["config", "check", "-c", write_config(tmp_path)])
    assert (result.exit_code, result.stdout) == (
        0, f"config ok: no CRM; 6 funnel stages; state {MASKED}\n")


@pytest.mark.parametrize("args", [["runs"], ["sync", "--source", "hubspot"],
                                  ["pull", "--source", "hubspot"], ["report"], ["identity"]])
def test_an_unreachable_store_is_one_masked_line_and_exit_4(tmp_path: Path,
                                                            args: list[str]) -> None:
    crm = '[hubspot]\naccess_token = "pat-x"\nhost = "http://127.0.0.1:1"\n'
    result = CliRunner().invoke(main, [*args, "-c", write_config(tmp_path, crm=crm)])
    assert (result.exit_code, result.stdout) == (4, "")
    assert result.stderr == (
        f"error: the state store {MASKED} cannot be used: connection failed: connection to "
        'server at "127.0.0.1", port 1 failed: Connection refused (check that the database '
        "server runs and accepts this user)\n")


def test_doctor_lines_are_masked(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from funnelsync.app import doctor

    def failing(config: object, fix: bool = False, **_: object) -> doctor.DoctorReport:
        return doctor.DoctorReport(
            checks=[doctor.Check("hubspot", "reachable", "fail", f"proxy {UNREACHABLE} down")],
            unreachable=True)

    monkeypatch.setattr(doctor, "run_doctor", failing)
    crm = '[hubspot]\naccess_token = "pat-x"\n'
    path = write_config(tmp_path, crm=crm)
    for extra in ([], ["--json"]):
        result = CliRunner().invoke(main, ["doctor", "-c", path, *extra])
        assert result.exit_code == 4
        assert SECRET not in result.output
        assert MASKED in result.output


@pytest.fixture
def no_run_in_progress() -> Iterator[None]:
    """Log lines name the run in progress; these are logged outside any run."""
    token = current_run_id.set(None)
    yield
    current_run_id.reset(token)


@pytest.mark.usefixtures("no_run_in_progress")
@pytest.mark.parametrize(("log_format", "line"), [
    ("text", f"WARNING funnelsync.test: store {MASKED} slow url={MASKED}\n"),
    ("json", json.dumps({"level": "warning", "logger": "funnelsync.test",
                         "msg": f"store {MASKED} slow", "url": MASKED}) + "\n"),
])
def test_log_lines_are_masked(log_format: str, line: str) -> None:
    stream = io.StringIO()
    setup_logging(log_format, stream=stream)
    logging.getLogger("funnelsync.test").warning(
        "store %s slow", UNREACHABLE, extra={"fields": {"url": UNREACHABLE}})
    text = stream.getvalue()
    if log_format == "json":
        data = json.loads(text)
        data.pop("ts")
        text = json.dumps(data) + "\n"
    assert text == line


def test_a_database_failure_mid_command_is_one_masked_line_and_exit_4() -> None:
    import click
    import sqlalchemy as sa

    from funnelsync.cli.main import FunnelsyncGroup

    @click.group(cls=FunnelsyncGroup)
    def top() -> None:
        """Top."""

    @top.command("fail")
    def fail() -> None:
        orig = Exception(f"server closed the connection to {UNREACHABLE}\nDETAIL: restart")
        raise sa.exc.OperationalError("SELECT 1", {}, orig)

    result = CliRunner().invoke(top, ["fail"])
    assert (result.exit_code, result.stderr) == (
        4, f"error: the state store failed: server closed the connection to {MASKED}\n")
