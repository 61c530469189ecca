"""Salesforce wire shapes (as in shared/docs/API_SHAPES.md) and helpers for `responses` tests."""

from __future__ import annotations

from typing import Any

import responses
from responses import matchers
from support.clock import FakeClock

from funnelsync.config.models import LimitsConfig, SalesforceConfig
from funnelsync.connectors.http import RetryPolicy
from funnelsync.connectors.salesforce.connector import SalesforceConnector

LOGIN = "https://login.salesforce.com"
INSTANCE = "https://acme.my.salesforce.com"
API = f"{INSTANCE}/services/data/v59.0"
SOAP_PATH = "/services/Soap/u/59.0"
SESSION = "00D5e000000AbCd!AQ4AQFakeSessionSecretValue"
PASSWORD = "hunter2-Secret-pw"
TOKEN = "SecTok3nXyz987"
LIMIT = {"Sforce-Limit-Info": "api-usage=18/100000"}
BATCH = {"Sforce-Query-Options": "batchSize=2000"}


def password_config(**extra: Any) -> SalesforceConfig:
    return SalesforceConfig(username="dana@acme.test", password=PASSWORD,
                            security_token=TOKEN, **extra)


def connector(config: SalesforceConfig | None = None, *, clock: FakeClock | None = None,
              limits: LimitsConfig | None = None, **kwargs: Any) -> SalesforceConnector:
    clock = clock or FakeClock()
    policy = RetryPolicy(30.0, base=1.0, cap=8.0, sleep=clock.sleep, clock=clock,
                         rand=lambda: 1.0)
    return SalesforceConnector(config or password_config(), limits or LimitsConfig(),
                               retry=policy, bulk_poll_seconds=0.0, **kwargs)


def soap_ok(server: str = INSTANCE, session: str = SESSION) -> str:
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" '
        'xmlns="urn:partner.soap.sforce.com"><soapenv:Body><loginResponse><result>'
        f"<serverUrl>{server}/services/Soap/u/59.0/00D5e000000AbCd</serverUrl>"
        f"<sessionId>{session}</sessionId><userId>0055e000001XyZ</userId>"
        "</result></loginResponse></soapenv:Body></soapenv:Envelope>")


def add_soap_login(rsps: responses.RequestsMock, base: str = LOGIN,
                   server: str = INSTANCE, session: str = SESSION) -> None:
    rsps.add(responses.POST, f"{base}{SOAP_PATH}", body=soap_ok(server, session), status=200,
             content_type="text/xml",
             match=[matchers.header_matcher({"SOAPAction": "login"}, strict_match=False)])


def field(name: str, ftype: str = "string", **extra: Any) -> dict[str, Any]:
    return {"name": name, "type": ftype, "custom": name.endswith("__c"), "updateable": True,
            "nillable": True, **extra}


LEAD_FIELDS = [field("Id", "id"), field("FirstName"), field("LastName"), field("Email", "email"),
               field("Company"), field("NumberOfEmployees", "int"), field("Status", "picklist"),
               field("OwnerId", "reference", relationshipName="Owner",
                     referenceTo=["User", "Group"]),
               field("SystemModstamp", "datetime"), field("IsDeleted", "boolean"),
               field("Funnel_Score__c", "double")]


def add_describe(rsps: responses.RequestsMock, sobject: str, fields: list[dict[str, Any]],
                 api: str = API) -> None:
    rsps.add(responses.GET, f"{api}/sobjects/{sobject}/describe",
             json={"name": sobject, "fields": fields}, headers=LIMIT)


def lead(n: int, stamp: str, **extra: Any) -> dict[str, Any]:
    rid = f"00Q5e00000{n:08d}"
    return {"attributes": {"type": "Lead", "url": f"/services/data/v59.0/sobjects/Lead/{rid}"},
            "Id": rid, "LastName": f"Lead {n}", "SystemModstamp": stamp, "IsDeleted": False,
            "Owner": {"attributes": {"type": "User",
                                     "url": "/services/data/v59.0/sobjects/User/0055e01"},
                      "Name": "Dana Kim"}, **extra}


def query_page(records: list[dict[str, Any]], next_url: str | None = None,
               total: int | None = None) -> dict[str, Any]:
    page: dict[str, Any] = {"totalSize": total if total is not None else len(records),
                            "done": next_url is None, "records": records}
    if next_url:
        page["nextRecordsUrl"] = next_url
    return page


def add_query(rsps: responses.RequestsMock, soql: str, body: Any, *, status: int = 200,
              api: str = API, endpoint: str = "queryAll", batch: bool = True,
              headers: dict[str, str] | None = None) -> None:
    match = [matchers.query_param_matcher({"q": soql})]
    if batch:
        match.append(matchers.header_matcher(BATCH, strict_match=False))
    rsps.add(responses.GET, f"{api}/{endpoint}/", json=body, status=status,
             headers=headers or LIMIT, match=match)


def error(code: str, message: str) -> list[dict[str, str]]:
    return [{"message": message, "errorCode": code}]
