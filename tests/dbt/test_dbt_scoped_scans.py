"""A daily dbt run reads the rebuild window, not the history: data tests, identity, merges.

One lake is built, then run incrementally day after day with late identifications that
split, extend and renumber identity ranges; a full refresh of a copy must give the same
dim_identity_ranges. The compiled data tests and MERGE statements of the last run must
name the window as literals.
"""

from __future__ import annotations

import re
import shutil
from datetime import date, timedelta
from pathlib import Path

import duckdb
import pytest

from tests.dbt import lake_fixture
from tests.dbt.dbt_runner import run_dbt
from tests.dbt.identity_events import identifications, late_identifications

pytestmark = pytest.mark.xdist_group("dbt_scoped_scans")

FIRST_BUILT_DAY = date(2026, 11, 14)
HISTORY_DAYS = 4
INCREMENTAL_DAYS = 3
LAST_DAY = FIRST_BUILT_DAY + timedelta(days=INCREMENTAL_DAYS)
# lookback_days 3 + one day for sessions reopened before it + one day for the tests
DATA_TEST_WINDOW_DAYS = 5
# relations whose data tests read the window (as named in a test's name), and how;
# the raw landing table is partitioned by day(event_timestamp)
WINDOWED = {
    "raw_web_events": "event_timestamp >= cast(date '{bound}' as timestamp(6))",
    "raw__web_events": "event_timestamp >= cast(date '{bound}' as timestamp(6))",
    "web_events": "event_date >= date '{bound}'",
    "int_session_boundaries": "event_date >= date '{bound}'",
    "fct_sessions": "session_date >= date '{bound}'",
    "daily_kpis": "kpi_date >= date '{bound}'",
    "quality_scores_daily": "event_date >= date '{bound}'",
    "journey_funnel_daily": "session_date >= date '{bound}'",
}
INCREMENTAL_MODELS = {
    "int_session_boundaries": "event_date",
    "fct_web_events": "event_date",
    "fct_sessions": "session_date",
    "spatial_room_engagement_daily": "event_date",
    "journey_funnel_daily": "session_date",
    "daily_kpis": "kpi_date",
    "quality_scores_daily": "event_date",
    "quality_check_failures_daily": "event_date",
    "bot_traffic_daily": "event_date",
}


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """A lake built once, then run incrementally for INCREMENTAL_DAYS days."""
    work = tmp_path_factory.mktemp("scoped_scans")
    lake = work / "lake"
    con = lake_fixture.create_lake(lake)
    rows = lake_fixture.history(FIRST_BUILT_DAY, HISTORY_DAYS)
    for offset in range(HISTORY_DAYS):
        rows += identifications(FIRST_BUILT_DAY - timedelta(days=offset))
    lake_fixture.insert(con, rows)
    con.close()
    run_dbt(["build", "--target", "local"], work / "build", lake)
    keys_before = set(query(lake, "select identity_key from marts.dim_identity_ranges"))
    for offset in range(1, INCREMENTAL_DAYS + 1):
        day = FIRST_BUILT_DAY + timedelta(days=offset)
        con = duckdb.connect(str(lake / "lake.duckdb"))
        lake_fixture.insert(
            con, lake_fixture.day_events(day) + identifications(day) + late_identifications(day)
        )
        con.close()
        last = run_dbt(["build", "--target", "local", "--exclude-resource-type", "unit_test"],
                       work / f"day{offset}", lake)
    return work, lake, last, keys_before


def query(lake: Path, sql: str) -> list[tuple]:
    with duckdb.connect(str(lake / "lake.duckdb"), read_only=True) as con:
        return con.execute(sql).fetchall()


def test_incremental_identity_ranges_over_several_days_equal_a_full_rebuild(runs, tmp_path):
    _, lake, _, keys_before = runs
    refreshed = tmp_path / "refreshed"
    refreshed.mkdir()
    shutil.copy(lake / "lake.duckdb", refreshed / "lake.duckdb")
    run_dbt(["run", "--target", "local", "--full-refresh", "--select", "dim_identity_ranges"],
            tmp_path / "refresh", refreshed)
    ordered = "select * from marts.dim_identity_ranges order by identity_key"
    incremental, full = query(lake, ordered), query(refreshed, ordered)
    assert len(incremental) > 20
    assert incremental == full
    # the late events really reshaped built ranges: keys went away, the device split
    assert keys_before - set(query(lake, "select identity_key from marts.dim_identity_ranges"))
    [(long_ranges,)] = query(lake, "select count(*) from marts.dim_identity_ranges "
                                   "where anonymous_id = 'anon-long'")
    assert long_ranges == 2 * INCREMENTAL_DAYS + 1


def test_incremental_identity_ranges_read_only_the_identity_window(runs):
    work, _, _, _ = runs
    compiled = (work / f"day{INCREMENTAL_DAYS}" / "target" / "compiled" / "webevents" / "models"
                / "marts" / "core" / "dim_identity_ranges.sql").read_text()
    assert re.search(r"and event_date >= \(\s*select", compiled)  # DuckDB: a subquery bound
    assert "identified_before_window_at" in compiled


