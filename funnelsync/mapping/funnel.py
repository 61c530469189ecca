"""Default maps from CRM stage values to funnel stages (FUNNEL_MODEL.md), merged with config."""

from __future__ import annotations

from funnelsync.config.models import AppConfig

SALESFORCE_LEAD_STATUS: dict[str, str] = {
    "Open - Not Contacted": "awareness",
    "Working - Contacted": "interest",
    "Closed - Converted": "consideration",
    "Closed - Not Converted": "lost",
}

SALESFORCE_OPPORTUNITY_STAGE: dict[str, str] = {
    "Prospecting": "consideration",
    "Qualification": "consideration",
    "Needs Analysis": "intent",
    "Value Proposition": "intent",
    "Id. Decision Makers": "intent",
    "Perception Analysis": "intent",
    "Proposal/Price Quote": "decision",
    "Negotiation/Review": "decision",
    "Closed Won": "purchase",
    "Closed Lost": "lost",
}

HUBSPOT_LIFECYCLE_STAGE: dict[str, str] = {
    "subscriber": "awareness",
    "lead": "awareness",
    "marketingqualifiedlead": "interest",
    "salesqualifiedlead": "consideration",
    "opportunity": "intent",
    "customer": "purchase",
    "evangelist": "purchase",
}

HUBSPOT_DEAL_STAGES: dict[str, dict[str, str]] = {
    "default": {
        "appointmentscheduled": "consideration",
        "qualifiedtobuy": "consideration",
        "presentationscheduled": "intent",
        "decisionmakerboughtin": "intent",
        "contractsent": "decision",
        "closedwon": "purchase",
        "closedlost": "lost",
    },
}


class StageMaps:
    """The effective stage maps: defaults overridden by the config's [mapping] section."""

    def __init__(self, config: AppConfig | None = None) -> None:
        cfg = config or AppConfig()
        sf, hs = cfg.mapping.salesforce, cfg.mapping.hubspot
        self.lead_status = {**SALESFORCE_LEAD_STATUS, **sf.lead_status}
        self.opportunity_stage = {**SALESFORCE_OPPORTUNITY_STAGE, **sf.opportunity_stage}
        self.lifecycle_stage = {**HUBSPOT_LIFECYCLE_STAGE, **hs.lifecycle_stage}
        self.deal_stages = {p: dict(m) for p, m in HUBSPOT_DEAL_STAGES.items()}
        for pipeline, overrides in hs.deal_stages.items():
            self.deal_stages.setdefault(pipeline, {}).update(overrides)

    def hubspot_deal_stage(self, pipeline: str | None, stage: str | None) -> str | None:
        """Funnel stage of a HubSpot deal stage id within its pipeline, or None if unmapped."""
        return self.deal_stages.get(pipeline or "default", {}).get(stage or "")
