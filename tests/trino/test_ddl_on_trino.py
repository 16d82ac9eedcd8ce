"""sql/ddl and the archive's external table, translated by the trino engine and run on Trino."""

from __future__ import annotations

import gzip

import landing_contract
import pytest

from webevents import SQL_DIR
from webevents.engines.trino import TrinoEngineError
from webevents.jobs.sql import render, run_files, run_order

pytestmark = pytest.mark.trino

# Iceberg type names (the contract) -> the type Trino's Iceberg connector reports.
TRINO_TYPES = {
    "string": "varchar",
    "timestamp": "timestamp(6)",
    "date": "date",
    "double": "double",
    "boolean": "boolean",
    "int": "integer",
    "array<string>": "array(varchar)",
    landing_contract.COORDINATES_TYPE: "row(pitch double, yaw double, hfov double)",
}


@pytest.fixture(scope="module")
def ddl_results(trino_engine):
    return run_files([SQL_DIR / "ddl"], engine=trino_engine, echo=None)


def table_columns(engine, schema: str, table: str) -> list[tuple[str, str]]:
    _, rows = engine.query(
        "select column_name, data_type from information_schema.columns "
        f"where table_schema = '{schema}' and table_name = '{table}' order by ordinal_position"
    )
    return [(name, kind) for name, kind in rows]


def partitioning(engine, schema: str, table: str) -> list[str]:
    _, [(create,)] = engine.query(f"show create table {schema}.{table}")
    inside = (
        create.split("partitioning = ARRAY[", 1)[1].split("]", 1)[0]
        if ("partitioning = ARRAY[" in create)
        else ""
    )
    return [part.strip().strip("'") for part in inside.split(",") if part.strip()]


def test_every_ddl_file_runs_on_trino(ddl_results):
    # in sql/ddl/run_order.yml's order, which names every file of the folder once
    assert [r.path.name for r in ddl_results] == [p.name for p in run_order(SQL_DIR / "ddl")]
    assert sorted(r.path.name for r in ddl_results) == sorted(
        p.name for p in (SQL_DIR / "ddl").glob("*.sql")
    )


@pytest.mark.parametrize(
    ("schema", "columns", "partitions"),
    [
        ("raw", landing_contract.LANDING_COLUMNS, landing_contract.RAW_PARTITIONING),
        ("analytics", landing_contract.ANALYTICS_COLUMNS, landing_contract.ANALYTICS_PARTITIONING),
    ],
)
def test_web_events_tables_match_the_contract(
    ddl_results, trino_engine, schema, columns, partitions
):
    expected = [(name, TRINO_TYPES[kind]) for name, kind, _ in columns]
    assert table_columns(trino_engine, schema, "web_events") == expected
    assert partitioning(trino_engine, schema, "web_events") == list(partitions)


def test_tables_are_iceberg_format_v2_parquet(ddl_results, trino_engine):
    _, rows = trino_engine.query("show tables from raw")
    assert {"web_events", "web_events_backfill_stage"} <= {name for (name,) in rows}
    _, [(create,)] = trino_engine.query("show create table analytics.web_events")
    assert "format = 'PARQUET'" in create and "format_version = 2" in create


def test_ddl_is_rerunnable(ddl_results, trino_engine):
    again = run_files([SQL_DIR / "ddl"], engine=trino_engine, echo=None)
    assert len(again) == len(ddl_results)


def test_archive_external_table_reads_gzip_lines_with_partition_projection(trino_engine, tmp_path):
    archive = tmp_path / "archive"
    day = archive / "dt=2026-11-20"
    day.mkdir(parents=True)
    lines = ['{"type":"page","timestamp":"2026-11-20T10:00:00Z"}', "not json", ""]
    with gzip.open(day / "events.jsonl.gz", "wt") as handle:
        handle.write("\n".join(lines) + "\n")
    params = {"archive_location": archive.as_posix() + "/"}
    run_files(
        [SQL_DIR / "backfill" / "archive_database_create.sql"],
        engine=trino_engine,
        echo=None,
        params=params,
    )
    trino_engine.execute("drop table if exists archive.web_events_archive")
    trino_engine.execute(render(SQL_DIR / "backfill" / "web_events_archive_create.sql", params))
    _, rows = trino_engine.query(
        'select dt, "$path", line from archive.web_events_archive '
        "where dt between '2026-11-19' and '2026-11-21' order by line"
    )
    # Projection finds dt=2026-11-20 without MSCK REPAIR; the absent days read as empty.
    assert [(dt, line) for dt, _, line in rows] == [
        ("2026-11-20", ""),
        ("2026-11-20", "not json"),
        ("2026-11-20", lines[0]),
    ]
    assert {path for _, path, _ in rows} == {f"local://{day / 'events.jsonl.gz'}"}


def test_unknown_table_property_is_a_clear_error(trino_engine):
    with pytest.raises(Exception, match="no Trino counterpart"):
        trino_engine.execute(
            "create table raw.not_made (a string) tblproperties ('table_type'='iceberg', "
            "'made_up_property'='1')"
        )


def test_trino_errors_name_the_statement(ddl_results, trino_engine):
    with pytest.raises(TrinoEngineError) as raised:
        trino_engine.query("select no_such_column from raw.web_events")
    assert raised.value.error_name == "COLUMN_NOT_FOUND"
    assert "select no_such_column" in str(raised.value)


def test_no_server_is_a_clear_error():
    from webevents.dev.trino_server import free_port
    from webevents.engines import EngineError, get_engine

    engine = get_engine("trino", port=free_port())
    with pytest.raises(EngineError, match="no Trino server answers at 127.0.0.1"):
        engine.query("select 1")


def test_athena_ctas_with_iceberg_properties_runs(ddl_results, trino_engine):
    trino_engine.execute("drop table if exists analytics.ctas_probe")
    trino_engine.execute(
        "create table analytics.ctas_probe with (table_type = 'ICEBERG', is_external = false, "
        "location = 's3://bucket/analytics/ctas_probe/', format = 'PARQUET', "
        "partitioning = ARRAY['day(event_timestamp)']) "
        "as select event_id, event_timestamp from raw.web_events"
    )
    assert partitioning(trino_engine, "analytics", "ctas_probe") == ["day(event_timestamp)"]
