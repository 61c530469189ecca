"""RunResult: the JSON of `funnelsync sync --json` and the counting of alert steps."""

from __future__ import annotations

from funnelsync.sync.alerts import AlertSummary
from funnelsync.sync.job import RunResult

KEYS = ["run_id", "dry_run", "pulled", "deleted", "changes", "records_written", "tasks_created",
        "tasks_deferred", "tasks_updated", "tasks_closed", "alerts_open", "alerts_opened",
        "alerts_resolved", "errors", "warnings", "api_calls", "retries", "timings"]


def test_json_of_a_run_lists_every_count_in_order() -> None:
    result = RunResult(run_id=7, dry_run=False, changes=3, timings={"pull": 1.5},
                       planned_changes=[{"id": "x"}])
    data = result.to_json()
    assert list(data) == KEYS
    assert (data["run_id"], data["dry_run"], data["changes"], data["timings"]) == (
        7, False, 3, {"pull": 1.5})


def test_json_of_a_dry_run_adds_the_plan() -> None:
    result = RunResult(run_id=8, dry_run=True, planned_changes=[{"id": "x"}],
                       planned_tasks=[{"deal_id": "d"}])
    data = result.to_json()
    assert list(data) == [*KEYS, "planned_changes", "planned_tasks"]
    assert (data["planned_changes"], data["planned_tasks"]) == ([{"id": "x"}], [{"deal_id": "d"}])


def test_alert_steps_add_up() -> None:
    result = RunResult(run_id=1, dry_run=False)
    result.add_alerts(AlertSummary(opened=2, resolved=1, tasks_created=2, tasks_deferred=1,
                                   open_total=5, errors=[{"code": "X"}]))
    result.add_alerts(AlertSummary(opened=1, open_total=1, planned_tasks=[{"lead_id": "L"}]))
    assert (result.alerts_opened, result.alerts_resolved, result.alerts_open,
            result.tasks_created, result.tasks_deferred) == (3, 1, 6, 2, 1)
    assert (result.errors, result.planned_tasks) == ([{"code": "X"}], [{"lead_id": "L"}])
