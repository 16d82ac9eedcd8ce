"""`webevents smoke` against botocore's Stubber: every AWS call it makes, with its parameters.

No AWS: each client is a real botocore client whose Stubber asserts the exact operation and
parameters in order and returns a scripted answer (shapes validated by botocore). The
browser endpoint is a real HTTP server on localhost. The clock is fake and advances only
when the smoke test sleeps, so the wait bounds are exercised without waiting.
"""

from __future__ import annotations

import base64
import datetime as dt
import gzip
import http.server
import io
import json
import threading

import boto3
import pytest
from botocore.response import StreamingBody
from botocore.stub import ANY, Stubber
from normalise import FAILED, OK, normalise_bytes

from webevents import cli
from webevents.engines.athena import AthenaEngine
from webevents.smoke import (
    CAUSES,
    ENRICH_SQL,
    SmokeClients,
    SmokeRun,
    enrich_params,
    landed_query,
    malformed_event,
    run_tag,
    valid_event,
)
from webevents.sqlrunner import render

REGION = "eu-west-1"
STACK = "webevents-dev"
START = dt.datetime(2026, 11, 24, 10, 0, 0, tzinfo=dt.UTC)
TAG = run_tag(START, "a1b2c3")
OUTPUTS = {
    "DeliveryStreamName": "webevents-dev-DeliveryStream-abc",
    "S3TablesCatalog": "s3tablescatalog/webevents-dev-tables",
    "AthenaWorkGroupName": "webevents-dev",
    "AthenaOutputLocation": "s3://webevents-dev-results/athena/",
    "DeliveryErrorBucketName": "webevents-dev-errors",
}
ERRORS_PREFIX = "errors/processing-failed/dt=2026-11-24/"


class FakeClock:
    """UTC time that moves only when the code under test sleeps."""

    def __init__(self, start: dt.datetime):
        self.current = start
        self.slept: list[float] = []

    def now(self) -> dt.datetime:
        return self.current

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.current += dt.timedelta(seconds=seconds)


