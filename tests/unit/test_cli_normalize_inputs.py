"""`funnelsync normalize` on inputs as they come in the wild, through click's CliRunner:
wrappers around the records, HubSpot v1 pages, the other CRM's records, and the encodings
Windows tools write (UTF-8 with a BOM, UTF-16) or a stray Latin-1 line."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from funnelsync.cli.main import main

SF_LEAD = {"attributes": {"type": "Lead", "url": "/services/data/v59.0/sobjects/Lead/00QA"},
           "Id": "00QA", "Email": "maria@acme.example", "Status": "Open - Not Contacted"}
HS_DEAL = {"id": "9001", "properties": {"dealname": "Acme", "dealstage": "contractsent",
                                        "pipeline": "default", "hs_object_id": "9001"},
           "createdAt": "2026-10-01T12:00:00.000Z", "updatedAt": "2026-11-21T09:30:12.345Z",
           "archived": False}
V1_DEALS_PAGE = {"deals": [
    {"portalId": 62515, "dealId": 18039629, "isDeleted": False,
     "properties": {"dealname": {"value": "Company", "timestamp": 1457040864519,
                                 "source": "API", "versions": []},
                    "dealstage": {"value": "closedwon", "timestamp": 1457040864519}},
     "imports": []},
    {"portalId": 62515, "dealId": 18039630, "isDeleted": True,
     "properties": {"dealstage": {"value": "appointmentscheduled"}}, "imports": []},
], "hasMore": False, "offset": 18039630}
V1_CONTACTS_PAGE = {"contacts": [
    {"vid": 204727, "canonical-vid": 204727, "merged-vids": [], "portal-id": 62515,
     "is-contact": True, "properties": {"firstname": {"value": "Bob"},
                                        "lifecyclestage": {"value": "lead"}},
     "form-submissions": [], "identity-profiles": [{"vid": 204727, "identities": [
         {"type": "EMAIL", "value": "bob@record.example", "is-primary": True}]}]},
], "has-more": False, "vid-offset": 204727}


def run(*args: str, stdin: str | bytes | None = None) -> Result:
    return CliRunner().invoke(main, ["normalize", *args], input=stdin)


def lines_of(result: Result) -> list[dict[str, Any]]:
    return [json.loads(line) for line in result.stdout.splitlines()]


@pytest.fixture(autouse=True)
def _no_ambient_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("FUNNELSYNC_CONFIG", raising=False)


def test_an_object_whose_one_list_holds_the_records() -> None:
    result = run("--source", "hubspot", "--object", "deal",
                 stdin=json.dumps({"deals": [HS_DEAL], "exportedAt": "2026-11-21"}))
    assert result.exit_code == 0
    assert [r["source_id"] for r in lines_of(result)] == ["9001"]
    assert result.stderr == "1 normalised, 0 rejected, 0 warning(s)\n"


def test_sosl_search_records() -> None:
    result = run("--source", "salesforce", "--object", "lead",
                 stdin=json.dumps({"searchRecords": [SF_LEAD]}))
    assert result.exit_code == 0
    assert [(r["source_id"], r["funnel_stage"]) for r in lines_of(result)] == [
        ("00QA", "awareness")]


def test_hubspot_v1_deals_page_maps() -> None:
    result = run("--source", "hubspot", "--object", "deal",
                 stdin=json.dumps(V1_DEALS_PAGE, indent=2))
    assert result.exit_code == 0
    assert [(r["source_id"], r["name"], r["stage"], r["is_closed"], r["is_won"], r["is_deleted"])
            for r in lines_of(result)] == [
        ("18039629", "Company", "closedwon", True, True, False),
        ("18039630", None, "appointmentscheduled", False, False, True)]
    assert result.stderr == "2 normalised, 0 rejected, 0 warning(s)\n"


def test_hubspot_v1_contacts_page_maps_one_page_per_line() -> None:
    result = run("--source", "hubspot", "--object", "lead",
                 stdin=json.dumps(V1_CONTACTS_PAGE) + "\n" + json.dumps(V1_CONTACTS_PAGE) + "\n")
    assert result.exit_code == 0
    assert [(r["source_id"], r["email"], r["funnel_stage"]) for r in lines_of(result)] == [
        ("204727", "bob@record.example", "awareness")] * 2


def test_v1_contacts_given_as_deals_are_rejected_by_name() -> None:
    result = run("--source", "hubspot", "--object", "deal", stdin=json.dumps(V1_CONTACTS_PAGE))
    assert result.exit_code == 1
    assert result.stderr.splitlines() == [
        "error: line 1 contacts[0]: hubspot deal (no id): this is a HubSpot v1 contact (vid "
        "204727), not a deal (map v1 contacts as contacts (normalize --object lead))",
        "0 normalised, 1 rejected, 0 warning(s)"]


@pytest.mark.parametrize(("args", "record", "message"), [
    (["--source", "salesforce", "--object", "deal"], V1_DEALS_PAGE["deals"][0],
     "a HubSpot v1 deal (dealId), not a salesforce record (map it with --source hubspot)"),
    (["--source", "salesforce", "--object", "deal"], HS_DEAL,
     "a HubSpot v3 object, not a salesforce record (map it with --source hubspot)"),
    (["--source", "hubspot", "--object", "lead"], SF_LEAD,
     "a Salesforce Lead row, not a hubspot record (map it with --source salesforce)"),
    (["--source", "hubspot", "--object", "deal"], {"deals": [], "contacts": []},
     "an object holding several lists (deals, contacts), not a record (pass the one list "
     "that holds the records)"),
])
def test_records_of_another_shape_are_rejected_by_name(
        args: list[str], record: dict[str, Any], message: str) -> None:
    result = run(*args, stdin=json.dumps(record) + "\n")
    assert result.exit_code == 1
    assert result.stderr.splitlines()[0] == f"error: line 1: {message}"
    assert "field id is missing" not in result.stderr
    assert "field Id is missing" not in result.stderr


def test_utf8_bom_json_lines_map_fully(tmp_path: Path) -> None:
    text = json.dumps(SF_LEAD) + "\n" + json.dumps({**SF_LEAD, "Id": "00QB"}) + "\n"
    (tmp_path / "leads.jsonl").write_bytes(b"\xef\xbb\xbf" + text.encode())
    result = run("--source", "salesforce", "--object", "lead", "leads.jsonl")
    assert result.exit_code == 0
    assert [r["source_id"] for r in lines_of(result)] == ["00QA", "00QB"]
    assert result.stderr == "2 normalised, 0 rejected, 0 warning(s)\n"


def test_utf8_bom_pretty_printed_page_maps_fully() -> None:
    page = json.dumps({"totalSize": 1, "done": True, "records": [SF_LEAD]}, indent=2)
    result = run("--source", "salesforce", "--object", "lead",
                 stdin=b"\xef\xbb\xbf" + page.encode())
    assert result.exit_code == 0
    assert [r["email"] for r in lines_of(result)] == ["maria@acme.example"]


@pytest.mark.parametrize("codec", ["utf-16", "utf-16-le"])
def test_utf16_json_lines_map_fully(tmp_path: Path, codec: str) -> None:
    deals = [{**HS_DEAL, "id": str(9001 + i), "properties": {
        **HS_DEAL["properties"], "dealname": f"Müller GmbH {i}"}} for i in range(3)]
    text = "\r\n".join(json.dumps(d, ensure_ascii=False) for d in deals) + "\r\n"
    (tmp_path / "deals.jsonl").write_bytes(text.encode(codec))
    result = run("--source", "hubspot", "--object", "deal", "deals.jsonl")
    assert result.exit_code == 0
    assert [r["name"] for r in lines_of(result)] == [
        "Müller GmbH 0", "Müller GmbH 1", "Müller GmbH 2"]
    assert result.stderr == "3 normalised, 0 rejected, 0 warning(s)\n"


def test_utf16_pretty_printed_page_maps_fully() -> None:
    page = json.dumps({"results": [HS_DEAL], "paging": {"next": {"after": "9002"}}}, indent=2)
    result = run("--source", "hubspot", "--object", "deal", stdin=page.encode("utf-16"))
    assert result.exit_code == 0
    assert [r["source_id"] for r in lines_of(result)] == ["9001"]


def test_one_latin1_line_is_rejected_with_its_number_and_the_rest_map(tmp_path: Path) -> None:
    good = [json.dumps({**SF_LEAD, "Id": f"00Q{i}"}).encode() for i in range(1, 4)]
    bad = json.dumps({**SF_LEAD, "Id": "00QX", "Company": "Caf\u00e9"}, ensure_ascii=False)
    data = b"\n".join([good[0], bad.encode("latin-1"), good[1], good[2]]) + b"\n"
    (tmp_path / "leads.jsonl").write_bytes(data)
    result = run("--source", "salesforce", "--object", "lead", "leads.jsonl")
    assert result.exit_code == 1
    assert [r["source_id"] for r in lines_of(result)] == ["00Q1", "00Q2", "00Q3"]
    column = bad.index("\u00e9") + 1
    assert result.stderr.splitlines() == [
        f"error: line 2: not valid UTF-8 (byte 0xe9 at column {column}); save the file as UTF-8",
        "3 normalised, 1 rejected, 0 warning(s)"]
    assert "Traceback" not in result.output


def test_a_latin1_first_line_does_not_lose_the_others() -> None:
    data = '{"Id": "00QX", "Company": "Ni\u00f1o"}'.encode("latin-1") + b"\n" + \
        json.dumps(SF_LEAD).encode() + b"\n"
    result = run("--source", "salesforce", "--object", "lead", stdin=data)
    assert result.exit_code == 1
    assert [r["source_id"] for r in lines_of(result)] == ["00QA"]
    assert result.stderr.splitlines()[0] == (
        "error: line 1: not valid UTF-8 (byte 0xf1 at column 30); save the file as UTF-8")


def test_a_latin1_line_in_a_pretty_printed_page_is_named() -> None:
    page = json.dumps({"records": [{**SF_LEAD, "Company": "Caf\u00e9"}]}, indent=2,
                      ensure_ascii=False)
    result = run("--source", "salesforce", "--object", "lead", stdin=page.encode("latin-1"))
    assert result.exit_code == 1
    assert result.stderr.splitlines() == [
        "error: line 11: not valid UTF-8 (byte 0xe9 at column 22); save the file as UTF-8",
        "error: line 12 column 5: not valid JSON: Expecting property name enclosed in double "
        "quotes",
        "0 normalised, 2 rejected, 0 warning(s)"]
    assert "Traceback" not in result.output


def test_utf16_pipelines_file_fills_labels(tmp_path: Path) -> None:
    pipelines = {"results": [{"id": "default", "stages": [
        {"id": "contractsent", "label": "Vertrag verschickt", "displayOrder": 4,
         "metadata": {"isClosed": "false", "probability": "0.9"}}]}]}
    (tmp_path / "pipes.json").write_bytes(json.dumps(pipelines).encode("utf-16"))
    result = run("--source", "hubspot", "--object", "deal", "--pipelines", "pipes.json",
                 stdin=json.dumps(HS_DEAL) + "\n")
    assert result.exit_code == 0
    assert [(r["stage_label"], r["probability"]) for r in lines_of(result)] == [
        ("Vertrag verschickt", 90.0)]


def test_undecodable_pipelines_file_is_a_usage_error(tmp_path: Path) -> None:
    (tmp_path / "pipes.json").write_bytes(b'{"results": [{"id": "d\xe9fault"}]}')
    result = run("--source", "hubspot", "--object", "deal", "--pipelines", "pipes.json",
                 stdin="")
    assert result.exit_code == 2
    assert result.stderr == (
        "error: cannot read the pipelines file: line 1: not valid UTF-8 (byte 0xe9 at column "
        "23) (save the file as UTF-8; save the JSON answer of GET /crm/v3/pipelines/deals)\n")


def test_a_lone_surrogate_escape_rejects_its_record_and_the_rest_map() -> None:
    # "\ud800" is valid JSON but half a character: no UTF-8 output can carry it.
    broken = json.dumps({**SF_LEAD, "Id": "00QX", "Company": "Acme"}).replace(
        '"Acme"', '"Acme \\ud800"')
    lines = [json.dumps(SF_LEAD), broken, json.dumps({**SF_LEAD, "Id": "00QB"})]
    result = run("--source", "salesforce", "--object", "lead", stdin="\n".join(lines) + "\n")
    assert result.exit_code == 1
    assert [r["source_id"] for r in lines_of(result)] == ["00QA", "00QB"]
    assert result.stderr.splitlines() == [
        "error: line 2: salesforce record 00QX: field company holds a lone surrogate (half of "
        "a UTF-16 pair, e.g. the escape \\ud800), which is not text; fix it in the input",
        "2 normalised, 1 rejected, 0 warning(s)"]
