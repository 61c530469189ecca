"""The sandbox's control surface: stats, faults, reset, touch, determinism, CLI and config."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from click.testing import CliRunner
from hubspot import HubSpot
from hubspot.crm.deals import PublicObjectSearchRequest
from sfclient import salesforce_client
from simple_salesforce.exceptions import SalesforceGeneralError
from support.clock import SANDBOX_START, FakeClock

from funnelsync.cli.main import main
from funnelsync.sandbox import Sandbox
from funnelsync.sandbox.control import config_toml


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    with Sandbox(seed=7, leads=300, deals=300, clock=FakeClock(SANDBOX_START)) as sb:
        yield sb


def test_stats_shape(sandbox: Sandbox) -> None:
    stats = requests.get(f"{sandbox.url}/__sandbox/stats", timeout=5).json()
    sf, hs = stats["salesforce"], stats["hubspot"]
    assert (sf["api_calls"], sf["records_written"], sf["tasks_created"]) == (0, 0, 0)
    assert (sf["counts"]["Lead"], sf["counts"]["Opportunity"]) == (286, 292)
    assert (sf["deleted"]["Lead"], sf["deleted"]["Opportunity"]) == (14, 8)
    assert (hs["counts"]["contacts"], hs["counts"]["deals"]) == (294, 292)
    assert (hs["archived"]["contacts"], hs["archived"]["deals"]) == (6, 8)
    assert stats["shared_people"] == 87


def test_shared_people_match_emails_across_crms(sandbox: Sandbox) -> None:
    data = sandbox.state.data
    sf_raw = {r["Email"] for r in data.sf["Lead"].values() if not r["IsDeleted"]}
    sf = {e.strip().lower() for e in sf_raw}
    hs_raw = [r["properties"]["email"] for r in data.hs["contacts"].values()
              if not r["archived"]]
    hs = {e.strip().lower() for e in hs_raw}
    assert len(sf & hs) == sandbox.stats()["shared_people"]
    assert any(e != e.strip() for e in hs_raw)  # some differ by whitespace
    assert not sf_raw & set(hs_raw)  # and every shared one by case


def test_faults_appear_at_about_the_set_rate(sandbox: Sandbox) -> None:
    requests.post(f"{sandbox.url}/__sandbox/faults", json={"fail_rate": 0.2}, timeout=5)
    headers = {"Authorization": "Bearer pat-demo"}
    codes = [requests.get(f"{sandbox.url}/crm/v3/objects/deals?limit=1", headers=headers,
                          timeout=5).status_code for _ in range(200)]
    failures = [c for c in codes if c != 200]
    assert len(failures) == 43  # 21.5% for a rate of 20%
    assert set(failures) == {500, 503, 504}
    assert requests.get(f"{sandbox.url}/__sandbox/stats", timeout=5).status_code == 200
    stats = sandbox.stats()["hubspot"]
    assert (stats["faults_injected"], stats["api_calls"]) == (43, 200)


def test_faults_hit_salesforce_clients_and_row_locks(sandbox: Sandbox) -> None:
    sf = salesforce_client(sandbox.url)
    sandbox.set_faults(fail_rate=1.0)
    with pytest.raises(SalesforceGeneralError) as info:
        sf.query("SELECT Id FROM Lead LIMIT 1")
    assert info.value.status in (500, 503, 504)
    opp = next(iter(sandbox.state.data.sf["Opportunity"]))
    locked = []
    for _ in range(10):
        try:
            rows = sf.restful("composite/sobjects", method="PATCH", json={"records": [
                {"attributes": {"type": "Opportunity"}, "id": opp, "Funnel_Score__c": 5}] * 4})
        except SalesforceGeneralError:
            continue
        locked += [e["statusCode"] for r in rows for e in r["errors"]]
    assert locked and set(locked) == {"UNABLE_TO_LOCK_ROW"}


def test_reset_restores_seed_data_and_counters(sandbox: Sandbox) -> None:
    hs = HubSpot(access_token="pat-demo", host=sandbox.url)
    hs.crm.deals.basic_api.get_page(limit=1)
    sandbox.touch("hubspot", "deals", 5)
    assert requests.post(f"{sandbox.url}/__sandbox/reset", timeout=5).json() == {"reset": True}
    again = Sandbox(seed=7, leads=300, deals=300, clock=FakeClock(SANDBOX_START)).state
    assert sandbox.state.data.hs["deals"] == again.data.hs["deals"]
    assert sandbox.stats()["hubspot"]["api_calls"] == 0


def test_same_seed_same_data_other_seed_other_data() -> None:
    first = Sandbox(seed=11, leads=200, deals=200, clock=FakeClock(SANDBOX_START)).state.data
    second = Sandbox(seed=11, leads=200, deals=200, clock=FakeClock(SANDBOX_START)).state.data
    other = Sandbox(seed=12, leads=200, deals=200, clock=FakeClock(SANDBOX_START)).state.data
    assert first.sf["Opportunity"] == second.sf["Opportunity"]
    assert first.sf["OpportunityHistory"] == second.sf["OpportunityHistory"]
    assert first.hs["contacts"] == second.hs["contacts"]
    assert first.sf["Lead"] != other.sf["Lead"]


def test_touch_salesforce_is_seen_by_an_incremental_query(sandbox: Sandbox) -> None:
    sandbox.state.clock.now += 30  # type: ignore[attr-defined]
    changed = requests.post(f"{sandbox.url}/__sandbox/touch", json={
        "crm": "salesforce", "object": "Opportunity", "count": 7}, timeout=5).json()
    assert changed["modified_at"] == "2026-11-23T12:00:30.000+0000"
    sf = salesforce_client(sandbox.url)
    rows = sf.query_all("SELECT Id FROM Opportunity WHERE SystemModstamp >= "
                        "2026-11-23T12:00:30.000+0000")["records"]
    assert sorted(r["Id"] for r in rows) == sorted(changed["ids"])


def test_touch_hubspot_is_seen_by_search(sandbox: Sandbox) -> None:
    sandbox.state.clock.now += 45  # type: ignore[attr-defined]
    changed = sandbox.touch("hubspot", "deals", 9)
    assert changed["modified_at"] == "2026-11-23T12:00:45.000Z"
    hs = HubSpot(access_token="pat-demo", host=sandbox.url)
    found = hs.crm.deals.search_api.do_search(PublicObjectSearchRequest(filter_groups=[
        {"filters": [{"propertyName": "hs_lastmodifieddate", "operator": "GTE",
                      "value": "2026-11-23T12:00:45.000Z"}]}], limit=100))
    assert sorted(r.id for r in found.results) == sorted(changed["ids"])


def test_describe_answers_not_modified_until_an_admin_adds_a_stage(sandbox: Sandbox) -> None:
    sf = salesforce_client(sandbox.url)
    since = {"If-Modified-Since": "Mon, 23 Nov 2026 12:00:00 GMT"}
    assert sf.restful("sobjects/Opportunity/describe")["name"] == "Opportunity"
    with pytest.raises(SalesforceGeneralError) as before:
        sf.restful("sobjects/Opportunity/describe", headers=since)
    assert (before.value.status, before.value.content) == (304, "")
    sandbox.state.clock.now += 30  # type: ignore[attr-defined]

    added = requests.post(f"{sandbox.url}/__sandbox/stage", json={
        "crm": "salesforce", "label": "Security Review", "probability": 65, "count": 4},
        timeout=5).json()

    assert sf.restful("sobjects/Opportunity/describe", headers=since)["name"] == "Opportunity"
    with pytest.raises(SalesforceGeneralError) as lead:
        sf.restful("sobjects/Lead/describe", headers=since)
    with pytest.raises(SalesforceGeneralError) as after:  # asked at the change: not modified
        sf.restful("sobjects/Opportunity/describe",
                   headers={"If-Modified-Since": "Mon, 23 Nov 2026 12:00:30 GMT"})
    assert (lead.value.status, after.value.status) == (304, 304)
    stages = sf.query("SELECT ApiName, SortOrder FROM OpportunityStage WHERE "
                      "ApiName = 'Security Review'")["records"]
    assert [(r["ApiName"], r["SortOrder"]) for r in stages] == [("Security Review", 12)]
    moved = sf.query_all("SELECT Id FROM Opportunity WHERE StageName = 'Security Review'")
    assert sorted(r["Id"] for r in moved["records"]) == sorted(added["ids"])
    history = sf.query_all("SELECT OpportunityId FROM OpportunityHistory WHERE "
                           "StageName = 'Security Review'")["records"]
    assert sorted(r["OpportunityId"] for r in history) == sorted(added["ids"])
    assert added["modified_at"] == "2026-11-23T12:00:30.000+0000"


def test_a_stage_added_to_hubspot_is_in_its_pipeline_and_its_deals(sandbox: Sandbox) -> None:
    added = sandbox.add_stage("hubspot", "Security Review", 65, count=2)

    hs = HubSpot(access_token="pat-demo", host=sandbox.url)
    pipeline = hs.crm.pipelines.pipelines_api.get_by_id("deals", "default")
    assert [(s.id, s.label) for s in pipeline.stages][-1] == ("1190400", "Security Review")
    entered = "hs_v2_date_entered_1190400"
    for deal_id in added["ids"]:  # type: ignore[union-attr]
        deal = hs.crm.deals.basic_api.get_by_id(deal_id, properties=["dealstage", entered])
        assert deal.properties["dealstage"] == "1190400"
        assert deal.properties[entered] == "2026-11-23T12:00:00.000Z"
    refused = requests.post(f"{sandbox.url}/__sandbox/stage", json={
        "crm": "hubspot", "label": "", "count": 1}, timeout=5)
    assert refused.status_code == 400


def test_config_out_passes_config_check(tmp_path: Path) -> None:
    path = tmp_path / "sandbox.toml"
    path.write_text(config_toml("http://127.0.0.1:8765", path), encoding="utf-8")
    result = CliRunner().invoke(main, ["config", "check", "-c", str(path)])
    assert result.exit_code == 0, result.output
    assert f"sqlite:///{tmp_path.as_posix()}/funnelsync.db" in result.output
    assert 'team = "inbound"' in path.read_text(encoding="utf-8")


def test_cli_prints_one_line_and_stops_on_sigterm(tmp_path: Path) -> None:
    out = tmp_path / "cfg.toml"
    proc = subprocess.Popen(
        [sys.executable, "-c", "from funnelsync.cli.main import main; main()", "sandbox",
         "--leads", "50", "--deals", "50", "--config-out", str(out)],
        stdout=subprocess.PIPE, text=True, env={**os.environ, "PYTHONUNBUFFERED": "1"})
    try:
        line = proc.stdout.readline().strip()  # type: ignore[union-attr]
        assert line.startswith("sandbox listening on http://127.0.0.1:")
        url = line.rsplit(" ", 1)[1]
        stats = requests.get(f"{url}/__sandbox/stats", timeout=5).json()
        assert stats["salesforce"]["counts"]["Lead"] > 40
        assert f'host = "{url}"' in out.read_text(encoding="utf-8")
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=10) == 0
    assert proc.stdout.read() == ""  # type: ignore[union-attr]
    assert json.loads(json.dumps(stats))["hubspot"]["api_calls"] == 0
