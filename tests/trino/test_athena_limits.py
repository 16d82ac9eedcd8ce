"""Athena's own limits, enforced by the tier, so SQL that would fail on Athena fails here.

Athena writes at most 100 partitions per INSERT / MERGE / CTAS, Iceberg tables included
(https://docs.aws.amazon.com/athena/latest/ug/ctas-insert-into.html). The tier sets
`iceberg.max-partitions-per-writer` = 100 with one writer per query
(webevents/dev/trino_server.py), so the limit is per statement here too.
"""

from __future__ import annotations

import datetime as dt

import pytest

from webevents import SQL_DIR
from webevents.dev.trino_server import MAX_PARTITIONS_PER_WRITE
from webevents.engines.trino import TrinoEngineError
from webevents.jobs.sql import run_files
from webevents.jobs.windows import MAX_WINDOW_DAYS

pytestmark = pytest.mark.trino


@pytest.fixture(scope="module")
def partitioned(trino_engine):
    trino_engine.execute("create schema if not exists limits")
    trino_engine.execute(
        "create table limits.by_day (n bigint, d date) with (partitioning = ARRAY['d'])"
    )
    return "limits.by_day"


def insert_days(engine, table: str, first: int, days: int, rows_per_day: int = 3) -> None:
    # Several rows per day, spread over the whole input, so one writer sees every partition.
    engine.execute(
        f"insert into {table} "
        f"select n, date_add('day', {first} + n % {days}, date '2026-01-01') "
        f"from unnest(sequence(0, {days * rows_per_day - 1})) as t(n)"
    )


def test_a_write_of_100_partitions_succeeds(trino_engine, partitioned):
    insert_days(trino_engine, partitioned, 0, MAX_PARTITIONS_PER_WRITE)
    _, [(days,)] = trino_engine.query(f"select count(distinct d) from {partitioned}")
    assert days == MAX_PARTITIONS_PER_WRITE


def test_a_write_of_101_partitions_fails_as_on_athena(trino_engine, partitioned):
    with pytest.raises(TrinoEngineError) as raised:
        insert_days(trino_engine, partitioned, 200, MAX_PARTITIONS_PER_WRITE + 1)
    assert raised.value.error_name == "ICEBERG_TOO_MANY_OPEN_PARTITIONS"


def test_a_merge_touching_101_partitions_fails_as_on_athena(trino_engine, partitioned):
    """MERGE writes too: updating rows in 101 partitions is one statement over the limit."""
    insert_days(trino_engine, partitioned, 400, 60)
    insert_days(trino_engine, partitioned, 460, 41)
    with pytest.raises(TrinoEngineError) as raised:
        trino_engine.execute(
            f"merge into {partitioned} as t using (select distinct d from {partitioned} "
            "where d >= date_add('day', 400, date '2026-01-01')) as s on t.d = s.d "
            "when matched then update set n = t.n + 1"
        )
    assert raised.value.error_name == "ICEBERG_TOO_MANY_OPEN_PARTITIONS"


# -- the project's writes stay under the limit whatever the data ------------------------

FIRST_DAY = dt.date(2026, 10, 1)
DAYS = 30
# the known types in every spelling, and free text no list can foresee
SPACE_TYPES = [
    "Apartment", "single family", " TownHouse ", None, *(f"custom {n}" for n in range(9))
]


@pytest.fixture(scope="module")
def wide_window(trino_engine):
    """30 days x 13 space types in raw: 390 (event_date, space_type) pairs, one window."""
    run_files([SQL_DIR / "ddl"], engine=trino_engine, echo=None)
    rows = []
    for day in range(DAYS):
        for n, space_type in enumerate(SPACE_TYPES):
            at = dt.datetime.combine(FIRST_DAY + dt.timedelta(days=day), dt.time(12, n, 0, 123456))
            quoted = "null" if space_type is None else f"'{space_type}'"
            rows.append(
                f"('e-{day}-{n}', timestamp '{at}', date '{at.date()}', 'page', 'a-{n}', "
                f"'s-{day}-{n}', {quoted}, timestamp '{at}', 'firehose', 'nested', '{{}}')"
            )
    trino_engine.execute(
        "insert into raw.web_events (event_id, event_timestamp, event_date, event_type, "
        "anonymous_id, session_id, space_type, received_at, load_source, source_format, "
        f"properties) values {', '.join(rows)}"
    )
    params = {
        "run_date": (FIRST_DAY + dt.timedelta(days=DAYS - 1)).isoformat(),
        "lookback_days": str(DAYS - 1),
    }
    return [
        result.path.name
        for result in run_files(
            [SQL_DIR / "enrich", SQL_DIR / "bots"], engine=trino_engine, params=params, echo=None
        )
    ]


def test_enrich_and_bots_over_a_window_wider_than_100_partitions_succeed(trino_engine, wide_window):
    chunks = -(-DAYS // MAX_WINDOW_DAYS)
    assert wide_window == (
        ["analytics_web_events_merge.sql"] * chunks
        + ["analytics_bot_user_agent_patterns_merge.sql"]
        + ["analytics_web_events_bot_flags_merge.sql"] * chunks
    )
    _, [(events, partitions)] = trino_engine.query(
        "select count(*), count(distinct (event_date, space_type)) from analytics.web_events"
    )
    assert events == DAYS * len(SPACE_TYPES)
    assert partitions > MAX_PARTITIONS_PER_WRITE  # the window did cross the limit


def test_free_text_space_types_become_other(trino_engine, wide_window):
    _, rows = trino_engine.query("select distinct space_type from analytics.web_events")
    expected = {"apartment", "single_family", "townhouse", "other", None}
    assert {value for (value,) in rows} == expected


# -- OPTIMIZE filters on partition columns only ----------------------------------------


@pytest.fixture(scope="module")
def by_month(trino_engine):
    trino_engine.execute("create schema if not exists limits")
    trino_engine.execute(
        "create table limits.by_month (d date, d_month date, n bigint) "
        "with (partitioning = ARRAY['month(d)', 'd_month'])"
    )
    trino_engine.execute(
        "insert into limits.by_month values (date '2026-01-05', date '2026-01-01', 1), "
        "(date '2026-02-05', date '2026-02-01', 2)"
    )
    return "limits.by_month"


def test_optimize_where_on_a_hidden_partitions_source_column_fails_as_on_athena(
    trino_engine, by_month
):
    """Trino alone would accept it (month(d) enforces the filter); Athena refuses it."""
    with pytest.raises(TrinoEngineError) as raised:
        trino_engine.execute(
            f"optimize {by_month} rewrite data using bin_pack where d >= date '2026-02-01'"
        )
    assert raised.value.error_name == "OPTIMIZE_WHERE_NOT_ON_PARTITION_COLUMNS"
    assert "filters on d, which is not a partition column" in str(raised.value)


def test_optimize_where_on_an_identity_partition_column_runs(trino_engine, by_month):
    trino_engine.execute(
        f"optimize {by_month} rewrite data using bin_pack "
        "where d_month >= date_trunc('month', date '2026-02-11')"
    )
