"""The sandbox portal's HubSpot schema: deal pipelines, lifecycle stages, property catalog.

The property catalog holds HubSpot's own default properties of each object, under their real
names and types (a contact's company size is the ``numemployees`` dropdown; the number
``numberofemployees`` belongs to companies, which the sandbox does not serve), plus the
portal's custom ``funnel_*`` properties. A client asking for a property of another object
gets nothing back for it, as from HubSpot.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from funnelsync.sandbox.common import hs_datetime

# (stage id, label, probability, isClosed)
DEFAULT_STAGES = (
    ("appointmentscheduled", "Appointment Scheduled", "0.2", False),
    ("qualifiedtobuy", "Qualified To Buy", "0.4", False),
    ("presentationscheduled", "Presentation Scheduled", "0.6", False),
    ("decisionmakerboughtin", "Decision Maker Bought-In", "0.8", False),
    ("contractsent", "Contract Sent", "0.9", False),
    ("closedwon", "Closed Won", "1.0", True),
    ("closedlost", "Closed Lost", "0.0", True),
)
# A pipeline the portal added itself: numeric ids, as HubSpot gives custom pipelines.
CUSTOM_PIPELINE_ID = "2847561"
CUSTOM_STAGES = (
    ("1190341", "Discovery", "0.1", False),
    ("1190342", "Scoping", "0.3", False),
    ("1190343", "Proposal", "0.6", False),
    ("1190344", "Verbal Commit", "0.85", False),
    ("1190345", "Won", "1.0", True),
    ("1190346", "Lost", "0.0", True),
)
PIPELINES = (("default", "Sales Pipeline", DEFAULT_STAGES),
             (CUSTOM_PIPELINE_ID, "Renewals & Expansion", CUSTOM_STAGES))
STAGE_META = {s[0]: (pid, s) for pid, _, stages in PIPELINES for s in stages}
LIFECYCLE = ("subscriber", "lead", "marketingqualifiedlead", "salesqualifiedlead",
             "opportunity", "customer", "evangelist", "other")
LEAD_STATUS = ("NEW", "OPEN", "IN_PROGRESS", "OPEN_DEAL", "UNQUALIFIED",
               "ATTEMPTED_TO_CONTACT", "CONNECTED", "BAD_TIMING")
# A contact's ``numemployees`` is a dropdown of HubSpot's fixed company-size bands, never a
# head count; neighbouring bands share their end points.
COMPANY_SIZE_BANDS = ("1-5", "5-25", "25-50", "50-100", "100-500", "500-1000", "1000+")
# Enumeration properties whose definitions list fixed options (value = label, as HubSpot has).
_ENUM_OPTIONS: dict[tuple[str, str], tuple[str, ...]] = {
    ("contacts", "numemployees"): COMPANY_SIZE_BANDS,
}
DEFAULT_PROPERTIES = {
    "contacts": ("createdate", "email", "firstname", "hs_object_id", "lastmodifieddate",
                 "lastname"),
    "deals": ("amount", "closedate", "createdate", "dealname", "dealstage",
              "hs_lastmodifieddate", "hs_object_id", "pipeline"),
    "tasks": ("hs_createdate", "hs_lastmodifieddate", "hs_object_id"),
}
ALWAYS = ("createdate", "hs_lastmodifieddate", "hs_object_id")

_COMMON = {"hs_object_id": "number", "createdate": "datetime", "hs_lastmodifieddate": "datetime",
           "hubspot_owner_id": "enumeration", "notes_last_updated": "datetime",
           "funnel_stage": "string", "funnel_score": "number"}
_BASE: dict[str, dict[str, str]] = {
    "contacts": {**_COMMON, "email": "string", "firstname": "string", "lastname": "string",
                 "company": "string", "jobtitle": "string", "industry": "string",
                 "numemployees": "enumeration", "country": "string",
                 "hs_analytics_source": "enumeration", "lifecyclestage": "enumeration",
                 "hs_lead_status": "enumeration", "hs_email_open": "number",
                 "hs_email_click": "number", "num_conversion_events": "number",
                 "hs_analytics_num_page_views": "number", "lastmodifieddate": "datetime",
                 **{f"hs_v2_date_entered_{s}": "datetime" for s in LIFECYCLE}},
    "deals": {**_COMMON, "dealname": "string", "amount": "number",
              "deal_currency_code": "enumeration", "amount_in_home_currency": "number",
              "dealstage": "enumeration",
              "pipeline": "enumeration", "closedate": "datetime", "hs_is_closed": "bool",
              "hs_is_closed_won": "bool", "hs_deal_stage_probability": "number",
              "hs_manual_forecast_category": "enumeration", "hs_analytics_source": "enumeration",
              "dealtype": "enumeration", "funnel_win_probability": "number",
              **{f"hs_v2_date_entered_{s}": "datetime" for s in STAGE_META}},
    "tasks": {"hs_object_id": "number", "hs_createdate": "datetime", "createdate": "datetime",
              "hs_lastmodifieddate": "datetime", "hs_task_subject": "string",
              "hs_task_body": "string", "hs_task_status": "enumeration",
              "hs_task_priority": "enumeration", "hs_timestamp": "datetime",
              "hubspot_owner_id": "enumeration", "hs_task_type": "enumeration"},
}
READ_ONLY_PREFIXES = ("hs_object_id", "createdate", "hs_createdate", "hs_lastmodifieddate",
                      "lastmodifieddate", "hs_v2_date_entered_", "hs_is_closed",
                      "hs_deal_stage_probability", "amount_in_home_currency")
_FIELD_TYPES = {"string": "text", "number": "number", "datetime": "date", "date": "date",
                "enumeration": "select", "bool": "booleancheckbox"}
_GROUPS = {"contacts": "contactinformation", "deals": "dealinformation", "tasks": "task"}


def initial_properties() -> dict[str, dict[str, str]]:
    """Property name -> type for each object; a fresh copy, since portals can add properties."""
    return {obj: dict(props) for obj, props in _BASE.items()}


def company_size_band(head_count: int) -> str:
    """The ``numemployees`` option for a head count: the last band whose lower bound the count
    reaches (25 people fall in "25-50"), "1-5" below that."""
    band = COMPANY_SIZE_BANDS[0]
    for option in COMPANY_SIZE_BANDS:
        if head_count >= int(option.split("-")[0].rstrip("+")):
            band = option
    return band


def property_options(obj: str, name: str) -> list[dict[str, object]]:
    """The option list of a property's definition (empty for properties without options)."""
    return [{"label": value, "value": value, "description": "", "displayOrder": order,
             "hidden": False}
            for order, value in enumerate(_ENUM_OPTIONS.get((obj, name), ()))]


