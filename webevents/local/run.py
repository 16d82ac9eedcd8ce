"""`webevents run`: the main job end to end on the local lake, with progress and a summary.

Steps, each stopping the run with a message naming the step (and file or statement):

    sample     generate the sample into <lake>/sample (without --input; reused when present)
    backfill   the archive (<lake>/sample/archive) into raw.web_events through sql/backfill
    ingest     the stream (or --input files) through the Firehose stand-in and the Lambda
    enrich     sql/enrich: raw -> analytics.web_events (dedupe, quality score), for the rows
               that arrived since the last run whatever their event date (arrivals.py)
    bots       sql/bots: bot flags and reasons
    dbt        `dbt build --target local`: staging, intermediate, marts (their window also
               reaches the event dates enrich merged since dbt last built)
    report     <lake>/report.html

Idempotence: raw.web_events is append-only, so the lake keeps a ledger of the input files
loaded into it, by content hash (the table ledger.input_files, written in the same
transaction as each file's rows), and skips them next time. The backfill is itself
re-runnable (it skips events a backfill already landed); enrich, bots and dbt are merges.
Running twice on the same lake and input therefore changes nothing, and a run killed at any
point resumes where its last commit ended.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import datetime as dt
import json
import re
import shutil
import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import duckdb
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from webevents import DBT_DIR, SQL_DIR, clock, failpoints
from webevents.dev.generate import generate_sample
from webevents.engines import EngineError, get_engine
from webevents.engines.local import connect
from webevents.jobs import arrivals
from webevents.jobs.backfill import BackfillError, backfill_files
from webevents.jobs.erasure_requests import RequestFileError
from webevents.jobs.forget import ErasureError, apply_pending
from webevents.jobs.sql import SqlRunError, run_files
from webevents.local import ingest, ledger, rebuild
from webevents.local.dbt_runner import DBT_EXECUTABLE, dbt_command, dbt_environment
from webevents.local.lake import DATABASE_FILE, LakeError, locked, resolve_lake
from webevents.local.reconcile import (
    SourceFigures,
    build_summary,
    stream_source_figures,
    write_summary,
)
from webevents.local.report import SUMMARY_FILE, write_report

SAMPLE_DIR = "sample"
SAMPLE_PARAMS_FILE = "sample-params.json"  # inside the sample (older lakes: beside it)
STEPS = ("sample", "backfill", "ingest", "enrich", "bots", "dbt", "report")


class StepFailed(RuntimeError):
    """A pipeline step failed; `step` names it, the message says what and where."""

    def __init__(self, step: str, message: str):
        super().__init__(message)
        self.step = step


# ---- steps ---------------------------------------------------------------------------
def _recorded_sample(lake: Path) -> dict | None:
    """The parameters of the lake's complete sample, or None when it has none."""
    for params_path in (lake / SAMPLE_DIR / SAMPLE_PARAMS_FILE, lake / SAMPLE_PARAMS_FILE):
        if params_path.exists() and (lake / SAMPLE_DIR / "truth.jsonl").exists():
            return json.loads(params_path.read_text())
    return None


def _lake_holds_data(lake: Path) -> bool:
    con = connect(lake)
    try:
        ledger.ensure(con, lake)
        return bool(ledger.rows(con))
    finally:
        con.close()


def prepare_sample(lake: Path, events: int, days: int, seed: int, say) -> Path:
    """Generate the sample into <lake>/sample once; later runs reuse it (same input).

    The sample is written beside the lake's folder for it and moved into place whole, so a
    killed generation leaves no half sample; a lake that already holds a sample's data is
    never given a second one (`run --fresh` starts over).
    """
    out = lake / SAMPLE_DIR
    wanted = {"events": events, "days": days, "seed": seed}
    recorded = _recorded_sample(lake)
    if recorded is not None:
        if {k: recorded.get(k) for k in wanted} == wanted:
            say(f"sample: reusing {out} ({events:,} events, {days} days to "
                f"{recorded['end_date']}, seed {seed})")
            return out
        if _lake_holds_data(lake):
            raise ValueError(
                f"this lake holds the sample of {recorded['events']:,} events over "
                f"{recorded['days']} days (seed {recorded['seed']}); run with --events "
                f"{recorded['events']} --days {recorded['days']} --seed {recorded['seed']}, "
                f"or add --fresh to start the lake over, or use another --lake"
            )
        say(f"sample: parameters changed from {recorded}; generating a new sample")
    elif out.exists():
        say(f"sample: {out} is incomplete (a generation was stopped); generating it again")
    partial = lake / f".{SAMPLE_DIR}-partial"
    shutil.rmtree(partial, ignore_errors=True)
    end_date = clock.today() - dt.timedelta(days=1)
    started = time.perf_counter()
    summary = generate_sample(partial, events, days, seed, end_date)
    (partial / SAMPLE_PARAMS_FILE).write_text(
        json.dumps({**wanted, "end_date": end_date.isoformat()}))
    failpoints.reach("sample.written")
    shutil.rmtree(out, ignore_errors=True)
    (lake / SAMPLE_PARAMS_FILE).unlink(missing_ok=True)  # an older lake's, outside the sample
    partial.rename(out)
    say(f"sample: {summary.lines:,} lines, {len(summary.archive_files)} archive days + "
        f"{len(summary.stream_files)} stream file(s) in {time.perf_counter() - started:.1f} s")
    return out


