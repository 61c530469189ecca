"""funnel_source end to end: the sandbox, a real funnelsync pull, real dlt into DuckDB.

Everything dlt writes (pipelines, its data dir, the DuckDB file) stays under tmp_path; the
sandbox and the pull share one FakeClock.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import dlt
import pytest
from dlt.pipeline.exceptions import PipelineStepFailed
from support.clock import SANDBOX_START, FakeClock
from syncsupport import config_text, no_wait_factory

from funnelsync.app.export import CONVERTED_COLUMNS, columns_of
from funnelsync.config.loading import load_config
from funnelsync.integrations.dlt import funnel_source
from funnelsync.sandbox import Sandbox
from funnelsync.store import Store
from funnelsync.sync.identity.service import compute_identity
from funnelsync.sync.job import SyncJob

SIZE = {"seed": 11, "leads": 60, "deals": 40}
FUNNEL_TABLES = {"leads", "deals", "stage_changes", "people"}


@dataclass
class World:
    sandbox: Sandbox
    clock: FakeClock
    dir: Path

    def pipeline(self) -> dlt.Pipeline:
        return dlt.pipeline(pipeline_name="funnel", destination="duckdb", dataset_name="crm",
                            pipelines_dir=str(self.dir / "pipelines"))

    def source(self, **options: Any) -> Any:
        return funnel_source("funnelsync.toml", connector_factory=no_wait_factory(self.clock),
                             clock=self.now, **options)

    def now(self) -> datetime:
        return datetime.fromtimestamp(self.clock(), UTC)

    def touch_deals(self, each: int) -> set[tuple[str, str]]:
        """Change ``each`` deals in each CRM; returns their (source, source_id)."""
        self.clock.tick(60)
        sf = self.sandbox.touch("salesforce", "Opportunity", each)["ids"]
        hs = self.sandbox.touch("hubspot", "deals", each)["ids"]
        return {("salesforce", i) for i in sf} | {("hubspot", i) for i in hs}  # type: ignore[attr-defined]


@pytest.fixture
def world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[World]:
    monkeypatch.chdir(tmp_path)  # destination="duckdb" writes funnel.duckdb here
    monkeypatch.setenv("DLT_DATA_DIR", str(tmp_path / "dlt-data"))
    monkeypatch.setenv("RUNTIME__DLTHUB_TELEMETRY", "false")
    # dlt's extraction loop waits for ready items on a timed event (10 ms by default); at zero
    # its polls never block, so no real timer runs (and a moved system clock cannot stall it)
    monkeypatch.setenv("EXTRACT__FUTURES_POLL_INTERVAL", "0")
    clock = FakeClock(SANDBOX_START)
    with Sandbox(**SIZE, clock=clock) as sandbox:
        state = (tmp_path / "state.db").as_posix()
        (tmp_path / "funnelsync.toml").write_text(config_text(sandbox, f"sqlite:///{state}"))
        yield World(sandbox, clock, tmp_path)


def loaded(pipeline: dlt.Pipeline) -> dict[str, int]:
    """Rows the last run normalised per table, dlt's own tables left out."""
    info = pipeline.last_trace.last_normalize_info
    counts = info.row_counts if info is not None else {}
    return {table: n for table, n in counts.items() if not table.startswith("_dlt")}


def query(pipeline: dlt.Pipeline, sql: str) -> list[tuple[Any, ...]]:
    with pipeline.sql_client() as client:
        return [tuple(row) for row in client.execute_sql(sql)]


def last_load_keys(pipeline: dlt.Pipeline, table: str) -> set[tuple[str, str]]:
    return set(query(pipeline, f"SELECT source, source_id FROM {table} WHERE _dlt_load_id = "
                               f"(SELECT max(load_id) FROM _dlt_loads)"))


