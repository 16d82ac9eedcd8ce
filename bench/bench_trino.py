"""The fidelity tier's costs: fetching and starting Trino, and sql/backfill on Trino vs DuckDB.

Run: .venv/bin/python -m bench.bench_trino   (BENCH_TRINO_EVENTS=50000 for more)

- fetch + unpack: webevents.dev.trino_server.ensure_installed (0 when the cache is warm;
  WEBEVENTS_TRINO_CACHE=<empty folder> measures a cold fetch from Maven Central);
- server start: launcher to `/v1/info` saying `starting: false`, warm cache;
- backfill: the same generated archive through webevents.jobs.backfill on the local engine
  and on Trino (Hive-connector external table, Iceberg tables), in MB/s of archive JSON.
Target: the server starts within 60 s, so the tier stays far inside CI's 90 minutes.
"""

from __future__ import annotations

import datetime as dt
import gzip
import os
import tempfile
import time
from pathlib import Path
from typing import Any

from webevents import SQL_DIR
from webevents.dev.generate import generate_sample
from webevents.jobs.backfill import backfill_files

EVENTS = int(os.environ.get("BENCH_TRINO_EVENTS", "20000"))
COMMAND = ".venv/bin/python -m bench.bench_trino"


def main() -> list[dict[str, Any]]:
    from webevents.dev.trino_server import (
        TRINO_VERSION,
        create_catalog_sql,
        ensure_installed,
        start_server,
        stop_server,
    )
    from webevents.engines import get_engine
    from webevents.jobs.sql import run_files

    started = time.perf_counter()
    ensure_installed()
    fetch = time.perf_counter() - started
    with tempfile.TemporaryDirectory(prefix="bench-trino-") as folder:
        work = Path(folder)
        generate_sample(
            work / "sample", events=EVENTS, days=7, seed=7, end_date=dt.date(2026, 11, 20)
        )
        files = sorted((work / "sample" / "archive").glob("dt=*/*"))
        megabytes = sum(len(gzip.decompress(f.read_bytes())) for f in files) / 1e6
        mark = time.perf_counter()
        backfill_files(files, lake=work / "lake")
        local_seconds = time.perf_counter() - mark
        mark = time.perf_counter()
        server = start_server(work / "server")
        start_seconds = time.perf_counter() - mark
        try:
            admin = get_engine("trino", port=server.port, catalog="system")
            for statement in create_catalog_sql("bench", work / "warehouse"):
                admin.execute(statement)
            engine = get_engine("trino", port=server.port, catalog="bench")
            run_files([SQL_DIR / "ddl"], engine=engine, echo=None)
            mark = time.perf_counter()
            backfill_files(files, engine=engine)
            trino_seconds = time.perf_counter() - mark
        finally:
            stop_server(server)
    base = {"benchmark": "trino", "command": COMMAND}
    rows = [
        {
            **base,
            "figure": f"fetch + unpack Trino {TRINO_VERSION} (0 = cache warm)",
            "value": round(fetch, 1),
            "unit": "s",
            "target": "",
        },
        {
            **base,
            "figure": "server start (warm cache)",
            "value": round(start_seconds, 1),
            "unit": "s",
            "target": "<= 60",
        },
        {
            **base,
            "figure": "backfill on DuckDB (local engine)",
            "value": round(megabytes / local_seconds, 2),
            "unit": f"MB/s ({megabytes:.1f} MB)",
            "target": "",
        },
        {
            **base,
            "figure": "backfill on Trino (same sql/backfill)",
            "value": round(megabytes / trino_seconds, 2),
            "unit": "MB/s",
            "target": "",
        },
    ]
    for row in rows:
        print(f"{row['figure']:45s} {row['value']:>10} {row['unit']}  {row['target']}")
    return rows


if __name__ == "__main__":
    main()
