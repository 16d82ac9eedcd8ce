"""`webevents ingest`: the Firehose stand-in around the real handler, into a DuckDB lake."""

from __future__ import annotations

import argparse
import base64
import gzip
import json
from datetime import date, datetime
from pathlib import Path

import duckdb
import pytest

from webevents.local.ingest import (
    LOCAL_LAMBDA_ARN,
    LineReader,
    firehose_batches,
    ingest_command,
    ingest_files,
)

GOOD_LEGACY = {
    "type": "track",
    "event": "Room Viewed",
    "messageId": "m-1",
    "anonymousId": "anon-1",
    "timestamp": "2025-11-24T10:00:00.123456+01:00",
    "properties": {
        "spaceId": "sp-1",
        "roomName": "Kitchen",
        "coordinates": {"pitch": "1.5", "yaw": 2, "hfov": "NaN"},
        "theme": "dark",
    },
}
GOOD_NESTED = {
    "_id": {"$oid": "6743a1f0c2b5e81d9a7f0001"},
    "eventTimestamp": {"$date": {"$numberLong": "1764000000000"}},
    "metadata": {"appId": "viewer"},
    "eventData": {"type": "page", "properties": {"url": "https://x.io/a?b=1"}},
}
NO_ID = {"type": "page", "sentAt": 1_764_000_000_000}


def _line(value) -> bytes:
    return json.dumps(value, separators=(",", ":")).encode()


BAD_LINES = {
    b"{not json": "invalid_json",
    b"[1,2]": "not_an_object",
    _line({"type": "page"}): "missing_timestamp",
    _line({"nope": 1, "sentAt": 1_764_000_000_000}): "unknown_shape",
    b'{"type":"page","sentAt":1764000000000,"x":"\xff"}': "invalid_utf8",
}


@pytest.fixture
def sample_file(tmp_path) -> Path:
    lines = [_line(GOOD_LEGACY), *BAD_LINES, b"", _line(GOOD_NESTED), b"   ", _line(NO_ID)]
    path = tmp_path / "events.jsonl"
    path.write_bytes(b"\n".join(lines))  # no newline at the end, as editors sometimes leave it
    return path


def _query(lake: Path, sql: str):
    with duckdb.connect(str(lake / "lake.duckdb"), read_only=True) as con:
        return con.execute(sql).fetchall()


def _error_records(lake: Path) -> list[dict]:
    files = [path for path in (lake / "processing-failed").rglob("*") if path.is_file()]
    return [json.loads(line) for path in files for line in path.read_text().splitlines()]


def test_ingest_accounts_for_every_record(sample_file, tmp_path):
    lake = tmp_path / "lake"
    summary = ingest_files([sample_file], lake=lake, progress=False)

    assert summary.records_in == 10
    assert (summary.ok, summary.failed, summary.dropped) == (3, 5, 2)
    assert summary.adds_up
    assert summary.reasons == {**{reason: 1 for reason in BAD_LINES.values()}, "empty_record": 2}
    assert summary.tables == {"raw.web_events": 3}
    assert _query(lake, "select count(*) from raw.web_events") == [(3,)]


def test_ok_rows_land_with_table_types(sample_file, tmp_path):
    lake = tmp_path / "lake"
    ingest_files([sample_file], lake=lake, progress=False)
    rows = _query(
        lake,
        "select event_id, event_timestamp, event_date, coordinates, properties, space_id,"
        " room_name, source_format, load_source, received_at"
        " from raw.web_events where event_id = 'm-1'",
    )
    (event_id, ts, day, coordinates, properties, space, room, shape, source, received) = rows[0]
    assert ts == datetime(2025, 11, 24, 9, 0, 0, 123456)  # UTC, microseconds kept
    assert day == date(2025, 11, 24)
    assert coordinates == {"pitch": 1.5, "yaw": 2.0, "hfov": None}
    assert json.loads(properties) == {  # "NaN" is no double: the object stays whole (§6)
        "theme": "dark",
        "coordinates": {"pitch": "1.5", "yaw": 2, "hfov": "NaN"},
    }
    assert (space, room, shape, source) == ("sp-1", "Kitchen", "legacy", "firehose")
    assert isinstance(received, datetime)
    nested = _query(
        lake,
        "select event_timestamp, app_id, page_path from raw.web_events"
        " where event_id = '6743a1f0c2b5e81d9a7f0001'",
    )
    assert nested == [(datetime(2025, 11, 24, 16, 0), "viewer", "/a")]


