"""sql/analysis: local queries run on fixture rows; Athena-only ones are parsed and checked."""

from __future__ import annotations

import datetime as dt

import duckdb
import pytest
import sqlglot
from sqlglot import exp

from webevents import SQL_DIR
from webevents.engines import AthenaOnlyStatement
from webevents.engines.local import LocalEngine
from webevents.sqlrunner import SqlRunError, default_params, render, run_files

ANALYSIS = SQL_DIR / "analysis"
PARAMS = {
    "run_date": "2024-05-10",
    "lookback_days": "2",
    "as_of_timestamp": "2024-05-10 06:00:00 UTC",
    "snapshot_id": "4417180931405546745",
}
COLUMNS = (
    "event_id, event_date, anonymous_id, session_id, space_id, space_name, room_id, "
    "room_name, is_bot, bot_reasons, data_quality_score, quality_issues"
)
# (event_id, day, visitor, session, room, is_bot, bot_reasons, score, quality_issues)
EVENTS = [
    ("e1", "2024-05-08", "v1", "s1", "r1", False, [], 1.0, []),
    ("e2", "2024-05-08", "v1", "s1", "r2", False, [], 0.5, ["missing_user_agent"]),
    ("e3", "2024-05-09", "v2", "s2", "r1", False, [], 1.0, []),
    (
        "e4",
        "2024-05-09",
        "b1",
        "s3",
        "r1",
        True,
        ["declared_crawler", "event_rate"],
        0.8,
        ["missing_page_url"],
    ),
    (
        "e5",
        "2024-05-10",
        "b1",
        "s3",
        "r1",
        True,
        ["event_rate"],
        0.5,
        ["missing_page_url", "missing_user_agent"],
    ),
    ("e6", "2024-05-07", "v3", "s4", "r1", False, [], 1.0, []),  # before the window
]


def sql_array(values: list[str]) -> str:
    return (
        "cast(array[] as array(varchar))"
        if not values
        else ("array[" + ", ".join(f"'{v}'" for v in values) + "]")
    )


@pytest.fixture
def engine():
    local = LocalEngine(connection=duckdb.connect())
    run_files([SQL_DIR / "ddl"], engine=local, echo=None)
    rows = ", ".join(
        f"('{e}', date '{day}', '{visitor}', '{session}', 'sp1', 'Loft', '{room}', "
        f"'Room {room}', {str(bot).lower()}, {sql_array(reasons)}, {score}, {sql_array(issues)})"
        for e, day, visitor, session, room, bot, reasons, score, issues in EVENTS
    )
    local.execute(f"insert into analytics.web_events ({COLUMNS}) values {rows}")
    local.execute(
        "insert into raw.web_events_backfill_loads values "
        "(date '2024-05-01', date '2024-05-07', 100, 90, 8, 2, timestamp '2024-05-11 02:00:00'), "
        "(date '2024-05-08', date '2024-05-10', 50, 45, 3, 0, timestamp '2024-05-11 02:05:00')"
    )
    yield local
    local.connection.close()


def run(engine: LocalEngine, name: str):
    (result,) = run_files([ANALYSIS / name], engine=engine, params=PARAMS, echo=None)
    return result.columns, result.rows


def test_daily_summary(engine):
    columns, rows = run(engine, "web_events_daily_summary.sql")
    assert columns[:4] == ["event_date", "events", "anonymous_visitors", "sessions"]
    assert rows == [
        (dt.date(2024, 5, 8), 2, 1, 1, 0.0, 0.75),
        (dt.date(2024, 5, 9), 2, 2, 2, 0.5, 0.9),
        (dt.date(2024, 5, 10), 1, 1, 1, 1.0, 0.5),
    ]


def test_top_rooms_count_humans_in_the_window(engine):
    _, rows = run(engine, "web_events_top_rooms.sql")
    assert rows == [
        ("sp1", "Loft", "r1", "Room r1", 2, 2, 2),
        ("sp1", "Loft", "r2", "Room r2", 1, 1, 1),
    ]


def test_bot_reasons(engine):
    _, rows = run(engine, "web_events_bot_reasons.sql")
    assert rows == [("event_rate", 2, 1), ("declared_crawler", 1, 1)]


def test_quality_issues(engine):
    _, rows = run(engine, "web_events_quality_issues.sql")
    assert rows == [
        ("missing_page_url", 2, pytest.approx(0.4)),
        ("missing_user_agent", 2, pytest.approx(0.4)),
    ]


def test_backfill_reconciliation(engine):
    _, rows = run(engine, "raw_web_events_backfill_reconciliation.sql")
    assert [(r[0], r[-2], r[-1]) for r in rows] == [
        (dt.date(2024, 5, 1), 0, True),
        (dt.date(2024, 5, 8), 2, False),
    ]


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
    local = {
        "web_events_daily_summary.sql",
        "web_events_top_rooms.sql",
        "web_events_bot_reasons.sql",
        "web_events_quality_issues.sql",
        "raw_web_events_backfill_reconciliation.sql",
        "raw_web_events_backfill_totals.sql",
    }
    assert {p.name for p in ANALYSIS.glob("*.sql")} == local | ATHENA_ONLY
