"""`webevents query`: one query, printed as a table, CSV or a JSON array of objects."""

from __future__ import annotations

import datetime as dt
import json

from webevents.cli import main
from webevents.query import format_rows

QUERY = (
    "select * from (values (1, 'page', date '2024-01-02', array['a', 'b']), "
    "(22, null, null, array[])) as t (n, kind, day, tags) order by n"
)


def test_json_is_one_array_of_objects(tmp_path, capsys):
    assert main(["query", QUERY, "--format", "json", "--lake", str(tmp_path)]) == 0
    records = json.loads(capsys.readouterr().out)
    assert records == [
        {"n": 1, "kind": "page", "day": "2024-01-02", "tags": ["a", "b"]},
        {"n": 22, "kind": None, "day": None, "tags": []},
    ]


def test_csv_has_a_header_and_one_line_per_row(tmp_path, capsys):
    assert main(["query", QUERY, "--format", "csv", "--lake", str(tmp_path)]) == 0
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


def test_a_failing_query_exits_1_with_the_reason(tmp_path, capsys):
    assert main(["query", "select nope from raw.web_events", "--lake", str(tmp_path)]) == 1
    assert "nope" in capsys.readouterr().err


def test_the_query_reads_the_lake(tmp_path, capsys):
    assert main(["query", "select count(*) as n from raw.web_events", "--lake", str(tmp_path)]) == 0
    assert capsys.readouterr().out.splitlines()[2].strip() == "0"
