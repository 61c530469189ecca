"""The sync job: pull → normalise → store → compute → diff → push → alerts.

``SyncJob(config).run(dry_run=False) -> RunResult``. One run at a time per state store (a lock
that expires when its holder dies). Pages and their watermarks commit together during the
pull; the "evaluated through run N" mark moves only after the push was accounted for, so a crash
at any point leaves a state from which the next run converges: records pulled but not yet
evaluated are evaluated next time, writes already applied show up as live values and are not
repeated, and tasks already created are found by their marker.
"""

from __future__ import annotations

import logging
import os
import socket
import time
from contextvars import ContextVar
from dataclasses import dataclass, field, fields
from datetime import datetime, timedelta
from typing import Any

from funnelsync.clock import Clock, utc_now
from funnelsync.config.models import AppConfig
from funnelsync.connectors.base import KINDS
from funnelsync.crm.metadata import MetadataCache
from funnelsync.crm.source import ConnectorFactory, Source, default_connector, open_sources
from funnelsync.errors import EXIT_OK, EXIT_PARTIAL, FunnelsyncError, LockHeld
from funnelsync.store import Store, default_holder
from funnelsync.sync.alerts import AlertSummary, run_alerts
from funnelsync.sync.evaluate import EVALUATED_THROUGH, Evaluator, diffs_for
from funnelsync.sync.identity.service import refresh_identity
from funnelsync.sync.identity.writeback import furthest_stage_plan
from funnelsync.sync.leads.operations import (
    LeadOps,
    build_lead_ops,
    run_lead_ops,
    save_routing_state,
)
from funnelsync.sync.probability import deal_probabilities
from funnelsync.sync.pull import Progress, SourcePull, pull_source, usage_of
from funnelsync.sync.push import PushSummary, new_values, push_diffs
from funnelsync.sync.webhook import send_digest

log = logging.getLogger(__name__)
current_run_id: ContextVar[int | None] = ContextVar("funnelsync_run_id", default=None)
DRY_RUN_ONLY = frozenset({"planned_changes", "planned_tasks"})  # RunResult fields


@dataclass
class RunResult:
    """The outcome of one run, as `funnelsync sync --json` prints it."""

    run_id: int
    dry_run: bool
    pulled: dict[str, dict[str, int]] = field(default_factory=dict)
    deleted: dict[str, dict[str, int]] = field(default_factory=dict)
    changes: int = 0
    records_written: int = 0
    tasks_created: int = 0
    tasks_deferred: int = 0
    tasks_updated: int = 0
    tasks_closed: int = 0
    alerts_open: int = 0
    alerts_opened: int = 0
    alerts_resolved: int = 0
    errors: list[dict[str, Any]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    api_calls: dict[str, int] = field(default_factory=dict)
    retries: dict[str, int] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)
    planned_changes: list[dict[str, Any]] = field(default_factory=list)  # dry runs only
    planned_tasks: list[dict[str, Any]] = field(default_factory=list)  # dry runs only

    @property
    def exit_code(self) -> int:
        """0 when every row was accepted, 1 when some were rejected."""
        return EXIT_PARTIAL if self.errors else EXIT_OK

    def to_json(self) -> dict[str, Any]:
        """Every field in declaration order; the planned changes and tasks of dry runs only."""
        return {f.name: getattr(self, f.name) for f in fields(self)
                if self.dry_run or f.name not in DRY_RUN_ONLY}

    def add_alerts(self, summary: AlertSummary) -> None:
        """Count what an alert step did (or would do, in a dry run)."""
        self.tasks_created += summary.tasks_created
        self.tasks_deferred += summary.tasks_deferred
        self.tasks_updated += summary.tasks_updated
        self.tasks_closed += summary.tasks_closed
        self.alerts_open += summary.open_total
        self.alerts_opened += summary.opened
        self.alerts_resolved += summary.resolved
        self.errors += summary.errors
        self.planned_tasks += summary.planned_tasks


