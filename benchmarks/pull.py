"""Pull benchmark: API calls used versus the minimum, records/s, and peak memory.

    python benchmarks/pull.py [--deals 20000] [--leads 2000] [--touch 500]
    python benchmarks/pull.py --memory        # peak RSS at 25k, 50k and 100k records

Both CRMs come from a sandbox in a subprocess. The minimum number of calls is what a perfect
client needs: one call per full page (Salesforce 2,000 rows, HubSpot 100 on lists, 200 on search)
plus the catalog and login/describe calls.

Incremental pulls (nothing changed, then ``--touch`` leads and deals touched on each CRM) are
shown per stream and per kind of call next to their floor: login + for each stream
max(1, ceil(changed / page)) - one call when nothing changed. HubSpot's streams include its
deletion lists (search cannot see archived records: max(1, ceil(archived / 100)) each).
Catalog, describe and owner reads are metadata, shown next to the floor: 0 while the metadata
cache is fresh. Two more increments show what metadata costs when it is read again: one with
the job's clock a day ahead (the cache's time-to-live has passed: conditional describes, the
catalogs, owners changed since), one with ``--refresh-metadata``. Records received (everything
the CRM sent, what the connector dropped included) are shown next to records changed. Prints
figures only; asserts nothing.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(1, str(Path(__file__).resolve().parents[1]))  # the checkout's funnelsync

from benchsupport import pages, peak_rss_mb, sandbox_post, sandbox_stats, start_sandbox  # noqa: E402

from funnelsync.clock import utc_now  # noqa: E402
from funnelsync.config.loading import load_config  # noqa: E402
from funnelsync.config.models import AppConfig  # noqa: E402
from funnelsync.crm.source import default_connector  # noqa: E402
from funnelsync.sync.job import SyncJob  # noqa: E402

SF_FIXED = 1 + 2 + 2  # login, describe Lead and Opportunity, OpportunityStage + LeadStatus
HS_FIXED = 1  # deal pipelines
PAGE = {"salesforce": 2000, "hubspot": 200}  # rows per page of an incremental read
METADATA = ("catalog", "owners", "describes")
PAUSE = 1.5  # seconds between pulls: HubSpot's search limit (5 a second) spans runs
TOUCHED = {"salesforce": {"leads": "Lead", "deals": "Opportunity"},
           "hubspot": {"leads": "contacts", "deals": "deals"}}


def full_minimum(stats: dict, history_rows: int) -> dict[str, int]:
    sf, hs = stats["salesforce"], stats["hubspot"]
    sf_rows = [sf["counts"]["Lead"] + sf["deleted"]["Lead"],
               sf["counts"]["Opportunity"] + sf["deleted"]["Opportunity"], history_rows]
    hs_lists = [hs["counts"]["contacts"], hs["archived"]["contacts"], hs["counts"]["deals"],
                hs["archived"]["deals"]]
    return {"salesforce": SF_FIXED + sum(pages(n, 2000) for n in sf_rows),
            "hubspot": HS_FIXED + sum(max(1, pages(n, 100)) for n in hs_lists)}


@dataclass
class StreamUse:
    """Calls (by kind) and records received while one stream or metadata read ran."""

    calls: Counter = field(default_factory=Counter)
    received: int = 0


class Metered:
    """A connector whose calls and received records are booked to the stream that spent them."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.streams: dict[str, StreamUse] = {}

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    @contextmanager
    def _book(self, stream: str) -> Iterator[None]:
        usage = self.inner.usage
        calls, received = Counter(usage.by_kind), usage.received
        try:
            yield
        finally:
            use = self.streams.setdefault(stream, StreamUse())
            use.calls.update(Counter(usage.by_kind) - calls)
            use.received += usage.received - received

    def iter_pages(self, kind: str, since: Any = None, resume: str | None = None) -> Iterator:
        with self._book(kind):
            yield from self.inner.iter_pages(kind, since=since, resume=resume)

    def iter_stage_change_pages(self, since: Any = None, resume: str | None = None) -> Iterator:
        with self._book("history"):
            yield from self.inner.iter_stage_change_pages(since, resume)

    def stage_catalog(self) -> list:
        with self._book("catalog"):
            return self.inner.stage_catalog()

    def describe_changed(self, sobject: str, since: Any) -> Any:
        with self._book("describes"):
            return self.inner.describe_changed(sobject, since)

    def users(self, since: Any = None) -> list:
        with self._book("owners"):
            return self.inner.users(since)

    def owners(self) -> list:
        with self._book("owners"):
            return self.inner.owners()


