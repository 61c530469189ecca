"""The store's follow-ups and legacy alerts, on SQLite and PostgreSQL; the upgrade to v3."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from funnelsync.store import Store
from funnelsync.store import schema as store_schema

T0 = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


def test_one_live_follow_up_per_record_and_kind_closed_ones_are_history(db_url: str) -> None:
    with Store.open(db_url) as store:
        made = store.save_follow_ups("salesforce", new=[
            {"record_id": "006A", "kind": "deal", "status": "pending", "owner_id": "005A",
             "reasons": [{"code": "idle", "key": "idle", "text": "no activity", "evidence": {}}]},
            {"record_id": "006B", "kind": "deal", "status": "waiting", "priority": 2.5}], now=T0)
        a = made[("006A", "deal")]
        assert (a.status, a.owner_id, a.reasons[0]["key"], a.opened_at) == (
            "pending", "005A", "idle", T0)
        with pytest.raises(sa.exc.IntegrityError):
            store.save_follow_ups("salesforce", new=[{"record_id": "006A", "kind": "deal",
                                                      "status": "open"}], now=T0)
        later = T0 + timedelta(hours=1)
        again = store.save_follow_ups("salesforce", [(a.follow_up_id, {"status": "closed",
                                                                       "note": "won"})],
                                      [{"record_id": "006A", "kind": "deal", "status": "open"}],
                                      later)
        live = store.live_follow_ups("salesforce", {"deal"})
        assert sorted((k, f.status) for k, f in live.items()) == [
            (("006A", "deal"), "open"), (("006B", "deal"), "waiting")]
        assert live[("006A", "deal")] == again[("006A", "deal")]
        closed = next(store.iter_follow_ups(statuses=["closed"]))
        assert (closed.follow_up_id, closed.note, closed.closed_at) == (a.follow_up_id, "won",
                                                                         later)
        assert store.live_follow_ups("hubspot", {"deal"}) == {}


def test_tasks_created_per_owner_in_the_last_day(db_url: str) -> None:
    with Store.open(db_url) as store:
        rows = [{"record_id": f"D{i}", "kind": kind, "status": "open", "owner_id": owner,
                 "task_created_at": T0 - timedelta(hours=hours)}
                for i, (kind, owner, hours) in enumerate([
                    ("deal", "o1", 1), ("deal", "o1", 23), ("deal", "o1", 24), ("deal", "o2", 2),
                    ("deal", None, 3), ("lead", "o1", 1)])]
        store.save_follow_ups("hubspot", new=rows, now=T0)
        assert store.tasks_created_per_owner("hubspot", "deal", T0 - timedelta(days=1)) == {
            "o1": 2, "o2": 1, None: 1}


def test_legacy_alerts_are_those_with_their_own_task_until_folded(db_url: str) -> None:
    with Store.open(db_url) as store:
        with_task, _ = store.open_alert("hubspot", "D1", "idle", {}, T0)
        store.set_alert_task(with_task.alert_id, "T1", T0)
        pending, _ = store.open_alert("hubspot", "D1", "close_date_passed", {}, T0)
        store.mark_alert_pending(pending.alert_id, T0)
        store.open_alert("hubspot", "D2", "idle", {}, T0)  # this version's: no task of its own
        legacy = store.legacy_task_alerts("hubspot")
        assert [(a.record_id, a.reason, a.task_id) for a in legacy] == [
            ("D1", "idle", "T1"), ("D1", "close_date_passed", None)]
        assert store.mark_alerts_folded([a.alert_id for a in legacy], T0) == 2
        assert store.legacy_task_alerts("hubspot") == []


def test_a_version_2_store_gains_folded_at_and_keeps_its_alerts(db_url: str) -> None:
    with Store.open(db_url) as store:
        alert, _ = store.open_alert("salesforce", "006A", "idle", {"days": 30}, T0)
        store.set_alert_task(alert.alert_id, "00T1", T0)
    engine = sa.create_engine(db_url)
    with engine.begin() as conn:  # back to the v2 layout: no follow_ups, no folded_at
        conn.exec_driver_sql("DROP TABLE follow_ups")
        conn.exec_driver_sql("ALTER TABLE alerts DROP COLUMN folded_at")
        conn.execute(store_schema.meta.update().values(value="2"))
    engine.dispose()
    with Store.open(db_url) as store:
        assert store.schema_version() == 4
        [legacy] = store.legacy_task_alerts("salesforce")
        assert (legacy.alert_id, legacy.task_id, legacy.evidence) == (alert.alert_id, "00T1",
                                                                       {"days": 30})
        columns = {c["name"] for c in sa.inspect(store._engine).get_columns("alerts")}
        assert "folded_at" in columns
        assert store.live_follow_ups("salesforce", {"deal"}) == {}
