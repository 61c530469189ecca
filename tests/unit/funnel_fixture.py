"""A small hand-built funnel: 10 deals, 25 deal stage changes, 5 leads, both catalogs.

Every figure the metric tests assert is worked out by hand in test_metrics.py from this data.
Days are counted from T0 = 2026-01-01 00:00 UTC; NOW = T0 + 90 days (2026-04-01).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from funnelsync.mapping.schema import CatalogStage, FunnelDeal, FunnelLead, StageChange

T0 = datetime(2026, 1, 1, tzinfo=UTC)
NOW = T0 + timedelta(days=90)


def day(n: float) -> datetime:
    return T0 + timedelta(days=n)


def _deal(source: str, sid: str, created: float, stage: str, amount: int | None, *,
          won: bool = False, closed: bool = False, probability: float | None = None,
          entered: float | None = None) -> FunnelDeal:
    return FunnelDeal(source=source, source_id=sid, stage=stage,
                      pipeline="default" if source == "hubspot" else None,
                      amount=None if amount is None else Decimal(amount), currency="USD",
                      is_closed=closed or won, is_won=won, probability=probability,
                      created_at=day(created),
                      stage_entered_at=None if entered is None else day(entered))


def _path(source: str, rid: str, steps: list[tuple[float, str]]) -> list[StageChange]:
    """Changes along a path; the first has no from-stage (the creation row)."""
    out, prev = [], None
    for at, stage in steps:
        out.append(StageChange(source=source, record_id=rid, from_stage=prev, to_stage=stage,
                               changed_at=day(at)))
        prev = stage
    return out


def deals() -> list[FunnelDeal]:
    return [
        _deal("salesforce", "S1", 0, "Closed Won", 1000, won=True),
        _deal("salesforce", "S2", 0, "Closed Lost", 500, closed=True),
        _deal("salesforce", "S3", 10, "Negotiation/Review", 2000, probability=90),
        _deal("salesforce", "S4", 40, "Closed Lost", 300, closed=True),
        _deal("salesforce", "S5", 40, "Closed Won", 3000, won=True),
        _deal("salesforce", "S6", 45, "Prospecting", 400, entered=45),
        _deal("hubspot", "9001", 0, "closedwon", 1500, won=True),
        _deal("hubspot", "9002", 5, "closedlost", 800, closed=True),
        _deal("hubspot", "9003", 35, "presentationscheduled", 1200, probability=40),
        _deal("hubspot", "9004", 60, "contractsent", None, entered=60),
    ]


def deal_changes() -> list[StageChange]:
    sf, hs = "salesforce", "hubspot"
    return [
        *_path(sf, "S1", [(0, "Prospecting"), (10, "Needs Analysis"),
                          (20, "Proposal/Price Quote"), (30, "Closed Won")]),
        *_path(sf, "S2", [(0, "Prospecting"), (5, "Qualification"), (15, "Needs Analysis"),
                          (25, "Closed Lost")]),
        *_path(sf, "S3", [(10, "Prospecting"), (14, "Needs Analysis"),
                          (24, "Negotiation/Review")]),
        *_path(sf, "S4", [(40, "Prospecting"), (45, "Closed Lost")]),
        *_path(sf, "S5", [(40, "Prospecting"), (50, "Needs Analysis"),
                          (56, "Proposal/Price Quote"), (70, "Closed Won")]),
        *_path(hs, "9001", [(0, "appointmentscheduled"), (8, "presentationscheduled"),
                            (20, "contractsent"), (26, "closedwon")]),
        *_path(hs, "9002", [(5, "appointmentscheduled"), (19, "closedlost")]),
        *_path(hs, "9003", [(35, "appointmentscheduled"), (41, "presentationscheduled")]),
    ]


def leads() -> list[FunnelLead]:
    def lead(source: str, sid: str, created: float, status: str) -> FunnelLead:
        return FunnelLead(source=source, source_id=sid, status=status, created_at=day(created))
    return [
        lead("salesforce", "00QL1", 0, "Closed - Converted"),
        lead("salesforce", "00QL2", 20, "Open - Not Contacted"),
        lead("salesforce", "00QL3", 0, "Closed - Not Converted"),
        lead("hubspot", "501", 0, "opportunity"),
        lead("hubspot", "502", 0, "marketingqualifiedlead"),
    ]


def lead_changes() -> list[StageChange]:
    return [
        *_path("salesforce", "00QL1", [(0, "Open - Not Contacted"), (3, "Working - Contacted"),
                                       (10, "Closed - Converted")]),
        *_path("salesforce", "00QL3", [(1, "Working - Contacted"),
                                       (30, "Closed - Not Converted")]),
        *_path("hubspot", "501", [(0, "lead"), (2, "marketingqualifiedlead"),
                                  (6, "salesqualifiedlead"), (9, "opportunity")]),
    ]


def _stage(source: str, stage: str, order: int, probability: float, *, closed: bool = False,
           won: bool = False, pipeline: str | None = None) -> CatalogStage:
    return CatalogStage(source=source, pipeline=pipeline, stage=stage, label=stage, order=order,
                        probability=probability, is_closed=closed or won, is_won=won)


SF_STAGES = [("Prospecting", 10), ("Qualification", 20), ("Needs Analysis", 20),
             ("Value Proposition", 50), ("Id. Decision Makers", 60),
             ("Perception Analysis", 70), ("Proposal/Price Quote", 75),
             ("Negotiation/Review", 90)]
HS_STAGES = [("appointmentscheduled", 20), ("qualifiedtobuy", 40),
             ("presentationscheduled", 60), ("decisionmakerboughtin", 80), ("contractsent", 90)]


def catalog() -> list[CatalogStage]:
    sf = [_stage("salesforce", s, i, p) for i, (s, p) in enumerate(SF_STAGES)]
    sf += [_stage("salesforce", "Closed Won", 8, 100, won=True),
           _stage("salesforce", "Closed Lost", 9, 0, closed=True)]
    hs = [_stage("hubspot", s, i, p, pipeline="default") for i, (s, p) in enumerate(HS_STAGES)]
    hs += [_stage("hubspot", "closedwon", 5, 100, won=True, pipeline="default"),
           _stage("hubspot", "closedlost", 6, 0, closed=True, pipeline="default")]
    return sf + hs
