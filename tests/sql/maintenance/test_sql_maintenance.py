"""sql/maintenance: Athena-only statements, parsed with sqlglot's athena dialect and checked.

They run for real only on Athena (Trino has no OPTIMIZE/VACUUM statements of this form),
so these tests check what each statement does: which table, which partition filter,
which retention, in which order, and that both engines route them correctly.
"""

from __future__ import annotations

import math
import re

import duckdb
import pytest
import sqlglot
import yaml
from sqlglot import exp

from webevents import DBT_DIR, SQL_DIR
from webevents.engines.athena import AthenaEngine
from webevents.engines.local import LocalEngine
from webevents.sqlrunner import SqlRunError, collect_files, render, run_files

MAINTENANCE = SQL_DIR / "maintenance"
PARAMS = {"run_date": "2024-05-10", "lookback_days": "3"}
FILES = sorted(MAINTENANCE.glob("*.sql"))


def incremental_models() -> dict[str, tuple[str, str | None]]:
    """dbt incremental models: their Athena partition column and transform (None = identity)."""
    models = {}
    for path in (DBT_DIR / "models").rglob("*.sql"):
        text = path.read_text()
        if "materialized='incremental'" in text:
            partition = re.search(r"partitioned_by=\(\['(?:(\w+)\()?(\w+)\)?'\]", text)
            models[path.stem] = (partition.group(2), partition.group(1)) if partition else None
    return models


def statement(path) -> str:
    return render(path, PARAMS)


def test_every_incremental_mart_gets_retention_optimize_and_vacuum():
    expected = {
        f"marts_{model}_{step}.sql"
        for model in incremental_models()
        for step in ("00_retention_set", "10_optimize", "20_vacuum")
    }
    assert expected and {p.name for p in FILES} == expected


@pytest.mark.parametrize(
    "path", [p for p in FILES if p.name.endswith("_optimize.sql")], ids=lambda p: p.name
)
def test_optimize_bin_packs_only_the_lookback_window(path):
    model = path.name.removeprefix("marts_").removesuffix("_10_optimize.sql")
    sql = statement(path)
    tree = sqlglot.parse_one(sql, read="athena")
    assert isinstance(tree, exp.Command) and tree.name.upper() == "OPTIMIZE"
    text = " ".join(sql.split())
    partition, transform = incremental_models()[model]
    assert f"optimize marts.{model} rewrite data using bin_pack where {partition} >= " in text
    bound = sqlglot.parse_one(text.split(f"where {partition} >= ", 1)[1], read="athena")
    # dbt rewrites from the window start less one session gap plus one maximum session,
    # in whole days (dbt/macros/incremental_window.sql): OPTIMIZE must start there too
    project = yaml.safe_load((DBT_DIR / "dbt_project.yml").read_text())["vars"]
    extra = math.ceil((project["session_gap_minutes"] + project["session_max_minutes"]) / 1440)
    assert extra == 1
    window_start = f"DATE_ADD('DAY', -{3 + extra}, CAST('2024-05-10' AS DATE))"
    # identity partitions only: Athena's OPTIMIZE WHERE takes no hidden-partition source
    assert transform is None
    if partition.endswith("_month"):
        # Whole monthly partitions: the bound is the first day of the window's month.
        window_start = f"DATE_TRUNC('MONTH', {window_start})"
    assert bound.sql("athena") == window_start


@pytest.mark.parametrize(
    "path", [p for p in FILES if p.name.endswith("_vacuum.sql")], ids=lambda p: p.name
)
def test_vacuum_names_one_mart(path):
    model = path.name.removeprefix("marts_").removesuffix("_20_vacuum.sql")
    tree = sqlglot.parse_one(statement(path), read="athena")
    assert isinstance(tree, exp.Command) and tree.name.upper() == "VACUUM"
    assert tree.expression.name.strip() == f"marts.{model}"


@pytest.mark.parametrize(
    "path", [p for p in FILES if p.name.endswith("_retention_set.sql")], ids=lambda p: p.name
)
def test_retention_keeps_two_weeks_and_ten_snapshots(path):
    model = path.name.removeprefix("marts_").removesuffix("_00_retention_set.sql")
    tree = sqlglot.parse_one(statement(path), read="athena")
    assert isinstance(tree, exp.Alter)
    assert (tree.this.db, tree.this.name) == ("marts", model)
    properties = {p.name: p.text("value") for p in tree.find_all(exp.Property)}
    assert properties == {
        "vacuum_max_snapshot_age_seconds": str(14 * 24 * 3600),
        "vacuum_min_snapshots_to_keep": "10",
    }


def test_folder_order_is_retention_then_optimize_then_vacuum_per_table():
    names = [p.name for p in collect_files([MAINTENANCE])]
    for model in incremental_models():
        steps = [n for n in names if n.startswith(f"marts_{model}_")]
        assert [s.removeprefix(f"marts_{model}_")[:2] for s in steps] == ["00", "10", "20"]


def test_the_local_engine_refuses_each_statement_clearly():
    engine = LocalEngine(connection=duckdb.connect())
    for path in FILES:
        with pytest.raises(SqlRunError, match="runs on Athena/Trino only"):
            run_files([path], engine=engine, params=PARAMS, echo=None)


def test_athena_runs_them_in_the_marts_glue_database():
    engine = AthenaEngine(
        client=object(),
        s3_tables_catalog="s3tablescatalog/webevents",
        schema_names={"marts": "webevents_dev_marts"},
    )
    for path in FILES:
        sql = statement(path)
        assert engine.context_for(sql) == {
            "Catalog": "AwsDataCatalog",
            "Database": "webevents_dev_marts",
        }
        code = [line for line in engine.prepare(sql).splitlines() if not line.startswith("--")]
        assert "webevents_dev_marts." in " ".join(code)
        assert " marts." not in " " + " ".join(code)
