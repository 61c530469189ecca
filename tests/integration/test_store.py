"""The state store on SQLite and PostgreSQL (``db_url`` runs every test on both)."""

from __future__ import annotations

import threading
import tracemalloc
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal

import pytest
import sqlalchemy as sa

from funnelsync.errors import ConfigError, DataError, LockHeld
from funnelsync.mapping.schema import CatalogStage, FunnelDeal, FunnelLead, StageChange
from funnelsync.store import PushRow, Store, UpsertStats, Watermark, content_hash
from funnelsync.store import schema as store_schema

T0 = datetime(2024, 3, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
def store(db_url: str) -> Iterator[Store]:
    with Store.open(db_url, clock=lambda: T0) as opened:
        yield opened


def lead(source_id: str, *, source: str = "hubspot", email: str | None = None,
         status: str = "new", updated: datetime = T0, deleted: bool = False) -> FunnelLead:
    return FunnelLead(source=source, source_id=source_id, email=email, status=status,
                      owner_id="o1", updated_at=updated, is_deleted=deleted,
                      funnel_stage="subscriber")


def deal(source_id: str, *, stage: str = "Prospecting") -> FunnelDeal:
    return FunnelDeal(source="salesforce", source_id=source_id, name=f"Deal {source_id}",
                      amount=Decimal("1200.50"), stage=stage, close_date=date(2024, 6, 30),
                      owner_id="005A", updated_at=T0)


def ids(store: Store, **filters: object) -> list[str]:
    return [r.id for r in store.iter_records(**filters)]  # type: ignore[arg-type]


# -- schema -----------------------------------------------------------------------------------
def test_open_creates_the_current_schema_and_reopens(db_url: str) -> None:
    with Store.open(db_url) as first:
        assert first.schema_version() == 4
        first.set_state("k", 1)
    with Store.open(db_url) as second:
        assert second.schema_version() == 4
        assert second.get_state("k") == 1
        assert second.lock_info().holder is None


def _create_v1(url: str) -> None:
    """The v1 layout as released: records without email/owner_id, no alerts/push/state."""
    v1 = sa.MetaData()
    sa.Table("meta", v1, sa.Column("key", sa.String(64), primary_key=True),
             sa.Column("value", sa.Text, nullable=False))
    sa.Table("records", v1, *(sa.Column(n, sa.String(255), primary_key=True)
                              for n in ("source", "kind", "id")),
             sa.Column("data", store_schema.JSONType, nullable=False),
             sa.Column("funnel_stage", sa.String(64)),
             sa.Column("content_hash", sa.String(64), nullable=False),
             sa.Column("is_deleted", sa.Boolean, nullable=False),
             sa.Column("updated_at", store_schema.UTCDateTime),
             sa.Column("first_seen_run", sa.Integer), sa.Column("changed_run", sa.Integer))
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        v1.create_all(conn)
        conn.execute(v1.tables["meta"].insert().values(key="schema_version", value="1"))
        data = lead("L1", email=" Ann@Example.COM ").model_dump(mode="json")
        conn.execute(v1.tables["records"].insert(), [
            {"source": "hubspot", "kind": "leads", "id": "L1", "data": data,
             "funnel_stage": "subscriber", "content_hash": content_hash(data),
             "is_deleted": False, "updated_at": T0, "first_seen_run": 1, "changed_run": 1}])
    engine.dispose()


def test_open_upgrades_a_version_1_store(db_url: str) -> None:
    _create_v1(db_url)
    with Store.open(db_url) as store:
        assert store.schema_version() == 4
        record = store.get_record("hubspot", "leads", "L1")
        assert record is not None
        assert (record.email, record.owner_id, record.changed_run) == ("ann@example.com", "o1", 1)
        assert store.delete_person("ann@example.com") == 1
        inspector = sa.inspect(store._engine)
        for table in store_schema.metadata.sorted_tables:
            got = {c["name"] for c in inspector.get_columns(table.name)}
            assert got == set(table.columns.keys()), table.name
        assert "ix_records_email" in {i["name"] for i in inspector.get_indexes("records")}


def test_open_refuses_a_newer_schema(db_url: str) -> None:
    with Store.open(db_url) as store, store._write() as conn:
        conn.execute(store_schema.meta.update().values(value="99"))
    with pytest.raises(ConfigError, match="schema version 99, newer than this funnelsync"):
        Store.open(db_url)


def test_unsupported_database_url_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="unsupported database 'mysql'"):
        Store.open("mysql://u@h/db")


