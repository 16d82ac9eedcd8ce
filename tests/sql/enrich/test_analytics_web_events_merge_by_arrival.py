"""sql/enrich with arrived_from_at / arrived_through_at (the daily job, webevents/jobs/arrivals.py):
only events with a copy that arrived in that range are merged, whatever the window holds,
and every copy of them in the window still counts."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import duckdb
import pytest

from tests.sql.enrich.test_analytics_web_events_merge import analytics, insert_raw, raw_row
from webevents import SQL_DIR
from webevents.engines import get_engine
from webevents.jobs.sql import run_files

MERGE = SQL_DIR / "enrich" / "analytics_web_events_merge.sql"
T0 = dt.datetime(2024, 3, 10, 12, 0, 0, 500)
ARRIVED = {"arrived_from_at": "2024-03-11 00:00:00.000000",
           "arrived_through_at": "2024-03-11 06:00:00.000001"}


@pytest.fixture
def lake(tmp_path) -> Path:
    get_engine("local", lake=tmp_path).close()
    with duckdb.connect(str(tmp_path / "lake.duckdb")) as con:
        insert_raw(con, [
            raw_row("e-before", T0, T0),  # arrived before the range: not this run's
            # arrived in the range, with an earlier copy: both count, the first wins
            raw_row("e-again", T0, T0 + dt.timedelta(hours=1), session_id="first"),
            raw_row("e-again", T0, dt.datetime(2024, 3, 11, 3), session_id="second"),
            # 40 days old when it arrived, inside this statement's window
            raw_row("e-far", T0 - dt.timedelta(days=40), dt.datetime(2024, 3, 11, 6, 0, 0, 1)),
            raw_row("e-after", T0, dt.datetime(2024, 3, 11, 6, 0, 0, 2)),  # after the range
        ])
    return tmp_path


def merge(lake: Path, **params) -> None:
    run_files([MERGE], params=params, lake=lake, echo=None)


def test_only_events_that_arrived_in_the_range_are_merged(lake):
    merge(lake, run_date="2024-03-10", lookback_days="45", **ARRIVED)
    assert sorted(analytics(lake)) == ["e-again", "e-far"]


def test_earlier_copies_of_an_arriving_event_still_count_and_the_first_wins(lake):
    merge(lake, run_date="2024-03-10", lookback_days="1", **ARRIVED)
    row = analytics(lake)["e-again"]
    assert (row["session_id"], row["duplicate_count"]) == ("first", 2)


def test_the_window_still_bounds_the_event_dates_read(lake):
    merge(lake, run_date="2024-03-10", lookback_days="1", **ARRIVED)
    assert "e-far" not in analytics(lake)  # another statement's window (arrivals.py)


def test_without_arrival_parameters_the_whole_window_is_merged(lake):
    merge(lake, run_date="2024-03-10", lookback_days="45")
    assert sorted(analytics(lake)) == ["e-after", "e-again", "e-before", "e-far"]
