"""`webevents run`: the main job end to end on the local lake, with progress and a summary.

Steps, each stopping the run with a message naming the step (and file or statement):

    sample     generate the sample into <lake>/sample (without --input; reused when present)
    backfill   the archive (<lake>/sample/archive) into raw.web_events through sql/backfill
    ingest     the stream (or --input files) through the Firehose stand-in and the Lambda
    enrich     sql/enrich: raw -> analytics.web_events (dedupe, quality score)
    bots       sql/bots: bot flags and reasons
    dbt        `dbt build --target local`: staging, intermediate, marts
    report     <lake>/report.html

Idempotence: raw.web_events is append-only, so the run keeps a ledger of the input files it
has ingested, by content hash (<lake>/ingested-files.json), and skips them next time. The
backfill is itself re-runnable (it skips events a backfill already landed); enrich, bots and
dbt are merges. Running twice on the same lake and input therefore changes nothing.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from webevents import DBT_DIR, SQL_DIR

LEDGER_FILE = "ingested-files.json"
SAMPLE_DIR = "sample"
SAMPLE_PARAMS_FILE = "sample-params.json"
STEPS = ("sample", "backfill", "ingest", "enrich", "bots", "dbt", "report")


class StepFailed(RuntimeError):
    """A pipeline step failed; `step` names it, the message says what and where."""

    def __init__(self, step: str, message: str):
        super().__init__(message)
        self.step = step


@dataclass
class SourceFigures:
    """Records in and what became of them, for one kind of input."""

    name: str
    records_in: int = 0
    landed: int = 0
    failed: int = 0
    dropped: int = 0
    failed_by_reason: dict[str, int] = field(default_factory=dict)

    def as_dict(self) -> dict:
        return {"name": self.name, "records_in": self.records_in, "landed": self.landed,
                "failed": self.failed, "dropped": self.dropped,
                "failed_by_reason": dict(self.failed_by_reason)}


# ---- the ledger of ingested input files ------------------------------------------------
def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


class Ledger:
    """Input files already ingested into this lake, by content hash, with their figures."""

    def __init__(self, lake: Path):
        self.path = lake / LEDGER_FILE
        self.data = (json.loads(self.path.read_text()) if self.path.exists()
                     else {"files": {}, "archive": None, "stream_batches": []})

    def seen(self, digest: str) -> dict | None:
        return self.data["files"].get(digest)

    def record_files(self, step: str, files: list[tuple[Path, str]]) -> None:
        now = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
        for path, digest in files:
            self.data["files"][digest] = {"path": str(path), "step": step, "ingested_at": now}

    def save(self) -> None:
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps(self.data, indent=1, sort_keys=True))
        tmp.replace(self.path)  # atomic: a crash leaves the old ledger, never half of one

    def figures(self) -> list[SourceFigures]:
        """Cumulative figures per input kind across every run on this lake."""
        result = []
        archive = self.data.get("archive")
        if archive:
            result.append(_figures_from(archive))
        stream = SourceFigures("stream via Firehose stand-in")
        for batch in self.data.get("stream_batches", []):
            stream.records_in += batch["records_in"]
            stream.landed += batch["landed"]
            stream.failed += batch["failed"]
            stream.dropped += batch["dropped"]
            for reason, count in batch.get("failed_by_reason", {}).items():
                stream.failed_by_reason[reason] = stream.failed_by_reason.get(reason, 0) + count
        if self.data.get("stream_batches"):
            result.append(stream)
        return result


def _figures_from(data: dict) -> SourceFigures:
    return SourceFigures(data["name"], data["records_in"], data["landed"], data["failed"],
                         data["dropped"], dict(data.get("failed_by_reason", {})))


# ---- steps ---------------------------------------------------------------------------
def prepare_sample(lake: Path, events: int, days: int, seed: int, say) -> Path:
    """Generate the sample into <lake>/sample once; later runs reuse it (same input)."""
    from webevents.generate import generate_sample

    out = lake / SAMPLE_DIR
    params_path = lake / SAMPLE_PARAMS_FILE
    wanted = {"events": events, "days": days, "seed": seed}
    if params_path.exists() and (out / "truth.jsonl").exists():
        recorded = json.loads(params_path.read_text())
        if {k: recorded.get(k) for k in wanted} == wanted:
            say(f"sample: reusing {out} ({events:,} events, {days} days to "
                f"{recorded['end_date']}, seed {seed})")
            return out
        say(f"sample: parameters changed from {recorded}; generating a new sample")
    end_date = dt.datetime.now(dt.UTC).date() - dt.timedelta(days=1)
    started = time.perf_counter()
    summary = generate_sample(out, events, days, seed, end_date)
    params_path.write_text(json.dumps({**wanted, "end_date": end_date.isoformat()}))
    say(f"sample: {summary.lines:,} lines, {len(summary.archive_files)} archive days + "
        f"{len(summary.stream_files)} stream file(s) in {time.perf_counter() - started:.1f} s")
    return out


def run_backfill(lake: Path, files: list[Path], ledger: Ledger, say,
                 skipped: list[str] | None = None) -> SourceFigures | None:
    """The archive through sql/backfill; skipped when every file is already in the ledger."""
    from webevents.backfill import BackfillError, backfill_files

    hashed = [(path, file_sha256(path)) for path in files]
    new = [path for path, digest in hashed if not ledger.seen(digest)]
    if not new:
        say(f"backfill: all {len(files)} archive file(s) already ingested; skipped")
        if skipped is not None:
            skipped.extend(str(path) for path in files)
        return None
    # the backfill reconciles per archive month and skips events it already landed, so it
    # gets the whole archive: new files join their month's chunk, old ones add nothing
    try:
        summary = backfill_files(files, lake=lake, progress=lambda m: say(f"backfill: {m}"))
    except BackfillError as error:
        raise StepFailed("backfill", str(error)) from error
    rejects = _backfill_rejects_by_reason(lake)
    figures = SourceFigures(
        "archive via sql/backfill",
        records_in=summary.total("source_lines"),
        landed=summary.total("landed_lines"),
        failed=summary.total("rejected_lines"),
        dropped=summary.total("dropped_lines"),
        failed_by_reason=rejects,
    )
    ledger.data["archive"] = figures.as_dict()
    ledger.record_files("backfill", hashed)
    ledger.save()
    return figures


def _backfill_rejects_by_reason(lake: Path) -> dict[str, int]:
    from webevents.engines import EngineError, get_engine

    engine = get_engine("local", lake=lake)
    try:
        _, rows = engine.query(
            "select reason, count(*) from raw.web_events_backfill_rejects group by reason"
        )
    except EngineError:
        return {}
    finally:
        engine.close()
    return {str(reason): int(count) for reason, count in rows}


def run_ingest(lake: Path, files: list[Path], ledger: Ledger, say,
               advance: Callable[[int], None] | None = None,
               skipped: list[str] | None = None) -> SourceFigures | None:
    """Stream files through the Firehose stand-in and the real handler, each file once."""
    from webevents import firehose

    figures = SourceFigures("stream via Firehose stand-in")
    ingested = 0
    for path in files:
        digest = file_sha256(path)
        previous = ledger.seen(digest)
        if previous:
            say(f"ingest: {path.name} already ingested on {previous['ingested_at']} "
                f"(same content as {previous['path']}); skipped")
            if skipped is not None:
                skipped.append(str(path))
            if advance:
                advance(1)
            continue
        try:
            result = firehose.ingest_files([path], lake=lake, progress=False)
        except Exception as error:  # the stand-in raises its own errors; name the file
            raise StepFailed("ingest", f"{path}: {error}") from error
        batch = _ingest_figures(result)
        batch["files"] = [str(path)]
        ledger.data.setdefault("stream_batches", []).append(batch)
        ledger.record_files("ingest", [(path, digest)])
        ledger.save()
        figures.records_in += batch["records_in"]
        figures.landed += batch["landed"]
        figures.failed += batch["failed"]
        figures.dropped += batch["dropped"]
        for reason, count in batch["failed_by_reason"].items():
            figures.failed_by_reason[reason] = figures.failed_by_reason.get(reason, 0) + count
        ingested += 1
        say(f"ingest: {path.name}: {batch['records_in']:,} records = {batch['landed']:,} landed "
            f"+ {batch['failed']:,} failed + {batch['dropped']:,} dropped")
        if advance:
            advance(1)
    return figures if ingested else None


def _ingest_figures(result) -> dict:
    """The Firehose stand-in's IngestSummary as records in / landed / failed / dropped."""
    dropped_reasons = {"empty_record", "dropped"}  # reasons of Dropped records, not failures
    return {
        "records_in": result.records_in,
        "landed": result.ok,
        "failed": result.failed,
        "dropped": result.dropped,
        "failed_by_reason": {str(reason): int(count) for reason, count in result.reasons.items()
                             if reason not in dropped_reasons},
        "error_files": [str(path) for path in result.error_files],
    }


