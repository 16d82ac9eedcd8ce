"""`webevents replay` into the local lake: Firehose error output back in, idempotently."""

from __future__ import annotations

import base64
import gzip
import json
from pathlib import Path

import duckdb
import pytest

from webevents import SQL_DIR
from webevents.cli import main
from webevents.jobs.replay import (
    DELIVERY_ERROR_CODES,
    LANDING_ROW,
    ORIGINAL_EVENT,
    PROCESSING_ERROR_CODES,
    Filters,
    ReplayError,
    parse_error_object,
    replay,
    replay_figures,
)
from webevents.jobs.sql import run_files
from webevents.local.ingest import LOCAL_LAMBDA_ARN, ingest_files

ARRIVAL_MS = 1_764_000_000_000  # 2025-11-24T16:00:00Z
LAMBDA_ARN = "arn:aws:lambda:eu-west-1:123456789012:function:webevents-dev-transform"

GOOD = [
    {"type": "track", "event": "Room Viewed", "messageId": "m-1", "anonymousId": "a-1",
     "timestamp": "2025-11-24T10:00:00Z", "properties": {"spaceId": "sp-1", "roomId": "r-1"}},
    {"_id": {"$oid": "6743a1f0c2b5e81d9a7f0001"},
     "eventTimestamp": {"$date": {"$numberLong": "1764000000000"}},
     "metadata": {"appId": "viewer"}, "eventData": {"type": "page"}},
    # no id: the handler hashes the event's bytes, so a replay gets the same id
    {"type": "page", "anonymousId": "a-2", "sentAt": 1_764_000_100_000},
]
BAD = {b"{not json": "invalid_json", b"[1,2]": "not_an_object",
       b'{"type":"page"}': "missing_timestamp"}


def _line(value) -> bytes:
    return json.dumps(value, separators=(",", ":")).encode()


def error_record(data: bytes, code: str, arrival_ms: int = ARRIVAL_MS, **extra) -> dict:
    """One record in Firehose's documented error format."""
    record = {
        "attemptsMade": 4 if code != "Lambda.ProcessingFailedStatus" else 1,
        "arrivalTimestamp": arrival_ms,
        "errorCode": code,
        "errorMessage": f"hand-made {code}",
        "attemptEndingTimestamp": arrival_ms + 60_000,
        "rawData": base64.b64encode(data).decode("ascii"),
        **extra,
    }
    return record


def write_object(path: Path, records: list[dict], compress: bool = True) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    body = ("\n".join(json.dumps(r) for r in records) + "\n").encode()
    path.write_bytes(gzip.compress(body) if compress else body)
    return path


