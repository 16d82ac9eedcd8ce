"""`make lint` lints the incremental branches of the dbt models (the SQL of the daily run).

sqlfluff's dbt builtins render `is_incremental()` as true, so `sqlfluff lint dbt` already
parses and lints what an incremental run executes; this pins that, so a sqlfluff upgrade
that changed it would show here (docs/engine-fidelity.md).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from webevents import DBT_DIR, PROJECT_ROOT


def test_lint_renders_the_incremental_branches():
    model = DBT_DIR / "models" / "marts" / "core" / "fct_sessions.sql"
    rendered = subprocess.run(
        [str(Path(sys.executable).with_name("sqlfluff")), "render", str(model)],
        cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=300,
    ).stdout
    # only the incremental branch reads the built table to supersede merged sessions
    assert "superseded_sessions as (" in rendered and "from built" in rendered
