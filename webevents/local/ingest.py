"""The local Firehose stand-in: JSON-lines files through the real transform Lambda into the lake.

It does what Firehose does around a transformation Lambda, and nothing more:

- batches records by the processor buffer size hint (data bytes), gives each a recordId
  and an approximateArrivalTimestamp, base64-encodes the data, and calls
  `transform_lambda/app.py:lambda_handler` in-process;
- applies the answer: Ok rows are appended to the table their `otfMetadata` routes them to
  (`raw.web_events`), ProcessingFailed records are written as error output under
  `<lake>/processing-failed/` in Firehose's error-record format, Dropped records are counted;
- keeps the handler's logs and EMF metrics as CloudWatch would, in `<lake>/logs/`.

Re-ingesting a file appends its events again: raw is append-only, dedupe happens downstream.
"""

from __future__ import annotations

import binascii
import contextlib
import gzip
import io
import json
import multiprocessing
import os
import shutil
import sys
import tempfile
import time
import uuid
import zlib
from collections import Counter, deque
from collections.abc import Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb

from webevents import clock, failpoints, lambda_module
from webevents.engines.local import connect
from webevents.local import ledger
from webevents.local.lake import LakeError, locked, resolve_lake

LOCAL_STREAM_NAME = "webevents-local"
LOCAL_LAMBDA_ARN = "arn:aws:lambda:local:000000000000:function:webevents-transform"
DEFAULT_BUFFER_MB = 0.2  # the template's processor buffer size (docs/lambda.md)
FLUSH_ROWS = 200_000  # Ok rows held before a bulk insert into DuckDB
PROGRESS_MIN_BYTES = 20 * 1024 * 1024  # show a progress bar from this much input on
PARALLEL_MIN_BYTES = 32 * 1024 * 1024  # below this, worker start-up costs more than it saves
ERROR_OUTPUT_DIR = "processing-failed"
DROPPED_REASONS = frozenset({"empty_record", "dropped"})  # reasons of Dropped records
PENDING_PREFIX = ".pending-"

# The landing columns as DuckDB reads the Lambda's JSON, and how each becomes its table type.
# Timestamps arrive as epoch microseconds, dates as 'YYYY-MM-DD' (docs/landing-normalisation.md §7).
_JSON_COLUMN_TYPES = {
    "timestamp": "BIGINT",
    "date": "VARCHAR",
    "string": "VARCHAR",
    "int": "INTEGER",
    "struct<pitch: double, yaw: double, hfov: double>": (
        "STRUCT(pitch DOUBLE, yaw DOUBLE, hfov DOUBLE)"
    ),
}


class UnreadableInput(ValueError):
    """An input file could not be read to its end (a truncated .gz, say); it names the file."""


@dataclass
class IngestSummary:
    """What one ingest did; records_in always equals ok + failed + dropped."""

    files: int = 0
    records_in: int = 0
    ok: int = 0
    failed: int = 0
    dropped: int = 0
    batches: int = 0
    input_bytes: int = 0
    seconds: float = 0.0
    reasons: Counter = field(default_factory=Counter)
    error_files: list[Path] = field(default_factory=list)
    tables: Counter = field(default_factory=Counter)
    skipped: list[tuple[Path, dict]] = field(default_factory=list)  # (file, its ledger row)

    def add(self, other: IngestSummary) -> None:
        """Fold one file's figures into these."""
        for name in ("files", "records_in", "ok", "failed", "dropped", "batches", "input_bytes"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.reasons.update(other.reasons)
        self.tables.update(other.tables)

    @property
    def adds_up(self) -> bool:
        return self.records_in == self.ok + self.failed + self.dropped

    def as_dict(self) -> dict[str, Any]:
        return {
            "files": self.files,
            "records_in": self.records_in,
            "ok": self.ok,
            "failed": self.failed,
            "dropped": self.dropped,
            "batches": self.batches,
            "input_bytes": self.input_bytes,
            "seconds": round(self.seconds, 3),
            "reasons": dict(self.reasons),
            "error_files": [str(path) for path in self.error_files],
            "tables": dict(self.tables),
            "skipped_files": [str(path) for path, _ in self.skipped],
        }


@dataclass
class _LocalContext:
    """The Lambda context the runtime would pass."""

    function_name: str = "webevents-transform"
    memory_limit_in_mb: int = 1024
    invoked_function_arn: str = LOCAL_LAMBDA_ARN
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))


