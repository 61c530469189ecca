"""Identity over a real state store (SQLite and PostgreSQL): the people table, one person's
merged timeline, the privacy deletion, the CLI commands and the combined report."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

from click.testing import CliRunner

from funnelsync.cli.main import main
from funnelsync.config.loading import parse_config
from funnelsync.config.models import AppConfig
from funnelsync.mapping.schema import FunnelLead, StageChange
from funnelsync.reports.source import audit_from_store, report_from_store
from funnelsync.store import Store
from funnelsync.sync.identity.service import (
    forget_person,
    identity_summary,
    person_view,
    refresh_identity,
)

T0 = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)


def config_for(db_url: str, extra: str = "") -> AppConfig:
    return parse_config(f'[salesforce]\nsession_id = "x"\ninstance_url = "http://127.0.0.1:9"\n'
                        f'[hubspot]\naccess_token = "t"\n[state]\nurl = "{db_url}"\n{extra}')


def sf(i: str, email: str, status: str, stage: str, **kw: object) -> FunnelLead:
    return FunnelLead(source="salesforce", source_id=i, email=email, status=status,
                      funnel_stage=stage, created_at=T0, **kw)  # type: ignore[arg-type]


def hs(i: str, email: str, status: str, stage: str, **kw: object) -> FunnelLead:
    return FunnelLead(source="hubspot", source_id=i, email=email, status=status,
                      funnel_stage=stage, created_at=T0, **kw)  # type: ignore[arg-type]


def seed(store: Store) -> None:
    run = store.start_run("test")
    store.upsert_records("salesforce", "leads", [
        sf("00Q1", "Ana.Chen@Acme.example", "Closed - Not Converted", "lost",
           first_name="Ana", last_name="Chen", company="Acme"),
        sf("00Q2", "ben@acme.example", "Working - Contacted", "interest"),
        sf("00Q3", "cy@solo.example", "Open - Not Contacted", "awareness")], run)
    store.upsert_records("hubspot", "leads", [
        hs("51", " ana.chen@acme.example", "salesqualifiedlead", "consideration"),
        hs("52", "BEN@acme.example", "marketingqualifiedlead", "interest"),
        hs("53", "dee@other.example", "lead", "awareness")], run)
    berlin, new_york = timezone(timedelta(hours=1)), timezone(timedelta(hours=-5))
    store.add_stage_changes([
        StageChange(source="salesforce", record_id="00Q1", from_stage="Open - Not Contacted",
                    to_stage="Working - Contacted",
                    changed_at=datetime(2025, 3, 2, 10, 0, tzinfo=berlin)),  # 09:00 UTC
        StageChange(source="hubspot", record_id="51", from_stage="lead",
                    to_stage="salesqualifiedlead",
                    changed_at=datetime(2025, 3, 2, 5, 30, tzinfo=new_york)),  # 10:30 UTC
        StageChange(source="salesforce", record_id="00Q1", from_stage="Working - Contacted",
                    to_stage="Closed - Not Converted",
                    changed_at=datetime(2025, 3, 2, 11, 0, tzinfo=berlin)),  # 10:00 UTC
    ])
    store.finish_run(run, "ok")


def test_refresh_keeps_first_seen_and_moves_last_seen(db_url: str) -> None:
    config = config_for(db_url)
    with Store.open(db_url) as store:
        seed(store)
        stats = refresh_identity(store, config, T0)
        assert stats is not None and (stats.people, stats.records, stats.new) == (4, 6, 6)
        again = refresh_identity(store, config, T0 + timedelta(hours=1))
        assert again is not None and (again.new, again.changed, again.removed) == (0, 0, 0)
        links = {link.key: link for link in store.stored_links()}
        ana = links["hubspot:lead:51"]
        assert (ana.rule, ana.confidence, ana.first_seen, ana.last_seen) == (
            "email", 1.0, T0, T0 + timedelta(hours=1))
        assert links["salesforce:lead:00Q1"].person_id == ana.person_id
        assert links["salesforce:lead:00Q3"].rule == "single"


def test_person_view_merges_both_timelines_in_time_order(db_url: str) -> None:
    config = config_for(db_url)
    with Store.open(db_url) as store:
        seed(store)
        view = person_view(store, config, "ANA.CHEN@acme.example ")
        assert view is not None
        assert view["furthest_stage"] == {"stage": "consideration", "source": "hubspot"}
        assert [r["key"] for r in view["records"]] == ["salesforce:lead:00Q1", "hubspot:lead:51"]
        assert [(e["at"], e["source"], e["to"], e["funnel_stage"]) for e in view["timeline"]] == [
            ("2025-03-02T09:00:00+00:00", "salesforce", "Working - Contacted", "interest"),
            ("2025-03-02T10:00:00+00:00", "salesforce", "Closed - Not Converted", "lost"),
            ("2025-03-02T10:30:00+00:00", "hubspot", "salesqualifiedlead", "consideration")]
        assert view["conflicts"] == [{"kind": "stage", "distance": 3, "values": {
            "hubspot": ["consideration"], "salesforce": ["lost"]}}]
        assert person_view(store, config, "nobody@x.example") is None


def test_forget_removes_every_linked_record_and_its_history(db_url: str) -> None:
    config = config_for(db_url, '[identity]\nname_domain_rule = true\n')
    with Store.open(db_url) as store:
        seed(store)
        run = store.start_run("test-2")
        # Same person at the same company under another address: linked by name and domain.
        store.upsert_records("hubspot", "leads", [
            hs("54", "a.chen@acme.example", "lead", "awareness", first_name="ana",
               last_name="CHEN")], run)
        store.finish_run(run, "ok")
        refresh_identity(store, config, T0)
        done = forget_person(store, config, "ana.chen@acme.example")
        assert done["records_removed"] == 3
        left = sorted(f"{r.source}:{r.id}" for r in store.iter_records(include_deleted=True))
        assert left == ["hubspot:52", "hubspot:53", "salesforce:00Q2", "salesforce:00Q3"]
        assert list(store.iter_stage_changes("salesforce", "00Q1")) == []
        assert list(store.iter_stage_changes("hubspot", "51")) == []
        assert sorted(x.key for x in store.stored_links()) == [
            "hubspot:lead:52", "hubspot:lead:53", "salesforce:lead:00Q2", "salesforce:lead:00Q3"]
        assert forget_person(store, config, "ana.chen@acme.example")["records_removed"] == 0


def test_combined_report_counts_each_person_once_and_audit_finds_the_conflict(
        db_url: str) -> None:
    config = config_for(db_url)
    with Store.open(db_url) as store:
        seed(store)
        report = report_from_store(store, config, T0 + timedelta(days=5))
        assert (report.merge.people_mapping, report.merge.records, report.merge.people,
                report.merge.merged_records) == (True, 6, 4, 2)
        findings = [f for f in audit_from_store(store, config, T0 + timedelta(days=5)).findings
                    if f.check.startswith("identity_")]
        assert [(f.check, f.severity, f.evidence["distance"], f.evidence["people"])
                for f in findings] == [("identity_stage_conflict", "warning", 3, 1)]
        assert [e["distance"] for e in findings[0].evidence["examples"]] == [3]
        assert identity_summary(store, config) == {
            "people": 4, "linked": 2, "by_rule": {"email": 2}, "conflicts": 1}


def test_cli_identity_person_and_forget(tmp_path: Path) -> None:
    db_url = f"sqlite:///{tmp_path / 'state.db'}"
    path = tmp_path / "funnelsync.toml"
    path.write_text(f'[salesforce]\nsession_id = "x"\ninstance_url = "http://127.0.0.1:9"\n'
                    f'[hubspot]\naccess_token = "t"\n[state]\nurl = "{db_url}"\n')
    with Store.open(db_url) as store:
        seed(store)
    runner = CliRunner()
    counts = runner.invoke(main, ["identity", "-c", str(path), "--json"])
    assert counts.exit_code == 0, counts.output
    assert json.loads(counts.stdout) == {"people": 4, "linked": 2, "by_rule": {"email": 2},
                                         "conflicts": 1}
    text = runner.invoke(main, ["identity", "-c", str(path)])
    assert text.stdout == "4 people, 2 in both CRMs (2 by email), 1 with conflicts\n"
    person = runner.invoke(main, ["person", "ben@acme.example", "-c", str(path), "--json"])
    assert person.exit_code == 0, person.output
    assert json.loads(person.stdout)["sources"] == ["hubspot", "salesforce"]
    missing = runner.invoke(main, ["person", "nobody@x.example", "-c", str(path)])
    assert (missing.exit_code, missing.stderr) == (
        1, "error: no stored record has the e-mail nobody@x.example\n")
    gone = runner.invoke(main, ["forget", "ben@acme.example", "-c", str(path), "--json"])
    assert gone.exit_code == 0, gone.output
    assert json.loads(gone.stdout)["records_removed"] == 2
    deleted = runner.invoke(main, ["person", "cy@solo.example", "--delete", "-c", str(path)])
    assert deleted.stdout.startswith("removed 1 record(s) of person p_")
    after = runner.invoke(main, ["identity", "-c", str(path), "--json"])
    assert json.loads(after.stdout) == {"people": 2, "linked": 1, "by_rule": {"email": 1},
                                        "conflicts": 1}


def test_refresh_rewrites_moved_links_and_drops_vanished_ones(db_url: str) -> None:
    config = config_for(db_url)
    with Store.open(db_url) as store:
        seed(store)
        refresh_identity(store, config, T0)
        run = store.start_run("test-3")
        store.upsert_records("hubspot", "leads", [  # 53 now has Cy's address; 52 is archived
            hs("53", "cy@solo.example", "lead", "awareness"),
            hs("52", "BEN@acme.example", "marketingqualifiedlead", "interest", is_deleted=True)],
            run)
        store.finish_run(run, "ok")
        stats = refresh_identity(store, config, T0 + timedelta(days=1))
        # changed: 53 and 00Q3 now email-linked, 00Q2 (Ben) alone again
        assert stats is not None and (stats.new, stats.changed, stats.removed) == (0, 3, 1)
        links = {x.key: x for x in store.stored_links()}
        assert "hubspot:lead:52" not in links
        assert links["hubspot:lead:53"].person_id == links["salesforce:lead:00Q3"].person_id
        assert (links["hubspot:lead:53"].rule, links["hubspot:lead:53"].first_seen) == (
            "email", T0 + timedelta(days=1))
        assert links["hubspot:lead:51"].first_seen == T0
        assert links["salesforce:lead:00Q2"].rule == "single"