def start_over(lake: Path, say) -> None:
    """`run --fresh`: remove everything the pipeline wrote into the lake folder."""
    for name in (DATABASE_FILE, f"{DATABASE_FILE}.wal", SAMPLE_DIR, f".{SAMPLE_DIR}-partial",
                 SAMPLE_PARAMS_FILE, "processing-failed", "logs", "dbt", "report.html",
                 "run-summary.json", ledger.LEGACY_FILE):
        path = lake / name
        if path.is_dir():
            shutil.rmtree(path)
        elif path.exists():
            path.unlink()
    say(f"fresh: removed the lake's tables, sample and outputs in {lake}")


def _seen_files(lake: Path, files: list[Path]) -> dict[Path, dict]:
    """The files whose content the lake's ledger already holds, with their ledger rows."""
    con = connect(lake)
    try:
        ledger.ensure(con, lake)
        found = {path: ledger.seen(con, ledger.file_sha256(path)) for path in files}
    finally:
        con.close()
    return {path: row for path, row in found.items() if row}


def run_backfill(lake: Path, files: list[Path], say,
                 skipped: list[str] | None = None) -> SourceFigures | None:
    """The archive through sql/backfill; skipped when every file is already in the ledger."""
    seen = _seen_files(lake, files)
    if len(seen) == len(files):
        say(f"backfill: all {len(files)} archive file(s) already loaded; skipped")
        if skipped is not None:
            skipped.extend(str(path) for path in files)
        return None
    # the backfill reconciles per archive month and skips events it already landed, so it
    # gets the whole archive: new files join their month's chunk, old ones add nothing
    try:
        summary = backfill_files(files, lake=lake, progress=lambda m: say(f"backfill: {m}"))
    except BackfillError as error:
        raise StepFailed("backfill", str(error)) from error
    return SourceFigures(
        "archive via sql/backfill",
        records_in=summary.total("source_lines"),
        landed=summary.total("inserted_rows"),
        skipped=summary.total("source_lines") - summary.total("inserted_rows")
        - summary.total("rejected_lines") - summary.total("dropped_lines"),
        failed=summary.total("rejected_lines"),
        dropped=summary.total("dropped_lines"),
    )


def run_ingest(lake: Path, files: list[Path], say,
               advance: Callable[[int], None] | None = None,
               skipped: list[str] | None = None) -> SourceFigures | None:
    """Stream files through the Firehose stand-in and the real handler, each file once."""
    figures = SourceFigures("stream via Firehose stand-in")
    ingested = 0
    for path in files:
        try:
            result = ingest.ingest_files([path], lake=lake, progress=False)
        except Exception as error:  # the stand-in raises its own errors; name the file
            raise StepFailed("ingest", f"{path}: {error}") from error
        for _, previous in result.skipped:
            say(f"ingest: {path.name} already ingested on {previous['loaded_at']:%Y-%m-%d %H:%M} "
                f"(same content as {previous['path']}); skipped")
            if skipped is not None:
                skipped.append(str(path))
        if result.files:
            batch = stream_source_figures(result)
            figures.records_in += batch.records_in
            figures.landed += batch.landed
            figures.failed += batch.failed
            figures.dropped += batch.dropped
            for reason, count in batch.failed_by_reason.items():
                figures.failed_by_reason[reason] = figures.failed_by_reason.get(reason, 0) + count
            ingested += 1
            say(f"ingest: {path.name}: {batch.records_in:,} records = {batch.landed:,} "
                f"landed + {batch.failed:,} failed + {batch.dropped:,} dropped")
        if advance:
            advance(1)
    return figures if ingested else None


