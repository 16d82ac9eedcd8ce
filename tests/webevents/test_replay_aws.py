"""`webevents replay` to AWS, every call asserted with botocore's Stubber (nothing reaches AWS).

Batches of <= 500 records and <= 4 MiB, only failed entries retried, throttling backed off,
stream names from the stack's outputs, S3 listing/reading and the manifest beside the
error objects, iceberg-failed landing rows by an Athena INSERT.
"""

from __future__ import annotations

import datetime as dt
import gzip
import io
import json

import boto3
import pytest
from botocore.response import StreamingBody
from botocore.stub import ANY, Stubber

from tests.webevents.test_replay import ARRIVAL_MS, LAMBDA_ARN, _line, error_record, write_object
from webevents.jobs.replay import (
    MAX_BATCH_BYTES,
    AwsClients,
    ReplayError,
    StreamSender,
    replay,
)

STACK = "webevents-dev"
DELIVERY_STREAM = "webevents-dev-delivery"
INGEST_STREAM = "webevents-dev-ingest"
NOW = dt.datetime(2026, 11, 25, 3, 0, 0)
REPLAY_ID = "20261125T030000-test"
OUTPUTS = {
    "DeliveryStreamName": DELIVERY_STREAM,
    "IngestStreamName": INGEST_STREAM,
    "DeliveryErrorBucketName": "webevents-dev-errors",
    "AthenaWorkGroupName": "webevents-dev",
    "AthenaOutputLocation": "s3://webevents-dev-athena-results/athena/",
    "ArchiveDatabaseName": "webevents_dev_archive",
    "S3TablesCatalog": "s3tablescatalog/webevents-dev-tables",
}


def client(service: str):
    session = boto3.session.Session(
        aws_access_key_id="testing", aws_secret_access_key="testing", region_name="eu-west-1"
    )
    return session.client(service)


SERVICES = ("s3", "athena", "firehose", "kinesis", "cloudformation")


@pytest.fixture(scope="module")
def stubbed_clients():
    """Made once: creating a botocore client costs about half a second."""
    return {name: client(name) for name in SERVICES}


@pytest.fixture
def aws(stubbed_clients):
    """Stubbed clients; every test ends with no expected call left over."""
    clients = AwsClients(**stubbed_clients)
    stubs = {name: Stubber(stubbed_clients[name]) for name in SERVICES}
    for stub in stubs.values():
        stub.activate()
    yield clients, stubs
    for stub in stubs.values():
        stub.deactivate()
    for stub in stubs.values():
        stub.assert_no_pending_responses()


def expect_stack(stubs, outputs=OUTPUTS):
    stubs["cloudformation"].add_response(
        "describe_stacks",
        {"Stacks": [{"StackName": STACK, "CreationTime": NOW, "StackStatus": "UPDATE_COMPLETE",
                     "Outputs": [{"OutputKey": k, "OutputValue": v} for k, v in outputs.items()]}]},
        {"StackName": STACK},
    )


def events(count: int, size: int = 0) -> list[bytes]:
    """Distinct valid events (messageId = their event_id), padded to about `size` bytes."""
    return [
        _line({"type": "track", "event": "x", "messageId": f"m-{n:05d}",
               "timestamp": "2025-11-24T10:00:00Z", "properties": {"pad": "p" * size}})
        for n in range(count)
    ]


def throttled_object(tmp_path, lines: list[bytes], name: str = "batch"):
    return write_object(tmp_path / "errors" / "processing-failed" / name,
                        [error_record(line, "Lambda.InvokeLimitExceeded", lambdaArn=LAMBDA_ARN)
                         for line in lines])


def firehose_answer(codes: list[str | None]) -> dict:
    return {
        "FailedPutCount": sum(1 for code in codes if code),
        "Encrypted": False,
        "RequestResponses": [
            {"ErrorCode": code, "ErrorMessage": "Slow down."} if code else {"RecordId": f"r{n}"}
            for n, code in enumerate(codes)
        ],
    }


