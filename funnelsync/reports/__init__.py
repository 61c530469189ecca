"""funnelsync.reports: funnel metrics, the stage-definition audit, and their renderers.

Pure functions over in-memory records (``build_report``, ``run_audit``), thin store glue
(``report_from_store``, ``audit_from_store``) and renderers (``render_report``,
``render_audit``: table, json, csv, html).
"""

from funnelsync.reports.audit.definitions import (
    AuditOptions,
    AuditResult,
    Finding,
    has_errors,
    run_audit,
)
from funnelsync.reports.history import record_key
from funnelsync.reports.metrics import build_report
from funnelsync.reports.model import FunnelReport, FunnelView
from funnelsync.reports.render import FORMATS, render_audit, render_report
from funnelsync.reports.source import audit_from_store, load_inputs, report_from_store

__all__ = [
    "FORMATS",
    "AuditOptions",
    "AuditResult",
    "Finding",
    "FunnelReport",
    "FunnelView",
    "audit_from_store",
    "build_report",
    "has_errors",
    "load_inputs",
    "record_key",
    "render_audit",
    "render_report",
    "report_from_store",
    "run_audit",
]
