"""sql/ddl: the Iceberg tables match the landing contract, are valid Athena DDL for
S3 Tables (no LOCATION, table_type iceberg) and build the local lake."""

from __future__ import annotations

from pathlib import Path

import duckdb
import landing_contract
import pytest
import sqlglot
from sqlglot import exp

from webevents import SQL_DIR
from webevents.engines.local import LocalEngine
from webevents.jobs.sql import collect_files, run_files

DDL_FILES = collect_files([SQL_DIR / "ddl"])  # in run order (sql/ddl/run_order.yml)


def parse(path: Path) -> exp.Create:
    tree = sqlglot.parse_one(path.read_text(), read="athena")
    assert isinstance(tree, exp.Create), path.name
    return tree


def tables() -> dict[str, exp.Create]:
    found = {}
    for path in DDL_FILES:
        tree = parse(path)
        if tree.args["kind"].upper() == "TABLE":
            table = tree.this.this
            found[f"{table.db}.{table.name}"] = tree
    return found


def columns(tree: exp.Create) -> list[tuple[str, str]]:
    return [
        (c.name, c.args["kind"].sql("hive").lower())
        for c in tree.this.expressions
        if isinstance(c, exp.ColumnDef)
    ]


def properties(tree: exp.Create) -> list[exp.Expression]:
    return list(tree.args["properties"].expressions) if tree.args.get("properties") else []


def partitioning(tree: exp.Create) -> tuple[str, ...]:
    spec = []
    for prop in properties(tree):
        if isinstance(prop, exp.PartitionedByProperty):
            for item in prop.this.expressions:
                if isinstance(item, exp.Identifier | exp.Column):
                    spec.append(item.name)
                else:  # an Iceberg transform such as day(event_timestamp)
                    spec.append(f"{type(item).__name__.lower()}({item.find(exp.Column).name})")
    return tuple(spec)


def contract_columns(spec) -> list[tuple[str, str]]:
    return [(name, kind.lower()) for name, kind, _ in spec]


def test_raw_web_events_is_the_landing_contract():
    raw = tables()["raw.web_events"]
    assert columns(raw) == contract_columns(landing_contract.LANDING_COLUMNS)
    assert partitioning(raw) == landing_contract.RAW_PARTITIONING


def test_analytics_web_events_is_the_analytics_contract():
    analytics = tables()["analytics.web_events"]
    assert columns(analytics) == contract_columns(landing_contract.ANALYTICS_COLUMNS)
    assert partitioning(analytics) == landing_contract.ANALYTICS_PARTITIONING


def test_backfill_stage_carries_the_landing_columns_it_produces():
    stage = dict(columns(tables()["raw.web_events_backfill_stage"]))
    produced = [
        (name, kind.lower())
        for name, kind, _ in landing_contract.LANDING_COLUMNS
        if name not in {"received_at", "load_source"}
    ]
    assert [(name, stage.get(name)) for name, _ in produced] == produced


@pytest.mark.parametrize("path", DDL_FILES, ids=lambda p: p.name)
def test_every_file_is_rerunnable_s3_tables_ddl(path):
    tree = parse(path)
    assert tree.args.get("exists"), "use IF NOT EXISTS so the file is safe to re-run"
    props = properties(tree)
    assert not any(isinstance(p, exp.LocationProperty) for p in props), (
        "S3 Tables chooses table locations; Athena DDL there takes no LOCATION"
    )
    assert not any(isinstance(p, exp.ExternalProperty) for p in props)
    if tree.args["kind"].upper() == "TABLE":
        table_type = {
            p.name: p.text("value").lower() for p in props if isinstance(p, exp.Property)
        }.get("table_type")
        assert table_type == "iceberg"


def test_namespaces_come_before_the_tables_that_use_them():
    seen: set[str] = set()
    for path in DDL_FILES:
        tree = parse(path)
        if tree.args["kind"].upper() == "DATABASE":
            seen.add(tree.this.name)
        else:
            assert tree.this.this.db in seen, f"{path.name} runs before its namespace"


def test_ddl_builds_the_local_lake_and_reruns_cleanly():
    engine = LocalEngine(connection=duckdb.connect())
    first = run_files([SQL_DIR / "ddl"], engine=engine, echo=None)
    again = run_files([SQL_DIR / "ddl"], engine=engine, echo=None)
    assert len(first) == len(again) == len(DDL_FILES)
    _, rows = engine.query(
        "select column_name from information_schema.columns "
        "where table_schema = 'analytics' and table_name = 'web_events' "
        "order by ordinal_position"
    )
    assert [name for (name,) in rows] == [n for n, _, _ in landing_contract.ANALYTICS_COLUMNS]
    _, rows = engine.query(
        "select data_type from information_schema.columns "
        "where table_schema = 'raw' and column_name = 'coordinates' and table_name = 'web_events'"
    )
    assert rows == [("STRUCT(pitch DOUBLE, yaw DOUBLE, hfov DOUBLE)",)]
