"""`-- sqlfluff:ignore:parsing` only where sqlfluff's athena dialect cannot parse what Athena runs.

Each marked file must still fail to parse without the mark (else the mark hides nothing but
lint), and docs/engine-fidelity.md ("Statements sqlfluff cannot parse") must list exactly
the marked files with the Trino test that runs each one instead.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from webevents import DBT_DIR, PROJECT_ROOT, SQL_DIR

MARK = "-- sqlfluff:ignore:parsing"
DOC = PROJECT_ROOT / "docs" / "engine-fidelity.md"


def marked_files() -> list[Path]:
    return sorted(
        path for root in (SQL_DIR, DBT_DIR / "models", DBT_DIR / "macros")
        for path in root.rglob("*.sql") if MARK in path.read_text()
    )


def documented_files() -> set[Path]:
    section = DOC.read_text().split("## Statements sqlfluff cannot parse", 1)[1]
    section = section.split("\n## ", 1)[0]
    files: set[Path] = set()
    for row in section.splitlines():
        if not row.startswith("| `"):
            continue
        first_cell = row.split("|")[1]
        for pattern in re.findall(r"`([^`]+\.sql)`", first_cell):
            matches = set(PROJECT_ROOT.glob(pattern))
            assert matches, f"docs/engine-fidelity.md names {pattern}, which matches no file"
            files |= matches
    return files


def test_the_doc_lists_exactly_the_files_marked_unparsable():
    assert documented_files() == set(marked_files())


def test_every_listed_file_names_the_trino_test_that_runs_it():
    section = DOC.read_text().split("## Statements sqlfluff cannot parse", 1)[1]
    rows = [r for r in section.split("\n## ", 1)[0].splitlines() if r.startswith("| `")]
    for row in rows:
        runs_in = row.rstrip(" |").split("|")[-1]
        tests = re.findall(r"`(test_\w+\.py)", runs_in)
        assert tests, f"no Trino test named for {row.split('|')[1].strip()}"
        for name in tests:
            assert (PROJECT_ROOT / "tests" / "trino" / name).is_file(), name


@pytest.fixture(scope="module")
def linter():
    import os

    from sqlfluff.core import FluffConfig, Linter

    here = Path.cwd()
    os.chdir(PROJECT_ROOT)  # .sqlfluff's library and macro paths are relative to the root
    try:
        yield Linter(config=FluffConfig.from_root())
    finally:
        os.chdir(here)


@pytest.mark.parametrize("path", marked_files(), ids=lambda p: str(p.relative_to(PROJECT_ROOT)))
def test_a_marked_file_does_not_parse_without_its_mark(linter, path):
    text = "\n".join(line for line in path.read_text().splitlines() if line.strip() != MARK)
    linted = linter.lint_string(text + "\n", fname=str(path))
    codes = {violation.rule_code() for violation in linted.get_violations()}
    assert "PRS" in codes, f"{path.name} parses without {MARK!r}: remove the mark"