def run_pull(config_path: Path, full: bool, ahead: timedelta = timedelta(0),
             refresh: bool = False) -> tuple[dict, float, dict[str, Metered]]:
    """One pull; ``ahead`` moves the job's clock (the metadata cache's time) forward."""
    config = load_config(config_path)
    metered: dict[str, Metered] = {}

    def factory(name: str, cfg: AppConfig) -> Any:
        metered[name] = Metered(default_connector(name, cfg))
        return metered[name]

    start = time.perf_counter()
    job = SyncJob(config, connector_factory=factory, clock=lambda: utc_now() + ahead,
                  refresh_metadata=refresh)
    result = job.pull(full=full)
    return result.to_json(), time.perf_counter() - start, metered


def report(label: str, data: dict, seconds: float, minimum: dict[str, int]) -> None:
    records = sum(v for crm in data["pulled"].values() for v in crm.values())
    print(f"{label}: {records:,} records in {seconds:.1f}s = {records / seconds:,.0f} records/s")
    for crm, used in data["api_calls"].items():
        least = minimum[crm]
        print(f"  {crm}: {used} API calls, minimum {least} -> {used / least:.3f}x")


def stream_floor(crm: str, stream: str, changed: dict[str, int], archived: dict) -> int:
    """The fewest calls a perfect client spends on one stream of an increment."""
    calls = max(1, pages(changed.get(stream, 0), PAGE[crm]))
    if crm == "hubspot":  # the deletion list read with the stream
        calls += max(1, pages(archived[TOUCHED[crm][stream]], 100))
    return calls


def report_increment(label: str, seconds: float, metered: dict[str, Metered],
                     changed: dict[str, dict[str, int]], archived: dict) -> None:
    print(f"{label} ({seconds:.1f}s):")
    for crm, meter in metered.items():
        usage = meter.inner.usage
        streams = {k: v for k, v in meter.streams.items() if k not in METADATA}
        floors = {s: stream_floor(crm, s, changed[crm], archived) for s in streams}
        logins = usage.by_kind.get("login", 0)
        spent = logins + sum(_data_calls(u) for u in streams.values())
        floor = min(logins, 1) + sum(floors.values())
        metadata = usage.api_calls - spent
        deletions = archived["contacts"] + archived["deals"] if crm == "hubspot" else 0
        print(f"  {crm}: {usage.api_calls} API calls ({usage.retries} retries): login and "
              f"streams {spent}, floor {floor} -> {spent / floor:.2f}x; metadata {metadata} "
              f"(0 with a fresh cache); records received {usage.received:,} (deletion lists "
              f"{deletions}) / changed {sum(changed[crm].values()):,}")
        for name, use in streams.items():
            print(f"    {name:<8} {_kinds(use, METADATA_KINDS, exclude=True):<20} floor "
                  f"{floors[name]:>3}   received {use.received:>6,} / changed "
                  f"{changed[crm].get(name, 0):>6,}")
        print(f"    metadata {_metadata(meter, streams) or '-'}")


METADATA_KINDS = ("describe", "login")


def _metadata(meter: Metered, streams: dict[str, StreamUse]) -> str:
    """Describe, catalog and owner calls, by what was read and the kind of call."""
    spent = Counter({"describe": sum(u.calls.get("describe", 0) for u in streams.values())})
    for name in METADATA:
        for kind, n in meter.streams.get(name, StreamUse()).calls.items():
            if kind != "login":
                spent[f"{name} {kind}"] += n
    return ", ".join(f"{k} {n}" for k, n in spent.items() if n)


