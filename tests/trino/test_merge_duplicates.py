"""Trino (= Athena v3) rejects a MERGE where one target row matches two source rows.

DuckDB applies such a MERGE silently. This pins the engine difference and proves that the
dedupe in sql/enrich/analytics_web_events_merge.sql is needed and works on the real engine.
"""

from __future__ import annotations

import datetime as dt

import duckdb
import pytest

from tests.trino.rows import LANDING, insert_sql
from webevents import SQL_DIR
from webevents.engines import EngineError
from webevents.engines.local import LocalEngine
from webevents.engines.trino import TrinoEngineError
from webevents.jobs.sql import run_files

pytestmark = pytest.mark.trino

RUN_DATE = "2026-11-20"
ENRICH = SQL_DIR / "enrich" / "analytics_web_events_merge.sql"
PARAMS = {"run_date": RUN_DATE, "lookback_days": "3"}

# A naive enrichment without the dedupe: every raw copy is a source row.
NAIVE_MERGE = """
merge into analytics.web_events as target
using raw.web_events as source
    on target.event_id = source.event_id
when matched then update set received_at = source.received_at
when not matched then insert (event_id, event_timestamp, event_date, load_source)
    values (source.event_id, source.event_timestamp, source.event_date, source.load_source)
"""


def landing_row(event_id: str, received_second: int, **fields) -> tuple:
    at = dt.datetime(2026, 11, 20, 9, 30, 0, 123456)
    row = dict.fromkeys(LANDING)
    row.update(
        event_id=event_id,
        event_timestamp=at,
        event_date=at.date(),
        event_type="track",
        event_name="view_changed",
        anonymous_id="anon-1",
        session_id="s-1",
        properties="{}",
        source_format="nested",
        received_at=at + dt.timedelta(seconds=received_second),
        load_source="firehose",
    )
    row.update(fields)
    return tuple(row[c] for c in LANDING)


FIRST = [landing_row("evt-1", 1), landing_row("evt-2", 1, anonymous_id="anon-2")]
# Firehose retried evt-1: the same event lands again, a second later.
RETRY = [landing_row("evt-1", 2)]


@pytest.fixture(scope="module")
def lake(trino_engine):
    run_files([SQL_DIR / "ddl"], engine=trino_engine, echo=None)
    trino_engine.execute(insert_sql("raw.web_events", LANDING, FIRST))
    run_files([ENRICH], engine=trino_engine, params=PARAMS, echo=None)
    trino_engine.execute(insert_sql("raw.web_events", LANDING, RETRY))
    return trino_engine


def test_merge_with_duplicate_source_rows_fails_on_trino(lake):
    with pytest.raises(TrinoEngineError) as raised:
        lake.execute(NAIVE_MERGE)
    assert raised.value.error_name == "MERGE_TARGET_ROW_MULTIPLE_MATCHES"


def test_the_enrich_merge_dedupes_so_trino_accepts_it(lake):
    run_files([ENRICH], engine=lake, params=PARAMS, echo=None)
    _, rows = lake.query(
        "select event_id, duplicate_count, received_at from analytics.web_events order by 1"
    )
    assert [(r[0], r[1]) for r in rows] == [("evt-1", 2), ("evt-2", 1)]
    # the first copy to arrive wins, as the file's comment promises
    assert rows[0][2] == FIRST[0][LANDING.index("received_at")]


def test_duckdb_alone_would_accept_it(tmp_path):
    """The engine difference itself: DuckDB applies the ambiguous MERGE without a word."""
    connection = duckdb.connect(str(tmp_path / "lake.duckdb"))
    unchecked = LocalEngine(connection=connection, check_merge_sources=False)
    run_files([SQL_DIR / "ddl"], engine=unchecked, echo=None)
    unchecked.execute(insert_sql("raw.web_events", LANDING, FIRST))
    run_files([ENRICH], engine=unchecked, params=PARAMS, echo=None)
    unchecked.execute(insert_sql("raw.web_events", LANDING, RETRY))
    unchecked.execute(NAIVE_MERGE)  # no error: DuckDB picks one of the two source rows
    # ... which is why the local engine checks MERGE sources the way Trino does:
    checked = LocalEngine(connection=connection)
    with pytest.raises(EngineError, match="more than one source row"):
        checked.execute(NAIVE_MERGE)
