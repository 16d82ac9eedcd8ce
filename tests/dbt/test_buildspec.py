"""buildspec.yml: enrichment, then bots, then dbt prod; a bad environment fails the build."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
from pathlib import Path

import pytest
import yaml

import webevents
from webevents import PROJECT_ROOT

pytestmark = pytest.mark.xdist_group("dbt_pipeline")

BUILDSPEC = yaml.safe_load((PROJECT_ROOT / "buildspec.yml").read_text())
REQUIRED = ("AWS_REGION", "ATHENA_WORKGROUP", "S3_TABLES_CATALOG", "DBT_MARTS_DATABASE",
            "DBT_MARTS_S3_LOCATION")


def test_build_runs_ddl_enrich_bots_dbt_prod_then_maintenance_and_aborts_on_failure():
    build = BUILDSPEC["phases"]["build"]
    assert build["on-failure"] == "ABORT"
    commands = build["commands"]
    assert "webevents sql sql/ddl --engine athena" in commands[0]
    assert "webevents arrivals enrich --engine athena" in commands[1]
    assert "webevents arrivals bots --engine athena" in commands[2]
    assert "dbt build --target prod" in commands[3]
    assert "webevents sql sql/maintenance --engine athena" in commands[4]
    assert "unreadable-erasure-requests" in commands[0] and "exit 1" in commands[5]
    assert all("set -euo pipefail" in command for command in commands)
    assert "pip install --quiet -r requirements.txt" in " ".join(
        BUILDSPEC["phases"]["install"]["commands"])


def test_the_build_installs_webevents_beside_its_sql_and_dbt_as_the_makefile_does():
    install = BUILDSPEC["phases"]["install"]["commands"]
    assert ".venv/bin/pip install --quiet --no-deps -e ." in install
    makefile = (PROJECT_ROOT / "Makefile").read_text()
    assert "pip install --quiet --no-deps -e ." in makefile
    # the daily job's first webevents step (forget --apply-pending) reads sql/privacy there
    assert (webevents.SQL_DIR / "privacy" / "run_order.yml").is_file()


def test_dbt_gets_the_late_event_dates_and_records_them_only_after_it_succeeds():
    lines = [line.strip() for line in BUILDSPEC["phases"]["build"]["commands"][3].splitlines()]
    dates = next(i for i, line in enumerate(lines) if "arrivals dbt-dates" in line)
    build = next(i for i, line in enumerate(lines) if line.startswith(".venv/bin/dbt build"))
    built = next(i for i, line in enumerate(lines) if "arrivals dbt-built" in line)
    assert dates < build < built
    # an assignment keeps the command's exit status for `set -e` (an export would hide it)
    assert lines[dates].startswith('LATE_EVENT_DATES="$(')
    assert 'export WEBEVENTS_LATE_EVENT_DATES="${LATE_EVENT_DATES}"' in lines
    assert "--state dbt-dates.json" in lines[dates] and "--state dbt-dates.json" in lines[built]


def test_the_trino_tier_reads_the_dbt_build_line_as_written():
    """The tier runs the buildspec's own `dbt build` (tests/trino/local_lake.py splits every
    line as the shell would: an unbalanced quote, even in a comment, breaks it)."""
    from tests.trino.local_lake import buildspec_dbt_build

    args = buildspec_dbt_build("trino", Path("/build"))
    assert args[:3] == ["build", "--target", "trino"]
    assert "/build/dbt-target" in args


def _pre_build(tmp_path, **env) -> subprocess.CompletedProcess:
    script = BUILDSPEC["phases"]["pre_build"]["commands"][0]
    environment = {"PATH": os.environ["PATH"], **env}
    return subprocess.run(["bash", "-c", script], cwd=tmp_path, env=environment,
                          capture_output=True, text=True)


def test_run_date_defaults_to_yesterday_utc(tmp_path):
    result = _pre_build(tmp_path, RUN_DATE="", **{name: "x" for name in REQUIRED})
    assert result.returncode == 0, result.stderr
    yesterday = dt.datetime.now(dt.UTC).date() - dt.timedelta(days=1)
    assert (tmp_path / "run_date.env").read_text().strip() == f"RUN_DATE={yesterday}"


def test_explicit_run_date_is_kept_and_a_malformed_one_fails(tmp_path):
    ok = _pre_build(tmp_path, RUN_DATE="2026-11-02", **{name: "x" for name in REQUIRED})
    assert ok.returncode == 0, ok.stderr
    assert (tmp_path / "run_date.env").read_text().strip() == "RUN_DATE=2026-11-02"
    bad = _pre_build(tmp_path, RUN_DATE="yesterday-ish", **{name: "x" for name in REQUIRED})
    assert bad.returncode != 0


@pytest.mark.parametrize("missing", REQUIRED)
def test_a_missing_setting_fails_before_any_query(tmp_path, missing):
    env = {name: "x" for name in REQUIRED if name != missing}
    result = _pre_build(tmp_path, RUN_DATE="2026-11-02", **env)
    assert result.returncode != 0
    assert f"missing environment variable {missing}" in result.stderr


def _dbt_block(tmp_path, dbt_exit: int, dates_exit: int = 0) -> tuple[int, list[str]]:
    """The buildspec's dbt command block with the two programs it calls replaced by scripts
    that log their arguments (and dbt the dates it got): the shell's order and exits."""
    bin_dir = tmp_path / ".venv" / "bin"
    bin_dir.mkdir(parents=True)
    log = tmp_path / "calls.log"
    (bin_dir / "webevents").write_text(
        f'#!/bin/bash\necho "webevents $*" >> {log}\n'
        f'if [ "$2" = dbt-dates ]; then echo 2026-10-16,2026-11-24; exit {dates_exit}; fi\n'
        'if [ "$2" = newest-date ]; then echo 2026-11-25; fi\n')
    (bin_dir / "dbt").write_text(
        f'#!/bin/bash\necho "dbt $1 dates=$WEBEVENTS_LATE_EVENT_DATES'
        f' newest=$WEBEVENTS_NEWEST_EVENT_DATE" >> {log}\nexit {dbt_exit}\n')
    for script in bin_dir.iterdir():
        script.chmod(0o755)
    block = BUILDSPEC["phases"]["build"]["commands"][3]
    result = subprocess.run(["bash", "-c", block], cwd=tmp_path, capture_output=True,
                            text=True, env={"PATH": os.environ["PATH"]})
    return result.returncode, log.read_text().splitlines() if log.exists() else []


