"""Local backfill throughput (MB/s of archive JSON) against DuckDB's plain read_json scan.

Run: .venv/bin/python -m bench.bench_backfill   (BENCH_BACKFILL_EVENTS=200000 for more)

Both read the same generated archive (`webevents generate`, gzip JSON lines by day):
- floor: DuckDB `read_json` (newline-delimited, schema auto-detected, malformed lines
  ignored) of every file into a table, i.e. decompress + parse + materialise;
- backfill: `webevents.jobs.backfill.backfill_files` on a fresh lake: every sql/backfill
  statement through the local engine (stage normalisation, rejects, landing insert,
  load log and the reconciliation, which reads the archive a second time on purpose).
MB = uncompressed archive bytes / 10^6. Target: backfill within 2x the floor's time.
Wall time swings with whatever else shares the machine, so the CPU seconds each side
used (this process: DuckDB's threads and the Python line reader) are printed too; their
ratio is the steadier figure to compare runs with.

Where the time goes, so the target can be judged: the backfill's own statements timed
one by one (lake set-up, the stage normalisation, the rest), and lower bounds that any
SQL normalisation on this engine pays, as a ratio to the floor: reading the archive as
text lines (the archive table, as Athena's text reader yields them); those lines plus
one parse of each line's top-level keys into typed columns; and those lines plus one
parse of every value the rules read (nested objects too), the least a single-parse
formulation would do before any check, rule or write (docs/speed.md).
"""

from __future__ import annotations

import datetime as dt
import gzip
import json
import os
import re
import resource
import tempfile
import time
from pathlib import Path
from typing import Any

import duckdb

from webevents.dev.generate import generate_sample
from webevents.engines.local import LocalEngine
from webevents.jobs.backfill import BACKFILL_SQL, backfill_files
from webevents.jobs.sql import render

EVENTS = int(os.environ.get("BENCH_BACKFILL_EVENTS", "100000"))
DAYS = 14
COMMAND = ".venv/bin/python -m bench.bench_backfill"
TARGET_RATIO = 2.0
# The keys the normalisation reads at the top level of a line (docs/landing-normalisation.md).
TOP_LEVEL_KEYS = (
    "_id", "type", "event", "messageId", "eventId", "timestamp", "originalTimestamp",
    "sentAt", "anonymousId", "userId", "sessionId", "appId", "eventData", "metadata",
    "eventTimestamp", "context", "properties",
)
_IDENTIFIERS = {key: "JSON" for key in ("anonymousId", "userId", "sessionId", "appId")}
_CONTEXT = {**_IDENTIFIERS, "userAgent": "JSON", "ip": "JSON",
            "page": {"url": "JSON", "path": "JSON", "referrer": "JSON"}}
_PAYLOAD = {
    **{key: "JSON" for key in TOP_LEVEL_KEYS},
    "name": "JSON",
    "context": _CONTEXT,
    # every property is kept (the ones without a column go to the properties column)
    "properties": "MAP(VARCHAR, JSON)",
}
# Each value the rules read, in one pass: the least a single-parse formulation would do.
EVERY_VALUE_READ = {
    **_PAYLOAD,
    "eventData": _PAYLOAD,
    "metadata": {**_IDENTIFIERS, "userAgent": "JSON", "ip": "JSON"},
}


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


class TimedEngine(LocalEngine):
    """The local engine, adding up wall seconds per statement target (stage insert, ...)."""

    def __init__(self, *args, **kwargs):
        self.seconds: dict[str, float] = {}
        super().__init__(*args, **kwargs)

    def _timed(self, method, sql: str):
        target = re.search(r"^\s*(insert into|merge into|delete from)\s+(\S+)", sql,
                           re.IGNORECASE | re.MULTILINE)
        key = f"{target[1].lower()} {target[2]}" if target else "other statements"
        started = time.perf_counter()
        try:
            return method(sql)
        finally:
            self.seconds[key] = self.seconds.get(key, 0.0) + time.perf_counter() - started

    def execute(self, sql: str) -> None:
        self._timed(super().execute, sql)

    def query(self, sql: str) -> tuple[list[str], list[tuple]]:
        return self._timed(super().query, sql)


