"""Salesforce owners: Users (active, inactive, managers) and lead queues, paged, then mapped."""

from __future__ import annotations

import responses
from salesforce_fixtures import INSTANCE, add_query, add_soap_login, connector, query_page

from funnelsync.mapping.owners import CrmOwner
from funnelsync.mapping.salesforce import map_owners

USERS = "SELECT Id, Name, Email, IsActive, ManagerId FROM User"
QUEUES = "SELECT Id, Name FROM Group WHERE Type = 'Queue'"
NEXT = "/services/data/v59.0/query/01gUSERS-1"


def user(n: int, active: bool = True, manager: str | None = None) -> dict[str, object]:
    uid = f"005000000000{n:03d}AAA"
    return {"attributes": {"type": "User", "url": f"/services/data/v59.0/sobjects/User/{uid}"},
            "Id": uid, "Name": f"User {n}", "Email": f" User{n}@Acme.example ",
            "IsActive": active, "ManagerId": manager}


def test_users_reads_every_page_and_queues() -> None:
    queue = {"attributes": {"type": "Group", "url": "/x"}, "Id": "00G000000000001AAA",
             "Name": "Inbound Leads Queue"}
    with responses.RequestsMock(assert_all_requests_are_fired=True) as rsps:
        add_soap_login(rsps)
        add_query(rsps, USERS, query_page([user(1), user(2, False, user(1)["Id"])], NEXT),
                  endpoint="query", batch=False)
        rsps.add(responses.GET, f"{INSTANCE}{NEXT}",
                 json=query_page([user(3)]))
        add_query(rsps, QUEUES, query_page([queue]), endpoint="query", batch=False)
        rows = connector().users()
    assert [r["Id"][-6:] for r in rows] == ["001AAA", "002AAA", "003AAA", "001AAA"]
    owners = map_owners(rows)
    assert owners[1] == CrmOwner(id="005000000000002AAA", email="user2@acme.example",
                                 name="User 2", active=False, manager_id="005000000000001AAA")
    assert owners[3] == CrmOwner(id="00G000000000001AAA", name="Inbound Leads Queue",
                                 active=True, is_queue=True)
