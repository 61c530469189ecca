"""Report figures against values worked out by hand on funnel_fixture (10 deals, 25 changes).

Funnel orders: awareness 0, interest 1, consideration 2, intent 3, decision 4, purchase 5.
Deal paths (day: funnel stage), furthest stage, outcome:
  S1 0 cons, 10 intent, 20 decision, 30 won            purchase  won   1000
  S2 0 cons (5 Qualification, same stage), 15 intent, 25 lost  intent  lost  500
  S3 10 cons, 14 intent, 24 decision (open, p=90)       decision  open  2000
  S4 40 cons, 45 lost                                   cons      lost  300
  S5 40 cons, 50 intent, 56 decision, 70 won            purchase  won   3000
  S6 45 cons, no history (open, catalog p=10)           cons      open  400
  9001 0 cons, 8 intent, 20 decision, 26 won            purchase  won   1500
  9002 5 cons, 19 lost                                  cons      lost  800
  9003 35 cons, 41 intent (open, p=40)                  intent    open  1200
  9004 60 decision, no history (open, catalog p=90)     decision  open  no amount
Quantiles interpolate linearly at q*(n-1).
"""

from __future__ import annotations

import json
from datetime import date

import funnel_fixture as fx
import pytest

from funnelsync.config.models import AppConfig
from funnelsync.reports.history import record_key
from funnelsync.reports.metrics import build_report
from funnelsync.reports.model import (
    Cohort,
    Distribution,
    DropOff,
    PipelineRow,
    StageConversion,
    StageTime,
    Velocity,
    WinRate,
)
from funnelsync.reports.stats import quantile, wilson_interval


def make_report(**kwargs):
    return build_report(fx.deals(), fx.leads(), fx.deal_changes() + fx.lead_changes(),
                        AppConfig(), fx.NOW, catalog=fx.catalog(), **kwargs)


@pytest.fixture(scope="module")
def report():
    return make_report(by="month")


def rows(section):
    return [(r.stage, r.reached, r.advanced, r.rate) for r in section.rows]


def test_views_and_header(report):
    assert [v.name for v in report.views] == ["salesforce", "hubspot", "combined"]
    assert report.generated_at == "2026-04-01T00:00:00+00:00"
    assert report.currencies == ["USD"]
    assert report.stages[0] == {"id": "awareness", "label": "Awareness"}


def test_deal_conversion_per_crm(report):
    sf = report.view("salesforce").deal_funnel
    assert rows(sf) == [("consideration", 6, 4, 0.6667), ("intent", 4, 3, 0.75),
                        ("decision", 3, 2, 0.6667), ("purchase", 2, None, None)]
    # 0.6667 twice: the earliest step is the biggest drop-off
    assert sf.biggest_drop_off == DropOff("consideration", "intent", 6, 4, 2, 0.6667)
    hs = report.view("hubspot").deal_funnel
    assert rows(hs) == [("consideration", 4, 3, 0.75), ("intent", 3, 2, 0.6667),
                        ("decision", 2, 1, 0.5), ("purchase", 1, None, None)]
    assert hs.biggest_drop_off == DropOff("decision", "purchase", 2, 1, 1, 0.5)


def test_lead_conversion_per_crm(report):
    sf = report.view("salesforce").lead_funnel
    assert rows(sf) == [("awareness", 3, 2, 0.6667), ("interest", 2, 1, 0.5),
                        ("consideration", 1, None, None)]
    assert sf.biggest_drop_off == DropOff("interest", "consideration", 2, 1, 1, 0.5)
    hs = report.view("hubspot").lead_funnel
    assert rows(hs) == [("awareness", 2, 2, 1.0), ("interest", 2, 1, 0.5),
                        ("consideration", 1, 1, 1.0), ("intent", 1, 0, 0.0),
                        ("decision", 0, 0, None), ("purchase", 0, None, None)]


