"""An analyst edits a bot rule, a dbt model's SQL and a model's columns in a copy of the
project and runs `webevents run` after each: every mart then equals a from-scratch build of
the changed project, and the run says in one line what changed and what it rebuilt."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.e2e.lake_tables import differences, table_rows
from webevents import PROJECT_ROOT, clock, failpoints

pytestmark = pytest.mark.xdist_group("code_changes")

NOW = "2026-12-05T09:30:00"
# more days than the incremental window (lookback 3 days + 1 for sessions), so an edit that
# only reached the window would leave the first days as they were
SAMPLE = ["--events", "2500", "--days", "8", "--seed", "5"]
BOTS_SQL = Path("sql/bots/analytics_web_events_bot_flags_merge.sql")
MODEL_SQL = Path("dbt/models/marts/analytics/bot_traffic_daily.sql")


def copy_project(target: Path) -> Path:
    """The project's code (not its venv, lakes or git) in a folder of its own."""
    for name in ("webevents", "sql", "dbt", "transform_lambda"):
        shutil.copytree(PROJECT_ROOT / name, target / name,
                        ignore=shutil.ignore_patterns("__pycache__", "target", "logs",
                                                      "dbt_packages", ".user.yml"))
    return target


def webevents(project: Path, *arguments: str,
              failpoint: str | None = None) -> subprocess.CompletedProcess:
    """The copy's own CLI (its webevents package, sql/ and dbt/), with the pinned clock;
    with a failpoint the run is killed there."""
    env = {**os.environ, clock.ENV_VAR: NOW, "PYTHONPATH": str(project)}
    env.pop(failpoints.ENV_VAR, None)
    if failpoint:
        env[failpoints.ENV_VAR] = failpoint
    result = subprocess.run([sys.executable, "-m", "webevents.cli", *arguments], cwd=project,
                            env=env, capture_output=True, text=True, timeout=900)
    assert (result.returncode != 0) == bool(failpoint), result.stderr[-3000:]
    return result


def marts(lake: Path) -> dict[str, list[tuple]]:
    return {name: rows for name, rows in table_rows(lake).items()
            if name.startswith(("marts.", "analytics."))}


def edit(project: Path, path: Path, pattern: str, replacement: str) -> None:
    file = project / path
    text, count = re.subn(pattern, replacement, file.read_text(), count=1)
    assert count == 1, f"{path}: {pattern!r} not found; update this test's edit"
    file.write_text(text)


def from_scratch(project: Path, folder: Path) -> dict[str, list[tuple]]:
    lake = folder / "scratch"
    shutil.rmtree(lake, ignore_errors=True)
    webevents(project, "run", "--lake", str(lake), *SAMPLE)
    return marts(lake)


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    folder = tmp_path_factory.mktemp("code_changes")
    project = copy_project(folder / "project")
    lake = folder / "lake"
    webevents(project, "run", "--lake", str(lake), *SAMPLE)
    return project, lake, folder


def test_the_copy_runs_its_own_code(project):
    project_dir, lake, _ = project
    result = subprocess.run(
        [sys.executable, "-c", "import webevents; print(webevents.SQL_DIR)"], cwd=project_dir,
        env={**os.environ, "PYTHONPATH": str(project_dir)}, capture_output=True, text=True)
    assert result.stdout.strip() == str(project_dir / "sql")


def test_each_edit_then_run_equals_a_from_scratch_build(project):
    project_dir, lake, folder = project
    before = marts(lake)
    again = webevents(project_dir, "run", "--lake", str(lake), *SAMPLE)
    assert "changed" not in again.stderr  # nothing edited: nothing rebuilt from scratch
    assert differences(before, marts(lake)) == []

    # 1. a bot rule: fewer pages per session make a bot
    edit(project_dir, BOTS_SQL, r"max_pages_per_session \| default\(\d+\)",
         "max_pages_per_session | default(12)")
    result = webevents(project_dir, "run", "--lake", str(lake), *SAMPLE)
    line = next(line for line in result.stderr.splitlines() if "changed:" in line)
    assert re.search(r"sql/bots changed: re-flagging all \d+ days; rebuilding \d+ models "
                     r"downstream", line), line
    after_bots = marts(lake)
    assert after_bots["marts.bot_traffic_daily"] != before["marts.bot_traffic_daily"]
    assert differences(from_scratch(project_dir, folder), after_bots) == []

    # 2. a model's SQL: count only page views per bot rule, on every day
    edit(project_dir, MODEL_SQL, r"where scoped_events\.is_bot\b",
         "where scoped_events.is_bot and scoped_events.event_type = 'page'")
    result = webevents(project_dir, "run", "--lake", str(lake), *SAMPLE)
    assert re.search(r"bot_traffic_daily changed since built; rebuilding 1 model downstream",
                     result.stderr), result.stderr[-2000:]
    after_model = marts(lake)
    assert after_model["marts.bot_traffic_daily"] != after_bots["marts.bot_traffic_daily"]
    assert differences(from_scratch(project_dir, folder), after_model) == []

    # 3. a new column in an incremental model (dbt alone would stop: schemas out of sync)
    edit(project_dir, MODEL_SQL, r"select \* from final\s*$",
         "select\n    final.*,\n    final.event_count - final.bot_event_count as "
         "human_event_count\nfrom final\n")
    webevents(project_dir, "run", "--lake", str(lake), *SAMPLE)
    after_column = marts(lake)
    rows = after_column["marts.bot_traffic_daily"]
    assert len(rows[0]) == len(after_model["marts.bot_traffic_daily"][0]) + 1
    assert differences(from_scratch(project_dir, folder), after_column) == []


def test_a_run_killed_after_re_flagging_rebuilds_the_marts_when_run_again(project):
    project_dir, lake, folder = project
    edit(project_dir, BOTS_SQL, r"max_pages_per_session \| default\(\d+\)",
         "max_pages_per_session | default(20)")
    webevents(project_dir, "run", "--lake", str(lake), *SAMPLE, failpoint="dbt.running:KILL")
    result = webevents(project_dir, "run", "--lake", str(lake), *SAMPLE)
    # sql/bots ran and was recorded before the kill; the marts below it were not
    assert "sql/bots changed" not in result.stderr
    assert re.search(r"stg_analytics__web_events changed since built; rebuilding \d+ models",
                     result.stderr), result.stderr[-2000:]
    assert differences(from_scratch(project_dir, folder), marts(lake)) == []


def test_full_refresh_rebuilds_every_model_and_changes_nothing(project):
    project_dir, lake, _ = project
    before = marts(lake)
    result = webevents(project_dir, "run", "--lake", str(lake), "--full-refresh", *SAMPLE)
    assert re.search(r"--full-refresh: re-running sql/enrich and sql/bots over all \d+ days; "
                     r"rebuilding all \d+ models from scratch", result.stderr)
    assert differences(before, marts(lake)) == []
