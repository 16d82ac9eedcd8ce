"""End-to-end `webevents run` on 1 million events against DuckDB reading the same JSON.

Run: .venv/bin/python -m bench.bench_end_to_end   (BENCH_E2E_EVENTS=100000 for a quick look)

- sample: `webevents generate` of BENCH_E2E_EVENTS lines over 14 days (archive + stream),
  timed on its own and kept out of the run's figures;
- floor: a fresh process in which DuckDB reads every archive and stream file into a table
  (`read_json`, newline-delimited, schema auto-detected, malformed lines ignored);
- end to end: a fresh `webevents run --lake` process on the same files: backfill through
  sql/, the stream through the Firehose stand-in and the real Lambda handler, sql/enrich,
  sql/bots, `dbt build`, the report.
Wall time and peak memory (largest resident set of the process or any child it waited for,
so dbt counts) of each process come from wait4(2). Events/s = input lines / wall seconds.
Target: end to end within 3x the floor's time. Bot flags are also scored against truth.jsonl.

Lower bounds, to judge the target: what the design's parts cost at the least, each
measured on the same sample, and their sum as a ratio to the floor:
- dbt: `dbt parse` on the built project (start-up, adapter, partial parse), which any
  dbt command pays before it runs a model;
- the Lambda: the handler benchmark's floor (base64 + orjson parse/serialise + base64)
  over the stream's lines, the least any Firehose transform does per record;
- the backfill: text lines of the archive plus one parse of every value the rules read
  (bench_backfill's lower bound), the least any SQL normalisation on DuckDB does.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from webevents import PROJECT_ROOT
from webevents.local.dbt_runner import dbt_command, dbt_environment

EVENTS = int(os.environ.get("BENCH_E2E_EVENTS", "1000000"))
DAYS = 14
SEED = 7
COMMAND = ".venv/bin/python -m bench.bench_end_to_end"
TARGET_RATIO = 3.0

_FLOOR = """
import sys, duckdb
files = sys.argv[1:]
with duckdb.connect() as con:
    con.execute("set enable_progress_bar = false")
    con.execute(
        "create table scanned as select * from read_json(?, format = 'newline_delimited', "
        "ignore_errors = true, maximum_object_size = 16777216)", [files])
    print("rows", con.execute("select count(*) from scanned").fetchone()[0])
