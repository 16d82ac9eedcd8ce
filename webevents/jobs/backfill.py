"""`webevents backfill`: the historical JSON archive into raw.web_events through sql/backfill.

The archive is laid out as S3 holds it, `<root>/dt=YYYY-MM-DD/<file>.jsonl[.gz]`. Each
chunk (one calendar month of archive days at most, well under Athena's 100 partitions
per statement) runs the same Athena SQL that runs in production:

    stage delete + insert  -> every line normalised once, with outcome and reason
    rejects delete + insert -> rejected lines with their reason
    raw insert             -> good lines, per event-date range of < 100 dates, skipping
                              events a backfill already landed (so re-runs add nothing)
    loads merge + check    -> source lines = landed + rejected + dropped, or it fails.
"""

from __future__ import annotations

import datetime as dt
import gzip
import os
import re
import shutil
import sys
import tempfile
import time
import zlib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from webevents import SQL_DIR, clock, failpoints
from webevents.engines import get_engine
from webevents.jobs.sql import SqlRunError, run_files, run_order
from webevents.local import ledger
from webevents.local.lake import LakeError, locked, resolve_lake

BACKFILL_SQL = SQL_DIR / "backfill"
MAX_DATES_PER_INSERT = 90  # Athena: at most 100 partitions written per statement
_DAY_FOLDER = re.compile(r"(?:^|/)dt=(\d{4}-\d{2}-\d{2})(?:/|$)")


class BackfillError(RuntimeError):
    """The backfill could not run, or a chunk did not reconcile; the message says which."""


@dataclass
class ChunkResult:
    """One chunk's reconciliation, as recorded in raw.web_events_backfill_loads."""

    date_from: dt.date
    date_to: dt.date
    source_lines: int
    landed_lines: int
    rejected_lines: int
    dropped_lines: int
    inserted_rows: int
    seconds: float

    @property
    def unaccounted_lines(self) -> int:
        return self.source_lines - self.landed_lines - self.rejected_lines - self.dropped_lines


@dataclass
class BackfillSummary:
    """What a backfill did, chunk by chunk."""

    chunks: list[ChunkResult] = field(default_factory=list)

    def total(self, name: str) -> int:
        return sum(getattr(chunk, name) for chunk in self.chunks)


def archive_day(path: Path) -> dt.date:
    """The archive day of a file from its `dt=YYYY-MM-DD` folder."""
    match = _DAY_FOLDER.search(path.as_posix())
    if not match:
        raise BackfillError(
            f"{path}: no dt=YYYY-MM-DD folder in the path; put archive files under "
            "<archive>/dt=YYYY-MM-DD/ as the S3 archive holds them"
        )
    try:
        return dt.date.fromisoformat(match.group(1))
    except ValueError:
        raise BackfillError(f"{path}: {match.group(1)} is not a calendar date") from None


def month_chunks(days: Iterable[dt.date]) -> list[tuple[dt.date, dt.date]]:
    """(first, last) archive day per calendar month that has files: stable chunk keys."""
    chunks: dict[tuple[int, int], list[dt.date]] = {}
    for day in sorted(set(days)):
        chunks.setdefault((day.year, day.month), []).append(day)
    return [(min(days), max(days)) for days in chunks.values()]


def date_ranges(dates: Sequence[dt.date], size: int = MAX_DATES_PER_INSERT) -> list[tuple]:
    """Sorted dates cut into (first, last) ranges holding at most `size` of them."""
    ordered = sorted(set(dates))
    return [(group[0], group[-1]) for group in
            (ordered[i:i + size] for i in range(0, len(ordered), size))]


