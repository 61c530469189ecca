"""The calibrated win probability written back to a deal field (opt-in), through the normal
diff-and-push: the first sync writes one value per open deal, a sync with nothing changed
writes none, and a field the CRM does not have is a clear error."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from click.testing import CliRunner
from support.clock import SANDBOX_START, FakeClock
from syncsupport import config_text, no_wait_factory, sandbox_config, written

from funnelsync.cli.main import main
from funnelsync.config.models import AppConfig
from funnelsync.sandbox import Sandbox
from funnelsync.store import Store
from funnelsync.sync.job import RunResult, SyncJob

SIZE = {"seed": 7, "leads": 0, "deals": 300}
PROBABILITY = """
[writeback.salesforce]
probability_field = "{sf}"

[writeback.hubspot]
probability_property = "{hs}"
"""


def sync(config: AppConfig, clock: FakeClock, *, everything: bool = False) -> RunResult:
    return SyncJob(config, connector_factory=no_wait_factory(clock), reevaluate_all=everything,
                   clock=lambda: datetime.fromtimestamp(clock(), UTC)).run()


def probability_values(config: AppConfig) -> dict[str, list[object]]:
    """The win probabilities the CRMs hold, per CRM, as their APIs return them."""
    factory = no_wait_factory()
    sf = [row.get("Win_Probability__c")
          for row in factory("salesforce", config).iter_records("deals")]  # type: ignore[arg-type]
    hs = [(row.get("properties") or {}).get("funnel_win_probability")
          for row in factory("hubspot", config).iter_records("deals")]  # type: ignore[arg-type]
    return {"salesforce": [v for v in sf if v is not None],
            "hubspot": [v for v in hs if v is not None]}


def open_deals(config: AppConfig) -> int:
    with Store.open(config.state.url) as store:
        return sum(1 for source in ("salesforce", "hubspot")
                   for r in store.iter_records(source, "deals")
                   if not r.is_deleted and not r.to_model().is_closed)


def test_first_sync_writes_each_open_deal_then_nothing(tmp_path: Path) -> None:
    clock = FakeClock(SANDBOX_START)
    with Sandbox(**SIZE, clock=clock) as sb:
        url = f"sqlite:///{(tmp_path / 'state.db').as_posix()}"
        config = sandbox_config(sb, url, PROBABILITY.format(sf="Win_Probability__c",
                                                            hs="funnel_win_probability"))
        assert sync(sandbox_config(sb, url), clock).errors == []
        assert probability_values(config) == {"salesforce": [], "hubspot": []}  # off by default
        before = written(sb)

        first = sync(config, clock, everything=True)
        assert first.errors == []
        values = probability_values(config)
        assert (len(values["salesforce"]), len(values["hubspot"])) == (176, 138)
        # The other open deals sit in the custom HubSpot pipeline, whose stages this config
        # leaves unmapped: the forecast does not cover them, so nothing is written for them.
        assert open_deals(config) == 356
        assert first.records_written == written(sb) - before == 314
        # Whole percent: a Salesforce Percent field returns a number, HubSpot a string.
        assert {type(v) for v in values["salesforce"]} == {float}
        assert all(v == round(v) and 0 <= v <= 100 for v in values["salesforce"])
        assert all(v.isdigit() for v in values["hubspot"])  # type: ignore[union-attr]

        clock.tick(3600)  # an hour later every deal is an hour older: the estimate barely moves
        again = sync(config, clock, everything=True)
        assert (again.errors, again.changes, again.records_written) == ([], 0, 0)


def test_a_field_the_crm_lacks_is_a_clear_error(tmp_path: Path) -> None:
    clock = FakeClock(SANDBOX_START)
    with Sandbox(**SIZE, clock=clock) as sb:
        extra = PROBABILITY.format(sf="Win_Prob__c", hs="")
        url = f"sqlite:///{(tmp_path / 'state.db').as_posix()}"
        result = sync(sandbox_config(sb, url, extra), clock)
        path = tmp_path / "funnelsync.toml"
        path.write_text(config_text(sb, url, extra))
        doctor = CliRunner().invoke(main, ["doctor", "-c", str(path)])
    # Every open deal's write is refused with the CRM's own words; the run is a partial failure.
    assert {(e["code"], e["message"]) for e in result.errors} == {
        ("INVALID_FIELD", "No such column 'Win_Prob__c' on sobject of type Opportunity")}
    assert (len(result.errors), result.exit_code) == (176, 1)
    assert doctor.exit_code == 1
    assert ("FAIL  salesforce write-back field     Opportunity.Win_Prob__c does not exist\n"
            "                 → Setup → Object Manager → Opportunity → Fields & Relationships → "
            "New → Percent, Length 3, Decimal Places 0 → Field Label \"Win Prob\"") \
        in doctor.stdout
