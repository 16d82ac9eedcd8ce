"""Engine differences found by the fidelity tier, pinned: the same Athena SQL on both engines.

Each test states what Trino (= Athena engine v3) does and what the local DuckDB engine does,
so a change on either side shows up here. docs/engine-fidelity.md lists them with the fix
the project's SQL uses (or needs).
"""

from __future__ import annotations

import datetime as dt
import decimal
import gzip

import duckdb
import pytest

from webevents import SQL_DIR
from webevents.engines.local import LocalEngine
from webevents.engines.trino import TrinoEngineError
from webevents.jobs.sql import render, run_files

pytestmark = pytest.mark.trino


@pytest.fixture(scope="module")
def local(tmp_path_factory):
    engine = LocalEngine(
        connection=duckdb.connect(str(tmp_path_factory.mktemp("local") / "lake.duckdb"))
    )
    yield engine
    engine.close()


def one(engine, sql: str):
    _, [(value,)] = engine.query(sql)
    return value


def test_avg_of_decimal_literals_is_rounded_to_their_scale(trino_engine, local):
    # 11 of 20 = 0.55: Trino's avg(decimal(2,1)) is decimal(2,1), so 0.6. DuckDB's own avg
    # gives 0.55; the local engine's transpiler reproduces Trino's rounding.
    sql = "select avg(case when x <= 11 then 1.0 else 0.0 end) from unnest(sequence(1, 20)) as t(x)"
    assert one(trino_engine, sql) == decimal.Decimal("0.6") == one(local, sql)
    # with double literals both engines give the exact share
    doubles = sql.replace("1.0", "1e0").replace("0.0", "0e0")
    assert one(trino_engine, doubles) == pytest.approx(0.55)
    assert one(local, doubles) == pytest.approx(0.55)


def test_cast_as_timestamp_is_milliseconds_on_trino(trino_engine, local):
    sql = "select cast('2026-11-20 10:00:00.654703' as timestamp)"
    assert one(trino_engine, sql) == dt.datetime(2026, 11, 20, 10, 0, 0, 655000)  # rounded
    assert one(local, sql) == dt.datetime(2026, 11, 20, 10, 0, 0, 654703)
    six = "select cast('2026-11-20 10:00:00.654703' as timestamp(6))"
    assert one(trino_engine, six) == dt.datetime(2026, 11, 20, 10, 0, 0, 654703) == one(local, six)


def test_date_add_amount_must_fit_32_bits_on_trino(trino_engine, local):
    sql = "select date_add('millisecond', bigint '1795395321047', timestamp '1970-01-01 00:00:00')"
    with pytest.raises(TrinoEngineError) as raised:
        trino_engine.query(sql)
    assert "integer overflow" in str(raised.value)
    assert one(local, sql) == dt.datetime(2026, 11, 23, 0, 55, 21, 47000)


def test_in_list_of_strings_against_boolean_fails_on_trino(trino_engine, local):
    """What dbt's accepted_values does with `values: [false]` unless `quote: false` is set."""
    sql = "select count(*) from (values true, false) as t(flag) where flag not in ('False')"
    with pytest.raises(TrinoEngineError) as raised:
        trino_engine.query(sql)
    assert raised.value.error_name == "TYPE_MISMATCH"
    assert one(local, sql) == 1


@pytest.fixture(scope="module")
def invalid_utf8_archive(tmp_path_factory):
    """A one-line archive day whose line has a Latin-1 byte, as old exports do."""
    root = tmp_path_factory.mktemp("archive")
    (root / "dt=2026-11-20").mkdir()
    with gzip.open(root / "dt=2026-11-20" / "events.jsonl.gz", "wb") as handle:
        handle.write(b'{"type":"page","title":"Caf\xe9","timestamp":"2026-11-20T10:00:00Z"}\n')
    return root.as_posix() + "/"


def create_archive_table(engine, location: str) -> None:
    params = {"archive_location": location}
    run_files(
        [SQL_DIR / "backfill" / "archive_database_create.sql"],
        engine=engine,
        params=params,
        echo=None,
    )
    engine.execute(render(SQL_DIR / "backfill" / "web_events_archive_create.sql", params))


def test_text_reader_keeps_invalid_utf8_bytes_on_trino(trino_engine, local, invalid_utf8_archive):
    for engine in (trino_engine, local):
        create_archive_table(engine, invalid_utf8_archive)
    sql = (
        "select strpos(line, U&'\\FFFD') > 0, from_utf8(to_utf8(line)) <> line "
        "from archive.web_events_archive where dt = '2026-11-20'"
    )
    # Trino: the raw byte stays in the varchar (no U+FFFD), detectable via from_utf8(to_utf8())
    assert trino_engine.query(sql)[1] == [(False, True)]
    # DuckDB's view already replaced it with U+FFFD
    assert local.query(sql)[1] == [(True, False)]


def test_path_pseudo_column_carries_the_file_system_scheme(
    trino_engine, local, invalid_utf8_archive
):
    sql = 'select "$path" from archive.web_events_archive'
    file = invalid_utf8_archive + "dt=2026-11-20/events.jsonl.gz"
    assert one(trino_engine, sql) == "local://" + file  # s3://bucket/key on Athena
    assert one(local, sql) == file


def test_projected_days_without_files_read_as_empty(trino_engine, invalid_utf8_archive):
    """Athena returns no rows for a projected day with no folder; Trino needs
    hive.ignore-absent-partitions=true (set by webevents.dev.trino_server) to do the same."""
    _, rows = trino_engine.query(
        "select dt, count(*) from archive.web_events_archive "
        "where dt between '2026-11-01' and '2026-11-30' group by dt"
    )
    assert rows == [("2026-11-20", 1)]
