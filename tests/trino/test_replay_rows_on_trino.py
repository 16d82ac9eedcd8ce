"""sql/replay on Trino: iceberg-failed landing rows into Iceberg raw.web_events, as on Athena.

The scratch external table is a real Hive-connector text table over the rows file (under
the tier's stand-in for S3), the insert writes the Iceberg table, and the result is compared
with the same files run on the local engine.
"""

from __future__ import annotations

import datetime as dt
import json

import duckdb
import pytest

from webevents import SQL_DIR
from webevents.engines.local import LocalEngine, ensure_tables
from webevents.jobs.sql import run_files

pytestmark = pytest.mark.trino

FILES = [SQL_DIR / "replay" / name for name in (
    "web_events_replay_rows_create.sql",
    "raw_web_events_replay_rows_insert.sql",
    "web_events_replay_rows_drop.sql",
)]
MICROS = 1_764_000_000_123_456  # 2025-11-24 16:00:00.123456 UTC
ROWS = [
    {"event_id": "m-1", "event_timestamp": MICROS, "event_date": "2025-11-24",
     "event_type": "track", "room_id": "r-1", "coordinates": {"pitch": 1.5, "yaw": None,
                                                              "hfov": 90},
     "properties": '{"theme":"dark"}', "source_format": "legacy",
     "received_at": MICROS + 1_000_000, "load_source": "firehose"},
    {"event_id": "m-2", "event_timestamp": MICROS, "event_date": "2025-11-24",
     "event_type": "page", "coordinates": None, "properties": "{}",
     "source_format": "nested", "received_at": MICROS, "load_source": "firehose"},
]
COLUMNS = "event_id, event_timestamp, event_date, event_type, room_id, coordinates.pitch, " \
          "coordinates.yaw, coordinates.hfov, properties, received_at, load_source"


def run(engine, location: str):
    return run_files(FILES, engine=engine, echo=None, params={
        "scratch_table": "web_events_replay_rows_trino", "scratch_location": location,
        "event_date_from": "2025-11-24", "event_date_to": "2025-11-24"})


def test_landing_rows_land_on_trino_as_on_the_local_engine(trino_engine, s3_root, tmp_path):
    # the stack's Glue database for the archive holds the scratch table (on AWS a resource)
    run_files([SQL_DIR / "ddl", SQL_DIR / "backfill" / "archive_database_create.sql"],
              engine=trino_engine, echo=None)
    scratch = s3_root / "results-bucket" / "replay-scratch" / "r1"
    scratch.mkdir(parents=True)
    (scratch / "rows.jsonl").write_text("".join(json.dumps(r) + "\n" for r in ROWS))
    results = run(trino_engine, "s3://results-bucket/replay-scratch/r1/")
    assert results[1].row_count == 2
    assert run(trino_engine, "s3://results-bucket/replay-scratch/r1/")[1].row_count == 0

    con = duckdb.connect()
    ensure_tables(con)
    local = LocalEngine(connection=con)
    run(local, f"{scratch}/")
    query = f"select {COLUMNS} from raw.web_events order by event_id"
    _, on_trino = trino_engine.query(query)
    _, on_local = local.query(query)
    con.close()
    assert [tuple(row) for row in on_trino] == [tuple(row) for row in on_local]
    assert on_trino[0][:3] == ("m-1", dt.datetime(2025, 11, 24, 16, 0, 0, 123456),
                               dt.date(2025, 11, 24))
