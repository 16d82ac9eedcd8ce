"""The local lake: one folder holding a DuckDB database with the raw and analytics schemas.

This module is storage only (the folder, its lock, its database file); the tables in it
are the local engine's to create (webevents/engines/local.py: connect, ensure_tables).
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import sys
from pathlib import Path

import duckdb

from webevents import clock

DEFAULT_LAKE = ".lake"
DATABASE_FILE = "lake.duckdb"
LOCK_FILE = ".webevents.lock"


class LakeError(RuntimeError):
    """The lake cannot be used as asked; the message says why and what to do."""


@contextlib.contextmanager
def locked(lake: Path, command: str):
    """Hold the lake for one writing command; a second one fails naming the holder.

    DuckDB lets one process write a database file; taking this lock first turns the
    clash into a message that says who holds the lake and what it is doing.
    """
    path = lake / LOCK_FILE
    try:
        handle = open(path, "a+", encoding="utf-8")  # noqa: SIM115 - closed below
    except OSError as error:
        raise LakeError(f"lake {lake}: cannot write in it ({error.strerror})") from None
    try:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "{}"
            info = json.loads(holder) if holder.startswith("{") else {}
            raise LakeError(
                f"lake {lake} is in use by PID {info.get('pid', '?')} "
                f"(`webevents {info.get('command', '?')}`, started {info.get('started', '?')}); "
                "wait for it to finish, or use another --lake"
            ) from None
        handle.seek(0)
        handle.truncate()
        handle.write(json.dumps({"pid": os.getpid(), "command": command,
                                 "started": clock.now().isoformat(timespec="seconds"),
                                 "argv": sys.argv[1:]}))
        handle.flush()
        yield
    finally:
        handle.close()  # releases the lock


def resolve_lake(lake: str | os.PathLike | None = None, create: bool = True) -> Path:
    """The lake folder: --lake, else $WEBEVENTS_LAKE, else .lake/ (created if missing).

    With create=False (reading commands) a missing lake is an error: a typo in --lake must
    not quietly make and query an empty lake.
    """
    folder = Path(lake or os.environ.get("WEBEVENTS_LAKE") or DEFAULT_LAKE)
    if folder.exists() and not folder.is_dir():
        raise LakeError(f"--lake {folder} is a file, not a folder; give the lake's folder")
    if not create:
        if not (folder / DATABASE_FILE).is_file():
            raise LakeError(f"no lake at {folder} (no {DATABASE_FILE}); check --lake, or make "
                            "one with `webevents run`")
        return folder
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise LakeError(f"cannot create the lake folder {folder}: {error.strerror}") from None
    return folder


def database_path(lake: str | os.PathLike | None = None) -> Path:
    return resolve_lake(lake) / DATABASE_FILE


def open_database(lake: str | os.PathLike | None = None,
                  read_only: bool = False) -> duckdb.DuckDBPyConnection:
    """Open the lake's database file as it is; the local engine puts the tables in place.

    read_only opens an existing lake for reading only: nothing is created or changed, and
    it works on a lake in a read-only folder too.
    """
    if read_only:
        path = resolve_lake(lake, create=False) / DATABASE_FILE
        try:
            return duckdb.connect(str(path), read_only=True)
        except duckdb.IOException as error:
            raise LakeError(f"cannot open the lake {path.parent} for reading: {error}") from None
    return duckdb.connect(str(database_path(lake)))
