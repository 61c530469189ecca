"""SLA compliance figures and the routing / SLA audit checks (pure)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from funnelsync.config.operations import RoutingConfig, SlaConfig
from funnelsync.mapping.owners import CrmOwner
from funnelsync.reports.audit.routing import OpsAuditOptions, routing_findings, sla_findings
from funnelsync.reports.sla import sla_compliance
from funnelsync.rules.routing import OwnerDirectory
from funnelsync.rules.sla import LeadTimer

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


def timer(n: int, owner: str, source: str, start_h: float, touch_h: float | None,
          baseline: bool = False) -> LeadTimer:
    start = NOW - timedelta(hours=start_h)
    touched = None if touch_h is None else start + timedelta(hours=touch_h)
    return LeadTimer(str(n), mql_at=start, owner_id=owner, lead_source=source,
                     touched_at=touched, baseline=baseline)


def test_compliance_overall_per_owner_and_source() -> None:
    timers = [("hubspot", timer(1, "7", "ORGANIC", 50, 2)),
              ("hubspot", timer(2, "7", "ORGANIC", 50, 10)),
              ("hubspot", timer(3, "8", "PAID", 50, None)),   # missed, untouched
              ("hubspot", timer(4, "8", "PAID", 1, None)),    # open
              ("salesforce", timer(5, "005A", "Web", 40, 4)),
              ("salesforce", timer(6, "005A", "Web", 40, 8, baseline=True))]
    out = sla_compliance(timers, SlaConfig(first_touch_hours=4, escalate_hours=8), NOW)
    assert out["overall"] == {"mqls": 5, "met": 2, "missed": 2, "open": 1, "share_met": 0.5,
                              "median_hours": 4.0, "p90_hours": 8.8}
    assert out["baseline"] == 1
    assert out["by_owner"]["hubspot:8"] == {"mqls": 2, "met": 0, "missed": 1, "open": 1,
                                            "share_met": 0.0, "median_hours": None,
                                            "p90_hours": None}
    assert out["by_lead_source"]["ORGANIC"]["share_met"] == 0.5
    assert out["by_source"]["salesforce"]["met"] == 1
    findings = sla_findings(out, OpsAuditOptions(sla_min_mqls=1))
    assert [(f.check, f.stage) for f in findings] == [
        ("sla_missed_often", "hubspot:8"), ("sla_missed_often", "hubspot:7"),
        ("sla_missed_often", "PAID"), ("sla_missed_often", "ORGANIC")]


def test_routing_audit() -> None:
    config = RoutingConfig.model_validate({
        "regions": {"EMEA": ["Germany", "France"]},
        "teams": [{"name": "t", "members": ["a@x.io", "b@x.io", "gone@x.io", "who@x.io"]}],
        "rules": [{"name": "emea", "regions": ["EMEA"], "team": "t"},
                  {"name": "germany-big", "countries": ["germany"], "employees_min": 500,
                   "team": "t"},
                  {"name": "germany-move", "countries": ["germany"], "team": "t",
                   "reassign": True},
                  {"name": "rest", "team": "t"}]})
    directory = OwnerDirectory([CrmOwner("1", "a@x.io"), CrmOwner("2", "b@x.io"),
                                CrmOwner("3", "gone@x.io", active=False)])
    state = {"rules": {"emea": {"matched": 9, "last_matched": NOW.isoformat()},
                       "rest": {"matched": 1, "last_matched": "2026-09-01T00:00:00+00:00"}},
             "teams": {"t": {"assigned": {"1": 10, "2": 3}}}}
    found = routing_findings(config, {"hubspot": state}, {"hubspot": directory}, NOW)
    assert [(f.check, f.stage, f.evidence.get("shadowed_by", f.evidence.get("member")))
            for f in found] == [
        ("routing_rule_shadowed", "germany-big", "emea"),
        ("routing_rule_unused", "germany-big", None),
        ("routing_rule_unused", "germany-move", None),
        ("routing_rule_unused", "rest", None),
        ("routing_team_inactive_owner", "t", "gone@x.io"),
        ("routing_team_inactive_owner", "t", "who@x.io"),
        ("routing_unbalanced", "t", None)]
