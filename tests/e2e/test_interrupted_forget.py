"""`webevents forget` killed (SIGKILL) at each of its failpoints, then run again, ends
identical to an erasure that was never stopped: every table, the audit row's counts, the
rewritten archive, and the build from scratch without the person. The fast suite stops it
at two points (tests/webevents/test_forget.py); `make test-calendar` at the others here,
and kills the watch while it files a follow-up (D-ERASURE-2).
"""

from __future__ import annotations

import shutil

import pytest

from tests.webevents.test_forget import (  # noqa: F401 - the module's fixtures
    FAST_POINTS,
    forget_process,
    forgotten,
    land_again,
    person_filter,
    query,
    reference,
    sample,
    stop_and_resume,
)
from webevents import failpoints

pytestmark = [pytest.mark.calendar, pytest.mark.xdist_group("interrupted_forget")]


@pytest.mark.parametrize("point", [point for point in failpoints.FORGET_POINTS
                                   if point not in FAST_POINTS])
def test_an_erasure_killed_anywhere_and_run_again_ends_as_if_never_stopped(
        tmp_path, forgotten, reference, point):  # noqa: F811
    stop_and_resume(forgotten, reference, tmp_path, point)


@pytest.mark.parametrize("point", failpoints.WATCH_POINTS)
def test_a_watch_killed_while_filing_a_follow_up_files_exactly_one_on_its_re_run(
        tmp_path, forgotten, point):  # noqa: F811
    lake = tmp_path / "lake"
    shutil.copytree(forgotten["lake"], lake)
    assert land_again(forgotten, lake) > 0
    first_ids = query(lake, "select * from raw.erasure_request_ids order by 1, 2, 3")
    stopped = forget_process(lake, f"{point}:KILL")
    assert stopped.returncode == -9, stopped.stderr[-2000:]
    resumed = forget_process(lake)
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    where = person_filter(forgotten["anonymous_ids"])
    assert query(lake, f"select count(*) from raw.web_events where {where}") == [(0,)]
    # one follow-up applied; the killed attempt's copy of the ids deleted with no request
    assert query(lake, "select count(*), count(distinct subject_hash) from raw.erasure_audit"
                 ) == [(2, 1)]
    assert query(lake, "select status, count(*) from raw.erasure_requests group by 1"
                 ) == [("applied", 2)]
    assert query(lake, "select * from raw.erasure_request_ids order by 1, 2, 3") == first_ids