def test_time_in_stage(report):
    assert report.view("salesforce").time_in_stage == [
        StageTime("awareness", "Awareness", 1, 3.0, 3.0),  # L1 0→3
        StageTime("interest", "Interest", 2, 18.0, 26.8),  # L1 7, L3 29
        StageTime("consideration", "Consideration", 5, 10.0, 13.0),  # 4 5 10 10 15
        StageTime("intent", "Intent", 4, 10.0, 10.0),  # 6 10 10 10
        StageTime("decision", "Decision", 2, 12.0, 13.6),  # 10 14
    ]
    combined = {t.stage: (t.n, t.median_days, t.p90_days)
                for t in report.view("combined").time_in_stage}
    assert combined == {"awareness": (2, 2.5, 2.9), "interest": (3, 7.0, 24.6),
                        "consideration": (9, 8.0, 14.2), "intent": (5, 10.0, 11.2),
                        "decision": (3, 10.0, 13.2)}


def test_cycle_win_rate_value(report):
    sf, hs, both = (report.view(n) for n in ("salesforce", "hubspot", "combined"))
    assert sf.sales_cycle == Distribution(2, 30.0, 30.0)
    assert hs.sales_cycle == Distribution(1, 26.0, 26.0)
    assert both.sales_cycle == Distribution(3, 30.0, 30.0)
    assert (sf.win_rate, hs.win_rate, both.win_rate) == (
        WinRate(2, 4, 0.5), WinRate(1, 2, 0.5), WinRate(3, 6, 0.5))
    assert (sf.avg_deal_value, hs.avg_deal_value, both.avg_deal_value) == (
        2000.0, 1500.0, 1833.33)


def test_pipeline_now_and_weighted(report):
    assert report.view("salesforce").pipeline == [
        PipelineRow("consideration", "Consideration", 1, 400.0, 40.0),  # catalog 10%
        PipelineRow("intent", "Intent", 0, 0.0, 0.0),
        PipelineRow("decision", "Decision", 1, 2000.0, 1800.0),  # deal's own 90%
    ]
    assert report.view("hubspot").pipeline_total == PipelineRow("total", "Total", 2, 1200.0,
                                                                480.0)
    assert report.view("combined").pipeline_total == PipelineRow("total", "Total", 4, 3600.0,
                                                                 2320.0)


def test_velocity(report):
    # open deals x win rate x average value / median cycle
    assert report.view("salesforce").velocity == Velocity(2, 0.5, 2000.0, 30.0, 66.67)
    assert report.view("hubspot").velocity == Velocity(2, 0.5, 1500.0, 26.0, 57.69)
    assert report.view("combined").velocity == Velocity(4, 0.5, 1833.33, 30.0, 122.22)


def test_mql_to_sql(report):
    assert report.view("salesforce").mql_to_sql == Distribution(1, 7.0, 7.0)
    assert report.view("hubspot").mql_to_sql == Distribution(1, 4.0, 4.0)
    assert report.view("combined").mql_to_sql == Distribution(2, 5.5, 6.7)


def test_monthly_cohorts(report):
    assert report.view("salesforce").cohorts == [
        Cohort("2026-01", 3, {"consideration": 3, "intent": 3, "decision": 2, "purchase": 1},
               1, 1, 1),
        Cohort("2026-02", 3, {"consideration": 3, "intent": 1, "decision": 1, "purchase": 1},
               1, 1, 1),
    ]
    assert [c.month for c in report.view("hubspot").cohorts] == ["2026-01", "2026-02",
                                                                  "2026-03"]
    assert make_report().view("combined").cohorts == []


def test_combined_without_people_adds_crms_up(report):
    both = report.view("combined")
    assert rows(both.deal_funnel) == [("consideration", 10, 7, 0.7), ("intent", 7, 5, 0.7143),
                                      ("decision", 5, 3, 0.6), ("purchase", 3, None, None)]
    assert [r.reached for r in both.lead_funnel.rows] == [5, 4, 2, 1, 0, 0]
    assert both.lead_funnel.units == "records"
    assert both.lead_funnel.furthest_by_source == {"salesforce": 3, "hubspot": 2}
    assert (report.merge.people_mapping, report.merge.records, report.merge.people,
            report.merge.merged_records) == (False, 5, 5, 0)
    assert "records were not merged" in both.notes[0]


