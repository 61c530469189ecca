"""Thin glue from a state store to the pure report and audit functions.

The store is described by a Protocol (``funnelsync.store.Store`` satisfies it): reports
only read, and any object offering these reads can feed them.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Protocol

from funnelsync.config.models import AppConfig
from funnelsync.mapping.funnel import StageMaps
from funnelsync.mapping.schema import CatalogStage, FunnelDeal, FunnelLead, StageChange
from funnelsync.reports.audit.definitions import AuditOptions, AuditResult, run_audit
from funnelsync.reports.audit.identity import identity_findings
from funnelsync.reports.audit.routing import ops_findings_from_store
from funnelsync.reports.metrics import build_report
from funnelsync.reports.model import FunnelReport
from funnelsync.reports.money import chosen_currency, stored_rates
from funnelsync.reports.sla import sla_from_store
from funnelsync.rules.people import people_for_leads
from funnelsync.store import owner_directory


class StoredRecordLike(Protocol):
    def to_model(self) -> FunnelLead | FunnelDeal: ...


class ReportStore(Protocol):
    """What the reports read from a store."""

    def iter_records(self, source: str | None = None, kind: Any = None, *,
                     include_deleted: bool = False) -> Iterator[StoredRecordLike]: ...

    def iter_stage_changes(self, source: str | None = None) -> Iterator[StageChange]: ...

    def catalog(self, source: str | None = None) -> list[CatalogStage]: ...

    def get_state(self, key: str) -> Any: ...


@dataclass
class ReportInputs:
    """Everything the report and the audit read, in memory: both need every record's full
    stage history at once (conversion counts each record's furthest stage)."""

    deals: list[FunnelDeal]
    leads: list[FunnelLead]
    changes: list[StageChange]
    catalog: list[CatalogStage]


def _models(records: Iterable[StoredRecordLike]) -> Iterator[FunnelLead | FunnelDeal]:
    return (r.to_model() for r in records)


def load_inputs(store: ReportStore, sources: Iterable[str]) -> ReportInputs:
    """Non-deleted leads and deals, stage changes and catalogs of the given sources."""
    inputs = ReportInputs([], [], [], [])
    for source in sources:
        inputs.deals += [m for m in _models(store.iter_records(source, "deals"))
                         if isinstance(m, FunnelDeal)]
        inputs.leads += [m for m in _models(store.iter_records(source, "leads"))
                         if isinstance(m, FunnelLead)]
        inputs.changes += list(store.iter_stage_changes(source))
        inputs.catalog += store.catalog(source)
    return inputs


def report_from_store(store: ReportStore, config: AppConfig, now: datetime, *,
                      since: date | datetime | None = None, by: str | None = None,
                      people: Mapping[str, str] | None = None) -> FunnelReport:
    """The funnel report over what the store holds for the configured CRMs."""
    data = load_inputs(store, config.sources())
    if people is None:  # each person once in the combined view
        people = people_for_leads(data.leads, config.identity)
    rates = stored_rates(store, config.sources())
    currency = chosen_currency(config.report.currency, rates, config.sources())
    report = build_report(data.deals, data.leads, data.changes, config, now,
                          catalog=data.catalog, since=since, by=by, people=people,
                          rates=rates, currency=currency)
    if config.sla is not None:
        report.sla = sla_from_store(store, config.sla, now)
    return report


def audit_from_store(store: ReportStore, config: AppConfig, now: datetime,
                     options: AuditOptions | None = None) -> AuditResult:
    """The stage-definition audit over the stored catalogs and deal history."""
    data = load_inputs(store, config.sources())
    result = run_audit(data.catalog, StageMaps(config), config.funnel, data.deals, data.changes,
                       now, options)
    result.findings += ops_findings_from_store(store, config, now)  # routing and SLA
    result.findings += identity_findings(data.leads, config, owner_directory(store))
    return result
