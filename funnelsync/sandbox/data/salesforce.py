"""Salesforce half of the sandbox data: users, queues, stage and status catalogs, leads,
accounts, opportunities (with their stage history) and tasks, as the REST API returns them."""

from __future__ import annotations

import random

from funnelsync.sandbox import scenarios
from funnelsync.sandbox.common import DAY_MS, rint, sf_date, sf_datetime, sf_id
from funnelsync.sandbox.data import people as data_people
from funnelsync.sandbox.data.dataset import Dataset
from funnelsync.sandbox.data.journeys import stage_path, stage_times
from funnelsync.sandbox.data.people import Person
from funnelsync.sandbox.salesforce.schema import (
    CORPORATE_CURRENCY,
    CURRENCY_TYPES,
    DATED_RATES,
    END_OF_TIME,
    LEAD_STATUSES,
    OPPORTUNITY_STAGES,
    STAGE_INFO,
    TASK_STATUS_ROWS,
)

SF_OPEN_PATH = tuple(row[0] for row in OPPORTUNITY_STAGES if not row[2])
CUSTOM_SF_STAGE = "Technical Validation"
ORG_ID = "00D5g000004FSyEEAW"
ORG_AGE_DAYS = 400  # users, queues, catalogs and object metadata date from the org's setup


# Share of the default data's opportunities in each currency (a scenario's are all USD).
CURRENCY_WEIGHTS = {"USD": 85, "EUR": 10, "GBP": 5}


def add_all(ds: Dataset, rng: random.Random, people: list[Person],
            owners: list[data_people.Owner], deals: int,
            plan: list[scenarios.Journey] | None = None,
            currency_rng: random.Random | None = None) -> None:
    """The org (users, queues, catalogs, currencies), one lead per person, ``deals``
    opportunities (or the plan's) with their accounts and tasks. ``currency_rng`` picks each
    opportunity's currency apart from ``rng``, so the rest of the data does not depend on it."""
    _add_org(ds, owners)
    _add_leads(ds, rng, people)
    _add_opportunities(ds, rng, deals, plan)
    _set_currencies(ds, currency_rng if plan is None else None)


def _add_org(ds: Dataset, owners: list[data_people.Owner]) -> None:
    now = sf_datetime(ds.now_ms - ORG_AGE_DAYS * DAY_MS)
    users: dict[str, dict] = {}
    for i, o in enumerate(owners, start=1):
        uid = sf_id("005", i)
        users[uid] = {
            "Id": uid, "IsDeleted": False, "CreatedDate": now, "LastModifiedDate": now,
            "SystemModstamp": now, "Username": o.email.replace(".io", ".io.sf"),
            "FirstName": o.first, "LastName": o.last, "Name": f"{o.first} {o.last}",
            "Email": o.email, "IsActive": o.active, "Title": o.title, "ManagerId": None,
            "UserType": "Standard", "TimeZoneSidKey": o.tz,
        }
    manager = sf_id("005", 1)
    for uid, row in users.items():
        row["ManagerId"] = None if uid == manager else manager
    ds.sf["User"] = users
    ds.sf["Group"] = {
        sf_id("00G", i): {
            "Id": sf_id("00G", i), "IsDeleted": False, "CreatedDate": now,
            "LastModifiedDate": now, "SystemModstamp": now, "Name": name,
            "DeveloperName": name.replace(" ", "_"), "Type": "Queue", "Email": None,
        }
        for i, name in enumerate(("Inbound Leads Queue", "Partner Leads Queue"), start=1)
    }
    _add_catalogs(ds, now)
    _add_currencies(ds, now)


def _add_currencies(ds: Dataset, now: str) -> None:
    """CurrencyType and DatedConversionRate rows, as a multi-currency org with advanced
    currency management has them."""
    ds.sf["CurrencyType"] = {
        sf_id("01L", i): {
            "Id": sf_id("01L", i), "IsoCode": code, "ConversionRate": rate, "DecimalPlaces": 2,
            "IsActive": active, "IsCorporate": code == CORPORATE_CURRENCY, "CreatedDate": now,
            "LastModifiedDate": now, "SystemModstamp": now}
        for i, (code, rate, active) in enumerate(CURRENCY_TYPES, start=1)}
    rows = {}
    for i, (code, start, rate) in enumerate(DATED_RATES, start=1):
        following = [s for c, s, _ in DATED_RATES if c == code and s > start]
        rows[sf_id("04w", i)] = {
            "Id": sf_id("04w", i), "IsoCode": code, "ConversionRate": rate, "StartDate": start,
            "NextStartDate": min(following) if following else END_OF_TIME, "CreatedDate": now,
            "LastModifiedDate": now, "SystemModstamp": now}
    ds.sf["DatedConversionRate"] = rows