def event_date_window(lake: Path) -> dict[str, str]:
    """run_date / lookback_days covering every event date in raw.web_events."""
    from webevents.engines import get_engine

    engine = get_engine("local", lake=lake)
    try:
        _, rows = engine.query("select min(event_date), max(event_date) from raw.web_events")
    finally:
        engine.close()
    first, last = rows[0]
    if first is None:
        raise StepFailed("enrich", "raw.web_events is empty: nothing was landed")
    first, last = _as_date(first), _as_date(last)
    return {"run_date": last.isoformat(), "lookback_days": str((last - first).days)}


def run_sql_step(step: str, lake: Path, params: dict[str, str], say) -> None:
    """sql/<step>/ on the local engine, file by file, naming the file on failure."""
    from webevents.engines import EngineError
    from webevents.sqlrunner import SqlRunError, run_files

    folder = SQL_DIR / step
    if not any(folder.glob("*.sql")):
        raise StepFailed(step, f"{folder} holds no .sql files")
    try:
        run_files([folder], engine="local", lake=lake, params=params,
                  echo=lambda line: say(f"{step}: {line}"))
    except (SqlRunError, EngineError) as error:
        raise StepFailed(step, str(error)) from error


def run_dbt(lake: Path, say, advance: Callable[[int, int], None] | None = None) -> None:
    """`dbt build --target local` as a subprocess writing into the lake's database."""
    dbt = Path(sys.executable).with_name("dbt")
    if not dbt.exists():
        raise StepFailed("dbt", f"{dbt} not found; run `make venv`")
    work = lake.resolve() / "dbt"
    env = {**os.environ, "DBT_PROFILES_DIR": str(DBT_DIR), "WEBEVENTS_LAKE": str(lake.resolve()),
           "DBT_TARGET": "local", "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"}
    # Unit tests have static inputs and belong to development and CI (tests/dbt runs them);
    # dbt recommends leaving them out of production builds
    # (https://docs.getdbt.com/docs/build/unit-tests), and on a new lake they cannot run
    # before their incremental model exists.
    command = [str(dbt), "--no-use-colors", "build", "--target", "local",
               "--exclude-resource-type", "unit_test", "--project-dir", str(DBT_DIR),
               "--profiles-dir", str(DBT_DIR), "--target-path", str(work / "target"),
               "--log-path", str(work / "logs")]
    progress = re.compile(r"\b(\d+) of (\d+) (OK|PASS|ERROR|FAIL|WARN|SKIP)")
    failures: list[str] = []
    lines: list[str] = []
    with subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          text=True, cwd=str(DBT_DIR)) as process:
        assert process.stdout is not None
        for line in process.stdout:
            line = line.rstrip()
            lines.append(line)
            match = progress.search(line)
            if match:
                done, total, status = int(match[1]), int(match[2]), match[3]
                if advance:
                    advance(done, total)
                if status in ("ERROR", "FAIL"):
                    failures.append(line.split(" of ", 1)[-1].strip())
    if process.returncode != 0:
        completed = next((i for i, line in enumerate(lines) if "Completed with" in line), None)
        detail = "\n".join(lines[completed:] if completed is not None else failures or lines[-25:])
        raise StepFailed(
            "dbt", f"`dbt build --target local` failed (log: {work / 'logs' / 'dbt.log'}):\n"
                   f"{detail}"
        )
    summary = next((line for line in reversed(lines) if "PASS=" in line), "")
    say(f"dbt: {summary.split('Done.', 1)[-1].strip() or 'done'}")