def event_date_window(lake: Path) -> dict[str, str]:
    """run_date / lookback_days covering every event date in raw.web_events."""
    engine = get_engine("local", lake=lake)
    try:
        _, rows = engine.query("select min(event_date), max(event_date) from raw.web_events")
    finally:
        engine.close()
    first, last = rows[0]
    if first is None:
        raise StepFailed("enrich", "raw.web_events is empty: nothing was landed")
    first, last = clock.as_date(first), clock.as_date(last)
    return {"run_date": last.isoformat(), "lookback_days": str((last - first).days)}


def run_sql_step(step: str, lake: Path, params: dict[str, str], say) -> None:
    """sql/<step>/ on the local engine, file by file, naming the file on failure."""
    folder = SQL_DIR / step
    if not any(folder.glob("*.sql")):
        raise StepFailed(step, f"{folder} holds no .sql files")
    try:
        run_files([folder], engine="local", lake=lake, params=params,
                  echo=lambda line: say(f"{step}: {line}"))
    except (SqlRunError, EngineError) as error:
        raise StepFailed(step, str(error)) from error


def run_arrivals_step(step: str, lake: Path, say, everything: bool = False,
                      also_dates=()) -> None:
    """enrich or bots by arrival on the local lake (webevents/jobs/arrivals.py), naming the step
    on failure; each commits its work and its mark in one transaction."""
    engine = get_engine("local", lake=lake)
    try:
        if step == "enrich":
            arrivals.enrich(engine, echo=lambda line: say(f"enrich: {line}"),
                            everything=everything)
        else:
            arrivals.flag_bots(engine, echo=lambda line: say(f"bots: {line}"),
                               also_dates=also_dates)
    except (SqlRunError, EngineError, ValueError) as error:
        raise StepFailed(step, str(error)) from error
    finally:
        engine.close()


def _window_dates(window: dict[str, str]) -> list[dt.date]:
    last = dt.date.fromisoformat(window["run_date"])
    return [last - dt.timedelta(days=n) for n in range(int(window["lookback_days"]), -1, -1)]


def _dbt_late_dates(lake: Path) -> tuple[list[dt.date], dt.datetime | None]:
    """The event dates enrich merged since dbt last built, and the arrival they reach."""
    engine = get_engine("local", lake=lake)
    try:
        return arrivals.dbt_dates(engine)
    finally:
        engine.close()  # DuckDB allows one writer: dbt opens the lake file next


def _record_dbt_built(lake: Path, arrived_through: dt.datetime | None,
                      dates: list[dt.date]) -> None:
    engine = get_engine("local", lake=lake)
    try:
        arrivals.dbt_built(engine, arrived_through, dates)
    finally:
        engine.close()


def _end_with_parent() -> None:
    """In the dbt child: the kernel sends it SIGTERM when the run dies, even by SIGKILL
    (prctl PR_SET_PDEATHSIG, Linux); elsewhere the interrupt handling below stops it."""
    with contextlib.suppress(OSError, AttributeError):
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        libc.prctl(1, signal.SIGTERM)  # 1 = PR_SET_PDEATHSIG


def run_dbt(lake: Path, say, advance: Callable[[int, int], None] | None = None,
            full_refresh: list[str] | None = None, total_models: int | None = None,
            select: list[str] | None = None, dbt_vars: dict[str, Any] | None = None) -> None:
    """`dbt build --target local` as a subprocess writing into the lake's database.

    full_refresh names the models and seeds to rebuild from scratch (their code, or code
    upstream of them, changed): the others are built as usual first (they are upstream of
    or beside the changed ones, never below them), then those with `--full-refresh`.
    select limits the build to those nodes (`webevents build`).
    """
    if select is not None:
        invocations = [["--select", *select, "--full-refresh"]]
    elif not full_refresh:
        invocations = [[]]
    elif total_models is not None and len(full_refresh) >= total_models:
        invocations = [["--full-refresh"]]
    else:
        invocations = [["--exclude", *full_refresh], ["--select", *full_refresh, "--full-refresh"]]
    if dbt_vars:  # e.g. late_event_dates: the incremental window reaches them
        invocations = [[*arguments, "--vars", json.dumps(dbt_vars)] for arguments in invocations]
    summaries = [_dbt_build(lake, arguments, advance) for arguments in invocations]
    say(f"dbt: {'; '.join(summaries)}")


