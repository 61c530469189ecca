"""HubSpot's legacy v1 objects in the v3 shape the HubSpot mappers read.

v1 answers (``/deals/v1/deal/paged``, ``/contacts/v1/lists/all/contacts/all`` and the exports
other tools saved from them) carry the id as a number in ``dealId`` (deals) or ``vid`` /
``canonical-vid`` (contacts, the canonical one after a merge), the deletion flag in
``isDeleted``, and every property as an object ``{"value": "...", "timestamp": ...,
"source": ..., "versions": [...]}``. A v1 contact list often leaves ``email`` out of the
properties: its primary address is then in ``identity-profiles[].identities[]`` (type EMAIL).

``to_v3`` turns such a record into ``{"id", "properties": {name: value}, "archived"}``; values
stay the strings HubSpot sent (times are epoch milliseconds, which the parsers read).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from funnelsync.errors import DataError

SOURCE = "hubspot"
DEAL_ID = "dealId"
CONTACT_IDS = ("canonical-vid", "vid")
KIND_OF_ID = {DEAL_ID: "deal", "vid": "contact", "canonical-vid": "contact"}
_PLAIN = frozenset({str, type(None)})  # what every v3 property value is
HINTS = {"deal": "map v1 deals as deals (normalize --object deal)",
         "contact": "map v1 contacts as contacts (normalize --object lead)"}


def v1_kind(record: Mapping[str, Any]) -> str | None:
    """"deal" or "contact" when the record is a v1 object, else None."""
    if "id" in record:
        return None
    return next((KIND_OF_ID[key] for key in KIND_OF_ID if key in record), None)


def has_v1_values(properties: Mapping[str, Any]) -> bool:
    """Whether the properties are v1 value objects (``{"value": ...}``) instead of strings."""
    if _PLAIN.issuperset(map(type, properties.values())):
        return False  # the v3 shape, every record of a sync: decided without a Python loop
    return any(isinstance(v, Mapping) and "value" in v for v in properties.values())


def unwrap_values(properties: Mapping[str, Any]) -> dict[str, Any]:
    """``{name: {"value": v, ...}}`` → ``{name: v}``; plain values are kept as they are."""
    return {name: (value.get("value") if isinstance(value, Mapping) else value)
            for name, value in properties.items()}


def to_v3(record: Mapping[str, Any], kind: str) -> dict[str, Any]:
    """A v1 deal or contact as a v3 object; DataError when it is a v1 object of another kind
    than the mapper's (a contact given to the deal mapper)."""
    found = v1_kind(record)
    if found != kind:
        key = next(k for k in KIND_OF_ID if k in record)
        raise DataError(f"{SOURCE} {kind} (no id): this is a HubSpot v1 {found} ({key} "
                        f"{_short(record.get(key))}), not a {kind}", source=SOURCE,
                        field=key, hint=HINTS[str(found)])
    props = record.get("properties")
    values = unwrap_values(props) if isinstance(props, Mapping) else {}
    if found == "contact" and values.get("email") is None:
        values["email"] = _primary_email(record.get("identity-profiles"))
    return {"id": _id_text(_v1_id(record, kind)), "properties": values,
            "archived": record.get("isDeleted") is True or record.get("is-deleted") is True}


def _v1_id(record: Mapping[str, Any], kind: str) -> Any:
    keys = (DEAL_ID,) if kind == "deal" else CONTACT_IDS
    found = next((record[k] for k in keys if record.get(k) is not None), None)
    if found is None:
        raise DataError(f"{SOURCE} {kind} (no id): this HubSpot v1 {kind} has no "
                        f"{' / '.join(keys)} value", source=SOURCE, field=keys[-1],
                        hint="pass the records exactly as the v1 API returned them")
    return found


def _id_text(value: Any) -> Any:
    """v1 ids are JSON numbers; v3 ids are their text. Anything else is left for the id check."""
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return value


def _primary_email(profiles: Any) -> str | None:
    emails = [i for profile in _objects(profiles) for i in _objects(profile.get("identities"))
              if i.get("type") == "EMAIL" and isinstance(i.get("value"), str)]
    primary = [i for i in emails if i.get("is-primary") is True] or emails
    return primary[0]["value"] if primary else None


def _objects(value: Any) -> list[Mapping[str, Any]]:
    return [v for v in value if isinstance(v, Mapping)] if isinstance(value, list) else []


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 30 else text[:27] + "..."


__all__ = ["has_v1_values", "to_v3", "unwrap_values", "v1_kind"]
