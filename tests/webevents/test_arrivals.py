"""webevents/jobs/arrivals.py on the local lake: what arrived is merged, whatever its event date,
and each step's bookkeeping commits with its work (or after it, where there are no
transactions) so a stopped run ends as an uninterrupted one."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import duckdb
import pytest

from webevents.cli import main
from webevents.engines import get_engine
from webevents.jobs import arrivals
from webevents.jobs.windows import (
    ATHENA_MAX_PARTITIONS_PER_WRITE,
    MAX_WINDOW_DAYS,
    PARTITIONS_PER_DAY,
)

DAY = dt.datetime(2026, 11, 24, 12, 0, 0, 123456)  # sub-millisecond, as the tracker sends
ROW = {"anonymous_id": "a-1", "session_id": "s-1", "event_type": "page", "event_name": "page",
       "space_id": "sp-1", "space_type": "apartment", "page_url": "https://x.io/tour/1",
       "user_agent": "Mozilla/5.0", "properties": "{}", "source_format": "nested",
       "load_source": "firehose"}


def raw_row(event_id: str, at: dt.datetime, received: dt.datetime, **values) -> dict:
    return {**ROW, "event_id": event_id, "event_timestamp": at, "event_date": at.date(),
            "received_at": received, **values}


@pytest.fixture
def lake(tmp_path) -> Path:
    get_engine("local", lake=tmp_path).close()  # creates the tables from sql/ddl
    return tmp_path


def land(lake: Path, *rows: dict) -> None:
    with duckdb.connect(str(lake / "lake.duckdb")) as con:
        for row in rows:
            marks = ", ".join("?" for _ in row)
            con.execute(f"insert into raw.web_events ({', '.join(row)}) values ({marks})",
                        list(row.values()))


def enrich(lake: Path, echo=None, **options) -> arrivals.Arrivals:
    engine = get_engine("local", lake=lake)
    try:
        return arrivals.enrich(engine, echo=echo, **options)
    finally:
        engine.close()


def analytics(lake: Path) -> dict[str, tuple]:
    with duckdb.connect(str(lake / "lake.duckdb"), read_only=True) as con:
        rows = con.execute("select event_id, event_date, event_timestamp, session_id, "
                           "duplicate_count from analytics.web_events").fetchall()
    return {row[0]: row[1:] for row in rows}


def marks(lake: Path) -> list[tuple]:
    with duckdb.connect(str(lake / "lake.duckdb"), read_only=True) as con:
        return con.execute(
            "select step, arrived_from, arrived_through, event_dates "
            "from analytics.web_events_arrival_marks order by arrived_through, step").fetchall()


def test_an_event_dated_40_days_before_its_arrival_is_merged_by_the_next_run(lake):
    land(lake, raw_row("e-1", DAY, DAY + dt.timedelta(minutes=1)))
    enrich(lake)
    far = DAY - dt.timedelta(days=40)
    land(lake, raw_row("e-far", far, DAY + dt.timedelta(hours=15)))
    merged = enrich(lake)
    assert analytics(lake)["e-far"][:2] == (far.date(), far)
    # the second run re-read the overlap before the first run's newest arrival, no further
    assert merged.arrived_from == DAY + dt.timedelta(minutes=1) - arrivals.ARRIVAL_OVERLAP
    assert merged.event_dates == [far.date(), DAY.date()]
    assert [m[0] for m in marks(lake)] == ["enrich", "enrich"]
    assert marks(lake)[-1][3] == f"{far.date()},{DAY.date()}"


def test_arrival_selection_leaves_out_events_that_did_not_arrive_since_the_last_run(lake):
    land(lake, raw_row("e-old", DAY - dt.timedelta(days=5), DAY - dt.timedelta(days=4)),
         raw_row("e-1", DAY, DAY - dt.timedelta(hours=1)))
    enrich(lake)
    with duckdb.connect(str(lake / "lake.duckdb")) as con:  # analytics loses them
        con.execute("delete from analytics.web_events")
    land(lake, raw_row("e-new", DAY, DAY))
    enrich(lake)
    # e-1 is re-read within the overlap; e-old arrived days before it
    assert set(analytics(lake)) == {"e-1", "e-new"}


def test_statements_cover_runs_of_touched_dates_of_at_most_max_window_days():
    start = dt.date(2026, 10, 1)
    backlog = [start + dt.timedelta(days=n) for n in range(30)]
    far = start - dt.timedelta(days=40)
    windows = arrivals.date_windows([*backlog, far, start + dt.timedelta(days=45)])
    covered = []
    for window in windows:
        days = int(window["lookback_days"]) + 1
        assert days <= MAX_WINDOW_DAYS
        assert days * PARTITIONS_PER_DAY <= ATHENA_MAX_PARTITIONS_PER_WRITE
        last = dt.date.fromisoformat(window["run_date"])
        covered += [last - dt.timedelta(days=n) for n in range(days - 1, -1, -1)]
    # exactly the touched dates, oldest first: no untouched date between two runs is read
    assert covered == sorted([*backlog, far, start + dt.timedelta(days=45)])
    assert len(windows) == 1 + 3 + 1


def test_a_late_backlog_over_many_dates_is_merged_window_by_window(lake):
    land(lake, *[raw_row(f"e-{n}", DAY - dt.timedelta(days=n), DAY) for n in range(30)])
    lines: list[str] = []
    enrich(lake, echo=lines.append)
    statements = [line for line in lines if "analytics_web_events_merge.sql" in line]
    assert len(statements) == 3  # 30 consecutive dates in windows of at most 12
    assert len(analytics(lake)) == 30


def test_a_copy_dated_earlier_that_arrives_later_is_not_merged_twice(lake):
    land(lake, raw_row("e-1", DAY, DAY, session_id="first"))
    enrich(lake)
    land(lake, raw_row("e-1", DAY - dt.timedelta(days=10), DAY + dt.timedelta(days=1),
                       session_id="resent"))
    enrich(lake)
    assert analytics(lake) == {"e-1": (DAY.date(), DAY, "first", 1)}


def test_a_row_committed_after_the_last_run_read_past_its_arrival_is_merged(lake):
    land(lake, raw_row("e-1", DAY, DAY))
    enrich(lake)
    engine = get_engine("local", lake=lake)
    arrivals.dbt_built(engine, *reversed(arrivals.dbt_dates(engine)))
    engine.close()
    # received an hour before the mark, committed (Firehose retries) after the run
    late_commit = DAY - dt.timedelta(days=3)
    land(lake, raw_row("e-2", late_commit, DAY - dt.timedelta(hours=1)))
    enrich(lake)
    assert "e-2" in analytics(lake)
    engine = get_engine("local", lake=lake)
    try:
        dates, through = arrivals.dbt_dates(engine)
    finally:
        engine.close()
    # the newest arrival did not move, yet the marts still learn of the new date
    assert (dates, through) == ([late_commit.date()], DAY)


def test_dates_stay_pending_for_the_marts_until_dbt_records_its_build(lake):
    land(lake, raw_row("e-1", DAY, DAY))
    enrich(lake)
    land(lake, raw_row("e-2", DAY - dt.timedelta(days=40), DAY + dt.timedelta(days=2)))
    enrich(lake)  # dbt did not run (or failed) in between: both runs' dates are pending
    engine = get_engine("local", lake=lake)
    try:
        dates, through = arrivals.dbt_dates(engine)
        assert dates == [(DAY - dt.timedelta(days=40)).date(), DAY.date()]
        assert through == DAY + dt.timedelta(days=2)
        arrivals.dbt_built(engine, through, dates)
        assert arrivals.dbt_dates(engine) == ([], None)
        assert arrivals.pending(arrivals.read_marks(engine), "bots")[0] == dates
    finally:
        engine.close()


def test_running_again_with_nothing_new_adds_no_bookkeeping_row(lake):
    land(lake, raw_row("e-1", DAY, DAY))
    enrich(lake)
    before = (analytics(lake), marks(lake))
    enrich(lake)
    assert (analytics(lake), marks(lake)) == before


class Stop(Exception):
    pass


def _stop_recording(monkeypatch) -> None:
    def stop(*_args, **_kwargs):
        raise Stop("killed before the bookkeeping")
    monkeypatch.setattr(arrivals, "record", stop)


def test_a_run_killed_before_its_mark_commits_nothing_and_resumes_exactly(lake, tmp_path,
                                                                         monkeypatch):
    rows = [raw_row("e-1", DAY, DAY), raw_row("e-2", DAY - dt.timedelta(days=40), DAY)]
    land(lake, *rows)
    with monkeypatch.context() as patch:
        _stop_recording(patch)
        with pytest.raises(Stop):
            enrich(lake)
    assert (analytics(lake), marks(lake)) == ({}, [])  # the merge rolled back with it
    enrich(lake)
    clean = tmp_path / "clean"
    clean.mkdir()
    get_engine("local", lake=clean).close()
    land(clean, *rows)
    enrich(clean)
    assert (analytics(lake), marks(lake)) == (analytics(clean), marks(clean))


class NoTransactions:
    """The local engine as Athena behaves: every statement commits on its own."""

    name = "athena-like"

    def __init__(self, lake: Path):
        self._engine = get_engine("local", lake=lake)

    @property
    def last_row_count(self):
        return self._engine.last_row_count

    def execute(self, sql: str) -> None:
        self._engine.execute(sql)

    def query(self, sql: str):
        return self._engine.query(sql)

    def close(self) -> None:
        self._engine.close()


def test_without_transactions_a_run_killed_after_the_merge_repeats_it_idempotently(
        lake, tmp_path, monkeypatch):
    rows = [raw_row("e-1", DAY, DAY), raw_row("e-1", DAY, DAY + dt.timedelta(seconds=1)),
            raw_row("e-2", DAY - dt.timedelta(days=40), DAY)]
    land(lake, *rows)
    engine = NoTransactions(lake)
    with monkeypatch.context() as patch:
        _stop_recording(patch)
        with pytest.raises(Stop):
            arrivals.enrich(engine)
    engine.close()
    assert set(analytics(lake)) == {"e-1", "e-2"} and marks(lake) == []  # merged, unrecorded
    engine = NoTransactions(lake)
    arrivals.enrich(engine)
    engine.close()
    clean = tmp_path / "clean"
    clean.mkdir()
    get_engine("local", lake=clean).close()
    land(clean, *rows)
    enrich(clean)
    assert (analytics(lake), marks(lake)) == (analytics(clean), marks(clean))


def test_bots_flag_the_dates_enrich_touched_since_bots_last_ran(lake):
    land(lake, raw_row("e-1", DAY, DAY), raw_row("e-far", DAY - dt.timedelta(days=40), DAY,
                                                 user_agent="python-requests/2.31"))
    enrich(lake)
    engine = get_engine("local", lake=lake)
    try:
        flagged = arrivals.flag_bots(engine)
        assert flagged == [(DAY - dt.timedelta(days=40)).date(), DAY.date()]
        assert arrivals.flag_bots(engine) == []  # nothing new since
    finally:
        engine.close()
    with duckdb.connect(str(lake / "lake.duckdb"), read_only=True) as con:
        (is_bot,) = con.execute(
            "select is_bot from analytics.web_events where event_id = 'e-far'").fetchone()
    assert is_bot


def test_the_command_prints_the_dates_for_dbt_and_records_what_it_gave(lake, tmp_path,
                                                                       capsys):
    land(lake, raw_row("e-1", DAY - dt.timedelta(days=40), DAY))
    assert main(["arrivals", "enrich", "--lake", str(lake)]) == 0
    state = tmp_path / "dbt-dates.json"
    assert main(["arrivals", "dbt-dates", "--lake", str(lake), "--state", str(state)]) == 0
    assert capsys.readouterr().out.strip() == (DAY - dt.timedelta(days=40)).date().isoformat()
    land(lake, raw_row("e-2", DAY, DAY + dt.timedelta(hours=1)))  # arrives while dbt runs
    assert main(["arrivals", "enrich", "--lake", str(lake)]) == 0
    assert main(["arrivals", "dbt-built", "--lake", str(lake), "--state", str(state)]) == 0
    capsys.readouterr()
    assert main(["arrivals", "dbt-dates", "--lake", str(lake)]) == 0
    # the second enrich (e-2, and e-1 again within the overlap) is still pending
    assert capsys.readouterr().out.strip() == (
        f"{(DAY - dt.timedelta(days=40)).date()},{DAY.date()}")


def test_the_command_prints_the_newest_event_date_for_the_data_tests(lake, capsys):
    assert main(["arrivals", "newest-date", "--lake", str(lake)]) == 0
    assert capsys.readouterr().out == "\n"  # no events: dbt's tests read the table
    land(lake, raw_row("e-old", DAY - dt.timedelta(days=40), DAY),
         raw_row("e-new", DAY - dt.timedelta(days=2), DAY))
    assert main(["arrivals", "enrich", "--lake", str(lake)]) == 0
    capsys.readouterr()
    assert main(["arrivals", "newest-date", "--lake", str(lake)]) == 0
    assert capsys.readouterr().out.strip() == (DAY - dt.timedelta(days=2)).date().isoformat()


def test_a_malformed_since_is_one_line_error(lake, capsys):
    assert main(["arrivals", "enrich", "--lake", str(lake), "--since", "yesterday"]) == 1
    assert "--since 'yesterday' is not a timestamp" in capsys.readouterr().err
