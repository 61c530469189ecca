"""Config: every error message (literal), ${VAR} expansion, secrets, defaults, the example file."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel

from funnelsync.config.loading import load_config, parse_config
from funnelsync.config.models import AppConfig
from funnelsync.errors import ConfigError

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "config.example.toml"
EXAMPLE_ENV = {"SF_PASSWORD": "pw-example", "SF_SECURITY_TOKEN": "tok-example",
               "HUBSPOT_TOKEN": "pat-example"}
SF_NO_CREDENTIALS = ("salesforce: no credentials: give username + password + security_token, "
                     "consumer_key + consumer_secret, privatekey_file, or session_id + "
                     "instance_url")
KNOWN = "(known: awareness, consideration, decision, intent, interest, lost, purchase)"


def problems_of(text: str, environ: dict[str, str] | None = None) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        parse_config(text, source="f.toml", environ=environ or {})
    return caught.value.problems


@pytest.mark.parametrize(("text", "problems"), [
    ('colour = "red"\n',
     ["colour: unknown key (check the spelling; see config.example.toml)"]),
    ('[scoring]\nmql_treshold = 30\n',
     ["scoring.mql_treshold: unknown key (check the spelling; see config.example.toml)"]),
    ('[salesforce]\nusername = "u"\npasswrd = "p"\n',
     ["salesforce.passwrd: unknown key (check the spelling; see config.example.toml)"]),
    ('[salesforce]\n', [SF_NO_CREDENTIALS]),
    ('[salesforce]\nusername = "u"\npassword = "p"\n',
     ["salesforce: username + password needs security_token (or consumer_key + "
      "consumer_secret)"]),
    ('[salesforce]\nconsumer_key = "k"\nconsumer_secret = "s"\n',
     ["salesforce: client credentials need the org's My Domain as domain"]),
    ('[salesforce]\nsession_id = "s"\n', ["salesforce: session_id needs instance_url"]),
    ('[salesforce]\nprivatekey_file = "k.pem"\n',
     ["salesforce: privatekey_file (JWT) needs username and consumer_key"]),
    ('[hubspot]\nclient_id = "c"\n',
     ["hubspot: no credentials: give access_token, or client_id + client_secret + "
      "refresh_token"]),
    ('[hubspot]\naccess_token = "t"\nhost = "api.hubapi.com"\n',
     ["hubspot.host: must start with https:// or http:// followed by a host"]),
    ('[salesforce]\nsession_id = "s"\ninstance_url = "ftp://x"\napi_version = "59"\n',
     ["salesforce.instance_url: must start with https:// or http:// followed by a host",
      "salesforce.api_version: must look like 59.0"]),
    ('[[funnel.stages]]\nid = "a"\n[[funnel.stages]]\nid = "b"\n'
     '[[funnel.stages]]\nid = "c"\nmax_days = 0\n',
     ["funnel.stages[2].max_days: must be greater than 0"]),
    ('[[funnel.stages]]\nid = "a"\n[[funnel.stages]]\nid = "a"\n',
     ["funnel.stages: stage id 'a' appears twice"]),
    ('[funnel]\nstages = []\n', ["funnel.stages: needs at least one stage"]),
    ('[[funnel.stages]]\nlabel = "no id"\n', ["funnel.stages[0].id: is required"]),
    ('[alerts]\nidle_days = "soon"\ncreate_tasks = "maybe"\n',
     ["alerts.idle_days: must be a valid integer, unable to parse string as an integer",
      "alerts.create_tasks: must be a valid boolean, unable to interpret input"]),
    ('[scoring]\nmql_threshold = 80\nsql_threshold = 70\n',
     ["scoring: sql_threshold must not be below mql_threshold"]),
    ('[limits]\nsalesforce_quota_share = 1.5\n',
     ["limits.salesforce_quota_share: must be less than or equal to 1"]),
    ('[[scoring.employee_bands]]\nmin = -1\n',
     ["scoring.employee_bands[0].min: must be greater than or equal to 0",
      "scoring.employee_bands[0].points: is required"]),
    ('[mapping.salesforce.opportunity_stage]\n"Technical Validation" = "validation"\n',
     ["mapping.salesforce.opportunity_stage.\"Technical Validation\": unknown funnel stage "
      f"'validation' {KNOWN}"]),
    ('[mapping.hubspot.deal_stages.2847561]\n"1190343" = "nope"\n',
     [f"mapping.hubspot.deal_stages.2847561.1190343: unknown funnel stage 'nope' {KNOWN}"]),
    ('[mapping.salesforce]\nstage_map = {}\n',
     ["mapping.salesforce.stage_map: unknown key (check the spelling; see "
      "config.example.toml)"]),
])
def test_every_problem_is_reported_with_its_path(text: str, problems: list[str]) -> None:
    assert problems_of(text) == problems


def test_all_problems_at_once_including_mapping() -> None:
    text = ('[salesforce]\n[hubspot]\naccess_token = "${HS_TOKEN}"\n'
            '[[funnel.stages]]\nid = "a"\n[[funnel.stages]]\nid = "b"\nmax_days = -3\n'
            '[mapping.hubspot.lifecycle_stage]\nother = "nope"\n')
    assert problems_of(text) == [
        "hubspot.access_token: environment variable HS_TOKEN is not set",
        SF_NO_CREDENTIALS,
        "funnel.stages[1].max_days: must be greater than 0",
    ]
    # With [funnel] valid, a bad mapping is listed alongside the other sections' problems.
    text = '[salesforce]\n[mapping.hubspot.lifecycle_stage]\nother = "nope"\n'
    assert problems_of(text) == [
        SF_NO_CREDENTIALS, f"mapping.hubspot.lifecycle_stage.other: unknown funnel stage "
                           f"'nope' {KNOWN}"]


def test_error_message_header_counts_problems() -> None:
    with pytest.raises(ConfigError) as caught:
        parse_config('colour = 1\nsize = 2\n', source="f.toml", environ={})
    assert str(caught.value) == (
        "f.toml: 2 problem(s) in the configuration\n"
        "  - colour: unknown key (check the spelling; see config.example.toml)\n"
        "  - size: unknown key (check the spelling; see config.example.toml)")
    assert caught.value.exit_code == 2


@pytest.mark.parametrize(("text", "message"), [
    ('[state]\nurl sqlite\n', "f.toml: invalid TOML: Expected '=' after a key in a key/value "
                              "pair (at line 2, column 5) (fix the syntax at that line and "
                              "column)"),
    ('[state]\nurl = "sqlite:///x.db\n', "f.toml: invalid TOML: Illegal character '\\n' (at "
                                         "line 2, column 22) (fix the syntax at that line and "
                                         "column)"),
])
def test_toml_syntax_errors_give_line_and_column(text: str, message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_config(text, source="f.toml", environ={})
    assert str(caught.value) == message


def test_env_refs_are_expanded_everywhere() -> None:
    config = parse_config('[hubspot]\naccess_token = "pat-${REGION}-${TOKEN}"\n'
                          '[state]\nurl = "sqlite:///${DIR}/state.db"\n'
                          '[[funnel.stages]]\nid = "${FIRST}"\n',
                          environ={"REGION": "eu1", "TOKEN": "abc", "DIR": "/var/lib",
                                   "FIRST": "top"})
    assert config.hubspot is not None and config.hubspot.access_token is not None
    assert config.hubspot.access_token.get_secret_value() == "pat-eu1-abc"
    assert config.state.url == "sqlite:////var/lib/state.db"
    assert config.funnel.stage_ids() == ["top"]


def test_unset_env_in_a_list_names_its_index() -> None:
    assert problems_of('[hubspot]\naccess_token = "t"\npipelines = ["default", "${PIPE}"]\n') \
        == ["hubspot.pipelines[1]: environment variable PIPE is not set"]


def test_secrets_never_appear_in_repr_str_or_errors() -> None:
    secret = "hunter2-Sup3rSecret"
    env = {"SF_PASSWORD": secret, "SF_TOKEN": secret, "HS": secret}
    text = ('[salesforce]\nusername = "u"\npassword = "${SF_PASSWORD}"\n'
            'security_token = "${SF_TOKEN}"\n[hubspot]\naccess_token = "${HS}"\n')
    config = parse_config(text, environ=env)
    assert secret not in repr(config) and secret not in str(config)
    assert secret not in config.model_dump_json()
    assert "**********" in repr(config.salesforce)
    with pytest.raises(ConfigError) as caught:
        parse_config(text + '[alerts]\nidle_days = "${SF_PASSWORD}"\n'
                            '[salesforce_extra]\nx = "${HS}"\n', environ=env)
    assert secret not in str(caught.value) and secret not in repr(caught.value)
    assert caught.value.problems == [
        "alerts.idle_days: must be a valid integer, unable to parse string as an integer",
        "salesforce_extra: unknown key (check the spelling; see config.example.toml)"]


@pytest.mark.parametrize(("text", "sources", "mode"), [
    ('[salesforce]\nusername = "u"\npassword = "p"\nsecurity_token = "t"\n', ["salesforce"],
     "password"),
    ('[salesforce]\nusername = "u"\npassword = "p"\nconsumer_key = "k"\n'
     'consumer_secret = "s"\n', ["salesforce"], "oauth_password"),
    ('[salesforce]\nconsumer_key = "k"\nconsumer_secret = "s"\ndomain = "acme"\n',
     ["salesforce"], "client_credentials"),
    ('[salesforce]\nusername = "u"\nconsumer_key = "k"\nprivatekey_file = "k.pem"\n',
     ["salesforce"], "jwt"),
    ('[salesforce]\nsession_id = "s"\ninstance_url = "http://127.0.0.1:8765/"\n',
     ["salesforce"], "session"),
])
def test_salesforce_only_configs(text: str, sources: list[str], mode: str) -> None:
    config = parse_config(text, environ={})
    assert config.sources() == sources
    assert config.salesforce is not None and config.salesforce.auth_mode() == mode
    assert config.hubspot is None


def test_hubspot_only_configs_and_local_host() -> None:
    config = parse_config('[hubspot]\nclient_id = "c"\nclient_secret = "s"\n'
                          'refresh_token = "r"\nhost = "http://127.0.0.1:9000/"\n', environ={})
    assert config.sources() == ["hubspot"]
    assert config.hubspot is not None
    assert (config.hubspot.auth_mode(), config.hubspot.host) == ("oauth",
                                                                 "http://127.0.0.1:9000")


def test_defaults_without_any_section() -> None:
    config = parse_config("", environ={})
    assert config.sources() == []
    assert config.state.url == "sqlite:///funnelsync.db"
    assert config.funnel.stage_ids() == ["awareness", "interest", "consideration", "intent",
                                         "decision", "purchase"]
    assert [s.max_days for s in config.funnel.stages] == [None, None, 14, 21, 14, None]
    assert config.funnel.lost_stage == "lost"
    assert (config.writeback.salesforce.stage_field, config.writeback.salesforce.score_field,
            config.writeback.hubspot.stage_property, config.writeback.hubspot.score_property) \
        == ("Funnel_Stage__c", "Funnel_Score__c", "funnel_stage", "funnel_score")
    assert (config.scoring.mql_threshold, config.scoring.sql_threshold) == (40, 70)
    assert (config.alerts.idle_days, config.limits.salesforce_quota_share) == (14, 0.8)
    assert config == AppConfig()


def test_load_config_paths(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("FUNNELSYNC_CONFIG", raising=False)
    assert load_config(required=False) == AppConfig()
    with pytest.raises(ConfigError) as caught:
        load_config()
    assert str(caught.value) == ("no configuration file found (pass -c FILE, set "
                                 "$FUNNELSYNC_CONFIG, or create ./funnelsync.toml (funnelsync "
                                 "init writes one))")
    with pytest.raises(ConfigError) as caught:
        load_config("missing.toml", required=False)
    assert str(caught.value) == ("cannot read configuration file missing.toml: No such file or "
                                 "directory (check the path given with -c)")
    (tmp_path / "other.toml").write_text('[state]\nurl = "sqlite:///other.db"\n')
    monkeypatch.setenv("FUNNELSYNC_CONFIG", str(tmp_path / "other.toml"))
    assert load_config().state.url == "sqlite:///other.db"
    monkeypatch.delenv("FUNNELSYNC_CONFIG")
    (tmp_path / "funnelsync.toml").write_text('[state]\nurl = "sqlite:///here.db"\n')
    assert load_config().state.url == "sqlite:///here.db"


def test_example_config_is_valid_and_says_what_it_documents(
        monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in EXAMPLE_ENV.items():
        monkeypatch.setenv(name, value)
    config = load_config(EXAMPLE)
    assert config.sources() == ["salesforce", "hubspot"]
    sf, hs = config.salesforce, config.hubspot
    assert sf is not None and hs is not None
    assert (sf.auth_mode(), sf.username, sf.domain, sf.api_version, sf.bulk_threshold) == \
        ("password", "integration@acme.example", "login", "59.0", 50000)
    assert sf.password is not None and sf.password.get_secret_value() == "pw-example"
    assert (hs.auth_mode(), hs.host, hs.pipelines) == ("token", "https://api.hubapi.com", None)
    assert config.mapping.salesforce.opportunity_stage == {"Technical Validation": "intent"}
    assert config.mapping.salesforce.lead_status == {"Nurturing": "interest"}
    assert config.mapping.hubspot.lifecycle_stage == {"other": "awareness"}
    assert config.mapping.hubspot.deal_stages == {"2847561": {
        "1190341": "consideration", "1190342": "consideration", "1190343": "intent",
        "1190344": "decision", "1190345": "purchase", "1190346": "lost"}}
    # Everything else in the example is the documented default.
    defaults = AppConfig()
    for section in ("state", "funnel", "scoring", "alerts", "writeback", "limits"):
        assert getattr(config, section) == getattr(defaults, section), section


def _keys(model: type[BaseModel], prefix: str = "") -> list[str]:
    keys: list[str] = []
    for name, info in model.model_fields.items():
        keys.append(f"{prefix}{name}")
        for arg in _model_args(info.annotation):
            keys += _keys(arg, f"{prefix}{name}.")
    return keys


def _model_args(annotation: Any) -> list[type[BaseModel]]:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    return [a for arg in getattr(annotation, "__args__", ()) for a in _model_args(arg)]


def test_example_documents_every_key_with_a_comment() -> None:
    text = EXAMPLE.read_text()
    tomllib.loads(text)
    missing = []
    for key in _keys(AppConfig):
        leaf = key.rsplit(".", 1)[-1]
        # Optional sections are documented commented out ("# [routing]", "# name = ...").
        table = re.search(rf"^(# )?\[+{re.escape(key)}[.\]]", text, re.M)
        line = re.search(rf"^(# )?{re.escape(leaf)} = .*#", text, re.M)
        if not (table or line):
            missing.append(key)
    assert missing == []
