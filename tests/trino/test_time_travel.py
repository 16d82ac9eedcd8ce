"""Iceberg snapshots and time travel, executed for real (the local engine refuses them)."""

from __future__ import annotations

import datetime as dt
import time

import duckdb
import pytest

from tests.trino.rows import LANDING, insert_sql
from tests.trino.test_merge_duplicates import landing_row
from webevents import SQL_DIR
from webevents.engines import AthenaOnlyStatement
from webevents.engines.local import LocalEngine
from webevents.jobs.sql import run_files

pytestmark = pytest.mark.trino

PARAMS = {"run_date": "2026-11-20", "lookback_days": "3"}
ENRICH = SQL_DIR / "enrich" / "analytics_web_events_merge.sql"


@pytest.fixture(scope="module")
def history(trino_engine):
    """analytics.web_events after two enrich runs: 2 events, then 3 (one late arrival)."""
    run_files([SQL_DIR / "ddl"], engine=trino_engine, echo=None)
    trino_engine.execute(
        insert_sql(
            "raw.web_events",
            LANDING,
            [
                landing_row("evt-a", 1),
                landing_row("evt-b", 1, anonymous_id="anon-b"),
            ],
        )
    )
    run_files([ENRICH], engine=trino_engine, params=PARAMS, echo=None)
    _, [(first_snapshot, first_committed)] = trino_engine.query(
        'select snapshot_id, committed_at from analytics."web_events$snapshots" '
        "order by committed_at desc limit 1"
    )
    time.sleep(1.1)  # so "as of" a timestamp between the two commits is unambiguous
    between = dt.datetime.now(dt.UTC)
    time.sleep(1.1)
    trino_engine.execute(
        insert_sql(
            "raw.web_events",
            LANDING,
            [
                landing_row("evt-late", 30, anonymous_id="anon-late"),
            ],
        )
    )
    run_files([ENRICH], engine=trino_engine, params=PARAMS, echo=None)
    return {"engine": trino_engine, "first_snapshot": first_snapshot, "between": between}


def test_every_merge_commits_a_snapshot(history):
    _, rows = history["engine"].query(
        "select operation, element_at(summary, 'added-records') "
        'from analytics."web_events$snapshots" order by committed_at'
    )
    # CREATE TABLE commits an empty snapshot; each MERGE commits an "overwrite" snapshot.
    assert rows == [("append", None), ("overwrite", "2"), ("overwrite", "1")]


def test_for_version_as_of_reads_the_first_snapshot(history):
    engine = history["engine"]
    _, rows = engine.query(
        "select event_id from analytics.web_events "
        f"for version as of {history['first_snapshot']} order by 1"
    )
    assert rows == [("evt-a",), ("evt-b",)]
    _, now = engine.query("select event_id from analytics.web_events order by 1")
    assert now == [("evt-a",), ("evt-b",), ("evt-late",)]


def test_for_timestamp_as_of_reads_the_table_as_it_was(history):
    at = history["between"].strftime("%Y-%m-%d %H:%M:%S.%f")
    _, rows = history["engine"].query(
        f"select count(*) from analytics.web_events for timestamp as of timestamp '{at} UTC'"
    )
    assert rows == [(2,)]


def test_history_and_partitions_metadata_tables(history):
    engine = history["engine"]
    _, rows = engine.query('select count(*) from analytics."web_events$history"')
    assert rows == [(3,)]
    _, partitions = engine.query(
        'select partition.event_date, record_count from analytics."web_events$partitions"'
    )
    assert partitions == [(dt.date(2026, 11, 20), 3)]


def test_local_engine_refuses_time_travel_with_a_pointer_to_trino(tmp_path):
    local = LocalEngine(connection=duckdb.connect(str(tmp_path / "lake.duckdb")))
    with pytest.raises(AthenaOnlyStatement, match="--engine trino"):
        local.query('select * from analytics."web_events$snapshots"')
