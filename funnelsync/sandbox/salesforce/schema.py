"""The sandbox org's Salesforce schema: objects, fields, key prefixes, stage catalogs.

A multi-currency org with advanced currency management (corporate currency USD; opportunities
carry CurrencyIsoCode; rates in CurrencyType and DatedConversionRate) on an API version that has
Opportunity.LastStageChangeDate, with the custom fields Funnel_Stage__c / Funnel_Score__c on
Lead and Opportunity and Win_Probability__c (Percent) on Opportunity. `describe()` answers are
built from this table.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Field:
    name: str
    type: str
    updateable: bool = True
    nillable: bool = True
    reference_to: tuple[str, ...] = ()
    relationship: str | None = None

    @property
    def custom(self) -> bool:
        return self.name.endswith("__c")


def _f(name: str, ftype: str, upd: bool = True, nil: bool = True) -> Field:
    return Field(name, ftype, upd, nil)


def _ref(name: str, targets: tuple[str, ...], rel: str, upd: bool = True) -> Field:
    return Field(name, "reference", upd, True, targets, rel)


_SYSTEM = (
    _f("Id", "id", False, False), _f("IsDeleted", "boolean", False, False),
    _f("CreatedDate", "datetime", False, False), _f("LastModifiedDate", "datetime", False, False),
    _f("SystemModstamp", "datetime", False, False),
)
_FUNNEL = (_f("Funnel_Stage__c", "string"), _f("Funnel_Score__c", "double"))

FIELDS: dict[str, tuple[Field, ...]] = {
    "Lead": _SYSTEM + (
        _f("FirstName", "string"), _f("LastName", "string", nil=False), _f("Name", "string", False),
        _f("Company", "string", nil=False), _f("Email", "email"), _f("Title", "string"),
        _f("Industry", "picklist"), _f("NumberOfEmployees", "int"), _f("Country", "string"),
        _f("LeadSource", "picklist"), _f("Rating", "picklist"),
        _f("Status", "picklist", nil=False),
        _ref("OwnerId", ("User", "Group"), "Owner"),  # polymorphic: User or queue
        _f("IsConverted", "boolean", False, False), _f("ConvertedDate", "date", False),
        _ref("ConvertedOpportunityId", ("Opportunity",), "ConvertedOpportunity", False),
        _f("LastActivityDate", "date", False),
    ) + _FUNNEL,
    "Opportunity": _SYSTEM + (
        _f("Name", "string", nil=False), _ref("AccountId", ("Account",), "Account"),
        _f("Amount", "currency"), _f("CloseDate", "date", nil=False),
        _f("StageName", "picklist", nil=False), _f("Probability", "percent"),
        _f("IsClosed", "boolean", False, False), _f("IsWon", "boolean", False, False),
        _f("ForecastCategoryName", "picklist"), _f("Type", "picklist"),
        _f("LeadSource", "picklist"), _ref("OwnerId", ("User",), "Owner"),
        _f("LastActivityDate", "date", False), _f("LastStageChangeDate", "datetime", False),
        _f("Win_Probability__c", "percent"),
        _f("CurrencyIsoCode", "picklist", nil=False),
    ) + _FUNNEL,
    "OpportunityHistory": (
        _f("Id", "id", False, False), _f("IsDeleted", "boolean", False, False),
        _ref("OpportunityId", ("Opportunity",), "Opportunity", False),
        _f("StageName", "picklist", False), _f("Amount", "currency", False),
        _f("CloseDate", "date", False), _f("Probability", "percent", False),
        _f("ForecastCategory", "picklist", False), _f("CurrencyIsoCode", "picklist", False),
        _ref("CreatedById", ("User",), "CreatedBy", False),
        _f("CreatedDate", "datetime", False, False), _f("SystemModstamp", "datetime", False, False),
    ),
    "OpportunityStage": (
        _f("Id", "id", False, False), _f("MasterLabel", "string", False),
        _f("ApiName", "string", False), _f("IsActive", "boolean", False, False),
        _f("IsClosed", "boolean", False, False), _f("IsWon", "boolean", False, False),
        _f("DefaultProbability", "percent", False), _f("SortOrder", "int", False),
        _f("ForecastCategoryName", "picklist", False), _f("Description", "string", False),
        _f("CreatedDate", "datetime", False, False),
        _f("LastModifiedDate", "datetime", False, False),
        _f("SystemModstamp", "datetime", False, False),
    ),
    "LeadStatus": (
        _f("Id", "id", False, False), _f("MasterLabel", "string", False),
        _f("ApiName", "string", False), _f("IsConverted", "boolean", False, False),
        _f("IsDefault", "boolean", False, False), _f("SortOrder", "int", False),
        _f("CreatedDate", "datetime", False, False),
        _f("LastModifiedDate", "datetime", False, False),
        _f("SystemModstamp", "datetime", False, False),
    ),
    "TaskStatus": (
        _f("Id", "id", False, False), _f("MasterLabel", "string", False),
        _f("ApiName", "string", False), _f("IsClosed", "boolean", False, False),
        _f("IsDefault", "boolean", False, False), _f("SortOrder", "int", False),
        _f("CreatedDate", "datetime", False, False),
        _f("LastModifiedDate", "datetime", False, False),
        _f("SystemModstamp", "datetime", False, False),
    ),
    "Task": _SYSTEM + (
        _f("Subject", "combobox"), _f("Description", "textarea"),
        _ref("WhatId", ("Opportunity", "Account"), "What"), _ref("WhoId", ("Lead",), "Who"),
        _ref("OwnerId", ("User",), "Owner"), _f("Status", "picklist", nil=False),
        _f("Priority", "picklist", nil=False), _f("ActivityDate", "date"),
        _f("IsClosed", "boolean", False, False), _f("Type", "picklist"),
    ),
    "User": _SYSTEM + (
        _f("Username", "string", nil=False), _f("FirstName", "string"),
        _f("LastName", "string", nil=False), _f("Name", "string", False), _f("Email", "email"),
        _f("IsActive", "boolean", nil=False), _f("Title", "string"),
        _ref("ManagerId", ("User",), "Manager"), _f("UserType", "picklist", False),
        _f("TimeZoneSidKey", "picklist"),
    ),
    "Group": _SYSTEM + (
        _f("Name", "string"), _f("DeveloperName", "string"), _f("Type", "picklist", False),
        _f("Email", "email"),
    ),
    "CurrencyType": (
        _f("Id", "id", False, False), _f("IsoCode", "picklist", nil=False),
        _f("ConversionRate", "double", nil=False), _f("DecimalPlaces", "int"),
        _f("IsActive", "boolean", nil=False), _f("IsCorporate", "boolean", False, False),
        _f("CreatedDate", "datetime", False, False),
        _f("LastModifiedDate", "datetime", False, False),
        _f("SystemModstamp", "datetime", False, False),
    ),
    "DatedConversionRate": (
        _f("Id", "id", False, False), _f("IsoCode", "picklist", nil=False),
        _f("ConversionRate", "double", nil=False), _f("StartDate", "date", nil=False),
        _f("NextStartDate", "date", False),
        _f("CreatedDate", "datetime", False, False),
        _f("LastModifiedDate", "datetime", False, False),
        _f("SystemModstamp", "datetime", False, False),
    ),
    "Account": _SYSTEM + (
        _f("Name", "string", nil=False), _f("Industry", "picklist"),
        _f("NumberOfEmployees", "int"), _f("BillingCountry", "string"),
        _ref("OwnerId", ("User",), "Owner"),
    ),
    # Every org has Contacts; the sandbox org starts with none (its people are Leads).
    "Contact": _SYSTEM + (
        _f("FirstName", "string"), _f("LastName", "string", nil=False),
        _f("Name", "string", False), _f("Email", "email"), _f("Title", "string"),
        _ref("AccountId", ("Account",), "Account"), _ref("OwnerId", ("User",), "Owner"),
    ),
}

KEY_PREFIX = {
    "Lead": "00Q", "Opportunity": "006", "OpportunityHistory": "008", "OpportunityStage": "01J",
    "LeadStatus": "01J", "TaskStatus": "01J", "Task": "00T", "User": "005", "Group": "00G",
    "Account": "001", "Contact": "003", "CurrencyType": "01L", "DatedConversionRate": "04w",
}
PREFIX_OBJECT = {prefix: obj for obj, prefix in KEY_PREFIX.items()
                 if obj not in ("LeadStatus", "TaskStatus")}
CREATEABLE = {"Lead", "Opportunity", "Task", "Account", "Contact"}
FIELD_INDEX = {obj: {f.name: f for f in fields} for obj, fields in FIELDS.items()}
FIELD_INDEX_CI = {obj: {name.lower(): f for name, f in idx.items()}
                  for obj, idx in FIELD_INDEX.items()}

# (ApiName, DefaultProbability, IsClosed, IsWon, ForecastCategoryName). "Technical Validation"
# is the org's own stage: the default stage map does not know it.
OPPORTUNITY_STAGES: tuple[tuple[str, int, bool, bool, str], ...] = (
    ("Prospecting", 10, False, False, "Pipeline"),
    ("Qualification", 10, False, False, "Pipeline"),
    ("Needs Analysis", 20, False, False, "Pipeline"),
    ("Value Proposition", 50, False, False, "Pipeline"),
    ("Technical Validation", 55, False, False, "Pipeline"),
    ("Id. Decision Makers", 60, False, False, "Pipeline"),
    ("Perception Analysis", 70, False, False, "Pipeline"),
    ("Proposal/Price Quote", 75, False, False, "BestCase"),
    ("Negotiation/Review", 90, False, False, "Commit"),
    ("Closed Won", 100, True, True, "Closed"),
    ("Closed Lost", 0, True, False, "Omitted"),
)
STAGE_INFO = {row[0]: row for row in OPPORTUNITY_STAGES}
OPEN_STAGES = tuple(row[0] for row in OPPORTUNITY_STAGES if not row[2])

# The org's currencies (IsoCode, CurrencyType.ConversionRate, IsActive): units of the currency
# per one USD, the corporate currency. JPY was used once and is inactive now.
CORPORATE_CURRENCY = "USD"
CURRENCY_TYPES: tuple[tuple[str, float, bool], ...] = (
    ("USD", 1.0, True), ("EUR", 0.9, True), ("GBP", 0.78, True), ("JPY", 150.0, False),
)
ACTIVE_CURRENCIES = tuple(code for code, _, active in CURRENCY_TYPES if active)
# Advanced currency management: (IsoCode, StartDate, ConversionRate) per period; the first
# period of each currency starts at the beginning of time and the last runs to its end, as
# Salesforce shows them.
DATED_RATES: tuple[tuple[str, str, float], ...] = (
    ("USD", "0001-01-01", 1.0),
    ("EUR", "0001-01-01", 0.95), ("EUR", "2026-04-01", 0.92), ("EUR", "2026-10-01", 0.9),
    ("GBP", "0001-01-01", 0.8), ("GBP", "2026-04-01", 0.79), ("GBP", "2026-10-01", 0.78),
)
END_OF_TIME = "9999-12-31"

# (ApiName, IsConverted, IsDefault)
LEAD_STATUSES: tuple[tuple[str, bool, bool], ...] = (
    ("Open - Not Contacted", False, True),
    ("Working - Contacted", False, False),
    ("Closed - Converted", True, False),
    ("Closed - Not Converted", False, False),
)
# (ApiName, IsClosed, IsDefault): a Task's IsClosed follows its status, as in Salesforce.
TASK_STATUS_ROWS: tuple[tuple[str, bool, bool], ...] = (
    ("Not Started", False, True),
    ("In Progress", False, False),
    ("Completed", True, False),
    ("Waiting on someone else", False, False),
    ("Deferred", False, False),
)
TASK_STATUSES = tuple(row[0] for row in TASK_STATUS_ROWS)
CLOSED_TASK_STATUSES = frozenset(row[0] for row in TASK_STATUS_ROWS if row[1])
PICKLISTS: dict[tuple[str, str], tuple[str, ...]] = {
    ("Opportunity", "StageName"): tuple(row[0] for row in OPPORTUNITY_STAGES),
    ("Lead", "Status"): tuple(row[0] for row in LEAD_STATUSES),
    ("Task", "Status"): TASK_STATUSES,
    ("Task", "Priority"): ("High", "Normal", "Low"),
    ("Opportunity", "CurrencyIsoCode"): ACTIVE_CURRENCIES,
    ("OpportunityHistory", "CurrencyIsoCode"): ACTIVE_CURRENCIES,
    ("CurrencyType", "IsoCode"): tuple(row[0] for row in CURRENCY_TYPES),
    ("DatedConversionRate", "IsoCode"): tuple(row[0] for row in CURRENCY_TYPES),
}


def describe_field(obj: str, f: Field) -> dict[str, object]:
    """One entry of a describe() `fields` list, with the keys clients look at."""
    return {
        "name": f.name, "label": f.name.replace("__c", "").replace("_", " "), "type": f.type,
        "custom": f.custom, "updateable": f.updateable, "createable": f.updateable,
        "nillable": f.nillable, "filterable": True, "sortable": f.type != "textarea",
        "calculated": False, "referenceTo": list(f.reference_to),
        "relationshipName": f.relationship, "length": 255 if f.type in ("string", "email") else 0,
        "picklistValues": [
            {"value": v, "label": v, "active": True, "defaultValue": False}
            for v in PICKLISTS.get((obj, f.name), ())
        ],
    }


def describe_object(name: str, version: str) -> dict[str, object]:
    return {
        "name": name, "label": name, "keyPrefix": KEY_PREFIX[name], "custom": False,
        "queryable": True, "createable": name in CREATEABLE, "updateable": name in CREATEABLE,
        "fields": [describe_field(name, f) for f in FIELDS[name]],
        "urls": object_urls(name, version),
    }


def object_urls(name: str, version: str) -> dict[str, str]:
    base = f"/services/data/v{version}/sobjects/{name}"
    return {"sobject": base, "describe": f"{base}/describe", "rowTemplate": f"{base}/{{ID}}"}


def describe_global(version: str) -> dict[str, object]:
    return {
        "encoding": "UTF-8", "maxBatchSize": 200,
        "sobjects": [
            {"name": name, "label": name, "keyPrefix": KEY_PREFIX[name], "custom": False,
             "queryable": True, "createable": name in CREATEABLE,
             "updateable": name in CREATEABLE, "urls": object_urls(name, version)}
            for name in FIELDS
        ],
    }
