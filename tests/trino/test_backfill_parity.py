"""`webevents backfill` on Trino: the same archive files, the same sql/backfill, row by row.

On Trino the archive is a real external table: the Hive connector reads the gzipped
JSON-lines files in place (text format, Athena-style partition projection on dt), as
Athena reads them from S3. The backfill code is the project's own (webevents.jobs.backfill),
given the trino engine instead of the local one.
"""

from __future__ import annotations

import pytest

from tests.trino.rows import LANDING, assert_same_rows, comparable_row, table_snapshot
from webevents import SQL_DIR
from webevents.jobs.backfill import backfill_files
from webevents.jobs.sql import run_files

pytestmark = pytest.mark.trino

STAGE = [
    "archive_date",
    "source_file",
    "outcome",
    "reason",
    "line",
    *[c for c in LANDING if c not in ("received_at", "load_source")],
]
REJECTS = ["archive_date", "source_file", "reason", "line"]  # rejected_at is load time
LOADS = ["date_from", "date_to", "source_lines", "landed_lines", "rejected_lines", "dropped_lines"]
# received_at is the load time of each run
LANDED = [c for c in LANDING if c != "received_at"]


@pytest.fixture(scope="module")
def pair(local_lake, trino_engine):
    run_files([SQL_DIR / "ddl"], engine=trino_engine, echo=None)
    summary = backfill_files(local_lake.archive_files, engine=trino_engine)
    local = local_lake.engine()
    yield local, trino_engine, summary
    local.close()


def compare(pair, table: str, columns: list[str], where: str = "") -> None:
    local, trino, _ = pair
    expected = table_snapshot(local, f"(select * from {table} {where})", columns)
    actual = table_snapshot(trino, f"(select * from {table} {where})", columns)
    assert_same_rows(actual, expected, columns)


def test_backfill_reconciles_on_trino(pair):
    _, _, summary = pair
    assert summary.chunks and all(chunk.unaccounted_lines == 0 for chunk in summary.chunks)
    assert summary.total("rejected_lines") > 0  # the sample's malformed lines reached SQL


def test_stage_rows_match(pair):
    compare(pair, "raw.web_events_backfill_stage", STAGE)


def test_rejects_match(pair):
    compare(pair, "raw.web_events_backfill_rejects", REJECTS)


def test_load_log_matches(pair):
    compare(pair, "raw.web_events_backfill_loads", LOADS)


def test_landing_rows_match(pair):
    compare(pair, "raw.web_events", LANDED, "where load_source = 'backfill'")


def test_rerun_adds_nothing_on_trino(pair, local_lake):
    _, trino, _ = pair
    _, [(before,)] = trino.query("select count(*) from raw.web_events")
    backfill_files(local_lake.archive_files, engine=trino)
    _, [(after,)] = trino.query("select count(*) from raw.web_events")
    assert after == before


@pytest.mark.parametrize(
    "name", sorted(p.name for p in (SQL_DIR / "analysis").glob("*backfill*.sql"))
)
def test_backfill_analysis_matches(pair, name):
    local, trino, _ = pair
    [expected] = run_files([SQL_DIR / "analysis" / name], engine=local, echo=None)
    [actual] = run_files([SQL_DIR / "analysis" / name], engine=trino, echo=None)
    assert actual.columns == expected.columns
    # logged_at is each engine's load time
    columns = [c for c in actual.columns if c != "logged_at"]
    keep = [actual.columns.index(c) for c in columns]
    assert_same_rows(
        sorted((comparable_row(columns, [r[i] for i in keep]) for r in actual.rows), key=repr),
        sorted((comparable_row(columns, [r[i] for i in keep]) for r in expected.rows), key=repr),
        columns,
    )
