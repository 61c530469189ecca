"""`funnelsync demo`: a sandbox, a full sync, the audit and the funnel report, in one call.

The sandbox runs in-process on a free port; the config is the one `funnelsync init --sandbox`
writes, in a temporary directory (so the demo also proves that file works). Nothing here
prints: the CLI renders ``DemoResult`` and ``highlights``.
"""

from __future__ import annotations

import dataclasses
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from funnelsync.clock import Clock, utc_now
from funnelsync.config.loading import load_config
from funnelsync.config.reference import init_config
from funnelsync.crm.source import ConnectorFactory, default_connector
from funnelsync.reports import (
    AuditResult,
    Finding,
    FunnelReport,
    audit_from_store,
    render_report,
    report_from_store,
)
from funnelsync.sandbox import Sandbox
from funnelsync.store import Store
from funnelsync.sync.job import RunResult, SyncJob
from funnelsync.sync.pull import Progress

REPORT_NAME = "funnelsync-report.html"


@dataclass(frozen=True)
class DemoOptions:
    leads: int = 2000
    deals: int = 1500
    seed: int = 7
    state_url: str | None = None  # None: a SQLite file in a temporary directory
    report_path: Path = Path(REPORT_NAME)


@dataclass
class DemoResult:
    sandbox_url: str
    state_url: str
    run: RunResult
    report: FunnelReport
    audit: AuditResult
    report_path: Path
    seconds: float


def run_demo(options: DemoOptions, *, progress: Progress | None = None,
             step: Callable[[str], None] = lambda _: None,
             connector_factory: ConnectorFactory = default_connector,
             clock: Clock = utc_now) -> DemoResult:
    """Start a sandbox, sync it fully, audit and report, write the HTML report, stop."""
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="funnelsync-demo-") as tmp, \
            Sandbox(seed=options.seed, leads=options.leads, deals=options.deals,
                    clock=lambda: clock().timestamp()) as sandbox:
        state_url = options.state_url or f"sqlite:///{Path(tmp, 'state.db').as_posix()}"
        config_path = Path(tmp, "funnelsync.toml")
        config_path.write_text(init_config(sandbox.url, state_url), encoding="utf-8")
        config = load_config(config_path)
        step(f"sandbox on {sandbox.url}: {options.leads} leads and {options.deals} deals "
             f"in each CRM (seed {options.seed})")
        step("full sync: pull both CRMs, write back changed values, raise alerts and tasks")
        job = SyncJob(config, connector_factory=connector_factory, clock=clock,
                      progress=progress)
        run = job.run(full=True)
        step("sync done; auditing stage definitions and building the funnel report")
        now = clock()
        with Store.open(state_url, clock=clock) as store:
            report = report_from_store(store, config, now)
            audit = audit_from_store(store, config, now)
        html = render_report(report, "html", findings=audit.findings)
        options.report_path.write_text(html, encoding="utf-8")
        return DemoResult(sandbox.url, state_url, run, report, audit, options.report_path,
                          round(time.perf_counter() - started, 1))


def combined_only(report: FunnelReport) -> FunnelReport:
    """The report with just its combined view (what the demo prints)."""
    return dataclasses.replace(report, views=[v for v in report.views if v.name == "combined"])


def highlights(result: DemoResult, top: int = 5) -> list[str]:
    """A few lines that say what the run did and what the audit found."""
    run = result.run
    lines = [f"{name}: pulled {c['leads']} leads, {c['deals']} deals, {c['stage_changes']} "
             f"stage changes" for name, c in run.pulled.items()]
    lines.append(f"wrote {run.records_written} changed values back, created "
                 f"{run.tasks_created} follow-up tasks; {run.alerts_open} alerts open")
    rejected = Counter(str(e.get("code") or e.get("error") or "error") for e in run.errors)
    if rejected:
        lines.append("rows the CRMs rejected (kept for the next run): "
                     + ", ".join(f"{n} × {code}" for code, n in rejected.most_common()))
    findings = result.audit.findings
    by_severity = Counter(f.severity for f in findings)
    lines.append(f"stage-definition audit: {by_severity['error']} errors, "
                 f"{by_severity['warning']} warnings, {by_severity['info']} info")
    shown = _one_per_check(findings)[:top]
    for finding in shown:
        lines.append(f"  {finding.severity} [{finding.check}]: {finding.message}")
        if finding.fix:
            lines.append(f"    fix: {finding.fix}")
    if len(findings) > len(shown):
        lines.append(f"  ... {len(findings) - len(shown)} more in {result.report_path}")
    return lines


def _one_per_check(findings: list[Finding]) -> list[Finding]:
    """The first (most severe) finding of each check: a varied sample, not five alike."""
    seen: set[str] = set()
    out = []
    for finding in findings:
        if finding.check not in seen:
            seen.add(finding.check)
            out.append(finding)
    return out
