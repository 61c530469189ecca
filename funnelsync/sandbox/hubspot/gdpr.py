"""HubSpot's GDPR delete: ``POST /crm/v3/objects/contacts/gdpr-delete``.

As HubSpot documents it: the body names the contact by id (``{"objectId": "123"}``) or by a
unique property (``{"objectId": "ana@acme.example", "idProperty": "email"}``); the contact and
its associations are removed for good (not archived: no list, archived or not, returns it
again) and the answer is 204 with no body. An address no contact has is put on the account's
blocklist (still 204); an id no contact has is 404.
"""

from __future__ import annotations

import re

from funnelsync.sandbox.common import Request, Response
from funnelsync.sandbox.hubspot.records import OBJECT_ALIASES, hs_error, not_found
from funnelsync.sandbox.state import SandboxState


def gdpr_delete(state: SandboxState, req: Request, m: re.Match) -> Response:
    if OBJECT_ALIASES.get(m["obj"]) != "contacts":
        return not_found()
    body = req.json()
    object_id = body.get("objectId") if isinstance(body, dict) else None
    id_property = body.get("idProperty") if isinstance(body, dict) else None
    if not isinstance(object_id, str) or not object_id.strip():
        return hs_error(400, "VALIDATION_ERROR", "objectId is required")
    if id_property not in (None, "email"):
        return hs_error(400, "VALIDATION_ERROR", f"{id_property} is not a unique property")
    with state.lock:
        contacts = state.data.hs["contacts"]
        if id_property == "email":
            wanted = object_id.strip().lower()
            found = [rid for rid, rec in contacts.items() if _email(rec) == wanted]
            if not found:
                state.hs_gdpr_blocklist.add(wanted)
        else:
            found = [object_id] if object_id in contacts else []
            if not found:
                return not_found()
        for rid in found:
            _purge(state, rid)
        state.bump()
    return Response(204, b"")


def _email(record: dict) -> str:
    return str((record.get("properties") or {}).get("email") or "").strip().lower()


def _purge(state: SandboxState, contact_id: str) -> None:
    """The contact and every association to it, gone."""
    del state.data.hs["contacts"][contact_id]
    for task_id, contacts in list(state.data.hs_contact_assoc.items()):
        contacts.discard(contact_id)
        if not contacts:
            del state.data.hs_contact_assoc[task_id]


__all__ = ["gdpr_delete"]
