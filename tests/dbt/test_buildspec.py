"""buildspec.yml: enrichment, then bots, then dbt prod; a bad environment fails the build."""

from __future__ import annotations

import datetime as dt
import os
import subprocess

import pytest
import yaml

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
    assert "webevents sql sql/enrich --engine athena" in commands[1]
    assert "webevents sql sql/bots --engine athena" in commands[2]
    assert "dbt build --target prod" in commands[3]
    assert "webevents sql sql/maintenance --engine athena" in commands[4]
    assert all("set -euo pipefail" in command for command in commands)
    assert "pip install --quiet -r requirements.txt" in " ".join(
        BUILDSPEC["phases"]["install"]["commands"])


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
