"""`funnelsync sync` / `pull` as a scheduler runs them: exit codes, JSON, kill -9 and restart."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

from click.testing import CliRunner
from support.clock import FakeClock
from syncsupport import config_text, crm_snapshot, sandbox_config, tasks, written

from funnelsync.cli.main import main
from funnelsync.sandbox import Sandbox
from funnelsync.store import Store

SIZE = {"seed": 5, "leads": 150, "deals": 120}


KILLED_CLI = Path(__file__).with_name("killed_cli.py")
ROOT = Path(__file__).resolve().parents[2]


def _child_env() -> dict[str, str]:
    """This process's environment, with this checkout's package and test helpers importable."""
    paths = [str(ROOT), str(ROOT / "tests"), os.environ.get("PYTHONPATH", "")]
    return {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in paths if p)}


def write_config(sb: Sandbox, path: Path, extra: str = "") -> Path:
    config = path / "funnelsync.toml"
    config.write_text(config_text(sb, f"sqlite:///{path / 'fs.db'}", extra))
    return config


def test_sync_json_then_a_rerun_writes_nothing(tmp_path: Path, clock: FakeClock) -> None:
    with Sandbox(**SIZE, clock=clock) as sb:
        config = write_config(sb, tmp_path)
        first = CliRunner().invoke(main, ["sync", "-c", str(config), "--json"])
        assert first.exit_code == 0, first.output
        data = json.loads(first.stdout)
        assert set(data) >= {"run_id", "dry_run", "pulled", "changes", "records_written",
                             "tasks_created", "alerts_open", "alerts_resolved", "errors",
                             "api_calls"}
        assert data["records_written"] == written(sb) > 0
        assert data["tasks_created"] == tasks(sb) > 0
        assert set(data["pulled"]["salesforce"]) == {"leads", "deals", "stage_changes"}
        second = CliRunner().invoke(main, ["sync", "-c", str(config), "--json"])
        again = json.loads(second.stdout)
        assert (second.exit_code, again["records_written"], again["tasks_created"]) == (0, 0, 0)


def test_pull_refresh_metadata_reads_catalogs_and_describes_again(
        tmp_path: Path, clock: FakeClock) -> None:
    """Salesforce, nothing changed: login + one composite request carrying each stream's first
    query; with --refresh-metadata, login + two composites: the 3 describes, the list of objects
    and the 2 catalog queries the cache spared (with users and queues), then the org's
    currencies (CurrencyType, DatedConversionRate) and the streams' first queries."""
    with Sandbox(**SIZE, clock=clock) as sb:
        config = write_config(sb, tmp_path)
        args = ["pull", "-c", str(config), "--source", "salesforce", "--json"]
        assert CliRunner().invoke(main, args).exit_code == 0
        quiet = CliRunner().invoke(main, args)
        refreshed = CliRunner().invoke(main, [*args, "--refresh-metadata"])
        assert (quiet.exit_code, refreshed.exit_code) == (0, 0)
        assert json.loads(quiet.stdout)["api_calls"] == {"salesforce": 1 + 1}
        assert json.loads(refreshed.stdout)["api_calls"] == {"salesforce": 1 + 2}


def test_pull_json_counts_every_record_received(tmp_path: Path, clock: FakeClock) -> None:
    with Sandbox(**SIZE, clock=clock) as sb:
        config = write_config(sb, tmp_path)
        result = CliRunner().invoke(main, ["pull", "-c", str(config), "--json"])
        assert result.exit_code == 0, result.output
        data = json.loads(result.stdout)
        stats = sb.stats()
        sf, hs = stats["salesforce"], stats["hubspot"]
        assert data["pulled"]["salesforce"]["leads"] == sf["counts"]["Lead"] + sf["deleted"]["Lead"]
        assert data["pulled"]["hubspot"]["deals"] == (hs["counts"]["deals"]
                                                      + hs["archived"]["deals"])
        assert data["deleted"]["salesforce"]["leads"] == sf["deleted"]["Lead"]
        assert data["api_calls"]["salesforce"] > 0 and data["api_calls"]["hubspot"] > 0
        assert written(sb) == 0


def test_a_concurrent_run_exits_3_naming_the_holder(tmp_path: Path, clock: FakeClock) -> None:
    with Sandbox(**SIZE, clock=clock) as sb:
        config = write_config(sb, tmp_path)
        with Store.open(f"sqlite:///{tmp_path / 'fs.db'}") as store:
            store.acquire_lock("scheduler-2:777:run", clock.utc(), 600)
        result = CliRunner().invoke(main, ["sync", "-c", str(config)])
        assert result.exit_code == 3
        assert "scheduler-2:777:run" in result.stderr
        assert written(sb) == 0