class Stack:
    """Real botocore clients with a Stubber each, and the smoke run wired to them."""

    def __init__(self, monkeypatch, outputs=None, parameters=None):
        for name in (
            "ATHENA_WORKGROUP",
            "ATHENA_OUTPUT_LOCATION",
            "S3_TABLES_CATALOG",
            "ATHENA_DATABASE",
            "ARCHIVE_DATABASE",
            "DBT_MARTS_DATABASE",
        ):
            monkeypatch.delenv(name, raising=False)
        session = boto3.session.Session(
            aws_access_key_id="testing", aws_secret_access_key="testing", region_name=REGION
        )
        names = ("cloudformation", "firehose", "kinesis", "s3", "athena")
        self.clients = SmokeClients(*(session.client(name) for name in names))
        self.stubs = {name: Stubber(getattr(self.clients, name)) for name in names}
        self.outputs = dict(OUTPUTS if outputs is None else outputs)
        self.parameters = parameters or {
            "ProcessorBufferIntervalSeconds": "60",
            "DeliveryBufferIntervalSeconds": "300",
        }
        self.clock = FakeClock(START)
        self.query_number = 0

    # scripted calls ----------------------------------------------------------------------

    def describe(self):
        self.stubs["cloudformation"].add_response(
            "describe_stacks",
            {
                "Stacks": [
                    {
                        "StackName": STACK,
                        "CreationTime": START,
                        "StackStatus": "UPDATE_COMPLETE",
                        "Outputs": [
                            {"OutputKey": k, "OutputValue": v} for k, v in self.outputs.items()
                        ],
                        "Parameters": [
                            {"ParameterKey": k, "ParameterValue": v}
                            for k, v in self.parameters.items()
                        ],
                    }
                ]
            },
            {"StackName": STACK},
        )

    def firehose_batch(self, entry="firehose", refused=0):
        records = [valid_event(TAG, entry, n, START) for n in (1, 2)] + [malformed_event(TAG)]
        answers = [{"RecordId": f"r{n}"} for n in range(len(records) - refused)] + [
            {"ErrorCode": "ServiceUnavailableException", "ErrorMessage": "Slow down."}
        ] * refused
        self.stubs["firehose"].add_response(
            "put_record_batch",
            {"FailedPutCount": refused, "RequestResponses": answers},
            {
                "DeliveryStreamName": OUTPUTS["DeliveryStreamName"],
                "Records": [{"Data": data} for data in records],
            },
        )

    def athena_query(self, sql: str, database: str, ids: list[str], state="SUCCEEDED"):
        self.query_number += 1
        query_id = f"q-{self.query_number}"
        self.stubs["athena"].add_response(
            "start_query_execution",
            {"QueryExecutionId": query_id},
            {
                "QueryString": sql,
                "QueryExecutionContext": {
                    "Catalog": OUTPUTS["S3TablesCatalog"],
                    "Database": database,
                },
                "WorkGroup": OUTPUTS["AthenaWorkGroupName"],
                "ClientRequestToken": ANY,
                "ResultConfiguration": {"OutputLocation": OUTPUTS["AthenaOutputLocation"]},
            },
        )
        status = {"State": state}
        if state == "FAILED":
            status["StateChangeReason"] = "Insufficient Lake Formation permission(s) on web_events"
        self.stubs["athena"].add_response(
            "get_query_execution",
            {"QueryExecution": {"QueryExecutionId": query_id, "Status": status}},
            {"QueryExecutionId": query_id},
        )
        if state != "SUCCEEDED":
            return
        rows = [{"Data": [{"VarCharValue": "event_id"}]}] + [
            {"Data": [{"VarCharValue": event}]} for event in ids
        ]
        self.stubs["athena"].add_response(
            "get_query_results",
            {
                "ResultSet": {
                    "Rows": rows,
                    "ResultSetMetadata": {
                        "ColumnInfo": [{"Name": "event_id", "Label": "event_id", "Type": "varchar"}]
                    },
                }
            },
            {"QueryExecutionId": query_id, "MaxResults": 1000},
        )

    def landed(self, ids: list[str]):
        self.athena_query(landed_query(TAG, START), "raw", ids)

    def error_listing(self, objects: dict[str, bytes], prefix=ERRORS_PREFIX):
        contents = [
            {"Key": prefix + key, "LastModified": self.clock.now(), "Size": len(body)}
            for key, body in objects.items()
        ]
        self.stubs["s3"].add_response(
            "list_objects_v2",
            {"Contents": contents, "KeyCount": len(contents)} if contents else {"KeyCount": 0},
            {"Bucket": OUTPUTS["DeliveryErrorBucketName"], "Prefix": prefix},
        )
        for key, body in objects.items():
            self.stubs["s3"].add_response(
                "get_object",
                {"Body": StreamingBody(io.BytesIO(body), len(body))},
                {"Bucket": OUTPUTS["DeliveryErrorBucketName"], "Key": prefix + key},
            )

    # running -----------------------------------------------------------------------------

    def run(self, **options) -> list:
        for stub in self.stubs.values():
            stub.activate()
        smoke = SmokeRun(
            stack_name=STACK,
            clients=self.clients,
            clock=self.clock,
            suffix=lambda: "a1b2c3",
            poll_seconds=15,
            **options,
        )
        results = smoke.run()
        for stub in self.stubs.values():
            stub.assert_no_pending_responses()
        return results


def error_object(*raw_records: bytes) -> bytes:
    """A Firehose error-output object: GZIP JSON lines, the original bytes in rawData."""
    lines = [
        json.dumps(
            {
                "attemptsMade": 0,
                "arrivalTimestamp": 1764000000000,
                "errorCode": "Lambda.ProcessingFailedStatus",
                "errorMessage": "ProcessingFailed status set for record",
                "rawData": base64.b64encode(raw).decode(),
            }
        )
        for raw in raw_records
    ]
    return gzip.compress("\n".join(lines).encode())


VALID_IDS = [f"{TAG}-firehose-1", f"{TAG}-firehose-2"]


def lines_of(results) -> list[str]:
    return [result.line() for result in results]


# --- the synthetic events -----------------------------------------------------------------


