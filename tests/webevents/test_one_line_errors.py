"""Bad input, wrong paths and broken files: one line that says what and where, a non-zero
exit, no traceback, and nothing half-loaded."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

from webevents.cli import main
from webevents.engines.transpile import text_lines
from webevents.local.ingest import LineReader

EVENT = {"type": "page", "messageId": "m-1", "anonymousId": "a-1",
         "timestamp": "2026-11-19T10:00:00Z"}


def one_line(capsys) -> str:
    err = capsys.readouterr().err
    assert "Traceback" not in err and err.count("\n") == 1, err
    return err


def truncated_gzip(path: Path) -> Path:
    packed = gzip.compress((json.dumps(EVENT) + "\n").encode() * 200)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(packed[: len(packed) // 2])
    return path


def raw_rows(lake: Path) -> int:
    from webevents.engines.local import connect

    con = connect(lake)
    (count,) = con.execute("select count(*) from raw.web_events").fetchone()
    con.close()
    return count


@pytest.mark.parametrize("content", ["truncated", "fake"])
def test_ingest_of_a_broken_gzip_names_the_file_and_loads_none_of_it(tmp_path, capsys, content):
    broken = tmp_path / "events.jsonl.gz"
    if content == "truncated":
        truncated_gzip(broken)
    else:
        broken.write_bytes(b"not gzip at all\n")
    assert main(["ingest", str(broken), "--lake", str(tmp_path / "lake")]) == 2
    assert f"{broken}: cannot be read" in one_line(capsys)
    assert raw_rows(tmp_path / "lake") == 0


def test_backfill_of_a_truncated_gzip_names_the_archive_file_not_the_sql(tmp_path, capsys):
    broken = truncated_gzip(tmp_path / "archive" / "dt=2026-11-19" / "part-1.jsonl.gz")
    assert main(["backfill", str(broken), "--lake", str(tmp_path / "lake")]) == 1
    err = one_line(capsys)
    assert f"archive file {broken} cannot be read" in err and ".sql" not in err


def test_a_folder_given_as_a_file_is_named(tmp_path, capsys):
    folder = tmp_path / "archive" / "dt=2026-11-19"
    folder.mkdir(parents=True)
    assert main(["ingest", str(folder), "--lake", str(tmp_path / "lake")]) == 2
    assert "a folder, not a file" in one_line(capsys)
    assert main(["backfill", str(folder), "--lake", str(tmp_path / "lake")]) == 1
    assert "a folder, not an archive file" in one_line(capsys)


def test_an_undecodable_sql_file_is_named(tmp_path, capsys):
    sql = tmp_path / "latin1.sql"
    sql.write_bytes("select 'caf\xe9' as x".encode("latin-1"))
    assert main(["sql", str(sql), "--lake", str(tmp_path / "lake")]) == 1
    assert f"{sql}: not UTF-8 text" in one_line(capsys)


@pytest.mark.parametrize(("param", "says"), [
    ("lookback_days=abc", "is not a whole number"),
    ("run_date=2026-02-30", "is not a date"),
    ("max_pages_per_session=6O", "is not a whole number"),
    ("subsecond_gap_share=lots", "is not a share"),
    ("loaded_at=yesterday", "is not a timestamp"),
    ("archive_location=s3://x/'; drop table raw.web_events; --", "quotes and semicolons"),
])
def test_every_parameter_is_checked_before_any_sql_runs(tmp_path, capsys, param, says):
    assert main(["sql", "sql/enrich", "--param", param, "--lake", str(tmp_path / "lake")]) == 1
    assert says in one_line(capsys)


def test_the_stream_and_the_backfill_split_a_file_into_the_same_records(tmp_path):
    data = (b'{"a":1}\r\n{"a":2}\r{"a":"x\ry"}\n\n{"a":3}\r\r\n\xff\xfe{"b"}\n{"last":1}')
    path = tmp_path / "mixed.jsonl"
    path.write_bytes(data)
    with LineReader(path) as reader:
        stream = [line.decode("utf-8", "replace") for line in reader]
    assert stream == text_lines(str(path))
    packed = tmp_path / "mixed.jsonl.gz"
    packed.write_bytes(gzip.compress(data))
    with LineReader(packed) as reader:
        assert [line.decode("utf-8", "replace") for line in reader] == stream
