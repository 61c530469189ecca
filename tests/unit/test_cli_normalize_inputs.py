"""`funnelsync normalize` on inputs as they come in the wild, through click's CliRunner:
wrappers around the records, HubSpot v1 pages, and the other CRM's records."""

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
