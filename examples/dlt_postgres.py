"""The funnel in PostgreSQL with dlt: funnelsync's sandbox → a funnelsync pull → PostgreSQL.

    pip install "funnelsync[dlt]" "dlt[postgres]"
    python examples/dlt_postgres.py postgresql://user:password@host:5432/warehouse [DIR]

(dlt's PostgreSQL destination wants a password in the URL, even where the server trusts.)

Like examples/dlt_duckdb.py (the sandbox in-process, a config in DIR pointing at it, the
funnelsync state in SQLite there), but the tables land in the schema ``crm`` of the database
at the URL. Load it again later and only what changed is merged.
"""

from __future__ import annotations

import sys
from pathlib import Path

import dlt

from funnelsync.config.reference import init_config
from funnelsync.integrations.dlt import funnel_source
from funnelsync.sandbox import Sandbox


def main(warehouse_url: str, workdir: Path) -> None:
    workdir.mkdir(parents=True, exist_ok=True)
    config = workdir / "funnelsync.toml"
    with Sandbox(seed=7, leads=300, deals=200) as sandbox:
        state_url = f"sqlite:///{(workdir / 'state.db').resolve().as_posix()}"
        config.write_text(init_config(sandbox.url, state_url), encoding="utf-8")
        pipeline = dlt.pipeline(pipeline_name="funnel_postgres", dataset_name="crm",
                                destination=dlt.destinations.postgres(warehouse_url))
        info = pipeline.run(funnel_source(config))
    print(info)
    counts = pipeline.last_trace.last_normalize_info.row_counts
    print({table: n for table, n in counts.items() if not table.startswith("_dlt")})


if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    main(sys.argv[1], Path(sys.argv[2] if len(sys.argv) > 2 else "funnel-dlt-postgres"))
