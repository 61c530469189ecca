"""HubSpot half of the sandbox data: owners, contacts, deals, tasks (all values strings;
a contact's company size is the ``numemployees`` band holding the person's head count)."""

from __future__ import annotations

import random

from funnelsync.sandbox.common import DAY_MS, hs_datetime, rint
from funnelsync.sandbox.data import people as data_people
from funnelsync.sandbox.data.dataset import Dataset
from funnelsync.sandbox.data.journeys import stage_path, stage_times
from funnelsync.sandbox.hubspot.schema import (
    CUSTOM_PIPELINE_ID,
    CUSTOM_STAGES,
    DEFAULT_STAGES,
    HOME_AMOUNT,
    LEAD_STATUS,
    LIFECYCLE,
    STAGE_META,
    company_size_band,
    home_amount,
)
from funnelsync.sandbox.scenarios import Journey

CONTACT_ID_BASE = 1000
DEAL_ID_BASE = 5_000_000
TASK_ID_BASE = 9_000_000
OWNER_ID_BASE = 100
_LIFECYCLE_WEIGHTS = (15, 30, 20, 12, 10, 8, 2, 3)


def add_all(ds: Dataset, rng: random.Random, people: list[data_people.Person],
            owners: list[data_people.Owner], leads: int, deals: int,
            plan: list[Journey] | None = None) -> None:
    ds.hs_owners = _owners(owners, ds.now_ms)
    ds.hs["contacts"] = _contacts(ds, rng, people, leads)
    if plan is None:
        ds.hs["deals"] = _deals(ds, rng, deals)
    else:
        ds.hs["deals"], deals = _planned_deals(ds, rng, plan), len(plan)
    ds.hs["tasks"] = _tasks(ds, rng, deals // 10)
    ds.counters.update({"contacts": CONTACT_ID_BASE + leads + 1,
                        "deals": DEAL_ID_BASE + deals + 1,
                        "tasks": TASK_ID_BASE + deals // 10 + 1})


def owner_id(number: int) -> str:
    return str(OWNER_ID_BASE + number)


def _owners(owners: list[data_people.Owner], now_ms: int) -> list[dict]:
    stamp = hs_datetime(now_ms - 400 * DAY_MS)
    return [{
        "id": owner_id(i), "email": o.email, "firstName": o.first, "lastName": o.last,
        "type": "PERSON", "userId": 7_000_000 + i, "userIdIncludingInactive": 7_000_000 + i,
        "createdAt": stamp, "updatedAt": stamp, "archived": not o.active, "teams": [],
    } for i, o in enumerate(owners, start=1)]


def _pick_owner(rng: random.Random, unowned: float) -> str | None:
    roll = rng.random()
    if roll < unowned:
        return None
    if roll < unowned + 0.04:
        return owner_id(rng.choice(data_people.INACTIVE_OWNER_NUMBERS))
    return owner_id(rng.choice(data_people.ACTIVE_OWNER_NUMBERS))


def _record(rid: int, props: dict, archived: bool, rng: random.Random) -> dict:
    props["hs_object_id"] = str(rid)
    # `tb` orders ties in search results: deliberately not id order, like the real API.
    return {"id": str(rid), "properties": props, "archived": archived,
            "tb": rng.getrandbits(30)}


def _ties(rng: random.Random, now_ms: int) -> list[int]:
    return [now_ms - rint(rng, 2, 360) * DAY_MS + rint(rng, 0, DAY_MS) for _ in range(5)]


def _modified(rng: random.Random, start: int, now_ms: int, ties: list[int]) -> int:
    if rng.random() < 0.08:
        later = [t for t in ties if t > start]
        if later:
            return rng.choice(later)
    return rint(rng, start, max(start + 1, now_ms - 60_000))


def _contacts(ds: Dataset, rng: random.Random, people: list[data_people.Person],
              count: int) -> dict[str, dict]:
    shared = [p for p in people if p.shared]
    ties = _ties(rng, ds.now_ms)
    out: dict[str, dict] = {}
    for i in range(count):
        rid = CONTACT_ID_BASE + 1 + i
        if i < len(shared):
            person, email = shared[i], data_people.hs_email_for(shared[i], rng)
        else:
            person = data_people.people(rng, 1)[0]
            email = f"{person.first}.{person.last}.{rid}@{person.company.split()[0]}-hs.example"
        props = _contact_props(ds, rng, person, email.lower() if i >= len(shared) else email,
                               ties)
        out[str(rid)] = _record(rid, props, i >= len(shared) and rng.random() < 0.03, rng)
    return out


def _contact_props(ds: Dataset, rng: random.Random, p: data_people.Person, email: str,
                   ties: list[int]) -> dict[str, str | None]:
    now = ds.now_ms
    created = now - rint(rng, DAY_MS, 365 * DAY_MS)
    stage_no = rng.choices(range(len(LIFECYCLE)), _LIFECYCLE_WEIGHTS)[0]
    entered = _lifecycle_entries(rng, stage_no, created, now)
    modified = _modified(rng, max(entered.values(), default=created), now, ties)
    engaged = rng.random()
    props: dict[str, str | None] = {
        "email": email, "firstname": p.first, "lastname": p.last, "company": p.company,
        "jobtitle": p.title, "industry": data_people.HS_INDUSTRY.get(p.industry or ""),
        "numemployees": None if p.employees is None else company_size_band(p.employees),
        "country": p.country, "hs_analytics_source": data_people.HS_SOURCES.get(p.source or ""),
        "lifecyclestage": LIFECYCLE[stage_no], "hs_lead_status": rng.choice(LEAD_STATUS + (None,)),
        "hubspot_owner_id": _pick_owner(rng, 0.10),
        "hs_email_open": str(int(engaged * 40)), "hs_email_click": str(int(engaged * 9)),
        "num_conversion_events": str(rint(rng, 0, 6)),
        "hs_analytics_num_page_views": str(int(engaged * rint(rng, 1, 120))),
        "notes_last_updated": hs_datetime(rint(rng, created, now)) if engaged > 0.4 else None,
        "createdate": hs_datetime(created), "lastmodifieddate": hs_datetime(modified),
        "hs_lastmodifieddate": hs_datetime(modified), "funnel_stage": None, "funnel_score": None,
    }
    for stage, at in entered.items():
        props[f"hs_v2_date_entered_{stage}"] = hs_datetime(at)
    return props


def _lifecycle_entries(rng: random.Random, stage_no: int, created: int, now: int) -> dict:
    if LIFECYCLE[stage_no] == "other":
        return {"other": created}
    steps = [s for s in LIFECYCLE[: stage_no + 1] if s == LIFECYCLE[stage_no] or rng.random() < 0.7]
    at, out = created, {}
    for stage in steps:
        out[stage] = at
        at = min(now - 60_000, at + rint(rng, 60_000, 20 * DAY_MS))
    return out


def _deals(ds: Dataset, rng: random.Random, count: int) -> dict[str, dict]:
    now = ds.now_ms
    ties = _ties(rng, now)
    # A bulk import stamped a large block of deals with one hs_lastmodifieddate: at 20,000 deals
    # more than 10,000 share it, past the search API's 10,000-result cap.
    block_ms = now - 3 * DAY_MS + 12 * 3_600_000 + 345
    block = int(count * (0.55 if count >= 20_000 else 0.10))
    default_open = tuple(s[0] for s in DEFAULT_STAGES if not s[3])
    custom_open = tuple(s[0] for s in CUSTOM_STAGES if not s[3])
    out: dict[str, dict] = {}
    for i in range(count):
        rid = DEAL_ID_BASE + 1 + i
        custom = rng.random() < 0.15
        if custom:
            path = stage_path(rng, custom_open, "1190345", "1190346")
        else:
            path = stage_path(rng, default_open, "closedwon", "closedlost")
        stale = rng.random() < 0.15
        times = stage_times(rng, len(path), block_ms if i < block else now, stale)
        modified = block_ms if i < block else _modified(rng, times[-1], now, ties)
        props = _deal_props(ds, rng, rid, path, times, custom, modified)
        out[str(rid)] = _record(rid, props, i >= block and rng.random() < 0.03, rng)
    return out


def _planned_deals(ds: Dataset, rng: random.Random, plan: list[Journey]) -> dict[str, dict]:
    """A scenario's deals: every path and time from its plan, none archived."""
    out: dict[str, dict] = {}
    for i, journey in enumerate(plan):
        rid = DEAL_ID_BASE + 1 + i
        times = journey.times(ds.now_ms)
        modified = _modified(rng, times[-1], ds.now_ms, [])
        props = _deal_props(ds, rng, rid, journey.path, times,
                            journey.pipeline == CUSTOM_PIPELINE_ID, modified)
        out[str(rid)] = _record(rid, props, False, rng)
    return out


def _amount(rng: random.Random) -> str | None:
    roll = rng.random()
    if roll < 0.04:
        return None
    if roll < 0.06:
        return ""
    if roll < 0.07:
        return rng.choice(("n/a", "TBD"))
    cents = rng.choice(("", "", ".5", ".25"))
    return f"{rint(rng, 20, 2500) * 100}{cents}"


def _deal_props(ds: Dataset, rng: random.Random, rid: int, path: list[str], times: list[int],
                custom: bool, modified: int) -> dict[str, str | None]:
    stage = path[-1]
    _, (_, _, prob, closed) = STAGE_META[stage]
    close_ms = times[-1] if closed else times[-1] + rint(rng, -30, 90) * DAY_MS
    activity = rint(rng, times[-1], ds.now_ms) if rng.random() < 0.7 else None
    props: dict[str, str | None] = {
        "dealname": f"{rng.choice(data_people.WORDS)} deal {rid}", "amount": _amount(rng),
        "deal_currency_code": rng.choices(("USD", "EUR", "GBP"), (80, 12, 8))[0],
        "dealstage": stage, "pipeline": CUSTOM_PIPELINE_ID if custom else "default",
        "closedate": hs_datetime(close_ms), "hubspot_owner_id": _pick_owner(rng, 0.03),
        "hs_is_closed": "true" if closed else "false",
        "hs_is_closed_won": "true" if stage in ("closedwon", "1190345") else "false",
        "hs_deal_stage_probability": prob,
        "notes_last_updated": hs_datetime(activity) if activity else None,
        "createdate": hs_datetime(times[0]), "hs_lastmodifieddate": hs_datetime(modified),
        "funnel_stage": None, "funnel_score": None, "funnel_win_probability": None,
    }
    props[HOME_AMOUNT] = home_amount(props)
    for st, at in zip(path, times, strict=True):
        props[f"hs_v2_date_entered_{st}"] = hs_datetime(at)
    return props


def _tasks(ds: Dataset, rng: random.Random, count: int) -> dict[str, dict]:
    deal_ids = list(ds.hs["deals"])
    out: dict[str, dict] = {}
    for i in range(count):
        rid = TASK_ID_BASE + 1 + i
        at = hs_datetime(rint(rng, ds.now_ms - 200 * DAY_MS, ds.now_ms))
        props: dict[str, str | None] = {
            "hs_task_subject": rng.choice(("Call back", "Send proposal", "Check in")),
            "hs_task_body": None, "hs_task_status": rng.choice(("NOT_STARTED", "COMPLETED")),
            "hs_task_priority": rng.choice(("LOW", "MEDIUM", "HIGH")), "hs_timestamp": at,
            "hubspot_owner_id": _pick_owner(rng, 0.0), "hs_task_type": "TODO",
            "hs_createdate": at, "createdate": at, "hs_lastmodifieddate": at,
        }
        out[str(rid)] = _record(rid, props, False, rng)
        ds.hs_assoc[str(rid)] = {rng.choice(deal_ids)} if deal_ids else set()
    return out
