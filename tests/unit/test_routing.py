"""Routing: rule matching and order, round-robin fairness across restarts, caps, inactive
owners, queue-owned versus really owned leads."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

from funnelsync.config.operations import RoutingConfig
from funnelsync.mapping.owners import CrmOwner
from funnelsync.mapping.schema import FunnelLead
from funnelsync.rules.routing import Assignment, OwnerDirectory, Router, rule_matches

NOW = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
OWNERS = [CrmOwner("005A", "a@x.io", "A"), CrmOwner("005B", "b@x.io", "B"),
          CrmOwner("005C", "c@x.io", "C"), CrmOwner("005D", "d@x.io", "D", active=False),
          CrmOwner("005M", "m@x.io", "M"), CrmOwner("00GQ", None, "Queue", is_queue=True)]
DIRECTORY = OwnerDirectory(OWNERS)


def lead(n: int = 1, **values: Any) -> FunnelLead:
    return FunnelLead(source="salesforce", source_id=f"00Q{n:04d}", **values)


def config(**values: Any) -> RoutingConfig:
    base: dict[str, Any] = {
        "regions": {"DACH": ["Germany", "Austria", "Switzerland"]},
        "teams": [{"name": "ae", "members": ["a@x.io", "005B", "c@x.io", "d@x.io"]}],
        "rules": [
            {"name": "dach-enterprise", "regions": ["DACH"], "employees_min": 1000,
             "owner": "m@x.io"},
            {"name": "tech", "industries": ["technology"], "score_min": 40, "team": "ae"},
            {"name": "fallback", "team": "ae"},
        ]}
    base.update(values)
    return RoutingConfig.model_validate(base)


def test_rule_conditions_each_and_together() -> None:
    rules = config().rules
    regions = config().regions
    big_de = lead(country="germany", employees=5000)
    assert rule_matches(rules[0], big_de, None, 0, regions) is True
    assert rule_matches(rules[0], lead(country="Germany", employees=999), None, 0,
                        regions) is False
    assert rule_matches(rules[0], lead(country="France", employees=5000), None, 0,
                        regions) is False
    assert rule_matches(rules[0], lead(employees=5000), None, 0, regions) is False
    assert rule_matches(rules[1], lead(industry="Technology"), None, 40, regions) is True
    assert rule_matches(rules[1], lead(industry="Technology"), None, 39.5, regions) is False
    assert rule_matches(rules[2], lead(), None, 0, regions) is True
    staged = RoutingConfig.model_validate({"teams": [], "rules": [
        {"name": "mql-web", "stages": ["interest"], "lead_sources": ["Web"], "score_max": 80,
         "owner": "005A"}]}).rules[0]
    assert rule_matches(staged, lead(lead_source="web"), "interest", 80, {}) is True
    assert rule_matches(staged, lead(lead_source="web"), "awareness", 50, {}) is False
    assert rule_matches(staged, lead(lead_source="web"), "interest", 81, {}) is False
    assert rule_matches(staged, lead(lead_source="Phone"), "interest", 50, {}) is False


def test_first_matching_rule_wins_and_is_the_reason() -> None:
    router = Router(config(), DIRECTORY, None, NOW)
    assert router.route(lead(1, country="Austria", employees=2000, industry="Technology"),
                        None, 90) == Assignment("005M", "dach-enterprise",
                                                "rule dach-enterprise (owner)")
    assert router.route(lead(2, industry="Technology"), None, 50) == Assignment(
        "005A", "tech", "rule tech (team ae round-robin)")
    assert router.route(lead(3, industry="Technology"), None, 10) == Assignment(
        "005B", "fallback", "rule fallback (team ae round-robin)")
    assert router.state["rules"]["tech"]["matched"] == 1
    assert router.state["rules"]["fallback"]["last_matched"] == NOW.isoformat()


def test_owned_leads_stay_unless_reassign_and_queues_count_as_unowned() -> None:
    router = Router(config(), DIRECTORY, None, NOW)
    assert router.route(lead(1, owner_id="005C"), None, 0) is None
    assert router.route(lead(2, owner_id="005D"), None, 0) is None  # inactive: still an owner
    assert router.route(lead(3, owner_id="005ZZZ"), None, 0) is None  # unknown id: hands off
    assert router.route(lead(4, owner_id="00GQ"), None, 0) == Assignment(
        "005A", "fallback", "rule fallback (team ae round-robin)")
    moving = config(rules=[{"name": "move", "team": "ae", "reassign": True}])
    router = Router(moving, DIRECTORY, None, NOW)
    assert router.route(lead(5, owner_id="005B"), None, 0) is None  # already in the team
    assert router.route(lead(6, owner_id="005D"), None, 0) == Assignment(
        "005A", "move", "rule move (team ae round-robin)")
    assert router.route(lead(7, owner_id="005M"), None, 0) == Assignment(
        "005B", "move", "rule move (team ae round-robin)")


def test_round_robin_skips_inactive_and_is_fair_across_restarts() -> None:
    cfg = config(rules=[{"name": "all", "team": "ae"}])
    state = None
    counts: Counter[str] = Counter()
    picks = []
    for run, size in enumerate((1, 4, 2, 7, 3)):  # a fresh Router per run = a restart
        router = Router(cfg, DIRECTORY, state, NOW + timedelta(days=run))
        for n in range(size):
            found = router.route(lead(run * 100 + n), None, 0)
            assert found is not None
            picks.append(found.owner_id)
            counts[found.owner_id] += 1
            assert max(counts.values()) - min(counts.values()) <= 1
        state = router.state  # what the job keeps in the store
    assert picks[:6] == ["005A", "005B", "005C", "005A", "005B", "005C"]
    assert counts == {"005A": 6, "005B": 6, "005C": 5}
    assert "005D" not in counts
    assert state["teams"]["ae"]["assigned"] == {"005A": 6, "005B": 6, "005C": 5}


def test_a_router_never_changes_the_state_it_was_given() -> None:
    state: dict[str, Any] = {}
    router = Router(config(rules=[{"name": "all", "team": "ae"}]), DIRECTORY, state, NOW)
    assert router.route(lead(1), None, 0) is not None
    assert state == {}  # a dry run simply drops router.state


def test_weights_and_daily_cap() -> None:
    cfg = config(teams=[{"name": "ae", "members": ["005A", "005B"], "weights": {"005A": 3},
                         "daily_cap": 4}], rules=[{"name": "all", "team": "ae"},
                                                  {"name": "overflow", "owner": "005M"}])
    router = Router(cfg, DIRECTORY, None, NOW)
    picks = [router.route(lead(n), None, 0) for n in range(10)]
    owners = [p.owner_id for p in picks if p is not None]
    assert owners == ["005A", "005A", "005B", "005A", "005A", "005B", "005B", "005B",
                      "005M", "005M"]
    assert [p.rule for p in picks if p is not None][-2:] == ["overflow", "overflow"]
    tomorrow = Router(cfg, DIRECTORY, router.state, NOW + timedelta(days=1))
    assert tomorrow.route(lead(99), None, 0) is not None
    assert tomorrow.state["teams"]["ae"]["today"] in ({"005A": 1}, {"005B": 1})


def test_nobody_available_leaves_the_lead_alone() -> None:
    cfg = config(teams=[{"name": "gone", "members": ["d@x.io", "nobody@x.io"]}],
                 rules=[{"name": "r", "team": "gone"}, {"name": "o", "owner": "d@x.io"}])
    router = Router(cfg, DIRECTORY, None, NOW)
    assert router.route(lead(1), None, 0) is None
    assert router.state["rules"]["r"]["matched"] == 1