class SyncJob:
    """One scheduled sync. Connectors, clock and progress are injectable for tests and ETL."""

    def __init__(self, config: AppConfig, *, sources: list[str] | None = None,
                 connector_factory: ConnectorFactory = default_connector,
                 clock: Clock = utc_now, progress: Progress | None = None,
                 reevaluate_all: bool = False, refresh_metadata: bool = False) -> None:
        self.config = config
        self.only = sources
        self.factory = connector_factory
        self.clock = clock
        self.progress = progress
        self.reevaluate_all = reevaluate_all
        self.refresh_metadata = refresh_metadata  # --full refreshes it too
        self._everything = reevaluate_all
        self.holder = default_holder()

    def run(self, dry_run: bool = False, full: bool = False) -> RunResult:
        """Run every step once; raises LockHeld, AuthError, RemoteError, ConfigError."""
        return self._locked(dry_run, full, pull_only=False)

    def pull(self, full: bool = False) -> RunResult:
        """Only pull, normalise and store (no write-back, no alerts)."""
        return self._locked(False, full, pull_only=True)

    def _locked(self, dry_run: bool, full: bool, pull_only: bool) -> RunResult:
        store = Store.open(self.config.state.url, clock=self.clock)
        try:
            self._acquire(store)
            try:
                return self._run_locked(store, dry_run, full, pull_only)
            finally:
                store.release_lock(self.holder)
        finally:
            store.close()

    def _acquire(self, store: Store) -> None:
        """Take the run lock; a lock whose holder died on this host is taken over at once
        (elsewhere it expires after ``state.lock_ttl_seconds``)."""
        ttl = self.config.state.lock_ttl_seconds
        try:
            store.acquire_lock(self.holder, self.clock(), ttl)
        except LockHeld as exc:
            if not holder_is_dead(exc.holder):
                raise
            log.warning("taking over the run lock of %s: that process is gone", exc.holder)
            store.release_lock(exc.holder or "")
            store.acquire_lock(self.holder, self.clock(), ttl)

    def _run_locked(self, store: Store, dry_run: bool, full: bool,
                    pull_only: bool) -> RunResult:
        run_id = store.start_run(self.holder, dry_run=dry_run)
        token = current_run_id.set(run_id)
        try:
            return self._run_steps(store, run_id, dry_run, full, pull_only)
        except FunnelsyncError as exc:
            exc.run_id = run_id  # reported after the reset below, the error still names its run
            raise
        finally:  # log lines after the run (a later run's or an embedder's) are not its own
            current_run_id.reset(token)

    def _run_steps(self, store: Store, run_id: int, dry_run: bool, full: bool,
                   pull_only: bool) -> RunResult:
        result = RunResult(run_id=run_id, dry_run=dry_run)
        sources = open_sources(self.config, self.only, self.factory,
                               self._metadata_cache(store, full))
        try:
            self._pull_all(store, sources, result, full)
            with _timed(result, "identity"):  # the people table, right after the pull
                refresh_identity(store, self.config, self.clock(), sources, result)
            if not pull_only:
                self._write_back(store, sources, result)
        except FunnelsyncError as exc:
            result.errors.append({"error": type(exc).__name__, "message": str(exc)})
            self._collect_usage(sources, result)
            store.finish_run(run_id, "failed", counts=result.to_json(), errors=result.errors,
                             timings=result.timings)
            raise
        finally:
            for source in sources:
                source.connector.close()
        self._collect_usage(sources, result)
        status = "partial" if result.errors else "ok"
        store.finish_run(run_id, status, counts=result.to_json(), errors=result.errors,
                         timings=result.timings)
        return result

    def _metadata_cache(self, store: Store, full: bool) -> MetadataCache:
        """Catalogs, owners and describes kept in the store, trusted for
        ``limits.metadata_ttl_hours``; read again at once with ``refresh_metadata`` or ``full``."""
        ttl = timedelta(hours=self.config.limits.metadata_ttl_hours)
        return MetadataCache(store, self.clock(), ttl, refresh=self.refresh_metadata or full)

    def _pull_all(self, store: Store, sources: list[Source], result: RunResult,
                  full: bool) -> None:
        now = self.clock()
        for source in sources:
            with _timed(result, f"pull.{source.name}"):
                pulled = pull_source(store, source, result.run_id, now, full=full,
                                     progress=self.progress or _quiet)
            self._keep_pull(source.name, pulled, result)
            self._refresh_lock(store)

    def _write_back(self, store: Store, sources: list[Source], result: RunResult) -> None:
        now = self.clock()
        self._everything = self.reevaluate_all or rescore_due(store, self.config, now)
        evaluator = Evaluator(self.config, now)
        evaluator.identity = furthest_stage_plan(store, self.config)  # None unless opted in
        evaluator.probabilities = deal_probabilities(store, self.config, now)  # {} unless opted in
        digest: list[dict[str, Any]] = []
        for source in sources:
            ops = build_lead_ops(store, source, self.config, now)  # routing, SLA, nurture
            if ops is not None:
                evaluator.ops[source.name] = ops
            with _timed(result, f"push.{source.name}"):
                self._push(store, source, evaluator, result)
            with _timed(result, f"alerts.{source.name}"):
                digest += self._alerts(store, source, now, result)
            if ops is not None:
                with _timed(result, f"lead_ops.{source.name}"):
                    self._lead_ops(store, source, ops, result)
            self._refresh_lock(store)
        url = self.config.alerts.webhook_url
        if url and not result.dry_run:
            result.warnings += send_digest(url, digest, self.config.alerts.webhook_digest)
        if not result.dry_run:
            store.set_state(EVALUATED_THROUGH, result.run_id)
            if self._everything:
                store.set_state(RESCORED_AT, now.isoformat())

    def _keep_pull(self, name: str, pulled: SourcePull, result: RunResult) -> None:
        result.pulled[name] = pulled.counts()
        result.deleted[name] = dict(pulled.deleted)
        result.warnings += pulled.warnings
        if pulled.suppressed:
            result.warnings.append(f"{name}: {pulled.suppressed} record(s) of forgotten people "
                                   "not stored (suppression list)")
        if pulled.rejected:
            result.errors.append({"source": name, "kind": "pull", "code": "DATA_ERROR",
                                  "message": f"{pulled.rejected} record(s) could not be "
                                             "mapped; see warnings"})

    def _push(self, store: Store, source: Source, evaluator: Evaluator,
              result: RunResult) -> None:
        summary = PushSummary()
        for kind in KINDS:
            diffs = diffs_for(store, evaluator, source.name, kind, everything=self._everything)
            if result.dry_run:
                for found in diffs:
                    fields = source.writeback_fields(kind, new_values(found))
                    if fields:
                        summary.changes += 1
                        result.planned_changes.append(
                            {"source": source.name, "kind": kind, "record_id": found.record_id,
                             "changes": {k: [o, n] for k, (o, n) in found.changes.items()},
                             "reasons": found.reasons})
                continue
            push_diffs(store, source, kind, diffs, result.run_id, summary)
        result.changes += summary.changes
        result.records_written += summary.written
        result.errors += summary.errors

    def _alerts(self, store: Store, source: Source, now: datetime,
                result: RunResult) -> list[dict[str, Any]]:
        """Run the alert step; returns its digest events (new and resolved deals)."""
        summary = run_alerts(store, source, self.config, now, dry_run=result.dry_run)
        result.add_alerts(summary)
        return summary.digest

    def _lead_ops(self, store: Store, source: Source, ops: LeadOps, result: RunResult) -> None:
        if not result.dry_run:  # a dry run must not advance the round-robin position
            save_routing_state(store, ops)
        summary, warnings = run_lead_ops(store, source, ops, dry_run=result.dry_run)
        result.add_alerts(summary)
        result.warnings += warnings

    def _refresh_lock(self, store: Store) -> None:
        store.refresh_lock(self.holder, self.clock(), self.config.state.lock_ttl_seconds)

    @staticmethod
    def _collect_usage(sources: list[Source], result: RunResult) -> None:
        for source in sources:
            usage = usage_of(source)
            result.api_calls[source.name] = usage["api_calls"]
            result.retries[source.name] = usage["retries"]


