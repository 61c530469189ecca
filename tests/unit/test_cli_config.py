"""`funnelsync config check`, `--version` and `schema` through CliRunner: output and exit codes."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from funnelsync.cli.main import main

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def _isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("FUNNELSYNC_CONFIG", raising=False)
    for name in ("SF_PASSWORD", "SF_SECURITY_TOKEN", "HUBSPOT_TOKEN"):
        monkeypatch.delenv(name, raising=False)


def test_version() -> None:
    result = CliRunner().invoke(main, ["--version"])
    assert (result.exit_code, result.output) == (0, "funnelsync, version 0.1.0\n")


def test_example_config_checks_ok(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    shutil.copy(ROOT / "config.example.toml", tmp_path / "funnelsync.toml")
    for name in ("SF_PASSWORD", "SF_SECURITY_TOKEN", "HUBSPOT_TOKEN"):
        monkeypatch.setenv(name, "s3cret-value")
    result = CliRunner().invoke(main, ["config", "check"])
    assert result.exit_code == 0
    assert result.stdout == ("config ok: salesforce, hubspot; 6 funnel stages; state "
                             "sqlite:///funnelsync.db\n")


def test_unset_env_vars_are_listed_and_exit_2(tmp_path: Path) -> None:
    shutil.copy(ROOT / "config.example.toml", tmp_path / "c.toml")
    result = CliRunner().invoke(main, ["config", "check", "-c", "c.toml"])
    assert result.exit_code == 2
    assert result.stderr == (
        "error: c.toml: 3 problem(s) in the configuration\n"
        "  - salesforce.password: environment variable SF_PASSWORD is not set\n"
        "  - salesforce.security_token: environment variable SF_SECURITY_TOKEN is not set\n"
        "  - hubspot.access_token: environment variable HUBSPOT_TOKEN is not set\n")


def test_every_problem_listed_and_no_secret_printed(tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SF_PASSWORD", "hunter2-secret")
    (tmp_path / "bad.toml").write_text(
        '[salesforce]\nusername = "u"\npassword = "${SF_PASSWORD}"\n'
        '[hubspot]\nacess_token = "pat-123"\n'
        '[[funnel.stages]]\nid = "a"\nmax_days = 0\n')
    result = CliRunner().invoke(main, ["config", "check", "-c", "bad.toml"])
    assert result.exit_code == 2
    assert result.stderr == (
        "error: bad.toml: 3 problem(s) in the configuration\n"
        "  - salesforce: username + password needs security_token (or consumer_key + "
        "consumer_secret)\n"
        "  - hubspot.acess_token: unknown key (check the spelling; see config.example.toml)\n"
        "  - funnel.stages[0].max_days: must be greater than 0\n")
    assert "hunter2" not in result.output and "pat-123" not in result.output


def test_one_crm_config(tmp_path: Path) -> None:
    (tmp_path / "hs.toml").write_text('[hubspot]\naccess_token = "pat-1"\n'
                                      '[state]\nurl = "sqlite:///hs.db"\n')
    result = CliRunner().invoke(main, ["config", "check", "-c", "hs.toml"])
    assert (result.exit_code, result.stdout) == (
        0, "config ok: hubspot; 6 funnel stages; state sqlite:///hs.db\n")


def test_env_var_names_the_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "x.toml").write_text("")
    monkeypatch.setenv("FUNNELSYNC_CONFIG", str(tmp_path / "x.toml"))
    result = CliRunner().invoke(main, ["config", "check"])
    assert (result.exit_code, result.stdout) == (
        0, "config ok: no CRM; 6 funnel stages; state sqlite:///funnelsync.db\n")


def test_missing_and_absent_config_exit_2() -> None:
    result = CliRunner().invoke(main, ["config", "check", "-c", "nope.toml"])
    assert (result.exit_code, result.stderr) == (
        2, "error: cannot read configuration file nope.toml: No such file or directory "
           "(check the path given with -c)\n")
    result = CliRunner().invoke(main, ["config", "check"])
    assert result.exit_code == 2
    assert result.stderr.startswith("error: no configuration file found (pass -c FILE")


def test_toml_syntax_error_exit_2(tmp_path: Path) -> None:
    (tmp_path / "s.toml").write_text("[state]\nurl sqlite\n")
    result = CliRunner().invoke(main, ["config", "check", "-c", "s.toml"])
    assert (result.exit_code, result.stderr) == (
        2, "error: s.toml: invalid TOML: Expected '=' after a key in a key/value pair (at line "
           "2, column 5) (fix the syntax at that line and column)\n")


def test_unknown_option_is_a_usage_error() -> None:
    result = CliRunner().invoke(main, ["config", "check", "--bogus"])
    assert result.exit_code == 2
    assert "No such option" in result.stderr and "--bogus" in result.stderr


def test_schema_json_lists_every_model() -> None:
    result = CliRunner().invoke(main, ["schema", "--json"])
    assert result.exit_code == 0
    schemas = json.loads(result.stdout)
    assert sorted(schemas) == ["CatalogStage", "FunnelDeal", "FunnelLead", "StageChange"]
    assert schemas["FunnelDeal"]["properties"]["amount"]["anyOf"][0]["type"] in ("number",
                                                                                 "string")