def _dbt_build(lake: Path, arguments: list[str],
               advance: Callable[[int, int], None] | None) -> str:
    """One `dbt build` with these extra arguments; returns dbt's PASS=... line."""
    if not DBT_EXECUTABLE.exists():
        raise StepFailed("dbt", f"{DBT_EXECUTABLE} not found; run `make venv`")
    work = lake.resolve() / "dbt"
    env = dbt_environment(lake, {"DBT_TARGET": "local"}, project_dir=DBT_DIR)
    # Unit tests have static inputs and belong to development and CI (tests/dbt runs them);
    # dbt recommends leaving them out of production builds
    # (https://docs.getdbt.com/docs/build/unit-tests), and on a new lake they cannot run
    # before their incremental model exists.
    command = dbt_command(["build", "--target", "local", "--exclude-resource-type", "unit_test",
                           *arguments], work, project_dir=DBT_DIR)
    shown = " ".join(["dbt build --target local", *arguments])
    progress = re.compile(r"\b(\d+) of (\d+) (OK|PASS|ERROR|FAIL|WARN|SKIP)")
    failures: list[str] = []
    lines: list[str] = []
    with subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          text=True, cwd=str(DBT_DIR), preexec_fn=_end_with_parent) as process:
        assert process.stdout is not None
        try:
            for line in process.stdout:
                failpoints.reach("dbt.running")
                line = line.rstrip()
                lines.append(line)
                match = progress.search(line)
                if match:
                    done, total, status = int(match[1]), int(match[2]), match[3]
                    if advance:
                        advance(done, total)
                    if status in ("ERROR", "FAIL"):
                        failures.append(line.split(" of ", 1)[-1].strip())
        except BaseException:  # interrupted: dbt ends with us, not after us
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
            raise
    if process.returncode != 0:
        completed = next((i for i, line in enumerate(lines) if "Completed with" in line), None)
        detail = "\n".join(lines[completed:] if completed is not None else failures or lines[-25:])
        disk_full = next((line for line in lines if "No space left" in line), None)
        if disk_full and disk_full not in detail:  # the cause, wherever dbt printed it
            detail = f"{disk_full.strip()}\n{detail}"
        raise StepFailed(
            "dbt", f"`{shown}` failed (log: {work / 'logs' / 'dbt.log'}):\n"
                   f"{detail}"
        )
    summary = next((line for line in reversed(lines) if "PASS=" in line), "")
    return summary.split("Done.", 1)[-1].strip() or "done"


# ---- what changed since the last run ---------------------------------------------------
def plan_code_rebuild(lake: Path, full_refresh: bool = False) -> rebuild.Plan:
    """Compare the sql/ steps' and dbt models' code with what the lake was built from.

    `full_refresh` first forgets every record (committed), so a forced run that is stopped
    still rebuilds everything when run again, with or without the flag.
    """
    sql = rebuild.sql_fingerprints(SQL_DIR)
    try:
        models = rebuild.dbt_fingerprints(sql, DBT_DIR)
    except (OSError, ValueError) as error:
        raise StepFailed("dbt", f"reading the dbt project {DBT_DIR}: {error}") from error
    con = connect(lake)
    try:
        if full_refresh:
            rebuild.forget(con, "sql")
            rebuild.forget(con, "dbt")
        recorded_sql, recorded_dbt = rebuild.recorded(con, "sql"), rebuild.recorded(con, "dbt")
    finally:
        con.close()
    return rebuild.plan(recorded_sql, recorded_dbt, sql, models, forced=full_refresh)


def record_built(lake: Path, kind: str, fingerprints: dict[str, str]) -> None:
    """Record the code a step just built the lake from (its work is committed already)."""
    con = connect(lake)
    try:
        rebuild.record(con, kind, fingerprints)
    finally:
        con.close()


def _analytics_state(lake: Path, before_date=None) -> dict[str, Any]:
    """Events in analytics.web_events, its newest date, those dated before a day (default:
    its newest) and the bot-flagged events (by hash of event_id)."""
    con = duckdb.connect(str(lake / DATABASE_FILE), read_only=True)
    try:
        events, newest = con.execute(
            "select count(*), max(event_date) from analytics.web_events").fetchone()
        older = 0
        if (before_date or newest) is not None:
            (older,) = con.execute("select count(*) from analytics.web_events "
                                   "where event_date < ?", [before_date or newest]).fetchone()
        bots = {hash_ for (hash_,) in con.execute(
            "select hash(event_id) from analytics.web_events where is_bot").fetchall()}
    finally:
        con.close()
    return {"events": int(events), "newest": newest, "older": int(older), "bots": bots}


def _digests(lake: Path, names: list[str]) -> dict[str, dict[int, int]]:
    con = duckdb.connect(str(lake / DATABASE_FILE), read_only=True)
    try:
        return rebuild.table_digests(con, names)
    finally:
        con.close()


