"""Test support for follow-up tasks: read every task of both CRMs through the real clients, and
act on deals and tasks the way a rep would (through the vendors' APIs)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from hubspot import HubSpot
from hubspot.crm.objects import SimplePublicObjectInput
from sfclient import salesforce_client

from funnelsync.sandbox import Sandbox

SF, HS = "salesforce", "hubspot"


@dataclass(frozen=True)
class CrmTask:
    crm: str
    id: str
    record_id: str | None  # the deal (Salesforce WhatId) or lead/contact it sits on
    subject: str
    body: str
    closed: bool
    status: str
    owner_id: str | None


class Crms:
    """Both CRMs of one sandbox, seen through simple-salesforce and hubspot-api-client."""

    def __init__(self, sandbox: Sandbox) -> None:
        self.sf = salesforce_client(sandbox.url)
        self.hs = HubSpot(access_token="pat-demo", host=sandbox.url)

    # -- reading --------------------------------------------------------------------------------
    def tasks(self) -> list[CrmTask]:
        """Every task funnelsync made (a ``[fs:`` marker in its subject), in both CRMs."""
        return [t for t in self._sf_tasks() + self._hs_tasks() if "[fs:" in t.subject]

    def open_tasks_by_record(self) -> dict[tuple[str, str | None], list[CrmTask]]:
        found: dict[tuple[str, str | None], list[CrmTask]] = defaultdict(list)
        for task in self.tasks():
            if not task.closed:
                found[(task.crm, task.record_id)].append(task)
        return dict(found)

    def task(self, crm: str, task_id: str) -> CrmTask | None:
        return next((t for t in self.tasks() if (t.crm, t.id) == (crm, task_id)), None)

    def _sf_tasks(self) -> list[CrmTask]:
        rows = self.sf.query_all("SELECT Id, WhatId, WhoId, Subject, Description, Status, "
                                 "IsClosed, OwnerId FROM Task")["records"]
        return [CrmTask(SF, r["Id"], r["WhatId"] or r["WhoId"], r["Subject"] or "",
                        r["Description"] or "", bool(r["IsClosed"]), r["Status"], r["OwnerId"])
                for r in rows]

    def _hs_tasks(self) -> list[CrmTask]:
        api = self.hs.crm.objects.tasks.basic_api
        props = ["hs_task_subject", "hs_task_body", "hs_task_status", "hubspot_owner_id"]
        out: list[CrmTask] = []
        after = None
        while True:
            page = api.get_page(limit=100, after=after, properties=props,
                                associations=["deals", "contacts"])
            out += [_hs_task(t) for t in page.results]
            if not page.paging or not page.paging.next:
                return out
            after = page.paging.next.after

    # -- acting like a rep ----------------------------------------------------------------------
    def complete(self, crm: str, task_id: str) -> None:
        if crm == SF:
            self.sf.Task.update(task_id, {"Status": "Completed"})
        else:
            self._hs_task_update(task_id, {"hs_task_status": "COMPLETED"})

    def delete(self, crm: str, task_id: str) -> None:
        if crm == SF:
            self.sf.Task.delete(task_id)
        else:
            self.hs.crm.objects.tasks.basic_api.archive(task_id)

    def write_in_task(self, crm: str, task_id: str, text: str) -> None:
        if crm == SF:
            self.sf.Task.update(task_id, {"Description": text})
        else:
            self._hs_task_update(task_id, {"hs_task_body": text})

    def win(self, crm: str, deal_id: str) -> None:
        if crm == SF:
            self.sf.Opportunity.update(deal_id, {"StageName": "Closed Won"})
        else:
            self._hs_deal_update(deal_id, {"dealstage": "closedwon"})

    def set_close_date(self, crm: str, deal_id: str, day: str) -> None:
        if crm == SF:
            self.sf.Opportunity.update(deal_id, {"CloseDate": day})
        else:
            self._hs_deal_update(deal_id, {"closedate": f"{day}T00:00:00.000Z"})

    def _hs_task_update(self, task_id: str, properties: dict[str, str]) -> None:
        self.hs.crm.objects.tasks.basic_api.update(
            task_id, SimplePublicObjectInput(properties=properties))

    def _hs_deal_update(self, deal_id: str, properties: dict[str, str]) -> None:
        self.hs.crm.deals.basic_api.update(deal_id,
                                           SimplePublicObjectInput(properties=properties))


def _hs_task(task: Any) -> CrmTask:
    props = task.properties or {}
    linked = [a.id for kind in ("deals", "contacts")
              for a in ((task.associations or {}).get(kind).results
                        if (task.associations or {}).get(kind) else [])]
    status = props.get("hs_task_status") or "NOT_STARTED"
    return CrmTask(HS, str(task.id), linked[0] if linked else None,
                   props.get("hs_task_subject") or "", props.get("hs_task_body") or "",
                   status == "COMPLETED", status, props.get("hubspot_owner_id"))
