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