def _data_calls(use: StreamUse) -> int:
    return sum(n for kind, n in use.calls.items() if kind not in METADATA_KINDS)


def _kinds(use: StreamUse, kinds: tuple[str, ...], exclude: bool) -> str:
    return ", ".join(f"{k} {n}" for k, n in sorted(use.calls.items())
                     if (k in kinds) != exclude) or "-"


def touch_both(url: str, count: int) -> dict[str, dict[str, int]]:
    """Touch ``count`` leads and deals on each CRM; the records that changed per stream."""
    changed: dict[str, dict[str, int]] = {}
    for crm, objects in TOUCHED.items():
        changed[crm] = {kind: len(sandbox_post(url, "/__sandbox/touch", {
            "crm": crm, "object": obj, "count": count})["ids"]) for kind, obj in objects.items()}
    # each touched opportunity gets one OpportunityHistory row (stage or amount change)
    changed["salesforce"]["history"] = changed["salesforce"]["deals"]
    return changed


def benchmark_calls(leads: int, deals: int, touch: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        proc, url, config = start_sandbox(leads, deals, Path(tmp))
        try:
            data, seconds, _ = run_pull(config, full=True)
            history = data["pulled"]["salesforce"]["stage_changes"]
            report("full pull", data, seconds, full_minimum(sandbox_stats(url), history))
            archived = sandbox_stats(url)["hubspot"]["archived"]
            nothing = {crm: {} for crm in TOUCHED}
            for label in ("first incremental pull after the full pull",
                          "incremental pull, nothing changed"):
                time.sleep(PAUSE)
                _, seconds, metered = run_pull(config, full=False)
                report_increment(label, seconds, metered, nothing, archived)
            changed = touch_both(url, touch)
            time.sleep(PAUSE)
            _, seconds, metered = run_pull(config, full=False)
            report_increment(f"incremental pull after touching {touch} leads and {touch} "
                             "deals on each CRM", seconds, metered, changed, archived)
            time.sleep(PAUSE)
            _, seconds, metered = run_pull(config, full=False)
            report_increment("the next incremental pull (nothing changed)", seconds, metered,
                             nothing, archived)
            for label, options in (
                    ("incremental pull a day later (metadata time-to-live passed)",
                     {"ahead": timedelta(hours=25)}),
                    ("incremental pull with --refresh-metadata", {"refresh": True})):
                time.sleep(PAUSE)
                _, seconds, metered = run_pull(config, False, **options)  # type: ignore[arg-type]
                report_increment(label, seconds, metered, nothing, archived)
        finally:
            proc.terminate()
            proc.wait(timeout=30)


def benchmark_memory() -> None:
    for leads, deals in ((10_000, 2_500), (20_000, 5_000), (40_000, 10_000)):
        code = ("import sys; sys.path.insert(0, 'benchmarks'); import pull; "
                f"pull.memory_child({leads}, {deals})")
        subprocess.run([sys.executable, "-c", code], check=True)


def memory_child(leads: int, deals: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        proc, _url, config = start_sandbox(leads, deals, Path(tmp))
        try:
            before = peak_rss_mb()
            data, seconds, _ = run_pull(config, full=True)
            records = sum(v for crm in data["pulled"].values() for v in crm.values())
            print(f"{records:>7,} records pulled in {seconds:.1f}s: peak RSS "
                  f"{peak_rss_mb():.0f} MB (after imports {before:.0f} MB)")
        finally:
            proc.terminate()
            proc.wait(timeout=30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--deals", type=int, default=20_000)
    parser.add_argument("--leads", type=int, default=2_000)
    parser.add_argument("--touch", type=int, default=500,
                        help="leads and deals touched on each CRM before an increment")
    parser.add_argument("--memory", action="store_true")
    args = parser.parse_args()
    if args.memory:
        benchmark_memory()
    else:
        benchmark_calls(args.leads, args.deals, args.touch)


if __name__ == "__main__":
    main()