def _set_currencies(ds: Dataset, rng: random.Random | None) -> None:
    """Each opportunity's currency (and its history rows'): drawn from ``rng`` by
    CURRENCY_WEIGHTS, else the corporate currency."""
    codes, weights = list(CURRENCY_WEIGHTS), list(CURRENCY_WEIGHTS.values())
    for snapshot, _, _ in ds.sf.history_plan:
        row = ds.sf["Opportunity"][snapshot["Id"]]
        code = rng.choices(codes, weights)[0] if rng else CORPORATE_CURRENCY
        row["CurrencyIsoCode"] = snapshot["CurrencyIsoCode"] = code


def _add_catalogs(ds: Dataset, now: str) -> None:
    stages = {}
    for order, (name, prob, closed, won, forecast) in enumerate(OPPORTUNITY_STAGES, start=1):
        sid = sf_id("01J", order)
        stages[sid] = {
            "Id": sid, "MasterLabel": name, "ApiName": name, "IsActive": True,
            "IsClosed": closed, "IsWon": won, "DefaultProbability": float(prob),
            "SortOrder": order, "ForecastCategoryName": forecast,
            "Description": "Custom stage of this org" if name == CUSTOM_SF_STAGE else None,
            "CreatedDate": now, "LastModifiedDate": now, "SystemModstamp": now,
        }
    ds.sf["OpportunityStage"] = stages
    statuses = {}
    for order, (name, converted, default) in enumerate(LEAD_STATUSES, start=1):
        sid = sf_id("01J", 100 + order)
        statuses[sid] = {
            "Id": sid, "MasterLabel": name, "ApiName": name, "IsConverted": converted,
            "IsDefault": default, "SortOrder": order, "CreatedDate": now,
            "LastModifiedDate": now, "SystemModstamp": now,
        }
    ds.sf["LeadStatus"] = statuses
    ds.sf["TaskStatus"] = {
        sf_id("01J", 200 + order): {
            "Id": sf_id("01J", 200 + order), "MasterLabel": name, "ApiName": name,
            "IsClosed": closed, "IsDefault": default, "SortOrder": order, "CreatedDate": now,
            "LastModifiedDate": now, "SystemModstamp": now}
        for order, (name, closed, default) in enumerate(TASK_STATUS_ROWS, start=1)}


def modstamp(rng: random.Random, start_ms: int, now_ms: int, ties: list[int]) -> int:
    """A modification time after `start_ms`; one in ten lands on a shared 'bulk import' time."""
    if rng.random() < 0.1:
        later = [t for t in ties if t >= start_ms]
        if later:
            return rng.choice(later)
    return rint(rng, start_ms, max(start_ms + 1, now_ms - 60_000))


def tie_times(rng: random.Random, now_ms: int) -> list[int]:
    return sorted(now_ms - rint(rng, 1, 360) * DAY_MS + 9 * 3_600_000 for _ in range(6))


def _lead_owner(rng: random.Random, ds: Dataset) -> str:
    roll = rng.random()
    if roll < 0.08:
        return sf_id("00G", 1 + (roll < 0.02))
    users = data_people.ACTIVE_OWNER_NUMBERS if roll > 0.12 else data_people.INACTIVE_OWNER_NUMBERS
    return sf_id("005", rng.choice(users))


def _add_leads(ds: Dataset, rng: random.Random, people: list[Person]) -> None:
    now = ds.now_ms
    ties = tie_times(rng, now)
    rows: dict[str, dict] = {}
    statuses = [s[0] for s in LEAD_STATUSES]
    for i, p in enumerate(people, start=1):
        lid = sf_id("00Q", i)
        created = now - rint(rng, DAY_MS, 365 * DAY_MS)
        mod = modstamp(rng, created, now, ties)
        status = rng.choices(statuses, (35, 30, 15, 20))[0]
        activity = rint(rng, created, now) if rng.random() < 0.7 else None
        rows[lid] = {
            "Id": lid, "IsDeleted": p.sf_deleted, "CreatedDate": sf_datetime(created),
            "LastModifiedDate": sf_datetime(mod), "SystemModstamp": sf_datetime(mod),
            "FirstName": p.first, "LastName": p.last, "Name": f"{p.first} {p.last}",
            "Company": p.company, "Email": p.sf_email, "Title": p.title,
            "Industry": p.industry, "NumberOfEmployees": p.employees, "Country": p.country,
            "LeadSource": p.source, "Rating": rng.choice(("Hot", "Warm", "Cold", None)),
            "Status": status, "OwnerId": _lead_owner(rng, ds),
            "IsConverted": status == "Closed - Converted",
            "ConvertedDate": sf_date(mod) if status == "Closed - Converted" else None,
            "ConvertedOpportunityId": None,
            "LastActivityDate": sf_date(activity) if activity else None,
            "Funnel_Stage__c": None, "Funnel_Score__c": None,
        }
    ds.sf["Lead"] = rows
    ds.sf["Contact"] = {}


