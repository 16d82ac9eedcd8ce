"""The dbt project on what the real pipeline lands: generate, backfill, ingest, enrich, bots."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from tests.dbt.dbt_runner import run_dbt
from webevents import SQL_DIR

pytestmark = pytest.mark.xdist_group("dbt_pipeline")

WEBEVENTS = Path(sys.executable).with_name("webevents")
END_DATE = "2026-11-20"


def webevents(*args: str) -> None:
    completed = subprocess.run([str(WEBEVENTS), *args], capture_output=True, text=True,
                               timeout=300)
    assert completed.returncode == 0, f"webevents {args[0]}:\n{completed.stderr[-3000:]}"


@pytest.fixture(scope="module")
def pipeline_lake(tmp_path_factory):
    """A lake filled by the real local pipeline steps (everything but dbt), then dbt."""
    work = tmp_path_factory.mktemp("dbt_pipeline")
    sample, lake = work / "sample", work / "lake"
    webevents("generate", "--out", str(sample), "--events", "1500", "--days", "3",
              "--end-date", END_DATE)
    webevents("backfill", *map(str, sorted(sample.glob("archive/*/*.jsonl.gz"))),
              "--lake", str(lake))
    webevents("ingest", *map(str, sorted(sample.glob("stream/*.jsonl"))), "--lake", str(lake))
    with duckdb.connect(str(lake / "lake.duckdb"), read_only=True) as con:
        first, last = con.execute(
            "select min(event_date), max(event_date) from raw.web_events").fetchone()
    window = ["--param", f"run_date={last}", "--param", f"lookback_days={(last - first).days}"]
    webevents("sql", str(SQL_DIR / "enrich"), *window, "--lake", str(lake))
    webevents("sql", str(SQL_DIR / "bots"), *window, "--lake", str(lake))
    # unit tests have fixed inputs; test_dbt_local runs them
    result = run_dbt(["build", "--target", "local", "--exclude-resource-type", "unit_test"],
                     work, lake)
    return lake, result


def test_models_and_data_tests_pass_on_pipeline_output(pipeline_lake):
    _, result = pipeline_lake
    statuses = [item["status"] for item in result.artifact("run_results.json")["results"]]
    assert len(statuses) > 40
    assert set(statuses) <= {"pass", "success"}


def test_every_enriched_event_reaches_the_fact_and_one_session(pipeline_lake):
    lake, _ = pipeline_lake
    with duckdb.connect(str(lake / "lake.duckdb"), read_only=True) as con:
        events, facts, in_sessions, bots, fact_bots = con.execute("""
            select
                (select count(*) from analytics.web_events),
                (select count(*) from marts.fct_web_events),
                (select sum(event_count) from marts.fct_sessions),
                (select count(*) from analytics.web_events where is_bot),
                (select sum(bot_event_count) from marts.daily_kpis)
        """).fetchone()
    assert events > 1000
    assert events == facts == in_sessions
    assert bots == fact_bots > 0