def test_the_tagged_events_land_through_the_real_lambda_normaliser_and_the_malformed_one_fails():
    received = int(START.timestamp() * 1_000_000)
    for number in (1, 2):
        outcome = normalise_bytes(valid_event(TAG, "firehose", number, START), received)
        assert outcome.result == OK
        assert outcome.row["event_id"] == f"{TAG}-firehose-{number}"
        assert outcome.row["anonymous_id"] == TAG
    outcome = normalise_bytes(malformed_event(TAG), received)
    assert (outcome.result, outcome.reason) == (FAILED, "invalid_json")


def test_the_run_tag_is_unique_per_second_and_suffix_and_safe_in_sql():
    assert TAG == "smoke-20261124t100000z-a1b2c3"
    assert run_tag(START, "ffffff") != TAG
    assert set(TAG) <= set("abcdefghijklmnopqrstuvwxyz0123456789-")


# --- a healthy stack ----------------------------------------------------------------------


def test_a_healthy_direct_put_stack_passes_every_hop(monkeypatch):
    stack = Stack(monkeypatch)
    stack.describe()
    stack.firehose_batch()
    stack.landed([])  # first look: Firehose has not committed yet
    stack.error_listing({})
    stack.landed(VALID_IDS)  # 15 s later: both rows are there
    stack.error_listing({"part-1.gz": error_object(malformed_event(TAG))})
    results = stack.run()
    assert [(r.hop, r.ok) for r in results] == [
        ("stack", True),
        ("send (firehose)", True),
        ("raw.web_events", True),
        ("error output", True),
    ]
    assert stack.clock.slept == [15]
    assert results[2].seconds == 15
    assert lines_of(results)[2].startswith("PASS  raw.web_events")


class _Endpoint(http.server.BaseHTTPRequestHandler):
    """The browser endpoint, as API Gateway answers it: 200 {"accepted": true} (or a status)."""

    bodies: list[tuple[str, bytes]] = []
    headers_seen: list[dict[str, str]] = []
    status = 200

    def do_POST(self):  # noqa: N802 (http.server's naming)
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.bodies.append((self.headers["Content-Type"], body))
        self.headers_seen.append(dict(self.headers))
        self.send_response(self.status)
        self.end_headers()
        self.wfile.write(
            b'{"accepted": true}' if self.status == 200 else b'{"message":"Forbidden"}'
        )

    def log_message(self, *args):
        pass


@pytest.fixture
def endpoint():
    _Endpoint.bodies = []
    _Endpoint.headers_seen = []
    _Endpoint.status = 200
    server = http.server.HTTPServer(("127.0.0.1", 0), _Endpoint)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/v1/events"
    server.shutdown()
    server.server_close()


def test_a_kinesis_stack_with_a_browser_endpoint_is_proved_through_both(monkeypatch, endpoint):
    outputs = dict(
        OUTPUTS, IngestStreamName="webevents-prod-IngestStream-x", HttpIngestUrl=endpoint
    )
    stack = Stack(monkeypatch, outputs=outputs)
    stack.describe()
    records = [valid_event(TAG, "kinesis", n, START) for n in (1, 2)] + [malformed_event(TAG)]
    stack.stubs["kinesis"].add_response(
        "put_records",
        {"Records": [{"SequenceNumber": str(n), "ShardId": "shardId-0"} for n in range(3)]},
        {
            "StreamName": "webevents-prod-IngestStream-x",
            "Records": [{"Data": data, "PartitionKey": TAG} for data in records],
        },
    )
    ids = [f"{TAG}-kinesis-1", f"{TAG}-kinesis-2", f"{TAG}-http-1"]
    stack.landed(ids)
    stack.error_listing({"part-1.gz": error_object(b"{}", malformed_event(TAG))})
    results = stack.run()
    assert [(r.hop, r.ok) for r in results] == [
        ("stack", True),
        ("send (kinesis)", True),
        ("send (http)", True),
        ("raw.web_events", True),
        ("error output", True),
    ]
    ((content_type, body),) = _Endpoint.bodies
    assert content_type == "application/json"
    assert json.loads(body)["messageId"] == f"{TAG}-http-1"


