"""Every property and field name a mapper reads exists on the sandbox's object of that CRM.

The sandbox follows the vendors' default properties (HubSpot's default contact and deal
properties, Salesforce's standard Lead and Opportunity fields), so a misnamed property cannot
hide behind a sandbox that makes the same mistake.
"""

from __future__ import annotations

import pytest

from funnelsync.config.models import WritebackConfig
from funnelsync.mapping import hubspot as hs
from funnelsync.mapping import salesforce as sf
from funnelsync.sandbox.hubspot.schema import PIPELINES, initial_properties, pipelines_json
from funnelsync.sandbox.salesforce.schema import FIELD_INDEX

WB = WritebackConfig()
HS_PROPERTIES = initial_properties()


def sandbox_catalog() -> hs.HubSpotCatalog:
    return hs.HubSpotCatalog.from_pipelines(pipelines_json(0, PIPELINES))


@pytest.mark.parametrize(("obj", "names"), [
    ("contacts", hs.contact_properties(WB)),
    ("deals", hs.deal_properties(WB, sandbox_catalog())),
])
def test_every_hubspot_property_read_is_a_property_of_that_object(
        obj: str, names: list[str]) -> None:
    assert [n for n in names if n not in HS_PROPERTIES[obj]] == []


def test_contacts_offer_numemployees_and_not_the_company_property() -> None:
    assert "numberofemployees" not in HS_PROPERTIES["contacts"]
    assert HS_PROPERTIES["contacts"]["numemployees"] == "enumeration"
    assert "numemployees" in hs.CONTACT_PROPERTIES
    assert "numberofemployees" not in hs.CONTACT_PROPERTIES


def salesforce_field_exists(sobject: str, path: str) -> bool:
    """A field, or a relationship path such as ``Owner.Name`` (every target has the field)."""
    fields = FIELD_INDEX[sobject]
    if "." not in path:
        return path in fields
    relationship, rest = path.split(".", 1)
    ref = next((f for f in fields.values() if f.relationship == relationship), None)
    return ref is not None and all(salesforce_field_exists(target, rest)
                                   for target in ref.reference_to)


@pytest.mark.parametrize(("sobject", "names"), [
    ("Lead", sf.lead_fields(WB)),
    ("Opportunity", sf.opportunity_fields(WB, optional=sf.OPTIONAL_OPPORTUNITY_FIELDS)),
    ("OpportunityHistory", list(sf.HISTORY_FIELDS)),
    ("OpportunityStage", list(sf.OPPORTUNITY_STAGE_FIELDS)),
    ("LeadStatus", list(sf.LEAD_STATUS_FIELDS)),
])
def test_every_salesforce_field_read_is_a_field_of_that_object(
        sobject: str, names: list[str]) -> None:
    missing = [n for n in names if not salesforce_field_exists(sobject, n)]
    assert missing == []  # the sandbox org is multi-currency: CurrencyIsoCode included


def test_the_relationship_check_can_fail() -> None:
    assert salesforce_field_exists("Lead", "Owner.Name")
    assert not salesforce_field_exists("Lead", "Owner.NumberOfEmployees")
    assert not salesforce_field_exists("Lead", "Account.Name")
