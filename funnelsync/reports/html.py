"""One self-contained HTML file: inline CSS and inline SVG charts, no scripts, no external assets.

Every piece of text goes through ``esc``. The combined view's charts carry the ids
``funnel-chart`` and ``time-in-stage-chart`` (per-CRM charts add ``-<crm>``), so a browser test
can find them. Given a forecast and its backtest, the report shows them with the forecast page's
charts (``forecast-chart``, ``backtest-chart``).
"""

from __future__ import annotations

from html import escape
from typing import Any

from funnelsync.reports.audit.common import Finding
from funnelsync.reports.forecast_html import backtest_svg, forecast_svg, score_line
from funnelsync.reports.model import FunnelReport, FunnelSection, FunnelView
from funnelsync.reports.printable import printable
from funnelsync.reports.sla import sla_html

CSS = """
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0;
 color:#1f2933;background:#f5f7fa}
main{max-width:1100px;margin:0 auto;padding:24px}
h1{margin:0 0 4px;font-size:26px}h2{margin:28px 0 8px;font-size:19px}
h3{margin:18px 0 6px;font-size:15px;color:#3e4c59}
.meta{color:#616e7c;margin:0 0 16px}
.cards{display:flex;flex-wrap:wrap;gap:12px}
.card{background:#fff;border-radius:8px;padding:12px 16px;min-width:150px;
 box-shadow:0 1px 3px rgba(0,0,0,.12)}
.card b{display:block;font-size:20px}.card span{color:#616e7c;font-size:12px}
.panel{background:#fff;border-radius:8px;padding:16px;margin:12px 0;
 box-shadow:0 1px 3px rgba(0,0,0,.12)}
table{border-collapse:collapse;width:100%;margin:6px 0 12px;background:#fff}
th,td{padding:5px 8px;border-bottom:1px solid #e4e7eb;text-align:right}
th:first-child,td:first-child{text-align:left}
th{background:#f0f4f8;font-weight:600}
.sev-error{color:#ab091e;font-weight:600}.sev-warning{color:#b44d12}.sev-info{color:#2d3a8c}
td.text,table.findings th{text-align:left}
.note{color:#616e7c;font-style:italic}
svg text{font:12px system-ui,sans-serif;fill:#1f2933}
.grid{display:grid;grid-template-columns:1fr 1fr;gap:16px}
@media (max-width:900px){.grid{grid-template-columns:1fr}}
"""

FUNNEL_FILL = "#3b82c4"
LEAD_FILL = "#7aa9d6"
MEDIAN_FILL = "#2f9e72"
P90_FILL = "#e8a33d"


def esc(value: Any) -> str:
    """HTML-escape any value (quotes too, so it is safe inside attributes), its control
    characters shown as escapes."""
    return escape(printable("" if value is None else str(value)), quote=True)


def _num(value: Any, digits: int = 2) -> str:
    if value is None:
        return "–"
    return f"{value:,.{digits}f}" if isinstance(value, float) else str(value)


def _pct(rate: float | None) -> str:
    return "–" if rate is None else f"{rate:.1%}"


def page(title: str, body: str) -> str:
    return (f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>{esc(title)}</title><style>{CSS}</style></head>"
            f"<body><main>{body}</main></body></html>\n")


Documents = tuple[dict[str, Any], dict[str, Any]]  # a forecast and its backtest, as JSON


def render_report_html(report: FunnelReport, *, findings: list[Finding] | None = None,
                       forecast: Documents | None = None) -> str:
    """The whole report as one HTML page (with the audit findings, and the forecast and its
    backtest, when given)."""
    combined = report.view("combined")
    parts = [f"<h1>Funnel report</h1><p class=\"meta\">{esc(_meta(report))}</p>",
             _cards(combined),
             '<section id="charts" class="grid">',
             _panel("Funnel (both CRMs)", funnel_svg(combined, "funnel-chart")),
             _panel("Time in stage (days)", time_svg(combined, "time-in-stage-chart")),
             "</section>"]
    if forecast is not None:
        parts.append(forecast_section(*forecast))
    parts += [_view_html(v) for v in report.views]
    if report.sla is not None:
        parts.append(sla_html(report.sla, _table, esc))
    if findings is not None:
        parts.append(f'<section id="audit"><h2>Stage-definition audit</h2>'
                     f"{findings_table(findings)}</section>")
    parts.append(f'<p class="note">{esc(report.merge.note)}</p>')
    return page("funnelsync report", "".join(parts))


