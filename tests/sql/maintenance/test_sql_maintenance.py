"""sql/maintenance: Athena-only statements, parsed with sqlglot's athena dialect and checked.

They run for real only on Athena (Trino has no OPTIMIZE/VACUUM statements of this form),
so these tests check what each statement does: which table, which partition filter,
which retention, in which order, and that both engines route them correctly. The
statements are the folder's three files rendered once per mart of marts.csv, as
`webevents sql sql/maintenance` runs them (run_order.yml).
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
from webevents.jobs.sql import SqlRunError, Step, collect_steps, render, run_files

MAINTENANCE = SQL_DIR / "maintenance"
PARAMS = {"run_date": "2024-05-10", "lookback_days": "3"}
STEPS = collect_steps([MAINTENANCE])


def mart(step: Step) -> str:
    return dict(step.bindings)["mart"]


def action(step: Step) -> str:
    """retention_set, optimize or vacuum: the file's action."""
    return step.path.stem.removeprefix("marts_")


def steps(kind: str) -> list[Step]:
    return [step for step in STEPS if action(step) == kind]


def incremental_models() -> dict[str, tuple[str, str | None]]:
    """dbt incremental models: their Athena partition column and transform (None = identity).

    The intermediate and mart folders are incremental unless a model says otherwise
    (dbt_project.yml); a model names its partition column in incremental_config()
    (dbt/macros/model_config.sql; what Athena gets: tests/dbt/test_dbt_parse.py)."""
    models = {}
    for folder in ("intermediate", "marts"):
        for path in (DBT_DIR / "models" / folder).rglob("*.sql"):
            text = path.read_text()
            if "materialized=" in text:
                continue
            partition = re.search(r"partition_by='(?:(\w+)\()?(\w+)\)?'", text)
            models[path.stem] = (partition.group(2), partition.group(1)) if partition else None
    return models


def statement(step: Step) -> str:
    return render(step.path, {**PARAMS, **dict(step.bindings)})


def test_every_incremental_mart_gets_retention_optimize_and_vacuum():
    expected = {
        (model, step)
        for model in incremental_models()
        for step in ("retention_set", "optimize", "vacuum")
    }
    assert expected and {(mart(step), action(step)) for step in STEPS} == expected


def test_the_folder_holds_three_files_whatever_the_number_of_marts():
    assert sorted(p.name for p in MAINTENANCE.glob("*.sql")) == [
        "marts_optimize.sql", "marts_retention_set.sql", "marts_vacuum.sql"]


@pytest.mark.parametrize("step", steps("optimize"), ids=mart)
def test_optimize_bin_packs_only_the_lookback_window(step):
    model = mart(step)
    sql = statement(step)
    tree = sqlglot.parse_one(sql, read="athena")
    assert isinstance(tree, exp.Command) and tree.name.upper() == "OPTIMIZE"
    text = " ".join(sql.split())
    if incremental_models()[model] is None:
        # unpartitioned (dim_identity_ranges): the whole, small table
        assert text.endswith(f"optimize marts.{model} rewrite data using bin_pack")
        return
    partition, transform = incremental_models()[model]
    assert f"optimize marts.{model} rewrite data using bin_pack where {partition} >= " in text
    bound = sqlglot.parse_one(text.split(f"where {partition} >= ", 1)[1], read="athena")
    # dbt rewrites from the window start less one session gap plus one maximum session,
    # in whole days (dbt/macros/incremental_window.sql): OPTIMIZE must start there too
    project = yaml.safe_load((DBT_DIR / "dbt_project.yml").read_text())["vars"]
    extra = math.ceil((project["session_gap_minutes"] + project["session_max_minutes"]) / 1440)
    assert extra == 1
    # and dbt's window start is the newest day it built before this run (the previous
    # daily run's run_date, one day before this one's) less lookback_days
    anchor = 1
    window_start = f"DATE_ADD('DAY', -{3 + extra + anchor}, CAST('2024-05-10' AS DATE))"
    # identity partitions only: Athena's OPTIMIZE WHERE takes no hidden-partition source
    assert transform is None
    if partition.endswith("_month"):
        # Whole monthly partitions: the bound is the first day of the window's month.
        window_start = f"DATE_TRUNC('MONTH', {window_start})"
    assert bound.sql("athena") == window_start