def run(tmp_path, sources, clients, to="firehose", sleeps=None, **options):
    return replay(sources, to=to, lake=tmp_path / "lake", stack=STACK, clients=clients,
                  progress=False, sleep=(sleeps.append if sleeps is not None else None),
                  clock=lambda: NOW, replay_id=REPLAY_ID, **options)


# ---- Firehose PutRecordBatch -----------------------------------------------------------
def test_firehose_gets_batches_of_500_and_only_failed_entries_again(tmp_path, aws):
    clients, stubs = aws
    lines = events(1201)
    source = throttled_object(tmp_path, lines)
    expect_stack(stubs)
    put = stubs["firehose"]

    def expect(indexes, codes):
        put.add_response("put_record_batch", firehose_answer(codes), {
            "DeliveryStreamName": DELIVERY_STREAM,
            "Records": [{"Data": lines[i]} for i in indexes]})

    first = list(range(500))
    expect(first, [("ServiceUnavailableException" if i in (3, 7) else None) for i in first])
    expect([3, 7], [None, None])  # only the two failed entries, after a backoff
    expect(list(range(500, 1000)), [None] * 500)
    expect(list(range(1000, 1201)), [None] * 201)
    sleeps: list[float] = []
    summary = run(tmp_path, [str(source)], clients, sleeps=sleeps)
    assert summary.as_dict()["totals"]["landed"] == 1201
    assert sleeps == [0.2]


def test_the_4_mib_bound_closes_a_batch_early(tmp_path, aws):
    clients, stubs = aws
    lines = events(14, size=300_000)  # 14 x ~300 kB: 13 fit under 4 MiB, the 14th does not
    assert sum(map(len, lines[:13])) <= MAX_BATCH_BYTES < sum(map(len, lines))
    expect_stack(stubs)
    for batch in (lines[:13], lines[13:]):
        stubs["firehose"].add_response(
            "put_record_batch", firehose_answer([None] * len(batch)),
            {"DeliveryStreamName": DELIVERY_STREAM, "Records": [{"Data": d} for d in batch]})
    summary = run(tmp_path, [str(throttled_object(tmp_path, lines))], clients)
    assert summary.total("landed") == 14


def test_a_throttled_call_is_retried_with_growing_backoff(tmp_path, aws):
    clients, stubs = aws
    lines = events(3)
    expect_stack(stubs)
    params = {"DeliveryStreamName": DELIVERY_STREAM, "Records": [{"Data": d} for d in lines]}
    for _ in range(2):
        stubs["firehose"].add_client_error(
            "put_record_batch", "ServiceUnavailableException", "Slow down.",
            http_status_code=503, expected_params=params)
    stubs["firehose"].add_response("put_record_batch", firehose_answer([None] * 3), params)
    sleeps: list[float] = []
    summary = run(tmp_path, [str(throttled_object(tmp_path, lines))], clients, sleeps=sleeps)
    assert summary.total("landed") == 3
    assert sleeps == [0.2, 0.4]


def test_entries_that_keep_failing_fail_again_with_their_code(tmp_path, aws):
    clients, stubs = aws
    lines = events(2)
    sender = StreamSender(clients.firehose, "firehose", DELIVERY_STREAM, sleep=lambda _: None,
                          max_attempts=2)
    for records in (lines, lines[1:]):
        stubs["firehose"].add_response(
            "put_record_batch",
            firehose_answer([None, "ServiceUnavailableException"][-len(records):]
                            if len(records) == 2 else ["ServiceUnavailableException"]),
            {"DeliveryStreamName": DELIVERY_STREAM, "Records": [{"Data": d} for d in records]})
    assert sender.send([(line, "k") for line in lines]) == [None, "ServiceUnavailableException"]
    assert sender.calls == 2


