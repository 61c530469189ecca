"""Pull benchmark: API calls used next to the floor, per CRM and per kind of call, in one run.

    python benchmarks/pull.py [--leads 4000] [--deals 3000] [--touch 500] [--archive 10]
    python benchmarks/pull.py --memory        # peak RSS at 25k, 50k and 100k records

Both CRMs come from a sandbox in a subprocess (real time). The defaults are the data set the
Singer tap-salesforce was measured on (4,000 leads, 3,000 opportunities, about 17,000
opportunity-history rows): 14 calls for a full load, 4 for an increment after 40 opportunities
changed. Every pull prints, per CRM, its calls by kind - login, folded (Salesforce: Composite
requests carrying the metadata that is due and each stream's first page, up to 25 subrequests
and 5 queries a call), metadata (describes, catalogs, owners, currency settings read apart),
pages (queries, searches, lists of records), looks (HubSpot: one search a stream for the newest
record and the count of live records), deletions (HubSpot's archived lists), writes (none in a
pull) - then the floor and the ratio to it:

* full load: Salesforce, the Singer tap's count (on the default data set) and the fewest calls
  a client that reads no metadata needs (login, one call per full page of 2,000 rows);
  HubSpot, the fewest calls (pipelines, one call per full list page of 100);
* increment with nothing changed: login + one call per stream;
* increment after N changes: login + per stream 1 + ceil(N / page) (Salesforce 2,000 rows,
  HubSpot search 200); Salesforce's history stream changes with the opportunities. Shown as
  "target", next to "fewest": login + per stream max(1, ceil(N / page)), what a client that
  knew in advance what changed would spend;
* metadata is 0 while the cache is fresh; the last pulls show it read again (a day later: the
  time-to-live passed; ``--refresh-metadata``) and HubSpot's weekly read of the archived lists.

Records received (everything the CRM sent, what the connector dropped included) are shown next
to records changed. A pull right after a change keeps a key whose time has not settled
(``sync.pull.SETTLE``) as a closed start; the pulls after changes therefore run with the job's
clock a minute ahead, as the next scheduled run would. Prints figures only; asserts nothing.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
import urllib.request
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

SF_FIXED = 1  # login; metadata folded into the composites that carry the first pages
HS_FIXED = 1  # deal pipelines
SINGER = {"full": 14, "after 40 opportunities": 4}  # tap-salesforce on 4,000/3,000/17,000
PAGE = {"salesforce": 2000, "hubspot": 200}  # rows per page of an incremental read
STREAMS = {"salesforce": ("leads", "deals", "history"), "hubspot": ("leads", "deals")}
LOGIN_KINDS = ("login", "auth")
WRITE_KINDS = ("composite", "batch_update", "tasks", "task_create")
CATEGORIES = ("login", "folded", "metadata", "pages", "looks", "deletions", "writes")
PAUSE = 1.5  # seconds between pulls: HubSpot's search limit (5 a second) spans runs
LATER = timedelta(minutes=1)  # the next scheduled run: keys have settled
TOUCHED = {"salesforce": {"leads": "Lead", "deals": "Opportunity"},
           "hubspot": {"leads": "contacts", "deals": "deals"}}


@dataclass
class StreamUse:
    """Calls (by kind) and records received while one stream or metadata read ran."""

    calls: Counter = field(default_factory=Counter)
    received: int = 0


class Metered:
    """A connector whose calls and received records are booked to the stream that spent them.
    HubSpot's look and archived lists are booked as ``look`` and ``deletions`` (only where the
    connector has them, so a Salesforce connector does not seem to)."""

    BOOKED = {"newest": "look", "iter_archived": "deletions"}

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.streams: dict[str, StreamUse] = {}

    def __getattr__(self, name: str) -> Any:
        found = getattr(self.inner, name)
        if name == "newest":
            return lambda kind: self._booked("look", found, kind)
        if name == "iter_archived":
            return lambda kind: self._booked_pages("deletions", found(kind))
        return found

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

    def _booked(self, stream: str, fn: Any, *args: Any) -> Any:
        with self._book(stream):
            return fn(*args)

    def _booked_pages(self, stream: str, pages_: Iterator) -> Iterator:
        with self._book(stream):
            yield from pages_

    def iter_pages(self, kind: str, since: Any = None, resume: str | None = None) -> Iterator:
        with self._book(kind):
            yield from self.inner.iter_pages(kind, since=since, resume=resume)

    def iter_stage_change_pages(self, since: Any = None, resume: str | None = None) -> Iterator:
        with self._book("history"):
            yield from self.inner.iter_stage_change_pages(since, resume)

    def prefetch(self, plan: Any) -> None:
        with self._book("folded"):
            self.inner.prefetch(plan)

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


def run_pull(config_path: Path, full: bool = False, ahead: timedelta = timedelta(0),
             refresh: bool = False) -> tuple[dict, float, dict[str, Metered]]:
    """One pull; ``ahead`` moves the job's clock (the metadata cache's time) forward."""
    config = load_config(config_path)
    metered: dict[str, Metered] = {}

    def factory(name: str, cfg: AppConfig) -> Any:
        metered[name] = Metered(default_connector(name, cfg))
        return metered[name]

    time.sleep(PAUSE)
    start = time.perf_counter()
    job = SyncJob(config, connector_factory=factory, clock=lambda: utc_now() + ahead,
                  refresh_metadata=refresh)
    result = job.pull(full=full)
    return result.to_json(), time.perf_counter() - start, metered


def categories(meter: Metered) -> Counter:
    """The pull's calls by kind of call (see the module docstring)."""
    by_kind = Counter(meter.inner.usage.by_kind)
    spent = Counter(login=sum(by_kind[k] for k in LOGIN_KINDS),
                    writes=sum(by_kind[k] for k in WRITE_KINDS))
    for stream, use in meter.streams.items():
        calls = sum(n for k, n in use.calls.items()
                    if k not in LOGIN_KINDS + WRITE_KINDS + ("describe",))
        if stream in ("leads", "deals", "history"):
            spent["pages"] += calls
        elif stream == "look":
            spent["looks"] += calls
        elif stream == "folded":
            spent["folded"] += calls
        elif stream == "deletions":
            spent["deletions"] += calls
    spent["metadata"] = sum(by_kind.values()) - sum(spent.values())
    return spent


