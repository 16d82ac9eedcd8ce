"""Local backfill throughput (MB/s of archive JSON) against DuckDB's plain read_json scan.

Run: .venv/bin/python -m bench.bench_backfill   (BENCH_BACKFILL_EVENTS=200000 for more)

Both read the same generated archive (`webevents generate`, gzip JSON lines by day):
- floor: DuckDB `read_json` (newline-delimited, schema auto-detected, malformed lines
  ignored) of every file into a table, i.e. decompress + parse + materialise;
- backfill: `webevents.backfill.backfill_files` on a fresh lake: every sql/backfill
  statement through the local engine (stage normalisation, rejects, landing insert,
  load log and the reconciliation, which reads the archive a second time on purpose).
MB = uncompressed archive bytes / 10^6. Target: backfill within 2x the floor's time.
Wall time swings with whatever else shares the machine, so the CPU seconds each side
used (this process: DuckDB's threads and the Python line reader) are printed too; their
ratio is the steadier figure to compare runs with.
"""

from __future__ import annotations

import datetime as dt
import gzip
import os
import resource
import tempfile
import time
from pathlib import Path
from typing import Any

import duckdb

from webevents.backfill import backfill_files
from webevents.generate import generate_sample

EVENTS = int(os.environ.get("BENCH_BACKFILL_EVENTS", "100000"))
DAYS = 14
COMMAND = ".venv/bin/python -m bench.bench_backfill"
TARGET_RATIO = 2.0


def cpu_seconds() -> float:
    """CPU time of this process so far (all threads, user + system)."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def floor_seconds(files: list[Path]) -> tuple[float, float]:
    """DuckDB's own JSON scan of the archive into a table; best (wall, CPU) of two."""
    best, best_cpu = float("inf"), float("inf")
    listing = ", ".join(f"'{f.as_posix()}'" for f in files)
    for _ in range(2):
        with duckdb.connect() as con:
            started, started_cpu = time.perf_counter(), cpu_seconds()
            con.execute(
                "create table scanned as select * from read_json("
                f"[{listing}], format = 'newline_delimited', ignore_errors = true, "
                "maximum_object_size = 16777216)"
            )
            best = min(best, time.perf_counter() - started)
            best_cpu = min(best_cpu, cpu_seconds() - started_cpu)
    return best, best_cpu


def backfill_seconds(files: list[Path], workdir: Path) -> tuple[float, float, int]:
    """One backfill of the archive into a fresh lake; (wall seconds, CPU seconds, lines)."""
    started, started_cpu = time.perf_counter(), cpu_seconds()
    summary = backfill_files(files, lake=workdir / "lake")
    return (time.perf_counter() - started, cpu_seconds() - started_cpu,
            summary.total("source_lines"))


def main() -> list[dict[str, Any]]:
    with tempfile.TemporaryDirectory(prefix="bench-backfill-") as folder:
        workdir = Path(folder)
        generate_sample(workdir / "sample", events=EVENTS, days=DAYS, seed=7,
                        end_date=dt.date(2026, 11, 20))
        files = sorted((workdir / "sample" / "archive").glob("dt=*/*"))
        megabytes = sum(len(gzip.decompress(f.read_bytes())) for f in files) / 1e6
        floor, floor_cpu = floor_seconds(files)
        backfill, backfill_cpu, lines = backfill_seconds(files, workdir)
    ratio = backfill / floor
    base = {"command": COMMAND}
    rows = [
        {**base, "benchmark": "backfill", "figure": "archive size",
         "value": round(megabytes, 1), "unit": f"MB ({lines:,} lines)", "target": ""},
        {**base, "benchmark": "backfill", "figure": "floor: DuckDB read_json scan",
         "value": round(megabytes / floor, 1), "unit": "MB/s", "target": ""},
        {**base, "benchmark": "backfill", "figure": "webevents backfill (sql/backfill, local)",
         "value": round(megabytes / backfill, 1), "unit": "MB/s", "target": ""},
        {**base, "benchmark": "backfill", "figure": "backfill time / floor time",
         "value": round(ratio, 2), "unit": "x", "target": f"<= {TARGET_RATIO}"},
        {**base, "benchmark": "backfill", "figure": "CPU: floor",
         "value": round(floor_cpu, 2), "unit": "s", "target": ""},
        {**base, "benchmark": "backfill", "figure": "CPU: backfill",
         "value": round(backfill_cpu, 2), "unit": "s", "target": ""},
        {**base, "benchmark": "backfill", "figure": "backfill CPU / floor CPU",
         "value": round(backfill_cpu / floor_cpu, 2), "unit": "x", "target": ""},
    ]
    for row in rows:
        print(f"{row['figure']:45s} {row['value']:>10} {row['unit']}  {row['target']}")
    return rows


if __name__ == "__main__":
    main()
