"""`funnelsync audit / report / export / runs` on a SQLite store filled from funnel_fixture."""

from __future__ import annotations

import csv
import io
import json
import sys
from pathlib import Path

import funnel_fixture as fx
import pytest
from click.testing import CliRunner

from funnelsync.cli.main import main
from funnelsync.mapping.schema import CatalogStage
from funnelsync.store import Store

CONFIG = """
[salesforce]
username = "u@example.com"
password = "p"
security_token = "t"
[hubspot]
access_token = "pat-x"
[state]
url = "sqlite:///{db}"
"""


@pytest.fixture
def config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("FUNNELSYNC_CONFIG", raising=False)
    db = (tmp_path / "state.db").as_posix()
    (tmp_path / "c.toml").write_text(CONFIG.format(db=db))
    with Store.open(f"sqlite:///{db}") as store:
        run_id = store.start_run(None, now=fx.day(89))
        for source in ("salesforce", "hubspot"):
            store.upsert_records(source, "deals", [d for d in fx.deals() if d.source == source],
                                 run_id)
            store.upsert_records(source, "leads", [x for x in fx.leads() if x.source == source],
                                 run_id)
            store.replace_catalog(source, [s for s in fx.catalog() if s.source == source])
        store.add_stage_changes([*fx.deal_changes(), *fx.lead_changes()])
        store.open_alert("salesforce", "S6", "idle", {"days": 30}, now=fx.day(89))
        store.finish_run(run_id, "ok", counts={"pulled": {"salesforce": {"leads": 3, "deals": 6},
                                                          "hubspot": {"leads": 2, "deals": 4}},
                                               "changes": 7, "records_written": 5,
                                               "tasks_created": 1},
                         now=fx.day(89) + (fx.day(1) - fx.day(0)) / 100)
    return "c.toml"


def run(*args: str) -> object:
    return CliRunner().invoke(main, list(args))


def test_runs_json_and_table(config: str) -> None:
    result = run("runs", "-c", config, "--json")
    assert result.exit_code == 0
    assert json.loads(result.stdout) == {"runs": [{
        "run_id": 1, "started_at": "2026-03-31T00:00:00+00:00",
        "finished_at": "2026-03-31T00:14:24+00:00", "status": "ok", "kind": "sync",
        "dry_run": False,
        "seconds": 864.0, "pulled": 15, "changes": 7, "records_written": 5,
        "tasks_created": 1, "errors": 0}]}
    table = run("runs", "-c", config).stdout.splitlines()
    assert table[1].split() == ["1", "2026-03-31T00:00:00", "ok", "write", "864.0", "15", "5",
                                "1", "0"]


def test_runs_on_an_empty_store_says_so(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "e.toml").write_text(CONFIG.format(db=(tmp_path / "e.db").as_posix()))
    assert run("runs", "-c", "e.toml").stdout == "no runs yet\n"
    assert json.loads(run("runs", "-c", "e.toml", "--json").stdout) == {"runs": []}


def test_audit_and_report_refuse_an_empty_store(tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "e.toml").write_text(CONFIG.format(db=(tmp_path / "e.db").as_posix()))
    for command in ("audit", "report"):
        result = run(command, "-c", "e.toml")
        assert result.exit_code == 2
        assert result.stderr == ("error: the state store holds no records yet (run `funnelsync "
                                 "sync -c FILE` (or `pull`) first)\n")


def test_audit_exit_code_follows_error_findings(config: str, tmp_path: Path) -> None:
    # The fixture's history ends in April 2026, so against today's clock every stage is
    # "unused" (info) and nothing is an error: exit 0.
    result = run("audit", "-c", config, "--json")
    findings = json.loads(result.stdout)["findings"]
    assert result.exit_code == 0
    assert (len(findings), {(f["check"], f["severity"]) for f in findings}) == \
        (17, {("stage_unused", "info")})
    assert set(findings[0]) == {"check", "severity", "source", "stage", "message", "evidence",
                                "fix"}
    with Store.open(f"sqlite:///{(tmp_path / 'state.db').as_posix()}") as store:
        extra = CatalogStage(source="salesforce", stage="Technical Validation",
                             label="Technical Validation", order=3, probability=40)
        store.replace_catalog("salesforce", [*store.catalog("salesforce"), extra])
    result = run("audit", "-c", config, "--json")
    assert result.exit_code == 1
    first = json.loads(result.stdout)["findings"][0]
    assert (first["check"], first["severity"], first["stage"], first["fix"]) == (
        "unmapped_stage", "error", "Technical Validation",
        'add "Technical Validation" = "intent" under [mapping.salesforce.opportunity_stage]')
    table = run("audit", "-c", config)
    assert "stage-definition audit: 19 finding(s)" in table.stdout


def test_report_json_csv_table_html(config: str, tmp_path: Path) -> None:
    data = json.loads(run("report", "-c", config, "--json").stdout)
    assert [v["name"] for v in data["views"]] == ["salesforce", "hubspot", "combined"]
    combined = data["views"][2]
    assert combined["deal_funnel"]["total"] == 10
    assert combined["win_rate"]["won"] == 3
    rows = list(csv.reader(io.StringIO(run("report", "-c", config, "--format", "csv").stdout)))
    assert rows[0] == ["view", "section", "period", "stage", "metric", "value"]
    table = run("report", "-c", config, "--format", "table").stdout
    assert "combined: Deals funnel (10 records)" in table
    result = run("report", "-c", config, "--format", "html", "-o", "r.html", "--by", "month")
    assert (result.exit_code, result.stderr) == (0, "wrote r.html\n")
    html = (tmp_path / "r.html").read_text()
    assert html.startswith("<!DOCTYPE html>") and "<svg" in html


