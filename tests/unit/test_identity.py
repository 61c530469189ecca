"""Identity linking (sync/identity.py), its views and overrides: literal cases."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

from funnelsync.config.identity import IdentityConfig
from funnelsync.config.loading import parse_config
from funnelsync.config.models import AppConfig
from funnelsync.config.overrides import parse_csv, parse_toml
from funnelsync.errors import ConfigError
from funnelsync.mapping.schema import FunnelLead
from funnelsync.reports.history import record_key as reports_record_key
from funnelsync.rules.linking import (
    IdentityRecord,
    Linker,
    Overrides,
    link_records,
    normalise_email,
    normalise_name,
    record_key,
)
from funnelsync.rules.people import (
    StagePositions,
    TimelineEntry,
    conflicts,
    furthest,
    merge_timeline,
    people_for_leads,
    summary,
)
from funnelsync.sync.identity.writeback import FurthestStagePlan

BOTH = '[salesforce]\nsession_id = "x"\ninstance_url = "http://127.0.0.1:9"\n' \
       '[hubspot]\naccess_token = "t"\n'


def sf(i: str, email: str | None, first: str = "", last: str = "", stage: str | None = None,
       **kw: object) -> IdentityRecord:
    return IdentityRecord("salesforce", "leads", i, email, first, last, stage, **kw)  # type: ignore[arg-type]


def hs(i: str, email: str | None, first: str = "", last: str = "", stage: str | None = None,
       **kw: object) -> IdentityRecord:
    return IdentityRecord("hubspot", "leads", i, email, first, last, stage, **kw)  # type: ignore[arg-type]


def groups(linking) -> list[list[str]]:  # type: ignore[no-untyped-def]
    return sorted(sorted(r.key for r in p.records) for p in linking.people())


def test_case_and_whitespace_differences_link() -> None:
    linking = link_records([sf("00Q1", "  Ana.Chen@Acme.Example "),
                            hs("51", "ana.chen@acme.example")], IdentityConfig())
    (person,) = list(linking.people())
    assert groups(linking) == [["hubspot:lead:51", "salesforce:lead:00Q1"]]
    assert (person.rule, person.confidence, person.linked) == ("email", 1.0, True)
    assert person.person_id == "p_" + hashlib.sha256(b"ana.chen@acme.example").hexdigest()[:16]
    assert [(x.a, x.b, x.rule, x.reason) for x in linking.links] == [
        ("salesforce:lead:00Q1", "hubspot:lead:51", "email", "same e-mail address")]


def test_different_people_at_one_shared_company_do_not_link() -> None:
    cfg = IdentityConfig(name_domain_rule=True)
    linking = link_records([sf("1", "ana@acme.com", "Ana", "Chen"),
                            hs("2", "ben@acme.com", "Ben", "Chen"),
                            hs("3", "info@acme.com", "Ana", "")], cfg)
    assert groups(linking) == [["hubspot:lead:2"], ["hubspot:lead:3"], ["salesforce:lead:1"]]
    assert summary(linking.people(), []) == {"people": 3, "linked": 0, "by_rule": {},
                                             "conflicts": 0}


def test_name_domain_rule_gives_its_confidence_and_reason() -> None:
    records = [sf("1", "a.chen@Acme.com", "José", "Chen"), hs("2", "ana@acme.com", "jose ", "CHEN")]
    assert groups(link_records(records, IdentityConfig())) == [["hubspot:lead:2"],
                                                                ["salesforce:lead:1"]]
    linking = link_records(records, IdentityConfig(name_domain_rule=True))
    (person,) = list(linking.people())
    assert (person.rule, person.confidence) == ("name_domain", 0.8)
    assert linking.links[0].reason == "same first and last name at company domain acme.com"
    custom = link_records(records, IdentityConfig(name_domain_rule=True,
                                                  name_domain_confidence=0.6))
    assert next(custom.people()).confidence == 0.6


def test_name_domain_rule_skips_free_mail_and_ambiguous_names() -> None:
    cfg = IdentityConfig(name_domain_rule=True)
    free = link_records([sf("1", "ana1@gmail.com", "Ana", "Chen"),
                         hs("2", "ana2@GMAIL.com", "Ana", "Chen")], cfg)
    assert len(list(free.people())) == 2
    twins = link_records([sf("1", "ana@acme.com", "Ana", "Chen"),
                          sf("2", "ana.c@acme.com", "Ana", "Chen"),
                          hs("3", "achen@acme.com", "Ana", "Chen")], cfg)
    assert len(list(twins.people())) == 3  # two Salesforce Ana Chens: which one? neither


def test_plus_addressing_is_folded_only_when_configured() -> None:
    records = [sf("1", "ana+news@acme.com"), hs("2", "ana@acme.com")]
    assert len(list(link_records(records, IdentityConfig()).people())) == 2
    folded = link_records(records, IdentityConfig(fold_plus_addressing=True))
    assert groups(folded) == [["hubspot:lead:2", "salesforce:lead:1"]]
    assert normalise_email(" A+b+c@X.io ", fold_plus=True) == "a@x.io"
    assert normalise_email("a+b@x.io") == "a+b@x.io"
    assert normalise_email("   ") is None
    assert normalise_name(" José-Luis ") == "joseluis"


def test_overrides_win_over_the_rules() -> None:
    records = [sf("1", "ana@acme.com"), hs("2", "ana@acme.com"), hs("3", "a.chen@other.io")]
    overrides = Overrides(link=(("salesforce:leads:1", "a.chen@other.io"),),
                          never_link=(("salesforce:lead:1", "hubspot:lead:2"),))
    linking = link_records(records, IdentityConfig(), overrides)
    assert groups(linking) == [["hubspot:lead:2"], ["hubspot:lead:3", "salesforce:lead:1"]]
    person = linking.person_with_email("A.Chen@other.io")
    assert person is not None and (person.rule, person.confidence) == ("override", 1.0)
    assert linking.blocked == 1
    unmatched = link_records(records, IdentityConfig(),
                             Overrides(link=(("nobody@x.io", "hubspot:lead:2"),)))
    assert unmatched.unmatched_overrides == ["nobody@x.io"]


def test_an_override_that_links_and_never_links_one_pair_is_a_config_error() -> None:
    overrides = Overrides(link=(("salesforce:lead:1", "hubspot:lead:2"),),
                          never_link=(("hubspot:lead:2", "salesforce:lead:1"),))
    with pytest.raises(ConfigError, match="both link and never-link"):
        link_records([sf("1", "a@x.io"), hs("2", "b@y.io")], IdentityConfig(), overrides)
    with pytest.raises(ConfigError, match="neither an e-mail nor a record key"):
        link_records([sf("1", "a@x.io")], IdentityConfig(), Overrides(link=(("x", "y"),)))


def test_overrides_files_in_toml_and_csv() -> None:
    toml = parse_toml('link = [["salesforce:lead:1", "b@y.io"]]\n'
                      'never-link = [[" a@x.io ", "hubspot:lead:9"]]\n')
    assert toml == Overrides((("salesforce:lead:1", "b@y.io"),), (("a@x.io", "hubspot:lead:9"),))
    csv = parse_csv("action,a,b\nlink,salesforce:lead:1,b@y.io\n# note\n"
                    "never-link, a@x.io ,hubspot:lead:9\n")
    assert csv == toml
    with pytest.raises(ConfigError, match="expected link"):
        parse_csv("merge,a,b\n")
    with pytest.raises(ConfigError, match="unknown key 'links'"):
        parse_toml('links = []')


def test_record_keys_match_the_reports() -> None:
    assert record_key("hubspot", "leads", "51") == reports_record_key("hubspot", "lead", "51")


def test_furthest_stage_and_stage_conflicts() -> None:
    config = parse_config(BOTH)
    linking = link_records([
        sf("1", "ana@acme.com", stage="lost"), hs("2", "ana@acme.com", stage="consideration"),
        sf("3", "ben@acme.com", stage="awareness"), hs("4", "ben@acme.com", stage="interest"),
        sf("5", "cy@acme.com", stage="lost"), hs("6", "cy@acme.com", stage="awareness")],
        IdentityConfig())
    people = {p.records[0].key: p for p in linking.people()}
    positions = StagePositions.of(config)
    top = furthest(people["salesforce:lead:1"], positions)
    assert (top.stage, top.source) == ("consideration", "hubspot")
    found = conflicts(linking.people(), config)
    assert [(c.kind, c.distance, c.values) for c in found] == [
        ("stage", 3, {"hubspot": ["consideration"], "salesforce": ["lost"]})]
    loose = parse_config(BOTH + "[identity]\nconflict_distance = 1\n")
    assert [c.distance for c in conflicts(linking.people(), loose)] == [3, 1, 1]


def test_owner_conflicts_compare_emails_then_names_when_configured() -> None:
    linking = link_records([
        sf("1", "ana@acme.com", owner_id="005A", owner_name="Dana Kim"),
        hs("2", "ana@acme.com", owner_id="77", owner_name="Marco Rossi"),
        sf("3", "ben@acme.com", owner_id="005A", owner_name="Dana Kim"),
        hs("4", "ben@acme.com", owner_id="78", owner_name="dana kim")], IdentityConfig())
    directory = {"salesforce": {"005A": "dana@corp.io"},
                 "hubspot": {"77": "marco@corp.io", "78": "Dana@corp.io"}}
    config = parse_config(BOTH)
    found = conflicts(linking.people(), config, directory)
    assert [(c.kind, c.values) for c in found] == [
        ("owner", {"hubspot": ["marco@corp.io"], "salesforce": ["dana@corp.io"]})]
    assert conflicts(linking.people(), config, {}) == []  # e-mails unknown: ids never compared
    by_name = parse_config(BOTH + '[identity]\nowner_conflicts = "name"\n')
    assert [c.values for c in conflicts(linking.people(), by_name, {})] == [
        {"hubspot": ["marco rossi"], "salesforce": ["dana kim"]}]
    off = parse_config(BOTH + '[identity]\nowner_conflicts = "off"\n')
    assert conflicts(linking.people(), off, directory) == []


def test_summary_counts_linked_people_by_their_weakest_rule() -> None:
    cfg = IdentityConfig(name_domain_rule=True)
    linking = link_records([
        sf("1", "ana@acme.com", "Ana", "Chen"), hs("2", "ANA@acme.com", "Ana", "Chen"),
        sf("3", "bo@acme.com", "Bo", "Li"), hs("4", "bo.li@acme.com", "Bo", "Li"),
        hs("5", "bo.li@acme.com", "Bo", "Li"), sf("6", "x@y.io"), sf("7", "X@y.io ")], cfg)
    assert summary(linking.people(), []) == {
        "people": 3, "linked": 2, "by_rule": {"email": 1, "name_domain": 1}, "conflicts": 0}
    assert linking.mapping()["salesforce:lead:7"] == linking.mapping()["salesforce:lead:6"]


def test_timeline_orders_by_instant_across_time_zones() -> None:
    berlin, new_york = timezone(timedelta(hours=2)), timezone(timedelta(hours=-5))
    entries = [
        TimelineEntry(datetime(2025, 3, 1, 9, 0, tzinfo=new_york), "hubspot", "51",
                      "lead", "marketingqualifiedlead", "interest"),  # 14:00 UTC
        TimelineEntry(datetime(2025, 3, 1, 15, 30, tzinfo=berlin), "salesforce", "00Q1",
                      "Open - Not Contacted", "Working - Contacted", "interest"),  # 13:30 UTC
        TimelineEntry(datetime(2025, 3, 1, 14, 5, tzinfo=UTC), "salesforce", "00Q1",
                      "Working - Contacted", "Closed - Converted", "consideration"),
    ]
    merged = merge_timeline(entries)
    assert [e.to_dict()["at"] for e in merged] == [
        "2025-03-01T13:30:00+00:00", "2025-03-01T14:00:00+00:00", "2025-03-01T14:05:00+00:00"]
    with pytest.raises(ValueError, match="naive"):
        merge_timeline([TimelineEntry(datetime(2025, 3, 1), "hubspot", "1", None, "lead", None)])


def test_furthest_stage_write_back_raises_never_lowers_and_keeps_lost() -> None:
    config = AppConfig()
    linking = link_records([
        sf("1", "ana@acme.com", stage="interest"), hs("2", "ana@acme.com", stage="intent"),
        sf("3", "ben@acme.com", stage="lost"), hs("4", "ben@acme.com", stage="intent")],
        IdentityConfig())
    plan = FurthestStagePlan.from_linking(linking, config)
    assert list(plan.targets) == [("salesforce", "1")]
    values, explain = {"stage": "interest", "score": 50}, {"stage": "status"}
    lead = FunnelLead(source="salesforce", source_id="1", email="ana@acme.com")
    plan.apply(lead, values, explain)
    assert values == {"stage": "intent", "score": 50}
    assert explain["stage"].endswith(": intent in hubspot")
    higher = {"stage": "decision"}
    plan.apply(lead, higher, {})
    assert higher == {"stage": "decision"}
    assert plan.visited == {("salesforce", "1")}


def test_the_overrides_file_is_read_with_the_config(tmp_path: Path) -> None:
    pairs = tmp_path / "pairs.toml"
    pairs.write_text('never-link = [["ana@acme.com", "ana.smith@acme.com"]]\n', encoding="utf-8")
    config = parse_config(f'[identity]\noverrides_file = "{pairs.as_posix()}"\n')
    assert config.identity.overrides == Overrides((), (("ana@acme.com", "ana.smith@acme.com"),))
    assert Linker(config.identity).overrides == config.identity.overrides


def test_a_missing_overrides_file_is_a_config_problem_named_at_its_section(tmp_path: Path) -> None:
    missing = tmp_path / "gone.csv"
    with pytest.raises(ConfigError) as info:
        parse_config(f'[identity]\noverrides_file = "{missing.as_posix()}"\n')
    assert info.value.problems == [
        f"identity: cannot read identity.overrides_file {missing.as_posix()}: No such file or "
        "directory (check the path in [identity] overrides_file)"]


def test_people_for_leads_is_none_when_linking_is_off() -> None:
    assert people_for_leads([], IdentityConfig(enabled=False)) is None
    assert people_for_leads([], IdentityConfig()) == {}