def sandbox_records(sandbox: Sandbox) -> dict[str, tuple[int, int]]:
    """(all, deleted or archived) leads and deals over both CRMs, as the sandbox counts them."""
    sf, hs = sandbox.stats()["salesforce"], sandbox.stats()["hubspot"]
    out = {}
    for kind, sf_object, hs_object in (("leads", "Lead", "contacts"),
                                       ("deals", "Opportunity", "deals")):
        gone = sf["deleted"][sf_object] + hs["archived"][hs_object]  # type: ignore[index]
        out[kind] = (sf["counts"][sf_object] + hs["counts"][hs_object] + gone, gone)  # type: ignore[index]
    return out


@contextmanager
def broken_table(pipeline: dlt.Pipeline, table: str) -> Iterator[None]:
    """A destination error: ``table`` turns into a view, which merges cannot delete from."""
    query(pipeline, f"ALTER TABLE {table} RENAME TO {table}_kept")
    query(pipeline, f"CREATE VIEW {table} AS SELECT * FROM {table}_kept")
    try:
        yield
    finally:
        query(pipeline, f"DROP VIEW {table}")
        query(pipeline, f"ALTER TABLE {table}_kept RENAME TO {table}")


def test_first_load_everything_then_nothing_then_exactly_the_touched_deals(
        world: World) -> None:
    pipeline = world.pipeline()
    pipeline.run(world.source())
    first = loaded(pipeline)
    assert sandbox_records(world.sandbox) == {"leads": (120, 1), "deals": (80, 1)}
    assert first == {"leads": 120, "deals": 80, "stage_changes": 289, "people": 104}
    with Store.open(load_config("funnelsync.toml").state.url) as store:
        assert sum(1 for _ in store.iter_stage_changes()) == 289
    tables = {name for (name,) in query(pipeline, "SELECT table_name FROM "
                                                  "information_schema.tables WHERE "
                                                  "table_schema = 'crm'")}
    assert tables == FUNNEL_TABLES | {"_dlt_loads", "_dlt_pipeline_state", "_dlt_version"}
    assert query(pipeline, "SELECT count(*), count(*) FILTER (WHERE is_deleted) FROM crm.leads"
                 ) == [(120, 1)]
    assert query(pipeline, "SELECT count(*), count(*) FILTER (WHERE is_deleted) FROM crm.deals"
                 ) == [(80, 1)]

    assert pipeline.run(world.source()) is not None
    assert loaded(pipeline) == {}
    assert pipeline.last_trace.last_normalize_info.row_counts == {}  # not even dlt's state

    touched = world.touch_deals(10)
    pipeline.run(world.source())
    assert len(touched) == 20
    assert loaded(pipeline)["deals"] == 20 and "leads" not in loaded(pipeline)
    assert last_load_keys(pipeline, "deals") == touched
    assert query(pipeline, "SELECT count(*) FROM crm.deals") == [(80,)]  # merged, not added


def test_the_people_table_counts_each_person_once(world: World) -> None:
    pipeline = world.pipeline()
    pipeline.run(world.source())
    config = load_config("funnelsync.toml")
    with Store.open(config.state.url) as store:
        people = list(compute_identity(store, config).people())
    linked = sum(1 for person in people if person.linked)
    assert (len(people), linked) == (104, 15)
    assert query(pipeline, "SELECT count(*), count(DISTINCT person_id), sum(record_count), "
                           "count(*) FILTER (WHERE record_count = 2) FROM crm.people") == [
        (104, 104, 119, 15)]  # 119: the live leads and contacts (one is deleted)


def test_a_failed_load_is_finished_by_the_next_run(world: World) -> None:
    pipeline = world.pipeline()
    pipeline.run(world.source())
    touched = world.touch_deals(10)
    with broken_table(pipeline, "deals"), pytest.raises(PipelineStepFailed):
        pipeline.run(world.source())
    assert last_load_keys(pipeline, "deals") != touched
    pipeline.run(world.source())  # dlt loads the package it kept, then stops
    assert last_load_keys(pipeline, "deals") == touched
    pipeline.run(world.source())
    assert loaded(pipeline) == {}


