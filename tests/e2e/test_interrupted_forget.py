"""`webevents forget` killed (SIGKILL) at each of its failpoints, then run again, ends
identical to an erasure that was never stopped: every table, the audit row's counts, the
rewritten archive, and the build from scratch without the person. The fast suite stops it
at two points (tests/webevents/test_forget.py); `make test-calendar` at the others here.
"""

from __future__ import annotations

import pytest

from tests.webevents.test_forget import (  # noqa: F401 - the module's fixtures
    FAST_POINTS,
    forgotten,
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
