"""Forgotten stays forgotten, end to end on the sandbox through the real clients and the CLI."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from click.testing import CliRunner
from sfclient import salesforce_client
from support.clock import FakeClock
from syncsupport import config_text, no_wait_factory, sandbox_config

from funnelsync.cli.main import main
from funnelsync.sandbox import Sandbox
from funnelsync.store import Store
from funnelsync.store.schema import records
from funnelsync.sync.identity.service import compute_identity
from funnelsync.sync.job import SyncJob

SIZE = {"seed": 11, "leads": 120, "deals": 20}


def run(*args: str) -> Any:
    return CliRunner().invoke(main, list(args))


def _shared_person(db_url: str, config: Any) -> tuple[str, dict[str, str]]:
    """The address of a person in both CRMs, and their record id per CRM."""
    with Store.open(db_url) as store:
        person = next(p for p in compute_identity(store, config).people() if p.linked)
        ids = {}
        for rec in person.records:
            source, _, record_id = rec.key.split(":", 2)
            ids[source] = record_id
        stored = store.get_record("salesforce", "leads", ids["salesforce"])
        assert stored is not None and stored.email
        return stored.email, ids


def _stored_with(db_url: str, email: str) -> list[tuple[str, str]]:
    """(source, id) of the rows holding this address, read past the store's API."""
    engine = sa.create_engine(db_url)
    with engine.connect() as conn:
        rows = conn.execute(sa.select(records.c.source, records.c.id)
                            .where(records.c.email == email)).all()
    engine.dispose()
    return sorted((r.source, r.id) for r in rows)


def _job(config: Any, clock: FakeClock) -> SyncJob:
    return SyncJob(config, connector_factory=no_wait_factory(clock), clock=clock.utc)


def _setup(tmp_path: Path, sb: Sandbox, clock: FakeClock,
           extra: str = "") -> tuple[str, Path, Any]:
    db_url = f"sqlite:///{tmp_path / 'state.db'}"
    config = sandbox_config(sb, db_url, extra)
    _job(config, clock).pull()
    path = tmp_path / "funnelsync.toml"
    path.write_text(config_text(sb, db_url, extra))
    return db_url, path, config


def test_a_forgotten_person_is_not_stored_again_by_later_pulls(
        tmp_path: Path, clock: FakeClock) -> None:
    with Sandbox(**SIZE, clock=clock) as sb:
        db_url, path, config = _setup(tmp_path, sb, clock)
        email, ids = _shared_person(db_url, config)
        assert _stored_with(db_url, email) == sorted(ids.items())
        gone = run("forget", email.upper(), "-c", str(path))
        assert gone.exit_code == 0, gone.output
        assert gone.stdout.startswith("removed 2 record(s) of person p_")
        assert gone.stdout.endswith(" from the state store; 1 address(es) added to the "
                                    "suppression list\n")
        # The CRMs still hold the person: a full pull reads them, then an incremental pull
        # reads the Salesforce lead again after it changed.
        full = _job(config, clock).pull(full=True)
        salesforce_client(sb.url).restful(f"sobjects/Lead/{ids['salesforce']}",
                                          method="PATCH", json={"Title": "Chief Privacy"})
        again = _job(config, clock).pull()
        assert again.pulled["salesforce"]["leads"] >= 1
        assert _stored_with(db_url, email) == []
        warnings = [w for w in full.warnings + again.warnings if "suppression" in w]
        assert warnings == [
            "salesforce: 1 record(s) of forgotten people not stored (suppression list)",
            "hubspot: 1 record(s) of forgotten people not stored (suppression list)",
            "salesforce: 1 record(s) of forgotten people not stored (suppression list)"]
        assert not any(email in w.lower() for w in full.warnings + again.warnings)
        listed = run("forget", "--list", "-c", str(path))
        assert listed.stdout == "1 address(es) on the suppression list\n"


def test_reports_exports_and_identity_skip_a_row_that_slipped_in(
        tmp_path: Path, clock: FakeClock) -> None:
    with Sandbox(**SIZE, clock=clock) as sb:
        db_url, path, config = _setup(tmp_path, sb, clock)
        email, _ = _shared_person(db_url, config)
        engine = sa.create_engine(db_url)
        with engine.connect() as conn:
            kept = [dict(r._mapping) for r in conn.execute(
                sa.select(records).where(records.c.email == email))]
        assert run("forget", email, "-c", str(path)).exit_code == 0
        before = _views(path)
        with engine.begin() as conn:  # as an older version, or a hand-made load, would
            conn.execute(records.insert(), kept)
        engine.dispose()
        assert len(_stored_with(db_url, email)) == 2
        assert _views(path) == before
        assert email not in run("export", "-c", str(path), "--object", "leads",
                                "-o", "-").stdout.lower()
        person = run("person", email, "-c", str(path))
        assert (person.exit_code, person.stderr) == (
            1, f"error: no stored record has the e-mail {email}\n")