def forecast_section(forecast: dict[str, Any], backtest: dict[str, Any]) -> str:
    """The forecast and backtest section: both charts, the backtest's scores."""
    return (f'<section id="forecast"><h2>Forecast ({esc(forecast["currency"])}, as of '
            f'{esc(forecast["as_of"])})</h2>'
            + _panel("Expected bookings per period (open deals), P10-P90",
                     forecast_svg(forecast["periods"]))
            + _panel("Backtest: P10-P90 band, actual (dot), naive (square)",
                     f'<p class="meta">{score_line(backtest)}</p>'
                     + backtest_svg(backtest["points"]))
            + "</section>")


def render_audit_html(findings: list[Finding]) -> str:
    """The audit findings as one HTML page."""
    body = (f"<h1>Stage-definition audit</h1><p class=\"meta\">{len(findings)} finding(s)</p>"
            f'<section id="audit">{findings_table(findings)}</section>')
    return page("funnelsync audit", body)


def _meta(report: FunnelReport) -> str:
    bits = [f"generated {report.generated_at}"]
    if report.since:
        bits.append(f"records created since {report.since}")
    bits.append(f"amounts in {report.currency}")
    if report.currencies and report.currencies != [report.currency]:
        bits.append("deals in " + ", ".join(report.currencies))
    if report.unconverted_deals:
        bits.append(f"{report.unconverted_deals} deals without an exchange rate left out of "
                    "amounts")
    return " · ".join(bits)


def _panel(title: str, inner: str) -> str:
    return f'<div class="panel"><h3>{esc(title)}</h3>{inner}</div>'


def _cards(view: FunnelView) -> str:
    w, total = view.win_rate, view.pipeline_total
    cards = [("win rate", f"{_pct(w.rate)}"), ("average deal", _num(view.avg_deal_value)),
             ("median sales cycle", f"{_num(view.sales_cycle.median_days)} d"),
             ("open pipeline", _num(total.amount)), ("weighted pipeline",
                                                     _num(total.weighted_amount)),
             ("velocity / day", _num(view.velocity.value_per_day))]
    inner = "".join(f'<div class="card"><b>{esc(v)}</b><span>{esc(k)}</span></div>'
                    for k, v in cards)
    return f'<section id="summary" class="cards">{inner}</section>'


def _funnel_rows(section: FunnelSection) -> list[tuple[str, int, float | None]]:
    return [(r.label, r.reached, r.rate) for r in section.rows]


def _next(rate: float | None) -> str:
    return "" if rate is None else f" · {_pct(rate)} go on"


def funnel_svg(view: FunnelView, svg_id: str) -> str:
    """Centred bars, one per stage, width by records reached: deals, then leads/contacts."""
    groups = [("Deals", _funnel_rows(view.deal_funnel), FUNNEL_FILL),
              (f"Leads / contacts ({view.lead_funnel.units})", _funnel_rows(view.lead_funnel),
               LEAD_FILL)]
    width, row_h, out, y = 520, 30, [], 4
    top = max([n for _, rows, _ in groups for _, n, _ in rows] + [1])
    for title, rows, fill in groups:
        out.append(f'<text x="0" y="{y + 14}" font-weight="600">{esc(title)}</text>')
        y += 22
        for label, reached, rate in rows:
            w = max(2.0, 300 * reached / top)
            x = 110 + (300 - w) / 2
            out.append(f'<text x="0" y="{y + 19}">{esc(label)}</text>'
                       f'<rect class="funnel-bar" data-stage="{esc(label)}" x="{x:.1f}" '
                       f'y="{y + 3}" width="{w:.1f}" height="{row_h - 6}" rx="3" '
                       f'fill="{fill}"><title>{esc(label)}: {reached}</title></rect>'
                       f'<text x="420" y="{y + 19}">{reached}{_next(rate)}</text>')
            y += row_h
        y += 8
    return (f'<svg id="{esc(svg_id)}" class="chart funnel-chart" role="img" '
            f'aria-label="funnel chart" width="{width}" height="{y}" '
            f'viewBox="0 0 {width} {y}">{"".join(out)}</svg>')


def time_svg(view: FunnelView, svg_id: str) -> str:
    """Two bars per stage: median and p90 days in the stage."""
    width, y, out = 520, 4, []
    top = max([t.p90_days or 0.0 for t in view.time_in_stage] + [1.0])
    out.append(f'<rect x="110" y="{y}" width="12" height="12" fill="{MEDIAN_FILL}"/>'
               f'<text x="127" y="{y + 11}">median</text>'
               f'<rect x="190" y="{y}" width="12" height="12" fill="{P90_FILL}"/>'
               f'<text x="207" y="{y + 11}">p90</text>')
    y += 24
    if not view.time_in_stage:
        out.append(f'<text x="0" y="{y + 14}">no completed stays yet</text>')
        y += 24
    for t in view.time_in_stage:
        out.append(f'<text x="0" y="{y + 16}">{esc(t.label)}</text>')
        for offset, value, cls, fill in ((0, t.median_days, "bar-median", MEDIAN_FILL),
                                         (13, t.p90_days, "bar-p90", P90_FILL)):
            w = max(1.0, 300 * (value or 0.0) / top)
            out.append(f'<rect class="{cls}" data-stage="{esc(t.label)}" x="110" '
                       f'y="{y + offset}" width="{w:.1f}" height="11" fill="{fill}">'
                       f'<title>{esc(t.label)} {cls[4:]}: {_num(value)} days</title></rect>'
                       f'<text x="{116 + w:.1f}" y="{y + offset + 10}">{_num(value)}</text>')
        y += 34
    return (f'<svg id="{esc(svg_id)}" class="chart time-in-stage-chart" role="img" '
            f'aria-label="time in stage chart" width="{width}" height="{y}" '
            f'viewBox="0 0 {width} {y}">{"".join(out)}</svg>')