def _row_counts(lake: Path, names: list[str]) -> dict[str, dict[str, int]]:
    """Rows per table (views left out), all of them added: a first build."""
    con = duckdb.connect(str(lake / DATABASE_FILE), read_only=True)
    try:
        tables = {name for (name,) in con.execute(
            "select table_name from duckdb_tables() where schema_name = 'marts'").fetchall()}
        counts = {name: con.execute(f'select count(*) from marts."{name}"').fetchone()[0]
                  for name in names if name in tables}
    finally:
        con.close()
    return {name: {"rows": int(n), "added": int(n), "removed": 0} for name, n in counts.items()}


def say_rows_changed(say, changed: dict[str, dict[str, int]], one_line: bool = False) -> None:
    """Rows per rebuilt table, and rows the rebuild added and removed (a changed row counts
    as one of each)."""
    figures = [f"{name} {f['rows']:,} rows (+{f['added']:,} -{f['removed']:,})"
               for name, f in changed.items()]
    if one_line and figures:
        say(f"rebuilt (rows, +added -removed): {', '.join(figures)}")
    elif figures:
        for line in figures:
            say(f"rebuilt {line}")
        say("(+added -removed: a changed row counts as one of each)")


def apply_erasures(lake: Path, say: Callable[[str], None]) -> None:
    """`webevents run`: apply pending requests after landing and before enrich and dbt, so
    rows landed by this very run are erased too and nothing is rebuilt with them."""
    try:
        apply_pending("local", lake, say=lambda message: say(f"erasure: {message}"))
    except (ErasureError, RequestFileError, EngineError, SqlRunError) as error:
        raise StepFailed("enrich", f"applying pending erasure requests: {error}") from error


# ---- the run summary -----------------------------------------------------------------
RECONCILIATION_COLUMNS = ("input", "records in", "landed", "already landed", "failed",
                          "dropped", "balanced")


def reconciliation_rows(summary: dict) -> list[list[str]]:
    """The reconciliation table's cells, one row per input kind and the total."""
    return [[source["name"], f"{source['records_in']:,}", f"{source['landed']:,}",
             f"{source['skipped']:,}", f"{source['failed']:,}", f"{source['dropped']:,}",
             "yes" if source["balanced"] else "NO"]
            for source in summary["sources"] + [summary]]


def plain_table(header: tuple[str, ...], rows: list[list[str]]) -> str:
    """Columns padded with spaces, never wrapped: for logs, pipes and files."""
    widths = [max(len(row[i]) for row in [list(header), *rows]) for i in range(len(header))]

    def line(cells) -> str:
        return "  ".join(cell.ljust(width) if i == 0 else cell.rjust(width)
                         for i, (cell, width) in enumerate(zip(cells, widths, strict=True)))
    return "\n".join([line(header), *(line(row) for row in rows)])


def print_summary(console, summary: dict, seconds: float) -> None:
    title = "Reconciliation (all inputs ever loaded into this lake, counted from the tables)"
    rows = reconciliation_rows(summary)
    if console.is_terminal:
        table = Table(title=title, title_justify="left")
        for column in RECONCILIATION_COLUMNS:
            table.add_column(column, justify="left" if column == "input" else "right")
        for row in rows:
            total = row is rows[-1]
            row = [*row[:-1], "[green]yes[/]" if row[-1] == "yes" else "[red]NO[/]"]
            table.add_row(*row, style="bold" if total else None)
        console.print(table)
    else:  # a log or a pipe: a plain table that no terminal width wraps
        console.print(f"{title}\n{plain_table(RECONCILIATION_COLUMNS, rows)}",
                      soft_wrap=True, highlight=False, markup=False)

    def say(text: str) -> None:
        console.print(text, soft_wrap=True)  # whole lines: the terminal wraps, not rich

    if summary["skipped"]:
        say(f"already landed: {summary['skipped']:,} archive line(s) whose event "
            "(same event_id and event_timestamp) an earlier load had landed")
    if summary.get("erased"):
        say(f"erased: {summary['erased']:,} stream record(s) removed by erasure requests "
            "(raw.erasure_audit); records in = landed + already landed + failed + dropped + "
            "erased")
    reasons = ", ".join(f"{k} {v:,}" for k, v in sorted(summary["failed_by_reason"].items()))
    say(f"failed by reason: {reasons or 'none'} (error output with each record)")
    say(
        f"duplicates removed: {summary['duplicates_removed']:,} "
        f"(raw {summary['raw_rows']:,} rows -> analytics {summary['analytics_rows']:,} events)"
    )
    bots = ", ".join(f"{k} {v:,}" for k, v in summary["bots_by_reason"].items())
    share = summary["bot_events"] / summary["analytics_rows"] if summary["analytics_rows"] else 0
    say(f"bots flagged: {summary['bot_events']:,} events ({share:.1%}); "
        f"by reason: {bots or 'none'}")
    quality = ", ".join(f"{k}: {v:,}" for k, v in summary["quality_distribution"].items())
    say(f"quality score distribution: {quality}")
    if summary["skipped_files"]:
        say(f"skipped {len(summary['skipped_files'])} input file(s) already ingested "
            "into this lake (same content hash); raw.web_events is append-only")
    say(f"[bold green]done[/] in {seconds:.1f} s; report: {summary['report']}")