def test_sqlite_runs_in_wal_with_foreign_keys_and_busy_timeout(tmp_path) -> None:
    with Store.open(f"sqlite:///{tmp_path / 'sub' / 's.db'}", busy_timeout_ms=1234) as store, \
            store._read() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 1234


def test_naive_datetimes_are_refused(store: Store) -> None:
    with pytest.raises(sa.exc.StatementError, match="naive datetime"):
        store.set_watermark("hubspot", "leads", datetime(2024, 1, 1))


# -- records ----------------------------------------------------------------------------------
def test_upsert_counts_inserts_updates_unchanged_and_deletes(store: Store) -> None:
    batch = [lead("A", email=" Ann@X.com "), lead("B"), lead("C")]
    assert store.upsert_records("hubspot", "leads", batch, run_id=1) == UpsertStats(3, 0, 0, 0)
    assert store.upsert_records("hubspot", "leads", batch, run_id=2) == UpsertStats(0, 0, 3, 0)
    a = store.get_record("hubspot", "leads", "A")
    assert a is not None
    assert (a.email, a.owner_id, a.funnel_stage, a.first_seen_run, a.changed_run, a.is_deleted) \
        == ("ann@x.com", "o1", "subscriber", 1, 1, False)
    assert a.data["email"] == " Ann@X.com " and a.data["status"] == "new"
    assert a.content_hash == content_hash(batch[0].model_dump(mode="json"))
    assert a.to_model() == batch[0]

    later = T0 + timedelta(hours=1)  # only the volatile modification time moves
    touched = [lead("A", email=" Ann@X.com ", updated=later), lead("B"), lead("C")]
    assert store.upsert_records("hubspot", "leads", touched, run_id=3) == UpsertStats(0, 0, 3, 0)
    a = store.get_record("hubspot", "leads", "A")
    assert a is not None and (a.changed_run, a.updated_at) == (1, later)

    changed = [lead("A", email=" Ann@X.com ", status="working"), lead("B", deleted=True),
               lead("C")]
    assert store.upsert_records("hubspot", "leads", changed, run_id=4) == UpsertStats(0, 2, 1, 1)
    assert [(r.id, r.first_seen_run, r.changed_run, r.is_deleted) for r in
            store.iter_records(include_deleted=True)] == [
        ("A", 1, 4, False), ("B", 1, 4, True), ("C", 1, 1, False)]
    assert ids(store) == ["A", "C"]
    assert ids(store, changed_since_run=3) == ["A"]
    assert ids(store, changed_since_run=3, include_deleted=True) == ["A", "B"]
    assert ids(store, changed_since_run=4) == []
    assert store.count_records() == 2
    assert store.count_records("hubspot", "leads", include_deleted=True) == 3
    assert store.count_records(changed_since_run=1, include_deleted=True) == 2


def test_records_are_keyed_by_source_kind_and_id(store: Store) -> None:
    store.upsert_records("hubspot", "leads", [lead("X1")], run_id=1)
    store.upsert_records("salesforce", "leads", [lead("X1", source="salesforce")], run_id=1)
    stats = store.upsert_records("salesforce", "deals", [deal("X1"), deal("D2")], run_id=1)
    assert stats == UpsertStats(2, 0, 0, 0)
    assert ids(store, source="salesforce") == ["D2", "X1", "X1"]  # deals < leads
    assert ids(store, kind="deals") == ["D2", "X1"]
    stored = store.get_record("salesforce", "deals", "X1")
    assert stored is not None
    assert stored.data["amount"] == "1200.50" and stored.data["close_date"] == "2024-06-30"
    assert stored.to_model() == deal("X1")
    assert store.get_record("hubspot", "deals", "X1") is None


def test_upsert_keeps_the_last_of_duplicate_ids_and_rejects_foreign_records(store: Store) -> None:
    stats = store.upsert_records("hubspot", "leads",
                                 [lead("A", status="one"), lead("A", status="two")], run_id=1)
    assert stats == UpsertStats(1, 0, 0, 0)
    a = store.get_record("hubspot", "leads", "A")
    assert a is not None and a.data["status"] == "two"
    with pytest.raises(DataError, match="expected FunnelLead from hubspot, got FunnelLead "
                                        "from salesforce"):
        store.upsert_records("hubspot", "leads", [lead("S", source="salesforce")], run_id=1)
    with pytest.raises(DataError, match="expected FunnelDeal from salesforce, got FunnelLead"):
        store.upsert_records("salesforce", "deals", [lead("S", source="salesforce")], run_id=1)