def test_bad_credentials_exit_4_without_echoing_the_secret(
        tmp_path: Path, clock: FakeClock) -> None:
    with Sandbox(**SIZE, clock=clock) as sb:
        config = write_config(sb, tmp_path)
        text = config.read_text().replace('access_token = "pat-demo"',
                                          'access_token = "pat-wrong-secret-123"')
        config.write_text(text)
        result = CliRunner().invoke(main, ["sync", "-c", str(config), "--source", "hubspot"])
        assert result.exit_code == 4
        assert "pat-wrong-secret-123" not in result.output + result.stderr
        assert result.stderr.startswith("error: ")


def test_kill_9_mid_run_then_rerun_converges(tmp_path: Path, clock: FakeClock) -> None:
    (tmp_path / "c").mkdir()
    with Sandbox(**SIZE, clock=clock) as clean:
        done = CliRunner().invoke(main, ["sync", "-c", str(write_config(clean, tmp_path / "c"))])
        assert done.exit_code == 0, done.output
        expected = crm_snapshot(clean, sandbox_config(clean, f"sqlite:///{tmp_path / 'c.db'}"))
    with Sandbox(**SIZE, clock=clock) as sb:
        (tmp_path / "k").mkdir()
        config_path = write_config(sb, tmp_path / "k")
        child = subprocess.run([sys.executable, str(KILLED_CLI), repr(clock()), "sync", "-c",
                                str(config_path), "--json"], capture_output=True, text=True,
                               env=_child_env(), timeout=600, check=False)
        assert child.returncode == -signal.SIGKILL, child.stderr
        assert written(sb) > 0  # killed mid-push: some writes reached the CRM
        written_before = written(sb)
        rerun = CliRunner().invoke(main, ["sync", "-c", str(config_path), "--json"])
        assert rerun.exit_code == 0, rerun.output
        final = CliRunner().invoke(main, ["sync", "-c", str(config_path), "--json"])
        assert json.loads(final.stdout)["records_written"] == 0
        assert written(sb) > written_before
        assert crm_snapshot(sb, sandbox_config(sb, f"sqlite:///{tmp_path / 'k' / 'fs.db'}")) \
            == expected
        with Store.open(f"sqlite:///{tmp_path / 'k' / 'fs.db'}") as store:
            statuses = [run.status for run in store.list_runs()]
        assert statuses == ["ok", "ok", "crashed"]


def test_salesforce_quota_headroom_stops_the_run_with_exit_4_and_keeps_progress(
        tmp_path: Path, clock: FakeClock) -> None:
    with Sandbox(seed=5, leads=12_000, deals=100, clock=clock) as sb:
        # 80% of what is left after the first call allows 5 calls: the two composites of
        # metadata and first pages, then three more pages of the 6 the leads need
        sb.set_faults(daily_limit=8)
        config = write_config(sb, tmp_path)
        stopped = CliRunner().invoke(main, ["sync", "-c", str(config), "--source", "salesforce"])
        assert stopped.exit_code == 4
        assert "quota" in stopped.stderr.lower()
        assert sb.stats()["salesforce"]["api_calls"] <= 8
        with Store.open(f"sqlite:///{tmp_path / 'fs.db'}") as store:
            kept = store.count_records("salesforce", "leads", include_deleted=True)
            assert [run.status for run in store.list_runs()] == ["failed"]
        assert 0 < kept < 12_000  # pages stored before the stop are kept
        sb.set_faults(daily_limit=100_000)
        done = CliRunner().invoke(main, ["sync", "-c", str(config), "--source", "salesforce",
                                         "--json"])
        assert done.exit_code == 0, done.output
        with Store.open(f"sqlite:///{tmp_path / 'fs.db'}") as store:
            assert store.count_records("salesforce", "leads", include_deleted=True) == 12_000


def test_dry_run_shows_how_many_new_tasks_each_owner_would_get(
        tmp_path: Path, clock: FakeClock) -> None:
    with Sandbox(**SIZE, clock=clock) as sb:
        config = write_config(sb, tmp_path, "[alerts]\nmax_new_tasks_per_owner_per_day = 3\n")
        result = CliRunner().invoke(main, ["sync", "-c", str(config), "--dry-run"])
        assert result.exit_code == 0, result.output
        lines = result.output.splitlines()
        per_owner = [line.split(" ") for line in lines if " task(s) for " in line]
        tasks_listed = [line for line in lines if line.startswith("would create task for ")]
        assert per_owner and all(words[2] in ("1", "2", "3") for words in per_owner)
        assert sum(int(words[2]) for words in per_owner) == len(tasks_listed)
        assert {words[5] for words in per_owner} == {"salesforce", "hubspot"}
        assert any(line.endswith("follow-up tasks deferred to later runs "
                                 "(alerts.max_new_tasks_per_owner_per_day, "
                                 "alerts.max_new_tasks_per_run)") for line in lines)
        assert (written(sb), tasks(sb)) == (0, 0)
