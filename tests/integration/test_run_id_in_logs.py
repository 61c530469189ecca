"""Log lines name the run in progress, and only while it is in progress."""

from __future__ import annotations

import json
import logging
from pathlib import Path

from click.testing import CliRunner
from support.clock import FakeClock
from syncsupport import config_text, no_wait_factory, sandbox_config

from funnelsync.cli.console import RunIdFilter
from funnelsync.cli.main import main
from funnelsync.sandbox import Sandbox
from funnelsync.store import Store
from funnelsync.sync.job import SyncJob, current_run_id


class _Fields(logging.Handler):
    """Keeps each record's message and its run id (None: the record names no run)."""

    def __init__(self) -> None:
        super().__init__()
        self.addFilter(RunIdFilter())
        self.seen: list[tuple[str, int | None]] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.seen.append((record.getMessage(),
                          (getattr(record, "fields", {}) or {}).get("run_id")))


def test_a_finished_run_names_no_later_log_line(tmp_path: Path, clock: FakeClock) -> None:
    handler = _Fields()
    log = logging.getLogger("funnelsync.sync.job")
    log.addHandler(handler)
    try:
        with Sandbox(seed=3, leads=20, deals=10, clock=clock) as sb:
            config = sandbox_config(sb, f"sqlite:///{tmp_path / 'fs.db'}")
            job = SyncJob(config, connector_factory=no_wait_factory(clock), clock=clock.utc)
            job.progress = lambda *args, **kwargs: log.warning("progress")
            first = job.pull()
            log.warning("between the runs")
            second = job.pull()
        log.warning("after the runs")
    finally:
        log.removeHandler(handler)
    assert (first.run_id, second.run_id) == (1, 2)
    assert current_run_id.get() is None
    named = [(msg, run) for msg, run in handler.seen if msg != "progress"]
    assert named == [("between the runs", None), ("after the runs", None)]
    progress = [run for msg, run in handler.seen if msg == "progress"]
    assert progress and set(progress) == {1, 2}


def test_the_error_that_ends_a_run_names_the_run(tmp_path: Path, clock: FakeClock) -> None:
    with Sandbox(seed=3, leads=20, deals=10, clock=clock) as sb:
        text = config_text(sb, f"sqlite:///{tmp_path / 'fs.db'}").replace(
            'access_token = "pat-demo"', 'access_token = "pat-wrong"')
        (tmp_path / "c.toml").write_text(text)
        results = [CliRunner().invoke(main, ["sync", "-c", str(tmp_path / "c.toml"), "--source",
                                             "hubspot", "--log-format", "json"])
                   for _ in range(2)]
    assert [(r.exit_code, r.stdout, len(r.stderr.splitlines())) for r in results] == [
        (4, "", 1), (4, "", 1)]
    line = json.loads(results[1].stderr)
    assert {k: v for k, v in line.items() if k != "ts"} == {
        "level": "error", "logger": "funnelsync.cli", "exit_code": 4, "run_id": 2,
        "msg": "read HubSpot deal pipelines: HTTP 401 INVALID_AUTHENTICATION: Authentication "
               "credentials not found. This API supports OAuth 2.0 authentication and you can "
               "find more details at https://developers.hubspot.com/docs/methods/auth/"
               "oauth-overview (credentials rejected) (check the credentials in the "
               "configuration)"}
    with Store.open(f"sqlite:///{tmp_path / 'fs.db'}") as store:
        assert [(run.run_id, run.status) for run in store.list_runs()] == [(2, "failed"),
                                                                        (1, "failed")]
    assert current_run_id.get() is None
