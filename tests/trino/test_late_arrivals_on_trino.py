"""The daily job by arrival on Trino: an event that lands 40 days after its timestamp reaches
analytics.web_events and every mart on the next run, as a full refresh has it.

Two daily jobs as buildspec.yml runs them (webevents arrivals enrich / bots / dbt-dates,
`dbt build` with WEBEVENTS_LATE_EVENT_DATES, dbt-built) on Iceberg tables with Athena's
100 partitions per write; the second brings sub-millisecond events dated 40 days back and a
late event inside a session built by the first.
"""

from __future__ import annotations

import datetime as dt

import pytest

from tests.trino.local_lake import run_dbt
from tests.trino.rows import assert_same_rows, insert_sql, table_snapshot
from webevents import SQL_DIR
from webevents.jobs import arrivals
from webevents.jobs.sql import run_files

pytestmark = pytest.mark.trino

COLUMNS = ["event_id", "event_timestamp", "event_date", "event_type", "event_name",
           "anonymous_id", "session_id", "page_url", "page_path", "user_agent", "space_id",
           "space_type", "room_id", "coordinates", "properties", "source_format",
           "received_at", "load_source"]
FIRST_ARRIVAL = dt.datetime(2026, 11, 25, 1, 0, 0, 250)
NEXT_ARRIVAL = dt.datetime(2026, 11, 26, 1, 30, 0, 999999)
FAR_LATE = dt.datetime(2026, 10, 16, 23, 59, 59, 999500)  # crosses midnight, µs apart


def row(event_id: str, device: str, at: dt.datetime, received: dt.datetime) -> tuple:
    room = f"r-{len(event_id) % 3}"
    return (event_id, at, at.date(), "page", "page", device, f"s-{device}",
            f"https://tours.example/tour/sp-1/{room}", f"/tour/sp-1/{room}",
            "Mozilla/5.0 (X11; Linux x86_64) Firefox/130.0", "sp-1", "apartment", room,
            {"pitch": 10.0, "yaw": -175.0 + len(event_id), "hfov": 85.0}, "{}", "nested",
            received, "firehose")


FIRST = [
    *[row(f"a1-{n}", "a-1", dt.datetime(2026, 11, 21, 10, 0, 0, 123556)
          + dt.timedelta(minutes=3 * n), FIRST_ARRIVAL) for n in range(7)],
    *[row(f"a2-{n}", "a-2", dt.datetime(2026, 11, 24, 23, 50, 0, 1)
          + dt.timedelta(minutes=4 * n), FIRST_ARRIVAL) for n in range(4)],
]
LATE = [
    *[row(f"far-{n}", "a-far", FAR_LATE + dt.timedelta(microseconds=700 * n, seconds=n),
          NEXT_ARRIVAL) for n in range(6)],
    # inside a-1's visit of 2026-11-21, between two events built by the first job
    row("a1-late", "a-1", dt.datetime(2026, 11, 21, 10, 4, 0, 654321), NEXT_ARRIVAL),
    row("a2-next", "a-2", dt.datetime(2026, 11, 25, 9, 0, 0, 42), NEXT_ARRIVAL),
]


def daily_job(engine, work, env) -> list[dt.date]:
    """buildspec.yml's steps after sql/ddl, on this catalog; returns the dates given dbt."""
    arrivals.enrich(engine)
    arrivals.flag_bots(engine)
    dates, through = arrivals.dbt_dates(engine)
    run_dbt(["build", "--target", "trino", "--exclude-resource-type", "test",
             "--exclude-resource-type", "unit_test"], work,
            {**env, arrivals.DBT_ENV: arrivals.dates_text(dates)})
    arrivals.dbt_built(engine, through, dates)
    return dates


def marts(engine) -> dict[str, list[tuple]]:
    _, tables = engine.query(
        "select table_name from information_schema.tables where table_schema = 'marts'")
    found = {}
    for (table,) in tables:
        _, columns = engine.query(
            "select column_name from information_schema.columns where table_schema = 'marts' "
            f"and table_name = '{table}' order by ordinal_position")
        names = [c for (c,) in columns if not c.startswith("processed_")]
        found[table] = (names, table_snapshot(engine, f"marts.{table}", names))
    return found


