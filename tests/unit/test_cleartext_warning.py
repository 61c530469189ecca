"""`config check` warns when a CRM URL would send credentials in clear text: http:// to a
host other than localhost (Salesforce login_url and instance_url, HubSpot host)."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from funnelsync.cli.main import main

SF = '[salesforce]\nusername = "u"\npassword = "p"\nsecurity_token = "t"\n'
HS = '[hubspot]\naccess_token = "pat-x"\n'


def check(tmp_path: Path, text: str) -> tuple[int, str, str]:
    (tmp_path / "c.toml").write_text(text, encoding="utf-8")
    result = CliRunner().invoke(main, ["config", "check", "-c", str(tmp_path / "c.toml")])
    return result.exit_code, result.stdout, result.stderr


def test_http_to_remote_hosts_is_warned_about_and_still_ok(tmp_path: Path) -> None:
    code, out, err = check(tmp_path, f'{SF}login_url = "http://login.example.com"\n'
                                     f'instance_url = "http://acme.my.example.com"\n'
                                     f'{HS}host = "http://hubapi.proxy.example:8080"\n')
    assert (code, out) == (0, "config ok: salesforce, hubspot; 6 funnel stages; state "
                              "sqlite:///funnelsync.db\n")
    assert err == (
        "warning: salesforce.login_url uses http:// to a host other than localhost: "
        "credentials and CRM data would travel in clear text (use https://)\n"
        "warning: salesforce.instance_url uses http:// to a host other than localhost: "
        "credentials and CRM data would travel in clear text (use https://)\n"
        "warning: hubspot.host uses http:// to a host other than localhost: "
        "credentials and CRM data would travel in clear text (use https://)\n")


@pytest.mark.parametrize("url", ["http://localhost:8765", "http://127.0.0.1:8765",
                                 "http://[::1]:8765", "https://login.example.com"])
def test_https_and_local_http_are_not_warned_about(tmp_path: Path, url: str) -> None:
    code, _, err = check(tmp_path, f'{SF}login_url = "{url}"\n{HS}host = "{url}"\n')
    assert (code, err) == (0, "")
