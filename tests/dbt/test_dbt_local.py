"""`dbt build --target local` on a generated lake: models, unit tests, data tests, incremental."""

from __future__ import annotations

import math
import shutil
from datetime import date, timedelta
from pathlib import Path

import duckdb
import pytest

from tests.dbt import lake_fixture
from tests.dbt.dbt_runner import run_dbt

pytestmark = pytest.mark.xdist_group("dbt_incremental")

LAST_DAY = date(2026, 11, 20)
HISTORY_DAYS = 5

# the architecture guide's model name -> model in this project (docs/dbt.md, "Models")
SEED_MODELS = {
    "stg_raw_web_events": "stg_analytics__web_events",
    "int_session_boundaries": "int_session_boundaries",
    "fct_web_events_iceberg": "fct_web_events",
    "spatial_analytics_iceberg": "spatial_room_engagement_daily",
    "user_journey_analysis_iceberg": "journey_funnel_daily",
    "web_events_snapshot_changes": "web_events_snapshot_changes",
}


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """A lake with HISTORY_DAYS of events, built once by `dbt build --target local`."""
    work = tmp_path_factory.mktemp("dbt_build")
    lake = work / "lake"
    con = lake_fixture.create_lake(lake)
    lake_fixture.insert(con, lake_fixture.history(LAST_DAY, HISTORY_DAYS))
    con.close()
    result = run_dbt(["build", "--target", "local"], work, lake)
    return work, lake, result


def query(lake: Path, sql: str) -> list[tuple]:
    with duckdb.connect(str(lake / "lake.duckdb"), read_only=True) as con:
        return con.execute(sql).fetchall()


def test_build_runs_every_unit_and_data_test_green(built):
    _, _, result = built
    results = result.artifact("run_results.json")["results"]
    by_kind: dict[str, list[str]] = {}
    for item in results:
        kind = item["unique_id"].split(".")[0]
        by_kind.setdefault(kind, []).append(item["status"])
        assert item["status"] in {"pass", "success"}, item["unique_id"]
    assert len(by_kind["unit_test"]) >= 8
    assert len(by_kind["test"]) >= 20
    assert len(by_kind["model"]) == 12


def test_every_seed_model_maps_to_a_model(built):
    work, _, _ = built
    manifest = (work / "target" / "manifest.json").read_text()
    for model in SEED_MODELS.values():
        assert f'"model.webevents.{model}"' in manifest


def test_time_travel_is_disabled_on_duckdb_not_faked(built):
    work, lake, result = built
    disabled = result.artifact("manifest.json")["disabled"]
    assert "model.webevents.web_events_snapshot_changes" in disabled
    tables = {row[0] for row in query(lake, "select table_name from information_schema.tables "
                                            "where table_schema = 'marts'")}
    assert "web_events_snapshot_changes" not in tables


def test_every_event_lands_once_in_the_fact_and_in_one_session(built):
    _, lake, _ = built
    source, facts, session_events = query(lake, """
        select
            (select count(*) from analytics.web_events),
            (select count(*) from marts.fct_web_events),
            (select sum(event_count) from marts.fct_sessions)
    """)[0]
    assert source == facts == session_events
    assert query(lake, "select count(*) from marts.fct_sessions where is_superseded") == [(0,)]


def test_no_session_exceeds_the_maximum_length_and_the_all_day_bot_is_cut(built):
    _, lake, _ = built
    longest, cut_bot_sessions, cut_human_sessions = query(lake, """
        select
            max(duration_seconds),
            count(*) filter (where is_bot and is_cut_session),
            count(*) filter (where not is_bot and is_cut_session)
        from marts.fct_sessions
    """)[0]
    assert longest <= 720 * 60
    assert cut_bot_sessions >= HISTORY_DAYS
    assert cut_human_sessions == 0


def test_daily_marts_add_up_to_the_events(built):
    _, lake, _ = built
    events, bots = query(lake, "select count(*), count(*) filter (where is_bot) "
                               "from analytics.web_events")[0]
    kpi_events, kpi_bots, kpi_days = query(
        lake, "select sum(event_count), sum(bot_event_count), count(*) from marts.daily_kpis")[0]
    assert (kpi_events, kpi_bots, kpi_days) == (events, bots, HISTORY_DAYS)
    assert query(lake, "select sum(event_count) from marts.quality_scores_daily") == [(events,)]
    reasons = query(lake, "select bot_reason, sum(reason_event_count) "
                          "from marts.bot_traffic_daily group by 1 order by 1")
    assert reasons == [("many_pages_per_session", bots), ("ua_crawler", bots)]


