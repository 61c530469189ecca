"""Identity linking at scale: 250k, 500k and 1M synthetic leads/contacts.

Each size runs in a fresh subprocess so its peak RSS is its own. About 30% of the people exist
in both CRMs with case/whitespace differences; the name/domain rule is on, so both hash joins
run. Printed per size: seconds to generate the synthetic records (not part of linking), to
link them (add + finish), to build every person and the summary, peak RSS, and microseconds
of linking + people per record (flat when growth is linear).

    /work/venv/bin/python benchmarks/identity.py [--sizes 250000,500000,1000000]
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import subprocess
import sys
import time
from collections.abc import Iterator

from funnelsync.config.identity import IdentityConfig
from funnelsync.rules.linking import IdentityRecord, Linker
from funnelsync.rules.people import summary

FIRST = ("Ana", "Ben", "Chloe", "Dana", "Eli", "Farah", "Gus", "Hana", "Ivan", "Jia")
LAST = ("Adler", "Bauer", "Chen", "Diaz", "Evans", "Fischer", "Garcia", "Haddad", "Ito")
STAGES = ("awareness", "interest", "consideration", "intent", "lost")


def records(total: int, seed: int = 7) -> Iterator[IdentityRecord]:
    """About ``total`` records: Salesforce leads, and HubSpot contacts of 30% of them plus
    HubSpot-only contacts, so both CRMs hold about half."""
    rng = random.Random(seed)
    people = int(total / 1.3)
    for i in range(people):
        first, last = FIRST[i % 10], LAST[(i // 10) % 9]
        email = f"{first}.{last}{i}@company{i % 5000}.example"
        stage = STAGES[i % 5]
        if i % 2 == 0 or rng.random() < 0.6:
            yield IdentityRecord("salesforce", "leads", f"00Q{i:012d}", email.title(), first,
                                 last, stage, f"005{i % 40}")
            if rng.random() < 0.3 * 1.3 * 2 / 1.6:
                yield IdentityRecord("hubspot", "leads", str(10_000_000 + i),
                                     f" {email.lower()} ", first, last, STAGES[(i + 2) % 5],
                                     str(i % 40))
        else:
            yield IdentityRecord("hubspot", "leads", str(10_000_000 + i), email.lower(), first,
                                 last, stage, str(i % 40))


def measure(size: int) -> dict[str, float | int]:
    made = time.perf_counter()
    items = list(records(size))  # the linker keeps them anyway: no extra peak memory
    start = time.perf_counter()
    linker = Linker(IdentityConfig(name_domain_rule=True))
    for record in items:
        linker.add(record)
    linking = linker.finish()
    linked_at = time.perf_counter()
    counts = summary(linking.people(), [])
    done = time.perf_counter()
    return {"records": len(linking.records), "people": counts["people"],
            "generate_s": round(start - made, 2),
            "linked": counts["linked"], "link_s": round(linked_at - start, 2),
            "people_s": round(done - linked_at, 2), "total_s": round(done - start, 2),
            "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
            "us_per_record": round(1e6 * (done - start) / len(linking.records), 2)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="250000,500000,1000000")
    parser.add_argument("--one", type=int, help=argparse.SUPPRESS)  # child process
    args = parser.parse_args()
    if args.one:
        print(json.dumps(measure(args.one)))
        return
    print(f"{'records':>9} {'people':>9} {'linked':>8} {'gen s':>6} {'link s':>7} {'people s':>9} "
          f"{'total s':>8} {'peak RSS MB':>12} {'us/record':>10}")
    for size in (int(s) for s in args.sizes.split(",")):
        out = subprocess.run([sys.executable, __file__, "--one", str(size)], check=True,
                             capture_output=True, text=True).stdout
        r = json.loads(out)
        print(f"{r['records']:>9} {r['people']:>9} {r['linked']:>8} {r['generate_s']:>6} "
              f"{r['link_s']:>7} "
              f"{r['people_s']:>9} {r['total_s']:>8} {r['peak_rss_mb']:>12} "
              f"{r['us_per_record']:>10}")


if __name__ == "__main__":
    main()
