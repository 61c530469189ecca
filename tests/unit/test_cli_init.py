"""`funnelsync init`: writes a commented config that passes `config check`, never overwrites."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from funnelsync.cli.main import main
from funnelsync.config.reference import init_config


@pytest.fixture(autouse=True)
def _isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("FUNNELSYNC_CONFIG", raising=False)


def run(*args: str) -> Result:
    return CliRunner().invoke(main, list(args))


def test_init_writes_the_default_file_which_checks_ok(tmp_path: Path) -> None:
    result = run("init")
    assert result.exit_code == 0
    assert result.stdout == ("wrote funnelsync.toml; next: funnelsync config check -c "
                             "funnelsync.toml && funnelsync doctor -c funnelsync.toml\n")
    assert (tmp_path / "funnelsync.toml").read_text() == init_config()
    check = run("config", "check")
    assert (check.exit_code, check.stdout) == (
        0, "config ok: no CRM; 6 funnel stages; state sqlite:///funnelsync.db\n")


def test_init_never_overwrites_without_force(tmp_path: Path) -> None:
    (tmp_path / "c.toml").write_text("# mine\n")
    result = run("init", "-o", "c.toml")
    assert result.exit_code == 2
    assert result.stderr == "error: c.toml already exists; pass --force to overwrite it\n"
    assert (tmp_path / "c.toml").read_text() == "# mine\n"
    assert run("init", "-o", "c.toml", "--force").exit_code == 0
    assert (tmp_path / "c.toml").read_text() == init_config()


def test_init_sandbox_writes_a_checkable_sandbox_config(tmp_path: Path) -> None:
    result = run("init", "--sandbox", "http://127.0.0.1:8765/", "-o", "s.toml",
                 "--state", "sqlite:///demo.db")
    assert result.exit_code == 0
    text = (tmp_path / "s.toml").read_text()
    assert 'login_url = "http://127.0.0.1:8765"\n' in text
    assert 'host = "http://127.0.0.1:8765"\n' in text
    check = run("config", "check", "-c", "s.toml")
    assert check.stdout == ("config ok: salesforce, hubspot; 6 funnel stages; "
                            "state sqlite:///demo.db\n")


def test_init_to_stdout() -> None:
    result = run("init", "-o", "-")
    assert (result.exit_code, result.stdout) == (0, init_config())


def test_init_rejects_a_sandbox_value_that_is_not_a_url() -> None:
    result = run("init", "--sandbox", "localhost:8765")
    assert result.exit_code == 2
    assert "give the sandbox's base URL, e.g. http://127.0.0.1:8765" in result.stderr


def test_doctor_needs_a_crm(tmp_path: Path) -> None:
    run("init")
    result = run("doctor")
    assert result.exit_code == 2
    assert result.stderr == ("error: the config names no CRM (add a [salesforce] or [hubspot] "
                             "section; `funnelsync init` shows every key)\n")
