"""webevents/dev/scan_budget.py's parsing of Trino's query statistics and dbt's query comments."""

from __future__ import annotations

import pytest

from webevents.dev.scan_budget import data_size_bytes, dbt_step, ratio


@pytest.mark.parametrize(
    ("text", "expected"),
    [("0B", 0), ("50B", 50), ("1.50kB", 1536), ("2MB", 2 * 2**20), ("1.25GB", 1342177280)],
)
def test_trino_data_sizes_read_as_bytes_in_powers_of_1024(text, expected):
    assert data_size_bytes(text) == expected


def test_an_unreadable_data_size_is_a_clear_error():
    with pytest.raises(ValueError, match="not a Trino data size: '12 parsecs'"):
        data_size_bytes("12 parsecs")


COMMENT = '/* {"app": "dbt", "dbt_version": "1.10.0", "node_id": "%s"} */\nselect 1'


@pytest.mark.parametrize(
    ("node_id", "step"),
    [
        ("model.webevents.fct_sessions", "dbt fct_sessions"),
        ("test.webevents.unique_fct_sessions_session_key.1a2b3c", "dbt tests"),
        ("unit_test.webevents.fct_sessions.late_event_merges", "dbt tests"),
        ("seed.webevents.sphere_cells", "dbt seeds"),
    ],
)
def test_dbt_statements_are_told_apart_by_the_node_in_their_query_comment(node_id, step):
    assert dbt_step(COMMENT % node_id) == step


def test_a_dbt_statement_without_a_node_is_dbt_other():
    assert dbt_step("select schema_name from information_schema.schemata") == "dbt other"


def test_ratio_of_a_step_that_reads_nothing_on_either_lake_is_one():
    assert ratio(0, 0) == 1.0
    assert ratio(300, 200) == 1.5
    assert ratio(5, 0) == float("inf")
