"""A normalised record's output line is what pydantic's serialiser writes for it, byte for
byte, whichever serialiser wrote it: for the sandbox's records and for edge values."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from support.clock import SANDBOX_START

from funnelsync.config.models import WritebackConfig
from funnelsync.errors import DataError
from funnelsync.mapping import hubspot as hs
from funnelsync.mapping import salesforce as sf
from funnelsync.mapping.funnel import StageMaps
from funnelsync.mapping.normalize import record_json, record_line
from funnelsync.mapping.schema import FunnelDeal, FunnelLead
from funnelsync.sandbox.data import generate

PROFILE = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _pydantic_line(record: FunnelLead | FunnelDeal) -> bytes:
    return (record.model_dump_json() + "\n").encode("utf-8")


def test_a_deal_line_literally() -> None:
    deal = FunnelDeal(source="salesforce", source_id="006A", name="Müller \"GmbH\"\n",
                      amount=Decimal("48000.50"), probability=12.5,
                      close_date=date(2026, 12, 15),
                      created_at=datetime(2026, 9, 2, 14, 5, 11, 250000, tzinfo=UTC),
                      updated_at=datetime(2026, 11, 20, 8, tzinfo=UTC),
                      extra={"live": {"stage": None, "score": 40.0}, "n": [1, "二"]})
    assert record_line(deal) == (
        '{"source":"salesforce","source_id":"006A","name":"Müller \\"GmbH\\"\\n",'
        '"amount":"48000.50","currency":null,"home_amount":null,"pipeline":null,"stage":null,'
        '"stage_label":null,"funnel_stage":null,"probability":12.5,"is_closed":false,'
        '"is_won":false,"close_date":"2026-12-15","owner_id":null,"owner_name":null,'
        '"account_id":null,"account_name":null,"created_at":"2026-09-02T14:05:11.250000Z",'
        '"updated_at":"2026-11-20T08:00:00Z","last_activity_at":null,"stage_entered_at":null,'
        '"is_deleted":false,"extra":{"live":{"stage":null,"score":40.0},"n":[1,"二"]}}\n'
    ).encode()
    assert record_line(deal) == _pydantic_line(deal)
    assert record_json(deal) + "\n" == record_line(deal).decode("utf-8")


def test_every_sandbox_record_writes_as_pydantic_does() -> None:
    ds = generate(11, 300, 600, int(SANDBOX_START * 1000))
    maps, wb = StageMaps(), WritebackConfig()
    records = [sf.map_opportunity(row, maps, wb).record
               for row in ds.sf["Opportunity"].values()]
    records += [sf.map_lead(row, maps, wb).record for row in ds.sf["Lead"].values()]
    records += [hs.map_deal(row, maps, None, wb).record for row in ds.hs["deals"].values()]
    records += [hs.map_contact(row, maps, wb).record for row in ds.hs["contacts"].values()]
    assert len(records) == 600 + 300 + len(ds.hs["deals"]) + len(ds.hs["contacts"])
    assert [record_line(r) for r in records] == [_pydantic_line(r) for r in records]


# Whole minutes: an offset with seconds (local mean time before 1900) is one both serialisers
# cut to minutes, each its own way; the mappers turn every time into UTC.
OFFSETS = st.builds(lambda minutes: timezone(timedelta(minutes=minutes)),
                    st.integers(min_value=-(24 * 60 - 1), max_value=24 * 60 - 1))
TIMES = st.one_of(st.none(), st.datetimes(timezones=st.just(UTC)),
                  st.datetimes(timezones=OFFSETS), st.datetimes())
DECIMALS = st.one_of(st.none(), st.decimals(), st.decimals(places=2),
                     st.sampled_from([Decimal("1E+3"), Decimal("-0"), Decimal("0.000001"),
                                      Decimal("123.4500"), Decimal("9999999999999999.99")]))
FLOATS = st.one_of(st.none(), st.floats(), st.sampled_from([0.0, -0.0, 1e16, 1e-7, 5e-324, 0.1]))
TEXT = st.one_of(st.none(), st.text(), st.sampled_from(["\x00\x1f\x7f\u2028\ufeff", "名前 🚀",
                                                        "\"\\/<>&"]))
SCALARS = st.one_of(TEXT, FLOATS, DECIMALS, TIMES, st.dates(), st.booleans(),
                    st.integers(min_value=-2**63, max_value=2**64 - 1),
                    st.integers())  # beyond 64 bits: pydantic writes the line
EXTRA = st.recursive(SCALARS, lambda inner: st.one_of(
    st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=5), inner, max_size=3),
    st.dictionaries(st.integers(), inner, min_size=1, max_size=2)), max_leaves=8)


@PROFILE
@given(name=TEXT, amount=DECIMALS, probability=FLOATS, created=TIMES, updated=TIMES,
       close=st.one_of(st.none(), st.dates()), extra=st.dictionaries(st.text(), EXTRA))
def test_edge_deal_values_write_as_pydantic_does(name: str | None, amount: Decimal | None,
                                                 probability: float | None,
                                                 created: datetime | None,
                                                 updated: datetime | None, close: date | None,
                                                 extra: dict[str, Any]) -> None:
    # Built without validation: the serialisers must agree on any value, not only valid ones.
    deal = FunnelDeal.model_construct(
        source="hubspot", source_id="9001", name=name, amount=amount, home_amount=amount,
        probability=probability, created_at=created, updated_at=updated, close_date=close,
        extra=extra)
    assert record_line(deal) == _pydantic_line(deal)


@PROFILE
@given(email=TEXT, employees=st.one_of(st.none(), st.integers()), active=TIMES,
       extra=st.dictionaries(st.text(max_size=8), EXTRA, max_size=4))
def test_edge_lead_values_write_as_pydantic_does(email: str | None, employees: int | None,
                                                 active: datetime | None,
                                                 extra: dict[str, Any]) -> None:
    lead = FunnelLead.model_construct(source="salesforce", source_id="00QA", email=email,
                                      employees=employees, last_activity_at=active,
                                      extra=extra)
    assert record_line(lead) == _pydantic_line(lead)


@pytest.mark.parametrize("extra", [
    {"big": 2**64}, {"keys": {1: "one"}}, {"nested": [{"big": -2**70}]},
])
def test_values_orjson_refuses_are_written_by_pydantic(extra: dict[str, Any]) -> None:
    lead = FunnelLead(source="salesforce", source_id="00QA", extra=extra)
    assert json.loads(record_line(lead))["extra"] == json.loads(json.dumps(extra))
    assert record_line(lead) == _pydantic_line(lead)


def test_text_that_is_not_unicode_is_a_data_error_naming_the_field() -> None:
    lead = FunnelLead(source="hubspot", source_id="501", extra={"notes": ["ok", "\udc80"]})
    with pytest.raises(DataError) as caught:
        record_line(lead)
    assert (caught.value.record_id, caught.value.field) == ("501", "extra")