def test_iter_records_streams_and_does_not_block_writers(store: Store) -> None:
    for start in range(0, 2000, 1000):
        store.upsert_records("hubspot", "leads",
                             [lead(f"L{i:05d}") for i in range(start, start + 1000)], run_id=1)
    stream = store.iter_records(batch_size=100)
    first = next(stream)
    # A write while a read is half-way: must neither wait for nor disturb the reader.
    assert store.upsert_records("hubspot", "leads", [lead("L99999")], run_id=2) \
        == UpsertStats(1, 0, 0, 0)
    rest = sum(1 for _ in stream)
    assert (first.id, rest) in {("L00000", 1999), ("L00000", 2000)}
    assert store.count_records() == 2001

    tracemalloc.start()
    for _ in store.iter_records(batch_size=100):
        pass
    streamed_peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.reset_peak()
    everything = list(store.iter_records(batch_size=100))
    listed_peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert len(everything) == 2001
    assert streamed_peak * 10 < listed_peak, (streamed_peak, listed_peak)


# -- pages and watermarks ---------------------------------------------------------------------
def test_write_page_stores_records_and_watermark_together(store: Store) -> None:
    cursor = T0 - timedelta(minutes=5)
    stats = store.write_page("hubspot", "leads", [lead("A"), lead("B")], cursor, "after-B", 7)
    assert stats == UpsertStats(2, 0, 0, 0)
    assert store.get_watermark("hubspot", "leads") == Watermark(cursor, "after-B", T0)
    # An unordered full-load page carries no cursor: the stored cursor stays.
    store.write_page("hubspot", "leads", [lead("C")], None, "after-C", 7)
    assert store.get_watermark("hubspot", "leads") == Watermark(cursor, "after-C", T0)
    assert ids(store, changed_since_run=6) == ["A", "B", "C"]


