"""The sample's dates follow the day it runs: load it as of 31 consecutive days (month and
year ends among them) and check every figure against the tables each day.

Marked `calendar`: `make test-calendar` runs it (CI does, after the fast suite); the fast
suite keeps a few chosen days in tests/webevents/test_reconcile.py.
"""

from __future__ import annotations

import datetime as dt

import pytest

from tests.webevents.sample_lake import check_against_the_tables, load_sample
from webevents import clock

FIRST_DAY = dt.date(2026, 11, 20)  # through 2026-12-20: the day main failed on is inside
DAYS = 31

pytestmark = pytest.mark.calendar


@pytest.mark.parametrize("offset", range(DAYS))
def test_every_figure_matches_the_tables_on_consecutive_days(tmp_path, monkeypatch, offset):
    today = FIRST_DAY + dt.timedelta(days=offset)
    monkeypatch.setenv(clock.ENV_VAR, f"{today.isoformat()}T09:30:00")
    yesterday = today - dt.timedelta(days=1)
    check_against_the_tables(load_sample(tmp_path, yesterday, seed=3), tmp_path / "sample")
