"""The late_event_dates var (webevents/jobs/arrivals.py gives it to dbt): unit tests ignore it, a
date that is not one fails the build with the value named."""

from __future__ import annotations

from datetime import date

import pytest

from tests.dbt import lake_fixture
from tests.dbt.dbt_runner import run_dbt

pytestmark = pytest.mark.xdist_group("dbt_late_dates")

LAST_DAY = date(2026, 11, 20)


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """A lake built as buildspec.yml runs `dbt build`: late dates in the environment."""
    work = tmp_path_factory.mktemp("late_dates")
    lake = work / "lake"
    con = lake_fixture.create_lake(lake)
    lake_fixture.insert(con, lake_fixture.history(LAST_DAY, 3))
    con.close()
    result = run_dbt(["build", "--target", "local"], work, lake,
                     env={"WEBEVENTS_LATE_EVENT_DATES": "2026-01-02,2026-11-19"})
    return lake, result


def test_unit_tests_pass_while_the_job_gives_late_dates(built):
    _, result = built
    statuses = {item["unique_id"]: item["status"]
                for item in result.artifact("run_results.json")["results"]}
    unit_tests = [key for key in statuses if key.startswith("unit_test.")]
    assert len(unit_tests) >= 8
    assert {statuses[key] for key in unit_tests} == {"pass"}


def test_a_late_date_that_is_not_a_date_fails_naming_it(built, tmp_path):
    lake, _ = built  # built: the model is incremental, so its window is compiled
    result = run_dbt(["compile", "--target", "local", "--select", "fct_web_events",
                      "--vars", "{late_event_dates: 'last tuesday'}"], tmp_path, lake,
                     check=False)
    assert result.returncode != 0
    assert "last tuesday" in result.output