def _table(headers: list[str], rows: list[list[Any]]) -> str:
    head = "".join(f"<th>{esc(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{esc(c)}</td>" for c in row) + "</tr>"
                   for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _funnel_table(section: FunnelSection) -> str:
    rows = [[r.label, r.reached, _num(r.advanced), _pct(r.rate)] for r in section.rows]
    html = _table(["stage", "reached", "to next", "conversion"], rows)
    if section.biggest_drop_off:
        d = section.biggest_drop_off
        html += (f'<p class="note">biggest drop-off: {esc(d.from_stage)} → {esc(d.to_stage)} '
                 f"({esc(_pct(d.rate))}, {d.dropped} of {d.reached} did not go on)</p>")
    return html


def _view_html(view: FunnelView) -> str:
    vid = esc(view.name)
    suffix = "" if view.name == "combined" else f"-{view.name}"
    parts = [f'<section class="view" id="view-{vid}"><h2>{esc(view.name.title())}</h2>']
    if suffix:
        parts.append('<div class="grid">'
                     + _panel("Funnel", funnel_svg(view, f"funnel-chart{suffix}"))
                     + _panel("Time in stage (days)",
                              time_svg(view, f"time-in-stage-chart{suffix}")) + "</div>")
    parts += [f"<h3>Deals ({view.deal_funnel.total})</h3>", _funnel_table(view.deal_funnel),
              f"<h3>Leads / contacts ({view.lead_funnel.total} {esc(view.lead_funnel.units)})"
              f"</h3>", _funnel_table(view.lead_funnel),
              "<h3>Time in stage (days)</h3>",
              _table(["stage", "stays", "median", "p90"],
                     [[t.label, t.n, _num(t.median_days), _num(t.p90_days)]
                      for t in view.time_in_stage]),
              "<h3>Open pipeline now</h3>",
              _table(["stage", "deals", "amount", "weighted"],
                     [[p.label, p.count, _num(p.amount), _num(p.weighted_amount)]
                      for p in [*view.pipeline, view.pipeline_total]]),
              "<h3>Summary</h3>", _summary(view), _cohorts(view)]
    parts += [f'<p class="note">{esc(n)}</p>' for n in view.notes]
    return "".join(parts) + "</section>"


def _summary(view: FunnelView) -> str:
    w, c, m, v = view.win_rate, view.sales_cycle, view.mql_to_sql, view.velocity
    return _table(["metric", "value"], [
        ["win rate", f"{_pct(w.rate)} ({w.won} of {w.closed} closed)"],
        ["average deal value (won)", _num(view.avg_deal_value)],
        ["sales cycle median / p90", f"{_num(c.median_days)} / {_num(c.p90_days)} days"],
        ["sales velocity per day", f"{_num(v.value_per_day)} ({v.open_deals} open deals)"],
        ["MQL → SQL median / p90", f"{_num(m.median_days)} / {_num(m.p90_days)} days "
                                   f"({m.n} leads)"]])


def _cohorts(view: FunnelView) -> str:
    if not view.cohorts:
        return ""
    stages = list(view.cohorts[0].reached)
    rows = [[c.month, c.created, *(c.reached[s] for s in stages), c.won, c.lost, c.open]
            for c in view.cohorts]
    return ("<h3>Deals by month created</h3>"
            + _table(["month", "created", *stages, "won", "lost", "open"], rows))


def findings_table(findings: list[Finding]) -> str:
    """The audit findings; an explicit line when there are none."""
    if not findings:
        return '<p class="note">no findings: the stage definitions hold up</p>'
    head = "".join(f"<th>{h}</th>" for h in ("severity", "check", "source", "stage",
                                              "message", "fix"))
    rows = "".join(
        f'<tr><td class="sev-{esc(f.severity)}">{esc(f.severity)}</td>'
        + "".join(f'<td class="text">{esc(v)}</td>'
                  for v in (f.check, f.source, f.stage, f.message, f.fix)) + "</tr>"
        for f in findings)
    return f'<table class="findings"><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>'
