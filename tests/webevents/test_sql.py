"""The SQL runner: files and folders in order, Jinja parameters, one statement per file."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import duckdb
import pytest

from webevents import SQL_DIR, clock
from webevents.cli import main
from webevents.engines.local import LocalEngine, connect, ensure_tables
from webevents.jobs.sql import (
    ORDER_FILE,
    SqlRunError,
    default_params,
    for_each_rows,
    parse_params,
    render,
    run_files,
)


def write(folder: Path, name: str, sql: str) -> Path:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(sql)
    return path


@pytest.fixture
def engine():
    local = LocalEngine(connection=duckdb.connect())
    yield local
    local.connection.close()


def test_folder_runs_in_name_order_including_subfolders(tmp_path, engine):
    write(tmp_path, "b/20_insert.sql", "insert into steps values ('b/20')")
    write(tmp_path, "a/10_insert.sql", "insert into steps values ('a/10')")
    write(tmp_path, "a/02_insert.sql", "insert into steps values ('a/02')")
    engine.connection.execute("create table steps (name varchar)")
    results = run_files([tmp_path], engine=engine, echo=None)
    assert [r.path.relative_to(tmp_path).as_posix() for r in results] == [
        "a/02_insert.sql",
        "a/10_insert.sql",
        "b/20_insert.sql",
    ]
    _, rows = engine.query("select name from steps")
    assert [name for (name,) in rows] == ["a/02", "a/10", "b/20"]
    assert [r.row_count for r in results] == [1, 1, 1]


def test_parameters_are_rendered_and_defaults_apply(tmp_path, engine):
    path = write(
        tmp_path,
        "window.sql",
        "select date '{{ run_date }}' - interval '{{ lookback_days }}' day as first_day, "
        "'{{ label }}' as label",
    )
    (result,) = run_files([path], engine=engine, params={"label": "x"}, echo=None)
    yesterday = clock.today() - dt.timedelta(days=1)
    assert result.columns == ["first_day", "label"]
    assert result.rows == [(yesterday - dt.timedelta(days=3), "x")]


def test_a_missing_parameter_names_the_file_and_the_parameter(tmp_path, engine):
    path = write(tmp_path, "needs.sql", "select {{ date_from }}, {{ run_date }}")
    with pytest.raises(SqlRunError, match=r"needs\.sql: missing parameter\(s\) date_from"):
        run_files([path], engine=engine, echo=None)


def test_parameters_used_only_with_default_are_optional(tmp_path):
    path = write(
        tmp_path,
        "thresholds.sql",
        "{%- set max_rate = max_rate | default(40) %}select {{ max_rate }} as max_rate",
    )
    assert render(path, {}).strip() == "select 40 as max_rate"
    assert render(path, {"max_rate": "60"}).strip() == "select 60 as max_rate"


def test_a_bad_date_parameter_is_refused(tmp_path, engine):
    path = write(tmp_path, "q.sql", "select 1")
    with pytest.raises(SqlRunError, match="run_date='2024-13-01' is not a date"):
        run_files([path], engine=engine, params={"run_date": "2024-13-01"}, echo=None)


def test_param_pairs_parse_and_bad_pairs_are_refused():
    assert parse_params(["run_date=2024-01-02", "label = a=b"]) == {
        "run_date": "2024-01-02",
        "label": "a=b",
    }
    with pytest.raises(SqlRunError, match="expected name=value"):
        parse_params(["run_date"])


def test_default_params_are_yesterday_and_three_days(monkeypatch):
    monkeypatch.delenv("ARCHIVE_S3_LOCATION", raising=False)
    assert default_params(dt.date(2024, 3, 1)) == {"run_date": "2024-02-29", "lookback_days": "3"}


def test_the_archive_location_defaults_from_the_stack_environment(monkeypatch):
    monkeypatch.setenv("ARCHIVE_S3_LOCATION", "s3://archive-bucket/events/")
    assert default_params()["archive_location"] == "s3://archive-bucket/events/"


def test_a_file_with_two_statements_is_refused(tmp_path, engine):
    path = write(tmp_path, "two.sql", "select 1;\n-- and\nselect 2;\n")
    with pytest.raises(SqlRunError, match=r"two\.sql: holds 2 statements"):
        run_files([path], engine=engine, echo=None)


def test_an_empty_file_is_refused(tmp_path, engine):
    path = write(tmp_path, "empty.sql", "-- nothing here\n")
    with pytest.raises(SqlRunError, match="holds no SQL statement"):
        run_files([path], engine=engine, echo=None)


def test_a_failure_names_the_file_and_shows_the_statement(tmp_path, engine):
    write(tmp_path, "01_ok.sql", "select 1")
    write(tmp_path, "02_bad.sql", "select no_such_column from (select 1 as a) as t")
    write(tmp_path, "03_never.sql", "select 3")
    lines: list[str] = []
    with pytest.raises(SqlRunError) as raised:
        run_files([tmp_path], engine=engine, echo=lines.append)
    message = str(raised.value)
    assert "02_bad.sql failed on local" in message
    assert "select no_such_column from (select 1 as a) as t" in message
    assert len(lines) == 1 and "01_ok.sql" in lines[0]


def test_progress_lines_show_timing_and_rows(tmp_path, engine):
    engine.connection.execute("create table t (n int)")
    write(tmp_path, "01_insert.sql", "insert into t select * from unnest(sequence(1, 5))")
    write(tmp_path, "02_select.sql", "select n from t")
    lines: list[str] = []
    run_files([tmp_path], engine=engine, echo=lines.append)
    assert lines[0].startswith("[1/2] ") and lines[0].endswith(" s  5 rows written")
    assert lines[1].startswith("[2/2] ") and lines[1].endswith("5 rows returned")


def test_missing_path_is_a_clear_error(tmp_path, engine):
    with pytest.raises(SqlRunError, match="no such file or folder"):
        run_files([tmp_path / "nope.sql"], engine=engine, echo=None)


def test_sql_ddl_runs_locally_and_again_without_change(tmp_path):
    con = duckdb.connect(str(tmp_path / "lake.duckdb"))
    ensure_tables(con)
    first = con.execute(
        "select schema_name, table_name from duckdb_tables() order by all"
    ).fetchall()
    ensure_tables(con)
    second = con.execute(
        "select schema_name, table_name from duckdb_tables() order by all"
    ).fetchall()
    assert first == second
    assert ("raw", "web_events") in first and ("analytics", "web_events") in first
    assert len(first) == len(list((SQL_DIR / "ddl").glob("*_create.sql"))) - 2  # minus namespaces


def test_lake_connect_builds_the_tables_from_sql_ddl(tmp_path):
    con = connect(tmp_path / "lake")
    tables = {
        f"{s}.{t}"
        for s, t in con.execute("select schema_name, table_name from duckdb_tables()").fetchall()
    }
    con.close()
    assert {"raw.web_events", "analytics.web_events", "analytics.bot_user_agent_patterns"} <= tables


def test_cli_sql_runs_files_and_prints_query_results(tmp_path, capsys):
    path = write(tmp_path, "q.sql", "select '{{ run_date }}' as run_date")
    code = main(
        ["sql", str(path), "--param", "run_date=2024-01-02", "--lake", str(tmp_path / "lake")]
    )
    out = capsys.readouterr().out
    assert code == 0
    assert "[1/1]" in out and "2024-01-02" in out


def test_cli_sql_reports_errors_with_exit_code_1(tmp_path, capsys):
    path = write(tmp_path, "q.sql", "select {{ missing }}")
    code = main(["sql", str(path), "--lake", str(tmp_path / "lake")])
    assert code == 1
    assert "missing parameter(s) missing" in capsys.readouterr().err


def test_cli_sql_says_when_a_statement_needs_athena(tmp_path, capsys):
    path = write(tmp_path, "snapshots.sql", 'select * from analytics."web_events$snapshots"')
    code = main(["sql", str(path), "--lake", str(tmp_path / "lake")])
    assert code == 1
    assert "runs on Athena/Trino only" in capsys.readouterr().err


# ---- run_order.yml: a folder's order, and its for_each table (docs/sql-runner.md) ----
def test_a_folder_runs_in_its_manifest_order_not_name_order(tmp_path, engine):
    engine.connection.execute("create table steps (name varchar)")
    write(tmp_path, "a_insert.sql", "insert into steps values ('a')")
    write(tmp_path, "b_insert.sql", "insert into steps values ('b')")
    write(tmp_path, ORDER_FILE, "run:\n  - b_insert.sql\n  - a_insert.sql\n")
    run_files([tmp_path], engine=engine, echo=None)
    _, rows = engine.query("select name from steps")
    assert [name for (name,) in rows] == ["b", "a"]


def test_a_file_left_out_of_the_manifest_stops_the_run_before_anything_runs(tmp_path, engine):
    engine.connection.execute("create table steps (name varchar)")
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
    engine.connection.execute("create table steps (name varchar)")
    write(tmp_path, "a_insert.sql", "insert into steps values ('a')")
    write(tmp_path, ORDER_FILE, manifest)
    with pytest.raises(SqlRunError, match=message) as raised:
        run_files([tmp_path], engine=engine, echo=None)
    assert "\n" not in str(raised.value)


def test_for_each_runs_the_list_once_per_row_with_its_columns(tmp_path, engine):
    engine.connection.execute("create table steps (name varchar)")
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


def test_landing_on_athena_needs_the_stack_s_ip_handling_said(monkeypatch):
    """Before any AWS call: a workstation backfill would otherwise land under the default."""
    monkeypatch.delenv("IP_HANDLING", raising=False)
    stage = SQL_DIR / "backfill" / "web_events_backfill_stage_insert.sql"
    with pytest.raises(SqlRunError, match="set IP_HANDLING .* as the stack's IpHandling"):
        run_files([stage], engine="athena", echo=None)
    monkeypatch.setattr("webevents.jobs.sql.get_engine", lambda *a, **k: (_ for _ in ()).throw(
        RuntimeError("reached the engine")))
    with pytest.raises(RuntimeError, match="reached the engine"):
        run_files([stage], engine="athena", echo=None, params={"ip_handling": "drop"})
    with pytest.raises(RuntimeError, match="reached the engine"):  # nothing to pseudonymise
        run_files([SQL_DIR / "enrich"], engine="athena", echo=None)