def test_refused_records_make_the_command_fail_and_are_sent_again_next_time(tmp_path, aws):
    clients, stubs = aws
    lines = events(1)
    source = throttled_object(tmp_path, lines)
    expect_stack(stubs)
    for _ in range(8):  # every attempt throttled
        stubs["firehose"].add_response(
            "put_record_batch", firehose_answer(["ServiceUnavailableException"]),
            {"DeliveryStreamName": DELIVERY_STREAM, "Records": [{"Data": lines[0]}]})
    first = run(tmp_path, [str(source)], clients, sleeps=[])
    assert (first.total("not_accepted"), first.reasons()) == (
        1, {"ServiceUnavailableException": 1})
    expect_stack(stubs)
    stubs["firehose"].add_response(
        "put_record_batch", firehose_answer([None]),
        {"DeliveryStreamName": DELIVERY_STREAM, "Records": [{"Data": lines[0]}]})
    assert run(tmp_path, [str(source)], clients).total("landed") == 1


def test_a_call_error_that_is_not_throttling_stops_with_one_line(tmp_path, aws):
    clients, stubs = aws
    expect_stack(stubs)
    stubs["firehose"].add_client_error(
        "put_record_batch", "ResourceNotFoundException", "Stream not found",
        expected_params={"DeliveryStreamName": DELIVERY_STREAM, "Records": ANY})
    with pytest.raises(ReplayError, match="firehose webevents-dev-delivery: "
                                          "ResourceNotFoundException: Stream not found"):
        run(tmp_path, [str(throttled_object(tmp_path, events(1)))], clients)


def test_what_was_accepted_before_a_call_fails_for_good_is_recorded(tmp_path, aws):
    clients, stubs = aws
    lines = events(501)  # two calls: the first is accepted, the second fails for good
    source = throttled_object(tmp_path, lines)
    expect_stack(stubs)
    stubs["firehose"].add_response(
        "put_record_batch", firehose_answer([None] * 500),
        {"DeliveryStreamName": DELIVERY_STREAM, "Records": [{"Data": d} for d in lines[:500]]})
    stubs["firehose"].add_client_error(
        "put_record_batch", "AccessDeniedException", "not allowed",
        expected_params={"DeliveryStreamName": DELIVERY_STREAM,
                         "Records": [{"Data": lines[500]}]})
    with pytest.raises(ReplayError, match="AccessDeniedException: not allowed"):
        run(tmp_path, [str(source)], clients)
    # a re-run (the permission fixed) sends only the record that was never accepted
    expect_stack(stubs)
    stubs["firehose"].add_response(
        "put_record_batch", firehose_answer([None]),
        {"DeliveryStreamName": DELIVERY_STREAM, "Records": [{"Data": lines[500]}]})
    again = run(tmp_path, [str(source)], clients)
    assert (again.total("landed"), again.total("already_replayed")) == (1, 500)


def test_records_that_would_fail_again_are_not_sent(tmp_path, aws):
    clients, stubs = aws
    good, bad = events(1), [b"{not json"]
    source = throttled_object(tmp_path, good + bad)
    expect_stack(stubs)
    stubs["firehose"].add_response(
        "put_record_batch", firehose_answer([None]),
        {"DeliveryStreamName": DELIVERY_STREAM, "Records": [{"Data": good[0]}]})
    summary = run(tmp_path, [str(source)], clients)
    assert (summary.total("landed"), summary.reasons()) == (1, {"invalid_json": 1})


def test_a_dry_run_calls_no_aws_at_all(tmp_path, aws):
    clients, _stubs = aws  # no responses queued: any call would fail the test
    summary = run(tmp_path, [str(throttled_object(tmp_path, events(2)))], clients, dry_run=True)
    assert summary.total("landed") == 2
    assert not (tmp_path / "lake").exists()