def backfill_seconds(files: list[Path], workdir: Path) -> tuple[float, float, int, dict]:
    """One backfill of the archive into a fresh lake: wall and CPU seconds, lines, and
    wall seconds by part (lake set-up with sql/ddl, then per statement target)."""
    started, started_cpu = time.perf_counter(), cpu_seconds()
    engine = TimedEngine(lake=workdir / "lake")
    parts = {"lake set-up (sql/ddl on a new lake)": time.perf_counter() - started}
    try:
        summary = backfill_files(files, engine=engine)
    finally:
        engine.close()
    wall, cpu = time.perf_counter() - started, cpu_seconds() - started_cpu
    return wall, cpu, summary.total("source_lines"), parts | engine.seconds


def lower_bound_seconds(files: list[Path], workdir: Path) -> dict[str, float]:
    """Best-of-two wall seconds of what any SQL normalisation here must at least do."""
    engine = LocalEngine(lake=workdir / "lower-bound-lake")
    try:
        engine.execute(render(BACKFILL_SQL / "archive_database_create.sql", {}))
        location = files[0].parent.parent.as_posix() + "/"
        engine.execute(render(BACKFILL_SQL / "web_events_archive_create.sql",
                              {"archive_location": location}))
        queries = {
            "archive read as text lines": "select line from archive.web_events_archive",
            "text lines + one parse of the top-level keys": _parsed_lines_query(
                {key: "JSON" for key in TOP_LEVEL_KEYS}
            ),
            "text lines + one parse of every value the rules read": _parsed_lines_query(
                EVERY_VALUE_READ
            ),
        }
        return {
            name: min(_timed_create(engine, query) for _ in range(2))
            for name, query in queries.items()
        }
    finally:
        engine.close()


def _parsed_lines_query(structure: dict) -> str:
    text = json.dumps(structure).replace("'", "''")
    # json_transform gives NULL for a value of another type; only malformed text fails
    return (
        f"select case when json_valid(line) then json_transform(line, '{text}') end as parsed "
        "from archive.web_events_archive"
    )


def _timed_create(engine: LocalEngine, query: str) -> float:
    started = time.perf_counter()
    engine.connection.execute(f"create or replace temp table lower_bound as {query}")
    return time.perf_counter() - started


def main() -> list[dict[str, Any]]:
    with tempfile.TemporaryDirectory(prefix="bench-backfill-") as folder:
        workdir = Path(folder)
        generate_sample(workdir / "sample", events=EVENTS, days=DAYS, seed=7,
                        end_date=dt.date(2026, 11, 20))
        files = sorted((workdir / "sample" / "archive").glob("dt=*/*"))
        megabytes = sum(len(gzip.decompress(f.read_bytes())) for f in files) / 1e6
        floor, floor_cpu = floor_seconds(files)
        backfill, backfill_cpu, lines, parts = backfill_seconds(files, workdir)
        lower_bounds = lower_bound_seconds(files, workdir)
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
    for name, seconds in lower_bounds.items():
        rows.append({**base, "benchmark": "backfill", "figure": f"lower bound: {name} / floor",
                     "value": round(seconds / floor, 2), "unit": "x", "target": ""})
    for part, seconds in sorted(parts.items(), key=lambda item: -item[1]):
        rows.append({**base, "benchmark": "backfill", "figure": f"backfill part: {part}",
                     "value": round(seconds, 2), "unit": "s", "target": ""})
    for row in rows:
        print(f"{row['figure']:45s} {row['value']:>10} {row['unit']}  {row['target']}")
    return rows


if __name__ == "__main__":
    main()