def _archive_location(files: Sequence[Path], workdir: Path) -> Path:
    """A folder whose dt=*/ subfolders hold exactly `files` on the days they cover.

    The chunks filter on dt, so when the files are all the files of their days under one
    archive root, that root is used as it is (and the rejects name the real files).
    Otherwise the files are linked (hard links; copies across file systems) into
    workdir: DuckDB's globbing does not follow symbolic links.
    """
    days = {archive_day(file) for file in files}
    roots = {file.resolve().parent.parent for file in files}
    if len(roots) == 1:
        root = roots.pop()
        present = {
            p.resolve() for p in root.glob("dt=*/*")
            if p.is_file() and _DAY_FOLDER.search(p.as_posix()) and archive_day(p) in days
        }
        if present == {file.resolve() for file in files}:
            return root
    for index, file in enumerate(files):
        folder = workdir / f"dt={archive_day(file).isoformat()}"
        folder.mkdir(parents=True, exist_ok=True)
        target = folder / f"{index:05d}-{file.name}"
        try:
            os.link(file.resolve(), target)
        except OSError:
            shutil.copyfile(file, target)
    return workdir


def with_files_loaded_before(files: list[Path], connection) -> list[Path]:
    """`files` plus the files loaded before for the same archive days (the lake's ledger).

    A chunk replaces its days' stage and rejects whole, as on Athena, where a day is every
    file under its dt= prefix. Locally the command names files, so a day loaded from
    part-1 and then given part-2 alone would lose part-1's lines from the stage and
    rejects; the day's earlier files join the chunk instead.
    """
    ledger.ensure(connection)
    days = {archive_day(path) for path in files}
    given = {path.resolve() for path in files}
    given_digests: set[str] | None = None
    added: list[Path] = []
    for row in ledger.rows(connection, "backfill"):
        earlier = Path(row["path"])
        if earlier.resolve() in given or not _DAY_FOLDER.search(earlier.as_posix()):
            continue
        if archive_day(earlier) not in days:
            continue
        if given_digests is None:
            given_digests = {ledger.file_sha256(path) for path in files}
        if row["content_sha256"] in given_digests:
            continue
        if not earlier.is_file() or ledger.file_sha256(earlier) != row["content_sha256"]:
            raise BackfillError(
                f"dt={archive_day(earlier)} was loaded before with {earlier}, which is no "
                "longer there as it was; give it again with the new file(s): a backfill "
                "replaces an archive day's lines whole"
            )
        added.append(earlier)
        given.add(earlier.resolve())
    return files + added


def unreadable_archive_file(files: Sequence[Path]) -> str | None:
    """What is wrong with the first archive file that cannot be read to its end, if any.

    Looked for only after a statement failed: reading every file twice would double the
    backfill's own reading.
    """
    for path in files:
        try:
            with open(path, "rb") as handle:
                packed = handle.read(2) == b"\x1f\x8b"
            if packed or path.suffix == ".gz":
                with gzip.open(path) as reader:
                    while reader.read(1 << 20):
                        pass
        except (OSError, EOFError, zlib.error) as error:
            return (f"archive file {path} cannot be read ({error}); nothing of its chunk "
                    "was loaded: replace the file and run the backfill again")
    return None