@pytest.mark.parametrize("step", steps("vacuum"), ids=mart)
def test_vacuum_names_one_mart(step):
    model = mart(step)
    tree = sqlglot.parse_one(statement(step), read="athena")
    assert isinstance(tree, exp.Command) and tree.name.upper() == "VACUUM"
    assert tree.expression.name.strip() == f"marts.{model}"


def table_properties(step: Step) -> dict[str, str]:
    """The properties the rendered ALTER TABLE ... SET TBLPROPERTIES sets on its mart."""
    tree = sqlglot.parse_one(statement(step), read="athena")
    assert isinstance(tree, exp.Alter)
    assert (tree.this.db, tree.this.name) == ("marts", mart(step))
    return {p.name: p.text("value") for p in tree.find_all(exp.Property)}


@pytest.mark.parametrize("step", steps("retention_set"), ids=mart)
def test_retention_keeps_two_weeks_and_ten_snapshots(step):
    properties = table_properties(step)
    assert properties["vacuum_max_snapshot_age_seconds"] == str(14 * 24 * 3600)
    assert properties["vacuum_min_snapshots_to_keep"] == "10"


@pytest.mark.parametrize("step", steps("retention_set"), ids=mart)
def test_optimize_rewrites_a_data_file_that_has_a_single_delete_file(step):
    # Athena skips a data file with fewer delete files than
    # optimize_rewrite_delete_file_threshold (default 2) and rewrites nothing when fewer
    # files need it than optimize_rewrite_data_file_threshold (default 5); an erased row
    # left in such a file outlives VACUUM. Both must be 1 (allowed: positive, below 50).
    # https://docs.aws.amazon.com/athena/latest/ug/querying-iceberg-creating-tables.html
    properties = table_properties(step)
    for name in ("optimize_rewrite_delete_file_threshold",
                 "optimize_rewrite_data_file_threshold"):
        assert properties[name] == "1", name
    assert set(properties) == {
        "vacuum_max_snapshot_age_seconds", "vacuum_min_snapshots_to_keep",
        "optimize_rewrite_delete_file_threshold", "optimize_rewrite_data_file_threshold"}


def test_every_mart_the_erasure_optimizes_gets_the_thresholds_first():
    """The erasure's OPTIMIZE (sql/privacy) relies on the thresholds this folder sets, so
    each mart it rewrites is a marts.csv row, whose properties the daily run has set."""
    privacy = sorted((SQL_DIR / "privacy").glob("*optimize.sql"))
    assert privacy
    maintained = {mart(step) for step in steps("retention_set")}
    for path in privacy:
        targets = re.findall(r"^optimize marts\.(\w+)", path.read_text(), re.MULTILINE)
        assert targets and set(targets) <= maintained, path.name


def test_folder_order_is_retention_then_optimize_then_vacuum_per_table():
    for model in incremental_models():
        ordered = [action(step) for step in STEPS if mart(step) == model]
        assert ordered == ["retention_set", "optimize", "vacuum"]


def test_the_local_engine_refuses_each_statement_clearly():
    engine = LocalEngine(connection=duckdb.connect())
    for step in STEPS:
        with pytest.raises(SqlRunError, match="runs on Athena/Trino only"):
            run_files([step], engine=engine, params=PARAMS, echo=None)


def test_athena_runs_them_in_the_marts_glue_database():
    engine = AthenaEngine(
        client=object(),
        s3_tables_catalog="s3tablescatalog/webevents",
        schema_names={"marts": "webevents_dev_marts"},
    )
    for step in STEPS:
        sql = statement(step)
        assert engine.context_for(sql) == {
            "Catalog": "AwsDataCatalog",
            "Database": "webevents_dev_marts",
        }
        code = [line for line in engine.prepare(sql).splitlines() if not line.startswith("--")]
        assert "webevents_dev_marts." in " ".join(code)
        assert " marts." not in " " + " ".join(code)
