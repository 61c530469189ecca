"""Identity end to end on the sandbox: pull through the real clients, then link.

The sandbox knows the truth: ``/__sandbox/stats`` ``shared_people`` counts the people live in
both CRMs (same e-mail, compared case- and whitespace-insensitively).
"""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner
from support.clock import SANDBOX_START, FakeClock
from syncsupport import crm_snapshot, no_wait_factory, sandbox_config

from funnelsync.cli.main import main
from funnelsync.config.models import AppConfig
from funnelsync.rules.people import StagePositions
from funnelsync.sandbox import Sandbox
from funnelsync.store import Store
from funnelsync.sync.identity.service import identity_summary
from funnelsync.sync.identity.writeback import furthest_stage_plan
from funnelsync.sync.job import SyncJob

SIZE = {"seed": 11, "leads": 400, "deals": 150}
SMALL = {"seed": 11, "leads": 200, "deals": 20}


def test_identity_links_exactly_the_shared_people_and_the_report_counts_each_once(
        tmp_path: Path, clock: FakeClock) -> None:
    db_url = f"sqlite:///{tmp_path / 'state.db'}"
    with Sandbox(**SIZE, clock=clock) as sb:
        config = sandbox_config(sb, db_url)
        job(config, clock).pull()
        stats = sb.stats()
        path = tmp_path / "funnelsync.toml"
        path.write_text(_config_text(sb.url, db_url))
        result = CliRunner().invoke(main, ["identity", "-c", str(path), "--json"])
        report = CliRunner().invoke(main, ["report", "-c", str(path), "--format", "json"])
    assert result.exit_code == 0, result.output
    counts = json.loads(result.stdout)
    shared = stats["shared_people"]
    sf_leads = stats["salesforce"]["counts"]["Lead"]  # type: ignore[index]
    hs_contacts = stats["hubspot"]["counts"]["contacts"]  # type: ignore[index]
    assert shared > 0
    assert counts["linked"] == shared
    assert counts["by_rule"] == {"email": shared}
    assert counts["people"] == sf_leads + hs_contacts - shared
    assert report.exit_code == 0, report.output
    merge = json.loads(report.stdout)["merge"]
    assert (merge["people_mapping"], merge["people"], merge["records"]) == (
        True, sf_leads + hs_contacts - shared, sf_leads + hs_contacts)
    with Store.open(db_url) as store:
        # The pull refreshed the people table and saved both CRMs' owner e-mails.
        assert len(store.stored_links()) == sf_leads + hs_contacts
        assert sorted(store.owner_emails()) == ["hubspot", "salesforce"]
        again = identity_summary(store, config)
    assert again == counts


def _config_text(url: str, db_url: str) -> str:
    return (f'[salesforce]\nusername = "demo@funnelsync.local"\npassword = "demo"\n'
            f'security_token = "demo"\nlogin_url = "{url}"\n'
            f'[hubspot]\naccess_token = "pat-demo"\nhost = "{url}"\n'
            f'[state]\nurl = "{db_url}"\n')


def job(config: AppConfig, clock: FakeClock) -> SyncJob:
    return SyncJob(config, connector_factory=no_wait_factory(clock), clock=clock.utc)


def _sync(tmp_path: Path, extra: str, runs: int) -> tuple[dict, dict, int]:
    """Syncs; returns (targets, CRM snapshot after the first, records written by the last)."""
    db_url = f"sqlite:///{tmp_path / 'wb.db'}"
    clock = FakeClock(SANDBOX_START)
    with Sandbox(**SMALL, clock=clock) as sb:
        config = sandbox_config(sb, db_url, extra)
        job(config, clock).run()
        snap = crm_snapshot(sb, config)
        last = None
        for _ in range(runs - 1):
            last = job(config, clock).run()
        with Store.open(db_url) as store:
            on = config.model_copy(update={"identity": config.identity.model_copy(
                update={"writeback_furthest_stage": True})})
            plan = furthest_stage_plan(store, on)
    assert plan is not None
    return plan.targets, snap, last.records_written if last else -1


def test_furthest_stage_write_back_goes_through_the_normal_push(tmp_path: Path) -> None:
    positions = StagePositions.of(AppConfig())
    targets, snap, rewritten = _sync(tmp_path / "on", "[identity]\n"
                                     "writeback_furthest_stage = true\n", runs=2)
    sf_targets = {i: t.stage for (s, i), t in targets.items() if s == "salesforce"}
    assert len(sf_targets) > 0
    written = {i: snap[f"sf:{i}"][0] for i in sf_targets}
    assert all(positions.position(written[i]) >= positions.position(stage)  # type: ignore[operator]
               for i, stage in sf_targets.items())
    assert sum(written[i] == stage for i, stage in sf_targets.items()) > 0
    assert rewritten == 0  # nothing left to write: the push is idempotent with identity on
    _, snap_off, _ = _sync(tmp_path / "off", "", runs=1)
    assert sum(snap_off[f"sf:{i}"][0] == stage for i, stage in sf_targets.items()) < sum(
        written[i] == stage for i, stage in sf_targets.items())
