"""Renderers of the FunnelReport and the audit: rich tables, JSON, CSV and one-file HTML.

Reports carry stage ids, counts, durations and amounts only, never names or e-mails.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Iterator
from typing import Any

from rich.console import Console, Group, RenderableType
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from funnelsync.reports.audit.common import Finding
from funnelsync.reports.html import Documents, render_audit_html, render_report_html
from funnelsync.reports.model import FunnelReport, FunnelSection, FunnelView
from funnelsync.reports.printable import printable
from funnelsync.reports.spreadsheet import csv_cell

FORMATS = ("table", "json", "csv", "html")
REPORT_CSV_COLUMNS = ["view", "section", "period", "stage", "metric", "value"]
AUDIT_CSV_COLUMNS = ["check", "severity", "source", "stage", "message", "fix", "evidence"]

__all__ = ["FORMATS", "render_audit", "render_report", "report_renderables",
           "audit_renderable"]


def render_report(report: FunnelReport, fmt: str, *,
                  findings: Iterable[Finding] | None = None, width: int = 120,
                  forecast: Documents | None = None) -> str:
    """The report as ``table``, ``json``, ``csv`` or ``html`` text; the HTML can embed the
    audit findings and the forecast with its backtest."""
    if fmt == "json":
        return report.to_json()
    if fmt == "csv":
        return _csv(REPORT_CSV_COLUMNS, report_rows(report))
    if fmt == "html":
        return render_report_html(report, findings=list(findings) if findings else None,
                                  forecast=forecast)
    if fmt == "table":
        return _to_text(Group(*report_renderables(report)), width)
    raise ValueError(f"unknown format {fmt!r}; use one of {', '.join(FORMATS)}")


def render_audit(findings: Iterable[Finding], fmt: str, *, width: int = 120) -> str:
    """The audit findings as ``table``, ``json``, ``csv`` or ``html`` text."""
    items = list(findings)
    if fmt == "json":
        return json.dumps({"findings": [f.to_dict() for f in items]}, indent=2)
    if fmt == "csv":
        return _csv(AUDIT_CSV_COLUMNS, ([f.check, f.severity, f.source, f.stage, f.message, f.fix,
                                         json.dumps(f.evidence, sort_keys=True)]
                                        for f in items))
    if fmt == "html":
        return render_audit_html(items)
    if fmt == "table":
        return _to_text(audit_renderable(items), width)
    raise ValueError(f"unknown format {fmt!r}; use one of {', '.join(FORMATS)}")


def _to_text(renderable: RenderableType, width: int) -> str:
    buffer = io.StringIO()
    Console(file=buffer, width=width, color_system=None, force_terminal=False).print(renderable)
    return buffer.getvalue()


def _csv(columns: list[str], rows: Iterable[list[Any]]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(columns)
    writer.writerows([csv_cell(v) for v in row] for row in rows)
    return buffer.getvalue()


def report_rows(report: FunnelReport) -> Iterator[list[Any]]:
    """Long-format rows: view, section, period, stage, metric, value."""
    for view in report.views:
        yield from _view_rows(view)


def _view_rows(v: FunnelView) -> Iterator[list[Any]]:
    n = v.name
    for name in ("lead_funnel", "deal_funnel"):
        section: FunnelSection = getattr(v, name)
        yield [n, name, "", "", "total_" + section.units, section.total]
        for r in section.rows:
            yield from ([n, name, "", r.stage, m, getattr(r, m)]
                        for m in ("reached", "advanced", "rate"))
        if section.biggest_drop_off:
            d = section.biggest_drop_off
            yield [n, name, "", d.from_stage, "biggest_drop_off_rate", d.rate]
    for t in v.time_in_stage:
        yield from ([n, "time_in_stage", "", t.stage, m, getattr(t, m)]
                    for m in ("n", "median_days", "p90_days"))
    for name in ("sales_cycle", "mql_to_sql"):
        dist = getattr(v, name)
        yield from ([n, name, "", "", m, getattr(dist, m)] for m in ("n", "median_days",
                                                                    "p90_days"))
    yield from ([n, "win_rate", "", "", m, getattr(v.win_rate, m)] for m in ("won", "closed",
                                                                             "rate"))
    yield [n, "avg_deal_value", "", "", "value", v.avg_deal_value]
    for p in [*v.pipeline, v.pipeline_total]:
        yield from ([n, "pipeline", "", p.stage, m, getattr(p, m)]
                    for m in ("count", "amount", "weighted_amount"))
    yield from ([n, "velocity", "", "", m, getattr(v.velocity, m)]
                for m in ("open_deals", "win_rate", "avg_deal_value", "cycle_days",
                          "value_per_day"))
    for c in v.cohorts:
        yield from ([n, "cohort", c.month, "", m, getattr(c, m)]
                    for m in ("created", "won", "lost", "open"))
        yield from ([n, "cohort", c.month, stage, "reached", count]
                    for stage, count in c.reached.items())


def _fmt(value: Any, suffix: str = "") -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:,.2f}{suffix}"
    return f"{value}{suffix}"


def _pct(rate: float | None) -> str:
    return "–" if rate is None else f"{rate:.1%}"


def report_renderables(report: FunnelReport) -> list[RenderableType]:
    """Rich tables, one block per view (the CLI prints these on a TTY)."""
    out: list[RenderableType] = []
    for view in report.views:
        out += [_funnel_table(view, "deal_funnel", "Deals"),
                _funnel_table(view, "lead_funnel", "Leads / contacts"),
                _time_table(view), _pipeline_table(view, report.currency), _summary_table(view)]
        if view.cohorts:
            out.append(_cohort_table(view))
        out += [Text(f"note: {printable(note)}") for note in view.notes]
    if any(row.currency != report.currency for row in report.open_by_currency):
        out.append(_currency_table(report))
    return out


def _currency_table(report: FunnelReport) -> Table:
    """The open pipeline per original currency: as held, and in the report currency."""
    table = _table("open pipeline by original currency", "currency", "deals", "amount",
                   f"in {report.currency}", "without rate")
    for row in report.open_by_currency:
        _add_row(table, row.currency, str(row.deals), _fmt(row.amount), _fmt(row.converted),
                 str(row.unconverted))
    return table


def _funnel_table(view: FunnelView, name: str, title: str) -> Table:
    section: FunnelSection = getattr(view, name)
    table = _table(f"{view.name}: {title} funnel ({section.total} {section.units})",
                   "stage", "reached", "to next", "conversion")
    for r in section.rows:
        _add_row(table, r.label, str(r.reached), _fmt(r.advanced), _pct(r.rate))
    if section.biggest_drop_off:
        d = section.biggest_drop_off
        table.caption = escape(printable(f"biggest drop-off: {d.from_stage} → {d.to_stage} "
                                         f"({_pct(d.rate)})"))
    return table


def _time_table(view: FunnelView) -> Table:
    table = _table(f"{view.name}: time in stage (days)", "stage", "stays", "median", "p90")
    for t in view.time_in_stage:
        _add_row(table, t.label, str(t.n), _fmt(t.median_days), _fmt(t.p90_days))
    return table


def _pipeline_table(view: FunnelView, currency: str) -> Table:
    table = _table(f"{view.name}: open pipeline now ({printable(currency)})", "stage", "deals",
                   "amount", "weighted")
    for p in [*view.pipeline, view.pipeline_total]:
        _add_row(table, p.label, str(p.count), _fmt(p.amount), _fmt(p.weighted_amount))
    return table


def _summary_table(view: FunnelView) -> Table:
    table = _table(f"{view.name}: summary", "metric", "value")
    w, c, m = view.win_rate, view.sales_cycle, view.mql_to_sql
    rows = [("win rate", f"{_pct(w.rate)} ({w.won}/{w.closed})"),
            ("average deal value", _fmt(view.avg_deal_value)),
            ("sales cycle median / p90", f"{_fmt(c.median_days)} / {_fmt(c.p90_days)} days"),
            ("sales velocity per day", _fmt(view.velocity.value_per_day)),
            ("MQL → SQL median / p90", f"{_fmt(m.median_days)} / {_fmt(m.p90_days)} days")]
    for label, value in rows:
        _add_row(table, label, value)
    return table


def _cohort_table(view: FunnelView) -> Table:
    stages = list(view.cohorts[0].reached)
    table = _table(f"{view.name}: deals by month created", "month", "created", *stages, "won",
                   "lost", "open")
    for c in view.cohorts:
        _add_row(table, c.month, str(c.created), *(str(c.reached[s]) for s in stages),
                      str(c.won), str(c.lost), str(c.open))
    return table


def _table(title: str, first: str, *others: str) -> Table:
    """A table whose title and headers are plain, printable Text (a stage id in a header
    may hold rich markup characters); the first column is left-aligned, the others right."""
    table = Table(title=Text(printable(title)))
    table.add_column(Text(printable(first)))
    for column in others:
        table.add_column(Text(printable(column)), justify="right")
    return table


def _add_row(table: Table, *cells: str) -> None:
    """Cells as plain, printable Text: a stage label like "[bold]" must not be read as rich
    markup, nor an escape sequence in a CRM value run by the terminal."""
    table.add_row(*(Text(printable(c)) for c in cells))


def audit_renderable(findings: list[Finding]) -> RenderableType:
    """The findings as one rich table."""
    table = Table(title=f"stage-definition audit: {len(findings)} finding(s)")
    for col in ("severity", "check", "source", "stage", "message", "fix"):
        table.add_column(col, overflow="fold")  # fixed names: no markup to fear
    for f in findings:
        _add_row(table, f.severity, f.check, f.source, f.stage, f.message, f.fix)
    return table