def compiled_tests(work: Path) -> dict[str, str]:
    folder = work / f"day{INCREMENTAL_DAYS}" / "target" / "run" / "webevents"
    return {path.stem: path.read_text() for path in folder.rglob("*.sql")
            if path.stem.startswith(("unique_", "not_null_", "relationships_", "accepted_"))}


def test_data_tests_on_event_tables_read_only_the_rebuild_window(runs):
    work, _, _, _ = runs
    bound = LAST_DAY - timedelta(days=DATA_TEST_WINDOW_DAYS)
    tests = compiled_tests(work)
    checked = 0
    for name, sql in tests.items():
        relation = next((r for r in WINDOWED if f"_{r}_" in name), None)
        if relation is None:
            continue
        assert "where " + WINDOWED[relation].format(bound=bound) in sql, name
        checked += 1
    assert checked >= 12


def test_relationships_read_their_parent_by_the_window_too(runs):
    work, _, _, _ = runs
    sql = next(s for n, s in compiled_tests(work).items()
               if n.startswith("relationships_fct_web_events") and "fct_sessions" in s)
    parent_bound = LAST_DAY - timedelta(days=DATA_TEST_WINDOW_DAYS + 1)
    assert f"where session_date >= date '{parent_bound}'" in sql


def test_every_incremental_merge_prunes_its_target_to_the_source_dates(runs):
    work, _, _, _ = runs
    folder = work / f"day{INCREMENTAL_DAYS}" / "target" / "run" / "webevents" / "models"
    for model, column in INCREMENTAL_MODELS.items():
        [path] = folder.rglob(f"{model}.sql")
        merge = path.read_text()
        dates = re.search(rf"DBT_INTERNAL_DEST\.{column} in \(([^)]*)\)", merge)
        assert dates, model
        listed = re.findall(r"date '(\d{4}-\d{2}-\d{2})'", dates.group(1))
        assert listed and max(listed) == str(LAST_DAY) and min(listed) < str(LAST_DAY), model


def test_a_duplicate_before_the_window_is_caught_only_by_the_full_history_tests(runs, tmp_path):
    _, lake, _, _ = runs
    copy = tmp_path / "lake"
    copy.mkdir()
    shutil.copy(lake / "lake.duckdb", copy / "lake.duckdb")
    old_day = LAST_DAY - timedelta(days=DATA_TEST_WINDOW_DAYS + 1)
    assert old_day >= FIRST_BUILT_DAY - timedelta(days=HISTORY_DAYS - 1)  # a day with events
    con = duckdb.connect(str(copy / "lake.duckdb"))
    con.execute("insert into analytics.web_events select * from analytics.web_events "
                f"where event_date = date '{old_day}' limit 1")
    con.close()
    select = ["--select", "source:analytics.web_events"]
    windowed = run_dbt(["test", "--target", "local", *select], tmp_path / "window", copy)
    assert "PASS=" in windowed.output
    full = run_dbt(["test", "--target", "local", *select, "--vars", "{data_test_scope: full}"],
                   tmp_path / "full", copy, check=False)
    assert full.returncode != 0 and "unique_analytics_web_events_event_id" in full.output


def test_a_duplicate_inside_the_window_fails_the_daily_tests(runs, tmp_path):
    _, lake, _, _ = runs
    copy = tmp_path / "lake"
    copy.mkdir()
    shutil.copy(lake / "lake.duckdb", copy / "lake.duckdb")
    con = duckdb.connect(str(copy / "lake.duckdb"))
    con.execute("insert into analytics.web_events select * from analytics.web_events "
                f"where event_date = date '{LAST_DAY}' limit 1")
    con.close()
    result = run_dbt(["test", "--target", "local", "--select", "source:analytics.web_events"],
                     tmp_path / "window", copy, check=False)
    assert result.returncode != 0 and "unique_analytics_web_events_event_id" in result.output


def test_the_daily_job_gives_the_tests_their_bound_once(runs, tmp_path):
    """buildspec.yml reads the newest event date once (`webevents arrivals newest-date`) and
    passes it as $WEBEVENTS_NEWEST_EVENT_DATE: every test's bound follows it."""
    _, lake, _, _ = runs
    given = LAST_DAY + timedelta(days=9)  # not the table's newest: the bound must come from it
    run_dbt(["test", "--target", "local", "--select", "source:analytics.web_events"],
            tmp_path / "given", lake, env={"WEBEVENTS_NEWEST_EVENT_DATE": str(given)})
    folder = tmp_path / "given" / "target" / "run"
    compiled = [p.read_text() for p in folder.rglob("*.sql")]
    bound = given - timedelta(days=DATA_TEST_WINDOW_DAYS)
    assert compiled and all(f"event_date >= date '{bound}'" in sql for sql in compiled
                            if "web_events" in sql and "event_date" in sql)
    malformed = run_dbt(["test", "--target", "local", "--select", "source:analytics.web_events"],
                        tmp_path / "malformed", lake,
                        env={"WEBEVENTS_NEWEST_EVENT_DATE": "yesterday"}, check=False)
    assert malformed.returncode != 0
    assert "newest_event_date: 'yesterday' is not a date (YYYY-MM-DD)" in malformed.output