def backfill_files(
    files: Sequence[str | os.PathLike],
    lake: str | os.PathLike | None = None,
    date_from: dt.date | None = None,
    date_to: dt.date | None = None,
    engine=None,
    progress: Callable[[str], None] | None = None,
) -> BackfillSummary:
    """Backfill archive `files` (days from..to) into the lake; raises BackfillError on mismatch."""
    paths = [Path(f) for f in files]
    folders = [str(p) for p in paths if p.is_dir()]
    if folders:
        raise BackfillError(f"{', '.join(folders)}: a folder, not an archive file; give the "
                            "files in it (e.g. archive/dt=*/*.jsonl.gz)")
    missing = [str(p) for p in paths if not p.is_file()]
    if missing:
        raise BackfillError(f"archive file(s) not found: {', '.join(missing)}")
    chosen = [
        p for p in paths
        if (date_from is None or archive_day(p) >= date_from)
        and (date_to is None or archive_day(p) <= date_to)
    ]
    say = progress or (lambda _message: None)
    summary = BackfillSummary()
    if not chosen:
        say("backfill: no archive files in the chosen date range")
        return summary
    owns_engine = engine is None
    engine = engine or get_engine("local", lake=lake)
    if _lake_connection(engine) is not None:  # the lake's ledger is local only
        try:
            chosen = with_files_loaded_before(chosen, engine.connection)
        except BackfillError:
            if owns_engine:
                engine.close()
            raise
    loaded_at = clock.now().replace(tzinfo=None).isoformat(sep=" ")
    try:
        with tempfile.TemporaryDirectory(prefix="webevents-archive-") as workdir:
            location = _archive_location(chosen, Path(workdir)).as_posix().rstrip("/") + "/"
            base = {"archive_location": location, "loaded_at": loaded_at}

            def run(name: str, **params):
                try:
                    return run_files(
                        [BACKFILL_SQL / name], engine=engine, params={**base, **params}, echo=None
                    )
                except SqlRunError as error:
                    broken = unreadable_archive_file(chosen)  # name the file, not the SQL
                    if broken:
                        raise BackfillError(broken) from None
                    raise BackfillError(str(error)) from error

            try:
                once, per_chunk = (run_order(BACKFILL_SQL, "once"),
                                   run_order(BACKFILL_SQL, "per_chunk"))
            except SqlRunError as error:
                raise BackfillError(str(error)) from None
            for path in once:
                run(path.name)
            chunks = month_chunks(archive_day(p) for p in chosen)
            for number, (first, last) in enumerate(chunks, start=1):
                files = [p for p in chosen if first <= archive_day(p) <= last]
                chunk = _run_chunk_committed(run, first, last, files, engine, per_chunk)
                summary.chunks.append(chunk)
                say(
                    f"chunk {number}/{len(chunks)} {first}..{last}: "
                    f"{chunk.source_lines:,} lines = {chunk.inserted_rows:,} landed + "
                    f"{chunk.landed_lines - chunk.inserted_rows:,} already landed + "
                    f"{chunk.rejected_lines:,} rejected + {chunk.dropped_lines:,} dropped  "
                    f"[{chunk.seconds:.1f} s]"
                )
    finally:
        if owns_engine:
            engine.close()
    return summary


def _lake_connection(engine):
    """The local lake's DuckDB connection behind `engine`, or None (Athena, Trino, wrappers)."""
    if getattr(engine, "name", None) != "local":
        return None
    return getattr(engine, "connection", None)


def _run_chunk_committed(run, first: dt.date, last: dt.date, files: list[Path],
                         engine, per_chunk: list[Path]) -> ChunkResult:
    """A chunk and its files' ledger rows in one transaction on the local engine.

    Killed part-way, the lake keeps none of the chunk, and a re-run starts it again. On
    Athena every statement of a chunk is itself safe to re-run (the stage and rejects are
    replaced, the insert skips what landed, the load log is a merge), which is what makes
    a killed backfill resumable there.
    """
    if _lake_connection(engine) is None or not hasattr(engine, "transaction"):
        return _run_chunk(run, first, last, per_chunk)
    ledger.ensure(engine.connection)
    with engine.transaction():
        chunk = _run_chunk(run, first, last, per_chunk)
        for path in files:
            digest = ledger.file_sha256(path)
            ledger.forget(engine.connection, digest)
            ledger.record(engine.connection, digest, path.absolute(), "backfill")
        failpoints.reach("backfill.chunk_written")
    failpoints.reach("backfill.chunk_committed")
    return chunk


