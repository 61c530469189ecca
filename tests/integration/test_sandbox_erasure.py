"""The sandbox answers the erasure calls as the vendors document them, driven by the real
clients: HubSpot's GDPR delete (204; unknown id 404; unknown address blocklisted) and
Salesforce's sObject DELETE of Leads and Contacts (204; unknown id 404 NOT_FOUND)."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
import requests
from hubspot import HubSpot
from hubspot.crm.contacts import PublicGdprDeleteInput
from hubspot.crm.contacts.exceptions import ApiException
from sfclient import salesforce_client
from simple_salesforce.exceptions import SalesforceResourceNotFound
from support.clock import SANDBOX_START, FakeClock

from funnelsync.sandbox import Sandbox


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    with Sandbox(seed=7, leads=40, deals=10, clock=FakeClock(SANDBOX_START)) as sb:
        yield sb


def test_hubspot_gdpr_delete_by_email_and_by_id(sandbox: Sandbox) -> None:
    api = HubSpot(access_token="pat-demo", host=sandbox.url).crm.contacts.basic_api
    contacts = sandbox.state.data.hs["contacts"]
    by_email, by_id = sorted(contacts, key=int)[:2]
    address = contacts[by_email]["properties"]["email"].strip().upper()
    answer = api.purge_with_http_info(PublicGdprDeleteInput(id_property="email",
                                                             object_id=address))
    assert answer[1] == 204
    answer = api.purge_with_http_info(PublicGdprDeleteInput(object_id=by_id))
    assert answer[1] == 204
    assert by_email not in contacts and by_id not in contacts
    listed = requests.get(f"{sandbox.url}/crm/v3/objects/contacts?archived=true&limit=100",
                          headers={"Authorization": "Bearer pat-demo"}, timeout=10).json()
    assert {by_email, by_id}.isdisjoint(r["id"] for r in listed["results"])

    with pytest.raises(ApiException) as missing:
        api.purge(PublicGdprDeleteInput(object_id="999999999"))
    assert missing.value.status == 404
    assert json.loads(missing.value.body)["category"] == "OBJECT_NOT_FOUND"
    nobody = api.purge_with_http_info(PublicGdprDeleteInput(id_property="email",
                                                            object_id="nobody@x.example"))
    assert nobody[1] == 204
    assert sandbox.state.hs_gdpr_blocklist == {"nobody@x.example"}


def test_hubspot_gdpr_delete_needs_an_object_id(sandbox: Sandbox) -> None:
    answer = requests.post(f"{sandbox.url}/crm/v3/objects/contacts/gdpr-delete", json={},
                           headers={"Authorization": "Bearer pat-demo"}, timeout=10)
    assert answer.status_code == 400
    assert (answer.json()["category"], answer.json()["message"]) == (
        "VALIDATION_ERROR", "objectId is required")


def test_salesforce_deletes_leads_and_contacts(sandbox: Sandbox) -> None:
    sf = salesforce_client(sandbox.url)
    contact = sf.restful("sobjects/Contact", method="POST",
                         json={"LastName": "Chen", "Email": "ana@acme.example"})
    assert contact["id"].startswith("003")
    found = sf.query("SELECT Id FROM Contact WHERE Email IN ('ANA@acme.example')")["records"]
    assert [r["Id"] for r in found] == [contact["id"]]
    lead_id = sorted(sandbox.state.data.sf["Lead"])[0]
    for path in (f"sobjects/Contact/{contact['id']}", f"sobjects/Lead/{lead_id}"):
        assert sf.restful(path, method="DELETE") is None  # 204, no body
    assert sf.query("SELECT Id FROM Contact")["records"] == []
    assert sandbox.state.data.sf["Lead"][lead_id]["IsDeleted"] is True
    with pytest.raises(SalesforceResourceNotFound) as missing:
        sf.restful("sobjects/Lead/00Q000000000999AAA", method="DELETE")
    assert missing.value.content == [{"message": "The requested resource does not exist",
                                      "errorCode": "NOT_FOUND"}]
