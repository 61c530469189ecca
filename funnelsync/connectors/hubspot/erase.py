"""HubSpot erasure of one person: find their contacts by e-mail, GDPR-delete them.

Found with a contact search (``email IN [...]``; HubSpot wants the values of ``IN`` on text
properties lower-cased, which normalised addresses are). Erased with the GDPR delete
``POST /crm/v3/objects/contacts/gdpr-delete`` — by e-mail (``{"objectId": <address>,
"idProperty": "email"}``) when the contact was found by its address, else by id
(``{"objectId": <id>}``) — which answers 204 and removes the contact and its associations for
good (a plain archive would keep it restorable for 90 days). A contact gone meanwhile (404)
counts as erased.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import partial
from typing import Any

from hubspot.crm.contacts import PublicGdprDeleteInput

from funnelsync.connectors.base import ErasableRecord
from funnelsync.connectors.hubspot.transport import RAW, HubSpotTransport
from funnelsync.connectors.paging import batched
from funnelsync.errors import RemoteError

SEARCH_VALUES = 100  # values in one IN filter
SEARCH_PAGE = 100


def _search_body(emails: list[str]) -> dict[str, Any]:
    return {"filterGroups": [{"filters": [{"propertyName": "email", "operator": "IN",
                                           "values": emails}]}],
            "properties": ["email"], "limit": SEARCH_PAGE, "after": "0"}


class HubSpotErase:
    """Erase half of HubSpotConnector (mixed in; uses its ``_http`` transport)."""

    _http: HubSpotTransport

    def find_person_records(self, emails: Sequence[str]) -> list[ErasableRecord]:
        """The contacts whose e-mail is one of ``emails`` (each a contact at most: HubSpot
        keeps e-mail addresses unique among contacts)."""
        api = self._http.api("contacts.search")
        found: list[ErasableRecord] = []
        for batch in batched(sorted({e.lower() for e in emails}), SEARCH_VALUES):
            _, body = self._http.call("search", "search HubSpot contacts to erase",
                                      partial(api.do_search, _search_body(batch), **RAW))
            found += [ErasableRecord("contacts", str(row.get("id")), _email_of(row))
                      for row in body.get("results") or []]
        return found

    def erase_person_record(self, record: ErasableRecord) -> bool:
        """GDPR-delete one contact; False when it was gone already."""
        api = self._http.api("contacts.basic")
        payload = (PublicGdprDeleteInput(id_property="email", object_id=record.email)
                   if record.email else PublicGdprDeleteInput(object_id=record.record_id))
        try:
            self._http.call("gdpr_delete", f"GDPR delete of HubSpot contact {record.record_id}",
                            partial(api.purge, payload, **RAW))
        except RemoteError as err:
            if err.status == 404:
                return False
            raise
        return True


def _email_of(row: dict[str, Any]) -> str:
    return str((row.get("properties") or {}).get("email") or "").strip().lower()


__all__ = ["HubSpotErase"]