def lake_rows(lake: Path, sql: str) -> list[tuple]:
    con = duckdb.connect(str(lake / "lake.duckdb"), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


@pytest.fixture
def lake_with_failures(tmp_path) -> Path:
    """A lake whose stand-in wrote error output: 1 good event landed, 3 bad ones failed."""
    source = tmp_path / "stream.jsonl"
    source.write_bytes(b"\n".join([_line(GOOD[0]), *BAD]) + b"\n")
    lake = tmp_path / "lake"
    summary = ingest_files([source], lake=lake)
    assert (summary.ok, summary.failed) == (1, 3)
    return lake


@pytest.fixture
def throttled_batch(tmp_path) -> Path:
    """A batch Firehose failed whole because the Lambda was throttled: good events inside."""
    records = [error_record(_line(event), "Lambda.InvokeLimitExceeded", lambdaArn=LAMBDA_ARN)
               for event in GOOD]
    return write_object(
        tmp_path / "errors" / "processing-failed" / "2025" / "11" / "24" / "16"
        / "webevents-dev-1-2025-11-24-16-00-00-abc", records)


# ---- the error format ----------------------------------------------------------------------
@pytest.mark.parametrize("code", PROCESSING_ERROR_CODES)
def test_every_documented_processing_error_code_gives_back_the_original_event(tmp_path, code):
    event = _line(GOOD[0])
    path = write_object(tmp_path / "out" / "obj", [error_record(event, code, lambdaArn=LAMBDA_ARN)])
    (record,) = parse_error_object(str(path), path.read_bytes())
    assert (record.kind, record.error_code, record.data) == (ORIGINAL_EVENT, code, event)
    assert record.arrival_ms == ARRIVAL_MS


@pytest.mark.parametrize("code", DELIVERY_ERROR_CODES)
def test_every_documented_delivery_error_code_gives_back_a_landing_row(tmp_path, code):
    row = _line({"event_id": "m-1", "load_source": "firehose"})
    path = write_object(tmp_path / "out" / "obj", [error_record(row, code)], compress=False)
    (record,) = parse_error_object(str(path), path.read_bytes())
    assert (record.kind, record.error_code, record.data) == (LANDING_ROW, code, row)


def test_objects_with_every_documented_code_replay_into_the_lake(tmp_path):
    errors = tmp_path / "errors"
    for number, code in enumerate(PROCESSING_ERROR_CODES):
        event = {**GOOD[0], "messageId": f"p-{number}"}
        write_object(errors / "processing-failed" / f"{code}.gz",
                     [error_record(_line(event), code, lambdaArn=LAMBDA_ARN)])
    for number, code in enumerate(DELIVERY_ERROR_CODES):
        row = {"event_id": f"d-{number}", "event_timestamp": ARRIVAL_MS * 1000,
               "event_date": "2025-11-25", "received_at": ARRIVAL_MS * 1000,
               "load_source": "firehose"}
        write_object(errors / "iceberg-failed" / f"{code}", [error_record(_line(row), code)],
                     compress=False)
    lake = tmp_path / "lake"
    summary = replay([str(errors)], lake=lake, progress=False)
    count = len(PROCESSING_ERROR_CODES) + len(DELIVERY_ERROR_CODES)
    assert (len(summary.objects), summary.total("landed")) == (count, count)
    assert lake_rows(lake, "select count(distinct event_id) from raw.web_events") == [(count,)]


def test_the_folder_name_decides_what_raw_data_holds(tmp_path):
    row = error_record(b"{}", "InternalError")
    failed = write_object(tmp_path / "processing-failed" / "x", [row])
    iceberg = write_object(tmp_path / "iceberg-failed" / "x", [row])
    assert parse_error_object(str(failed), failed.read_bytes())[0].kind == ORIGINAL_EVENT
    assert parse_error_object(str(iceberg), iceberg.read_bytes())[0].kind == LANDING_ROW


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"not json\n", "obj line 1: not a Firehose error record (not JSON)"),
        (b'{"errorCode":"InternalError"}\n', "obj line 1: not a Firehose error record (no rawData"),
        (b'{"rawData":"e30="}\n', "obj line 1: not a Firehose error record (no errorCode)"),
        (b'{"rawData":"%%%","errorCode":"InternalError"}\n', "obj line 1: rawData is not base64"),
        (b"\x1f\x8b\x08garbage", "obj: unreadable GZIP object"),
    ],
)
def test_a_record_not_in_firehose_error_format_is_a_one_line_error_naming_it(content, message):
    with pytest.raises(ReplayError) as caught:
        parse_error_object("obj", content)
    assert str(caught.value).startswith(message)
    assert "\n" not in str(caught.value)


# ---- error output written by the local stand-in --------------------------------------------
def test_stand_in_failures_fail_again_and_stay_where_they_were(lake_with_failures):
    lake = lake_with_failures
    error_dir = lake / "processing-failed"
    before = {p: p.read_bytes() for p in error_dir.rglob("*") if p.is_file()}
    summary = replay([str(error_dir)], lake=lake, progress=False)
    figures = summary.as_dict()["totals"]
    assert (figures["records_in"], figures["landed"], figures["failed_again"]) == (3, 0, 3)
    assert summary.reasons() == {reason: 1 for reason in BAD.values()}
    # not written again: the error output is exactly what it was
    assert {p: p.read_bytes() for p in error_dir.rglob("*") if p.is_file()} == before
    assert lake_rows(lake, "select count(*) from raw.web_events") == [(1,)]


def test_replay_bookkeeping_counts_every_record_once_per_source_object(lake_with_failures):
    lake = lake_with_failures
    replay([str(lake / "processing-failed")], lake=lake, progress=False)
    replay([str(lake / "processing-failed")], lake=lake, progress=False)
    con = duckdb.connect(str(lake / "lake.duckdb"), read_only=True)
    (figures,) = replay_figures(con)
    runs = con.execute("select records_in, landed, failed_again, dropped "
                       "from raw.web_events_replay_runs order by replayed_at").fetchall()
    con.close()
    assert (figures.records_in, figures.failed_again, figures.adds_up) == (3, 3, True)
    assert figures.failed_again_by_reason == {reason: 1 for reason in BAD.values()}
    assert runs == [(3, 0, 3, 0), (3, 0, 3, 0)]  # each run: in = landed + failed + dropped


# ---- hand-made objects: events that land now ------------------------------------------------
def test_a_throttled_batch_lands_through_the_handler(tmp_path, throttled_batch):
    lake = tmp_path / "lake"
    summary = replay([str(throttled_batch)], lake=lake, progress=False)
    assert summary.as_dict()["totals"]["landed"] == 3
    rows = lake_rows(lake, "select event_id, load_source from raw.web_events order by 1")
    ids = [row[0] for row in rows]
    assert {"6743a1f0c2b5e81d9a7f0001", "m-1"} < set(ids)
    assert sum(event_id.startswith("h") for event_id in ids) == 1  # the hashed id
    assert {row[1] for row in rows} == {"firehose"}