# ---- the command ---------------------------------------------------------------------
def run_pipeline(lake: str | Path | None = None, inputs: list[str] | None = None,
                 events: int = 50_000, days: int = 14, seed: int = 7,
                 console=None, summary_file: str | Path | None = None,
                 fresh: bool = False, full_refresh: bool = False) -> dict[str, Any]:
    """Every step in order; returns the run summary; raises StepFailed naming the step.

    Holds the lake's lock for the whole run; `fresh` starts the lake over first.
    """
    lake = resolve_lake(lake)
    missing = [str(path) for path in inputs or [] if not Path(path).is_file()]
    if missing:
        raise InputMissing(f"--input file(s) not found: {', '.join(missing)}")
    with locked(lake, "run"):
        return _run_locked(lake, inputs, events, days, seed, console, summary_file, fresh,
                           full_refresh)


class InputMissing(ValueError):
    """An --input file does not exist (said before any step starts)."""


def _run_locked(lake: Path, inputs: list[str] | None, events: int, days: int, seed: int,
                console, summary_file: str | Path | None, fresh: bool,
                full_refresh: bool = False) -> dict[str, Any]:
    console = console or Console(stderr=True)
    started = time.perf_counter()
    this_run: list[SourceFigures] = []
    skipped: list[str] = []
    step_seconds: dict[str, float] = {}

    progress = Progress(TextColumn("{task.description:<28}"), BarColumn(), MofNCompleteColumn(),
                        TimeElapsedColumn(), console=console, transient=False)

    def say(message: str) -> None:
        progress.console.print(f"  [dim]{escape(message)}[/]", soft_wrap=True)

    with progress:
        tasks = {step: progress.add_task(step, total=1, start=False) for step in STEPS}

        step_started: dict[str, float] = {}

        def begin(step: str, total: int = 1, label: str | None = None) -> None:
            progress.update(tasks[step], total=total, description=label or step)
            progress.start_task(tasks[step])
            step_started[step] = time.perf_counter()

        def finish(step: str) -> None:
            total = progress.tasks[tasks[step]].total or 1
            progress.update(tasks[step], completed=total)
            step_seconds[step] = round(time.perf_counter() - step_started[step], 3)

        try:
            begin("sample")
            if fresh:
                start_over(lake, say)
            try:
                con = connect(lake)  # creates the tables (sql/ddl) on a new lake
                con.close()
            except Exception as error:
                raise StepFailed("sample", f"creating the lake's tables: {error}") from error
            if inputs:
                archive: list[Path] = []
                stream = [Path(f) for f in inputs]
                progress.update(tasks["sample"], description="sample (--input given)")
            else:
                try:
                    sample = prepare_sample(lake, events, days, seed, say)
                except (ValueError, FileExistsError) as error:
                    raise StepFailed("sample", str(error)) from error
                archive = sorted((sample / "archive").glob("dt=*/*.jsonl*"))
                stream = sorted((sample / "stream").glob("*.jsonl*"))
            finish("sample")

            begin("backfill", label=f"backfill ({len(archive)} days)")
            if archive:
                figures = run_backfill(lake, archive, say, skipped)
                if figures:
                    this_run.append(figures)
            finish("backfill")

            begin("ingest", total=max(len(stream), 1), label=f"ingest ({len(stream)} file(s))")
            figures = run_ingest(lake, stream, say,
                                 advance=lambda n: progress.advance(tasks["ingest"], n),
                                 skipped=skipped)
            if figures:
                this_run.append(figures)
            finish("ingest")

            begin("enrich")
            failpoints.reach("enrich.started")
            apply_erasures(lake, say)  # pending erasure requests first
            window = event_date_window(lake)
            say(f"enrich: event dates {window['run_date']} minus {window['lookback_days']} days")
            code = plan_code_rebuild(lake, full_refresh)
            line = code.line(int(window["lookback_days"]) + 1)
            if line:
                say(line)
            before = _analytics_state(lake)
            # what arrived since the last run, whatever its event date (every row when the
            # enrich code changed), committed with its mark (webevents/jobs/arrivals.py)
            run_arrivals_step("enrich", lake, say, everything=code.forced or code.first_build
                              or "enrich" in code.sql_changed)
            record_built(lake, "sql", {"enrich": code.sql_fingerprints["enrich"]})
            after = _analytics_state(lake, before["newest"])
            finish("enrich")

            begin("bots")
            failpoints.reach("bots.started")
            # every event date, as a daily run over the whole lake (erasures change days
            # that nothing arrived on), with the bots mark in the same transaction
            run_arrivals_step("bots", lake, say, also_dates=_window_dates(window))
            record_built(lake, "sql", {"bots": code.sql_fingerprints["bots"]})
            flagged = _analytics_state(lake)["bots"]
            finish("bots")

            begin("dbt")
            # a first build has nothing to compare with: every row is added, so count them
            rebuilt_before = {} if code.first_build else _digests(lake, code.rebuild)
            late_dates, arrived_through = _dbt_late_dates(lake)
            if late_dates:
                say(f"dbt: the marts also rebuild {len(late_dates)} event date(s) from "
                    f"{late_dates[0]} that enrich merged since dbt last built")
            run_dbt(lake, say, advance=lambda done, total: progress.update(
                tasks["dbt"], total=total, completed=done),
                full_refresh=code.rebuild, total_models=code.total_models,
                dbt_vars={arrivals.DBT_VAR: arrivals.dates_text(late_dates)})
            failpoints.reach("dbt.built")
            record_built(lake, "dbt", code.dbt_fingerprints)
            _record_dbt_built(lake, arrived_through, late_dates)
            rebuilt = (_row_counts(lake, code.rebuild) if code.first_build else
                       rebuild.rows_changed(rebuilt_before, _digests(lake, code.rebuild)))
            say_rows_changed(say, rebuilt, one_line=True)
            finish("dbt")

            changes = {
                "code": line,
                "new_events": after["events"] - before["events"],
                # new events dated before the newest day the lake held: they arrived late
                "late_events": after["older"] - before["older"] if before["newest"] else 0,
                "bots_flagged": len(flagged - before["bots"]),
                "bots_unflagged": len(before["bots"] - flagged),
                "rebuilt_models": rebuilt,
                "models_rebuilt_from_scratch": code.rebuild,
            }

            begin("report")
            failpoints.reach("report.started")
            summary = build_summary(lake, this_run, skipped)
            summary["changes"] = changes
            summary["step_seconds"] = step_seconds  # the report step's own time is not in it
            summary["report"] = str(lake / "report.html")
            write_report(lake, summary)  # adds the headline, as the page shows it
            write_summary(lake / SUMMARY_FILE, summary)
            if summary_file:
                write_summary(summary_file, summary)
            failpoints.reach("report.written")
            finish("report")
        except StepFailed:
            raise
        except Exception as error:  # an unexpected error still names its step
            failing = next((s for s in STEPS if not progress.tasks[tasks[s]].finished), "run")
            raise StepFailed(failing, f"{type(error).__name__}: {error}") from error

    print_summary(console, summary, time.perf_counter() - started)
    return summary


