"""The stage-definition audit: each check fires on a fixture built to have its defect, and no
check fires on a clean definition. Times are whole days before NOW."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from funnelsync.config.loading import parse_config
from funnelsync.config.models import AppConfig
from funnelsync.mapping.funnel import StageMaps
from funnelsync.mapping.schema import CatalogStage, FunnelDeal, StageChange
from funnelsync.reports.audit.common import Finding
from funnelsync.reports.audit.definitions import has_errors, run_audit
from funnelsync.reports.stats import wilson_interval

NOW = datetime(2026, 6, 1, tzinfo=UTC)
SF, HS = "salesforce", "hubspot"
SF_STAGES = [("Prospecting", 10), ("Qualification", 20), ("Needs Analysis", 20),
             ("Value Proposition", 50), ("Id. Decision Makers", 60),
             ("Perception Analysis", 70), ("Proposal/Price Quote", 75),
             ("Negotiation/Review", 90)]
HS_STAGES = [("appointmentscheduled", 20), ("qualifiedtobuy", 40),
             ("presentationscheduled", 60), ("decisionmakerboughtin", 80), ("contractsent", 90)]
SF_OPEN = [s for s, _ in SF_STAGES]
HS_OPEN = [s for s, _ in HS_STAGES]


def stage(source, name, order, prob, *, won=False, closed=False, pipeline=None,
          active=True) -> CatalogStage:
    return CatalogStage(source=source, pipeline=pipeline, stage=name, label=name, order=order,
                        probability=prob, is_closed=closed or won, is_won=won, active=active)


def clean_catalog(sf_probs=None, hs_probs=None) -> list[CatalogStage]:
    sf_probs, hs_probs = sf_probs or {}, hs_probs or {}
    out = [stage(SF, s, 10 * (i + 1), sf_probs.get(s, p)) for i, (s, p) in enumerate(SF_STAGES)]
    out += [stage(SF, "Closed Won", 90, 100, won=True), stage(SF, "Closed Lost", 100, 0,
                                                             closed=True)]
    out += [stage(HS, s, 10 * (i + 1), hs_probs.get(s, p), pipeline="default")
            for i, (s, p) in enumerate(HS_STAGES)]
    out += [stage(HS, "closedwon", 60, 100, won=True, pipeline="default"),
            stage(HS, "closedlost", 70, 0, closed=True, pipeline="default")]
    return out


def deal(source, rid, path, start, step=8.0, pipeline=None):
    """A deal walking ``path`` from NOW - start days, one stage every ``step`` days."""
    pipeline = pipeline or ("default" if source == HS else None)
    t0 = NOW - timedelta(days=start)
    changes, prev = [], None
    for i, raw in enumerate(path):
        changes.append(StageChange(source=source, record_id=rid, from_stage=prev, to_stage=raw,
                                   changed_at=t0 + timedelta(days=i * step)))
        prev = raw
    last = path[-1]
    won = last in ("Closed Won", "closedwon", "won")
    closed = won or last in ("Closed Lost", "closedlost", "lost")
    return (FunnelDeal(source=source, source_id=rid, pipeline=pipeline, stage=last,
                       amount=Decimal(100), is_closed=closed, is_won=won, created_at=t0),
            changes)


def clean_deals():
    return [deal(SF, "W", [*SF_OPEN, "Closed Won"], 89),
            deal(SF, "L", ["Prospecting", "Qualification", "Closed Lost"], 30),
            deal(HS, "1", [*HS_OPEN, "closedwon"], 60),
            deal(HS, "2", ["appointmentscheduled", "qualifiedtobuy", "closedlost"], 30)]


def audit(extra=(), catalog=None, config: AppConfig | None = None):
    cfg = config or AppConfig()
    pairs = [*clean_deals(), *extra]
    deals = [d for d, _ in pairs]
    changes = [c for _, cs in pairs for c in cs]
    return run_audit(catalog or clean_catalog(), StageMaps(cfg), cfg.funnel, deals, changes,
                     NOW).findings


def summary(findings: list[Finding]):
    return [(f.check, f.severity, f.source, f.stage) for f in findings]


def only(findings, check):
    return [f for f in findings if f.check == check]


def test_clean_definition_has_no_findings():
    findings = audit()
    assert findings == []
    assert has_errors(findings) is False


def test_unmapped_stage():
    catalog = [*clean_catalog(), stage(SF, "Technical Validation", 35, 30)]
    findings = audit(catalog=catalog)
    # nobody entered the new stage either, so stage_unused (info) comes along
    assert summary(findings) == [
        ("unmapped_stage", "error", SF, "Technical Validation"),
        ("stage_unused", "info", SF, "Technical Validation")]
    assert findings[0].fix == ('add "Technical Validation" = "intent" under '
                               '[mapping.salesforce.opportunity_stage]')
    assert findings[0].evidence["probability"] == 30
    assert has_errors(findings) is True


def test_unmapped_inactive_stage_is_not_reported():
    catalog = [*clean_catalog(), stage(SF, "Old Stage", 35, 30, active=False)]
    assert audit(catalog=catalog) == []


def test_missing_stage():
    cfg = parse_config('[mapping.salesforce.opportunity_stage]\n"Discovery" = "consideration"\n')
    findings = audit(config=cfg)
    assert summary(findings) == [("missing_stage", "warning", SF, "Discovery")]
    assert findings[0].fix.startswith(
        "remove Discovery from [mapping.salesforce.opportunity_stage] or correct it to one "
        "of: 'Prospecting', 'Qualification'")
    assert has_errors(findings) is False


def test_probability_order():
    findings = audit(catalog=clean_catalog(sf_probs={"Needs Analysis": 5}))
    assert summary(findings) == [("probability_order", "warning", SF, "Needs Analysis")]
    assert findings[0].message == ("'Needs Analysis' (5%) comes after 'Qualification' (20%) "
                                   "in the funnel but has a lower probability")
    assert findings[0].fix == ("raise the probability of 'Needs Analysis' to at least 20% in "
                               "Salesforce Setup → Opportunity Stages, or map it to an "
                               "earlier funnel stage")


def test_probability_calibration():
    cfg = parse_config('[mapping.hubspot.deal_stages.p2]\n"1" = "decision"\n'
                       '"2" = "purchase"\n"3" = "lost"\n')
    catalog = [*clean_catalog(), stage(HS, "1", 1, 90, pipeline="p2"),
               stage(HS, "2", 2, 100, won=True, pipeline="p2"),
               stage(HS, "3", 3, 0, closed=True, pipeline="p2")]
    extra = [deal(HS, f"c{i}", ["1", "2" if i < 2 else "3"], 40, step=10, pipeline="p2")
             for i in range(10)]
    findings = audit(extra, catalog, cfg)
    assert summary(findings) == [("probability_calibration", "warning", HS, "1")]
    low, high = wilson_interval(2, 10)
    assert (round(low, 4), round(high, 4)) == (0.0567, 0.5098)
    assert findings[0].evidence == {"label": "1", "pipeline": "p2", "probability": 90,
                                    "closed_deals": 10, "won": 2, "observed_win_rate": 0.2,
                                    "ci95": [0.0567, 0.5098]}
    assert findings[0].fix == ("set the probability of '1' to about 20% in HubSpot deal "
                               "pipeline 'p2' settings")


def test_calibration_needs_ten_closed_deals():
    cfg = parse_config('[mapping.hubspot.deal_stages.p2]\n"1" = "decision"\n'
                       '"2" = "purchase"\n"3" = "lost"\n')
    catalog = [*clean_catalog(), stage(HS, "1", 1, 90, pipeline="p2"),
               stage(HS, "2", 2, 100, won=True, pipeline="p2"),
               stage(HS, "3", 3, 0, closed=True, pipeline="p2")]
    extra = [deal(HS, f"c{i}", ["1", "3"], 40, step=10, pipeline="p2") for i in range(9)]
    assert only(audit(extra, catalog, cfg), "probability_calibration") == []


def test_stage_unused():
    sf_won = deal(SF, "W", [s for s in SF_OPEN if s != "Perception Analysis"] + ["Closed Won"],
                  89)
    pairs = [sf_won, *clean_deals()[1:]]
    cfg = AppConfig()
    findings = run_audit(clean_catalog(), StageMaps(cfg), cfg.funnel, [d for d, _ in pairs],
                         [c for _, cs in pairs for c in cs], NOW).findings
    assert summary(findings) == [("stage_unused", "info", SF, "Perception Analysis")]
    assert findings[0].evidence == {"label": "Perception Analysis", "pipeline": None,
                                    "days": 90, "last_entered": None}


def test_stage_unused_counts_last_entry_older_than_window():
    # 60 days on, a stage is unused when last entered more than 30 days before NOW:
    # SF W entered Needs Analysis..Negotiation at -73..-33, HubSpot 1 entered
    # presentationscheduled at -44 and decisionmakerboughtin at -36; the rest is younger
    later = NOW + timedelta(days=60)
    cfg = AppConfig()
    pairs = clean_deals()
    findings = run_audit(clean_catalog(), StageMaps(cfg), cfg.funnel, [d for d, _ in pairs],
                         [c for _, cs in pairs for c in cs], later).findings
    assert [f.stage for f in only(findings, "stage_unused")] == [
        "decisionmakerboughtin", "presentationscheduled", "Id. Decision Makers",
        "Needs Analysis", "Negotiation/Review", "Perception Analysis", "Proposal/Price Quote",
        "Value Proposition"]


def test_stage_skipped():
    extra = [deal(SF, f"k{i}", ["Prospecting", "Needs Analysis", "Closed Lost"], 40)
             for i in range(5)]
    findings = audit(extra)
    assert summary(findings) == [("stage_skipped", "warning", SF, "Qualification")]
    assert findings[0].evidence == {"label": "Qualification", "pipeline": None, "passed": 6,
                                    "skipped": 5, "share": 0.8333}


def test_backward_moves():
    path = ["Prospecting", "Qualification", "Needs Analysis", "Qualification",
            "Needs Analysis", "Closed Lost"]
    extra = [deal(SF, f"b{i}", path, 40, step=3) for i in range(5)]
    findings = audit(extra)
    assert summary(findings) == [("backward_moves", "warning", SF, "Needs Analysis")]
    assert findings[0].evidence == {"label": "Needs Analysis", "pipeline": None, "exits": 11,
                                    "backward": 5, "share": 0.4545}


def test_closed_flag_conflict():
    cfg = parse_config('[mapping.salesforce.opportunity_stage]\n"Closed Won" = "intent"\n')
    findings = audit(config=cfg)
    assert summary(findings) == [("closed_flag_conflict", "error", SF, "Closed Won")]
    assert findings[0].fix == ('set "Closed Won" = "purchase" under '
                               "[mapping.salesforce.opportunity_stage]")
    assert has_errors(findings) is True


def test_open_stage_mapped_to_lost_conflicts():
    cfg = parse_config('[mapping.hubspot.deal_stages.default]\nqualifiedtobuy = "lost"\n')
    findings = audit(config=cfg)
    assert summary(findings) == [("closed_flag_conflict", "error", HS, "qualifiedtobuy")]
    assert findings[0].fix == ('set qualifiedtobuy = "consideration" under '
                               "[mapping.hubspot.deal_stages.default]")


def test_cross_crm_probability_mismatch():
    catalog = clean_catalog(hs_probs={"appointmentscheduled": 50, "qualifiedtobuy": 55})
    findings = audit(catalog=catalog)
    assert summary(findings) == [("cross_crm_mismatch", "warning", "combined", "consideration")]
    assert findings[0].evidence == {"salesforce_stages": ["Prospecting", "Qualification"],
                                    "hubspot_stages": ["appointmentscheduled", "qualifiedtobuy"],
                                    "salesforce_probability": 15.0,
                                    "hubspot_probability": 52.5}


def test_cross_crm_time_mismatch():
    sf = [deal(SF, f"s{i}", ["Prospecting", "Qualification", "Needs Analysis"], 40, step=2.5)
          for i in range(5)]
    hs = [deal(HS, f"h{i}", ["appointmentscheduled", "qualifiedtobuy",
                             "presentationscheduled"], 40, step=10) for i in range(5)]
    findings = audit([*sf, *hs])
    assert summary(findings) == [("cross_crm_mismatch", "info", "combined", "consideration")]
    assert findings[0].evidence == {"salesforce_median_days": 5.0, "hubspot_median_days": 20.0,
                                    "salesforce_n": 7, "hubspot_n": 7}


def test_max_days_vs_p90():
    extra = [deal(HS, f"m{i}", ["appointmentscheduled", "qualifiedtobuy",
                                "presentationscheduled"], 50, step=20) for i in range(10)]
    findings = audit(extra)
    assert summary(findings) == [("max_days_vs_p90", "warning", "combined", "consideration")]
    assert findings[0].evidence == {"max_days": 14, "p90_days": 40.0, "n": 14}
    assert findings[0].fix == "set max_days = 40 for id = 'consideration' under [[funnel.stages]]"


def test_max_days_far_below():
    extra = [deal(HS, f"m{i}", ["appointmentscheduled", "qualifiedtobuy",
                                "presentationscheduled"], 50, step=1) for i in range(40)]
    findings = audit(extra)
    # consideration stays: forty of 2 days + the clean four of 16 → p90 2.0 < 0.5 x 14
    assert summary(findings) == [("max_days_vs_p90", "warning", "combined", "consideration")]
    assert findings[0].evidence == {"max_days": 14, "p90_days": 2.0, "n": 44}
    assert "below the configured limit" in findings[0].message
    assert findings[0].fix == "set max_days = 2 for id = 'consideration' under [[funnel.stages]]"


@pytest.mark.parametrize("severity,expected", [("error", True), ("warning", False),
                                               ("info", False)])
def test_has_errors(severity, expected):
    assert has_errors([Finding("x", severity, SF, "s", "m")]) is expected


def test_to_dict_shape():
    catalog = [*clean_catalog(), stage(SF, "Technical Validation", 35, 30)]
    cfg = AppConfig()
    pairs = clean_deals()
    result = run_audit(catalog, StageMaps(cfg), cfg.funnel, [d for d, _ in pairs],
                       [c for _, cs in pairs for c in cs], NOW)
    data = result.to_dict()
    assert list(data) == ["findings"]
    assert list(data["findings"][0]) == ["check", "severity", "source", "stage", "message",
                                         "evidence", "fix"]
    assert result.has_errors is True


def test_a_wholly_unmapped_pipeline_gets_fixes_spread_over_the_deal_stages():
    custom = [stage("hubspot", sid, order, prob, pipeline="777")
              for sid, order, prob in (("91", 0, 10), ("92", 1, 30), ("93", 2, 60), ("94", 3, 80))]
    custom += [stage("hubspot", "95", 4, 100, won=True, closed=True, pipeline="777"),
               stage("hubspot", "96", 5, 0, closed=True, pipeline="777")]
    findings = [f for f in audit(catalog=[*clean_catalog(), *custom])
                if f.check == "unmapped_stage"]
    assert [(f.stage, f.fix) for f in findings] == [
        ("91", 'add 91 = "consideration" under [mapping.hubspot.deal_stages.777]'),
        ("92", 'add 92 = "consideration" under [mapping.hubspot.deal_stages.777]'),
        ("93", 'add 93 = "intent" under [mapping.hubspot.deal_stages.777]'),
        ("94", 'add 94 = "decision" under [mapping.hubspot.deal_stages.777]'),
        ("95", 'add 95 = "purchase" under [mapping.hubspot.deal_stages.777]'),
        ("96", 'add 96 = "lost" under [mapping.hubspot.deal_stages.777]')]
