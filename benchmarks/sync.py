"""Sync benchmark on a sandbox: writes versus differing records, a no-change re-run, API calls
versus the minimum, normalise+score throughput on one core, and peak memory.

    python benchmarks/sync.py [--deals 20000] [--leads 2000]

Prints figures only; asserts nothing.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from benchsupport import pages, peak_rss_mb, sandbox_stats, start_sandbox  # noqa: E402

from funnelsync.config.loading import load_config
from funnelsync.config.models import AppConfig  # noqa: E402
from funnelsync.crm.source import default_connector  # noqa: E402
from funnelsync.mapping import hubspot as hs_map  # noqa: E402
from funnelsync.mapping import salesforce as sf_map  # noqa: E402
from funnelsync.mapping.funnel import StageMaps  # noqa: E402
from funnelsync.mapping.schema import FunnelLead  # noqa: E402
from funnelsync.sync.evaluate import Evaluator  # noqa: E402
from funnelsync.sync.job import SyncJob  # noqa: E402


def written(url: str) -> tuple[int, int]:
    stats = sandbox_stats(url)
    return (stats["salesforce"]["records_written"] + stats["hubspot"]["records_written"],
            stats["salesforce"]["tasks_created"] + stats["hubspot"]["tasks_created"])


def throughput(config: AppConfig) -> None:
    """Map raw CRM pages and score/stage them, timed on one core (the pull excluded)."""
    maps, wb = StageMaps(config), config.writeback
    raw_leads = list(default_connector("salesforce", config).iter_records("leads"))
    raw_contacts = list(default_connector("hubspot", config).iter_records("leads"))
    raw_deals = list(default_connector("hubspot", config).iter_records("deals"))
    evaluator = Evaluator(config, datetime.now(UTC))
    start = time.perf_counter()
    count = 0
    for _ in range(3):
        for raw in raw_leads:
            lead = sf_map.map_lead(raw, maps, wb).record
            evaluator.desired(lead)
            count += 1
        for raw in raw_contacts:
            lead = hs_map.map_contact(raw, maps, wb).record
            evaluator.desired(lead)
            count += 1
        for raw in raw_deals:
            deal = hs_map.map_deal(raw, maps, None, wb).record
            evaluator.desired(deal)
            count += 1
    seconds = time.perf_counter() - start
    print(f"normalise + score/stage: {count:,} records in {seconds:.2f}s = "
          f"{count / seconds:,.0f} records/s (one core)")
    start = time.perf_counter()
    leads = [sf_map.map_lead(raw, maps, wb).record for raw in raw_leads] * 5
    for lead in leads:
        assert isinstance(lead, FunnelLead)
        evaluator.desired(lead)
    seconds = time.perf_counter() - start
    print(f"score + stage only (leads): {len(leads) / seconds:,.0f} records/s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--deals", type=int, default=20_000)
    parser.add_argument("--leads", type=int, default=2_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        proc, url, config_path = start_sandbox(args.leads, args.deals, Path(tmp))
        try:
            config = load_config(config_path)
            dry = SyncJob(config).run(dry_run=True)
            differing, planned_tasks = len(dry.planned_changes), len(dry.planned_tasks)
            start = time.perf_counter()
            first = SyncJob(config).run()
            seconds = time.perf_counter() - start
            writes, tasks = written(url)
            print(f"first run: {seconds:.1f}s; records whose values differ (dry run): "
                  f"{differing:,}; written: {first.records_written:,} (CRM counted {writes:,}); "
                  f"tasks planned {planned_tasks:,}, created {first.tasks_created:,} "
                  f"(CRM counted {tasks:,}); errors {len(first.errors)}")
            for crm, batch in (("salesforce", 200), ("hubspot", 100)):
                writes_n = sum(1 for c in dry.planned_changes if c["source"] == crm)
                tasks_n = sum(1 for t in dry.planned_tasks if t["source"] == crm)
                pulled = first.api_calls[crm]
                print(f"  {crm}: {pulled} API calls in all; {writes_n:,} writes and "
                      f"{tasks_n:,} tasks need at least {pages(writes_n, batch)} + "
                      f"{pages(tasks_n, batch)} calls; the rest is the pull")
            again = SyncJob(config).run()
            after = written(url)
            print(f"no-change re-run: wrote {again.records_written} records, created "
                  f"{again.tasks_created} tasks (CRM counters moved by "
                  f"{after[0] - writes} writes, {after[1] - tasks} tasks); "
                  f"API calls {again.api_calls}")
            throughput(config)
            print(f"peak RSS of this process: {peak_rss_mb():.0f} MB")
        finally:
            proc.terminate()
            proc.wait(timeout=30)


if __name__ == "__main__":
    main()
