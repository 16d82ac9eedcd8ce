"""sql/analysis: local queries run on fixture rows; Athena-only ones are parsed and checked."""

from __future__ import annotations

import duckdb
import pytest
import sqlglot
from sqlglot import exp

from tests.sql.sql_cases import case_files, load_case
from webevents import SQL_DIR
from webevents.engines import AthenaOnlyStatement
from webevents.engines.local import LocalEngine
from webevents.jobs.sql import SqlRunError, default_params, render, run_files

ANALYSIS = SQL_DIR / "analysis"
PARAMS = {
    "run_date": "2024-05-10",
    "lookback_days": "2",
    "as_of_timestamp": "2024-05-10 06:00:00 UTC",
    "snapshot_id": "4417180931405546745",
}
# The local queries' cases are data: tests/sql/analysis/cases/*.yml (tests/sql/test_sql_cases.py).


@pytest.fixture
def engine():
    local = LocalEngine(connection=duckdb.connect())
    run_files([SQL_DIR / "ddl"], engine=local, echo=None)
    yield local
    local.connection.close()


def test_backfill_totals_count_every_archive_line_from_the_tables():
    local = LocalEngine(connection=duckdb.connect())
    run_files([SQL_DIR / "ddl"], engine=local, echo=None)
    at = "timestamp '2024-05-08 10:00:00'"
    local.execute("insert into raw.web_events_backfill_loads values "
                  "(date '2024-05-01', date '2024-05-31', 6, 4, 1, 1, timestamp '2024-06-01')")
    # k1 twice in one chunk (both land) and once more in a later chunk (already landed)
    local.execute(
        "insert into raw.web_events_backfill_stage (archive_date, outcome, event_id, "
        f"event_timestamp) values (date '2024-05-08', 'ok', 'k1', {at}), "
        f"(date '2024-05-08', 'ok', 'k1', {at}), (date '2024-06-02', 'ok', 'k1', {at}), "
        f"(date '2024-05-08', 'ok', 'k2', {at}), (date '2024-05-08', 'dropped', null, null), "
        "(date '2024-05-08', 'rejected', null, null)")
    local.execute("insert into raw.web_events_backfill_rejects (archive_date, reason) values "
                  "(date '2024-05-08', 'invalid_json')")
    local.execute(
        "insert into raw.web_events (event_id, event_timestamp, load_source) values "
        f"('k1', {at}, 'backfill'), ('k1', {at}, 'backfill'), ('k2', {at}, 'backfill'), "
        f"('k3', {at}, 'firehose')")

    def totals():
        (result,) = run_files([ANALYSIS / "raw_web_events_backfill_totals.sql"], engine=local,
                              echo=None)
        return dict(zip(result.columns, result.rows[0], strict=True))

    assert totals() == {"records_in": 6, "landed": 3, "skipped": 1, "failed": 1, "dropped": 1,
                        "lines_not_landed": 0, "rows_without_a_line": 0, "is_balanced": True}
    local.execute(f"insert into raw.web_events (event_id, event_timestamp, load_source) values "
                  f"('k2', {at}, 'backfill')")  # a row no archive line explains
    assert (totals()["rows_without_a_line"], totals()["is_balanced"]) == (1, False)
    local.execute("delete from raw.web_events where event_id = 'k2'")  # a line that never landed
    assert (totals()["lines_not_landed"], totals()["is_balanced"]) == (1, False)


# --- Athena / Trino only: parsed with sqlglot's athena dialect ------------------------------

ATHENA_ONLY = {
    "web_events_as_of_timestamp.sql",
    "web_events_as_of_version.sql",
    "web_events_changes_since_timestamp.sql",
    "web_events_snapshots.sql",
    "web_events_history.sql",
}


def parsed(name: str) -> exp.Expression:
    return sqlglot.parse_one(render(ANALYSIS / name, {**default_params(), **PARAMS}), read="athena")


def time_travel(tree: exp.Expression) -> list[tuple[str, str, str]]:
    return [
        (t.name, t.args["version"].name, t.args["version"].expression.sql("athena"))
        for t in tree.find_all(exp.Table)
        if t.args.get("version") is not None
    ]


def test_as_of_timestamp_reads_the_table_at_the_given_instant():
    tree = parsed("web_events_as_of_timestamp.sql")
    assert time_travel(tree) == [
        (
            "web_events",
            "TIMESTAMP",
            "CAST('2024-05-10 06:00:00 UTC' AS TIMESTAMP(0) WITH TIME ZONE)",
        )
    ]
    assert tree.find(exp.Group) is not None and tree.find(exp.Between) is not None


def test_as_of_version_reads_one_snapshot():
    tree = parsed("web_events_as_of_version.sql")
    assert time_travel(tree) == [("web_events", "VERSION", "4417180931405546745")]


def test_changes_since_compares_now_with_the_past():
    tree = parsed("web_events_changes_since_timestamp.sql")
    tables = [
        (t.name, t.args.get("version") is not None)
        for t in tree.find_all(exp.Table)
        if t.db == "analytics"
    ]
    assert sorted(tables) == [("web_events", False), ("web_events", True)]
    assert tree.find(exp.Join).args.get("side") == "FULL"


@pytest.mark.parametrize(
    ("name", "table", "columns"),
    [
        (
            "web_events_snapshots.sql",
            "web_events$snapshots",
            {"committed_at", "snapshot_id", "parent_id", "operation", "summary"},
        ),
        (
            "web_events_history.sql",
            "web_events$history",
            {"made_current_at", "snapshot_id", "parent_id", "is_current_ancestor"},
        ),
    ],
)
def test_metadata_queries_read_iceberg_metadata_tables(name, table, columns):
    tree = parsed(name)
    assert [(t.db, t.name) for t in tree.find_all(exp.Table)] == [("analytics", table)]
    assert {c.name for c in tree.find_all(exp.Column)} == columns


@pytest.mark.parametrize("name", sorted(ATHENA_ONLY))
def test_athena_only_queries_say_so_on_the_local_engine(engine, name):
    with pytest.raises(SqlRunError) as raised:
        run_files([ANALYSIS / name], engine=engine, params=PARAMS, echo=None)
    assert isinstance(raised.value.__cause__, AthenaOnlyStatement)


def test_every_analysis_file_is_covered_here():
    """Here, or by a case in cases/ naming it."""
    cases = {load_case(path).sql.name for path in case_files()
             if load_case(path).sql.parent == ANALYSIS}
    local = {
        "web_events_daily_summary.sql",
        "web_events_top_rooms.sql",
        "web_events_bot_reasons.sql",
        "web_events_quality_issues.sql",
        "raw_web_events_backfill_reconciliation.sql",
        "raw_web_events_backfill_totals.sql",
    }
    assert local - {"raw_web_events_backfill_totals.sql"} <= cases
    assert {p.name for p in ANALYSIS.glob("*.sql")} == local | ATHENA_ONLY