SAMPLE_DEFAULTS = {"events": 50_000, "days": 14, "seed": 7}


def sample_options(args) -> tuple[int, int, int]:
    """--events/--days/--seed; those not given are the lake's sample's (so `webevents run`
    works as written on any lake), else the defaults."""
    given = {key: getattr(args, key, None) for key in SAMPLE_DEFAULTS}
    recorded = {}
    if None in given.values() and not getattr(args, "fresh", False):
        try:
            recorded = _recorded_sample(resolve_lake(args.lake, create=False)) or {}
        except Exception:  # no lake yet, or not one: the defaults
            recorded = {}
    values = [given[key] if given[key] is not None else recorded.get(key, default)
              for key, default in SAMPLE_DEFAULTS.items()]
    return values[0], values[1], values[2]


def run_command(args) -> int:
    """`webevents run [--input FILES] [--lake DIR] [--events --days --seed] [--summary FILE]`."""
    console = Console(stderr=True)
    try:
        events, days, seed = sample_options(args)
        run_pipeline(args.lake, args.input, events, days, seed, console=console,
                     summary_file=args.summary, fresh=args.fresh,
                     full_refresh=getattr(args, "full_refresh", False))
    except (LakeError, InputMissing) as error:
        console.print(f"[bold red]webevents run:[/] {escape(str(error))}", highlight=False,
                      soft_wrap=True)
        return 2
    except StepFailed as error:
        if "No space left on device" in str(error):  # the cause, not the statement it hit
            console.print(f"[bold red]step {error.step} failed:[/] No space left on device "
                          f"(lake {args.lake or 'default'}); free some space and run again: "
                          "work committed so far is kept", highlight=False, soft_wrap=True)
            return 1
        # soft_wrap: the terminal wraps, so paths and statements stay whole when copied
        console.print(f"[bold red]step {error.step} failed:[/] {escape(str(error))}",
                      highlight=False, soft_wrap=True)
        return 1
    return 0