def test_failed_records_are_written_as_firehose_error_output(sample_file, tmp_path):
    lake = tmp_path / "lake"
    summary = ingest_files([sample_file], lake=lake, progress=False)
    errors = _error_records(lake)
    assert len(errors) == summary.failed == 5
    assert summary.error_files and summary.error_files[
        0
    ].parent.parent.parent.parent.parent.name == ("processing-failed")
    for error in errors:
        assert set(error) >= {
            "attemptsMade",
            "arrivalTimestamp",
            "errorCode",
            "errorMessage",
            "attemptEndingTimestamp",
            "rawData",
            "lambdaArn",
        }
        assert error["errorCode"] == "Lambda.ProcessingFailedStatus"
        assert error["lambdaArn"] == LOCAL_LAMBDA_ARN
        assert error["attemptEndingTimestamp"] >= error["arrivalTimestamp"]
    # nothing is lost: each failed line is in the error output byte for byte, with its reason
    by_raw = {base64.b64decode(error["rawData"]): error["reason"] for error in errors}
    assert by_raw == BAD_LINES


def test_the_same_events_in_another_file_append_again_with_the_same_ids(sample_file, tmp_path):
    lake = tmp_path / "lake"
    resent = tmp_path / "resent.jsonl"
    resent.write_bytes(sample_file.read_bytes() + b"\n")  # other content, the same events
    ingest_files([sample_file], lake=lake, progress=False)
    ingest_files([resent], lake=lake, progress=False)
    assert _query(lake, "select count(*), count(distinct event_id) from raw.web_events") == [(6, 3)]


def test_a_file_already_ingested_is_skipped_not_appended_again(sample_file, tmp_path):
    lake = tmp_path / "lake"
    ingest_files([sample_file], lake=lake, progress=False)
    again = ingest_files([sample_file], lake=lake, progress=False)
    assert (again.files, again.records_in, [path for path, _ in again.skipped]) == (
        0, 0, [sample_file])
    assert _query(lake, "select count(*) from raw.web_events") == [(3,)]


def test_gzip_and_crlf_files(tmp_path):
    lines = [_line(GOOD_LEGACY), _line(NO_ID)]
    plain = tmp_path / "crlf.jsonl"
    plain.write_bytes(b"\r\n".join(lines) + b"\r\n")
    packed = tmp_path / "events.jsonl.gz"
    packed.write_bytes(gzip.compress(b"\n".join(lines) + b"\n"))
    lake = tmp_path / "lake"
    summary = ingest_files([plain, packed], lake=lake, progress=False)
    assert (summary.files, summary.records_in, summary.ok) == (2, 4, 4)
    # the content id hashes the line without its line break, whatever the file's line ends
    assert _query(lake, "select count(distinct event_id) from raw.web_events") == [(2,)]


def test_batches_follow_the_buffer_size_hint():
    lines = [b"x" * 300] * 10 + [b"y" * 5000] + [b"z" * 100] * 3
    batches = list(firehose_batches(lines, buffer_bytes=1000, id_prefix="p"))
    sizes = [size for _, size in batches]
    assert sizes == [900, 900, 900, 300, 5000, 300]  # an oversized record travels alone
    records = [record for batch, _ in batches for record in batch]
    assert len({record["recordId"] for record in records}) == len(lines)
    assert all(isinstance(record["approximateArrivalTimestamp"], int) for record in records)
    assert base64.b64decode(records[10]["data"]) == b"y" * 5000


def test_line_reader_keeps_blank_lines_and_strips_only_line_breaks(tmp_path):
    path = tmp_path / "lines.jsonl"
    path.write_bytes(b'{"a":1} \r\n\n  \nlast')
    with LineReader(path) as reader:
        assert list(reader) == [b'{"a":1} ', b"", b"  ", b"last"]


def test_workers_give_the_same_answer(sample_file, tmp_path):
    one = ingest_files([sample_file], lake=tmp_path / "one", progress=False, workers=1)
    two = ingest_files([sample_file], lake=tmp_path / "two", progress=False, workers=2)
    assert (one.ok, one.failed, one.dropped, one.reasons) == (
        two.ok,
        two.failed,
        two.dropped,
        two.reasons,
    )
    query = "select event_id, event_timestamp from raw.web_events order by all"
    assert _query(tmp_path / "one", query) == _query(tmp_path / "two", query)


def test_command_reports_and_fails_cleanly_on_missing_files(sample_file, tmp_path, capsys):
    lake = tmp_path / "lake"
    args = argparse.Namespace(files=[str(sample_file)], lake=str(lake), buffer_mb=0.2)
    assert ingest_command(args) == 0
    out = capsys.readouterr().out
    assert "10 = 3 + 5 + 2" in out
    missing = argparse.Namespace(files=[str(tmp_path / "nope.jsonl")], lake=str(lake), buffer_mb=1)
    assert ingest_command(missing) == 2
    assert "no such file" in capsys.readouterr().err


def test_handler_logs_are_kept_in_the_lake(sample_file, tmp_path):
    lake = tmp_path / "lake"
    ingest_files([sample_file], lake=lake, progress=False)
    lines = (lake / "logs" / "transform-lambda.jsonl").read_text().splitlines()
    logged = [json.loads(line) for line in lines]
    assert sum(1 for entry in logged if entry.get("message") == "record not landed") == 7
    assert any("_aws" in entry for entry in logged)  # the EMF metrics document
