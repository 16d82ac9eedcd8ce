"""sql/enrich/analytics_web_events_merge.sql on the local engine: raw rows in, analytics out."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import duckdb
import pytest

from webevents import SQL_DIR
from webevents.engines import get_engine
from webevents.jobs.sql import run_files

MERGE = SQL_DIR / "enrich" / "analytics_web_events_merge.sql"
RUN = {"run_date": "2024-03-10", "lookback_days": "2"}
T0 = dt.datetime(2024, 3, 10, 12, 0)

FULL = {  # every rubric check passes
    "anonymous_id": "a-1", "user_id": None, "session_id": "s-1", "event_type": "page",
    "event_name": "page", "space_id": "sp-1", "space_type": "loft",
    "page_url": "https://x.io/s/1", "user_agent": "Mozilla/5.0",
    "coordinates": {"pitch": 1.0, "yaw": 2.0, "hfov": 90.0},
    "properties": "{}", "source_format": "legacy", "load_source": "firehose",
}


def raw_row(event_id: str, timestamp: dt.datetime, received: dt.datetime, **values) -> dict:
    row = {**FULL, "event_id": event_id, "event_timestamp": timestamp,
           "event_date": timestamp.date(), "received_at": received}
    row.update(values)
    return row


RAW_ROWS = [
    # three copies of e-dup: the first to arrive wins, duplicate_count = 3
    raw_row("e-dup", T0, T0 + dt.timedelta(seconds=9), session_id="late-copy"),
    raw_row("e-dup", T0, T0 + dt.timedelta(seconds=1), session_id="first-copy"),
    raw_row("e-dup", T0, T0 + dt.timedelta(seconds=5), session_id="middle-copy",
            load_source="backfill"),
    raw_row("e-full", T0, T0),
    # a late event two days back: inside the lookback
    raw_row("e-late", T0 - dt.timedelta(days=2), T0),
    # three days back: outside the window, not merged
    raw_row("e-old", T0 - dt.timedelta(days=3), T0),
    # the day after run_date: not merged yet
    raw_row("e-next", T0 + dt.timedelta(days=1), T0),
    # every check fails except the timestamp one: score 1 - 0.2-0.15-0.1-0.15-0.1-0.1-0.05-0.05
    raw_row("h" + "0" * 64, T0, T0, anonymous_id=None, session_id=None, event_type=None,
            space_id=None, page_url=None, user_agent=None,
            coordinates={"pitch": None, "yaw": 3.0, "hfov": None}),
    # the client clock is ahead of the arrival by more than 5 minutes
    raw_row("e-future", T0 + dt.timedelta(minutes=6), T0, user_id="u-1"),
]


@pytest.fixture
def lake(tmp_path) -> Path:
    engine = get_engine("local", lake=tmp_path)  # creates the tables from sql/ddl
    engine.close()
    with duckdb.connect(str(tmp_path / "lake.duckdb")) as con:
        insert_raw(con, RAW_ROWS)
    return tmp_path


def insert_raw(con, rows: list[dict]) -> None:
    for row in rows:
        columns = ", ".join(row)
        marks = ", ".join("?" for _ in row)
        con.execute(f"insert into raw.web_events ({columns}) values ({marks})", list(row.values()))


def merge(lake: Path, **params) -> int:
    (result,) = run_files([MERGE], params={**RUN, **params}, lake=lake, echo=None)
    return result.row_count


def analytics(lake: Path) -> dict[str, dict]:
    with duckdb.connect(str(lake / "lake.duckdb"), read_only=True) as con:
        cursor = con.execute("select * from analytics.web_events")
        columns = [d[0] for d in cursor.description]
        rows = [dict(zip(columns, row, strict=True)) for row in cursor.fetchall()]
    return {row["event_id"]: row for row in rows}


def test_one_row_per_event_in_the_window(lake):
    assert merge(lake) == 5
    rows = analytics(lake)
    assert sorted(rows) == sorted(["e-dup", "e-full", "e-late", "h" + "0" * 64, "e-future"])


def test_duplicates_keep_the_first_arrival_and_count_the_copies(lake):
    merge(lake)
    row = analytics(lake)["e-dup"]
    assert row["session_id"] == "first-copy"
    assert row["duplicate_count"] == 3
    assert row["received_at"] == T0 + dt.timedelta(seconds=1)
    assert analytics(lake)["e-full"]["duplicate_count"] == 1


def test_quality_score_and_issues_follow_the_rubric(lake):
    merge(lake)
    rows = analytics(lake)
    assert (rows["e-full"]["data_quality_score"], rows["e-full"]["quality_issues"]) == (1.0, [])
    worst = rows["h" + "0" * 64]
    assert worst["quality_issues"] == [
        "missing_identity", "missing_session", "missing_event_type", "missing_space",
        "missing_page_url", "missing_user_agent", "content_derived_id", "partial_coordinates",
    ]
    assert worst["data_quality_score"] == pytest.approx(0.1)
    future = rows["e-future"]
    assert (future["data_quality_score"], future["quality_issues"]) == (0.9, ["future_timestamp"])
    assert all(0.0 <= r["data_quality_score"] <= 1.0 for r in rows.values())


def test_new_rows_start_unflagged_with_a_processed_timestamp(lake):
    merge(lake)
    for row in analytics(lake).values():
        assert (row["is_bot"], row["bot_reasons"]) == (False, [])
        assert row["processed_timestamp"] is not None


def test_rerunning_changes_nothing(lake):
    merge(lake)
    before = analytics(lake)
    assert merge(lake) == 0
    assert analytics(lake) == before


def test_a_late_earlier_copy_updates_the_row_and_its_processed_timestamp(lake):
    merge(lake)
    before = analytics(lake)
    with duckdb.connect(str(lake / "lake.duckdb")) as con:
        insert_raw(con, [raw_row("e-dup", T0, T0, session_id="earliest-copy"),
                         raw_row("e-new", T0, T0)])
    assert merge(lake) == 2
    after = analytics(lake)
    assert after["e-dup"]["session_id"] == "earliest-copy"
    assert after["e-dup"]["duplicate_count"] == 4
    assert after["e-dup"]["processed_timestamp"] > before["e-dup"]["processed_timestamp"]
    assert after["e-full"] == before["e-full"]


def test_next_run_date_picks_up_the_next_day(lake):
    merge(lake)
    merge(lake, run_date="2024-03-11")
    assert "e-next" in analytics(lake)


def test_space_type_is_a_known_type_or_other_so_partitions_stay_bounded(lake):
    """space_type partitions analytics.web_events: free text must not make new partitions."""
    with duckdb.connect(str(lake / "lake.duckdb")) as con:
        insert_raw(con, [
            raw_row("e-known", T0, T0, space_type=" Single-Family "),
            raw_row("e-spaces", T0, T0, space_type="single family"),
            raw_row("e-blank", T0, T0, space_type=" "),
            raw_row("e-none", T0, T0, space_type=None),
            *(raw_row(f"e-free-{n}", T0, T0, space_type=f"made up {n}") for n in range(20)),
        ])
    merge(lake)
    rows = analytics(lake)
    assert rows["e-known"]["space_type"] == rows["e-spaces"]["space_type"] == "single_family"
    assert rows["e-full"]["space_type"] == "other"  # "loft" is not a known type
    assert rows["e-blank"]["space_type"] is None and rows["e-none"]["space_type"] is None
    assert {rows[f"e-free-{n}"]["space_type"] for n in range(20)} == {"other"}


def test_known_space_types_are_the_ones_the_window_size_counts_on():
    from webevents.jobs.sql import render
    from webevents.jobs.windows import KNOWN_SPACE_TYPES, MAX_WINDOW_DAYS, PARTITIONS_PER_DAY

    sql = render(MERGE, RUN)
    listed = sql.split("when space_type_key in (", 1)[1].split(")", 1)[0]
    assert sorted(k.strip().strip("'") for k in listed.split(",")) == sorted(KNOWN_SPACE_TYPES)
    assert PARTITIONS_PER_DAY * MAX_WINDOW_DAYS <= 100


def test_a_message_re_sent_days_later_stays_one_row(lake):
    """Same event_id, a timestamp three days later: the copy merged first is the only row."""
    merge(lake)
    with duckdb.connect(str(lake / "lake.duckdb")) as con:
        insert_raw(con, [raw_row("e-full", T0 + dt.timedelta(days=3),
                                 T0 + dt.timedelta(days=3), session_id="re-sent")])
    merge(lake, run_date="2024-03-13")
    with duckdb.connect(str(lake / "lake.duckdb"), read_only=True) as con:
        [(copies, session)] = con.execute(
            "select count(*), min(session_id) from analytics.web_events where event_id = 'e-full'"
        ).fetchall()
    assert (copies, session) == (1, "s-1")


def test_the_dedupe_horizon_is_a_parameter(lake):
    merge(lake)
    with duckdb.connect(str(lake / "lake.duckdb")) as con:
        insert_raw(con, [raw_row("e-full", T0 + dt.timedelta(days=5),
                                 T0 + dt.timedelta(days=5), session_id="re-sent")])
    # window 2024-03-13..15; the first copy (03-10) is 3 days before it: outside a 2-day horizon
    merge(lake, run_date="2024-03-15", dedupe_horizon_days="2")
    with duckdb.connect(str(lake / "lake.duckdb"), read_only=True) as con:
        [(copies,)] = con.execute(
            "select count(*) from analytics.web_events where event_id = 'e-full'"
        ).fetchall()
    assert copies == 2
