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


FULL_REFRESH_CONFIG = PROJECT_ROOT / "lint" / "full_refresh.cfg"


def sqlfluff(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(Path(sys.executable).with_name("sqlfluff")), *args],
        cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=300, input=stdin,
    )


def test_lint_renders_the_window_bounds_not_a_macro_return_value():
    """A namespaced macro's return() (webevents.in_unit_test()) once ended its caller early:
    the incremental bound rendered as `False` and lint never saw the real expression."""
    model = DBT_DIR / "models" / "marts" / "core" / "fct_sessions.sql"
    rendered = sqlfluff("render", str(model)).stdout
    assert "session_started_at >= False" not in rendered
    assert "session_started_at >= cast(date '" in rendered


def test_second_lint_pass_renders_the_full_refresh_branches():
    model = DBT_DIR / "models" / "marts" / "core" / "fct_sessions.sql"
    rendered = sqlfluff("render", str(model), "--config", str(FULL_REFRESH_CONFIG)).stdout
    assert "superseded_sessions as (" not in rendered and "from built" not in rendered
    assert "session_facts as (" in rendered


def test_second_lint_pass_fails_on_a_defect_only_the_full_refresh_runs():
    model = (
        "{{ config(materialized='incremental') }}\n"
        "select\n    event_id,\n    event_date\n"
        "from {{ ref('fct_web_events') }}\n"
        "{% if is_incremental() %}\n"
        "    where event_date >= date '2026-11-20'\n"
        "{% else %}\n"
        "    WHERE event_date >= date '1900-01-01'\n"
        "{% endif %}\n"
    )
    full = sqlfluff(
        "lint", "-", "--stdin-filename", "dbt/models/marts/core/lint_probe.sql",
        "--config", str(FULL_REFRESH_CONFIG), stdin=model,
    )
    assert full.returncode != 0, full.stdout + full.stderr
    assert "L:   9 | P:   5 | CP01" in full.stdout  # the uppercase WHERE of the else branch


def test_make_lint_runs_both_passes():
    makefile = (PROJECT_ROOT / "Makefile").read_text()
    assert "sqlfluff lint dbt --config lint/full_refresh.cfg" in makefile