def test_write_page_rolls_back_records_when_the_watermark_fails(
        store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    store.write_page("hubspot", "leads", [lead("A")], T0, "page-1", 1)

    def broken(*_args: object, **_kwargs: object) -> None:
        raise RuntimeError("disk full")

    monkeypatch.setattr(Store, "_save_watermark", broken)
    with pytest.raises(RuntimeError, match="disk full"):
        store.write_page("hubspot", "leads", [lead("B"), lead("A", status="x")],
                         T0 + timedelta(hours=1), "page-2", 2)
    monkeypatch.undo()
    assert ids(store) == ["A"]
    a = store.get_record("hubspot", "leads", "A")
    assert a is not None and (a.data["status"], a.changed_run) == ("new", 1)
    assert store.get_watermark("hubspot", "leads") == Watermark(T0, "page-1", T0)


def test_write_page_of_stage_changes(store: Store) -> None:
    changes = [StageChange(source="salesforce", record_id="D1", from_stage=None,
                           to_stage="Prospecting", changed_at=T0)]
    assert store.write_page("salesforce", "stage_changes", changes, T0, None, 1) \
        == UpsertStats(1, 0, 0, 0)
    assert store.write_page("salesforce", "stage_changes", changes, T0, None, 2) \
        == UpsertStats(0, 0, 1, 0)
    assert store.get_watermark("salesforce", "stage_changes") == Watermark(T0, None, T0)


def test_watermarks_set_get_and_clear(store: Store) -> None:
    assert store.get_watermark("hubspot", "deals") is None
    store.set_watermark("hubspot", "deals", T0, "tok")
    store.set_watermark("hubspot", "leads", T0)
    store.set_watermark("salesforce", "deals", T0)
    store.set_watermark("hubspot", "deals", None, None)  # set is exact: None clears the cursor
    assert store.get_watermark("hubspot", "deals") == Watermark(None, None, T0)
    assert store.clear_watermark("hubspot", "leads") == 1
    assert store.get_watermark("hubspot", "leads") is None
    assert store.clear_watermark("hubspot") == 1
    assert store.get_watermark("salesforce", "deals") == Watermark(T0, None, T0)


# -- stage changes and catalog ----------------------------------------------------------------
def test_stage_changes_are_idempotent_and_ordered(store: Store) -> None:
    plus2 = timezone(timedelta(hours=2))
    changes = [
        StageChange(source="hubspot", record_id="D2", to_stage="b", changed_at=T0),
        StageChange(source="hubspot", record_id="D1", from_stage="a", to_stage="b",
                    changed_at=T0 + timedelta(days=2)),
        StageChange(source="hubspot", record_id="D1", to_stage="a",
                    changed_at=datetime(2024, 3, 1, 14, 0, tzinfo=plus2)),  # = T0
        StageChange(source="hubspot", record_id="D2", to_stage="b", changed_at=T0),
    ]
    assert store.add_stage_changes(changes) == 3
    assert store.add_stage_changes(changes[:2]) == 0
    assert store.add_stage_changes([StageChange(source="salesforce", record_id="D1",
                                                to_stage="a", changed_at=T0)]) == 1
    assert [(c.record_id, c.to_stage, c.changed_at) for c in
            store.iter_stage_changes(source="hubspot")] == [
        ("D1", "a", T0), ("D1", "b", T0 + timedelta(days=2)), ("D2", "b", T0)]
    assert [c.source for c in store.iter_stage_changes(record_id="D1")] \
        == ["hubspot", "hubspot", "salesforce"]


def test_catalog_is_replaced_per_source(store: Store) -> None:
    sf = [CatalogStage(source="salesforce", stage="Closed Won", label="Won", order=3,
                       probability=100, is_closed=True, is_won=True),
          CatalogStage(source="salesforce", stage="Prospecting", label="Prospecting", order=1,
                       probability=10),
          CatalogStage(source="salesforce", stage="Open", label="Open", kind="lead")]
    hs = [CatalogStage(source="hubspot", pipeline="default", stage="s1", label="Appt", order=0)]
    assert store.replace_catalog("salesforce", sf) == 3
    assert store.replace_catalog("hubspot", hs) == 1
    assert store.catalog("salesforce") == [sf[1], sf[0], sf[2]]
    assert store.replace_catalog("salesforce", sf[:1]) == 1
    assert store.catalog() == [hs[0], sf[0]]
    with pytest.raises(DataError, match="expected CatalogStage from hubspot"):
        store.replace_catalog("hubspot", sf)


# -- runs and the lock ------------------------------------------------------------------------
def test_runs_are_recorded_and_listed(store: Store) -> None:
    first = store.start_run("h1", now=T0)
    second = store.start_run("h1", dry_run=True, now=T0 + timedelta(minutes=1))
    assert (first, second) == (1, 2)
    store.finish_run(first, "partial", counts={"written": 3}, errors=[{"code": "X"}],
                     timings={"pull": 1.5}, now=T0 + timedelta(seconds=30))
    run = store.get_run(first)
    assert run is not None
    assert (run.status, run.dry_run, run.holder, run.counts, run.errors, run.timings,
            run.started_at, run.finished_at) == (
        "partial", False, "h1", {"written": 3}, [{"code": "X"}], {"pull": 1.5},
        T0, T0 + timedelta(seconds=30))
    assert [(r.run_id, r.status, r.dry_run) for r in store.list_runs()] \
        == [(2, "running", True), (1, "partial", False)]
    assert [r.run_id for r in store.list_runs(limit=1)] == [2]
    last = store.last_run()
    assert last is not None and last.run_id == 1
    assert store.last_run(("ok",)) is None
    assert store.get_run(99) is None
    with pytest.raises(ValueError, match="status must be ok/partial/failed/crashed"):
        store.finish_run(second, "running")
    with pytest.raises(ValueError, match="no run 99"):
        store.finish_run(99, "ok")


def test_lock_is_exclusive_until_released_or_expired(store: Store) -> None:
    lock = store.acquire_lock("hostA:11:aa", T0, 60)
    assert (lock.holder, lock.acquired_at, lock.expires_at) \
        == ("hostA:11:aa", T0, T0 + timedelta(seconds=60))
    run_a = store.start_run("hostA:11:aa", now=T0)
    with pytest.raises(LockHeld) as held:
        store.acquire_lock("hostB:22:bb", T0 + timedelta(seconds=59), 60)
    assert str(held.value) == ("another funnelsync run holds the state-store lock: "
                               "hostA:11:aa (run 1), since 2024-03-01T12:00:00Z")
    assert held.value.holder == "hostA:11:aa" and held.value.exit_code == 3

    refreshed = store.refresh_lock("hostA:11:aa", T0 + timedelta(seconds=50), 60)
    assert (refreshed.acquired_at, refreshed.expires_at, refreshed.run_id) \
        == (T0, T0 + timedelta(seconds=110), run_a)
    with pytest.raises(LockHeld):
        store.acquire_lock("hostB:22:bb", T0 + timedelta(seconds=100), 60)

    # A holds no longer refreshes: after expiry B takes over and A's run is marked crashed.
    taken = store.acquire_lock("hostB:22:bb", T0 + timedelta(seconds=111), 60)
    assert (taken.holder, taken.run_id) == ("hostB:22:bb", None)
    crashed = store.get_run(run_a)
    assert crashed is not None
    assert (crashed.status, crashed.finished_at) == ("crashed", T0 + timedelta(seconds=111))
    with pytest.raises(LockHeld, match="hostB:22:bb"):
        store.refresh_lock("hostA:11:aa", T0 + timedelta(seconds=112), 60)
    assert store.release_lock("hostA:11:aa") is False
    assert store.release_lock("hostB:22:bb") is True
    assert store.lock_info().holder is None
    again = store.acquire_lock("hostA:11:aa", T0 + timedelta(seconds=113), 60)
    assert again.holder == "hostA:11:aa"
    same = store.acquire_lock("hostA:11:aa", T0 + timedelta(seconds=120), 60)
    assert same.acquired_at == T0 + timedelta(seconds=113)


def _race_for_lock(stores: list[Store], holders: list[str]) -> dict[str, str]:
    """Every holder tries to take the lock at the same moment, alternating between stores."""
    barrier = threading.Barrier(len(holders))
    outcome: dict[str, str] = {}

    def contend(holder: str, target: Store) -> None:
        barrier.wait()
        try:
            target.acquire_lock(holder, T0, 60)
            outcome[holder] = "won"
        except LockHeld as exc:
            outcome[holder] = f"lost to {exc.holder}"

    threads = [threading.Thread(target=contend, args=(h, stores[i % len(stores)]))
               for i, h in enumerate(holders)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return outcome


def test_lock_race_has_exactly_one_winner(db_url: str) -> None:
    stores = [Store.open(db_url, clock=lambda: T0) for _ in range(2)]
    try:
        for round_no in range(4):
            holders = [f"h{round_no}-{n}" for n in range(6)]
            outcome = _race_for_lock(stores, holders)
            winners = [h for h, result in outcome.items() if result == "won"]
            assert len(winners) == 1, outcome
            assert sorted(outcome.values()) == ["lost to " + winners[0]] * 5 + ["won"]
            assert stores[0].release_lock(winners[0]) is True
    finally:
        for opened in stores:
            opened.close()


def test_open_marks_runs_of_an_expired_lock_crashed(db_url: str) -> None:
    with Store.open(db_url, clock=lambda: T0) as store:
        store.acquire_lock("dead:1:aa", T0, 60)
        run_id = store.start_run("dead:1:aa", now=T0)
        orphan = store.start_run("never-locked", now=T0)
    with Store.open(db_url, clock=lambda: T0 + timedelta(seconds=30)) as store:
        statuses = {r.run_id: r.status for r in store.list_runs()}
        assert statuses == {run_id: "running", orphan: "crashed"}
    later = T0 + timedelta(seconds=61)
    with Store.open(db_url, clock=lambda: later) as store:
        run = store.get_run(run_id)
        assert run is not None and (run.status, run.finished_at) == ("crashed", later)


# -- push results and alerts ------------------------------------------------------------------
def test_failed_writes_are_those_whose_latest_result_failed(store: Store) -> None:
    run1 = store.start_run("h", now=T0)
    rows = [PushRow("deals", "D1", {"score": 10}, True),
            PushRow("deals", "D2", {"score": 20}, False, "UNABLE_TO_LOCK_ROW", "locked"),
            PushRow("leads", "L1", {"stage": "mql"}, False, "INVALID_FIELD", "bad field")]
    assert store.record_push_results(run1, "salesforce", rows, now=T0) == 3
    run2 = store.start_run("h", now=T0)
    store.record_push_results(run2, "salesforce", [PushRow("deals", "D2", {"score": 20}, True),
                                                   PushRow("deals", "D1", {"score": 11}, False,
                                                           "X", "boom")], now=T0)
    store.record_push_results(run2, "hubspot", [PushRow("deals", "9", {"a": 1}, False)], now=T0)
    assert [(f.run_id, f.kind, f.record_id, f.fields, f.error_code, f.message, f.at) for f in
            store.failed_writes("salesforce")] == [
        (run1, "leads", "L1", {"stage": "mql"}, "INVALID_FIELD", "bad field", T0),
        (run2, "deals", "D1", {"score": 11}, "X", "boom", T0)]
    assert [f.record_id for f in store.failed_writes()] == ["L1", "D1", "9"]
    assert len(list(store.iter_push_results(run2))) == 3
    with pytest.raises(sa.exc.IntegrityError):  # push results belong to a recorded run
        store.record_push_results(99, "hubspot", [PushRow("deals", "9", {}, True)])


def test_alert_lifecycle_and_uniqueness(store: Store) -> None:
    alert, created = store.open_alert("hubspot", "D1", "stale_stage", {"days": 31}, now=T0)
    assert created is True
    assert (alert.status, alert.task_id, alert.evidence, alert.opened_at) \
        == ("open", None, {"days": 31}, T0)
    later = T0 + timedelta(days=1)
    same, created = store.open_alert("hubspot", "D1", "stale_stage", {"days": 32}, now=later)
    assert (created, same.alert_id, same.evidence, same.updated_at) \
        == (False, alert.alert_id, {"days": 32}, later)
    other, _ = store.open_alert("hubspot", "D1", "idle", {"days": 9}, now=T0)

    assert store.mark_alert_pending(alert.alert_id, now=later).status == "pending"
    assert [a.alert_id for a in store.open_alerts("hubspot")] == [alert.alert_id, other.alert_id]
    tasked = store.set_alert_task(alert.alert_id, "T-77", now=later)
    assert (tasked.status, tasked.task_id) == ("open", "T-77")
    resolved = store.resolve_alert(alert.alert_id, now=later)
    assert (resolved.status, resolved.resolved_at, resolved.task_id) \
        == ("resolved", later, "T-77")
    assert [a.alert_id for a in store.open_alerts()] == [other.alert_id]
    assert store.open_alerts("salesforce") == []
    with pytest.raises(ValueError, match="already resolved"):
        store.resolve_alert(alert.alert_id)

    reopened, created = store.open_alert("hubspot", "D1", "stale_stage", {"days": 60}, now=later)
    assert created is True and reopened.alert_id not in (alert.alert_id, other.alert_id)
    assert [(a.reason, a.status) for a in store.iter_alerts(record_id="D1")] == [
        ("stale_stage", "resolved"), ("idle", "open"), ("stale_stage", "open")]
    assert [a.alert_id for a in store.iter_alerts(statuses=["resolved"])] == [alert.alert_id]
    with pytest.raises(sa.exc.IntegrityError), store._write() as conn:
        conn.execute(store_schema.alerts.insert().values(
            source="hubspot", record_id="D1", reason="idle", status="pending", evidence={},
            opened_at=T0, updated_at=T0))


# -- privacy and key/value state --------------------------------------------------------------
def test_delete_person_removes_records_and_their_trail(store: Store) -> None:
    store.upsert_records("hubspot", "leads", [lead("H1", email="Ann@X.com"), lead("H2")], 1)
    store.upsert_records("salesforce", "leads",
                         [lead("S1", source="salesforce", email=" ann@x.COM")], 1)
    store.add_stage_changes([
        StageChange(source="hubspot", record_id="H1", to_stage="mql", changed_at=T0),
        StageChange(source="hubspot", record_id="H2", to_stage="mql", changed_at=T0)])
    store.open_alert("salesforce", "S1", "idle", {"email": "ann@x.com"}, now=T0)
    run = store.start_run("h", now=T0)
    store.record_push_results(run, "hubspot", [PushRow("leads", "H1", {"s": 1}, False)], T0)

    assert store.delete_person("  ANN@x.com ") == 2
    assert [(r.source, r.id) for r in store.iter_records(include_deleted=True)] \
        == [("hubspot", "H2")]
    assert [c.record_id for c in store.iter_stage_changes()] == ["H2"]
    assert list(store.iter_alerts()) == []
    assert store.failed_writes() == []
    assert store.delete_person("ann@x.com") == 0
    with pytest.raises(DataError, match="non-empty e-mail"):
        store.delete_person("  ")


def test_state_values_round_trip(store: Store) -> None:
    assert store.get_state("round_robin") is None
    assert store.get_state("round_robin", default={}) == {}
    store.set_state("round_robin", {"salesforce": 3, "owners": ["a", "b"]})
    store.set_state("round_robin", {"salesforce": 4, "owners": ["a", "b"]})
    assert store.get_state("round_robin") == {"salesforce": 4, "owners": ["a", "b"]}


def test_plain_postgresql_urls_use_psycopg_3() -> None:
    engine = store_schema.create_engine("postgresql://fs@127.0.0.1:1/fs")
    assert (engine.dialect.name, engine.dialect.driver) == ("postgresql", "psycopg")
    engine.dispose()