def enrich(lake: Path) -> None:
    ((first, last),) = lake_rows(lake, "select min(event_date), max(event_date) "
                                       "from raw.web_events")
    run_files([SQL_DIR / "enrich"], engine="local", lake=lake, echo=None,
              params={"run_date": last.isoformat(), "lookback_days": str((last - first).days)})


def test_replaying_twice_lands_each_event_once_in_analytics(tmp_path, throttled_batch):
    lake = tmp_path / "lake"
    # the same batch also copied elsewhere (an operator's download): same bytes, same ids
    copy = tmp_path / "copy" / "processing-failed" / "batch.gz"
    copy.parent.mkdir(parents=True)
    copy.write_bytes(throttled_batch.read_bytes() + b"")
    first = replay([str(throttled_batch)], lake=lake, progress=False)
    again = replay([str(throttled_batch)], lake=lake, progress=False)
    assert first.as_dict()["totals"]["landed"] == 3
    assert again.as_dict()["totals"] == {"records_in": 0, "landed": 0, "failed_again": 0,
                                        "dropped": 0, "already_replayed": 3, "filtered_out": 0,
                                        "not_accepted": 0}
    # the copy has the same bytes: the bookkeeping knows it by content, nothing is sent
    assert replay([str(copy)], lake=lake, progress=False).total("already_replayed") == 3
    # events replayed from a second, different object land again in raw (append-only) ...
    other = write_object(tmp_path / "other" / "processing-failed" / "b",
                         [error_record(_line(e), "Lambda.FunctionError") for e in GOOD[::-1]])
    assert replay([str(other)], lake=lake, progress=False).total("landed") == 3
    assert lake_rows(lake, "select count(*), count(distinct event_id) from raw.web_events") \
        == [(6, 3)]
    # ... and analytics holds each once
    enrich(lake)
    assert lake_rows(lake, "select count(*), count(distinct event_id) "
                           "from analytics.web_events") == [(3, 3)]


def test_iceberg_failed_landing_rows_are_inserted_as_they_are(tmp_path, throttled_batch):
    lake = tmp_path / "lake"
    replay([str(throttled_batch)], lake=lake, progress=False)
    landed = lake_rows(lake, "select to_json(r) from raw.web_events r where event_id = 'm-1'")
    row = json.loads(landed[0][0])
    # what the Lambda emitted (timestamps as epoch microseconds), with a new id
    row["event_id"] = "m-iceberg"
    row["event_timestamp"] = 1_764_000_000_000_000
    row["received_at"] = 1_764_000_000_000_000
    row["event_date"] = "2025-11-24"
    path = write_object(tmp_path / "errors" / "iceberg-failed" / "obj",
                        [error_record(_line(row), "S3.AccessDenied")])
    summary = replay([str(path)], lake=lake, progress=False)
    assert summary.total("landed") == 1
    ((event_id, timestamp, load_source, room),) = lake_rows(
        lake, "select event_id, event_timestamp, load_source, room_id from raw.web_events "
              "where event_id = 'm-iceberg'")
    assert (event_id, str(timestamp), load_source, room) == (
        "m-iceberg", "2025-11-24 16:00:00", "firehose", "r-1")


def test_a_record_that_is_no_landing_row_fails_again_without_the_handler(tmp_path):
    path = write_object(tmp_path / "iceberg-failed" / "obj",
                        [error_record(b'{"type":"page"}', "InternalError")])
    summary = replay([str(path)], lake=tmp_path / "lake", progress=False)
    assert summary.reasons() == {"not_a_landing_row": 1}


# ---- filters, dry run, the command ----------------------------------------------------------
def test_since_until_and_reason_choose_the_records(tmp_path):
    day = 86_400_000
    records = [
        error_record(_line(GOOD[0]), "Lambda.InvokeLimitExceeded", ARRIVAL_MS - day),
        error_record(_line(GOOD[1]), "Lambda.InvokeLimitExceeded", ARRIVAL_MS),
        error_record(_line(GOOD[2]), "Lambda.FunctionError", ARRIVAL_MS + day),
    ]
    path = write_object(tmp_path / "processing-failed" / "obj", records)
    import datetime as dt

    chosen = replay([str(path)], lake=tmp_path / "lake", dry_run=True, progress=False,
                    filters=Filters(since=dt.date(2025, 11, 24), until=dt.date(2025, 11, 25),
                                    reasons=frozenset({"Lambda.InvokeLimitExceeded"})))
    assert (chosen.total("records_in"), chosen.total("filtered_out")) == (1, 2)


