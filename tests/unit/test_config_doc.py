"""The generated config documentation: the README reference, and the commented config."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from funnelsync.cli.main import main
from funnelsync.config.loading import parse_config
from funnelsync.config.models import AppConfig
from funnelsync.config.reference import (
    REFERENCE_END,
    REFERENCE_START,
    init_config,
    render_config,
    render_reference,
    replace_between_markers,
    toml_value,
    type_name,
)

README = Path(__file__).resolve().parents[2] / "README.md"


def test_readme_reference_is_the_generated_text() -> None:
    text = README.read_text(encoding="utf-8")
    between = text.split(REFERENCE_START, 1)[1].split(REFERENCE_END, 1)[0]
    assert between == "\n" + render_reference(), (
        "README.md's configuration reference is stale: run "
        "`funnelsync config reference --write README.md`")


def test_reference_has_a_row_per_key_with_type_and_default() -> None:
    text = render_reference()
    assert "| `api_version` | string | `\"59.0\"` | REST API version, e.g. 59.0. |" in text
    assert "| `password` | secret string | – | Password of `username`. |" in text
    assert ("| `deal_stages` | table: key → table: key → string | `{}` | Pipeline id → "
            "{deal stage id → funnel stage id}. |") in text
    assert ("### `[[funnel.stages]]`\n\nOne stage of the ordered funnel. Ordered stages, first "
            "to last. Default: `awareness`, `interest`, `consideration`, `intent`, `decision`, "
            "`purchase`.") in text


def test_every_default_written_live_parses_back_to_the_defaults() -> None:
    assert parse_config(render_config(live_defaults=True)) == AppConfig()


def test_init_text_parses_to_the_defaults_with_no_crm() -> None:
    config = parse_config(init_config())
    assert config == AppConfig() and config.sources() == []


def test_sandbox_init_points_both_crms_at_the_url() -> None:
    config = parse_config(init_config("http://127.0.0.1:9999", "sqlite:///x.db"))
    assert config.salesforce is not None and config.hubspot is not None
    assert (config.salesforce.login_url, config.hubspot.host) == ("http://127.0.0.1:9999",) * 2
    assert config.salesforce.auth_mode() == "password"
    assert config.state.url == "sqlite:///x.db"
    assert config.limits.hubspot_requests_per_10s == 10_000


def test_commented_config_shows_descriptions_and_examples() -> None:
    text = init_config()
    assert "## REST API version, e.g. 59.0.\n# api_version = \"59.0\"\n" in text
    assert "# [salesforce]\n" in text and "\n[state]\n" in text
    assert '# password = "${SF_PASSWORD}"\n' in text
    assert '# lead_status = { "Working - Contacted" = "interest" }\n' in text


def test_toml_values_and_type_names() -> None:
    assert toml_value({"Closed Won": "purchase", "x": [1, 2.5, True]}) == \
        '{ "Closed Won" = "purchase", x = [1, 2.5, true] }'
    assert toml_value('say "hi"') == '"say \\"hi\\""'
    assert type_name(list[str] | None) == "list of string"


def test_replace_between_markers_keeps_the_rest() -> None:
    text = f"a\n{REFERENCE_START}\nold\n{REFERENCE_END}\nb\n"
    assert replace_between_markers(text, "new\n") == \
        f"a\n{REFERENCE_START}\nnew\n{REFERENCE_END}\nb\n"


def test_config_reference_command(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["config", "reference"])
    assert (result.exit_code, result.stdout) == (0, render_reference())
    doc = tmp_path / "DOC.md"
    doc.write_text(f"# x\n{REFERENCE_START}\nstale\n{REFERENCE_END}\n")
    result = CliRunner().invoke(main, ["config", "reference", "--write", str(doc)])
    assert result.exit_code == 0
    assert doc.read_text() == f"# x\n{REFERENCE_START}\n{render_reference()}{REFERENCE_END}\n"
