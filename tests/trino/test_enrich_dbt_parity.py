"""sql/enrich, sql/bots and dbt on Trino, row by row against the DuckDB path on the same raw rows.

raw.web_events is copied from the local lake (backfill + Firehose stand-in output) into
this module's Trino catalog with INSERT ... VALUES, so enrichment parity does not depend on
the backfill (compared in test_backfill_parity.py). Then the same sql/ files and the same
dbt models run on both engines.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.trino.local_lake import run_dbt_as_buildspec
from tests.trino.rows import (
    LANDING,
    assert_same_rows,
    comparable_row,
    copy_table,
    table_snapshot,
)
from webevents import DBT_DIR, SQL_DIR
from webevents.jobs.sql import collect_steps, run_files

pytestmark = pytest.mark.trino

ANALYTICS_COMPARED = [
    *LANDING,
    "data_quality_score",
    "quality_issues",
    "is_bot",
    "bot_reasons",
    "duplicate_count",
]  # processed_timestamp is each engine's wall clock
# Marts built on both targets; web_events_snapshot_changes exists on Trino only.
TRINO_ONLY_MODELS = {"web_events_snapshot_changes"}
# Ephemeral on Trino as on Athena (CTEs inlined into the models): no relation to compare;
# their logic is compared through every model built on them.
STAGING_MODELS = {p.stem for p in (DBT_DIR / "models" / "staging").glob("*.sql")}


@pytest.fixture(scope="module")
def pair(local_lake, trino_engine, trino_catalog, trino_port, dbt_work):
    """(local engine, trino engine) after enrich + bots + dbt on both."""
    run_files([SQL_DIR / "ddl"], engine=trino_engine, echo=None)
    local = local_lake.engine()
    copy_table(local, trino_engine, "raw.web_events", LANDING)
    for step in ("enrich", "bots"):
        run_files([SQL_DIR / step], engine=trino_engine, params=local_lake.params, echo=None)
    local.close()
    # The scheduled job's own `dbt build` (buildspec.yml) with prod's materialisations:
    # seeds, models, unit tests and data tests, in dbt's order, as on Athena.
    run_dbt_as_buildspec("trino", dbt_work, dbt_env(trino_catalog, trino_port))
    local = local_lake.engine()
    yield local, trino_engine
    local.close()


@pytest.fixture(scope="module")
def dbt_work(tmp_path_factory) -> Path:
    """Where the tier's dbt writes its target/ and logs/ (CodeBuild's source folder)."""
    return tmp_path_factory.mktemp("dbt-trino")


def dbt_env(catalog: str, port: int) -> dict[str, str]:
    return {"TRINO_PORT": str(port), "TRINO_CATALOG": catalog}


def test_buildspec_dbt_build_runs_unit_and_data_tests_green_on_trino(pair, dbt_work):
    results = json.loads((dbt_work / "dbt-target" / "run_results.json").read_text())
    by_kind: dict[str, list[str]] = {}
    for item in results["results"]:
        by_kind.setdefault(item["unique_id"].split(".")[0], []).append(item["status"])
    assert len(by_kind["unit_test"]) >= 8 and len(by_kind["test"]) >= 20
    assert {status for statuses in by_kind.values() for status in statuses} <= {"pass", "success"}


def test_staging_is_ephemeral_on_trino_as_on_athena(pair):
    _, trino = pair
    assert not mart_tables(trino) & STAGING_MODELS


def test_raw_copy_is_exact(pair):
    local, trino = pair
    assert table_snapshot(trino, "raw.web_events", LANDING) == table_snapshot(
        local, "raw.web_events", LANDING
    )


def test_analytics_web_events_match_row_by_row(pair):
    local, trino = pair
    expected = table_snapshot(local, "analytics.web_events", ANALYTICS_COMPARED)
    actual = table_snapshot(trino, "analytics.web_events", ANALYTICS_COMPARED)
    assert len(actual) == len(expected)
    assert_same_rows(actual, expected, ANALYTICS_COMPARED)


def test_bot_flags_are_exercised(pair):
    """Parity of bot flags means something only if the sample has bots and humans."""
    _, trino = pair
    _, rows = trino.query("select is_bot, count(*) from analytics.web_events group by 1")
    counts = dict(rows)
    assert counts.get(True, 0) > 0 and counts.get(False, 0) > 0


def mart_tables(engine, schema: str = "marts") -> set[str]:
    _, rows = engine.query(
        f"select table_name from information_schema.tables where table_schema = '{schema}'"
    )
    return {name for (name,) in rows}


def test_dbt_builds_the_same_models_on_trino(pair):
    local, trino = pair
    assert mart_tables(trino) - TRINO_ONLY_MODELS == mart_tables(local) - STAGING_MODELS


def dbt_models() -> list[str]:
    return sorted(p.stem for p in (DBT_DIR / "models").rglob("*.sql"))


@pytest.mark.parametrize(
    "model", [m for m in dbt_models() if m not in TRINO_ONLY_MODELS | STAGING_MODELS]
)
def test_dbt_model_matches_duckdb_row_by_row(pair, model):
    local, trino = pair
    assert model in mart_tables(local), f"{model} is not materialised on the local target"
    # processed_* are each engine's wall clock when it wrote the row
    columns = [c for c, _ in columns_of(local, model) if not c.startswith("processed_")]
    expected = table_snapshot(local, f"marts.{model}", columns)
    actual = table_snapshot(trino, f"marts.{model}", columns)
    assert len(actual) == len(expected), f"{model}: row counts differ"
    assert_same_rows(actual, expected, columns)


def test_time_travel_model_reads_real_snapshots(pair):
    _, trino = pair
    _, snapshots = trino.query('select count(*) from analytics."web_events$snapshots"')
    _, rows = trino.query(
        "select snapshot_operation, rows_as_of_snapshot from marts.web_events_snapshot_changes "
        "order by committed_at"
    )
    assert len(rows) == snapshots[0][0]
    _, [(current,)] = trino.query("select count(*) from analytics.web_events")
    assert rows[-1][1] == current  # the newest snapshot is the table as it is now


def columns_of(engine, table: str, schema: str = "marts") -> list[tuple[str, str]]:
    _, rows = engine.query(
        "select column_name, data_type from information_schema.columns "
        f"where table_schema = '{schema}' and table_name = '{table}' order by ordinal_position"
    )
    return rows


def analysis_files() -> list[str]:
    """sql/analysis over analytics (the backfill's own are compared in test_backfill_parity)."""
    return sorted(p.name for p in (SQL_DIR / "analysis").glob("*.sql") if "backfill" not in p.name)


@pytest.mark.parametrize("name", analysis_files())
def test_analysis_query_runs_on_trino_and_matches_duckdb(pair, local_lake, name):
    """sql/analysis on Trino; where DuckDB can run it too (no time travel), same rows."""
    from webevents.engines import AthenaOnlyStatement

    local, trino = pair
    _, [(snapshot_id,)] = trino.query(
        'select snapshot_id from analytics."web_events$snapshots" '
        "order by committed_at desc limit 1"
    )
    _, [(now,)] = trino.query("select cast(current_timestamp as timestamp(6))")
    params = {
        **local_lake.params,
        "snapshot_id": str(snapshot_id),
        "as_of_timestamp": now.isoformat(sep=" "),
    }
    [result] = run_files([SQL_DIR / "analysis" / name], engine=trino, params=params, echo=None)
    assert result.columns
    try:
        [expected] = run_files(
            [SQL_DIR / "analysis" / name], engine=local, params=params, echo=None
        )
    except Exception as error:  # noqa: BLE001 - only Athena-only statements may end here
        if not isinstance(error.__cause__, AthenaOnlyStatement):
            raise
        assert result.rows, f"{name}: time travel to now returned nothing"
        return
    assert result.columns == expected.columns
    columns = list(result.columns)
    assert_same_rows(
        sorted((comparable_row(columns, r) for r in result.rows), key=repr),
        sorted((comparable_row(columns, r) for r in expected.rows), key=repr),
        columns,
    )


def test_maintenance_runs_on_trino(pair, local_lake):
    """sql/maintenance (Athena-only: retention, OPTIMIZE, VACUUM) on the dbt marts."""
    _, trino = pair
    results = run_files(
        [SQL_DIR / "maintenance"], engine=trino, params=local_lake.params, echo=None
    )
    # sql/maintenance/run_order.yml: each file once per mart of marts.csv
    assert len(results) == len(collect_steps([SQL_DIR / "maintenance"]))
    skipped = {(r.path.name, r.bindings["mart"]) for r in results if r.skipped}
    assert skipped == {(s.path.name, dict(s.bindings)["mart"])
                       for s in collect_steps([SQL_DIR / "maintenance"])
                       if s.path.name.endswith("_retention_set.sql")}
