"""Renderers: JSON and CSV shapes, a self-contained and escaped HTML page, rich tables."""

from __future__ import annotations

import csv
import io
import json
import re

import funnel_fixture as fx
import pytest

from funnelsync.config.loading import parse_config
from funnelsync.config.models import AppConfig
from funnelsync.mapping.funnel import StageMaps
from funnelsync.reports.audit.common import Finding
from funnelsync.reports.audit.definitions import run_audit
from funnelsync.reports.metrics import build_report
from funnelsync.reports.render import (
    AUDIT_CSV_COLUMNS,
    REPORT_CSV_COLUMNS,
    render_audit,
    render_report,
)

EVIL = "<script>alert(1)</script>"


def report_for(config: AppConfig, **kwargs):
    return build_report(fx.deals(), fx.leads(), fx.deal_changes() + fx.lead_changes(), config,
                        fx.NOW, catalog=fx.catalog(), **kwargs)


@pytest.fixture(scope="module")
def report():
    return report_for(AppConfig(), by="month")


@pytest.fixture(scope="module")
def findings():
    cfg = AppConfig()
    return run_audit(fx.catalog(), StageMaps(cfg), cfg.funnel, fx.deals(), fx.deal_changes(),
                     fx.NOW).findings


@pytest.fixture(scope="module")
def evil_report():
    cfg = parse_config('[[funnel.stages]]\nid = "awareness"\n'
                       '[[funnel.stages]]\nid = "interest"\n'
                       f'[[funnel.stages]]\nid = "consideration"\nlabel = "{EVIL}"\n'
                       '[[funnel.stages]]\nid = "intent"\n'
                       '[[funnel.stages]]\nid = "decision"\n'
                       '[[funnel.stages]]\nid = "purchase"\n')
    return report_for(cfg)


def test_json_is_the_report_dict(report):
    data = json.loads(render_report(report, "json"))
    assert list(data) == ["generated_at", "since", "by", "stages", "currencies", "currency",
                          "unconverted_deals", "merge", "views", "open_by_currency"]
    assert (data["currency"], data["unconverted_deals"]) == ("USD", 0)
    assert [v["name"] for v in data["views"]] == ["salesforce", "hubspot", "combined"]
    assert list(data["views"][2]) == [
        "name", "sources", "lead_funnel", "deal_funnel", "time_in_stage", "sales_cycle",
        "win_rate", "avg_deal_value", "pipeline", "pipeline_total", "velocity", "mql_to_sql",
        "cohorts", "notes"]
    assert data["views"][2]["velocity"]["value_per_day"] == 122.22


def test_csv_long_format(report):
    rows = list(csv.reader(io.StringIO(render_report(report, "csv"))))
    assert rows[0] == REPORT_CSV_COLUMNS
    assert rows[1] == ["salesforce", "lead_funnel", "", "", "total_records", "3"]
    assert ["combined", "deal_funnel", "", "intent", "rate", "0.7143"] in rows
    assert ["combined", "pipeline", "", "total", "weighted_amount", "2320.0"] in rows
    assert ["hubspot", "cohort", "2026-03", "decision", "reached", "1"] in rows
    assert ["salesforce", "velocity", "", "", "value_per_day", "66.67"] in rows
    assert all(len(r) == 6 for r in rows)


def test_csv_neutralises_formulas():
    finding = Finding("unmapped_stage", "error", "salesforce", "=HYPERLINK(1)", "m", {}, "f")
    rows = list(csv.reader(io.StringIO(render_audit([finding], "csv"))))
    assert rows[0] == AUDIT_CSV_COLUMNS
    assert rows[1][3] == "'=HYPERLINK(1)"


def test_audit_json_and_csv(findings):
    data = json.loads(render_audit(findings, "json"))
    assert list(data) == ["findings"]
    assert data["findings"][0]["check"] == "stage_unused"
    assert list(data["findings"][0]) == ["check", "severity", "source", "stage", "message",
                                         "evidence", "fix"]
    rows = list(csv.reader(io.StringIO(render_audit(findings, "csv"))))
    assert len(rows) == 1 + len(findings) == 6
    assert json.loads(rows[1][6]) == {"days": 90, "label": "decisionmakerboughtin",
                                      "last_entered": None, "pipeline": "default"}


def test_html_is_self_contained_with_both_charts(report, findings):
    html = render_report(report, "html", findings=findings)
    assert html.startswith("<!DOCTYPE html>")
    assert not re.search(r"""(src|href)\s*=\s*["']?\s*(https?:)?//""", html, re.I)
    assert "http://" not in html and "https://" not in html
    assert "<script" not in html.lower() and "<link" not in html.lower()
    assert html.count('<svg id="funnel-chart"') == 1
    assert html.count('<svg id="time-in-stage-chart"') == 1
    assert '<svg id="funnel-chart-salesforce"' in html
    assert '<svg id="time-in-stage-chart-hubspot"' in html
    # combined funnel: 4 deal rows + 6 lead rows; time chart: 5 stages x (median, p90)
    funnel = html.split('<svg id="funnel-chart"')[1].split("</svg>")[0]
    assert funnel.count('class="funnel-bar"') == 10
    timing = html.split('<svg id="time-in-stage-chart"')[1].split("</svg>")[0]
    assert (timing.count('class="bar-median"'), timing.count('class="bar-p90"')) == (5, 5)
    assert 'id="audit"' in html and "stage_unused" in html


def test_html_escapes_stage_labels(evil_report):
    html = render_report(evil_report, "html")
    assert EVIL not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<script" not in html.lower()


def test_html_escapes_audit_text():
    finding = Finding("unmapped_stage", "error", "salesforce", EVIL, EVIL, {}, EVIL)
    html = render_audit([finding], "html")
    assert "<script" not in html.lower()
    assert html.count("&lt;script&gt;") == 3


def test_html_has_no_personal_data():
    # the fixture leads carry no names; give one an e-mail and a name and look for them
    leads = [fx.leads()[0].model_copy(update={"email": "ann@example.com",
                                              "first_name": "Ann", "last_name": "Zyx"})]
    deals = [fx.deals()[0].model_copy(update={"name": "Acme 200 seats",
                                              "owner_name": "Dana Kim"})]
    report = build_report(deals, leads, [], AppConfig(), fx.NOW)
    for fmt in ("html", "json", "csv", "table"):
        text = render_report(report, fmt)
        for secret in ("ann@example.com", "Zyx", "Acme", "Dana"):
            assert secret not in text, (fmt, secret)


def test_table_renders_and_does_not_read_markup(evil_report, findings):
    text = render_report(evil_report, "table")
    assert "combined: Deals funnel (10 records)" in text
    assert EVIL in text  # shown literally, not swallowed as rich markup
    stages = "".join(f'[[funnel.stages]]\nid = "{s}"\n' + (
        'label = "[red]Cons[/red]"\n' if s == "consideration" else "")
        for s in ("awareness", "interest", "consideration", "intent", "decision", "purchase"))
    text = render_report(report_for(parse_config(stages)), "table")
    assert "[red]Cons[/red]" in text
    assert "stage_unused" in render_audit(findings, "table")


def test_unknown_format(report):
    with pytest.raises(ValueError, match="unknown format 'xml'"):
        render_report(report, "xml")
