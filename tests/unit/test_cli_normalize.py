"""`funnelsync normalize` through click's CliRunner: output, stderr reports and exit codes."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from funnelsync.cli.main import main

SF_WARNING = ("warning: records[3]: salesforce opportunity 0065g00000Ab004AAA: stage "
              "'Technical Validation' is not mapped; add it under "
              "[mapping.salesforce.opportunity_stage]")


def run(*args: str, stdin: str | None = None) -> Result:
    return CliRunner().invoke(main, ["normalize", *args], input=stdin)


def lines_of(result: Result) -> list[dict[str, Any]]:
    return [json.loads(line) for line in result.stdout.splitlines()]


@pytest.fixture(autouse=True)
def _no_ambient_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("FUNNELSYNC_CONFIG", raising=False)


def test_salesforce_sample_page() -> None:
    result = run("--sample", "salesforce-deals")
    assert result.exit_code == 0
    records = lines_of(result)
    assert [r["source_id"][-6:] for r in records] == ["001AAA", "002AAA", "003AAA", "004AAA",
                                                      "005AAA", "006AAA", "007AAA"]
    assert [r["funnel_stage"] for r in records] == ["decision", "decision", "consideration",
                                                    None, "purchase", "lost", "consideration"]
    assert records[0]["owner_name"] == "Dana Kim" and records[0]["amount"] == "48000.0"
    assert (records[2]["amount"], records[5]["owner_name"], records[6]["is_deleted"]) == \
        (None, None, True)
    assert records[0]["extra"]["live"] == {"stage": "intent", "score": None}
    assert result.stderr == f"{SF_WARNING}\n7 normalised, 0 rejected, 1 warning(s)\n"


def test_config_maps_the_custom_stage(tmp_path: Path) -> None:
    (tmp_path / "f.toml").write_text('[mapping.salesforce.opportunity_stage]\n'
                                     '"Technical Validation" = "intent"\n')
    result = run("--sample", "salesforce-deals", "-c", "f.toml")
    assert result.exit_code == 0
    assert lines_of(result)[3]["funnel_stage"] == "intent"
    assert result.stderr == "7 normalised, 0 rejected, 0 warning(s)\n"


def test_default_config_file_in_the_working_directory_is_used(tmp_path: Path) -> None:
    (tmp_path / "funnelsync.toml").write_text('[mapping.salesforce.opportunity_stage]\n'
                                              '"Technical Validation" = "decision"\n')
    assert lines_of(run("--sample", "salesforce-deals"))[3]["funnel_stage"] == "decision"


def test_hubspot_samples_use_the_bundled_pipelines() -> None:
    result = run("--sample", "hubspot-deals")
    assert result.exit_code == 0
    deals = lines_of(result)
    assert [(d["source_id"], d["stage_label"], d["funnel_stage"]) for d in deals] == [
        ("9001", "Contract Sent", "decision"), ("9002", "Decision Maker Bought-In", "intent"),
        ("9003", "Appointment Scheduled", "consideration"), ("9004", "Proposal", None),
        ("9005", "Closed Won", "purchase"), ("9006", "Closed Lost", "lost")]
    assert result.stderr == (
        "warning: line 4: hubspot deal 9004: stage '1190343' (Proposal) in pipeline '2847561' "
        "is not mapped; add it under [mapping.hubspot.deal_stages.2847561]\n"
        "6 normalised, 0 rejected, 1 warning(s)\n")
    contacts = run("--sample", "hubspot-contacts")
    assert [c["employees"] for c in lines_of(contacts)] == [1200, 25, 1000, None]
    leads = run("--sample", "salesforce-leads")
    assert [r["email"] for r in lines_of(leads)][:1] == ["maria.lopez@acme.example"]
    assert leads.stderr.splitlines()[0] == (
        "warning: line 4: salesforce lead 00Q5g00000Ld004AAA: status 'Nurturing' is not "
        "mapped; add it under [mapping.salesforce.lead_status]")


def test_json_lines_with_bad_records_exit_1_and_keep_the_rest() -> None:
    stdin = "\n".join([
        json.dumps({"id": "1", "properties": {"dealstage": "closedwon", "amount": "1,200.50"}}),
        '{"id": "2", "properties": ',
        "",
        json.dumps({"properties": {"dealname": "no id"}}),
        json.dumps({"id": "4", "properties": {"amount": "abc", "dealstage": "qualifiedtobuy"}}),
    ]) + "\n"
    result = run("--source", "hubspot", "--object", "deal", "-", stdin=stdin)
    assert result.exit_code == 1
    assert [(r["source_id"], r["amount"]) for r in lines_of(result)] == [("1", "1200.50"),
                                                                         ("4", None)]
    assert result.stderr.splitlines() == [
        "error: line 2: not valid JSON: Expecting value (column 26)",
        "error: line 4: hubspot deal (no id): field id is missing; every record needs its id "
        "(include id in the fields you request)",
        "warning: line 5: hubspot deal 4: amount 'abc' is not a number; using null",
        "2 normalised, 2 rejected, 1 warning(s)",
    ]


def test_broken_first_line_does_not_lose_the_others() -> None:
    stdin = '{"Id": \n' + json.dumps({"Id": "00QB", "Status": "Open - Not Contacted"}) + "\n"
    result = run("--source", "salesforce", "--object", "lead", stdin=stdin)
    assert result.exit_code == 1
    assert [r["funnel_stage"] for r in lines_of(result)] == ["awareness"]
    assert result.stderr.splitlines()[0] == ("error: line 1: not valid JSON: Expecting value "
                                             "(column 7)")


def test_api_page_on_one_line_and_json_array(tmp_path: Path) -> None:
    page = {"results": [{"id": "7", "properties": {"email": " A@B.example "}, "archived": True}],
            "paging": {"next": {"after": "8"}}}
    (tmp_path / "page.json").write_text(json.dumps(page))
    result = run("--source", "hubspot", "--object", "lead", "page.json")
    assert result.exit_code == 0
    assert [(r["email"], r["is_deleted"]) for r in lines_of(result)] == [("a@b.example", True)]
    array = json.dumps([{"Id": "006X", "Amount": "12", "StageName": "Prospecting"}, "oops"],
                       indent=2)
    result = run("--source", "salesforce", "--object", "deal", stdin=array)
    assert result.exit_code == 1
    assert [r["amount"] for r in lines_of(result)] == ["12"]
    assert result.stderr.splitlines()[0] == (
        "error: [1]: salesforce opportunity (no id): record is a str, not a JSON object (pass "
        "the raw records exactly as the API returns them)")


def test_broken_pretty_printed_page_reports_line_and_column() -> None:
    result = run("--source", "salesforce", "--object", "deal",
                 stdin='{\n  "records": [\n    {"Id": "006A",}\n  ]\n}\n')
    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr.splitlines()[0] == ("error: line 3 column 19: not valid JSON: Expecting "
                                             "property name enclosed in double quotes")


def test_pipelines_option_fills_labels(tmp_path: Path) -> None:
    pipelines = {"results": [{"id": "p1", "stages": [
        {"id": "s1", "label": "Demo", "displayOrder": 0,
         "metadata": {"isClosed": "false", "probability": "0.3"}}]}]}
    (tmp_path / "pipes.json").write_text(json.dumps(pipelines))
    deal = json.dumps({"id": "5", "properties": {"pipeline": "p1", "dealstage": "s1"}})
    result = run("--source", "hubspot", "--object", "deal", "--pipelines", "pipes.json",
                 stdin=deal + "\n")
    assert result.exit_code == 0
    assert [(r["stage_label"], r["probability"]) for r in lines_of(result)] == [("Demo", 30.0)]
    (tmp_path / "bad.json").write_text("[1]")
    bad = run("--source", "hubspot", "--object", "deal", "--pipelines", "bad.json", stdin="")
    assert bad.exit_code == 2
    assert bad.stderr == ("error: cannot read the pipelines file: hubspot pipeline (no id): "
                          "record is a int, not a JSON object (pass the raw records exactly as "
                          "the API returns them) (save the JSON answer of GET "
                          "/crm/v3/pipelines/deals)\n")


@pytest.mark.parametrize(("args", "message"), [
    ([], "give --source and --object (or --sample)"),
    (["--source", "hubspot"], "give --source and --object (or --sample)"),
    (["--sample", "salesforce-deals", "--source", "hubspot"],
     "--sample replaces --source, --object and INPUT"),
    (["--sample", "salesforce-deals", "-"], "--sample replaces --source, --object and INPUT"),
    (["--source", "zoho", "--object", "deal"], "'zoho' is not one of 'salesforce', 'hubspot'"),
    (["--source", "hubspot", "--object", "deal", "missing.jsonl"], "'missing.jsonl': No such "
                                                                  "file or directory"),
])
def test_usage_errors_exit_2(args: list[str], message: str) -> None:
    result = run(*args, stdin="")
    assert result.exit_code == 2
    assert message in result.stderr


def test_config_errors_exit_2(tmp_path: Path) -> None:
    (tmp_path / "bad.toml").write_text("[salesforce]\nusername = 'u'\n")
    result = run("--sample", "salesforce-deals", "-c", "bad.toml")
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr == (
        "error: bad.toml: 1 problem(s) in the configuration\n"
        "  - salesforce: no credentials: give username + password + security_token, "
        "consumer_key + consumer_secret, privatekey_file, or session_id + instance_url\n")
