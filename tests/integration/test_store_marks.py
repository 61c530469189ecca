"""The store's change marks that warehouse loads read from (SQLite and PostgreSQL): stage
changes by insertion position, people by the identity refresh that changed them, runs by id."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from funnelsync.config.loading import parse_config
from funnelsync.config.models import AppConfig
from funnelsync.mapping.schema import FunnelLead, StageChange
from funnelsync.rules.linking import person_id
from funnelsync.store import Store
from funnelsync.sync.identity.service import forget_person, refresh_identity

T0 = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
ANA, BEN, CY, DEE = (person_id(e) for e in ("ana@acme.example", "ben@acme.example",
                                            "cy@solo.example", "dee@other.example"))


def config_for(db_url: str) -> AppConfig:
    return parse_config(f'[salesforce]\nsession_id = "x"\ninstance_url = "http://127.0.0.1:9"\n'
                        f'[hubspot]\naccess_token = "t"\n[state]\nurl = "{db_url}"\n')


def lead(source: str, i: str, email: str, deleted: bool = False) -> FunnelLead:
    return FunnelLead(source=source, source_id=i, email=email, created_at=T0,  # type: ignore[arg-type]
                      is_deleted=deleted)


def store_leads(store: Store, source: str, leads: list[FunnelLead]) -> None:
    run = store.start_run("test")
    store.upsert_records(source, "leads", leads, run)
    store.finish_run(run, "ok")


def changed(store: Store, mark: int | None, through: int | None = None
            ) -> dict[str, list[str]]:
    return {pid: [link.key for link in links]
            for pid, links in store.iter_people_since(mark, through)}


def test_people_changed_since_a_mark(db_url: str) -> None:
    config = config_for(db_url)
    with Store.open(db_url) as store:
        assert store.people_mark() == 0
        store_leads(store, "salesforce", [lead("salesforce", "00Q1", "ana@acme.example"),
                                          lead("salesforce", "00Q2", "ben@acme.example"),
                                          lead("salesforce", "00Q3", "cy@solo.example")])
        store_leads(store, "hubspot", [lead("hubspot", "51", "Ana@Acme.example"),
                                       lead("hubspot", "52", "ben@acme.example"),
                                       lead("hubspot", "53", "dee@other.example")])
        refresh_identity(store, config, T0)
        everyone = {ANA: ["hubspot:lead:51", "salesforce:lead:00Q1"],
                    BEN: ["hubspot:lead:52", "salesforce:lead:00Q2"],
                    CY: ["salesforce:lead:00Q3"], DEE: ["hubspot:lead:53"]}
        assert store.people_mark() == 1
        assert changed(store, None) == changed(store, 0, 1) == everyone
        refresh_identity(store, config, T0 + timedelta(days=1))  # nothing changed: no mark
        assert (store.people_mark(), changed(store, 1)) == (1, {})

        # 53 takes Cy's address (Dee is gone), 52 is archived (Ben keeps one record)
        store_leads(store, "hubspot", [lead("hubspot", "53", "cy@solo.example"),
                                       lead("hubspot", "52", "ben@acme.example", True)])
        refresh_identity(store, config, T0 + timedelta(days=2))
        assert store.people_mark() == 2
        assert changed(store, 1) == {BEN: ["salesforce:lead:00Q2"],
                                     CY: ["hubspot:lead:53", "salesforce:lead:00Q3"], DEE: []}
        assert changed(store, 1, 1) == {}

        forget_person(store, config, "ana@acme.example")
        assert (store.people_mark(), changed(store, 2)) == (3, {ANA: []})


def test_stage_changes_after_a_position(db_url: str) -> None:
    def change(record_id: str, to: str, minutes: int) -> StageChange:
        return StageChange(source="salesforce", record_id=record_id, to_stage=to,
                           changed_at=T0 + timedelta(minutes=minutes))

    with Store.open(db_url) as store:
        assert store.stage_changes_mark() == 0
        store.add_stage_changes([change("B", "won", 5), change("A", "open", 1)])
        first = store.stage_changes_mark()
        store.add_stage_changes([change("A", "open", 1), change("A", "won", 9)])  # one new
        last = store.stage_changes_mark()
        read = [(c.record_id, c.to_stage) for _, c in store.iter_stage_changes_since(None, last)]
        assert read == [("B", "won"), ("A", "open"), ("A", "won")]  # the order they were stored
        assert [(c.record_id, c.to_stage)
                for _, c in store.iter_stage_changes_since(first, last)] == [("A", "won")]
        assert list(store.iter_stage_changes_since(last)) == []
        assert [p for p, _ in store.iter_stage_changes_since(None, first)] == \
            sorted(p for p, _ in store.iter_stage_changes_since(None, first))


def test_runs_between_two_ids(db_url: str) -> None:
    with Store.open(db_url) as store:
        ids = [store.start_run("test") for _ in range(4)]
        assert [r.run_id for r in store.iter_runs()] == ids
        assert [r.run_id for r in store.iter_runs(ids[0], ids[2])] == ids[1:3]
        assert [r.status for r in store.iter_runs(ids[2])] == ["running"]
