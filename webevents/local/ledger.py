"""The lake's ledger of input files, kept in the lake database beside the rows they added.

One row per input file, by content hash, written in the same DuckDB transaction as the rows
the file added to raw.web_events (and, for the backfill, its chunk's stage, rejects and load
log). A command killed at any point therefore leaves either the file and its ledger row or
neither, and a re-run resumes with the first file that has no row. The ledger says what was
loaded; the figures a person sees are counted from the tables (webevents.local.reconcile).

Local only: on AWS, Firehose and the backfill's load log (raw.web_events_backfill_loads)
keep this bookkeeping.
"""

from __future__ import annotations

import functools
import hashlib
import json
from pathlib import Path
from typing import Any

from webevents import clock

SCHEMA = "ledger"
TABLE = f"{SCHEMA}.input_files"
STEPS = ("ingest", "backfill", "replay")
LEGACY_FILE = "ingested-files.json"  # the ledger's former home, imported once

_DDL = (
    f"create schema if not exists {SCHEMA}",
    f"""create table if not exists {TABLE} (
        content_sha256 varchar primary key,
        path varchar not null,
        step varchar not null,
        -- the command's own figures for the file; null for the backfill, whose
        -- figures are counted from its tables per chunk of archive days
        records_in bigint,
        landed bigint,
        failed bigint,
        dropped bigint,
        failed_by_reason varchar,           -- JSON object: reason -> records
        error_file varchar,                 -- the file's error output, if any failed
        loaded_at timestamp not null
    )""",
)


def file_sha256(path: Path) -> str:
    """The content hash that identifies an input file, whatever its name.

    A run asks for a file's hash several times (is it in the ledger, which day's files
    join a chunk, the ledger row itself): it is read once per process while the file's
    size and modification time stay the same.
    """
    stat = Path(path).stat()
    return _sha256_of(str(Path(path).resolve()), stat.st_size, stat.st_mtime_ns)


@functools.lru_cache(maxsize=4096)
def _sha256_of(resolved: str, _size: int, _mtime_ns: int) -> str:
    digest = hashlib.sha256()
    with open(resolved, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def ensure(con, lake: Path | None = None) -> None:
    """Create the ledger table; import a lake's former JSON ledger the first time."""
    for statement in _DDL:
        con.execute(statement)
    if lake is not None and (lake / LEGACY_FILE).exists():
        _import_legacy(con, lake / LEGACY_FILE)


def seen(con, digest: str) -> dict[str, Any] | None:
    """The ledger row of a file with this content, or None."""
    cursor = con.execute(f"select * from {TABLE} where content_sha256 = ?", [digest])
    row = cursor.fetchone()
    if row is None:
        return None
    return dict(zip([d[0] for d in cursor.description], row, strict=True))


def record(con, digest: str, path: Path, step: str, *, records_in: int | None = None,
           landed: int | None = None, failed: int | None = None, dropped: int | None = None,
           failed_by_reason: dict[str, int] | None = None,
           error_file: Path | None = None) -> None:
    """Add a file's row; call inside the transaction that wrote the file's rows."""
    if step not in STEPS:
        raise ValueError(f"ledger step {step!r} is not one of {STEPS}")
    reasons = None if failed_by_reason is None else json.dumps(dict(sorted(
        failed_by_reason.items())))
    con.execute(
        f"insert into {TABLE} values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [digest, str(path), step, records_in, landed, failed, dropped, reasons,
         str(error_file) if error_file else None, clock.now().replace(tzinfo=None)],
    )


def forget(con, digest: str) -> None:
    """Remove a file's row (a backfill re-run records its files again)."""
    con.execute(f"delete from {TABLE} where content_sha256 = ?", [digest])


def rows(con, step: str | None = None) -> list[dict[str, Any]]:
    """Every ledger row (of one step), oldest first."""
    where, params = ("where step = ?", [step]) if step else ("", [])
    cursor = con.execute(f"select * from {TABLE} {where} order by loaded_at, path", params)
    names = [d[0] for d in cursor.description]
    result = []
    for values in cursor.fetchall():
        entry = dict(zip(names, values, strict=True))
        entry["failed_by_reason"] = json.loads(entry["failed_by_reason"] or "{}")
        result.append(entry)
    return result


def _import_legacy(con, path: Path) -> None:
    """Carry a JSON ledger (ingested-files.json) into the table, then set the file aside.

    The JSON kept stream figures per batch of files and the archive's as one total; each
    stream batch becomes a row per file (figures on its first file), the archive's files
    rows with zero figures (the backfill's figures are counted from its tables).
    """
    data = json.loads(path.read_text())
    files: dict[str, dict] = data.get("files", {})
    by_path = {entry["path"]: digest for digest, entry in files.items()}
    con.execute("begin transaction")
    try:
        for batch in data.get("stream_batches", []):
            for index, name in enumerate(batch.get("files", [])):
                digest = by_path.pop(name, None)
                if digest is None or seen(con, digest):
                    continue
                figures = batch if index == 0 else {}
                record(con, digest, Path(name), "ingest",
                       records_in=figures.get("records_in", 0), landed=figures.get("landed", 0),
                       failed=figures.get("failed", 0), dropped=figures.get("dropped", 0),
                       failed_by_reason=figures.get("failed_by_reason"))
        for name, digest in by_path.items():
            if not seen(con, digest):
                step = files[digest].get("step", "backfill")
                record(con, digest, Path(name), step if step in STEPS else "backfill")
        con.execute("commit")
    except BaseException:
        con.execute("rollback")
        raise
    path.replace(path.with_name(f"{path.name}.imported-{clock.today():%Y%m%d}"))