# ---- Kinesis PutRecords ------------------------------------------------------------------
def test_kinesis_gets_the_event_id_as_partition_key_and_retries_failed_entries(tmp_path, aws):
    clients, stubs = aws
    lines = events(3)
    expect_stack(stubs)

    def expect(indexes, answer):
        stubs["kinesis"].add_response("put_records", answer, {
            "StreamName": INGEST_STREAM,
            "Records": [{"Data": lines[i], "PartitionKey": f"m-{i:05d}"} for i in indexes]})

    expect([0, 1, 2], {"FailedRecordCount": 1, "Records": [
        {"SequenceNumber": "1", "ShardId": "shardId-000000000000"},
        {"ErrorCode": "ProvisionedThroughputExceededException", "ErrorMessage": "Rate exceeded"},
        {"SequenceNumber": "2", "ShardId": "shardId-000000000000"}]})
    # FailedRecordCount is absent when nothing failed (its documented minimum is 1)
    expect([1], {"Records": [
        {"SequenceNumber": "3", "ShardId": "shardId-000000000000"}]})
    sleeps: list[float] = []
    summary = run(tmp_path, [str(throttled_object(tmp_path, lines))], clients, to="kinesis",
                  sleeps=sleeps)
    assert summary.total("landed") == 3 and sleeps == [0.2]


def test_kinesis_on_a_direct_put_stack_is_a_clear_error(tmp_path, aws):
    clients, stubs = aws
    expect_stack(stubs, {k: v for k, v in OUTPUTS.items() if k != "IngestStreamName"})
    with pytest.raises(ReplayError, match="stack webevents-dev: no IngestStreamName output "
                                          r"\(IngestionMode=DirectPut: use --to firehose\)"):
        run(tmp_path, [str(throttled_object(tmp_path, events(1)))], clients, to="kinesis")


# ---- S3 sources and their manifests ---------------------------------------------------------
BUCKET = "webevents-dev-errors"
PREFIX = "errors/processing-failed/dt=2025-11-24/"


def body(data: bytes) -> StreamingBody:
    return StreamingBody(io.BytesIO(data), len(data))


def gz_object(lines: list[bytes]) -> bytes:
    records = [error_record(line, "Lambda.InvokeLimitExceeded", lambdaArn=LAMBDA_ARN)
               for line in lines]
    return gzip.compress(("\n".join(json.dumps(r) for r in records) + "\n").encode())


def expect_listing(stubs, keys: list[str]):
    """Two pages, as S3 pages a long listing."""
    s3 = stubs["s3"]
    s3.add_response("list_objects_v2", {
        "IsTruncated": True, "NextContinuationToken": "t1",
        "Contents": [{"Key": keys[0], "Size": 1}]}, {"Bucket": BUCKET, "Prefix": PREFIX})
    s3.add_response("list_objects_v2", {
        "IsTruncated": False, "Contents": [{"Key": key, "Size": 1} for key in keys[1:]]},
        {"Bucket": BUCKET, "Prefix": PREFIX, "ContinuationToken": "t1"})


def manifest_key(key: str) -> str:
    folder, name = key.rsplit("/", 1)
    return f"{folder}/_replay/{name}.json"