def test_report_since_keeps_later_records(config: str) -> None:
    data = json.loads(run("report", "-c", config, "--json", "--since", "2026-02-01").stdout)
    assert data["since"] == "2026-02-01"
    # created on day 31 or later: S4, S5, S6, 9003, 9004
    assert data["views"][-1]["deal_funnel"]["total"] == 5
    bad = run("report", "-c", config, "--since", "yesterday")
    assert bad.exit_code == 2 and "Invalid value for '--since'" in bad.stderr


@pytest.mark.parametrize("obj,count", [("leads", 5), ("deals", 10), ("stage_changes", 34),
                                       ("alerts", 1)])
def test_export_jsonl_and_csv_counts(config: str, tmp_path: Path, obj: str, count: int) -> None:
    result = run("export", "-c", config, "--object", obj, "--format", "jsonl", "-o", "x.jsonl")
    assert (result.exit_code, result.stderr) == (0, f"exported {count} {obj} to x.jsonl\n")
    lines = (tmp_path / "x.jsonl").read_text().splitlines()
    assert len(lines) == count
    result = run("export", "-c", config, "--object", obj, "--format", "csv", "-o", "-")
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert len(rows) == count
    assert rows[0].keys() == json.loads(lines[0]).keys()


def test_export_deal_row_shape(config: str) -> None:
    out = run("export", "-c", config, "--object", "deals", "-o", "-").stdout
    first = json.loads(out.splitlines()[0])
    assert (first["source"], first["source_id"], first["amount"], first["is_won"]) == \
        ("hubspot", "9001", "1500", True)


def test_export_parquet_reads_back(config: str, tmp_path: Path) -> None:
    import pyarrow.parquet as pq

    result = run("export", "-c", config, "--object", "deals", "--format", "parquet",
                 "-o", "d.parquet")
    assert result.exit_code == 0
    table = pq.read_table(tmp_path / "d.parquet")
    assert table.num_rows == 10
    assert str(table.schema.field("created_at").type) == "timestamp[us, tz=UTC]"
    assert sorted(table.column("amount").to_pylist(), key=lambda v: v or 0)[-1] == 3000.0


def test_export_parquet_without_pyarrow_exits_2(config: str,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "pyarrow", None)
    result = run("export", "-c", config, "--object", "deals", "--format", "parquet",
                 "-o", "d.parquet")
    assert result.exit_code == 2
    assert result.stderr == ("error: Parquet export needs pyarrow, which is not installed "
                             "(pip install 'funnelsync[parquet]', or use --format jsonl/csv)\n")


def test_export_usage_errors(config: str) -> None:
    assert run("export", "-c", config, "--object", "owners", "-o", "x").exit_code == 2
    missing = run("export", "-c", config, "--object", "deals")
    assert missing.exit_code == 2 and "Missing option '-o'" in missing.stderr
    to_stdout = run("export", "-c", config, "--object", "deals", "--format", "parquet", "-o", "-")
    assert to_stdout.exit_code == 2
    assert to_stdout.stderr == "error: Parquet cannot go to stdout (give -o FILE.parquet)\n"


def test_missing_config_is_one_line_and_exit_2(tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("FUNNELSYNC_CONFIG", raising=False)
    for command in ("audit", "report", "runs", "doctor"):
        result = run(command)
        assert result.exit_code == 2
        assert result.stderr.startswith("error: no configuration file found")


@pytest.mark.parametrize("command", ["demo", "init", "doctor", "audit", "report", "export",
                                     "runs"])
def test_every_command_has_help_with_an_example(command: str) -> None:
    result = run(command, "--help")
    assert result.exit_code == 0
    assert "Example:" in result.stdout and f"\n    funnelsync {command}" in result.stdout


@pytest.mark.parametrize("obj,count", [("leads", 5), ("deals", 10), ("stage_changes", 34),
                                       ("people", 0), ("alerts", 1), ("runs", 1)])
def test_export_columns_are_the_tables_columns_in_every_format(config: str, tmp_path: Path,
                                                               obj: str, count: int) -> None:
    import pyarrow.parquet as pq

    from funnelsync.app.tables import TABLES

    # deals add their converted amount (amount_converted, converted_currency) at the end
    names = TABLES[obj].column_names + (
        ["amount_converted", "converted_currency"] if obj == "deals" else [])
    header = next(csv.reader(io.StringIO(run("export", "-c", config, "--object", obj,
                                             "--format", "csv", "-o", "-").stdout)))
    assert header == names
    lines = run("export", "-c", config, "--object", obj, "-o", "-").stdout.splitlines()
    assert [list(json.loads(line)) for line in lines] == [names] * count
    assert run("export", "-c", config, "--object", obj, "--format", "parquet",
               "-o", "x.parquet").exit_code == 0
    assert pq.read_table(tmp_path / "x.parquet").column_names == names


def test_export_runs_row(config: str) -> None:
    row = json.loads(run("export", "-c", config, "--object", "runs", "-o", "-").stdout)
    assert (row["run_id"], row["status"], row["counts"]["changes"]) == (1, "ok", 7)
