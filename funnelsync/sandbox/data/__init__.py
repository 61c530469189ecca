"""Deterministic sandbox data for both CRMs: the same seed and anchor day give the same records.

``generate(seed, leads, deals, now_ms)`` builds N Salesforce Leads and N HubSpot contacts, M
Opportunities and M HubSpot deals, with the mess real orgs have: stale deals, skipped and
backward stage moves, null and text amounts, deleted and archived rows, queue-owned and unowned
leads, inactive owners, people in both CRMs whose e-mails differ only in case or whitespace, and
modification timestamps with ties. Everything is relative to ``now_ms`` (the anchor, midnight
UTC of the server's day) so demos look current.
"""

from __future__ import annotations

import random

from funnelsync.sandbox import scenarios
from funnelsync.sandbox.data import hubspot, people, salesforce
from funnelsync.sandbox.data.dataset import Dataset


def generate(seed: int, leads: int, deals: int, now_ms: int,
             scenario: str = "default") -> Dataset:
    """Build the whole dataset for both CRMs; a scenario other than "default" replaces the deals
    and stage catalogs with its plan (see ``funnelsync.sandbox.scenarios``)."""
    rng = random.Random(seed)
    ds = Dataset(now_ms=now_ms)
    plan = scenarios.build(scenario, deals)
    owners = people.owners()
    persons = people.people(rng, leads)
    salesforce.add_all(ds, rng, persons, owners, deals, plan.salesforce if plan else None,
                       currency_rng=random.Random(f"{seed}:salesforce-currency"))
    hubspot.add_all(ds, rng, persons, owners, leads, deals, plan.hubspot if plan else None)
    if plan is not None:
        scenarios.apply_catalogs(ds.sf["OpportunityStage"], plan)
        ds.hs_pipelines = plan.hs_pipelines()
    return ds


__all__ = ["Dataset", "generate"]