# ---- webevents build -----------------------------------------------------------------
def _descendants(models: dict[str, dict], roots: set[str]) -> list[str]:
    """The roots and every model below them, in build order."""
    chosen = set(roots)
    for name, entry in models.items():  # parents come before children in this order
        if set(entry["parents"]) & chosen:
            chosen.add(name)
    return [name for name in models if name in chosen]


def build_models(lake: str | Path | None, selector: str | None, say) -> dict[str, Any]:
    """Rebuild a model and its descendants (or what changed), then the summary and report.

    Returns the rows changed per rebuilt table. A rebuilt model's code is recorded only when
    everything it was built from is current (its parents and the sql/ steps under it), so a
    later `webevents run` still rebuilds what sql/ changes reach.
    """
    lake = resolve_lake(lake, create=False)
    with locked(lake, "build"):
        code = plan_code_rebuild(lake)
        if selector:
            roots = {selector} if selector in code.models else None
            names = (_descendants(code.models, roots) if roots
                     else list(code.models))  # a dbt selector: compare every table
            select = [f"{selector}+"]
        else:
            names = select = code.rebuild
            if not select:
                say("build: no model's code changed since the lake was built; nothing to do "
                    "(name a model to rebuild it anyway)")
        if select:
            say(f"build: dbt build --select {' '.join(select)} --full-refresh")
            before = _digests(lake, names)
            started = time.perf_counter()
            run_dbt(lake, say, select=select)
            say(f"build: dbt took {time.perf_counter() - started:.1f} s")
            rebuilt, current = set(names), {}
            sql_current = code.sql_fingerprints == _recorded_sql(lake)
            for name, entry in code.models.items():  # parents before children
                if name in rebuilt and sql_current and all(
                        parent in current
                        or code.dbt_fingerprints[parent] == code.recorded_dbt.get(parent)
                        for parent in entry["parents"]):
                    current[name] = code.dbt_fingerprints[name]
            record_built(lake, "dbt", current)
            changed = rebuild.rows_changed(before, _digests(lake, names))
            say_rows_changed(say, changed)
        else:
            changed = {}
        previous = {}
        if (lake / SUMMARY_FILE).exists():
            previous = json.loads((lake / SUMMARY_FILE).read_text())
        summary = build_summary(lake, [], [])
        summary["changes"] = {"code": f"webevents build {selector or ''}".strip(),
                              "new_events": 0, "late_events": 0, "bots_flagged": 0,
                              "bots_unflagged": 0, "rebuilt_models": changed,
                              "models_rebuilt_from_scratch": names if select else []}
        summary["step_seconds"] = previous.get("step_seconds", {})
        summary["report"] = str(lake / "report.html")
        write_report(lake, summary)
        write_summary(lake / SUMMARY_FILE, summary)
        say(f"build: report {summary['report']}")
        return changed


def _recorded_sql(lake: Path) -> dict[str, str]:
    con = connect(lake)
    try:
        return rebuild.recorded(con, "sql")
    finally:
        con.close()


def build_command(args) -> int:
    """`webevents build [MODEL_SELECTOR] [--lake DIR]`."""
    console = Console(stderr=True)

    def say(message: str) -> None:
        console.print(f"  {escape(message)}", highlight=False, soft_wrap=True)

    started = time.perf_counter()
    try:
        build_models(args.lake, args.model, say)
    except StepFailed as error:
        console.print(f"[bold red]build failed:[/] {escape(str(error))}", highlight=False,
                      soft_wrap=True)
        return 1
    console.print(f"[bold green]done[/] in {time.perf_counter() - started:.1f} s")
    return 0