# ---- the run summary -----------------------------------------------------------------
def lake_figures(lake: Path) -> dict[str, Any]:
    """Duplicates removed, bots by reason and the quality distribution, from the tables."""
    from webevents.engines import get_engine

    engine = get_engine("local", lake=lake)
    try:
        def one(sql: str) -> tuple:
            return engine.query(sql)[1][0]

        (raw_rows,) = one("select count(*) from raw.web_events")
        analytics_rows, bots = one(
            "select count(*), count_if(is_bot) from analytics.web_events"
        )
        _, reason_rows = engine.query(
            "select reason, count(*) as events from analytics.web_events "
            "cross join unnest(bot_reasons) as fired(reason) "
            "group by reason order by events desc, reason"
        )
        _, buckets = engine.query(
            "select case when data_quality_score >= 1 then '1.0' "
            "when data_quality_score >= 0.8 then '0.8-1' "
            "when data_quality_score >= 0.5 then '0.5-0.8' else '<0.5' end as bucket, "
            "count(*) from analytics.web_events group by 1 order by 1 desc"
        )
    finally:
        engine.close()
    return {
        "raw_rows": int(raw_rows),
        "analytics_rows": int(analytics_rows),
        "duplicates_removed": int(raw_rows) - int(analytics_rows),
        "bot_events": int(bots or 0),
        "bots_by_reason": {str(r): int(n) for r, n in reason_rows},
        "quality_distribution": {str(b): int(n) for b, n in buckets},
    }


