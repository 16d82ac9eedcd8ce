"""Every sql/ folder's run order is its run_order.yml, and it names each .sql file once.

Analysts add a file to sql/ and one line to the folder's run_order.yml; these tests fail
until the line is there. The runner tests below show what a manifest does to a run.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest
import yaml

from webevents import SQL_DIR
from webevents.engines.local import LocalEngine
from webevents.sqlrunner import (
    ORDER_FILE,
    SqlRunError,
    collect_files,
    for_each_rows,
    run_files,
    run_order,
)

FOLDERS = sorted(p for p in SQL_DIR.iterdir() if p.is_dir())


def listed(folder: Path) -> list[str]:
    order = yaml.safe_load((folder / ORDER_FILE).read_text())
    return [name for key, files in order.items() if key not in ("for_each", "runs_through")
            for name in files]


@pytest.mark.parametrize("folder", FOLDERS, ids=lambda p: p.name)
def test_every_sql_file_is_in_its_folders_run_order_exactly_once(folder):
    assert (folder / ORDER_FILE).is_file(), f"sql/{folder.name} has no {ORDER_FILE}"
    names = listed(folder)
    assert sorted(names) == sorted(p.name for p in folder.glob("*.sql"))
    assert len(names) == len(set(names))
    assert not list(folder.glob("*/*.sql")), "sql/ folders are flat"


@pytest.mark.parametrize("folder", FOLDERS, ids=lambda p: p.name)
def test_file_names_carry_no_order_numbers(folder):
    """One convention: order lives in run_order.yml, not in name prefixes."""
    assert not [p.name for p in folder.glob("*.sql") if p.name[:1].isdigit()]


def test_folders_the_daily_job_runs_have_a_run_list():
    for name in ("ddl", "enrich", "bots", "maintenance"):
        assert run_order(SQL_DIR / name), name


def test_folders_run_by_a_command_say_which_when_run_as_a_folder():
    with pytest.raises(SqlRunError, match="webevents backfill runs this folder"):
        collect_files([SQL_DIR / "backfill"])


def test_the_ddl_runs_namespaces_first_in_the_manifest_order():
    names = [p.name for p in collect_files([SQL_DIR / "ddl"])]
    assert names[:2] == ["raw_namespace_create.sql", "analytics_namespace_create.sql"]
    assert names == listed(SQL_DIR / "ddl")


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


@pytest.fixture
def engine():
    local = LocalEngine(connection=duckdb.connect())
    local.connection.execute("create table steps (name varchar)")
    yield local
    local.connection.close()


def test_a_folder_runs_in_its_manifest_order_not_name_order(tmp_path, engine):
    write(tmp_path, "a_insert.sql", "insert into steps values ('a')")
    write(tmp_path, "b_insert.sql", "insert into steps values ('b')")
    write(tmp_path, ORDER_FILE, "run:\n  - b_insert.sql\n  - a_insert.sql\n")
    run_files([tmp_path], engine=engine, echo=None)
    _, rows = engine.query("select name from steps")
    assert [name for (name,) in rows] == ["b", "a"]


def test_a_file_left_out_of_the_manifest_stops_the_run_before_anything_runs(tmp_path, engine):
    write(tmp_path, "a_insert.sql", "insert into steps values ('a')")
    write(tmp_path, "new_insert.sql", "insert into steps values ('new')")
    write(tmp_path, ORDER_FILE, "run:\n  - a_insert.sql\n")
    with pytest.raises(SqlRunError, match="does not list new_insert.sql"):
        run_files([tmp_path], engine=engine, echo=None)
    assert engine.query("select count(*) from steps")[1] == [(0,)]


@pytest.mark.parametrize(("manifest", "message"), [
    ("run:\n  - a_insert.sql\n  - a_insert.sql\n", "a_insert.sql listed more than once"),
    ("run:\n  - a_insert.sql\n  - gone.sql\n", "lists gone.sql, which the folder does not hold"),
    ("run: a_insert.sql\n", "run must be a list of .sql file names"),
    ("- a_insert.sql\n", "expected named lists of .sql files"),
    ("run: [a_insert.sql\n", "not valid YAML"),
])
def test_a_broken_manifest_is_a_one_line_error(tmp_path, engine, manifest, message):
    write(tmp_path, "a_insert.sql", "insert into steps values ('a')")
    write(tmp_path, ORDER_FILE, manifest)
    with pytest.raises(SqlRunError, match=message) as raised:
        run_files([tmp_path], engine=engine, echo=None)
    assert "\n" not in str(raised.value)


def test_for_each_runs_the_list_once_per_row_with_its_columns(tmp_path, engine):
    write(tmp_path, "one_insert.sql", "insert into steps values ('{{ table }}-1')")
    write(tmp_path, "two_insert.sql", "insert into steps values ('{{ table }}-2')")
    write(tmp_path, "tables.csv", "# comment lines are skipped\ntable\nx\ny\n")
    write(tmp_path, ORDER_FILE,
          "for_each: tables.csv\nrun:\n  - one_insert.sql\n  - two_insert.sql\n")
    lines = []
    results = run_files([tmp_path], engine=engine, echo=lines.append)
    _, rows = engine.query("select name from steps")
    assert [name for (name,) in rows] == ["x-1", "x-2", "y-1", "y-2"]
    assert [r.bindings for r in results] == [{"table": "x"}] * 2 + [{"table": "y"}] * 2
    assert "one_insert.sql (table=y)" in lines[2]


@pytest.mark.parametrize(("table", "message"), [
    ("table\nx; drop table steps\n", "is not a lowercase SQL name"),
    ("table,column\nx\n", "row 2 has 1 values, the header 2"),
    ("table\n", "the table has no rows"),
])
def test_a_bad_for_each_table_is_refused(tmp_path, table, message):
    write(tmp_path, "tables.csv", table)
    write(tmp_path, ORDER_FILE, "for_each: tables.csv\nrun: []\n")
    with pytest.raises(SqlRunError, match=message):
        for_each_rows(tmp_path)


def test_maintenance_marts_are_sql_names():
    marts = [row["mart"] for row in for_each_rows(SQL_DIR / "maintenance")]
    assert marts and len(marts) == len(set(marts))
