"""Config values that would validate but overflow at run time are bounded in the schema, and
the problem names the key: lock TTL, due-day and quiet-day offsets, SLA hours, infinite or
NaN numbers, URL ports; `runs --limit` is bounded too."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from funnelsync.cli.main import main

CRMS = ('[salesforce]\nusername = "u"\npassword = "p"\nsecurity_token = "t"\n'
        '[hubspot]\naccess_token = "pat-x"\n')


@pytest.fixture(autouse=True)
def _isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("FUNNELSYNC_CONFIG", raising=False)


def check(text: str) -> tuple[int, str]:
    Path("c.toml").write_text(text, encoding="utf-8")
    result = CliRunner().invoke(main, ["config", "check", "-c", "c.toml"])
    return result.exit_code, result.stderr


@pytest.mark.parametrize(("toml", "problem"), [
    ("[state]\nlock_ttl_seconds = 100000000000\n",
     "state.lock_ttl_seconds: must be less than or equal to 604800"),
    ("[alerts]\ntask_due_days = 10000000\n",
     "alerts.task_due_days: must be less than or equal to 365"),
    ("[sla]\nfirst_touch_hours = 24\nescalate_hours = 1e12\n",
     "sla.escalate_hours: must be less than or equal to 8760"),
    ("[nurture]\nquiet_days = 1000000000\n",
     "nurture.quiet_days: must be less than or equal to 3650"),
    ("[scoring]\nhalf_life_days = inf\n", "scoring.half_life_days: must be a finite number"),
    ("[writeback]\nrescore_interval_hours = nan\n",
     "writeback.rescore_interval_hours: must be a finite number"),
    ("[limits]\nmax_retry_seconds = inf\n", "limits.max_retry_seconds: must be a finite number"),
    ('[state]\nurl = "postgresql+psycopg://u:pw@db.example:70000/funnel"\n',
     "state.url: port must be from 1 to 65535"),
    ('[state]\nurl = "postgresql://u:pw@db.example:abc/funnel"\n',
     "state.url: is not a database URL; use sqlite:///path/file.db or "
     "postgresql+psycopg://user@host/db"),
    ('[state]\nurl = "mysql://u:pw@db.example/funnel"\n',
     "state.url: unsupported database 'mysql'; use sqlite:///path/file.db or "
     "postgresql+psycopg://user@host/db"),
    ('[hubspot]\naccess_token = "x"\nhost = "http://127.0.0.1:99999"\n',
     "hubspot.host: port must be from 1 to 65535"),
    ('[salesforce]\nsession_id = "s"\ninstance_url = "https://acme.example:0"\n',
     "salesforce.instance_url: port must be from 1 to 65535"),
    ('[alerts]\nwebhook_url = "hooks.slack.com/services/x"\n',
     "alerts.webhook_url: must start with https:// or http:// followed by a host"),
])
def test_an_overflowing_value_is_one_problem_naming_its_key(toml: str, problem: str) -> None:
    assert check(toml) == (2, "error: c.toml: 1 problem(s) in the configuration\n"
                              f"  - {problem}\n")


def test_the_largest_allowed_values_check_ok() -> None:
    code, stderr = check(f"{CRMS}[state]\nlock_ttl_seconds = 604800\n"
                         "[alerts]\ntask_due_days = 365\n"
                         "[sla]\nfirst_touch_hours = 8760\nescalate_hours = 8760\n"
                         "[nurture]\nquiet_days = 3650\n")
    assert (code, stderr) == (0, "")


def test_the_password_of_a_malformed_state_url_is_not_shown() -> None:
    code, stderr = check('[state]\nurl = "postgresql://u:S3cr3t@db.example:abc/funnel"\n')
    assert code == 2 and "S3cr3t" not in stderr


def test_runs_limit_is_bounded() -> None:
    Path("c.toml").write_text('[state]\nurl = "sqlite:///s.db"\n', encoding="utf-8")
    result = CliRunner().invoke(main, ["runs", "-c", "c.toml", "--limit", str(10**20)])
    assert result.exit_code == 2
    assert result.stderr.splitlines()[-1] == (
        "Error: Invalid value for '--limit': 100000000000000000000 is not in the range "
        "1<=x<=10000.")


def test_init_refuses_a_sandbox_port_out_of_range() -> None:
    result = CliRunner().invoke(main, ["init", "--sandbox", "http://127.0.0.1:99999", "-o", "-"])
    assert result.exit_code == 2
    assert result.stderr.splitlines()[-1] == (
        "Error: Invalid value for --sandbox: port must be from 1 to 65535; give the sandbox's "
        "base URL, e.g. http://127.0.0.1:8765")
