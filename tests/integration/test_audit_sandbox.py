"""The stage-definition audit end to end: a sandbox seeded with one defect (sandbox/scenarios.py),
pulled through the real connectors, then `funnelsync audit --json`; and nothing on "clean"."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from support.clock import FakeClock
from syncsupport import config_text, no_wait_factory

from funnelsync.cli.main import main
from funnelsync.config.loading import load_config
from funnelsync.sandbox import Sandbox
from funnelsync.sandbox.scenarios import DEFECTS, mapping_toml
from funnelsync.sync.job import SyncJob

# One copy of each scenario template: 28 Salesforce and 33 HubSpot deals. No leads: they only
# feed the identity checks, which are not about stage definitions.
SIZE = {"seed": 5, "leads": 0}

# Per defect: the one finding the audit must report (message left out: wording may change).
EXPECTED: dict[str, dict[str, Any]] = {
    "unmapped_stage": {
        "check": "unmapped_stage", "severity": "error", "source": "salesforce",
        "stage": "Technical Validation",
        "evidence": {"label": "Technical Validation", "kind": "deal", "pipeline": None,
                     "order": 5, "probability": 50.0, "is_closed": False, "is_won": False},
        "fix": 'add "Technical Validation" = "intent" under '
               "[mapping.salesforce.opportunity_stage]"},
    "missing_stage": {
        "check": "missing_stage", "severity": "warning", "source": "hubspot", "stage": "1190344",
        "evidence": {"kind": "deal", "pipeline": "2847561", "mapped_to": "decision",
                     "catalog_stages": ["1190341", "1190342", "1190343", "1190345", "1190346"]},
        "fix": "remove 1190344 from [mapping.hubspot.deal_stages.2847561] or correct it to one "
               "of: '1190341', '1190342', '1190343', '1190345', '1190346'"},
    "probability_order": {
        "check": "probability_order", "severity": "warning", "source": "salesforce",
        "stage": "Perception Analysis",
        "evidence": {"label": "Perception Analysis", "kind": "deal", "pipeline": None,
                     "order": 7, "probability": 48.0, "is_closed": False, "is_won": False,
                     "earlier_stage": "Id. Decision Makers", "earlier_probability": 52.0}},
    "probability_calibration": {
        "check": "probability_calibration", "severity": "warning", "source": "salesforce",
        "stage": "Prospecting",
        "evidence": {"label": "Prospecting", "pipeline": None, "probability": 2.0,
                     "closed_deals": 20, "won": 4, "observed_win_rate": 0.2,
                     "ci95": [0.0807, 0.416]},
        "fix": "set the probability of 'Prospecting' to about 20% in Salesforce Setup → "
               "Opportunity Stages"},
    "stage_unused": {
        "check": "stage_unused", "severity": "info", "source": "hubspot",
        "stage": "appointmentscheduled",
        "evidence": {"label": "Appointment Scheduled", "pipeline": "default", "days": 90,
                     "last_entered": None}},
    "stage_skipped": {
        "check": "stage_skipped", "severity": "warning", "source": "salesforce",
        "stage": "Proposal/Price Quote",
        "evidence": {"label": "Proposal/Price Quote", "pipeline": None, "passed": 6,
                     "skipped": 4, "share": 0.6667}},
    "backward_moves": {
        "check": "backward_moves", "severity": "warning", "source": "salesforce",
        "stage": "Value Proposition",
        "evidence": {"label": "Value Proposition", "pipeline": None, "exits": 18,
                     "backward": 4, "share": 0.2222}},
    "closed_flag_conflict": {
        "check": "closed_flag_conflict", "severity": "error", "source": "salesforce",
        "stage": "Closed Won",
        "evidence": {"label": "Closed Won", "kind": "deal", "pipeline": None, "order": 10,
                     "probability": 100.0, "is_closed": True, "is_won": True,
                     "mapped_to": "decision"},
        "fix": 'set "Closed Won" = "purchase" under [mapping.salesforce.opportunity_stage]'},
    "cross_crm_mismatch": {
        "check": "cross_crm_mismatch", "severity": "warning", "source": "combined",
        "stage": "decision",
        "evidence": {"salesforce_stages": ["Proposal/Price Quote", "Negotiation/Review"],
                     "hubspot_stages": ["1190343", "1190344", "contractsent"],
                     "salesforce_probability": 100.0, "hubspot_probability": 65.67}},
    "max_days_vs_p90": {
        "check": "max_days_vs_p90", "severity": "warning", "source": "combined",
        "stage": "decision", "evidence": {"max_days": 14, "p90_days": 47.2, "n": 15},
        "fix": "set max_days = 48 for id = 'decision' under [[funnel.stages]]"},
}


def write_config(sb: Sandbox, tmp_path: Path, scenario: str) -> Path:
    """Both CRMs at the sandbox, state in SQLite, and the scenario's mapping."""
    path = tmp_path / "audit.toml"
    db_url = f"sqlite:///{(tmp_path / 'state.db').as_posix()}"
    path.write_text(config_text(sb, db_url, mapping_toml(scenario)))
    return path


def audit(tmp_path: Path, clock: FakeClock, scenario: str,
          deals: int = 30) -> tuple[int, list[dict[str, Any]]]:
    """Seed, pull through the real connectors, audit with the CLI: (exit code, findings), all
    on ``clock`` (the test's, which the CLI's commands run on)."""
    with Sandbox(**SIZE, deals=deals, scenario=scenario, clock=clock) as sb:
        path = write_config(sb, tmp_path, scenario)
        run = SyncJob(load_config(str(path)), connector_factory=no_wait_factory(clock),
                      clock=clock.utc).pull()
    assert run.errors == []
    assert (run.pulled["salesforce"]["deals"], run.pulled["hubspot"]["deals"]) == \
        (28 * (deals // 30), 33 * (deals // 30))
    result = CliRunner().invoke(main, ["audit", "-c", str(path), "--json"])
    return result.exit_code, json.loads(result.stdout)["findings"]


def test_clean_scenario_has_no_findings(tmp_path: Path, clock: FakeClock) -> None:
    code, findings = audit(tmp_path, clock, "clean")
    assert (code, findings) == (0, [])


@pytest.mark.parametrize("defect", DEFECTS)
def test_audit_finds_the_seeded_defect(tmp_path: Path, defect: str, clock: FakeClock) -> None:
    code, findings = audit(tmp_path, clock, defect)
    assert len(findings) == 1, findings
    found, expected = findings[0], EXPECTED[defect]
    assert {k: found[k] for k in expected} == expected
    assert found["message"] and found["fix"]
    assert code == (1 if expected["severity"] == "error" else 0)


def test_all_defects_at_once(tmp_path: Path, clock: FakeClock) -> None:
    # Two copies: with every switch on, one copy leaves fewer than ten decision stays.
    code, findings = audit(tmp_path, clock, "defects", deals=60)
    assert code == 1
    assert sorted((f["check"], f["severity"], f["source"], f["stage"]) for f in findings) == \
        sorted((e["check"], e["severity"], e["source"], e["stage"]) for e in EXPECTED.values())


def test_sandbox_cli_rejects_an_unknown_scenario() -> None:
    result = CliRunner().invoke(main, ["sandbox", "--scenario", "stage_skiped"])
    assert result.exit_code == 2
    assert "unknown scenario stage_skiped; use one of default, clean, defects" in result.output
