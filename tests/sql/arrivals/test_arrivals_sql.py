"""sql/arrivals on the local engine: the arrival dates read, and the marks merged per
(step, arrived_through)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import duckdb
import pytest

from tests.sql.enrich.test_analytics_web_events_merge import insert_raw, raw_row
from webevents import SQL_DIR
from webevents.engines import get_engine
from webevents.jobs.sql import SqlRunError, run_files

DATES = SQL_DIR / "arrivals" / "raw_web_events_arrival_dates_select.sql"
MARK = SQL_DIR / "arrivals" / "analytics_web_events_arrival_marks_merge.sql"
T0 = dt.datetime(2026, 11, 24, 12, 0, 0, 123456)


@pytest.fixture
def lake(tmp_path) -> Path:
    get_engine("local", lake=tmp_path).close()
    with duckdb.connect(str(tmp_path / "lake.duckdb")) as con:
        insert_raw(con, [raw_row("e-1", T0, T0),
                         raw_row("e-2", T0 - dt.timedelta(days=40), T0 + dt.timedelta(hours=2)),
                         raw_row("e-3", T0, T0 + dt.timedelta(hours=3, microseconds=1))])
    return tmp_path


def test_arrival_dates_since_a_time_with_rows_and_newest_arrival(lake):
    (result,) = run_files([DATES], params={"arrived_from_at": "2026-11-24 13:00:00"},
                          lake=lake, echo=None)
    assert result.rows == [((T0 - dt.timedelta(days=40)).date(), 1, T0 + dt.timedelta(hours=2)),
                           (T0.date(), 1, T0 + dt.timedelta(hours=3, microseconds=1))]


def test_arrival_dates_without_a_start_read_every_row(lake):
    (result,) = run_files([DATES], params={}, lake=lake, echo=None)
    assert [(day, rows) for day, rows, _ in result.rows] == [
        ((T0 - dt.timedelta(days=40)).date(), 1), (T0.date(), 2)]


def marks(lake: Path) -> list[tuple]:
    with duckdb.connect(str(lake / "lake.duckdb"), read_only=True) as con:
        return con.execute(
            "select step, arrived_from, arrived_through, event_dates "
            "from analytics.web_events_arrival_marks order by arrived_through"
        ).fetchall()


def mark(lake: Path, **params) -> None:
    run_files([MARK], params={"step": "enrich", "logged_at": "2026-11-25 02:00:00", **params},
              lake=lake, echo=None)


def test_the_same_arrivals_recorded_again_widen_one_row(lake):
    through = "2026-11-24 15:00:00.000001"
    mark(lake, arrived_through_at=through, event_dates="2026-11-24")
    mark(lake, arrived_through_at=through, event_dates="2026-10-15,2026-11-24")
    mark(lake, arrived_through_at=through, event_dates="2026-10-15,2026-11-24")
    assert marks(lake) == [("enrich", None, dt.datetime(2026, 11, 24, 15, 0, 0, 1),
                            "2026-10-15,2026-11-24")]


def test_newer_arrivals_add_a_row_with_where_they_started(lake):
    mark(lake, arrived_through_at="2026-11-24 15:00:00", event_dates="2026-11-24")
    mark(lake, arrived_from_at="2026-11-23 12:00:00", arrived_through_at="2026-11-25 15:00:00",
         event_dates="2026-11-25")
    assert [row[1] for row in marks(lake)] == [None, dt.datetime(2026, 11, 23, 12)]


def test_a_mark_without_its_newest_arrival_is_refused(lake):
    with pytest.raises(SqlRunError, match="arrived_through_at"):
        mark(lake, event_dates="2026-11-24")