def test_spatial_and_funnel_figures_are_within_their_ranges(built):
    _, lake, _ = built
    coverage_min, coverage_max, resultant_max, views = query(lake, """
        select min(sphere_coverage_share), max(sphere_coverage_share),
               max(yaw_mean_resultant_length), sum(view_count)
        from marts.spatial_room_engagement_daily
    """)[0]
    assert 0 <= coverage_min <= coverage_max <= 1.0000001
    assert resultant_max <= 1.0000001
    space_events = query(lake, "select count(*) from analytics.web_events "
                               "where space_id is not null")[0][0]
    assert views == space_events
    funnel = query(lake, """
        select count(*) from marts.journey_funnel_daily
        where not (entry_sessions >= space_view_sessions
                   and space_view_sessions >= room_exploration_sessions
                   and room_exploration_sessions >= engaged_exit_sessions)
    """)
    assert funnel == [(0,)]


def _table_rows(con: duckdb.DuckDBPyConnection, database: str, table: str) -> list[tuple]:
    """All rows ordered by the table's key (its first column)."""
    return con.execute(f"select * from {database}.marts.{table} order by all").fetchall()


def _same_rows(left: list[tuple], right: list[tuple]) -> bool:
    """Equal rows, doubles compared to 1e-9: float sums depend on row order."""
    if len(left) != len(right):
        return False
    for left_row, right_row in zip(left, right, strict=True):
        for a, b in zip(left_row, right_row, strict=True):
            if isinstance(a, float) and isinstance(b, float):
                if not math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9):
                    return False
            elif a != b:
                return False
    return True


def test_incremental_run_with_late_events_equals_a_full_refresh(built, tmp_path):
    work, lake, _ = built
    paused_before = query(lake, f"""
        select count(*) from marts.fct_sessions
        where anonymous_id = 'anon-pause' and session_date = date '{LAST_DAY}'
    """)
    assert paused_before == [(2,)]
    incremental_lake = tmp_path / "incremental"
    incremental_lake.mkdir()
    shutil.copy(lake / "lake.duckdb", incremental_lake / "lake.duckdb")
    new_day = LAST_DAY + timedelta(days=1)
    con = duckdb.connect(str(incremental_lake / "lake.duckdb"))
    lake_fixture.insert(
        con,
        lake_fixture.day_events(new_day)
        + lake_fixture.late_events(LAST_DAY - timedelta(days=2))
        + lake_fixture.late_events(LAST_DAY),
    )
    con.close()
    # models and data tests (unit tests ran in the first build)
    run_dbt(["build", "--target", "local", "--exclude-resource-type", "unit_test"],
            tmp_path / "incremental_work", incremental_lake)

    refreshed_lake = tmp_path / "refreshed"
    refreshed_lake.mkdir()
    shutil.copy(incremental_lake / "lake.duckdb", refreshed_lake / "lake.duckdb")
    run_dbt(["run", "--target", "local", "--full-refresh"], tmp_path / "refresh_work",
            refreshed_lake)

    con = duckdb.connect()
    con.execute(f"attach '{incremental_lake / 'lake.duckdb'}' as incremental (read_only)")
    con.execute(f"attach '{refreshed_lake / 'lake.duckdb'}' as refreshed (read_only)")
    tables = [row[0] for row in con.execute(
        "select table_name from duckdb_tables() "
        "where database_name = 'refreshed' and schema_name = 'marts' order by 1").fetchall()]
    assert "fct_sessions" in tables and len(tables) >= 10
    for table in tables:
        assert _same_rows(
            _table_rows(con, "incremental", table), _table_rows(con, "refreshed", table)
        ), table

    # the bridge merged the paused visitor's two sessions; the second one was deleted
    paused = con.execute(f"""
        select count(*) from incremental.marts.fct_sessions
        where anonymous_id = 'anon-pause' and session_date = date '{LAST_DAY}'
    """).fetchone()[0]
    assert paused == 1
    # the late events really changed sessions that the first build had made
    merged = con.execute("""
        select count(distinct f.session_key)
        from incremental.marts.fct_web_events as f
        join incremental.marts.fct_web_events as g
            on f.session_key = g.session_key and g.event_id not like 'late-%'
        where f.event_id like 'late-%'
    """).fetchone()[0]
    assert merged > 0
    con.close()