def test_dry_run_runs_the_handler_and_writes_nothing(lake_with_failures, throttled_batch):
    lake = lake_with_failures
    database = lake / "lake.duckdb"
    before = database.read_bytes()
    files_before = sorted(p for p in lake.rglob("*"))
    summary = replay([str(lake / "processing-failed"), str(throttled_batch)], lake=lake,
                     dry_run=True, progress=False)
    assert (summary.total("landed"), summary.total("failed_again")) == (3, 3)
    assert "3 would land + 3 failed again" in summary.line()
    assert database.read_bytes() == before
    assert sorted(p for p in lake.rglob("*")) == files_before


def test_dry_run_on_a_new_lake_does_not_create_it(tmp_path, throttled_batch):
    replay([str(throttled_batch)], lake=tmp_path / "new-lake", dry_run=True, progress=False)
    assert not (tmp_path / "new-lake").exists()


def test_command_prints_a_summary_line_and_writes_the_summary_json(
        tmp_path, throttled_batch, capsys):
    lake, out = tmp_path / "lake", tmp_path / "reports" / "replay.json"
    code = main(["replay", str(throttled_batch), "--lake", str(lake), "--summary", str(out)])
    printed = capsys.readouterr().out
    assert code == 0
    assert "replay: 1 object(s), 3 records = 3 landed + 0 failed again + 0 dropped" in printed
    data = json.loads(out.read_text())
    assert data["totals"]["landed"] == 3 and data["target"] == "local"
    assert data["objects"][0]["source_object"] == str(throttled_batch)
    assert not list(out.parent.glob(".*"))  # written atomically: no temporary left


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["missing/folder"], "webevents replay: missing/folder: no such file or folder"),
        (["x", "--since", "yesterday"], "webevents replay: --since yesterday: not a date"),
        (["x", "--archive-date", "2025-01-01"], "--archive-date applies to backfill-rejects"),
        (["backfill-rejects", "--to", "firehose"], "backfill-rejects replays into the local"),
        (["x", "--to", "firehose"], "--to firehose needs --stack NAME"),
    ],
)
def test_bad_input_is_a_one_line_error(tmp_path, monkeypatch, capsys, args, message):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "x").write_bytes(b"")
    assert main(["replay", *args, "--lake", str(tmp_path / "lake")]) == 1
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1


def test_an_unreadable_object_is_named(tmp_path, capsys):
    # a file whose read fails even for root: the kernel answers EIO at offset 0
    unreadable = "/proc/self/mem"
    assert main(["replay", unreadable, "--lake", str(tmp_path / "lake")]) == 1
    assert f"webevents replay: {unreadable}: unreadable" in capsys.readouterr().err


def test_local_ingest_error_output_is_in_the_format_replay_reads(lake_with_failures):
    (error_file,) = (p for p in (lake_with_failures / "processing-failed").rglob("*")
                     if p.is_file())
    records = parse_error_object(str(error_file), error_file.read_bytes())
    assert [r.error_code for r in records] == ["Lambda.ProcessingFailedStatus"] * 3
    assert {r.reason for r in records} == set(BAD.values())
    assert LOCAL_LAMBDA_ARN in error_file.read_text()


def test_the_progress_bar_keeps_stdout_for_the_summary(tmp_path, throttled_batch, capsys):
    summary = replay([str(throttled_batch)], lake=tmp_path / "lake", progress=True)
    assert summary.total("landed") == 3
    assert capsys.readouterr().out == ""  # the (transient) bar draws on stderr


def test_a_replay_is_its_own_input_in_the_reconciliation_counted_from_the_tables(
        lake_with_failures, throttled_batch):
    from webevents.engines.local import connect
    from webevents.local.reconcile import STREAM, reconciliation

    replay([str(throttled_batch)], lake=lake_with_failures, progress=False)
    con = connect(lake_with_failures)
    try:
        summary = reconciliation(con, lake_with_failures)
        sources = {source["name"]: source for source in summary["sources"]}
        stream = sources.pop(STREAM)
        (replayed,) = sources.values()
        # the stream's landed rows exclude what the replay landed, though both are 'firehose'
        assert (stream["records_in"], stream["landed"], stream["failed"]) == (4, 1, 3)
        assert (replayed["records_in"], replayed["landed"], replayed["failed"]) == (3, 3, 0)
        assert stream["balanced"] and replayed["balanced"] and summary["balanced"]
        # a replayed event missing from raw shows: the figure is checked against the rows
        con.execute("delete from raw.web_events where event_id = ?", [GOOD[0]["messageId"]])
        sources = {s["name"]: s for s in reconciliation(con, lake_with_failures)["sources"]}
        assert not sources[f"replay of {replayed['name'][len('replay of '):]}"]["balanced"]
    finally:
        con.close()
