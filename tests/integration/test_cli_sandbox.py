"""The admin commands against the in-process sandbox: demo, init --sandbox, doctor (ok, bad
credentials, --fix), and audit / report / export / runs after a real sync."""

from __future__ import annotations

import csv
import json
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from support.clock import SANDBOX_START, FakeClock

from funnelsync.cli.main import main
from funnelsync.clock import commands_on
from funnelsync.sandbox import Sandbox
from funnelsync.store import Store

SIZE = {"seed": 11, "leads": 60, "deals": 40}

# The sandbox seeds unmapped stages on purpose (an extra Salesforce stage and a second HubSpot
# pipeline); with these maps every active stage has a funnel stage.
FULL_MAPPING = """
[mapping.salesforce.opportunity_stage]
"Technical Validation" = "intent"

[mapping.hubspot.deal_stages.2847561]
1190341 = "consideration"
1190342 = "consideration"
1190343 = "decision"
1190344 = "decision"
1190345 = "purchase"
1190346 = "lost"
"""


def run(*args: str) -> Result:
    return CliRunner().invoke(main, list(args))


@pytest.fixture
def sandbox(clock: FakeClock) -> Iterator[Sandbox]:
    with Sandbox(**SIZE, clock=clock) as sb:
        yield sb


def write_config(sb: Sandbox, tmp_path: Path, extra: str = "", name: str = "s.toml") -> str:
    path = tmp_path / name
    result = run("init", "--sandbox", sb.url, "-o", str(path),
                 "--state", f"sqlite:///{(tmp_path / 'state.db').as_posix()}")
    assert result.exit_code == 0, result.output
    path.write_text(path.read_text() + extra)
    return str(path)


def set_key(config: str, commented: str, live: str) -> None:
    """Uncomment and change one setting of an init-written file, as an admin would."""
    path = Path(config)
    text = path.read_text()
    assert text.count(commented) == 1
    path.write_text(text.replace(commented, live))


def test_demo_runs_to_exit_0(tmp_path: Path) -> None:
    report = tmp_path / "report.html"
    result = run("demo", "--leads", "40", "--deals", "30", "--seed", "3", "-o", str(report))
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "combined: Deals funnel" in out
    assert "salesforce: pulled 40 leads, 30 deals" in out
    assert "hubspot: pulled 40 leads, 30 deals" in out
    assert "stage-definition audit:" in out and "unmapped_stage" in out
    assert out.rstrip().endswith("s in all)")
    html = report.read_text()
    assert html.startswith("<!DOCTYPE html>") and html.count("<svg") >= 2


def test_demo_json_keeps_state_when_asked(tmp_path: Path) -> None:
    db = tmp_path / "demo.db"
    result = run("demo", "--leads", "20", "--deals", "10", "--json", "-o",
                 str(tmp_path / "r.html"), "--state", f"sqlite:///{db.as_posix()}")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["run"]["pulled"]["hubspot"]["leads"] == 20
    assert data["run"]["pulled"]["salesforce"]["deals"] == 10
    assert set(data) == {"seconds", "report_path", "run", "audit"}
    assert data["audit"]["error"] >= 1  # the sandbox's unmapped stages
    with Store.open(f"sqlite:///{db.as_posix()}") as store:
        assert [r.status for r in store.list_runs()] in (["ok"], ["partial"])


def test_init_sandbox_passes_config_check(sandbox: Sandbox, tmp_path: Path) -> None:
    config = write_config(sandbox, tmp_path)
    db = (tmp_path / "state.db").as_posix()
    result = run("config", "check", "-c", config)
    assert (result.exit_code, result.stdout) == (
        0, f"config ok: salesforce, hubspot; 6 funnel stages; state sqlite:///{db}\n")


