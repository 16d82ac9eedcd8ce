"""What changed in the code since the lake was built: fingerprints, the rebuild set and the
one line the run prints (webevents/local/rebuild.py), on a copy of the project's sql/ and dbt/."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import duckdb
import pytest

from webevents import DBT_DIR, SQL_DIR
from webevents.local import rebuild


@pytest.fixture
def project(tmp_path) -> Path:
    shutil.copytree(SQL_DIR, tmp_path / "sql")
    shutil.copytree(DBT_DIR, tmp_path / "dbt",
                    ignore=shutil.ignore_patterns("target", "logs", "dbt_packages"))
    return tmp_path


def fingerprints(project: Path) -> tuple[dict[str, str], dict[str, dict]]:
    sql = rebuild.sql_fingerprints(project / "sql")
    return sql, rebuild.dbt_fingerprints(sql, project / "dbt")


def changed_models(project: Path, change) -> set[str]:
    _, before = fingerprints(project)
    change()
    _, after = fingerprints(project)
    return {name for name in after if after[name]["fingerprint"] !=
            before.get(name, {}).get("fingerprint")}


def below(models: dict[str, dict], roots: set[str]) -> set[str]:
    found = set(roots)
    for name, entry in models.items():  # parents first
        if set(entry["parents"]) & found:
            found.add(name)
    return found


def test_the_fingerprints_cover_every_model_enabled_locally_and_are_stable(project):
    sql, models = fingerprints(project)
    names = {path.stem for path in (project / "dbt" / "models").rglob("*.sql")}
    assert {"fct_web_events", "bot_traffic_daily", "sphere_cells"} <= set(models)
    assert "web_events_snapshot_changes" in names and "web_events_snapshot_changes" not in models
    assert fingerprints(project) == (sql, models)


def test_a_changed_bot_rule_reaches_every_model_below_analytics_web_events(project):
    _, models = fingerprints(project)
    bots = project / "sql" / "bots" / "analytics_web_events_bot_flags_merge.sql"
    changed = changed_models(project, lambda: bots.write_text(
        re.sub(r"default\(60\)", "default(30)", bots.read_text())))
    readers = {name for name, entry in models.items() if "analytics.web_events" in entry["sources"]}
    assert readers == {"stg_analytics__web_events"}
    assert changed == below(models, readers)
    assert "stg_raw__web_events" not in changed and "sphere_cells" not in changed


def test_a_changed_model_reaches_itself_and_what_depends_on_it(project):
    _, models = fingerprints(project)
    path = project / "dbt" / "models" / "marts" / "core" / "fct_sessions.sql"
    changed = changed_models(project, lambda: path.write_text(path.read_text() + "\n-- edit\n"))
    assert changed == below(models, {"fct_sessions"})
    assert "fct_web_events" not in changed


def test_a_changed_macro_or_var_reaches_the_models_that_use_it(project):
    _, models = fingerprints(project)
    macros = project / "dbt" / "macros" / "incremental_window.sql"
    changed = changed_models(project, lambda: macros.write_text(
        macros.read_text().replace("cast('1900-01-01' as date)", "cast('1901-01-01' as date)")))
    assert "bot_traffic_daily" in changed and "stg_analytics__web_events" not in changed
    project_yml = project / "dbt" / "dbt_project.yml"
    changed = changed_models(project, lambda: project_yml.write_text(
        project_yml.read_text().replace("session_gap_minutes: 30", "session_gap_minutes: 20")))
    assert "int_session_boundaries" in changed and "stg_raw__web_events" not in changed


def test_the_plan_says_in_one_line_what_changed_and_what_is_rebuilt(project):
    sql, models = fingerprints(project)
    recorded = {name: entry["fingerprint"] for name, entry in models.items()}
    assert rebuild.plan(sql, recorded, sql, models).line(14) == ""
    bots = project / "sql" / "bots" / "analytics_web_events_bot_flags_merge.sql"
    bots.write_text(bots.read_text() + "\n")
    new_sql, new_models = fingerprints(project)
    plan = rebuild.plan(sql, recorded, new_sql, new_models)
    assert plan.sql_changed == ["bots"] and plan.models_changed == []
    assert plan.line(14) == (f"sql/bots changed: re-flagging all 14 days; rebuilding "
                             f"{len(plan.rebuild)} models downstream with --full-refresh")
    first = rebuild.plan({}, {}, sql, models)
    assert first.first_build and len(first.rebuild) == len(models)
    forced = rebuild.plan(sql, recorded, sql, models, forced=True)
    assert forced.rebuild == sorted(models) and forced.line(3).startswith("--full-refresh")


def test_the_record_is_kept_in_the_lake_and_can_be_forgotten(tmp_path):
    con = duckdb.connect(str(tmp_path / "lake.duckdb"))
    rebuild.record(con, "dbt", {"a": "1", "b": "2"})
    rebuild.record(con, "dbt", {"a": "3"})
    rebuild.record(con, "sql", {"bots": "x"})
    assert rebuild.recorded(con, "dbt") == {"a": "3", "b": "2"}
    rebuild.forget(con, "dbt", ["b"])
    assert rebuild.recorded(con, "dbt") == {"a": "3"}
    rebuild.forget(con, "dbt")
    assert rebuild.recorded(con, "dbt") == {} and rebuild.recorded(con, "sql") == {"bots": "x"}


def test_rows_changed_counts_an_updated_row_as_one_removed_and_one_added(tmp_path):
    con = duckdb.connect(str(tmp_path / "lake.duckdb"))
    con.execute("create schema marts")
    con.execute("create table marts.m as select * from (values (1, 'a'), (2, 'b')) t(k, v)")
    con.execute("create view marts.v as select 1 as k")
    before = rebuild.table_digests(con, ["m", "v"])
    con.execute("update marts.m set v = 'c' where k = 2")
    con.execute("insert into marts.m values (3, 'd')")
    after = rebuild.table_digests(con, ["m", "v"])
    assert rebuild.rows_changed(before, after) == {"m": {"rows": 3, "added": 2, "removed": 1}}
