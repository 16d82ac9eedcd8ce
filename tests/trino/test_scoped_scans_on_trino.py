"""A daily dbt run on the Iceberg tier reads its window: merges, identity, tests, time travel.

The lake gets a few days of events, one `dbt build`, then a day of new events with late
identifications and a second, incremental `dbt build` (unit tests excluded: the parity
module runs them). What the engine is sent is read from dbt's target/run folder.
"""

from __future__ import annotations

import re
from datetime import date, timedelta
from pathlib import Path

import pytest

from tests.dbt import lake_fixture
from tests.dbt.identity_events import identifications, late_identifications
from tests.trino.local_lake import run_dbt
from tests.trino.rows import LANDING, LANDING_TYPES, insert_sql
from webevents import SQL_DIR
from webevents.jobs.sql import run_files

pytestmark = pytest.mark.trino

FIRST_BUILT_DAY = date(2026, 11, 14)
HISTORY_DAYS = 3
NEW_DAY = FIRST_BUILT_DAY + timedelta(days=1)
# incremental model -> the columns its MERGE must name as literals on the target:
# the leading key date and, for the monthly marts, their month partition column
PRUNED = {
    "int_session_boundaries": ["event_date"],
    "fct_web_events": ["event_date"],
    "fct_sessions": ["session_date"],
    "spatial_room_engagement_daily": ["event_date", "event_month"],
    "journey_funnel_daily": ["session_date", "session_month"],
    "daily_kpis": ["kpi_date", "kpi_month"],
    "quality_scores_daily": ["event_date", "event_month"],
    "quality_check_failures_daily": ["event_date", "event_month"],
    "bot_traffic_daily": ["event_date", "event_month"],
}
ANALYTICS = list(LANDING_TYPES)


def insert_rows(engine, rows: list[dict]) -> None:
    for start in range(0, len(rows), 300):
        batch = rows[start:start + 300]
        engine.execute(insert_sql("analytics.web_events", ANALYTICS,
                                  [[row.get(c) for c in ANALYTICS] for row in batch]))
        engine.execute(insert_sql("raw.web_events", LANDING,
                                  [[row.get(c) for c in LANDING] for row in batch]))


def dim_rows(engine) -> list[tuple]:
    _, rows = engine.query("select * from marts.dim_identity_ranges order by identity_key")
    return rows


@pytest.fixture(scope="module")
def daily(trino_engine, trino_catalog, trino_port, tmp_path_factory):
    """(engine, work folder of the incremental build, dim after it)."""
    run_files([SQL_DIR / "ddl"], engine=trino_engine, echo=None)
    env = {"TRINO_PORT": str(trino_port), "TRINO_CATALOG": trino_catalog}
    work = tmp_path_factory.mktemp("dbt-scoped")
    rows = lake_fixture.history(FIRST_BUILT_DAY, HISTORY_DAYS, visitors=6)
    for offset in range(HISTORY_DAYS):
        rows += identifications(FIRST_BUILT_DAY - timedelta(days=offset))
    insert_rows(trino_engine, rows)
    build = ["build", "--target", "trino", "--exclude-resource-type", "unit_test"]
    run_dbt(build, work / "first", env)
    insert_rows(trino_engine, lake_fixture.day_events(NEW_DAY, visitors=6)
                + identifications(NEW_DAY) + late_identifications(NEW_DAY))
    # merge-on-read deletes in the source's history, so the snapshot metadata's row
    # counts have position deletes to take off
    trino_engine.execute(
        "update analytics.web_events set data_quality_score = 0.5 "
        f"where event_date = date '{NEW_DAY}' and event_type = 'track' and user_id is null")
    trino_engine.execute(
        "delete from analytics.web_events where anonymous_id = 'bot-crawler' "
        f"and event_date = date '{NEW_DAY}' and event_timestamp < timestamp '{NEW_DAY} 01:00:00'")
    run_dbt(build, work / "daily", env)
    incremental_dim = dim_rows(trino_engine)
    run_dbt(["run", "--target", "trino", "--full-refresh", "--select", "dim_identity_ranges"],
            work / "refresh", env)
    return trino_engine, work / "daily", incremental_dim


def sent(work: Path, name: str, folder: str = "run") -> str:
    """What dbt sent for a node (run), or its compiled select (compiled)."""
    [path] = (work / "target" / folder).rglob(f"{name}.sql")
    return path.read_text()


def without_comments(sql: str) -> str:
    return re.sub(r"--[^\n]*", "", sql)


@pytest.mark.parametrize("model", sorted(PRUNED))
def test_each_mart_merge_names_its_target_partitions_as_literals(daily, model):
    _, work, _ = daily
    merge = sent(work, model)
    assert re.search(r"^\s*merge into ", merge, re.IGNORECASE | re.MULTILINE), model
    for column in PRUNED[model]:
        listed = re.search(rf"target\.{column} in \(([^)]*)\)", merge)
        assert listed, f"{model}: no literal predicate on target.{column}"
        assert re.fullmatch(r"date '\d{4}-\d{2}-\d{2}'(, date '\d{4}-\d{2}-\d{2}')*",
                            listed.group(1)), listed.group(1)
    assert f"date '{NEW_DAY}'" in merge


def test_incremental_identity_ranges_equal_a_full_refresh_on_trino(daily):
    engine, _, incremental = daily
    assert len(incremental) > 5
    assert incremental == dim_rows(engine)


def test_identity_ranges_read_only_their_window_as_a_literal(daily):
    _, work, _ = daily
    compiled = sent(work, "dim_identity_ranges", "compiled")
    bound = FIRST_BUILT_DAY - timedelta(days=3)  # newest identified date - identity_window_days
    assert f"event_date >= date '{bound}'" in compiled


def test_data_tests_on_event_tables_read_the_window_as_literals(daily):
    _, work, _ = daily
    bound = NEW_DAY - timedelta(days=5)
    folder = work / "target" / "run" / "webevents"
    unique_tests = {p.stem: p.read_text() for p in folder.rglob("*unique_*web_events*.sql")
                    if "snapshot" not in p.stem}  # snapshot history: no window column
    assert {"source_unique_analytics_web_events_event_id", "unique_fct_web_events_event_id",
            "unique_stg_analytics__web_events_event_id"} <= set(unique_tests)
    for name, sql in unique_tests.items():
        assert f"event_date >= date '{bound}'" in sql, name


def test_time_travel_rows_equal_the_rows_visible_as_of_each_snapshot(daily):
    engine, work, _ = daily
    statements = without_comments(sent(work, "web_events_snapshot_changes")).lower()
    assert "$snapshots" in statements and "for version as of" not in statements
    _, rows = engine.query(
        "select snapshot_id, rows_as_of_snapshot from marts.web_events_snapshot_changes")
    assert len(rows) >= 3
    for snapshot_id, from_metadata in rows:
        _, [(counted,)] = engine.query(
            f"select count(*) from analytics.web_events for version as of {snapshot_id}")
        assert from_metadata == counted, snapshot_id