def test_s3_objects_are_listed_read_replayed_and_recorded_beside_them(tmp_path, aws):
    clients, stubs = aws
    lines = events(2)
    key = PREFIX + "webevents-dev-1-2025-11-24-16-00-00-abc.gz"
    data = gz_object(lines)
    expect_stack(stubs)
    # the listing also shows an earlier manifest: it is not an error object
    expect_listing(stubs, [key, PREFIX + "_replay/old.gz.json"])
    s3 = stubs["s3"]
    s3.add_response("get_object", {"Body": body(data)}, {"Bucket": BUCKET, "Key": key})
    s3.add_client_error("get_object", "NoSuchKey", "no manifest yet",
                        expected_params={"Bucket": BUCKET, "Key": manifest_key(key)})
    stubs["firehose"].add_response(
        "put_record_batch", firehose_answer([None, None]),
        {"DeliveryStreamName": DELIVERY_STREAM, "Records": [{"Data": d} for d in lines]})
    object_key = __import__("hashlib").sha256(gzip.decompress(data)).hexdigest()
    manifest = {
        "object": f"s3://{BUCKET}/{key}",
        "object_key": object_key,
        "records": {str(n): {"outcome": "landed", "reason": None, "event_id": f"m-{n - 1:05d}",
                             "error_code": "Lambda.InvokeLimitExceeded"} for n in (1, 2)},
        "runs": [{"replay_id": REPLAY_ID, "target": "firehose",
                  "replayed_at": NOW.isoformat(), "kind": "processing-failed",
                  "records_in": 2, "landed": 2, "failed_again": 0, "dropped": 0,
                  "already_replayed": 0, "filtered_out": 0, "not_accepted": 0,
                  "failed_again_by_reason": {}}],
    }
    s3.add_response("put_object", {}, {
        "Bucket": BUCKET, "Key": manifest_key(key), "ContentType": "application/json",
        "Body": json.dumps(manifest, sort_keys=True, separators=(",", ":")).encode()})
    summary = run(tmp_path, [f"s3://{BUCKET}/{PREFIX}"], clients)
    assert summary.total("landed") == 2
    assert summary.objects[0].source_object == f"s3://{BUCKET}/{key}"

    # again: the manifest says both landed, so nothing is sent and nothing is written
    expect_stack(stubs)
    expect_listing(stubs, [key, PREFIX + "_replay/old.gz.json"])
    s3.add_response("get_object", {"Body": body(data)}, {"Bucket": BUCKET, "Key": key})
    s3.add_response("get_object", {"Body": body(json.dumps(manifest).encode())},
                    {"Bucket": BUCKET, "Key": manifest_key(key)})
    second = {**manifest, "runs": [*manifest["runs"], {
        **manifest["runs"][0], "records_in": 0, "landed": 0, "already_replayed": 2}]}
    s3.add_response("put_object", {}, {
        "Bucket": BUCKET, "Key": manifest_key(key), "ContentType": "application/json",
        "Body": json.dumps(second, sort_keys=True, separators=(",", ":")).encode()})
    again = run(tmp_path, [f"s3://{BUCKET}/{PREFIX}"], clients)
    assert (again.total("records_in"), again.total("already_replayed")) == (0, 2)


def test_a_missing_prefix_is_a_one_line_error(tmp_path, aws):
    clients, stubs = aws
    stubs["s3"].add_response("list_objects_v2", {"IsTruncated": False, "KeyCount": 0},
                             {"Bucket": BUCKET, "Prefix": "errors/nope/"})
    with pytest.raises(ReplayError, match=rf"s3://{BUCKET}/errors/nope/: no error objects "
                                          r"under this prefix \(wrong or missing prefix\?\)"):
        run(tmp_path, [f"s3://{BUCKET}/errors/nope/"], clients, to="local")


def test_an_unreadable_object_is_named(tmp_path, aws):
    clients, stubs = aws
    key = PREFIX + "obj.gz"
    stubs["s3"].add_response("list_objects_v2", {
        "IsTruncated": False, "Contents": [{"Key": key, "Size": 1}]},
        {"Bucket": BUCKET, "Prefix": PREFIX})
    stubs["s3"].add_client_error("get_object", "AccessDenied", "Access Denied",
                                 expected_params={"Bucket": BUCKET, "Key": key})
    with pytest.raises(ReplayError, match=rf"reading s3://{BUCKET}/{key}: AccessDenied: "
                                          "Access Denied"):
        run(tmp_path, [f"s3://{BUCKET}/{PREFIX}"], clients, to="local")


def test_no_credentials_is_a_one_line_error(tmp_path, monkeypatch):
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN",
                 "AWS_PROFILE", "AWS_DEFAULT_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")  # never ask an instance role
    monkeypatch.delenv("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", raising=False)
    monkeypatch.delenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", raising=False)
    # botocore signs before it connects, so the call stops there; the endpoint is a closed
    # loopback port all the same, so nothing could leave the machine.
    s3 = boto3.session.Session(region_name="eu-west-1").client(
        "s3", endpoint_url="http://127.0.0.1:9")
    with pytest.raises(ReplayError, match=rf"listing s3://{BUCKET}/{PREFIX}: no AWS "
                                          "credentials"):
        run(tmp_path, [f"s3://{BUCKET}/{PREFIX}"], AwsClients(s3=s3), to="local")


