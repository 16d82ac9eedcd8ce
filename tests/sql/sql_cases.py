"""Data-driven SQL cases: input rows and expected rows in one YAML file beside the tests.

A case is `tests/sql/<folder>/cases/<name>.yml` (CONTRIBUTING.md, "Adding a SQL test case"):

    # What the case shows, in one sentence.
    sql: sql/analysis/web_events_bot_reasons.sql   # the file under test, from the repo root
    params: {run_date: "2024-05-10", lookback_days: "2"}   # its Jinja parameters, if any
    given:                                         # rows per table, or a file in inputs/
      analytics.web_events:
        - {event_id: e1, event_date: 2024-05-08, is_bot: true, bot_reasons: [ua_crawler]}
    expect:                                        # the query's rows, in its order
      - {bot_reason: ua_crawler, events: 1}
    expect_tables:                                 # for a statement that writes: the rows a
      analytics.web_events:                        # table holds afterwards (any order), in
        - {event_id: e1, is_bot: true}             # the columns named

Tables start empty, created by sql/ddl on an in-memory local engine; columns a row leaves
out are null. An expected row names the columns it checks (each must exist in the result);
numbers with a fraction compare to 1e-9.
"""

from __future__ import annotations

import datetime as dt
import decimal
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import yaml

from webevents import PROJECT_ROOT, SQL_DIR
from webevents.engines.local import LocalEngine
from webevents.jobs.sql import run_files

TESTS_SQL = Path(__file__).resolve().parent


@dataclass
class SqlCase:
    path: Path
    sql: Path
    params: dict[str, str]
    given: dict[str, list[dict[str, Any]]]
    expect: list[dict[str, Any]] | None
    expect_tables: dict[str, list[dict[str, Any]]]

    @property
    def name(self) -> str:
        return self.path.relative_to(TESTS_SQL).with_suffix("").as_posix()


def case_files(root: Path = TESTS_SQL) -> list[Path]:
    return sorted(root.glob("*/cases/*.yml"))


def load_case(path: Path) -> SqlCase:
    """One case file; a malformed one is a one-line error naming the file and the key."""
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    unknown = set(data) - {"sql", "params", "given", "expect", "expect_tables"}
    if unknown or "sql" not in data or not ({"expect", "expect_tables"} & set(data)):
        raise ValueError(f"{path}: a case has sql, given and expect or expect_tables "
                         f"(unknown keys: {sorted(unknown)})")
    sql = PROJECT_ROOT / data["sql"]
    if not sql.is_file():
        raise ValueError(f"{path}: sql {data['sql']} is not a file of the repo")
    given = data.get("given") or {}
    if isinstance(given, str):  # rows shared by several cases of the folder
        given = yaml.safe_load((path.parent / given).read_text(encoding="utf-8")) or {}
    return SqlCase(path, sql, {k: str(v) for k, v in (data.get("params") or {}).items()},
                   given, data.get("expect"), data.get("expect_tables") or {})


def run_case(case: SqlCase) -> tuple[list[dict] | None, dict[str, list[dict]]]:
    """The query's rows (None for a statement) and the rows of each table in expect_tables,
    each as column -> value, in the columns the expectations name."""
    engine = LocalEngine(connection=duckdb.connect())
    try:
        run_files([SQL_DIR / "ddl"], engine=engine, echo=None)
        for table, rows in case.given.items():
            for row in rows:
                columns = ", ".join(f'"{c}"' for c in row)
                marks = ", ".join("?" for _ in row)
                engine.connection.execute(f"insert into {table} ({columns}) values ({marks})",
                                          list(row.values()))
        (result,) = run_files([case.sql], engine=engine, params=case.params, echo=None)
        rows = None
        if result.is_query:
            rows = [dict(zip(result.columns, row, strict=True)) for row in result.rows]
        tables = {}
        for table, expected in case.expect_tables.items():
            columns = list(expected[0]) if expected else ["*"]
            cursor = engine.connection.execute(
                f"select {', '.join(columns)} from {table}")
            names = [d[0] for d in cursor.description]
            tables[table] = [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
        return rows, tables
    finally:
        engine.connection.close()


def differences(expected: list[dict], actual: list[dict] | None, what: str,
                any_order: bool = False) -> list[str]:
    """What differs, one line each (empty when the rows match)."""
    if actual is None:
        return [f"{what}: the statement returned no rows to compare (not a query)"]
    columns = list(dict.fromkeys(column for row in expected for column in row))
    if actual and set(columns) - set(actual[0]):
        return [f"{what}: no column(s) {sorted(set(columns) - set(actual[0]))}; "
                f"it has {list(actual[0])}"]
    got = [{column: _plain(row[column]) for column in columns} for row in actual]
    if any_order:  # a table's rows: compared in one order, whatever the engine returned
        expected, got = sorted(expected, key=_order), sorted(got, key=_order)
    problems = []
    if len(got) != len(expected):
        problems.append(f"{what}: {len(got)} row(s), expected {len(expected)}")
    for number, (want, row) in enumerate(zip(expected, got, strict=False), start=1):
        for column, value in want.items():
            if not _same(value, row[column]):
                problems.append(f"{what} row {number} {column}: {row[column]!r}, "
                                f"expected {value!r}")
    return problems


def _order(row: dict) -> str:
    return repr([(k, round(v, 6) if isinstance(v, float) else v) for k, v in sorted(row.items())])


def _plain(value: Any) -> Any:
    if isinstance(value, decimal.Decimal):
        return float(value)
    if isinstance(value, tuple):
        return list(value)
    return value


def _same(want: Any, got: Any) -> bool:
    if isinstance(want, float) or isinstance(got, float):
        return (want is not None and got is not None
                and math.isclose(float(want), float(got), rel_tol=1e-9, abs_tol=1e-9))
    if isinstance(want, dt.datetime) and isinstance(got, dt.datetime):
        return want.replace(tzinfo=None) == got.replace(tzinfo=None)
    return want == got