def is_read_only(name: str) -> bool:
    return name.startswith(READ_ONLY_PREFIXES)


def property_json(obj: str, name: str, ptype: str, now_ms: int,
                  label: str | None = None, field_type: str | None = None,
                  group: str | None = None) -> dict[str, object]:
    custom = name.startswith("funnel_") or name not in _BASE.get(obj, {})
    stamp = hs_datetime(now_ms)
    return {
        "name": name, "label": label or name.replace("_", " ").capitalize(), "type": ptype,
        "fieldType": field_type or _FIELD_TYPES.get(ptype, "text"), "description": "",
        "groupName": group or _GROUPS[obj], "options": property_options(obj, name),
        "displayOrder": -1,
        "calculated": is_read_only(name), "externalOptions": False, "hasUniqueValue": False,
        "hidden": False, "hubspotDefined": not custom, "formField": not is_read_only(name),
        "modificationMetadata": {"archivable": custom, "readOnlyDefinition": not custom,
                                 "readOnlyValue": is_read_only(name)},
        "createdAt": stamp, "updatedAt": stamp, "archived": False,
    }


def pipelines_json(now_ms: int, pipelines: tuple = PIPELINES) -> list[dict[str, object]]:
    stamp = hs_datetime(now_ms)
    return [{
        "id": pid, "label": label, "displayOrder": order, "archived": False,
        "createdAt": stamp, "updatedAt": stamp,
        "stages": [{
            "id": sid, "label": slabel, "displayOrder": sorder, "archived": False,
            "createdAt": stamp, "updatedAt": stamp,
            "writePermissions": "CRM_PERMISSIONS_ENFORCEMENT",
            "metadata": {"isClosed": "true" if closed else "false", "probability": prob},
        } for sorder, (sid, slabel, prob, closed) in enumerate(stages)],
    } for order, (pid, label, stages) in enumerate(pipelines)]


# The account's company currency and exchange rates (fromCurrencyCode, conversionRate into the
# company currency, effectiveAt): each new rate of a currency applies from its effectiveAt on.
COMPANY_CURRENCY = "USD"
EXCHANGE_RATES: tuple[tuple[str, float, str], ...] = (
    ("EUR", 1.05, "2025-01-01T00:00:00Z"),
    ("EUR", 1.08, "2026-07-01T00:00:00Z"),
    ("GBP", 1.25, "2025-01-01T00:00:00Z"),
    ("GBP", 1.27, "2026-07-01T00:00:00Z"),
)
HOME_AMOUNT = "amount_in_home_currency"
HOME_AMOUNT_INPUTS = ("amount", "deal_currency_code", "closedate")


def home_amount(props: dict[str, str | None]) -> str | None:
    """A deal's amount_in_home_currency: its amount in the company currency at the exchange
    rate in effect on its close date (the earliest rate before the first; the latest without a
    close date); None when the amount is not a number or the currency has no rate."""
    try:
        amount = Decimal(str(props.get("amount") or ""))
    except InvalidOperation:
        return None
    code = props.get("deal_currency_code") or COMPANY_CURRENCY
    if code == COMPANY_CURRENCY:
        return format(amount, "f")
    rates = sorted((at[:10], rate) for c, rate, at in EXCHANGE_RATES if c == code)
    if not rates:
        return None
    day = (props.get("closedate") or "9999")[:10]
    rate = next((r for at, r in reversed(rates) if at <= day), rates[0][1])
    return format((amount * Decimal(str(rate))).quantize(Decimal("0.01")), "f")
