"""Athena rules the SQL relies on, checked on the text of sql/ and dbt/ (docs/engine-fidelity.md).

The Trino tier proves them by running the SQL; these fail fast, without a server, when a
file breaks one.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from webevents import DBT_DIR, SQL_DIR

SQL_FILES = sorted(SQL_DIR.rglob("*.sql")) + sorted((DBT_DIR / "models").rglob("*.sql")) + sorted(
    (DBT_DIR / "macros").rglob("*.sql")
)


def relative(path: Path) -> str:
    return path.relative_to(SQL_DIR.parent).as_posix()


@pytest.mark.parametrize("path", SQL_FILES, ids=relative)
def test_no_cast_to_millisecond_timestamp(path):
    """`cast(x as timestamp)` is timestamp(3) on Athena v3 and rounds microseconds.

    Event times are microseconds (Iceberg `timestamp`), so every cast that can meet them
    says timestamp(6). `timestamp '...'` literals keep the precision of their digits.
    """
    text = path.read_text()
    bare = re.findall(r"\bas\s+timestamp\s*\)", text, flags=re.IGNORECASE)
    assert bare == [], f"{relative(path)}: cast to bare timestamp; use timestamp(6)"


def _optimize_steps():
    from webevents.jobs.sql import collect_steps

    steps = collect_steps([SQL_DIR / "maintenance"])
    return [step for step in steps if step.path.name.endswith("_optimize.sql")]


OPTIMIZE_STEPS = _optimize_steps()


@pytest.mark.parametrize("step", OPTIMIZE_STEPS, ids=lambda step: dict(step.bindings)["mart"])
def test_optimize_filters_only_on_identity_partition_columns_of_the_athena_table(step):
    """Athena's OPTIMIZE WHERE takes partition columns only, not a hidden month()'s source.

    https://docs.aws.amazon.com/athena/latest/ug/optimize-statement.html
    """
    import sqlglot
    from sqlglot import exp

    from webevents.jobs.sql import render

    path = step.path
    sql = render(path, {"run_date": "2026-11-24", "lookback_days": "3", **dict(step.bindings)})
    if dict(step.bindings)["partition_grain"] == "none":
        # an unpartitioned mart is compacted whole: no WHERE for Athena to reject
        mart = dict(step.bindings)["mart"]
        assert " ".join(sql.split()).endswith(f"optimize marts.{mart} rewrite data using bin_pack")
        model = next((DBT_DIR / "models").rglob(f"{mart}.sql")).read_text()
        assert "partition_by" not in model
        return
    found = re.search(r"optimize\s+marts\.(\w+)\s+rewrite data using bin_pack\s+(where .*)",
                      sql, flags=re.IGNORECASE | re.DOTALL)
    assert found, f"{relative(path)}: no bounded OPTIMIZE of a marts table"
    model = next((DBT_DIR / "models").rglob(f"{found.group(1)}.sql")).read_text()
    # the model's one partition column (dbt/macros/model_config.sql makes it Athena's
    # partitioned_by: tests/dbt/test_dbt_parse.py)
    partitioned_by = re.search(r"incremental_config\(\s*partition_by='(\w+)'", model)
    assert partitioned_by, f"{found.group(1)} is not partitioned on Athena"
    identity = {partitioned_by.group(1)}
    predicate = sqlglot.parse_one(f"select 1 {found.group(2)}", read="athena").args["where"]
    named = {column.name for column in predicate.find_all(exp.Column)}
    assert named and named <= identity, f"{relative(path)} filters on {named - identity}"
