"""Hypothesis profiles for the whole suite.

CI (`.ci/run`) loads "ci": each property test replays the same examples on every run, so a
submission's CI cannot fail on an example its change did not cause. `make test` explores
new examples on each run; a failure it finds is fixed and kept as an `@example`.
"""

from __future__ import annotations

import os

from hypothesis import settings

settings.register_profile("ci", derandomize=True)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))