def _load_handler():
    """Import the Lambda as Lambda does: its folder is the root of its imports."""
    return lambda_module("app"), lambda_module("landing_contract")


class LineReader:
    """The records of a JSON-lines file (plain or .gz), one per line, without the line break.

    Lines end where the archive's text reader ends them (`transpile.text_lines`, as
    Athena's: LF, CR or CR LF), so a file gives the same records to the stream and to the
    backfill; a bare CR cannot sit inside a JSON value, which must escape it.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self.raw = open(path, "rb")  # noqa: SIM115 - closed by __exit__
        self.lines = gzip.GzipFile(fileobj=self.raw) if path.suffix == ".gz" else self.raw

    def position(self) -> int:
        """Bytes of the file (compressed, for .gz) read so far: what the progress bar shows."""
        return self.raw.tell()

    def __iter__(self) -> Iterator[bytes]:
        for line in self.lines:
            if line.endswith(b"\n"):
                line = line[:-1]
            if line.endswith(b"\r"):
                line = line[:-1]
            if b"\r" in line:
                yield from line.split(b"\r")
            else:
                yield line

    def __enter__(self) -> LineReader:
        return self

    def __exit__(self, *exc_info) -> None:
        self.lines.close()
        self.raw.close()


def firehose_batches(
    lines: Iterable[bytes], buffer_bytes: int, id_prefix: str
) -> Iterator[tuple[list[dict[str, Any]], int]]:
    """(records, data bytes) as Firehose hands them to the Lambda: up to buffer_bytes each.

    A record larger than the buffer travels alone, as in Firehose.
    """
    batch: list[dict[str, Any]] = []
    size = 0
    for sequence, line in enumerate(lines, start=1):
        if batch and size + len(line) > buffer_bytes:
            yield batch, size
            batch, size = [], 0
        batch.append(
            {
                # Firehose record ids are opaque strings; these sort in arrival order.
                "recordId": f"{id_prefix}{sequence:012d}",
                "approximateArrivalTimestamp": clock.epoch_millis(),
                "data": binascii.b2a_base64(line, newline=False).decode("ascii"),
            }
        )
        size += len(line)
    if batch:
        yield batch, size


class _ErrorOutput:
    """Firehose's processing-failed error output: JSON lines under processing-failed/YYYY/MM/DD/HH/.

    Record format: "Handle failure in data transformation",
    https://docs.aws.amazon.com/firehose/latest/dev/data-transformation-failure-handling.html
    Firehose writes the fixed errorCode/errorMessage below for ProcessingFailed records; the
    handler's reason code is only in its logs, so locally it is added as an extra `reason`.

    Records go to a `.pending-` file first; `publish()` renames it into place once the
    input file's rows and ledger row are committed, so a killed ingest leaves no error
    output for records a re-run will fail (and write) again.
    """

    def __init__(self, lake: Path) -> None:
        self.lake = lake
        self.handle = None
        self.path: Path | None = None  # the published name

    @property
    def pending(self) -> Path | None:
        return self.path.with_name(PENDING_PREFIX + self.path.name) if self.path else None

    def write(self, record: dict[str, Any], reason: str | None) -> None:
        now_ms = clock.epoch_millis()
        if self.handle is None:
            started = clock.now()
            folder = self.lake / ERROR_OUTPUT_DIR / started.strftime("%Y/%m/%d/%H")
            folder.mkdir(parents=True, exist_ok=True)
            name = f"{LOCAL_STREAM_NAME}-1-{started:%Y-%m-%d-%H-%M-%S}-{uuid.uuid4()}"
            self.path = folder / name
            self.handle = open(self.pending, "w", encoding="utf-8")  # noqa: SIM115 - closed in close()
        entry = {
            "attemptsMade": 1,
            "arrivalTimestamp": record["approximateArrivalTimestamp"],
            "errorCode": "Lambda.ProcessingFailedStatus",
            "errorMessage": "ProcessingFailed status set for record",
            "attemptEndingTimestamp": now_ms,
            "rawData": record["data"],
            "lambdaArn": LOCAL_LAMBDA_ARN,
            "reason": reason,
        }
        self.handle.write(json.dumps(entry, separators=(",", ":")) + "\n")

    def close(self) -> None:
        if self.handle is not None:
            self.handle.flush()
            os.fsync(self.handle.fileno())
            self.handle.close()
            self.handle = None

    def publish(self) -> None:
        self.close()
        if self.path is not None:
            self.pending.replace(self.path)

    def discard(self) -> None:
        self.close()
        if self.path is not None:
            self.pending.unlink(missing_ok=True)
            self.path = None


def recover(lake: Path, con) -> None:
    """Finish or undo what a killed ingest left: pending error output, scratch folders.

    A pending error file whose name the ledger holds belongs to a committed input file
    and is published; any other was written by an attempt that did not commit and goes.
    Call with the lake's connection open: DuckDB lets one process write, so no other
    ingest is running.
    """
    committed = {row["error_file"] for row in ledger.rows(con) if row["error_file"]}
    for pending in (lake / ERROR_OUTPUT_DIR).rglob(PENDING_PREFIX + "*"):
        final = pending.with_name(pending.name[len(PENDING_PREFIX):])
        if str(final) in committed:
            pending.replace(final)
        else:
            pending.unlink()
    for scratch in lake.glob(".ingest-*"):
        shutil.rmtree(scratch, ignore_errors=True)


class _RowSink:
    """Ok rows, held as the Lambda's JSON lines and bulk-inserted by DuckDB's JSON reader."""

    def __init__(self, con, landing_contract, scratch: Path) -> None:
        self.con = con
        self.scratch = scratch
        self.pending: dict[str, list[bytes]] = {}
        self.count = 0
        columns = landing_contract.LANDING_COLUMNS
        self.names = [name for name, _, _ in columns]
        json_types = ", ".join(
            f"'{name}': '{_JSON_COLUMN_TYPES[kind]}'" for name, kind, _ in columns
        )
        selected = ", ".join(
            f"make_timestamp({name})"
            if kind == "timestamp"
            else f"cast({name} as date)"
            if kind == "date"
            else name
            for name, kind, _ in columns
        )
        self.select = (
            f"select {selected} from read_json(?, format = 'newline_delimited', "
            f"columns = {{{json_types}}})"
        )

    def add(self, table: str, row_json: bytes) -> None:
        self.pending.setdefault(table, []).append(row_json)
        self.count += 1
        if self.count >= FLUSH_ROWS:
            self.flush()

    def flush(self) -> None:
        for table, rows in self.pending.items():
            if not rows:
                continue
            path = self.scratch / f"rows-{uuid.uuid4().hex}.jsonl"
            path.write_bytes(b"\n".join(rows) + b"\n")
            try:
                self.con.execute(
                    f"insert into {table} ({', '.join(self.names)}) {self.select}", [str(path)]
                )
            finally:
                path.unlink()
        self.pending = {}
        self.count = 0


def _routed_table(answer: dict[str, Any]) -> str:
    routing = answer.get("metadata", {}).get("otfMetadata", {})
    database = routing.get("destinationDatabaseName", "raw")
    table = routing.get("destinationTableName", "web_events")
    return f"{database}.{table}"


def ingest_files(
    paths: Iterable[str | os.PathLike],
    lake: str | os.PathLike | None = None,
    buffer_mb: float = DEFAULT_BUFFER_MB,
    progress: bool | None = None,
    con=None,
    workers: int | None = None,
    once: bool = True,
) -> IngestSummary:
    """Send JSON-lines files through the Firehose stand-in and the real Lambda into the lake.

    Each file is one unit of work: its rows, its ledger row and (published right after)
    its error output commit together, so a killed ingest re-run resumes with the first
    file not committed. A file whose content the ledger already holds is skipped.

    `progress=None` shows a bar when the input is large and the terminal interactive.
    Pass an open lake connection as `con` to reuse it (it is left open). `workers` is how
    many handler invocations run at once (Firehose runs several too); None = 1 for small
    inputs, else up to 4 processes. `once=False` ingests a file even when the ledger holds
    its content (the local collector: two identical requests are two puts, as on Kinesis);
    it is still recorded, under its own ledger key, so the reconciliation counts it.
    """
    if buffer_mb <= 0:
        raise ValueError("--buffer-mb must be positive")
    app, landing_contract = _load_handler()
    paths = [Path(path) for path in paths]
    folders = [str(path) for path in paths if path.is_dir()]
    if folders:
        raise FileNotFoundError(f"{', '.join(folders)}: a folder, not a file; give the "
                                "JSON-lines files in it (e.g. folder/*.jsonl)")
    missing = [str(path) for path in paths if not path.is_file()]
    if missing:
        raise FileNotFoundError(f"no such file: {', '.join(missing)}")
    lake_dir = resolve_lake(lake)
    own_connection = con is None
    con = con or connect(lake_dir)
    summary = IngestSummary()
    total_bytes = sum(path.stat().st_size for path in paths)
    if progress is None:
        progress = total_bytes >= PROGRESS_MIN_BYTES and sys.stderr.isatty()
    log_dir = lake_dir / "logs"
    log_dir.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    run_id = f"{clock.epoch_millis():013d}{os.getpid() % 10_000:04d}"

    bar = _progress_bar() if progress else contextlib.nullcontext()
    if workers is None:
        workers = 1 if total_bytes < PARALLEL_MIN_BYTES else min(4, os.cpu_count() or 1)
    try:
        ledger.ensure(con, lake_dir)
        recover(lake_dir, con)
        with (
            tempfile.TemporaryDirectory(dir=lake_dir, prefix=".ingest-") as scratch,
            open(log_dir / "transform-lambda.jsonl", "a", encoding="utf-8") as log_file,
            _Invoker(workers) as invoker,
            bar as bar_progress,
        ):
            sink = _RowSink(con, landing_contract, Path(scratch))
            task = bar_progress.add_task("ingest", total=total_bytes) if progress else None
            done_bytes = 0
            for file_index, path in enumerate(paths):
                digest = ledger.file_sha256(path)
                if not once:
                    digest = f"{digest}-{uuid.uuid4().hex[:12]}"
                previous = ledger.seen(con, digest)
                if previous:
                    summary.skipped.append((path, previous))
                else:
                    _ingest_one(path, digest, f"{run_id}{file_index:05d}", buffer_mb, con,
                                sink, invoker, log_file, lake_dir, summary,
                                lambda position, base=done_bytes: task is not None
                                and bar_progress.update(task, completed=base + position))
                done_bytes += path.stat().st_size
    finally:
        if own_connection:
            con.close()
    summary.seconds = time.perf_counter() - started
    if not summary.adds_up:  # a broken handler contract must never pass silently
        raise RuntimeError(f"ingest does not add up: {summary.as_dict()}")
    return summary


def _ingest_one(path: Path, digest: str, id_prefix: str, buffer_mb: float, con, sink,
                invoker, log_file, lake_dir: Path, summary: IngestSummary, advance) -> None:
    """One input file in one transaction with its ledger row; error output published after."""
    figures = IngestSummary(files=1)
    errors = _ErrorOutput(lake_dir)
    con.execute("begin transaction")
    try:
        with LineReader(path) as reader:
            batches = firehose_batches(reader, int(buffer_mb * 1024 * 1024), id_prefix)
            events = ((_firehose_event(batch), size) for batch, size in batches)
            for event, response, reasons, logged, size in invoker.run(events):
                log_file.write(logged)
                _apply(response, event["records"], reasons, sink, errors, figures)
                figures.input_bytes += size
                advance(reader.position())
        sink.flush()
        errors.close()  # on disk before the commit names it
        ledger.record(con, digest, path, "ingest", records_in=figures.records_in,
                      landed=figures.ok, failed=figures.failed, dropped=figures.dropped,
                      failed_by_reason={reason: count for reason, count in figures.reasons.items()
                                        if reason not in DROPPED_REASONS},
                      error_file=errors.path)
        failpoints.reach("ingest.rows_written")
        con.execute("commit")
    except (EOFError, gzip.BadGzipFile, zlib.error) as error:  # a truncated or fake .gz
        sink.pending = {}
        sink.count = 0
        with contextlib.suppress(Exception):
            con.execute("rollback")
        errors.discard()
        raise UnreadableInput(f"{path}: cannot be read ({error}); nothing of it was "
                              "ingested") from None
    except BaseException:
        sink.pending = {}
        sink.count = 0
        with contextlib.suppress(Exception):
            con.execute("rollback")
        errors.discard()
        raise
    failpoints.reach("ingest.committed")
    errors.publish()
    summary.add(figures)
    if errors.path is not None:
        summary.error_files.append(errors.path)


def _firehose_event(records: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "invocationId": str(uuid.uuid4()),
        "deliveryStreamArn": f"arn:aws:firehose:local:000000000000:deliverystream/"
        f"{LOCAL_STREAM_NAME}",
        "region": "local",
        "records": records,
    }


def invoke_handler(event: dict[str, Any]) -> tuple[dict[str, Any], dict[str, str], str]:
    """Call the real handler once: (response, recordId -> reason, its log output).

    Its logs and EMF lines are captured as CloudWatch would keep them; the reasons are read
    back from its "record not landed" log lines, the only place the handler reports them.
    """
    app, _ = _load_handler()
    captured = io.StringIO()
    handler = app.logger.registered_handler
    previous = handler.setStream(captured)
    try:
        with contextlib.redirect_stdout(captured):
            response = app.lambda_handler(event, _LocalContext())
    finally:
        handler.setStream(previous)
    logged = captured.getvalue()
    reasons: dict[str, str] = {}
    for line in logged.splitlines():
        if '"record not landed"' in line:
            entry = json.loads(line)
            reasons[entry["recordId"]] = entry["reason"]
    return response, reasons, logged


class _Invoker:
    """Runs handler invocations in order, in-process or on a few worker processes."""

    def __init__(self, workers: int) -> None:
        self.workers = max(1, workers)
        self.pool = None

    def __enter__(self) -> _Invoker:
        if self.workers > 1:
            # spawn, not fork: the parent holds a DuckDB connection and its threads.
            context = multiprocessing.get_context("spawn")
            self.pool = ProcessPoolExecutor(self.workers, mp_context=context)
        return self

    def __exit__(self, *exc_info) -> None:
        if self.pool is not None:
            self.pool.shutdown(cancel_futures=True)

    def run(self, events: Iterable[tuple[dict[str, Any], int]]):
        """Yield (event, response, reasons, logs, data bytes) in input order."""
        if self.pool is None:
            for event, data_bytes in events:
                yield (event, *invoke_handler(event), data_bytes)
            return
        window: deque = deque()
        for event, data_bytes in events:
            window.append((event, self.pool.submit(invoke_handler, event), data_bytes))
            if len(window) >= 2 * self.workers:  # bounded: big inputs never sit in memory
                event_done, future, size = window.popleft()
                yield (event_done, *future.result(), size)
        while window:
            event_done, future, size = window.popleft()
            yield (event_done, *future.result(), size)


def _apply(
    response: dict[str, Any],
    batch: list[dict[str, Any]],
    reasons: dict[str, str],
    sink: _RowSink,
    errors: _ErrorOutput,
    summary: IngestSummary,
) -> None:
    """What Firehose does with the answer; a missing or unknown answer counts as failed."""
    summary.batches += 1
    answers = {answer.get("recordId"): answer for answer in response.get("records", [])}
    a2b = binascii.a2b_base64
    for record in batch:
        summary.records_in += 1
        answer = answers.get(record["recordId"])
        result = answer.get("result") if answer else None
        if result == "Ok":
            table = _routed_table(answer)
            sink.add(table, a2b(answer["data"]))
            summary.ok += 1
            summary.tables[table] += 1
        elif result == "Dropped":
            summary.dropped += 1
            summary.reasons[reasons.get(record["recordId"], "dropped")] += 1
        else:
            # Firehose fails a record whose answer is missing or malformed, too.
            reason = reasons.get(record["recordId"], "no_valid_answer")
            errors.write(record, reason)
            summary.failed += 1
            summary.reasons[reason] += 1


def transform_lines(
    lines: Iterable[bytes], buffer_mb: float = DEFAULT_BUFFER_MB, id_prefix: str = "replay"
) -> Iterator[tuple[str, str | None, bytes | None, str | None]]:
    """Each line's answer from the real handler, in input order: (result, table, row, reason).

    The same batching and answer rules as `ingest_files`, but the caller decides where rows
    and failures go: `webevents replay` must not write a failing record's error output again.
    """
    a2b = binascii.a2b_base64
    for batch, _size in firehose_batches(lines, int(buffer_mb * 1024 * 1024), id_prefix):
        response, reasons, _logged = invoke_handler(_firehose_event(batch))
        answers = {answer.get("recordId"): answer for answer in response.get("records", [])}
        for record in batch:
            answer = answers.get(record["recordId"])
            result = answer.get("result") if answer else None
            if result == "Ok":
                yield "Ok", _routed_table(answer), a2b(answer["data"]), None
            elif result == "Dropped":
                yield "Dropped", None, None, reasons.get(record["recordId"], "dropped")
            else:
                yield "ProcessingFailed", None, None, reasons.get(record["recordId"],
                                                                  "no_valid_answer")


def row_sink(con, scratch: Path) -> _RowSink:
    """A bulk inserter of the Lambda's landing-row JSON: `add(table, row_json)`, `flush()`."""
    _, landing_contract = _load_handler()
    return _RowSink(con, landing_contract, scratch)


