"""The [limits] keys are bounded in the schema, each problem naming its key: a rate limit too
large to limit, a retry budget that never gives up, a metadata cache expiry past the calendar."""

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


@pytest.mark.parametrize(("key", "value", "problem"), [
    ("hubspot_search_per_second", "1000000000000",
     "limits.hubspot_search_per_second: must be less than or equal to 100"),
    ("hubspot_search_per_second", "0",
     "limits.hubspot_search_per_second: must be greater than 0"),
    ("hubspot_requests_per_10s", "10001",
     "limits.hubspot_requests_per_10s: must be less than or equal to 10000"),
    ("max_retry_seconds", "1e300", "limits.max_retry_seconds: must be less than or equal to "
                                   "86400"),
    ("metadata_ttl_hours", "1e9", "limits.metadata_ttl_hours: must be less than or equal to "
                                  "8760"),
])
def test_an_unbounded_limit_is_one_problem_naming_its_key(key: str, value: str,
                                                          problem: str) -> None:
    assert check(f"[limits]\n{key} = {value}\n") == (
        2, f"error: c.toml: 1 problem(s) in the configuration\n  - {problem}\n")


def test_the_largest_allowed_limits_check_ok() -> None:
    assert check(f"{CRMS}[limits]\nhubspot_search_per_second = 100\n"
                 "hubspot_requests_per_10s = 10000\nmax_retry_seconds = 86400\n"
                 "metadata_ttl_hours = 8760\n") == (0, "")