def test_enrich_runs_todays_merge_and_finds_the_tagged_events_in_analytics(monkeypatch):
    stack = Stack(monkeypatch)
    stack.describe()
    stack.firehose_batch()
    stack.landed(VALID_IDS)
    stack.error_listing({"part-1.gz": error_object(malformed_event(TAG))})
    engine = AthenaEngine(client=object(), s3_tables_catalog=OUTPUTS["S3TablesCatalog"])
    merge = engine.prepare(render(ENRICH_SQL, enrich_params(START.date())).strip().rstrip(";"))
    assert "merge into analytics.web_events" in merge
    stack.query_number += 1
    stack.stubs["athena"].add_response(
        "start_query_execution",
        {"QueryExecutionId": "merge-1"},
        {
            "QueryString": merge,
            "QueryExecutionContext": {
                "Catalog": OUTPUTS["S3TablesCatalog"],
                "Database": "analytics",
            },
            "WorkGroup": OUTPUTS["AthenaWorkGroupName"],
            "ClientRequestToken": ANY,
            "ResultConfiguration": {"OutputLocation": OUTPUTS["AthenaOutputLocation"]},
        },
    )
    stack.stubs["athena"].add_response(
        "get_query_execution",
        {"QueryExecution": {"QueryExecutionId": "merge-1", "Status": {"State": "SUCCEEDED"}}},
        {"QueryExecutionId": "merge-1"},
    )
    stack.stubs["athena"].add_response(
        "get_query_results",
        {"UpdateCount": 2, "ResultSet": {"Rows": []}},
        {"QueryExecutionId": "merge-1", "MaxResults": 1},
    )
    stack.athena_query(
        "select event_id from analytics.web_events\n"
        f"where anonymous_id = '{TAG}'\n    and event_date = date '2026-11-24'",
        "raw",
        VALID_IDS,
    )
    results = stack.run(enrich=True)
    assert results[-1].hop == "enrich analytics.web_events" and results[-1].ok


# --- each failure mode: one line naming the hop and the likely cause ------------------------


def _only_failure(results):
    (failure,) = [r for r in results if not r.ok]
    line = failure.line()
    assert "\n" not in line and line.startswith("FAIL")
    assert (
        f"hop '{failure.hop}'" in line and "likely cause" in line and "docs/operations.md" in line
    )
    return failure


def test_a_stack_that_does_not_exist_fails_the_stack_hop_only(monkeypatch):
    stack = Stack(monkeypatch)
    stack.stubs["cloudformation"].add_client_error(
        "describe_stacks",
        "ValidationError",
        f"Stack with id {STACK} does not exist",
        expected_params={"StackName": STACK},
    )
    failure = _only_failure(stack.run())
    assert failure.hop == "stack" and "does not exist" in failure.detail


def test_refused_records_fail_the_send_hop_with_the_error_code(monkeypatch):
    stack = Stack(monkeypatch)
    stack.describe()
    stack.firehose_batch(refused=1)
    failure = _only_failure(stack.run())
    assert failure.hop == "send (firehose)"
    assert "1 of 3 records refused (ServiceUnavailableException" in failure.detail
    assert CAUSES["send"] in failure.detail


def test_a_caller_without_put_permission_fails_the_send_hop(monkeypatch):
    stack = Stack(monkeypatch)
    stack.describe()
    stack.stubs["firehose"].add_client_error(
        "put_record_batch",
        "AccessDeniedException",
        "not authorized to perform PutRecordBatch",
        expected_params={"DeliveryStreamName": OUTPUTS["DeliveryStreamName"], "Records": ANY},
    )
    failure = _only_failure(stack.run())
    assert failure.hop == "send (firehose)" and "AccessDeniedException" in failure.detail


def test_a_blocked_browser_request_fails_the_http_hop(monkeypatch, endpoint):
    _Endpoint.status = 403
    stack = Stack(monkeypatch, outputs=dict(OUTPUTS, HttpIngestUrl=endpoint))
    stack.describe()
    stack.firehose_batch()
    failure = _only_failure(stack.run())
    assert failure.hop == "send (http)" and "answered 403" in failure.detail
    assert "WAF" in failure.detail


