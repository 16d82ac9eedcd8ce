"""The tracker's own unit tests (tracker/test/*.test.js) pass under node's built-in runner."""

import gzip
import shutil
import subprocess

from webevents import PROJECT_ROOT

TRACKER = PROJECT_ROOT / "tracker" / "webevents.js"


def test_the_tracker_unit_tests_pass_under_node():
    node = shutil.which("node")
    assert node, "node is needed for the tracker's unit tests (apt-get install -y nodejs)"
    result = subprocess.run(
        [node, "--test", "tracker/test/"],
        cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=120, check=False,
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert "# fail 0" in result.stdout


def test_the_tracker_stays_a_few_kilobytes_on_the_wire():
    assert len(gzip.compress(TRACKER.read_bytes())) < 4096
