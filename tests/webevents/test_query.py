"""`webevents query`: one query, printed as a table, CSV or a JSON array of objects."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from webevents.cli import main
from webevents.engines.local import connect
from webevents.jobs.query import format_rows

QUERY = (
    "select * from (values (1, 'page', date '2024-01-02', array['a', 'b']), "
    "(22, null, null, array[])) as t (n, kind, day, tags) order by n"
)


@pytest.fixture
def lake(tmp_path):
    connect(tmp_path).close()  # an empty lake: its tables, no rows
    return tmp_path


def test_json_is_one_array_of_objects(lake, capsys):
    assert main(["query", QUERY, "--format", "json", "--lake", str(lake)]) == 0
    records = json.loads(capsys.readouterr().out)
    assert records == [
        {"n": 1, "kind": "page", "day": "2024-01-02", "tags": ["a", "b"]},
        {"n": 22, "kind": None, "day": None, "tags": []},
    ]


def test_csv_has_a_header_and_one_line_per_row(lake, capsys):
    assert main(["query", QUERY, "--format", "csv", "--lake", str(lake)]) == 0
    assert capsys.readouterr().out.splitlines() == [
        "n,kind,day,tags",
        '1,page,2024-01-02,"[""a"",""b""]"',
        "22,,,[]",
    ]


def test_table_is_aligned_with_numbers_right_aligned():
    text = format_rows(["n", "kind"], [(1, "page"), (22, None)], "table")
    assert text.splitlines() == [" n  kind", "--  ----", " 1  page", "22", "(2 rows)"]


def test_timestamps_are_iso_8601_in_json():
    text = format_rows(["at"], [(dt.datetime(2024, 1, 2, 3, 4, 5, 6),)], "json")
    assert json.loads(text) == [{"at": "2024-01-02T03:04:05.000006"}]


def test_a_failing_query_exits_1_with_the_reason(lake, capsys):
    assert main(["query", "select nope from raw.web_events", "--lake", str(lake)]) == 1
    assert "nope" in capsys.readouterr().err


def test_the_query_reads_the_lake(lake, capsys):
    assert main(["query", "select count(*) as n from raw.web_events", "--lake", str(lake)]) == 0
    assert capsys.readouterr().out.splitlines()[2].strip() == "0"


def test_a_query_cannot_change_the_lake_unless_write_is_given(lake, capsys):
    delete = "delete from raw.web_events where event_id = 'x'"
    assert main(["query", delete, "--lake", str(lake)]) == 1
    assert "read-only; add --write" in capsys.readouterr().err
    assert main(["query", delete, "--lake", str(lake), "--write"]) == 0


def test_a_query_on_a_lake_that_does_not_exist_says_so_and_creates_nothing(tmp_path, capsys):
    typo = tmp_path / "lakee"
    assert main(["query", "select 1", "--lake", str(typo)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"no lake at {typo}" in err
    assert not typo.exists()


def test_a_lake_that_is_a_file_is_a_one_line_error(tmp_path, capsys):
    not_a_folder = tmp_path / "lake.txt"
    not_a_folder.write_text("x")
    for command in (["query", "select 1"], ["run"], ["ingest", str(not_a_folder)],
                    ["backfill", str(not_a_folder)]):
        assert main([*command, "--lake", str(not_a_folder)]) == 2, command
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and "is a file, not a folder" in err, (command, err)