def full_floors(stats: dict, history_rows: int, singer: bool) -> dict[str, list[tuple[str, int]]]:
    sf, hs = stats["salesforce"], stats["hubspot"]
    sf_rows = [sf["counts"]["Lead"] + sf["deleted"]["Lead"],
               sf["counts"]["Opportunity"] + sf["deleted"]["Opportunity"], history_rows]
    hs_lists = [hs["counts"]["contacts"], hs["archived"]["contacts"], hs["counts"]["deals"],
                hs["archived"]["deals"]]
    sf_floors = [("fewest", SF_FIXED + sum(pages(n, 2000) for n in sf_rows))]
    if singer:
        sf_floors.insert(0, ("Singer tap", SINGER["full"]))
    return {"salesforce": sf_floors,
            "hubspot": [("fewest", HS_FIXED + sum(max(1, pages(n, 100)) for n in hs_lists))]}


def increment_floor(crm: str, changed: dict[str, int], fewest: bool = False) -> int:
    """login + per stream 1 + ceil(N / page): the floor of an increment after N changes;
    ``fewest``: login + per stream max(1, ceil(N / page)), what a perfect client spends."""
    login = 1 if crm == "salesforce" else 0
    per_stream = [pages(changed.get(s, 0), PAGE[crm]) for s in STREAMS[crm]]
    return login + sum(max(1, n) if fewest else 1 + n for n in per_stream)


def metadata_kinds(meter: Metered) -> str:
    """The metadata calls by the connector's kind of call."""
    left = Counter(meter.inner.usage.by_kind)
    for stream in (*STREAMS["salesforce"], "look", "deletions", "folded"):
        use = meter.streams.get(stream)
        if use is not None:
            left -= Counter({k: n for k, n in use.calls.items() if k != "describe"})
    return ", ".join(f"{k} {n}" for k, n in sorted(left.items())
                     if k not in LOGIN_KINDS + WRITE_KINDS) or "-"


def report(label: str, data: dict, seconds: float, metered: dict[str, Metered],
           floors: dict[str, list[tuple[str, int]]], changed: dict[str, dict[str, int]]) -> None:
    records = sum(v for crm in data["pulled"].values() for v in crm.values())
    print(f"{label} ({seconds:.1f}s, {records:,} records stored"
          f"{f', {records / seconds:,.0f}/s' if records > 1000 else ''}):")
    for crm, meter in metered.items():
        usage = meter.inner.usage
        spent = categories(meter)
        ratios = "; ".join(f"{name} {floor} -> {usage.api_calls / floor:.2f}x"
                           for name, floor in floors[crm])
        kinds = ", ".join(f"{k} {spent[k]}" for k in CATEGORIES)
        deleted = sum(data["deleted"].get(crm, {}).values())
        print(f"  {crm:<10} {usage.api_calls:>3} calls ({kinds}); floor: {ratios}; records "
              f"received {usage.received:,} / changed {sum(changed[crm].values()):,}"
              f"{f', {deleted} deletions applied' if deleted else ''}")
        if spent["metadata"]:
            print(f"      metadata  {metadata_kinds(meter)}")
        for name in ("folded", *STREAMS[crm], "look", "deletions"):
            use = meter.streams.get(name)
            if use is not None and (use.calls or name in STREAMS[crm]):
                calls = ", ".join(f"{k} {n}" for k, n in sorted(use.calls.items())) or "-"
                print(f"      {name:<9} {calls:<22} received {use.received:>6,}")