def test_an_aborted_load_is_yielded_again(world: World,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LOAD__AUTO_ABORT_ON_TERMINAL_ERROR", "true")
    pipeline = world.pipeline()
    pipeline.run(world.source())
    touched = world.touch_deals(10)
    with broken_table(pipeline, "deals"), pytest.raises(PipelineStepFailed):
        pipeline.run(world.source())
    assert pipeline.has_pending_data is False  # dlt dropped the package and our positions
    pipeline.run(world.source())  # the CRMs did not change again: only the positions tell
    assert loaded(pipeline)["deals"] == 20
    assert last_load_keys(pipeline, "deals") == touched
    pipeline.run(world.source())
    assert loaded(pipeline) == {}


def test_hard_deletes_and_the_runs_table(world: World) -> None:
    pipeline = world.pipeline()
    pipeline.run(world.source(hard_delete=True, include_runs=True))
    assert query(pipeline, "SELECT count(*), count(*) FILTER (WHERE is_deleted) FROM crm.leads"
                 ) == [(119, 0)]
    assert query(pipeline, "SELECT count(*) FROM crm.deals") == [(79,)]
    pipeline.run(world.source(hard_delete=True, include_runs=True))
    assert loaded(pipeline) == {"runs": 1}  # the pull of this load is a run
    assert query(pipeline, "SELECT run_id, status, dry_run FROM crm.runs ORDER BY run_id") == [
        (1, "ok", False), (2, "ok", False)]


def test_export_writes_the_columns_of_the_dlt_tables(world: World) -> None:
    config = load_config("funnelsync.toml")
    SyncJob(config, connector_factory=no_wait_factory(world.clock), clock=world.now).run()
    pipeline = world.pipeline()
    pipeline.run(world.source(include_runs=True))
    assert loaded(pipeline)["alerts"] > 0
    for table in ("leads", "deals", "stage_changes", "people", "alerts", "runs"):
        columns = [name for (name,) in query(
            pipeline, "SELECT column_name FROM information_schema.columns WHERE "
                      f"table_schema = 'crm' AND table_name = '{table}' ORDER BY ordinal_position")
                   if not name.startswith("_dlt")]
        # the export's deals add their converted amount, which a warehouse would keep stale
        exported = [n for n in columns_of(table) if n not in {c.name for c in CONVERTED_COLUMNS}]
        assert columns == exported, table
    described = pipeline.default_schema.tables["deals"]["columns"]["amount"]
    assert (described["data_type"], described["description"]) == (
        "decimal", "Deal amount, a decimal in `currency`.")
    pipeline.run(world.source(include_runs=True))
    assert loaded(pipeline) == {"runs": 1}

    with Store.open(config.state.url) as store:  # a change within the instant already loaded
        alert = store.open_alerts()[0]
        store.resolve_alert(alert.alert_id, now=alert.updated_at)
    pipeline.run(world.source(include_runs=True))
    assert loaded(pipeline) == {"alerts": 1, "runs": 1}
    assert query(pipeline, f"SELECT status FROM crm.alerts WHERE alert_id = {alert.alert_id}"
                 ) == [("resolved",)]


def test_the_duckdb_example_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                 capsys: pytest.CaptureFixture[str]) -> None:
    import runpy

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DLT_DATA_DIR", str(tmp_path / "dlt-data"))
    monkeypatch.setenv("RUNTIME__DLTHUB_TELEMETRY", "false")
    # dlt's extraction loop waits for ready items on a timed event (10 ms by default); at zero
    # its polls never block, so no real timer runs (and a moved system clock cannot stall it)
    monkeypatch.setenv("EXTRACT__FUTURES_POLL_INTERVAL", "0")
    example = runpy.run_path(str(Path(__file__).parents[2] / "examples" / "dlt_duckdb.py"))
    example["main"](tmp_path / "work")
    lines = capsys.readouterr().out.splitlines()
    first = ast.literal_eval(lines[0].removeprefix("first load: "))
    second = ast.literal_eval(lines[1].removeprefix("after 20 deals changed: "))
    assert (first["leads"], first["deals"], second["deals"]) == (600, 400, 20)
    assert set(second) <= {"deals", "stage_changes"}  # stage changes: the day's random picks
    assert sorted(p.name for p in (tmp_path / "work").iterdir()) == [
        "funnel.duckdb", "funnelsync.toml", "state.db"]