def test_s3_objects_replay_into_the_local_lake_too(tmp_path, aws):
    clients, stubs = aws
    key = PREFIX + "obj.gz"
    stubs["s3"].add_response("list_objects_v2", {
        "IsTruncated": False, "Contents": [{"Key": key, "Size": 1}]},
        {"Bucket": BUCKET, "Prefix": PREFIX})
    stubs["s3"].add_response("get_object", {"Body": body(gz_object(events(2)))},
                             {"Bucket": BUCKET, "Key": key})
    summary = run(tmp_path, [f"s3://{BUCKET}/{PREFIX}"], clients, to="local")
    assert summary.total("landed") == 2  # bookkeeping in the lake: no manifest written


# ---- iceberg-failed landing rows: Athena, never Firehose ------------------------------------
ARCHIVE_CONTEXT = {"Catalog": "AwsDataCatalog", "Database": "webevents_dev_archive"}
RAW_CONTEXT = {"Catalog": "s3tablescatalog/webevents-dev-tables", "Database": "raw"}


def expect_athena(stubs, query_id: str, context: dict, write: bool):
    athena = stubs["athena"]
    # the statement text is random-free but long: it is captured and checked below
    athena.add_response("start_query_execution", {"QueryExecutionId": query_id}, {
        "QueryString": ANY, "QueryExecutionContext": context, "WorkGroup": "webevents-dev",
        "ClientRequestToken": ANY,
        "ResultConfiguration": {"OutputLocation": OUTPUTS["AthenaOutputLocation"]}})
    athena.add_response("get_query_execution", {
        "QueryExecution": {"QueryExecutionId": query_id, "Status": {"State": "SUCCEEDED"}}},
        {"QueryExecutionId": query_id})
    if write:
        athena.add_response("get_query_results", {"UpdateCount": 1, "ResultSet": {}},
                            {"QueryExecutionId": query_id, "MaxResults": 1})


def test_iceberg_failed_rows_go_in_by_an_athena_insert_not_through_firehose(tmp_path, aws):
    clients, stubs = aws
    row = {"event_id": "m-1", "event_timestamp": ARRIVAL_MS * 1000, "event_date": "2025-11-24",
           "received_at": ARRIVAL_MS * 1000, "load_source": "firehose"}
    source = write_object(tmp_path / "errors" / "iceberg-failed" / "obj",
                          [error_record(_line(row), "S3.AccessDenied")])
    expect_stack(stubs)
    results = "webevents-dev-athena-results"
    scratch = f"replay-scratch/{REPLAY_ID}/rows.jsonl"
    stubs["s3"].add_response("put_object", {}, {
        "Bucket": results, "Key": scratch, "Body": _line(row) + b"\n"})
    for query_id, context, write in (("q-create", ARCHIVE_CONTEXT, False),
                                     ("q-insert", RAW_CONTEXT, True),
                                     ("q-drop", ARCHIVE_CONTEXT, False)):
        expect_athena(stubs, query_id, context, write)
    stubs["s3"].add_response("delete_object", {}, {"Bucket": results, "Key": scratch})
    statements: list[str] = []
    def capture(params, **_):
        statements.append(params["QueryString"])

    event = "provide-client-params.athena.StartQueryExecution"
    clients.athena.meta.events.register(event, capture)
    try:
        summary = run(tmp_path, [str(source)], clients)
    finally:
        clients.athena.meta.events.unregister(event, capture)
    assert summary.total("landed") == 1
    create, insert, drop = statements
    table = "webevents_dev_archive.web_events_replay_rows_20261125t030000_test"
    assert f"create external table if not exists {table} (" in create
    assert f"location 's3://{results}/replay-scratch/{REPLAY_ID}/'" in create
    assert "insert into raw.web_events (" in insert
    # raw is in the S3 Tables catalog; the scratch table is named in the Glue catalog
    assert f'from "AwsDataCatalog".{table} as scratch' in insert
    assert "between date '2025-11-24' and date '2025-11-24'" in insert
    assert drop.endswith(f"drop table if exists {table}")
