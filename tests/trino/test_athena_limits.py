"""Athena's own limits, enforced by the tier, so SQL that would fail on Athena fails here.

Athena writes at most 100 partitions per INSERT / MERGE / CTAS, Iceberg tables included
(https://docs.aws.amazon.com/athena/latest/ug/ctas-insert-into.html). The tier sets
`iceberg.max-partitions-per-writer` = 100 with one writer per query
(webevents/trino_server.py), so the limit is per statement here too.
"""

from __future__ import annotations

import pytest

from webevents.engines.trino import TrinoEngineError
from webevents.trino_server import MAX_PARTITIONS_PER_WRITE

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