def build_summary(lake: Path, ledger: Ledger, this_run: list[SourceFigures],
                  skipped: list[str]) -> dict[str, Any]:
    sources = ledger.figures()
    total = SourceFigures("all inputs")
    for source in sources:
        total.records_in += source.records_in
        total.landed += source.landed
        total.failed += source.failed
        total.dropped += source.dropped
        for reason, count in source.failed_by_reason.items():
            total.failed_by_reason[reason] = total.failed_by_reason.get(reason, 0) + count
    return {
        "lake": str(lake),
        "finished_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        **total.as_dict(),
        "sources": [source.as_dict() for source in sources],
        "this_run": [source.as_dict() for source in this_run],
        "skipped_files": skipped,
        **lake_figures(lake),
    }


def print_summary(console, summary: dict, seconds: float) -> None:
    from rich.table import Table

    table = Table(title="Reconciliation (all inputs ever ingested into this lake)",
                  title_justify="left")
    for column in ("input", "records in", "landed", "failed", "dropped", "balanced"):
        table.add_column(column, justify="left" if column == "input" else "right")
    for source in summary["sources"] + [summary]:
        balanced = source["records_in"] == source["landed"] + source["failed"] + source["dropped"]
        table.add_row(source["name"], f"{source['records_in']:,}", f"{source['landed']:,}",
                      f"{source['failed']:,}", f"{source['dropped']:,}",
                      "[green]yes[/]" if balanced else "[red]NO[/]",
                      style="bold" if source is summary else None)
    console.print(table)
    reasons = ", ".join(f"{k} {v:,}" for k, v in sorted(summary["failed_by_reason"].items()))
    console.print(f"failed by reason: {reasons or 'none'} (error output with each record)")
    console.print(
        f"duplicates removed: {summary['duplicates_removed']:,} "
        f"(raw {summary['raw_rows']:,} rows -> analytics {summary['analytics_rows']:,} events)"
    )
    bots = ", ".join(f"{k} {v:,}" for k, v in summary["bots_by_reason"].items())
    share = summary["bot_events"] / summary["analytics_rows"] if summary["analytics_rows"] else 0
    console.print(f"bots flagged: {summary['bot_events']:,} events ({share:.1%}); "
                  f"by reason: {bots or 'none'}")
    quality = ", ".join(f"{k}: {v:,}" for k, v in summary["quality_distribution"].items())
    console.print(f"quality score distribution: {quality}")
    if summary["skipped_files"]:
        console.print(f"skipped {len(summary['skipped_files'])} input file(s) already ingested "
                      "into this lake (same content hash); raw.web_events is append-only")
    console.print(f"[bold green]done[/] in {seconds:.1f} s; report: {summary['report']}")


