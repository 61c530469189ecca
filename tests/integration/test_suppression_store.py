"""The suppression list of the state store, on SQLite and PostgreSQL (``db_url``)."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa

from funnelsync.mapping.schema import FunnelDeal, FunnelLead
from funnelsync.store import Store, UpsertStats
from funnelsync.store import schema as store_schema

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
def store(db_url: str) -> Iterator[Store]:
    with Store.open(db_url, clock=lambda: T0) as opened:
        yield opened


def lead(source_id: str, email: str | None) -> FunnelLead:
    return FunnelLead(source="hubspot", source_id=source_id, email=email, status="new",
                      owner_id="o1", updated_at=T0, funnel_stage="subscriber")


def _rows(store: Store, table: sa.Table) -> list[tuple]:
    with store._read() as conn:
        return [tuple(r) for r in conn.execute(sa.select(table))]


def _key(store: Store) -> str:
    with store._read() as conn:
        return conn.execute(sa.select(store_schema.meta.c.value).where(
            store_schema.meta.c.key == "suppression_key")).scalar_one()


def test_the_list_holds_keyed_hashes_of_normalised_addresses_never_the_address(
        store: Store) -> None:
    key = _key(store)
    assert len(bytes.fromhex(key)) == 32
    assert store.suppress([" Ana.Chen@Acme.example ", "ana.chen@acme.example", ""]) == 1
    assert store.suppress(["ANA.CHEN@acme.example"]) == 0
    expected = hmac.new(bytes.fromhex(key), b"ana.chen@acme.example", hashlib.sha256).hexdigest()
    assert _rows(store, store_schema.suppressions) == [(expected, T0)]
    assert store.suppression_count() == 1
    assert (store.is_suppressed("Ana.Chen@ACME.example"), store.is_suppressed("ben@acme.example"),
            store.is_suppressed(None)) == (True, False, False)


def test_each_store_has_its_own_key(tmp_path: object, db_url: str) -> None:
    with Store.open(db_url) as first, Store.open(f"sqlite:///{tmp_path}/other.db") as other:
        first.suppress(["ana@acme.example"])
        other.suppress(["ana@acme.example"])
        assert _key(first) != _key(other)
        assert _rows(first, store_schema.suppressions)[0][0] != \
            _rows(other, store_schema.suppressions)[0][0]


def test_a_suppressed_lead_is_not_written_and_is_counted(store: Store) -> None:
    store.suppress(["ana@acme.example"])
    batch = [lead("1", " ANA@acme.example"), lead("2", "ben@acme.example"), lead("3", None)]
    assert store.upsert_records("hubspot", "leads", batch, run_id=1) == UpsertStats(
        inserted=2, suppressed=1)
    stats = store.write_page("hubspot", "leads", batch, T0, None, run_id=2)
    assert (stats.unchanged, stats.suppressed) == (2, 1)
    assert store.count_records("hubspot", "leads") == 2
    assert [r.id for r in store.iter_records("hubspot", "leads")] == ["2", "3"]


def test_a_row_that_slipped_in_is_never_read(store: Store) -> None:
    store.upsert_records("hubspot", "leads", [lead("1", "ana@acme.example"),
                                              lead("2", "ben@acme.example")], run_id=1)
    store.suppress(["ana@acme.example"])
    assert [r.id for r in store.iter_records()] == ["2"]
    assert [r.id for r in store.iter_records(kind="leads", include_deleted=True)] == ["2"]
    assert store.get_record("hubspot", "leads", "1") is None
    assert store.get_record("hubspot", "leads", "2") is not None


def test_counts_agree_with_what_reads_return(store: Store) -> None:
    store.upsert_records("hubspot", "leads", [
        lead("1", "ana@acme.example"), lead("2", "ben@acme.example"), lead("3", None),
        lead("4", "ana@acme.example").model_copy(update={"is_deleted": True})], run_id=1)
    store.upsert_records("salesforce", "leads", [
        lead("00Q1", "Ana@ACME.example").model_copy(update={"source": "salesforce"})], run_id=1)
    store.upsert_records("salesforce", "deals", [FunnelDeal(
        source="salesforce", source_id="006A", name="Globex", stage="Prospecting",
        owner_id="005A", updated_at=T0)], run_id=1)
    assert store.count_records() == 5
    store.suppress(["ana@acme.example"])
    queries: list[dict] = [
        {}, {"kind": "leads"}, {"kind": "deals"}, {"source": "salesforce"},
        {"source": "hubspot", "kind": "leads", "include_deleted": True},
        {"changed_since_run": 0}, {"changed_since_run": 1}]
    counted = [store.count_records(**q) for q in queries]
    assert counted == [3, 2, 1, 1, 2, 3, 0]
    assert counted == [sum(1 for _ in store.iter_records(**q)) for q in queries]


def test_a_version_3_store_upgrades_in_place(db_url: str) -> None:
    with Store.open(db_url, clock=lambda: T0) as store:
        run_id = store.start_run(None, now=T0)
        store.finish_run(run_id, "ok", counts={"changes": 2}, now=T0)
        store.upsert_records("hubspot", "leads", [lead("1", "ana@acme.example")], run_id=1)
    engine = sa.create_engine(db_url)
    with engine.begin() as conn:  # back to the v3 layout: no suppressions, no key, no kind
        conn.exec_driver_sql("DROP TABLE suppressions")
        conn.exec_driver_sql("ALTER TABLE runs DROP COLUMN kind")
        conn.execute(store_schema.meta.delete().where(
            store_schema.meta.c.key == "suppression_key"))
        conn.execute(store_schema.meta.update().values(value="3"))
    engine.dispose()
    with Store.open(db_url, clock=lambda: T0) as store:
        assert store.schema_version() == 4
        [run] = store.list_runs()
        assert (run.run_id, run.kind, run.status, run.counts) == (1, "sync", "ok",
                                                                   {"changes": 2})
        assert len(bytes.fromhex(_key(store))) == 32
        assert store.suppression_count() == 0
        assert store.suppress(["ana@acme.example"]) == 1
        assert list(store.iter_records()) == []
        forget = store.start_run(None, now=T0, kind="forget")
        assert store.get_run(forget).kind == "forget"  # type: ignore[union-attr]
