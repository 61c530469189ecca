"""The sandbox's own endpoints (`/__sandbox/...`), `touch`, and the config file it can write.

`stage` is an admin's setup change (a new deal stage, see `admin`); `touch` changes records.

Control endpoints never fail, are never rate-limited and never count as API calls.
"""

from __future__ import annotations

import re
from pathlib import Path

from funnelsync.sandbox.admin import add_stage
from funnelsync.sandbox.common import Request, Response, hs_datetime, json_response
from funnelsync.sandbox.data.people import owners
from funnelsync.sandbox.hubspot.records import apply as apply_hs
from funnelsync.sandbox.hubspot.schema import LEAD_STATUS, LIFECYCLE, PIPELINES, STAGE_META
from funnelsync.sandbox.salesforce.collections import touch as touch_salesforce
from funnelsync.sandbox.state import SandboxState

_SF_OBJECTS = {"lead": "Lead", "leads": "Lead", "opportunity": "Opportunity",
               "opportunities": "Opportunity"}
_HS_OBJECTS = {"contacts": "contacts", "contact": "contacts", "deals": "deals", "deal": "deals"}


def touch(state: SandboxState, crm: str, obj: str, count: int) -> dict[str, object]:
    """Modify `count` live records of one object at one shared timestamp, like a bulk import."""
    if count < 0:
        raise ValueError("count must be zero or more")
    if crm == "salesforce":
        name = _SF_OBJECTS.get(obj.lower())
        if name is None:
            raise ValueError("salesforce objects for touch: Lead, Opportunity")
        return touch_salesforce(state, name, count)
    if crm == "hubspot":
        name = _HS_OBJECTS.get(obj.lower())
        if name is None:
            raise ValueError("hubspot objects for touch: contacts, deals")
        return _touch_hubspot(state, name, count)
    raise ValueError("crm must be 'salesforce' or 'hubspot'")


def _touch_hubspot(state: SandboxState, obj: str, count: int) -> dict[str, object]:
    with state.lock:
        live = [r for r in state.data.hs[obj].values() if not r["archived"]]
        chosen = state.pick_rng.sample(live, min(count, len(live)))
        now = state.now_ms()
        for rec in chosen:
            apply_hs(obj, rec, _hs_change(state, obj, rec), now)
        state.bump()
        return {"ids": [r["id"] for r in chosen], "modified_at": hs_datetime(now)}


def _hs_change(state: SandboxState, obj: str, rec: dict) -> dict[str, str | None]:
    rng, props = state.pick_rng, rec["properties"]
    if obj == "contacts":
        current = props.get("lifecyclestage")
        later = LIFECYCLE[LIFECYCLE.index(current) + 1: -1] if current in LIFECYCLE[:-1] else ()
        if later and rng.random() < 0.6:
            return {"lifecyclestage": rng.choice(later)}
        return {"hs_lead_status": rng.choice([s for s in LEAD_STATUS
                                              if s != props.get("hs_lead_status")])}
    pipeline_id = STAGE_META.get(props.get("dealstage") or "", ("default",))[0]
    stages = next(stages for pid, _, stages in PIPELINES if pid == pipeline_id)
    others = [s[0] for s in stages if s[0] != props.get("dealstage")]
    if props.get("hs_is_closed") == "true" or rng.random() < 0.5:
        return {"amount": str(rng.randrange(20, 2500) * 100)}
    return {"dealstage": rng.choice(others)}


# -- HTTP -------------------------------------------------------------------------------------
def handle(state: SandboxState, req: Request, m: re.Match) -> Response:
    action = m["action"]
    try:
        if action == "stats" and req.method == "GET":
            return json_response(200, state.stats())
        if action == "reset" and req.method == "POST":
            state.reset()
            return json_response(200, {"reset": True})
        if action == "faults":
            body = req.json() if req.method == "POST" else {}
            return json_response(200, state.set_faults(**(body or {})))
        if action == "touch" and req.method == "POST":
            body = req.json()
            if not isinstance(body, dict):
                raise ValueError("send {\"crm\", \"object\", \"count\"}")
            return json_response(200, touch(state, str(body.get("crm")),
                                            str(body.get("object")), int(body.get("count", 1))))
        if action == "stage" and req.method == "POST":
            body = req.json()
            if not isinstance(body, dict):
                raise ValueError("send {\"crm\", \"label\", \"probability\", \"count\"}")
            return json_response(200, add_stage(state, str(body.get("crm")),
                                                str(body.get("label") or ""),
                                                int(body.get("probability", 50)),
                                                int(body.get("count", 1))))
    except (ValueError, TypeError) as exc:
        return json_response(400, {"error": str(exc)})
    return json_response(404, {"error": f"no control endpoint {req.method} {req.path}"})


def config_toml(url: str, config_path: Path) -> str:
    """A funnelsync config pointing both CRMs at this sandbox, state in SQLite beside the file."""
    db = (config_path.resolve().parent / "funnelsync.db").as_posix()
    return (
        "# Written by `funnelsync sandbox --config-out`: both CRMs point at the local sandbox.\n"
        "[salesforce]\n"
        'username = "demo@funnelsync.local"\n'
        'password = "demo"\n'
        'security_token = "demo"\n'
        f'login_url = "{url}"\n'
        "\n[hubspot]\n"
        'access_token = "pat-demo"\n'
        f'host = "{url}"\n'
        "\n[state]\n"
        f'url = "sqlite:///{db}"\n'
        "\n# The sandbox is local: no need for HubSpot's 100-per-10-seconds pace. Searches\n"
        "# keep the default (the sandbox allows 5 per second, as HubSpot does).\n"
        "[limits]\n"
        "hubspot_requests_per_10s = 10000\n"
        + _routing_example()
    )


def _routing_example() -> str:
    """Round-robin of unowned and queue-owned leads over the sandbox's active owners, and an
    SLA, so `funnelsync demo` shows routing at work (owners are the same people in both CRMs)."""
    members = ", ".join(f'"{o.email}"' for o in owners() if o.active)
    manager = owners()[0].email
    return (
        "\n[routing]\n"
        "only_unowned = true\n"
        "\n[[routing.teams]]\n"
        'name = "inbound"\n'
        f"members = [{members}]\n"
        "\n[[routing.rules]]\n"
        'name = "unowned leads round-robin"\n'
        'team = "inbound"\n'
        "\n[sla]\n"
        "first_touch_hours = 24\n"
        "escalate_hours = 48\n"
        "escalate_to_manager = true\n"
        f'escalation_owner = "{manager}"\n'
    )