@pytest.fixture(scope="module")
def two_jobs(trino_engine, trino_catalog, trino_port, tmp_path_factory):
    run_files([SQL_DIR / "ddl"], engine=trino_engine, echo=None)
    work = tmp_path_factory.mktemp("dbt-late-arrivals")
    env = {"TRINO_PORT": str(trino_port), "TRINO_CATALOG": trino_catalog}
    trino_engine.execute(insert_sql("raw.web_events", COLUMNS, FIRST))
    daily_job(trino_engine, work, env)
    trino_engine.execute(insert_sql("raw.web_events", COLUMNS, LATE))
    given = daily_job(trino_engine, work, env)
    after_jobs = marts(trino_engine)
    run_dbt(["run", "--target", "trino", "--full-refresh"], work, env)
    return given, after_jobs, marts(trino_engine)


def test_the_marts_are_given_the_far_late_date(two_jobs):
    given, _, _ = two_jobs
    # the overlap re-reads the first job's arrivals too (their dates are rebuilt again)
    assert given[0] == FAR_LATE.date()
    assert {FAR_LATE.date(), dt.date(2026, 11, 21), dt.date(2026, 11, 25)} <= set(given)


def test_far_late_events_reach_analytics_with_their_microseconds(two_jobs, trino_engine):
    _, rows = trino_engine.query("select event_timestamp from analytics.web_events "
                                 "where event_id like 'far-%' order by 1")
    assert [r[0] for r in rows] == [r[1] for r in LATE[:6]]


def test_far_late_events_reach_every_event_and_session_mart(two_jobs, trino_engine):
    _, [(events,)] = trino_engine.query(
        "select count(*) from marts.fct_web_events where event_id like 'far-%'")
    _, [(sessions, session_events)] = trino_engine.query(
        "select count(*), sum(event_count) from marts.fct_sessions "
        "where anonymous_id = 'a-far'")
    _, kpi_dates = trino_engine.query(
        "select kpi_date from marts.daily_kpis where kpi_date <= date '2026-10-17' "
        "order by 1")
    assert (events, sessions, session_events) == (6, 1, 6)
    assert [d for (d,) in kpi_dates] == [dt.date(2026, 10, 16), dt.date(2026, 10, 17)]


def test_every_mart_after_the_two_jobs_equals_a_full_refresh(two_jobs):
    _, after_jobs, full = two_jobs
    assert len(full) >= 10 and set(after_jobs) == set(full)
    for table, (columns, rows) in full.items():
        assert_same_rows(after_jobs[table][1], rows, columns)


def test_a_late_backlog_over_more_than_100_partitions_is_merged_window_by_window(
        two_jobs, trino_engine):
    """30 days x 8 space types arrive at once: the tier allows 100 partitions per write."""
    from webevents.jobs.windows import KNOWN_SPACE_TYPES, MAX_WINDOW_DAYS

    kinds = [*KNOWN_SPACE_TYPES, "Penthouse (free text)", None]
    arrived = NEXT_ARRIVAL + dt.timedelta(days=1)
    backlog = []
    for day in range(30):
        at = dt.datetime(2026, 8, 1, 12, 0, 0, 7) + dt.timedelta(days=day)
        for n, kind in enumerate(kinds):
            values = list(row(f"backlog-{day}-{n}", f"a-b{n}", at, arrived))
            values[COLUMNS.index("space_type")] = kind
            backlog.append(tuple(values))
    trino_engine.execute(insert_sql("raw.web_events", COLUMNS, backlog))
    lines: list[str] = []
    merged = arrivals.enrich(trino_engine, echo=lines.append)
    assert len(merged.event_dates) >= 30
    statements = [line for line in lines if "analytics_web_events_merge.sql" in line]
    assert len(statements) >= -(-30 // MAX_WINDOW_DAYS)
    _, [(events, partitions)] = trino_engine.query(
        "select count(*), count(distinct (event_date, space_type)) from analytics.web_events "
        "where event_id like 'backlog-%'")
    assert events == 30 * len(kinds)
    assert partitions > 100  # more than one statement may write