def _progress_bar():
    # rich.progress and rich.table load in ~85 ms (python -X importtime); the
    # spawned transform workers import this module, so only the summary pays for them.
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        DownloadColumn,
        Progress,
        TextColumn,
        TimeRemainingColumn,
        TransferSpeedColumn,
    )

    return Progress(
        TextColumn("[bold]ingest"),
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        TimeRemainingColumn(),
        console=Console(stderr=True),  # stdout stays for the summary
        transient=True,
    )


def print_summary(summary: IngestSummary, lake: Path) -> None:
    """The summary table: in = ok + failed + dropped, by reason, and where things went."""
    # rich.progress and rich.table load in ~85 ms (python -X importtime); the
    # spawned transform workers import this module, so only the summary pays for them.
    from rich.console import Console
    from rich.table import Table

    console = Console()
    table = Table(title="webevents ingest", show_header=True, header_style="bold")
    table.add_column("records")
    table.add_column("count", justify="right")
    table.add_row("in", f"{summary.records_in:,}")
    for name, count in summary.tables.items():
        table.add_row(f"ok → {name}", f"{count:,}")
    if not summary.tables:
        table.add_row("ok", "0")
    # each reason under the row it explains: failure reasons under failed, drop rules under
    # dropped
    table.add_row("failed → processing-failed/", f"{summary.failed:,}")
    for reason, count in sorted(summary.reasons.items()):
        if reason not in DROPPED_REASONS:
            table.add_row(f"  reason: {reason}", f"{count:,}")
    table.add_row("dropped", f"{summary.dropped:,}")
    for reason, count in sorted(summary.reasons.items()):
        if reason in DROPPED_REASONS:
            table.add_row(f"  rule: {reason}", f"{count:,}")
    console.print(table)
    rate = summary.records_in / summary.seconds if summary.seconds else 0.0
    console.print(
        f"{summary.files} file(s), {summary.batches:,} Lambda invocations, "
        f"{summary.input_bytes / 1e6:,.1f} MB in {summary.seconds:.1f} s ({rate:,.0f} records/s); "
        f"in = ok + failed + dropped: "
        f"{summary.records_in:,} = {summary.ok:,} + {summary.failed:,} + {summary.dropped:,}"
    )
    for path in summary.error_files:
        console.print(f"error output: {path}")
    for path, previous in summary.skipped:
        console.print(f"skipped {path}: the same content was ingested on "
                      f"{previous['loaded_at']:%Y-%m-%d %H:%M} (from {previous['path']})")
    console.print(f"lake: {lake}  (handler logs: {lake / 'logs' / 'transform-lambda.jsonl'})")


def ingest_command(args) -> int:
    """`webevents ingest FILES [--lake DIR] [--buffer-mb N]`."""
    buffer_mb = getattr(args, "buffer_mb", None) or DEFAULT_BUFFER_MB
    try:
        lake = resolve_lake(getattr(args, "lake", None))
        with locked(lake, "ingest"):
            summary = ingest_files(args.files, lake=lake, buffer_mb=buffer_mb)
    except (FileNotFoundError, ValueError, LakeError) as error:
        print(f"webevents ingest: {error}", file=sys.stderr)
        return 2
    except (OSError, duckdb.Error) as error:  # disk full, say: the file's unit rolled back
        print(f"webevents ingest: {error}; files committed before it are kept, run the same "
              "command again to resume", file=sys.stderr)
        return 1
    print_summary(summary, lake)
    if getattr(args, "summary", None):
        # Here, not at the top: the reconciliation (local/reconcile.py) reads this module's
        # error output, so it imports this module.
        from webevents.local.reconcile import build_summary, stream_source_figures, write_summary

        this_run = [stream_source_figures(summary)] if summary.files else []
        write_summary(args.summary, build_summary(
            lake, this_run, [str(path) for path, _ in summary.skipped]))
    return 0