def increment_floors(changed: dict[str, dict[str, int]], singer: int | None
                     ) -> dict[str, list[tuple[str, int]]]:
    floors = {crm: [("target", increment_floor(crm, changed[crm])),
                    ("fewest", increment_floor(crm, changed[crm], fewest=True))]
              for crm in STREAMS}
    if singer is not None:
        floors["salesforce"].append(("Singer tap", singer))
    return floors


def touch(url: str, kinds: dict[str, int]) -> dict[str, dict[str, int]]:
    """Touch ``kinds`` (leads/deals: how many) on each CRM; the records changed per stream."""
    changed: dict[str, dict[str, int]] = {}
    for crm, objects in TOUCHED.items():
        changed[crm] = {kind: len(sandbox_post(url, "/__sandbox/touch", {
            "crm": crm, "object": objects[kind], "count": n})["ids"])
            for kind, n in kinds.items()}
    # each touched opportunity gets one OpportunityHistory row (stage or amount change)
    changed["salesforce"]["history"] = changed["salesforce"].get("deals", 0)
    return changed


def archive_hubspot_deals(config_path: Path, count: int) -> dict[str, dict[str, int]]:
    """Archive ``count`` HubSpot deals through the API (list, then DELETE each), as a user
    would; the records changed (archived) per stream."""
    config = load_config(config_path)
    assert config.hubspot is not None and config.hubspot.access_token is not None
    host, token = config.hubspot.host, config.hubspot.access_token.get_secret_value()
    listed = _hubspot(host, token, f"/crm/v3/objects/deals?limit={count}", "GET")
    for deal in json.loads(listed)["results"]:
        _hubspot(host, token, f"/crm/v3/objects/deals/{deal['id']}", "DELETE")
    return {"salesforce": {}, "hubspot": {"deals": count}}


def _hubspot(host: str, token: str, path: str, method: str) -> bytes:
    request = urllib.request.Request(f"{host}{path}", method=method,
                                     headers={"Authorization": f"Bearer {token}"})
    with urllib.request.urlopen(request, timeout=60) as answer:
        return answer.read()  # type: ignore[no-any-return]


def benchmark_calls(leads: int, deals: int, touch_count: int, archive: int) -> None:
    singer = (leads, deals) == (4000, 3000)
    nothing: dict[str, dict[str, int]] = {crm: {} for crm in TOUCHED}
    with tempfile.TemporaryDirectory() as tmp:
        proc, url, config = start_sandbox(leads, deals, Path(tmp))
        try:
            data, seconds, metered = run_pull(config, full=True)
            history = data["pulled"]["salesforce"]["stage_changes"]
            report("full pull", data, seconds, metered,
                   full_floors(sandbox_stats(url), history, singer), nothing)
            for label in ("first incremental pull after the full pull",
                          "incremental pull, nothing changed"):
                data, seconds, metered = run_pull(config)
                report(label, data, seconds, metered, increment_floors(nothing, None), nothing)
            steps = [("40 opportunities (deals) changed on each CRM", {"deals": 40},
                      SINGER["after 40 opportunities"] if singer else None),
                     (f"{touch_count} leads and {touch_count} deals changed on each CRM",
                      {"leads": touch_count, "deals": touch_count}, None)]
            for label, kinds, tap in steps:
                changed = touch(url, kinds)
                data, seconds, metered = run_pull(config, ahead=LATER)
                report(f"incremental pull, {label}", data, seconds, metered,
                       increment_floors(changed, tap), changed)
            data, seconds, metered = run_pull(config, ahead=2 * LATER)
            report("the next incremental pull (nothing changed)", data, seconds, metered,
                   increment_floors(nothing, None), nothing)
            gone = archive_hubspot_deals(config, archive)
            data, seconds, metered = run_pull(config, ahead=3 * LATER)
            report(f"incremental pull, {archive} HubSpot deals archived (the archived list is "
                   "read: the live counts moved)", data, seconds, metered,
                   increment_floors(nothing, None), gone)
            for label, options in (
                    ("incremental pull a day later (metadata time-to-live passed)",
                     {"ahead": timedelta(hours=25)}),
                    ("incremental pull with --refresh-metadata", {"refresh": True,
                                                                  "ahead": 4 * LATER}),
                    ("incremental pull eight days later (HubSpot's weekly read of the archived "
                     "lists; metadata read again)", {"ahead": timedelta(days=8)})):
                data, seconds, metered = run_pull(config, **options)  # type: ignore[arg-type]
                report(label, data, seconds, metered, increment_floors(nothing, None), nothing)
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
    parser.add_argument("--deals", type=int, default=3_000)
    parser.add_argument("--leads", type=int, default=4_000)
    parser.add_argument("--touch", type=int, default=500,
                        help="leads and deals touched on each CRM before an increment")
    parser.add_argument("--archive", type=int, default=10,
                        help="HubSpot deals archived before an increment")
    parser.add_argument("--memory", action="store_true")
    args = parser.parse_args()
    if args.memory:
        benchmark_memory()
    else:
        benchmark_calls(args.leads, args.deals, args.touch, args.archive)


if __name__ == "__main__":
    main()
