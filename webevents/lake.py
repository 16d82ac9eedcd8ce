"""The local lake: one folder holding a DuckDB database with the raw and analytics schemas."""

from __future__ import annotations

import os
from pathlib import Path

import duckdb

DEFAULT_LAKE = ".lake"
DATABASE_FILE = "lake.duckdb"


def resolve_lake(lake: str | os.PathLike | None = None) -> Path:
    """The lake folder: --lake, else $WEBEVENTS_LAKE, else .lake/ (created if missing)."""
    folder = Path(lake or os.environ.get("WEBEVENTS_LAKE") or DEFAULT_LAKE)
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def database_path(lake: str | os.PathLike | None = None) -> Path:
    return resolve_lake(lake) / DATABASE_FILE


def connect(lake: str | os.PathLike | None = None) -> duckdb.DuckDBPyConnection:
    """Open the lake's database with its tables in place (DuckDB allows one writer process)."""
    con = duckdb.connect(str(database_path(lake)))
    ensure_tables(con)
    return con


def ensure_tables(con: duckdb.DuckDBPyConnection) -> None:
    """Create the lake's schemas and tables by running sql/ddl/ on the local engine."""
    from webevents.sqlrunner import run_ddl_locally

    run_ddl_locally(con)
