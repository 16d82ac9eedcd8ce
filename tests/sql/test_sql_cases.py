"""Every data-driven SQL case (tests/sql/<folder>/cases/*.yml) gives its expected rows."""

from __future__ import annotations

import pytest

from tests.sql.sql_cases import case_files, differences, load_case, run_case

CASES = case_files()


@pytest.mark.parametrize("path", CASES, ids=[p.parent.parent.name + "/" + p.stem for p in CASES])
def test_the_sql_file_gives_the_expected_rows_for_the_given_rows(path):
    case = load_case(path)
    rows, tables = run_case(case)
    problems = []
    if case.expect is not None:
        problems += differences(case.expect, rows, case.sql.name)
    for table, expected in case.expect_tables.items():
        problems += differences(expected, tables[table], table, any_order=True)
    assert not problems, f"{case.name}:\n" + "\n".join(problems)


def test_the_case_folders_hold_cases():
    assert len(CASES) >= 5


def test_table_rows_compare_in_any_order_and_name_what_differs():
    expected = [{"event_id": "e1", "is_bot": True}, {"event_id": "e2", "is_bot": False}]
    held = [{"event_id": "e2", "is_bot": False, "score": 0.5},
            {"event_id": "e1", "is_bot": True, "score": 1.0}]
    assert differences(expected, held, "t", any_order=True) == []
    held[0]["is_bot"] = True
    assert differences(expected, held, "t", any_order=True) == [
        "t row 2 is_bot: True, expected False"]