RESCORED_AT = "rescored_at"


def rescore_due(store: Store, config: AppConfig, now: datetime) -> bool:
    """Whether this run re-evaluates every record (``writeback.rescore_interval_hours``)."""
    hours = config.writeback.rescore_interval_hours
    if hours <= 0:
        return False
    last = store.get_state(RESCORED_AT)
    if last is None:
        return True
    return (now - datetime.fromisoformat(last)).total_seconds() >= hours * 3600


def holder_is_dead(holder: str | None) -> bool:
    """True when ``holder`` ("host:pid:tag") names a process on this host that has ended."""
    parts = (holder or "").split(":")
    if len(parts) != 3 or parts[0] != socket.gethostname() or not parts[1].isdigit():
        return False
    try:
        os.kill(int(parts[1]), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


def _quiet(source: str, stream: str, count: int) -> None:
    return None


class _timed:
    """Adds the wall time of a block to ``result.timings[name]`` (seconds)."""

    def __init__(self, result: RunResult, name: str) -> None:
        self.result, self.name = result, name

    def __enter__(self) -> None:
        self.start = time.perf_counter()

    def __exit__(self, *exc: object) -> None:
        spent = time.perf_counter() - self.start
        self.result.timings[self.name] = round(self.result.timings.get(self.name, 0.0)
                                               + spent, 3)
