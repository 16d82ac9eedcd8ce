"""The erasure's watch statements (D-ERASURE-2) on Trino and on DuckDB, row for row: which
ids go when a watch ends, which requests are watched, what counts as landed again, and the
follow-up's filing. The whole watch runs end to end locally (tests/webevents/test_forget.py);
this pins the SQL on the engine that stands in for Athena."""

from __future__ import annotations

import pytest

from tests.trino.rows import LANDING, insert_sql
from tests.trino.test_merge_duplicates import landing_row
from webevents import SQL_DIR
from webevents.engines.local import LocalEngine, connect
from webevents.jobs.forget import sql_list
from webevents.jobs.sql import run_files

pytestmark = pytest.mark.trino

PRIVACY = SQL_DIR / "privacy"
WATCHED, ENDED, DRY, ORPHAN = (f"{n}0000000-0000-4000-8000-000000000000" for n in "1234")
FOLLOW_UP = "50000000-0000-4000-8000-000000000000"
ENDED_BEFORE = {"watch_ended_before": "2026-11-04 02:00:00.000000"}
REQUESTS = [  # request_id, status, applied_at
    (WATCHED, "applied", "timestamp '2026-11-25 02:00:00.000000'"),
    (ENDED, "applied", "timestamp '2026-10-20 02:00:00.000000'"),
    (DRY, "dry_run", "null"),
]
IDS = [(WATCHED, "user_id", "u-1"), (WATCHED, "anonymous_id", "a-1"),
       (ENDED, "user_id", "u-9"), (DRY, "device_id", "d-1"), (ORPHAN, "user_id", "u-7")]
# landed again: u-1's row, a-1's anonymous row; u-2's identified row on a-1 is not u-1's
LANDED = [landing_row("e-1", 1, user_id="u-1", anonymous_id="x-1"),
          landing_row("e-2", 2, user_id=None, anonymous_id="a-1"),
          landing_row("e-3", 3, user_id="u-2", anonymous_id="a-1")]
REJECTED_LINE = '{"userId":"u-1","timestamp":"not a time"}'


def watch(engine) -> dict[str, object]:
    """Set up the requests, ids and landed rows, then run the watch's statements in order."""
    run_files([SQL_DIR / "ddl"], engine=engine, echo=None)
    for request_id, status, applied_at in REQUESTS:
        engine.execute("insert into raw.erasure_requests (request_id, subject_kind, "
                       f"requested_at, status, applied_at) values ('{request_id}', 'user_id', "
                       f"timestamp '2026-10-01 00:00:00.000000', '{status}', {applied_at})")
    engine.execute("insert into raw.erasure_request_ids values " + ", ".join(
        f"('{r}', '{k}', '{i}')" for r, k, i in IDS))
    engine.execute(insert_sql("raw.web_events", LANDING, LANDED))
    engine.execute("insert into raw.web_events_backfill_rejects values (date '2026-11-22', "
                   f"'s3://archive/a.jsonl.gz', 'invalid_timestamp', '{REJECTED_LINE}', "
                   "timestamp '2026-11-25 01:00:00.000000')")

    def run(name: str, **params):
        [result] = run_files([PRIVACY / name], engine=engine, echo=None, params=params)
        return sorted(result.rows)

    run("erasure_request_ids_expired_delete.sql", **ENDED_BEFORE)
    run("erasure_requests_dry_run_delete.sql")
    found = {"ids_kept": sorted(engine.query(
        "select request_id, id_kind, id from raw.erasure_request_ids")[1])}
    found["requests_kept"] = sorted(engine.query(
        "select request_id from raw.erasure_requests")[1])
    found["watched"] = run("erasure_requests_watched_select.sql", **ENDED_BEFORE)
    found["landed_again"] = run("erasure_watch_rows_select.sql",
                                request_id_list=sql_list([WATCHED]))
    follow_up = {"request_id": WATCHED, "follow_up_id": FOLLOW_UP,
                 "requested_at": "2026-11-26 02:00:00.000000"}
    run("erasure_request_ids_follow_up_insert.sql", **follow_up)
    run("erasure_requests_follow_up_insert.sql", **follow_up)
    found["follow_up"] = sorted(engine.query(
        "select subject_kind, subject_id, status, identifiers from raw.erasure_requests "
        f"where request_id = '{FOLLOW_UP}'")[1])
    found["follow_up_ids"] = sorted(engine.query(
        "select id_kind, id from raw.erasure_request_ids "
        f"where request_id = '{FOLLOW_UP}'")[1])
    # a watched request whose follow-up is pending is left to it
    found["watched_after"] = run("erasure_requests_watched_select.sql", **ENDED_BEFORE)
    return found


@pytest.fixture(scope="module")
def on_duckdb(tmp_path_factory):
    con = connect(tmp_path_factory.mktemp("watch"))
    try:
        return watch(LocalEngine(connection=con))
    finally:
        con.close()


def test_the_watch_keeps_only_the_watched_ids_and_finds_what_landed_again(on_duckdb):
    assert on_duckdb["ids_kept"] == [(WATCHED, "anonymous_id", "a-1"),
                                     (WATCHED, "user_id", "u-1")]
    assert on_duckdb["requests_kept"] == [(WATCHED,), (ENDED,)]
    assert on_duckdb["watched"] == [(WATCHED,)]
    # u-1's row and a-1's anonymous row, and the rejected line with u-1 in quotes
    assert on_duckdb["landed_again"] == [(WATCHED, 1), (WATCHED, 2)]
    assert on_duckdb["follow_up"] == [("user_id", None, "pending", f'{{"follows": "{WATCHED}"}}')]
    assert on_duckdb["follow_up_ids"] == [("anonymous_id", "a-1"), ("user_id", "u-1")]
    assert on_duckdb["watched_after"] == []


def test_trino_runs_the_watch_as_duckdb_does(trino_engine, on_duckdb):
    assert watch(trino_engine) == on_duckdb