def test_dbt_builds_with_the_dates_then_they_are_recorded(tmp_path):
    code, calls = _dbt_block(tmp_path, dbt_exit=0)
    assert code == 0
    assert calls == [
        "webevents arrivals dbt-dates --engine athena --state dbt-dates.json",
        "webevents arrivals newest-date --engine athena",
        "dbt build dates=2026-10-16,2026-11-24 newest=2026-11-25",
        "webevents arrivals dbt-built --engine athena --state dbt-dates.json",
    ]


def test_a_failed_dbt_build_leaves_the_dates_pending(tmp_path):
    code, calls = _dbt_block(tmp_path, dbt_exit=1)
    assert code != 0
    assert not any("dbt-built" in call for call in calls)


def test_dbt_does_not_run_when_the_dates_cannot_be_read(tmp_path):
    code, calls = _dbt_block(tmp_path, dbt_exit=0, dates_exit=1)
    assert code != 0
    assert not any(call.startswith("dbt ") for call in calls)


def _block(tmp_path, number: int, forget_exit: int = 0) -> subprocess.CompletedProcess:
    """Build command `number` with `webevents` a script that logs its arguments and exits
    `forget_exit` for `forget`."""
    bin_dir = tmp_path / ".venv" / "bin"
    bin_dir.mkdir(parents=True, exist_ok=True)
    script = bin_dir / "webevents"
    script.write_text(f'#!/bin/bash\necho "webevents $*" >> {tmp_path / "calls.log"}\n'
                      f'if [ "$1" = forget ]; then exit {forget_exit}; fi\n')
    script.chmod(0o755)
    block = BUILDSPEC["phases"]["build"]["commands"][number]
    return subprocess.run(["bash", "-c", block], cwd=tmp_path, capture_output=True, text=True,
                          env={"PATH": os.environ["PATH"]})


def test_unreadable_request_files_let_the_job_build_then_fail_it_at_its_end(tmp_path):
    first = _block(tmp_path, 0, forget_exit=3)
    assert first.returncode == 0  # enrich, bots and dbt still run
    assert (tmp_path / "unreadable-erasure-requests").exists()
    last = _block(tmp_path, len(BUILDSPEC["phases"]["build"]["commands"]) - 1)
    assert last.returncode == 1 and "fix or remove them" in last.stderr


@pytest.mark.parametrize("exit_code", [1, 2])
def test_a_failed_erasure_stops_the_job_before_anything_is_built(tmp_path, exit_code):
    first = _block(tmp_path, 0, forget_exit=exit_code)
    assert first.returncode == exit_code
    assert not (tmp_path / "unreadable-erasure-requests").exists()
    assert _block(tmp_path, len(BUILDSPEC["phases"]["build"]["commands"]) - 1).returncode == 0
