"""Pull benchmark: API calls used versus the minimum, records/s, and peak memory.

    python benchmarks/pull.py [--deals 20000] [--leads 2000]
    python benchmarks/pull.py --memory        # peak RSS at 25k, 50k and 100k records

Both CRMs come from a sandbox in a subprocess. The minimum number of calls is what a perfect
client needs: one call per full page (Salesforce 2,000 rows, HubSpot 100 on lists, 200 on search)
plus the catalog and login/describe calls. Prints figures only; asserts nothing.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from benchsupport import pages, peak_rss_mb, sandbox_post, sandbox_stats, start_sandbox  # noqa: E402

from funnelsync.config.loading import load_config  # noqa: E402
from funnelsync.sync.job import SyncJob  # noqa: E402

SF_FIXED = 1 + 2 + 2  # login, describe Lead and Opportunity, OpportunityStage + LeadStatus
HS_FIXED = 1  # deal pipelines


def full_minimum(stats: dict, history_rows: int) -> dict[str, int]:
    sf, hs = stats["salesforce"], stats["hubspot"]
    sf_rows = [sf["counts"]["Lead"] + sf["deleted"]["Lead"],
               sf["counts"]["Opportunity"] + sf["deleted"]["Opportunity"], history_rows]
    hs_lists = [hs["counts"]["contacts"], hs["archived"]["contacts"], hs["counts"]["deals"],
                hs["archived"]["deals"]]
    return {"salesforce": SF_FIXED + sum(pages(n, 2000) for n in sf_rows),
            "hubspot": HS_FIXED + sum(max(1, pages(n, 100)) for n in hs_lists)}


def run_pull(config_path: Path, full: bool) -> tuple[dict, float]:
    config = load_config(config_path)
    start = time.perf_counter()
    result = SyncJob(config).pull(full=full)
    return result.to_json(), time.perf_counter() - start


def report(label: str, data: dict, seconds: float, minimum: dict[str, int]) -> None:
    records = sum(v for crm in data["pulled"].values() for v in crm.values())
    print(f"{label}: {records:,} records in {seconds:.1f}s = {records / seconds:,.0f} records/s")
    for crm, used in data["api_calls"].items():
        least = minimum[crm]
        print(f"  {crm}: {used} API calls, minimum {least} -> {used / least:.3f}x")


def benchmark_calls(leads: int, deals: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        proc, url, config = start_sandbox(leads, deals, Path(tmp))
        try:
            data, seconds = run_pull(config, full=True)
            history = data["pulled"]["salesforce"]["stage_changes"]
            report("full pull", data, seconds, full_minimum(sandbox_stats(url), history))
            touched = {}
            for crm, obj in (("salesforce", "Opportunity"), ("hubspot", "deals")):
                touched[crm] = len(sandbox_post(url, "/__sandbox/touch",
                                                {"crm": crm, "object": obj,
                                                 "count": 500})["ids"])
            data, seconds = run_pull(config, full=False)
            # Incremental minimum: one query per stream (+ history) for Salesforce; HubSpot
            # one search page per 200 changed deals, one for contacts, archived lists and
            # the pipeline catalog.
            sf_min = SF_FIXED + 1 + 1 + pages(touched["salesforce"], 2000)  # leads, history
            hs_arch = sandbox_stats(url)["hubspot"]["archived"]
            hs_min = (HS_FIXED + pages(touched["hubspot"], 200) + 1
                      + pages(hs_arch["contacts"], 100) + pages(hs_arch["deals"], 100))
            report("incremental pull after touching 500+500 deals", data, seconds,
                   {"salesforce": sf_min, "hubspot": hs_min})
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
            data, seconds = run_pull(config, full=True)
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
    parser.add_argument("--memory", action="store_true")
    args = parser.parse_args()
    if args.memory:
        benchmark_memory()
    else:
        benchmark_calls(args.leads, args.deals)


if __name__ == "__main__":
    main()
