"""The SQL runner's own costs: archive line reading, transpiling, building a lake.

Run: .venv/bin/python -m bench.bench_sqlrunner   (BENCH_SQLRUNNER_EVENTS=200000 for more)

- archive lines: `select count(*), sum(length(line))` over the local view that
  CREATE EXTERNAL TABLE becomes (Python line reader: gzip, Hadoop line ends, invalid
  UTF-8 -> U+FFFD), against DuckDB's own CSV reader scanning the same files with NUL as
  delimiter (the floor; it cannot stand in because one invalid UTF-8 byte fails a file).
  MB = uncompressed archive bytes / 10^6. Target: within 2x the floor.
- transpile: parse + transform + generate of every sql/ file (Athena -> DuckDB), per file.
- lake connect: `webevents.engines.local.connect` on a new lake (sql/ddl through the runner), and
  again on the existing lake in the same process (cached DDL).
"""

from __future__ import annotations

import datetime as dt
import gzip
import os
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import duckdb

from webevents import SQL_DIR
from webevents.dev.generate import generate_sample
from webevents.engines.local import LocalEngine, connect
from webevents.engines.transpile import athena_only_reason, parse_athena, to_duckdb
from webevents.jobs.sql import default_params, render

EVENTS = int(os.environ.get("BENCH_SQLRUNNER_EVENTS", "100000"))
COMMAND = ".venv/bin/python -m bench.bench_sqlrunner"


def _best(run, repeat: int = 2) -> float:
    best = float("inf")
    for _ in range(repeat):
        started = time.perf_counter()
        run()
        best = min(best, time.perf_counter() - started)
    return best


def archive_figures(archive: Path) -> tuple[float, float, float]:
    """(MB, floor seconds, view seconds) for reading every archive line."""
    files = sorted(archive.glob("dt=*/*"))
    megabytes = sum(len(gzip.decompress(f.read_bytes())) for f in files) / 1e6
    con = duckdb.connect()
    engine = LocalEngine(connection=con)
    engine.execute(
        "create external table archive.lines (line string) partitioned by (dt string) "
        f"stored as textfile location '{archive.as_posix()}/'"
    )
    listing = ", ".join(f"'{f.as_posix()}'" for f in files)

    def floor() -> None:
        con.execute(
            f"select count(*), sum(length(column0)) from read_csv([{listing}], header = false, "
            "delim = '\\0', quote = '', escape = '', auto_detect = false, "
            "columns = {'column0': 'VARCHAR'}, encoding = 'latin-1')"
        ).fetchall()

    def view() -> None:
        con.execute("select count(*), sum(length(line)) from archive.lines").fetchall()

    figures = megabytes, _best(floor), _best(view)
    con.close()
    return figures


def transpile_ms() -> tuple[float, int]:
    """Median milliseconds to parse + transpile one sql/ file, and how many files."""
    params = {
        **default_params(),
        "date_from": "2026-11-01",
        "date_to": "2026-11-20",
        "archive_location": "/tmp/archive/",
        "as_of_timestamp": "2026-11-20 00:00:00 UTC",
        "snapshot_id": "1",
    }
    timings = []
    for path in sorted(SQL_DIR.rglob("*.sql")):
        try:
            sql = render(path, params)
        except Exception:  # a file needing other parameters is left out
            continue
        started = time.perf_counter()
        tree = parse_athena(sql)
        if athena_only_reason(tree) is None:
            to_duckdb(tree)
        timings.append((time.perf_counter() - started) * 1000)
    return statistics.median(timings), len(timings)


def connect_seconds(folder: Path) -> tuple[float, float]:
    started = time.perf_counter()
    connect(folder).close()
    first = time.perf_counter() - started
    started = time.perf_counter()
    connect(folder).close()
    return first, time.perf_counter() - started


def main() -> list[dict[str, Any]]:
    with tempfile.TemporaryDirectory(prefix="bench-sqlrunner-") as folder:
        workdir = Path(folder)
        generate_sample(
            workdir / "sample", events=EVENTS, days=14, seed=7, end_date=dt.date(2026, 11, 20)
        )
        megabytes, floor, view = archive_figures(workdir / "sample" / "archive")
        median_ms, files = transpile_ms()
        first, again = connect_seconds(workdir / "lake")
    rows = [
        {
            "benchmark": "sqlrunner",
            "figure": "archive lines, DuckDB CSV reader (floor)",
            "value": round(megabytes / floor, 1),
            "unit": "MB/s",
            "target": "",
            "command": COMMAND,
        },
        {
            "benchmark": "sqlrunner",
            "figure": "archive lines, local external-table view",
            "value": round(megabytes / view, 1),
            "unit": "MB/s",
            "target": f">= {round(megabytes / floor / 2, 1)} (within 2x floor)",
            "command": COMMAND,
        },
        {
            "benchmark": "sqlrunner",
            "figure": "view time / floor time",
            "value": round(view / floor, 2),
            "unit": "x",
            "target": "<= 2",
            "command": COMMAND,
        },
        {
            "benchmark": "sqlrunner",
            "figure": f"transpile one sql/ file (median of {files})",
            "value": round(median_ms, 1),
            "unit": "ms",
            "target": "<= 100",
            "command": COMMAND,
        },
        {
            "benchmark": "sqlrunner",
            "figure": "lake connect, new lake (sql/ddl)",
            "value": round(first, 2),
            "unit": "s",
            "target": "",
            "command": COMMAND,
        },
        {
            "benchmark": "sqlrunner",
            "figure": "lake connect, existing lake",
            "value": round(again, 3),
            "unit": "s",
            "target": "<= 0.2",
            "command": COMMAND,
        },
    ]
    for row in rows:
        print(f"{row['figure']}: {row['value']} {row['unit']} (target {row['target'] or '-'})")
    return rows


if __name__ == "__main__":
    main()