def _add_opportunities(ds: Dataset, rng: random.Random, count: int,
                       plan: list[scenarios.Journey] | None = None) -> None:
    now = ds.now_ms
    ties = tie_times(rng, now)
    count = count if plan is None else len(plan)
    accounts = _add_accounts(ds, rng, max(10, count // 4))
    opps: dict[str, dict] = {}
    for i in range(1, count + 1):
        oid = sf_id("006", i)
        if plan is None:
            path = stage_path(rng, SF_OPEN_PATH, "Closed Won", "Closed Lost", CUSTOM_SF_STAGE)
            stale = rng.random() < 0.15
            times = stage_times(rng, len(path), now, stale)
        else:
            path, times, stale = plan[i - 1].path, plan[i - 1].times(now), False
        row = _opportunity(ds, rng, oid, path, times, accounts, stale)
        if plan is not None:
            row["IsDeleted"] = False  # a scenario's counts are exact
        row["SystemModstamp"] = row["LastModifiedDate"] = sf_datetime(
            modstamp(rng, times[-1], now, ties))
        opps[oid] = row
        snapshot = {k: row[k] for k in ("Id", "IsDeleted", "Amount", "CloseDate", "OwnerId")}
        ds.sf.history_plan.append((snapshot, path, times))
    ds.sf["Opportunity"] = opps
    ds.sf["Task"] = _sf_tasks(ds, rng, list(opps), count // 5)


def _opportunity(ds: Dataset, rng: random.Random, oid: str, path: list[str],
                 times: list[int], accounts: list[str], stale: bool) -> dict:
    stage = path[-1]
    _, prob, closed, won, forecast = STAGE_INFO[stage]
    account = rng.choice(accounts)
    close_ms = times[-1] if closed else times[-1] + rint(rng, -30, 90) * DAY_MS
    amount = None if rng.random() < 0.05 else float(rint(rng, 20, 2500) * 100)
    activity = None if stale or rng.random() < 0.25 else rint(rng, times[-1], ds.now_ms)
    return {
        "Id": oid, "IsDeleted": rng.random() < 0.03, "CreatedDate": sf_datetime(times[0]),
        "LastModifiedDate": None, "SystemModstamp": None,
        "Name": f"{ds.sf['Account'][account]['Name']} - {rint(rng, 5, 500)} seats",
        "AccountId": account, "Amount": amount, "CloseDate": sf_date(close_ms),
        "StageName": stage, "Probability": float(prob), "IsClosed": closed, "IsWon": won,
        "ForecastCategoryName": forecast,
        "Type": rng.choice(("New Business", "Existing Business", None)),
        "LeadSource": rng.choice(data_people.SF_SOURCES),
        "OwnerId": sf_id("005", rng.choice(
            data_people.INACTIVE_OWNER_NUMBERS if rng.random() < 0.05
            else data_people.ACTIVE_OWNER_NUMBERS)),
        "LastActivityDate": sf_date(activity) if activity else None,
        "LastStageChangeDate": sf_datetime(times[-1]),
        "Funnel_Stage__c": None, "Funnel_Score__c": None, "Win_Probability__c": None,
    }


def _add_accounts(ds: Dataset, rng: random.Random, count: int) -> list[str]:
    stamp = sf_datetime(ds.now_ms - 500 * DAY_MS)
    rows = {}
    for i in range(1, count + 1):
        aid = sf_id("001", i)
        company = data_people.company_name(rng, i)
        rows[aid] = {
            "Id": aid, "IsDeleted": False, "CreatedDate": stamp, "LastModifiedDate": stamp,
            "SystemModstamp": stamp, "Name": company,
            "Industry": rng.choice(data_people.SF_INDUSTRIES),
            "NumberOfEmployees": rng.choice((12, 80, 250, 1200, 9000)),
            "BillingCountry": rng.choice(data_people.COUNTRIES),
            "OwnerId": sf_id("005", rng.choice(data_people.ACTIVE_OWNER_NUMBERS)),
        }
    ds.sf["Account"] = rows
    return list(rows)


def _sf_tasks(ds: Dataset, rng: random.Random, opp_ids: list[str],
              count: int) -> dict[str, dict]:
    rows = {}
    for i in range(1, count + 1):
        tid = sf_id("00T", i)
        opp = ds.sf["Opportunity"][rng.choice(opp_ids)]
        at = rint(rng, ds.now_ms - 200 * DAY_MS, ds.now_ms)
        status = rng.choice(("Not Started", "Completed", "Completed", "In Progress"))
        stamp = sf_datetime(at)
        rows[tid] = {
            "Id": tid, "IsDeleted": False, "CreatedDate": stamp, "LastModifiedDate": stamp,
            "SystemModstamp": stamp, "Subject": rng.choice(("Call", "Email", "Demo", "Follow up")),
            "Description": None, "WhatId": opp["Id"], "WhoId": None, "OwnerId": opp["OwnerId"],
            "Status": status, "Priority": "Normal", "ActivityDate": sf_date(at + 3 * DAY_MS),
            "IsClosed": status == "Completed", "Type": None,
        }
    ds.counters["00T"] = count + 1
    return rows
