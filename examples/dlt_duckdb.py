"""The funnel in DuckDB with dlt: funnelsync's sandbox → a funnelsync pull → DuckDB tables.

    pip install "funnelsync[dlt]"
    python examples/dlt_duckdb.py [DIR]     # DIR (default funnel-dlt) holds the state and DB
    dlt pipeline funnel show                # browse the tables

The sandbox (both CRMs) starts in-process on a free port, and the config written to DIR points
funnelsync at it, as `funnelsync demo` does. The first load fills crm.leads, crm.deals,
crm.stage_changes, crm.people; then 10 deals change in each CRM and the second load merges
exactly those 20 (and the stage changes they made).
"""

from __future__ import annotations

import sys
from pathlib import Path

import dlt

from funnelsync.config.reference import init_config
from funnelsync.integrations.dlt import funnel_source
from funnelsync.sandbox import Sandbox


def loaded(pipeline: dlt.Pipeline) -> dict[str, int]:
    counts = pipeline.last_trace.last_normalize_info.row_counts
    return {table: n for table, n in counts.items() if not table.startswith("_dlt")}


def main(workdir: Path) -> None:
    workdir.mkdir(parents=True, exist_ok=True)
    config = workdir / "funnelsync.toml"
    with Sandbox(seed=7, leads=300, deals=200) as sandbox:
        state_url = f"sqlite:///{(workdir / 'state.db').resolve().as_posix()}"
        config.write_text(init_config(sandbox.url, state_url), encoding="utf-8")
        pipeline = dlt.pipeline(pipeline_name="funnel", dataset_name="crm",
                                destination=dlt.destinations.duckdb(str(workdir / "funnel.duckdb")))
        pipeline.run(funnel_source(config))
        print("first load:", loaded(pipeline))
        sandbox.touch("salesforce", "Opportunity", 10)
        sandbox.touch("hubspot", "deals", 10)
        pipeline.run(funnel_source(config))
        print("after 20 deals changed:", loaded(pipeline))
    with pipeline.sql_client() as client:
        rows = client.execute_sql(
            "SELECT funnel_stage, count(*), sum(amount) FROM deals WHERE NOT is_deleted "
            "GROUP BY funnel_stage ORDER BY count(*) DESC")
    for stage, count, amount in rows:
        print(f"  {stage or '(unmapped)':<14} {count:>4} deals  {amount or 0:>14,.2f}")


if __name__ == "__main__":
    main(Path(sys.argv[1] if len(sys.argv) > 1 else "funnel-dlt"))
