"""The hot path's three targets, each printed next to its figure as a ratio, in one run.

1. ``funnelsync normalize`` over N Salesforce opportunities (JSON lines, the sandbox's data as
   the REST API returns it) against the floor, a plain ``json.loads`` + ``json.dumps`` loop over
   the same lines: both in this process, alternated, best of ``--rounds``, CPU time (the
   machine may be shared; wall time is printed too). Target: at most 2x. Memory: the command's
   peak RSS in a fresh process over a tenth of the lines and over all of them (flat: equal).
2. Normalise + score + stage: Salesforce leads and opportunities, HubSpot contacts and deals,
   each mapped from its raw form by the mappers a sync binds once per run (HubSpot deals with
   the pipelines catalog) and given its desired stage (and score, for leads), on one core.
   Target: at least 50,000 records/s.
3. Identity: linking M synthetic leads/contacts (``benchmarks/identity.py``'s records) and
   building every person and the summary. Time in one fresh process (records made before the
   clock starts); peak RSS in another that streams the records into the linker as the sync
   does from the store (so the input list is not counted). Target: at most 3 s and 400 MB.

    python benchmarks/hotpath.py [--deals 100000] [--people 1000000] [--rounds 3]

Prints figures only; asserts nothing.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE.parent), str(HERE)]  # this checkout's funnelsync, then identity.py

from funnelsync.config.loading import load_config  # noqa: E402
from funnelsync.config.models import AppConfig  # noqa: E402
from funnelsync.crm import crm_spec  # noqa: E402
from funnelsync.mapping.funnel import StageMaps  # noqa: E402
from funnelsync.mapping.hubspot.catalog import HubSpotCatalog  # noqa: E402
from funnelsync.sandbox.control import config_toml  # noqa: E402
from funnelsync.sandbox.data import Dataset, generate  # noqa: E402
from funnelsync.sandbox.hubspot.schema import pipelines_json  # noqa: E402
from funnelsync.sync.evaluate import Evaluator  # noqa: E402

NOW_MS = 1_780_000_000_000  # a fixed anchor day: the same data on every run
NORMALIZE_TARGET, RECORDS_TARGET = 2.0, 50_000
IDENTITY_SECONDS, IDENTITY_MB = 3.0, 400


# -- data -------------------------------------------------------------------------------------
def _attributes(sobject: str, row_id: str) -> dict[str, str]:
    return {"type": sobject, "url": f"/services/data/v59.0/sobjects/{sobject}/{row_id}"}


def _related(ds: Dataset, sobject: str, row_id: str | None) -> dict[str, Any] | None:
    row = ds.sf[sobject].get(row_id or "")
    return None if row is None else {"attributes": _attributes(sobject, row_id or ""),
                                     "Name": row["Name"]}


def sf_opportunities(ds: Dataset) -> Iterator[dict[str, Any]]:
    """Opportunity rows as a query with Owner.Name and Account.Name returns them."""
    for row in ds.sf["Opportunity"].values():
        yield {"attributes": _attributes("Opportunity", row["Id"]), **row,
               "Owner": _related(ds, "User", row["OwnerId"]),
               "Account": _related(ds, "Account", row["AccountId"])}


def sf_leads(ds: Dataset) -> Iterator[dict[str, Any]]:
    for row in ds.sf["Lead"].values():
        owner = _related(ds, "User", row["OwnerId"]) or _related(ds, "Group", row["OwnerId"])
        yield {"attributes": _attributes("Lead", row["Id"]), **row, "Owner": owner}


def hs_objects(ds: Dataset, kind: str) -> Iterator[dict[str, Any]]:
    """v3 objects as the list endpoints return them (the sandbox's bookkeeping left out)."""
    for record in ds.hs[kind].values():
        yield {k: v for k, v in record.items() if k != "tb"}


def sandbox_config(workdir: Path) -> AppConfig:
    """The config `funnelsync sandbox --config-out` writes (its stage maps and write-back)."""
    path = workdir / "funnelsync.toml"
    path.write_text(config_toml("http://127.0.0.1:9", path), encoding="utf-8")
    return load_config(path)


# -- measuring --------------------------------------------------------------------------------
def best_of(rounds: int, *passes: Callable[[], object]) -> list[tuple[float, float]]:
    """(CPU s, wall s) of each pass, the best of ``rounds``, the passes alternated."""
    best = [(float("inf"), float("inf"))] * len(passes)
    for _ in range(rounds):
        for i, run in enumerate(passes):
            cpu, wall = time.process_time(), time.perf_counter()
            run()
            took = (time.process_time() - cpu, time.perf_counter() - wall)
            best[i] = (min(best[i][0], took[0]), min(best[i][1], took[1]))
    return best


# Runs a module as ``python -m`` would, then prints the process's own peak RSS (VmHWM: counted
# from the exec, unlike ru_maxrss, which keeps the forking parent's peak) as the last line.
PEAK_WRAPPER = """
import runpy, sys
sys.argv = sys.argv[1:]
try:
    runpy.run_module(sys.argv[0], run_name="__main__", alter_sys=True)
except SystemExit:
    pass
finally:
    sys.stdout.flush()
    peak = [l for l in open("/proc/self/status") if l.startswith("VmHWM:")][0]
    print(f"peak_kb {peak.split()[1]}")
"""


def child_peak_mb(module: str, args: list[str]) -> tuple[float, str]:
    """Peak RSS (MB) and stdout (without the peak line) of ``python -m module args`` in a
    fresh process (run from this checkout, or from benchmarks/ for a script there)."""
    where = HERE if (HERE / f"{module}.py").exists() else HERE.parent
    done = subprocess.run([sys.executable, "-c", PEAK_WRAPPER, module, *args], check=True,
                          capture_output=True, text=True, cwd=where)
    *lines, peak = done.stdout.splitlines()
    return int(peak.split()[1]) / 1024, "\n".join(lines)


# -- 1. normalize versus the JSON floor -------------------------------------------------------
def json_floor(path: Path) -> None:
    with open(path, "rb") as lines, open(os.devnull, "w", encoding="utf-8") as sink:
        for line in lines:
            sink.write(json.dumps(json.loads(line)) + "\n")


def normalize_command(path: Path) -> None:
    from funnelsync.cli.main import main

    with open(os.devnull, "w", encoding="utf-8") as sink, contextlib.redirect_stdout(sink), \
            contextlib.redirect_stderr(sink), contextlib.suppress(SystemExit):
        main.main(["normalize", "--source", "salesforce", "--object", "deal", str(path)],
                  standalone_mode=False)


def normalize_figures(ds: Dataset, workdir: Path, rounds: int) -> None:
    path, tenth = workdir / "opportunities.jsonl", workdir / "tenth.jsonl"
    rows = [json.dumps(row) for row in sf_opportunities(ds)]
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    tenth.write_text("\n".join(rows[:len(rows) // 10]) + "\n", encoding="utf-8")
    (floor_cpu, floor_wall), (ours_cpu, ours_wall) = best_of(
        rounds, lambda: json_floor(path), lambda: normalize_command(path))
    ratio = ours_cpu / floor_cpu
    print(f"1. normalize {len(rows):,} Salesforce opportunities: {ours_cpu:.2f} s CPU "
          f"({ours_wall:.2f} s wall); json.loads + json.dumps floor {floor_cpu:.2f} s CPU "
          f"({floor_wall:.2f} s wall)")
    print(f"   ratio to the floor {ratio:.2f}x (wall {ours_wall / floor_wall:.2f}x); target <= "
          f"{NORMALIZE_TARGET:.0f}x: {'met' if ratio <= NORMALIZE_TARGET else 'NOT met'}")
    command = ["normalize", "--source", "salesforce", "--object", "deal"]
    small, _ = child_peak_mb("funnelsync.cli.main", [*command, str(tenth)])
    large, _ = child_peak_mb("funnelsync.cli.main", [*command, str(path)])
    print(f"   peak RSS of the command: {small:.0f} MB over {len(rows) // 10:,} lines, "
          f"{large:.0f} MB over {len(rows):,} ({large / small:.2f}x: flat when about 1)")


# -- 2. normalise + score + stage -------------------------------------------------------------
def throughput_figures(ds: Dataset, config: AppConfig, rounds: int) -> None:
    maps, wb = StageMaps(config), config.writeback
    evaluator = Evaluator(config, datetime.fromtimestamp(NOW_MS / 1000, UTC))
    sf, hs = crm_spec("salesforce"), crm_spec("hubspot")
    # What a sync's Source binds once per run; HubSpot deals with the pipelines it reads.
    catalog = HubSpotCatalog.from_pipelines(pipelines_json(ds.now_ms, ds.hs_pipelines))
    streams: list[tuple[Callable[[Any], Any], list[dict[str, Any]]]] = [
        (sf.lead_mapper(maps, wb), list(sf_leads(ds))),
        (sf.deal_mapper(maps, wb, None), list(sf_opportunities(ds))),
        (hs.lead_mapper(maps, wb), list(hs_objects(ds, "contacts"))),
        (hs.deal_mapper(maps, wb, catalog), list(hs_objects(ds, "deals"))),
    ]
    total = sum(len(raws) for _, raws in streams)

    def one_pass() -> None:
        desired = evaluator.desired
        for mapper, raws in streams:
            for raw in raws:
                desired(mapper(raw).record)

    [(cpu, wall)] = best_of(rounds, one_pass)
    rate = total / cpu
    print(f"2. normalise + score + stage {total:,} records (leads, contacts, opportunities, "
          f"deals): {rate:,.0f} records/s on one core (CPU time; {total / wall:,.0f} by the "
          f"wall clock)")
    print(f"   ratio to the target of {RECORDS_TARGET:,}/s: {rate / RECORDS_TARGET:.2f}x: "
          f"{'met' if rate >= RECORDS_TARGET else 'NOT met'}")


# -- 3. identity ------------------------------------------------------------------------------
def identity_child(people: int, streamed: bool) -> None:
    """One measurement in this (fresh) process; prints one JSON line."""
    from identity import records

    from funnelsync.config.identity import IdentityConfig
    from funnelsync.rules.linking import Linker
    from funnelsync.rules.people import summary

    items = records(people) if streamed else list(records(people))
    cpu, wall = time.process_time(), time.perf_counter()
    linker = Linker(IdentityConfig(name_domain_rule=True))
    for record in items:
        linker.add(record)
    linking = linker.finish()
    counts = summary(linking.people(), [])
    print(json.dumps({"records": len(linker), "people": counts["people"],
                      "linked": counts["linked"], "cpu": time.process_time() - cpu,
                      "wall": time.perf_counter() - wall}))


def identity_figures(people: int) -> None:
    script = ["--identity-child", str(people)]
    _, timed = child_peak_mb("hotpath", script)
    peak, streamed = child_peak_mb("hotpath", [*script, "--streamed"])
    t, s = json.loads(timed), json.loads(streamed)
    print(f"3. identity over {t['records']:,} records ({t['people']:,} people, "
          f"{t['linked']:,} in both CRMs): {t['cpu']:.2f} s CPU ({t['wall']:.2f} s wall) to "
          f"link and build every person; peak RSS {peak:.0f} MB streaming them in")
    print(f"   ratio to the targets: time {t['cpu'] / IDENTITY_SECONDS:.2f}x of "
          f"{IDENTITY_SECONDS:.0f} s, memory {peak / IDENTITY_MB:.2f}x of {IDENTITY_MB} MB: "
          f"{'met' if t['cpu'] <= IDENTITY_SECONDS and peak <= IDENTITY_MB else 'NOT met'}"
          f" (streamed run: {s['cpu']:.2f} s CPU with making the records)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--deals", type=int, default=100_000,
                        help="Salesforce opportunities normalised (and HubSpot deals scored)")
    parser.add_argument("--people", type=int, default=1_000_000, help="identity records")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--skip", default="", help="e.g. 3, or 1,2")
    parser.add_argument("--identity-child", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--streamed", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.identity_child:
        identity_child(args.identity_child, args.streamed)
        return
    skip = set(args.skip.split(","))
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} cores, load average "
          f"{os.getloadavg()[0]:.1f}")
    with tempfile.TemporaryDirectory() as tmp:
        if not {"1", "2"} <= skip:
            ds = generate(7, args.deals // 5, args.deals, NOW_MS)
            if "1" not in skip:
                normalize_figures(ds, Path(tmp), args.rounds)
            if "2" not in skip:
                throughput_figures(ds, sandbox_config(Path(tmp)), args.rounds)
            del ds
        if "3" not in skip:
            identity_figures(args.people)


if __name__ == "__main__":
    main()