def _run_chunk(run, first: dt.date, last: dt.date, per_chunk: list[Path]) -> ChunkResult:
    """One chunk through sql/backfill's per_chunk files, then its reconciliation check."""
    started = time.perf_counter()
    window = {"date_from": first.isoformat(), "date_to": last.isoformat()}
    params = dict(window)  # the files after the event dates query also get their span
    event_dates: list[dt.date] = []
    inserted, check = 0, None
    # sql/backfill/run_order.yml's per_chunk list, in its order; three files have their own
    # handling here, every other runs once with the chunk's parameters.
    for path in per_chunk:
        name = path.name
        if name == "web_events_backfill_stage_event_dates.sql":
            (dates_result,) = run(name, **params)
            event_dates = [clock.as_date(row[0]) for row in dates_result.rows]
            params |= {
                "event_date_from": (min(event_dates) if event_dates else first).isoformat(),
                "event_date_to": (max(event_dates) if event_dates else last).isoformat(),
            }
        elif name == "web_events_insert.sql":
            # one insert per run of consecutive event dates (each prunes its partitions)
            for range_from, range_to in date_ranges(event_dates):
                (insert_result,) = run(
                    name,
                    **window,
                    event_date_from=range_from.isoformat(),
                    event_date_to=range_to.isoformat(),
                )
                inserted += insert_result.row_count or 0
        elif name == "web_events_backfill_loads_check.sql":
            (check,) = run(name, **params)
        else:
            run(name, **params)
    if check is None:
        raise BackfillError("sql/backfill/run_order.yml: per_chunk has no "
                            "web_events_backfill_loads_check.sql")
    if len(check.rows) != 1:
        raise BackfillError(f"chunk {first}..{last}: no reconciliation row in the load log")
    row = dict(zip(check.columns, check.rows[0], strict=True))
    chunk = ChunkResult(
        date_from=first,
        date_to=last,
        source_lines=int(row["source_lines"]),
        landed_lines=int(row["landed_lines"]),
        rejected_lines=int(row["rejected_lines"]),
        dropped_lines=int(row["dropped_lines"]),
        inserted_rows=inserted,
        seconds=time.perf_counter() - started,
    )
    if chunk.unaccounted_lines != 0 or int(row["unaccounted_lines"]) != 0:
        raise BackfillError(
            f"chunk {first}..{last} does not reconcile: {chunk.source_lines} source lines != "
            f"{chunk.landed_lines} landed + {chunk.rejected_lines} rejected + "
            f"{chunk.dropped_lines} dropped ({chunk.unaccounted_lines} unaccounted); "
            "see raw.web_events_backfill_stage for the chunk's lines"
        )
    return chunk


def backfill_command(args) -> int:
    """`webevents backfill FILES [--from --to] [--lake]`: progress per chunk, then totals."""
    try:
        date_from = dt.date.fromisoformat(args.date_from) if args.date_from else None
        date_to = dt.date.fromisoformat(args.date_to) if args.date_to else None
    except ValueError as error:
        print(f"webevents backfill: --from/--to: {error}", file=sys.stderr)
        return 2

    try:
        lake = resolve_lake(args.lake)
        with locked(lake, "backfill"):
            summary = backfill_files(
                args.files, lake=lake, date_from=date_from, date_to=date_to, progress=print
            )
    except LakeError as error:
        print(f"webevents backfill: {error}", file=sys.stderr)
        return 2
    except BackfillError as error:
        print(f"webevents backfill: {error}", file=sys.stderr)
        return 1
    print(
        f"backfill: {summary.total('source_lines'):,} lines in {len(summary.chunks)} chunk(s) = "
        f"{summary.total('inserted_rows'):,} landed + "
        f"{summary.total('landed_lines') - summary.total('inserted_rows'):,} already landed "
        f"+ {summary.total('rejected_lines'):,} rejected + {summary.total('dropped_lines'):,} "
        "dropped; rejects are in raw.web_events_backfill_rejects"
    )
    if getattr(args, "summary", None):
        # Here, not at the top: the reconciliation (local/reconcile.py) counts the replays,
        # and replay.py imports this module for its date ranges.
        from webevents.local.reconcile import SourceFigures, build_summary, write_summary

        this_run = [SourceFigures(
            "archive via sql/backfill", records_in=summary.total("source_lines"),
            landed=summary.total("inserted_rows"),
            skipped=summary.total("landed_lines") - summary.total("inserted_rows"),
            failed=summary.total("rejected_lines"), dropped=summary.total("dropped_lines"),
        )] if summary.chunks else []
        write_summary(args.summary, build_summary(lake, this_run, []))
    return 0