"""


def _run_measured(command: list[str], env: dict | None = None) -> tuple[float, float, str]:
    """Run a process to the end: (wall seconds, peak RSS in MB, stdout); raises on failure.

    The child is reaped with wait4 so its own rusage (and its waited-for children's) is read.
    """
    started = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               env=env, cwd=PROJECT_ROOT)
    with tempfile.TemporaryFile() as out_file, tempfile.TemporaryFile() as err_file:
        # pump the pipes into files while waiting, so a chatty child never blocks
        pumps = [threading.Thread(target=shutil.copyfileobj, args=(process.stdout, out_file)),
                 threading.Thread(target=shutil.copyfileobj, args=(process.stderr, err_file))]
        for pump in pumps:
            pump.start()
        _, status, usage = os.wait4(process.pid, 0)
        for pump in pumps:
            pump.join()
        process.returncode = os.waitstatus_to_exitcode(status)
        seconds = time.perf_counter() - started
        out_file.seek(0)
        err_file.seek(0)
        out, err = out_file.read().decode(), err_file.read().decode()
    if process.returncode:
        raise RuntimeError(f"{' '.join(command[:4])} failed ({process.returncode}):\n{err[-3000:]}")
    return seconds, usage.ru_maxrss / 1024, out


def dbt_parse_seconds(lake: Path) -> float:
    """Wall seconds of `dbt parse` on the run's project and target folder (partial parse)."""
    work = lake.resolve() / "dbt"
    seconds, _, _ = _run_measured(
        dbt_command(["parse", "--target", "local"], work),
        env=dbt_environment(lake, {"DBT_TARGET": "local"}))
    return seconds


def handler_floor_seconds(stream_files: list[str]) -> tuple[float, int]:
    """The handler benchmark's floor over every stream line, in 3 MB batches: (s, records)."""
    from bench.bench_handler import BATCH_BYTES, firehose_event, floor

    lines = [line for name in stream_files for line in Path(name).read_bytes().splitlines()]
    batches, batch, size = [], [], 0
    for line in lines:
        if batch and size + len(line) > BATCH_BYTES:
            batches.append(firehose_event(batch)["records"])
            batch, size = [], 0
        batch.append(line)
        size += len(line)
    if batch:
        batches.append(firehose_event(batch)["records"])
    started = time.perf_counter()
    for records in batches:
        floor(records)
    return time.perf_counter() - started, len(lines)


def backfill_parse_seconds(archive_files: list[str], workdir: Path) -> float:
    """bench_backfill's lower bound: archive lines + one parse of every value the rules read."""
    from bench.bench_backfill import lower_bound_seconds

    bounds = lower_bound_seconds([Path(f) for f in archive_files], workdir)
    return bounds["text lines + one parse of every value the rules read"]


def bot_scores(lake: Path) -> tuple[float, float]:
    """Precision and recall of analytics.web_events.is_bot against the sample's truth file."""
    import duckdb
    import orjson

    truth_bots = set()
    with open(lake / "sample" / "truth.jsonl", "rb") as rows:
        for line in rows:
            row = orjson.loads(line)
            if row["is_bot"] and row["event_id"]:
                truth_bots.add(row["event_id"])
    con = duckdb.connect(str(lake / "lake.duckdb"), read_only=True)
    flagged = {r[0] for r in con.execute(
        "select event_id from analytics.web_events where is_bot").fetchall()}
    con.close()
    hits = len(flagged & truth_bots)
    return hits / max(len(flagged), 1), hits / max(len(truth_bots), 1)


def _row(figure: str, value: Any, unit: str, target: str = "") -> dict[str, Any]:
    return {"benchmark": "end_to_end", "figure": figure, "value": value, "unit": unit,
            "target": target, "command": COMMAND}


def main() -> list[dict[str, Any]]:
    from webevents.local.run import prepare_sample

    with tempfile.TemporaryDirectory(prefix="bench-e2e-") as folder:
        lake = Path(folder) / "lake"
        lake.mkdir()
        started = time.perf_counter()
        sample = prepare_sample(lake, EVENTS, DAYS, SEED, say=lambda _m: None)
        generate_seconds = time.perf_counter() - started
        files = sorted(str(p) for p in sample.glob("*/**/*.jsonl*"))
        with open(sample / "truth.jsonl", "rb") as truth:
            lines = sum(1 for _ in truth)  # one truth row per input line
        input_mb = sum(os.path.getsize(f) for f in files) / 1e6

        floor_seconds, floor_mb, floor_out = _run_measured(
            [sys.executable, "-c", _FLOOR, *files])
        scanned = int(floor_out.split("rows", 1)[1].split()[0])
        env = {**os.environ, "COLUMNS": "100", "TERM": "dumb"}
        run_seconds, run_mb, _ = _run_measured(
            [sys.executable, "-m", "webevents.cli", "run", "--lake", str(lake),
             "--events", str(EVENTS), "--days", str(DAYS), "--seed", str(SEED)], env=env)
        summary = json.loads((lake / "run-summary.json").read_text())
        precision, recall = bot_scores(lake)
        rerun_seconds, _, _ = _run_measured(
            [sys.executable, "-m", "webevents.cli", "run", "--lake", str(lake),
             "--events", str(EVENTS), "--days", str(DAYS), "--seed", str(SEED)], env=env)
        archive_files = [f for f in files if "/archive/" in f]
        stream_files = [f for f in files if "/stream/" in f]
        lower_bounds = {
            "`dbt parse` (what any dbt command pays first)": dbt_parse_seconds(lake),
            "backfill: archive lines + one parse of every value the rules read":
                backfill_parse_seconds(archive_files, Path(folder)),
        }
        handler_seconds, stream_records = handler_floor_seconds(stream_files)
        lower_bounds[
            f"Lambda: the handler floor over the {stream_records:,} stream records"
        ] = handler_seconds

    source = f"{lines:,} lines, {len(files)} files, {input_mb:,.0f} MB on disk"
    rows = [
        _row(f"generate the sample ({source})", round(lines / generate_seconds), "events/s"),
        _row(f"floor: DuckDB read_json of the same files ({scanned:,} rows read)",
             round(lines / floor_seconds), "events/s"),
        _row("floor: wall time", round(floor_seconds, 1), "s"),
        _row("floor: peak memory", round(floor_mb), "MB"),
        _row(f"webevents run end to end ({source})", round(lines / run_seconds), "events/s"),
        _row("webevents run: wall time", round(run_seconds, 1), "s"),
        _row("webevents run: peak memory (largest process incl. dbt)", round(run_mb), "MB"),
        _row("webevents run: time / floor", round(run_seconds / floor_seconds, 1), "x floor",
             f"<= {TARGET_RATIO:g}"),
    ]
    for step, seconds in summary.get("step_seconds", {}).items():
        rows.append(_row(f"webevents run step: {step}", round(seconds, 1), "s"))
    rows += [
        _row("re-run on the same lake and input (changes nothing)", round(rerun_seconds, 1), "s"),
        _row("records in = landed + failed + dropped",
             f"{summary['records_in']:,} = {summary['landed']:,} + {summary['failed']:,} + "
             f"{summary['dropped']:,}", "records"),
        _row("bot flags vs truth.jsonl: precision", round(precision, 3), "share"),
        _row("bot flags vs truth.jsonl: recall", round(recall, 3), "share"),
    ]
    for part, seconds in lower_bounds.items():
        rows.append(_row(f"lower bound: {part}", round(seconds, 1), "s"))
    # no target of its own: the chart draws it under the run's bar as its lower bound
    rows.append(_row("lower bound: sum of the parts above / floor",
                     round(sum(lower_bounds.values()) / floor_seconds, 1), "x floor"))
    for row in rows:
        print(f"{row['figure']}: {row['value']} {row['unit']}"
              + (f"  (target {row['target']})" if row["target"] else ""))
    return rows


if __name__ == "__main__":
    main()