def test_combined_with_people_counts_each_person_once():
    people = {record_key("salesforce", "lead", "00QL1"): "p1",
              record_key("hubspot", "lead", "501"): "p1"}
    report = make_report(people=people)
    lead_funnel = report.view("combined").lead_funnel
    # p1 = SF lead at consideration + HubSpot contact at intent: one person, at intent, HubSpot
    assert lead_funnel.units == "people"
    assert lead_funnel.total == 4
    assert rows(lead_funnel)[:4] == [("awareness", 4, 3, 0.75), ("interest", 3, 1, 0.3333),
                                     ("consideration", 1, 1, 1.0), ("intent", 1, 0, 0.0)]
    assert lead_funnel.furthest_by_source == {"hubspot": 2, "salesforce": 2}
    assert (report.merge.people_mapping, report.merge.records, report.merge.people,
            report.merge.merged_records) == (True, 5, 4, 1)
    # per-CRM views still count records
    assert report.view("salesforce").lead_funnel.total == 3


def test_since_keeps_records_created_on_or_after():
    report = make_report(since=date(2026, 2, 1))
    sf = report.view("salesforce")
    assert report.since == "2026-02-01"
    assert sf.deal_funnel.total == 3  # S4, S5, S6
    assert sf.win_rate == WinRate(1, 2, 0.5)
    assert sf.lead_funnel.total == 0
    assert report.view("hubspot").deal_funnel.total == 2  # 9003, 9004


def test_json_round_trip(report):
    data = json.loads(report.to_json())
    assert data["views"][0]["deal_funnel"]["rows"][0] == {
        "stage": "consideration", "label": "Consideration", "reached": 6, "advanced": 4,
        "rate": 0.6667}
    assert data["merge"]["people_mapping"] is False


def test_stage_conversion_shape(report):
    assert report.view("combined").deal_funnel.rows[-1] == StageConversion(
        "purchase", "Purchase", 3, None, None)


def test_stats_helpers():
    assert quantile([], 0.5) is None
    assert quantile([4, 5, 10, 10, 15], 0.9) == 13.0
    low, high = wilson_interval(5, 10)
    assert (round(low, 4), round(high, 4)) == (0.2366, 0.7634)
    assert wilson_interval(0, 0) is None


class FakeStore:
    """The store methods the report glue reads (funnelsync.store.Store has them)."""

    def __init__(self, state=None):
        self.state = state or {}

    class Row:
        def __init__(self, model):
            self.model = model

        def to_model(self):
            return self.model

    def iter_records(self, source=None, kind=None, *, include_deleted=False):
        items = fx.deals() if kind == "deals" else fx.leads()
        return iter([self.Row(m) for m in items if m.source == source])

    def iter_stage_changes(self, source=None):
        return iter([c for c in fx.deal_changes() + fx.lead_changes() if c.source == source])

    def catalog(self, source=None):
        return [c for c in fx.catalog() if c.source == source]

    def get_state(self, key):
        return self.state.get(key)


def test_report_and_audit_from_a_store():
    from funnelsync.config.loading import parse_config
    from funnelsync.reports.source import audit_from_store, report_from_store

    cfg = parse_config('[salesforce]\nsession_id = "x"\ninstance_url = "http://127.0.0.1:9"\n'
                       '[hubspot]\naccess_token = "t"\n')
    report = report_from_store(FakeStore(), cfg, fx.NOW)
    assert report.view("combined").velocity == Velocity(4, 0.5, 1833.33, 30.0, 122.22)
    assert [f.stage for f in audit_from_store(FakeStore(), cfg, fx.NOW).findings] == [
        "decisionmakerboughtin", "qualifiedtobuy", "Id. Decision Makers",
        "Perception Analysis", "Value Proposition"]


def test_report_from_a_store_uses_the_stored_rates():
    from decimal import Decimal

    from funnelsync.config.loading import parse_config
    from funnelsync.reports.currency import Rates, rates_to_state
    from funnelsync.reports.source import report_from_store

    cfg = parse_config('[salesforce]\nsession_id = "x"\ninstance_url = "http://127.0.0.1:9"\n'
                       '[hubspot]\naccess_token = "t"\n')
    state = {"currency_rates:salesforce": rates_to_state(Rates("EUR", {"USD": Decimal(2)}))}
    report = report_from_store(FakeStore(state), cfg, fx.NOW)
    assert (report.currency, report.unconverted_deals) == ("EUR", 3)  # HubSpot: no rates
    assert report.view("combined").pipeline_total.amount == 1200.0  # (2000 + 400) / 2
