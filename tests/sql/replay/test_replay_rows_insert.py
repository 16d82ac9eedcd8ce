"""sql/replay: iceberg-failed landing rows into raw.web_events from a scratch external table.

Run on the local engine (the same Athena SQL `webevents replay --to firehose` runs on Athena).
"""

from __future__ import annotations

import datetime as dt
import json
import re

import duckdb
import pytest
from landing_contract import LANDING_COLUMN_NAMES

from webevents import SQL_DIR
from webevents.engines.local import LocalEngine, ensure_tables
from webevents.jobs.sql import run_files

REPLAY_SQL = SQL_DIR / "replay"
FILES = [REPLAY_SQL / "web_events_replay_rows_create.sql",
         REPLAY_SQL / "raw_web_events_replay_rows_insert.sql",
         REPLAY_SQL / "web_events_replay_rows_drop.sql"]
MICROS = 1_764_000_000_123_456  # 2025-11-24 16:00:00.123456 UTC
ROW = {
    "event_id": "m-1", "event_timestamp": MICROS, "event_date": "2025-11-24",
    "event_type": "track", "event_name": "Room Viewed", "room_id": "r-1",
    "coordinates": {"pitch": 1.5, "yaw": None, "hfov": 90}, "properties": '{"theme":"dark"}',
    "source_format": "legacy", "received_at": MICROS + 1_000_000, "load_source": "firehose",
}


@pytest.fixture
def engine():
    con = duckdb.connect()
    ensure_tables(con)
    yield LocalEngine(connection=con)
    con.close()


def run(engine, folder, event_date_from="2025-11-24", event_date_to="2025-11-24"):
    return run_files(FILES, engine=engine, echo=None, params={
        "scratch_table": "web_events_replay_rows_test", "scratch_location": f"{folder}/",
        "event_date_from": event_date_from, "event_date_to": event_date_to})


def write_rows(folder, rows):
    folder.mkdir(exist_ok=True)
    (folder / "rows.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))


def test_the_insert_names_every_landing_column_in_contract_order():
    sql = (REPLAY_SQL / "raw_web_events_replay_rows_insert.sql").read_text()
    insert_list = re.search(r"insert into raw\.web_events \((.*?)\)", sql, re.S).group(1)
    assert [c.strip() for c in insert_list.split(",")] == list(LANDING_COLUMN_NAMES)
    for column in LANDING_COLUMN_NAMES:
        assert f"'$.{column}'" in sql


def test_a_landing_row_lands_as_the_lambda_wrote_it(engine, tmp_path):
    write_rows(tmp_path / "scratch", [ROW, {**ROW, "event_id": "m-2", "coordinates": None}])
    results = run(engine, tmp_path / "scratch")
    assert results[1].row_count == 2
    landed = engine.connection.execute(
        "select event_id, event_timestamp, event_date, coordinates, properties, received_at, "
        "load_source, room_id, user_id from raw.web_events order by event_id").fetchall()
    assert landed[0] == (
        "m-1", dt.datetime(2025, 11, 24, 16, 0, 0, 123456), dt.date(2025, 11, 24),
        {"pitch": 1.5, "yaw": None, "hfov": 90.0}, '{"theme":"dark"}',
        dt.datetime(2025, 11, 24, 16, 0, 1, 123456), "firehose", "r-1", None)
    assert landed[1][3] is None
    # the scratch table is gone again
    assert engine.connection.execute(
        "select count(*) from duckdb_views() where view_name like 'web_events_replay_rows%'"
    ).fetchone() == (0,)


def test_running_it_again_adds_nothing(engine, tmp_path):
    write_rows(tmp_path / "scratch", [ROW])
    run(engine, tmp_path / "scratch")
    assert run(engine, tmp_path / "scratch")[1].row_count == 0
    assert engine.connection.execute("select count(*) from raw.web_events").fetchone() == (1,)


def test_only_the_event_date_range_is_written(engine, tmp_path):
    write_rows(tmp_path / "scratch", [ROW, {**ROW, "event_id": "m-3", "event_date": "2025-11-26",
                                            "event_timestamp": MICROS + 2 * 86_400_000_000}])
    assert run(engine, tmp_path / "scratch")[1].row_count == 1
    assert run(engine, tmp_path / "scratch", "2025-11-26", "2025-11-26")[1].row_count == 1
