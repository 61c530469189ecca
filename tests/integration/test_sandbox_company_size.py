"""A contact's company size as HubSpot holds it: ``numemployees`` is a dropdown of fixed bands
(HubSpot's default contact property), never a head count; the score reads the band."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from hubspot import HubSpot
from hubspot.crm.contacts.exceptions import ApiException as ContactsApiException
from support.clock import SANDBOX_START, FakeClock
from syncsupport import no_wait_factory, sandbox_config

from funnelsync.config.models import ScoringConfig
from funnelsync.mapping.schema import FunnelLead
from funnelsync.rules.score import Scorer
from funnelsync.sandbox import Sandbox
from funnelsync.store import Store
from funnelsync.sync.job import SyncJob

BANDS = ["1-5", "5-25", "25-50", "50-100", "100-500", "500-1000", "1000+"]


@pytest.fixture
def sandbox(clock: FakeClock) -> Iterator[Sandbox]:
    with Sandbox(seed=11, leads=40, deals=20, clock=clock) as sb:
        yield sb


@pytest.fixture
def hs(sandbox: Sandbox) -> HubSpot:
    return HubSpot(access_token="pat-demo", host=sandbox.url)


def test_the_property_definition_lists_hubspots_bands_as_options(hs: HubSpot) -> None:
    prop = hs.crm.properties.core_api.get_by_name("contacts", "numemployees")
    assert (prop.type, prop.field_type, prop.hubspot_defined) == ("enumeration", "select", True)
    assert [(o.label, o.value, o.display_order, o.hidden) for o in prop.options] == [
        (b, b, i, False) for i, b in enumerate(BANDS)]
    listed = {p.name: p for p in hs.crm.properties.core_api.get_all("contacts").results}
    assert [o.value for o in listed["numemployees"].options] == BANDS
    assert listed["email"].options == []


def test_seeded_contacts_hold_only_documented_options(hs: HubSpot) -> None:
    contacts = hs.crm.contacts.get_all(properties=["numemployees"])
    assert len(contacts) == 40
    assert {c.properties["numemployees"] for c in contacts} == {
        None, "1-5", "5-25", "25-50", "100-500", "1000+"}


def test_a_head_count_is_refused_and_a_band_accepted(hs: HubSpot) -> None:
    api = hs.crm.contacts.basic_api
    with pytest.raises(ContactsApiException) as info:
        api.update("1001", {"properties": {"numemployees": "250"}})
    assert info.value.status == 400
    assert json.loads(info.value.body)["errors"][0]["code"] == "INVALID_OPTION"
    api.update("1001", {"properties": {"numemployees": "50-100"}})
    assert api.get_by_id("1001", properties=["numemployees"]).properties[
        "numemployees"] == "50-100"


def test_a_seeded_contacts_score_uses_its_band(sandbox: Sandbox, hs: HubSpot, tmp_path,
                                               clock: FakeClock) -> None:
    # Contact 1020 works at a company of 480: HubSpot holds that as the band "100-500", which
    # guarantees 100 people, so the size points are those of 50+ (6), not of 200+ (10).
    assert clock() == SANDBOX_START
    config = sandbox_config(sandbox, f"sqlite:///{tmp_path / 'state.db'}")
    result = SyncJob(config, connector_factory=no_wait_factory(clock), clock=clock.utc).run()
    assert result.errors == []
    with Store.open(config.state.url, clock=clock.utc) as store:
        stored = store.get_record("hubspot", "leads", "1020")
    assert stored is not None
    lead = FunnelLead.model_validate(stored.data)
    assert lead.employees == 100
    score = Scorer(ScoringConfig()).score(lead, clock.utc())
    assert score.breakdown == [
        ("employees: 50+", 6), ("email opens: 25 (decayed)", 15),
        ("email clicks: 5 (decayed)", 9), ("page views: 48 (decayed)", 15)]
    contact = hs.crm.contacts.basic_api.get_by_id(
        "1020", properties=["numemployees", "funnel_score"])
    assert (contact.properties["numemployees"], contact.properties["funnel_score"]) == (
        "100-500", "45")