def _views(path: Path) -> tuple[int, dict[str, Any], Any]:
    """(exported leads, identity counts, the report's lead funnel)."""
    export = run("export", "-c", str(path), "--object", "leads", "-o", "-")
    identity = json.loads(run("identity", "-c", str(path), "--json").stdout)
    report = json.loads(run("report", "-c", str(path), "--format", "json").stdout)
    return len(export.stdout.splitlines()), identity, report["merge"]


def test_forget_in_crm_dry_run_then_for_real(tmp_path: Path, clock: FakeClock) -> None:
    with Sandbox(**SIZE, clock=clock) as sb:
        db_url, path, config = _setup(tmp_path, sb, clock)
        email, ids = _shared_person(db_url, config)
        sf_id, hs_id = ids["salesforce"], ids["hubspot"]
        plan = run("forget", email, "-c", str(path), "--in-crm", "--dry-run")
        assert (plan.exit_code, plan.stdout) == (0, (
            f"dry run: would remove 2 record(s) of person {_person_id(db_url, config)} from "
            f"the state store; would erase in the CRMs: salesforce Lead {sf_id}, "
            f"hubspot contacts {hs_id}\n"))
        assert _stored_with(db_url, email) == sorted(ids.items())
        assert not sb.state.data.sf["Lead"][sf_id]["IsDeleted"]
        assert hs_id in sb.state.data.hs["contacts"]

        done = run("forget", email, "-c", str(path), "--in-crm", "--json")
        assert done.exit_code == 0, done.output
        body = json.loads(done.stdout)
        assert (body["records_removed"], body["suppressed"], body["crm_records"],
                body["crm_failed"], body["failures"]) == (
            2, 1, {"hubspot": 1, "salesforce": 1}, [], {})
        assert body["erasures"] == [
            {"source": "salesforce", "object": "Lead", "id": sf_id, "erased": True},
            {"source": "hubspot", "object": "contacts", "id": hs_id, "erased": True}]
        assert _stored_with(db_url, email) == []
        assert sb.state.data.sf["Lead"][sf_id]["IsDeleted"] is True
        assert hs_id not in sb.state.data.hs["contacts"]

        runs = json.loads(run("runs", "-c", str(path), "--json").stdout)["runs"]
        assert [(r["kind"], r["dry_run"], r["status"]) for r in runs[:2]] == [
            ("forget", False, "ok"), ("forget", True, "ok")]
        with Store.open(db_url) as store:
            forget_run = store.get_run(runs[0]["run_id"])
        assert forget_run is not None
        assert forget_run.counts == {"records_removed": 2, "suppressed": 1,
                                     "crm_records": {"hubspot": 1, "salesforce": 1},
                                     "crm_failed": []}
        exported = run("export", "-c", str(path), "--object", "runs", "-o", "-").stdout
        assert "@" not in exported and email not in exported


def _person_id(db_url: str, config: Any) -> str:
    with Store.open(db_url) as store:
        return next(p for p in compute_identity(store, config).people() if p.linked).person_id


def test_a_crm_that_cannot_erase_is_named_and_the_person_stays_forgotten(
        tmp_path: Path, clock: FakeClock) -> None:
    with Sandbox(**SIZE, clock=clock) as sb:
        db_url, path, config = _setup(tmp_path, sb, clock)
        email, ids = _shared_person(db_url, config)
        text = path.read_text().replace('access_token = "pat-demo"',
                                        'access_token = "pat-revoked"')
        path.write_text(text)
        done = run("forget", email, "-c", str(path), "--in-crm")
        assert done.exit_code == 4
        assert done.stdout.startswith("removed 2 record(s) of person p_")
        assert done.stdout.endswith(f"; erased in the CRMs: salesforce Lead "
                                    f"{ids['salesforce']}\n")
        # (log lines may share stderr when an earlier test left a handler there)
        [line] = [x for x in done.stderr.splitlines() if x.startswith("error:")]
        assert line.startswith("error: hubspot: erasing the person failed (")
        assert line.endswith("); they stay forgotten in the state store and on the "
                             "suppression list")
        assert "Traceback" not in done.output and email not in done.stderr.lower()
        assert ids["hubspot"] in sb.state.data.hs["contacts"]
        assert sb.state.data.sf["Lead"][ids["salesforce"]]["IsDeleted"] is True
        with Store.open(db_url) as store:
            assert store.is_suppressed(email)
            [last] = store.list_runs(1)
        assert (last.kind, last.status, last.counts["crm_failed"]) == (
            "forget", "partial", ["hubspot"])
        assert [e["source"] for e in last.errors] == ["hubspot"]
