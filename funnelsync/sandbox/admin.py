"""Setup changes an administrator makes in a CRM, as the control endpoint ``stage`` applies them.

A new deal stage: Salesforce gets an OpportunityStage row, and Opportunity's metadata counts as
changed (its StageName picklist gained a value), so a describe asked ``If-Modified-Since`` an
earlier time answers 200 again; HubSpot gets a stage appended to a pipeline, with its
``hs_v2_date_entered_<id>`` property. Then ``count`` live open deals move into the new stage at
one shared time, each with what the CRM records of a stage change (an OpportunityHistory row;
the stage's entry time). Like ``touch``, the move bypasses the API's write validation, which
knows the seed stages only.
"""

from __future__ import annotations

from funnelsync.sandbox.common import hs_datetime, sf_datetime, sf_id
from funnelsync.sandbox.salesforce.api import api_user_id
from funnelsync.sandbox.state import SandboxState

HS_STAGE_ID_BASE = 1_190_400  # numeric ids, as HubSpot gives the stages a portal adds


def add_stage(state: SandboxState, crm: str, label: str, probability: int,
              count: int) -> dict[str, object]:
    """Add the stage ``label`` to ``crm``'s deal stages and move ``count`` open deals into it."""
    if not label.strip() or not 0 <= probability <= 100 or count < 0:
        raise ValueError("send a non-empty label, a probability 0-100 and a count >= 0")
    with state.lock:
        if crm == "salesforce":
            return _salesforce_stage(state, label, probability, count)
        if crm == "hubspot":
            return _hubspot_stage(state, label, probability, count)
    raise ValueError("crm must be 'salesforce' or 'hubspot'")


def _salesforce_stage(state: SandboxState, name: str, probability: int,
                      count: int) -> dict[str, object]:
    stages = state.data.sf["OpportunityStage"]
    if any(row["ApiName"] == name for row in stages.values()):
        raise ValueError(f"Salesforce already has the opportunity stage {name!r}")
    now = state.now_ms()
    stamp = sf_datetime(now)
    order = 1 + max(row["SortOrder"] for row in stages.values())
    sid = sf_id("01J", order)
    stages[sid] = {
        "Id": sid, "MasterLabel": name, "ApiName": name, "IsActive": True, "IsClosed": False,
        "IsWon": False, "DefaultProbability": float(probability), "SortOrder": order,
        "ForecastCategoryName": "Pipeline", "Description": None, "CreatedDate": stamp,
        "LastModifiedDate": stamp, "SystemModstamp": stamp,
    }
    state.sf_metadata_changed["Opportunity"] = now
    live = [r for r in state.data.sf["Opportunity"].values()
            if not r["IsDeleted"] and not r["IsClosed"]]
    chosen = state.pick_rng.sample(live, min(count, len(live)))
    history = state.data.sf["OpportunityHistory"]
    for row in chosen:
        row.update(StageName=name, Probability=float(probability), ForecastCategoryName="Pipeline",
                   LastStageChangeDate=stamp, LastModifiedDate=stamp, SystemModstamp=stamp)
        hid = sf_id("008", len(history) + 1)
        history[hid] = {
            "Id": hid, "IsDeleted": False, "OpportunityId": row["Id"], "StageName": name,
            "Amount": row["Amount"], "CloseDate": row["CloseDate"],
            "Probability": float(probability), "ForecastCategory": "Pipeline",
            "CurrencyIsoCode": row["CurrencyIsoCode"], "CreatedById": api_user_id(),
            "CreatedDate": stamp, "SystemModstamp": stamp,
        }
    state.bump()
    return {"stage": name, "ids": [r["Id"] for r in chosen], "modified_at": stamp}


def _hubspot_stage(state: SandboxState, label: str, probability: int,
                   count: int, pipeline: str = "default") -> dict[str, object]:
    pipelines = state.data.hs_pipelines
    taken = {s[0] for _, _, stages in pipelines for s in stages}
    sid = next(str(n) for n in range(HS_STAGE_ID_BASE, HS_STAGE_ID_BASE + 10_000)
               if str(n) not in taken)
    stage = (sid, label, str(probability / 100), False)
    state.data.hs_pipelines = tuple(
        (pid, name, stages + (stage,) if pid == pipeline else stages)
        for pid, name, stages in pipelines)
    entered = f"hs_v2_date_entered_{sid}"
    state.hs_properties["deals"][entered] = "datetime"
    now = state.now_ms()
    stamp = hs_datetime(now)
    live = [r for r in state.data.hs["deals"].values() if not r["archived"]
            and r["properties"].get("pipeline") == pipeline
            and r["properties"].get("hs_is_closed") != "true"]
    chosen = state.pick_rng.sample(live, min(count, len(live)))
    for rec in chosen:
        rec["properties"].update({"dealstage": sid, "hs_deal_stage_probability": stage[2],
                                  entered: stamp, "hs_lastmodifieddate": stamp})
    state.bump()
    return {"stage": sid, "ids": [r["id"] for r in chosen], "modified_at": stamp}
