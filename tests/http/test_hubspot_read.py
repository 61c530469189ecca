"""HubSpot reads against a strict fake portal: lists, archived, search past the 10,000 cap."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
from hubspot_portal import BASE_MS, Portal, PortalServer, make_connector
from support.clock import FakeClock

from funnelsync.connectors.hubspot.search import SearchState

SINCE = datetime.fromtimestamp(BASE_MS / 1000, tz=UTC)
STAGE_PROPS = ["hs_v2_date_entered_appointmentscheduled", "hs_v2_date_entered_contractsent",
               "hs_v2_date_entered_closedwon", "hs_v2_date_entered_1190341",
               "hs_v2_date_entered_1190345"]


@pytest.fixture
def site(portal_server: PortalServer) -> tuple[Portal, str]:
    return portal_server.fresh()


def ids_of(pages: list) -> list[str]:
    return [r["id"] for p in pages for r in p.records]


def test_full_load_lists_live_then_archived_with_only_needed_properties(site):
    portal, host = site
    for i in range(1, 251):
        portal.add("deals", i, BASE_MS + i, dealname=f"D{i}", dealstage="contractsent")
    for i in (300, 301, 302):
        portal.add("deals", i, BASE_MS, archived_ms=BASE_MS + 5)
    hs = make_connector(host, FakeClock(), properties={"deals": ["dealname"]})

    pages = list(hs.iter_pages("deals"))

    assert [len(p.records) for p in pages] == [100, 100, 50, 3]
    assert [p.resume for p in pages] == ["live:101", "live:201", "archived:", "end"]
    assert [p.cursor for p in pages] == [None, None, None, None]
    assert pages[0].records[0]["properties"]["dealname"] == "D1"
    assert [(r["id"], r["archived"]) for r in pages[3].records] == [
        ("300", True), ("301", True), ("302", True)]
    lists = portal.calls("GET", "/crm/v3/objects/deals")
    assert [c["args"]["archived"] for c in lists] == [["false"]] * 3 + [["true"]]
    assert lists[0]["args"]["limit"] == ["100"]
    assert lists[0]["args"]["properties"] == [",".join(
        ["dealname", "hs_lastmodifieddate", "hs_object_id", "createdate", "dealstage",
         "pipeline", *STAGE_PROPS])]
    assert lists[1]["args"]["after"] == ["101"]
    assert hs.usage.api_calls == 5
    assert hs.usage.by_kind == {"pipelines": 1, "list": 4}
    assert hs.usage.records == 253


def test_full_load_resumes_after_the_given_page(site):
    portal, host = site
    for i in range(1, 251):
        portal.add("contacts", i, BASE_MS + i, email=f"p{i}@x.io")
    portal.add("contacts", 400, BASE_MS, archived_ms=BASE_MS)
    hs = make_connector(host, FakeClock())

    first = next(hs.iter_pages("leads"))
    rest = list(hs.iter_pages("leads", resume=first.resume))

    assert first.resume == "live:101"
    assert ids_of(rest) == [str(i) for i in range(101, 251)] + ["400"]
    assert list(hs.iter_pages("leads", resume="end")) == []


def test_contacts_search_on_lastmodifieddate(site):
    portal, host = site
    portal.add("contacts", 1, BASE_MS + 10, email="a@x.io")
    hs = make_connector(host, FakeClock(), archived_on_incremental=False)

    pages = list(hs.iter_pages("leads", since=SINCE))

    assert ids_of(pages) == ["1"]
    body = portal.calls("POST", "/crm/v3/objects/contacts/search")[0]["json"]
    assert body["filterGroups"] == [{"filters": [
        {"propertyName": "lastmodifieddate", "operator": "GTE", "value": str(BASE_MS)}]}]
    assert body["sorts"] == [{"propertyName": "lastmodifieddate", "direction": "ASCENDING"}]
    assert body["limit"] == 200
    assert pages[0].cursor == datetime.fromtimestamp((BASE_MS + 10) / 1000, tz=UTC)
    assert pages[0].resume == "end"


def test_incremental_passes_10000_results_without_hitting_the_cap(site):
    portal, host = site
    for i in range(1, 10_451):
        portal.add("deals", i, BASE_MS + i)
    hs = make_connector(host, FakeClock(), archived_on_incremental=False)

    pages = list(hs.iter_pages("deals", since=SINCE))

    got = ids_of(pages)
    assert len(got) == 10_450
    assert set(got) == {str(i) for i in range(1, 10_451)}
    searches = portal.calls("POST", "/crm/v3/objects/deals/search")
    assert all(int(c["json"]["after"]) + c["json"]["limit"] <= 10_000 for c in searches)
    assert len(searches) == 53  # ceil(10450 / 199): one boundary record re-read per page
    cursors = [p.cursor for p in pages]
    assert cursors == sorted(cursors)
    assert cursors[-1] == datetime.fromtimestamp((BASE_MS + 10_450) / 1000, tz=UTC)


def test_more_than_10000_records_sharing_one_timestamp_complete_once(site):
    portal, host = site
    tie = BASE_MS + 100
    stamps = [BASE_MS + i for i in range(1, 31)] + [tie] * 10_250 + [tie + i for i in range(1, 41)]
    for rid, ms in enumerate(stamps, start=1):
        portal.add("deals", rid, ms)
    hs = make_connector(host, FakeClock(), archived_on_incremental=False)

    got = ids_of(list(hs.iter_pages("deals", since=SINCE)))

    assert len(got) == 10_320
    assert Counter(got).most_common(1)[0][1] == 1
    searches = [c["json"] for c in portal.calls("POST", "/crm/v3/objects/deals/search")]
    split = [s for s in searches if s["sorts"][0]["propertyName"] == "hs_object_id"]
    assert split[0]["filterGroups"][0]["filters"] == [
        {"propertyName": "hs_lastmodifieddate", "operator": "EQ", "value": str(tie)},
        {"propertyName": "hs_object_id", "operator": "GT", "value": "0"}]
    after_split = searches[len(searches) - 1]["filterGroups"][0]["filters"]
    assert after_split == [{"propertyName": "hs_lastmodifieddate", "operator": "GT",
                            "value": str(tie)}]
    assert len(searches) <= 10_320 // 200 + 4


def test_ties_in_random_order_across_page_boundaries_lose_nothing(site):
    portal, host = site
    for i in range(1, 1_001):
        portal.add("deals", i, BASE_MS + i // 7)  # groups of 7 sharing a timestamp
    hs = make_connector(host, FakeClock(), archived_on_incremental=False)

    got = ids_of(list(hs.iter_pages("deals", since=SINCE)))

    assert sorted(got, key=int) == [str(i) for i in range(1, 1_001)]


def test_record_modified_mid_pull_is_neither_skipped_nor_blocking(site):
    portal, host = site
    for i in range(1, 601):
        portal.add("deals", i, BASE_MS + i)

    def touch_early_record(p: Portal) -> None:
        if len(p.calls("POST", "/crm/v3/objects/deals/search")) == 2:
            p.touch("deals", 50, BASE_MS + 5_000)  # moves to the end of the result set

    portal.after_search = touch_early_record
    hs = make_connector(host, FakeClock(), archived_on_incremental=False)

    got = ids_of(list(hs.iter_pages("deals", since=SINCE)))

    assert set(got) == {str(i) for i in range(1, 601)}
    assert Counter(got)["50"] == 2  # read before and after its change


def test_incremental_deletions_are_archived_records_since_the_watermark(site):
    portal, host = site
    portal.add("deals", 1, BASE_MS + 1)
    portal.add("deals", 2, BASE_MS, archived_ms=BASE_MS - 11 * 60_000)  # before since-10min
    portal.add("deals", 3, BASE_MS, archived_ms=BASE_MS - 9 * 60_000)
    portal.add("deals", 4, BASE_MS, archived_ms=BASE_MS + 60_000)
    hs = make_connector(host, FakeClock())

    pages = list(hs.iter_pages("deals", since=SINCE))

    assert [[r["id"] for r in p.records] for p in pages] == [["1"], ["3", "4"]]
    assert [p.resume for p in pages] == ["archived:", "end"]
    assert all(r["archived"] is True for r in pages[1].records)
    assert pages[1].cursor is None


def test_incremental_resume_continues_without_repeats(site):
    portal, host = site
    for i in range(1, 501):
        portal.add("deals", i, BASE_MS + i // 3)
    hs = make_connector(host, FakeClock(), archived_on_incremental=False)

    pages = hs.iter_pages("deals", since=SINCE)
    head = [next(pages), next(pages)]
    tail = list(hs.iter_pages("deals", since=SINCE, resume=head[-1].resume))

    got = ids_of(head) + ids_of(tail)
    assert sorted(got, key=int) == [str(i) for i in range(1, 501)]
    assert SearchState.decode(head[-1].resume).mode == "main"


def test_search_state_token_round_trips():
    state = SearchState(mode="split", ts=BASE_MS, last_id=812)
    assert state.encode() == f"search:split:{BASE_MS}:812"
    assert SearchState.decode(state.encode()) == state


def test_catalog_filtered_by_config_and_stage_entries_from_deals(site):
    portal, host = site
    portal.add("deals", 7, BASE_MS + 1, pipeline="2847561", dealstage="1190345",
               hs_v2_date_entered_1190345="2026-11-02T10:00:00.000Z",
               hs_v2_date_entered_1190341="2026-10-01T10:00:00.000Z")
    hs = make_connector(host, FakeClock(), config={"access_token": "pat-x",
                                                   "pipelines": ["2847561"]})
    portal.tokens.add("pat-x")

    catalog = hs.stage_catalog()
    changes = list(hs.iter_stage_changes())

    assert [p["id"] for p in catalog] == ["2847561"]
    assert hs.properties_for("deals")[-2:] == ["hs_v2_date_entered_1190341",
                                               "hs_v2_date_entered_1190345"]
    assert changes == [
        {"dealId": "7", "pipeline": "2847561", "stageId": "1190341",
         "enteredAt": "2026-10-01T10:00:00.000Z"},
        {"dealId": "7", "pipeline": "2847561", "stageId": "1190345",
         "enteredAt": "2026-11-02T10:00:00.000Z"}]
    assert hs.usage.by_kind["pipelines"] == 1  # the catalog is read once


def test_since_minus_lookback_constant_is_ten_minutes():
    from funnelsync.connectors.hubspot.connector import ARCHIVE_LOOKBACK
    assert timedelta(minutes=10) == ARCHIVE_LOOKBACK


def test_connector_implements_the_protocol(site):
    from funnelsync.connectors.base import Connector

    _, host = site
    hs = make_connector(host, FakeClock())
    assert isinstance(hs, Connector)
    assert hs.source == "hubspot"
    hs.close()


def test_an_unreachable_host_gives_up_with_a_message_naming_it() -> None:
    import socket

    from funnelsync.errors import RemoteError

    with socket.socket() as probe:  # a port nobody listens on: bound, never accepting
        probe.bind(("127.0.0.1", 0))
        host = f"http://127.0.0.1:{probe.getsockname()[1]}"
        clock = FakeClock()
        hs = make_connector(host, clock)
        with pytest.raises(RemoteError) as caught:
            hs.stage_catalog()
    assert caught.value.retryable is True
    assert f"cannot reach {host} (" in caught.value.message
    assert "pat-na1" not in caught.value.message
    assert clock.sleeps and sum(clock.sleeps) <= 60.0


def test_a_given_catalog_decides_the_stage_entry_properties_without_a_call(site):
    portal, host = site
    portal.add("deals", 1, BASE_MS + 1, dealstage="s1")
    hs = make_connector(host, FakeClock(), properties={"deals": ["dealname"]})
    hs.use_catalog([{"id": "p1", "stages": [{"id": "s1"}, {"id": "s2"}]}])

    pages = list(hs.iter_pages("deals"))

    assert ids_of(pages) == ["1"]
    lists = portal.calls("GET", "/crm/v3/objects/deals")
    assert lists[0]["args"]["properties"] == [",".join(
        ["dealname", "hs_lastmodifieddate", "hs_object_id", "createdate", "dealstage",
         "pipeline", "hs_v2_date_entered_s1", "hs_v2_date_entered_s2"])]
    assert hs.usage.by_kind == {"list": 2}


def test_each_catalog_read_asks_hubspot_and_later_reads_follow_it(site):
    portal, host = site
    hs = make_connector(host, FakeClock(), properties={"deals": ["dealname"]})
    hs.use_catalog([{"id": "p1", "stages": [{"id": "s1"}]}])
    assert hs.properties_for("deals")[-1] == "hs_v2_date_entered_s1"

    hs.stage_catalog()
    hs.stage_catalog()

    assert hs.properties_for("deals")[-len(STAGE_PROPS):] == STAGE_PROPS
    assert hs.usage.by_kind == {"pipelines": 2}