def test_a_lake_formation_catalog_without_grants_fails_the_athena_hop(monkeypatch):
    stack = Stack(monkeypatch)
    stack.describe()
    stack.firehose_batch()
    stack.athena_query(landed_query(TAG, START), "raw", [], state="FAILED")
    stack.error_listing({"part-1.gz": error_object(malformed_event(TAG))})
    failure = _only_failure(stack.run())
    assert failure.hop == "raw.web_events" and "Lake Formation permission" in failure.detail
    assert "s3tablescatalog" in failure.detail


def test_events_rejected_at_the_iceberg_commit_are_named_after_the_wait_bound(monkeypatch):
    stack = Stack(
        monkeypatch,
        parameters={"ProcessorBufferIntervalSeconds": "60", "DeliveryBufferIntervalSeconds": "60"},
    )
    stack.describe()
    stack.firehose_batch()
    # Bound: 60 + 60 + 0 margin = 120 s for the rows; 60 + 300 = 360 s for the error output.
    stack.landed([])
    stack.error_listing({"part-1.gz": error_object(malformed_event(TAG))})
    for _ in range(8):  # t = 15 .. 120 s: still no rows
        stack.landed([])
    rejected = [valid_event(TAG, "firehose", n, START) for n in (1, 2)]
    stack.error_listing(
        {"part-9.gz": error_object(*rejected)}, prefix="errors/iceberg-failed/dt=2026-11-24/"
    )
    failure = _only_failure(stack.run(margin_seconds=0))
    assert failure.hop == "raw.web_events"
    assert "2 of 2 tagged events not in raw.web_events after 120 s (bound 120 s)" in failure.detail
    assert CAUSES["iceberg_failed"] in failure.detail
    assert sum(stack.clock.slept) == 120


def test_a_malformed_event_missing_from_the_error_output_fails_that_hop(monkeypatch):
    stack = Stack(
        monkeypatch,
        parameters={"ProcessorBufferIntervalSeconds": "0", "DeliveryBufferIntervalSeconds": "0"},
    )
    stack.describe()
    stack.firehose_batch()
    stack.landed(VALID_IDS)
    # Someone else's failure in the same prefix is read once and does not count.
    stack.error_listing({"other.gz": error_object(b'{"anonymousId": "somebody-else"')})
    for _ in range(int(300 / 15)):  # every 15 s up to the 300 s error-output bound
        stack.error_listing({})
    failure = _only_failure(stack.run(margin_seconds=0))
    assert failure.hop == "error output"
    assert "after 300 s (bound 300 s)" in failure.detail and "TransformErrors" in failure.detail


def test_the_command_line_prints_a_line_per_hop_and_fails_on_a_failed_hop(monkeypatch, capsys):
    stack = Stack(monkeypatch)
    stack.stubs["cloudformation"].add_client_error(
        "describe_stacks",
        "ValidationError",
        f"Stack with id {STACK} does not exist",
        expected_params={"StackName": STACK},
    )
    for stub in stack.stubs.values():
        stub.activate()
    monkeypatch.setattr(SmokeClients, "for_region", classmethod(lambda cls, region: stack.clients))
    assert cli.main(["smoke", "--stack", STACK, "--region", REGION]) == 1
    out = capsys.readouterr()
    assert out.out.startswith("FAIL  stack") and "1 hop(s) failed" in out.err


def test_the_http_hop_posts_as_the_site_would_so_waf_lets_it_through(endpoint):
    from webevents.smoke import http_post

    status, _ = http_post(endpoint, b"{}", origin="https://tours.example.com")
    assert status == 200
    (headers,) = _Endpoint.headers_seen
    assert headers["Origin"] == "https://tours.example.com"
    assert headers["User-Agent"].startswith("Mozilla/5.0") and "Chrome/" in headers["User-Agent"]
    http_post(endpoint, b"{}", origin="*")  # dev allows any origin: none is sent
    assert "Origin" not in _Endpoint.headers_seen[1]