def test_doctor_lists_unmapped_stages_then_passes_once_mapped(sandbox: Sandbox,
                                                              tmp_path: Path) -> None:
    bare = run("doctor", "-c", write_config(sandbox, tmp_path, name="bare.toml"))
    assert bare.exit_code == 1
    assert ("FAIL  salesforce stage mapping        1 of 15 active stages have no funnel stage: "
            "Technical Validation\n                 → add \"Technical Validation\" = \"intent\" "
            "under [mapping.salesforce.opportunity_stage]\n") in bare.stdout
    assert bare.stdout.endswith("2 check(s) failed\n")

    result = run("doctor", "-c", write_config(sandbox, tmp_path, FULL_MAPPING), "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["ok"] is True
    assert [(c["source"], c["name"], c["status"]) for c in data["checks"]] == [
        ("salesforce", "login", "ok"), ("salesforce", "api version", "ok"),
        ("salesforce", "api quota", "ok"), ("salesforce", "write-back field", "ok"),
        ("salesforce", "write-back field", "ok"), ("salesforce", "write-back field", "ok"),
        ("salesforce", "stage mapping", "ok"),
        ("hubspot", "login", "ok"), ("hubspot", "api quota", "skip"),
        ("hubspot", "write-back property", "ok"), ("hubspot", "write-back property", "ok"),
        ("hubspot", "write-back property", "ok"), ("hubspot", "stage mapping", "ok")]
    assert data["checks"][1]["detail"] == "59.0 is served (newest 62.0)"


def test_doctor_with_wrong_credentials_exits_4(sandbox: Sandbox, tmp_path: Path) -> None:
    config = Path(write_config(sandbox, tmp_path, FULL_MAPPING))
    text = config.read_text().replace('password = "demo"', 'password = "wrong-pass-xyz"')
    config.write_text(text.replace('access_token = "pat-demo"', 'access_token = "pat-wrong"'))
    result = run("doctor", "-c", str(config))
    assert result.exit_code == 4
    lines = result.stdout.splitlines()
    assert lines[0].startswith("FAIL  salesforce login")
    assert lines[1].startswith("FAIL  hubspot    login")
    assert lines[-1] == "2 check(s) failed"
    assert "wrong-pass-xyz" not in result.output and "pat-wrong" not in result.output


def test_doctor_lists_missing_salesforce_field_with_setup_steps(sandbox: Sandbox,
                                                                tmp_path: Path) -> None:
    config = write_config(sandbox, tmp_path, FULL_MAPPING)
    set_key(config, '# score_field = "Funnel_Score__c"', 'score_field = "Lead_Score__c"')
    result = run("doctor", "-c", config)
    assert result.exit_code == 1
    assert ("FAIL  salesforce write-back field     Lead.Lead_Score__c does not exist\n"
            "                 → Setup → Object Manager → Lead → Fields & Relationships → New → "
            "Number, Length 3, Decimal Places 0 → Field Label \"Lead Score\", Field Name "
            "\"Lead_Score\" (API name Lead_Score__c) → Next → make it visible and editable for "
            "the integration user's profile → Save\n") in result.stdout


def _hubspot_property(sb: Sandbox, object_type: str, name: str) -> dict[str, object] | None:
    request = urllib.request.Request(f"{sb.url}/crm/v3/properties/{object_type}/{name}",
                                     headers={"Authorization": "Bearer pat-demo"})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return json.loads(response.read())  # type: ignore[no-any-return]
    except urllib.error.HTTPError as exc:
        assert exc.code == 404
        return None


def test_doctor_fix_creates_missing_hubspot_properties(sandbox: Sandbox, tmp_path: Path) -> None:
    config = write_config(sandbox, tmp_path, FULL_MAPPING)
    set_key(config, '# stage_property = "funnel_stage"', 'stage_property = "funnel_stage_v2"')
    before = run("doctor", "-c", config)
    assert before.exit_code == 1
    assert "FAIL  hubspot    write-back property  contacts.funnel_stage_v2 does not exist" \
        in before.stdout
    assert _hubspot_property(sandbox, "contacts", "funnel_stage_v2") is None

    fixed = run("doctor", "-c", config, "--fix")
    assert fixed.exit_code == 0, fixed.output
    assert "fixed hubspot    write-back property  created contacts.funnel_stage_v2" in fixed.stdout
    assert "fixed hubspot    write-back property  created deals.funnel_stage_v2" in fixed.stdout
    for object_type in ("contacts", "deals"):
        prop = _hubspot_property(sandbox, object_type, "funnel_stage_v2")
        assert prop is not None and prop["name"] == "funnel_stage_v2"
    after = run("doctor", "-c", config)
    assert after.exit_code == 0
    assert "ok    hubspot    write-back property  deals.funnel_stage_v2 exists" in after.stdout


@pytest.fixture(scope="module")
def synced(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """One sandbox synced once through `funnelsync sync`, shared by the read-only commands
    (whose clock, each test's, is at the same time: SANDBOX_START)."""
    clock = FakeClock(SANDBOX_START)
    with Sandbox(**SIZE, clock=clock) as sb:
        with commands_on(clock.timebase()):
            config = write_config(sb, tmp_path_factory.mktemp("synced"), FULL_MAPPING)
            result = run("sync", "-c", config, "--json")
        assert result.exit_code in (0, 1), result.output  # 1: the CRMs rejected some task rows
        yield config


def test_runs_after_a_sync(synced: str) -> None:
    data = json.loads(run("runs", "-c", synced, "--json").stdout)
    assert len(data["runs"]) == 1
    row = data["runs"][0]
    assert set(row) == {"run_id", "started_at", "finished_at", "status", "kind", "dry_run",
                        "seconds",
                        "pulled", "changes", "records_written", "tasks_created", "errors"}
    assert (row["run_id"], row["dry_run"]) == (1, False)
    assert row["status"] in ("ok", "partial")
    assert row["records_written"] == row["changes"] > 0


def test_audit_after_a_sync(synced: str) -> None:
    result = run("audit", "-c", synced, "--json")
    findings = json.loads(result.stdout)["findings"]
    assert "unmapped_stage" not in {f["check"] for f in findings}  # FULL_MAPPING covers all
    assert result.exit_code == (1 if any(f["severity"] == "error" for f in findings) else 0)
    assert all(f["severity"] in ("error", "warning", "info") for f in findings)


def test_report_after_a_sync(synced: str, tmp_path: Path) -> None:
    data = json.loads(run("report", "-c", synced, "--format", "json").stdout)
    with Store.open(_state_url(synced)) as store:
        deals = {s: store.count_records(s, "deals") for s in ("salesforce", "hubspot")}
    assert [v["name"] for v in data["views"]] == ["salesforce", "hubspot", "combined"]
    for view in data["views"][:2]:
        assert view["deal_funnel"]["total"] == deals[view["name"]]
    assert data["views"][2]["deal_funnel"]["total"] == sum(deals.values())
    result = run("report", "-c", synced, "--format", "html", "-o", str(tmp_path / "r.html"))
    assert result.exit_code == 0
    assert (tmp_path / "r.html").read_text().count("<svg") >= 2


def _state_url(config: str) -> str:
    for line in Path(config).read_text().splitlines():
        if line.startswith("url = "):
            return json.loads(line.removeprefix("url = "))
    raise AssertionError("no state url")


@pytest.mark.parametrize("fmt", ["jsonl", "csv", "parquet"])
def test_export_row_counts_equal_store_counts(synced: str, tmp_path: Path, fmt: str) -> None:
    import pyarrow.parquet as pq

    with Store.open(_state_url(synced)) as store:
        expected = {"leads": store.count_records(kind="leads"),
                    "deals": store.count_records(kind="deals"),
                    "stage_changes": sum(1 for _ in store.iter_stage_changes()),
                    "alerts": sum(1 for _ in store.iter_alerts())}
    assert expected["leads"] > 100 and expected["deals"] > 60 and expected["alerts"] > 0
    for obj, count in expected.items():
        out = tmp_path / f"{obj}.{fmt}"
        result = run("export", "-c", synced, "--object", obj, "--format", fmt, "-o", str(out))
        assert result.stderr == f"exported {count} {obj} to {out}\n"
        if fmt == "parquet":
            assert pq.read_table(out).num_rows == count
        elif fmt == "csv":
            with out.open(newline="") as fh:
                assert sum(1 for _ in csv.DictReader(fh)) == count
        else:
            assert len(out.read_text().splitlines()) == count


@pytest.mark.parametrize(("option", "value", "shown"), [
    ("--leads", "100001", "100001 is not in the range 1<=x<=100000"),
    ("--deals", str(10**12), "1000000000000 is not in the range 1<=x<=100000"),
    ("--deals", "0", "0 is not in the range 1<=x<=100000"),
])
def test_demo_sizes_are_bounded_before_any_work(tmp_path: Path, option: str, value: str,
                                                shown: str) -> None:
    report = tmp_path / "r.html"
    result = run("demo", option, value, "-o", str(report))
    assert result.exit_code == 2
    assert result.stderr.splitlines()[-1] == f"Error: Invalid value for '{option}': {shown}."
    assert "Traceback" not in result.output and not report.exists()