# ---- the command ---------------------------------------------------------------------
def run_pipeline(lake: str | Path | None = None, inputs: list[str] | None = None,
                 events: int = 50_000, days: int = 14, seed: int = 7,
                 console=None) -> dict[str, Any]:
    """Every step in order; returns the run summary; raises StepFailed naming the step."""
    from rich.console import Console
    from rich.markup import escape
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from webevents.lake import connect, resolve_lake
    from webevents.report import SUMMARY_FILE, write_report

    console = console or Console(stderr=True)
    lake = resolve_lake(lake)
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
            try:
                con = connect(lake)  # creates the tables (sql/ddl) on a new lake
                con.close()
            except Exception as error:
                raise StepFailed("sample", f"creating the lake's tables: {error}") from error
            if inputs:
                archive: list[Path] = []
                stream = [Path(f) for f in inputs]
                missing = [str(p) for p in stream if not p.is_file()]
                if missing:
                    raise StepFailed("sample", f"input file(s) not found: {', '.join(missing)}")
                progress.update(tasks["sample"], description="sample (--input given)")
            else:
                try:
                    sample = prepare_sample(lake, events, days, seed, say)
                except (ValueError, FileExistsError) as error:
                    raise StepFailed("sample", str(error)) from error
                archive = sorted((sample / "archive").glob("dt=*/*.jsonl*"))
                stream = sorted((sample / "stream").glob("*.jsonl*"))
            finish("sample")

            ledger = Ledger(lake)
            begin("backfill", label=f"backfill ({len(archive)} days)")
            if archive:
                figures = run_backfill(lake, archive, ledger, say, skipped)
                if figures:
                    this_run.append(figures)
            finish("backfill")

            begin("ingest", total=max(len(stream), 1), label=f"ingest ({len(stream)} file(s))")
            figures = run_ingest(lake, stream, ledger, say,
                                 advance=lambda n: progress.advance(tasks["ingest"], n),
                                 skipped=skipped)
            if figures:
                this_run.append(figures)
            finish("ingest")

            begin("enrich")
            from webevents.erasure import apply_erasures  # pending requests first (issue 17)
            apply_erasures(lake, say)
            window = event_date_window(lake)
            say(f"enrich: event dates {window['run_date']} minus {window['lookback_days']} days")
            run_sql_step("enrich", lake, window, say)
            finish("enrich")

            begin("bots")
            run_sql_step("bots", lake, window, say)
            finish("bots")

            begin("dbt")
            run_dbt(lake, say, advance=lambda done, total: progress.update(
                tasks["dbt"], total=total, completed=done))
            finish("dbt")

            begin("report")
            summary = build_summary(lake, ledger, this_run, skipped)
            summary["step_seconds"] = step_seconds  # the report step's own time is not in it
            summary["report"] = str(lake / "report.html")
            (lake / SUMMARY_FILE).write_text(json.dumps(summary, indent=1, default=str))
            write_report(lake, summary)
            finish("report")
        except StepFailed:
            raise
        except Exception as error:  # an unexpected error still names its step
            failing = next((s for s in STEPS if not progress.tasks[tasks[s]].finished), "run")
            raise StepFailed(failing, f"{type(error).__name__}: {error}") from error

    print_summary(console, summary, time.perf_counter() - started)
    return summary


def run_command(args) -> int:
    """`webevents run [--input FILES] [--lake DIR] [--events --days --seed]`."""
    from rich.console import Console
    from rich.markup import escape

    console = Console(stderr=True)
    try:
        run_pipeline(args.lake, args.input, args.events, args.days, args.seed, console=console)
    except StepFailed as error:
        # soft_wrap: the terminal wraps, so paths and statements stay whole when copied
        console.print(f"[bold red]step {error.step} failed:[/] {escape(str(error))}",
                      highlight=False, soft_wrap=True)
        return 1
    return 0


def _as_date(value) -> dt.date:
    return value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value)[:10])
