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

from webevents import PROJECT_ROOT, cli
from webevents.aws.smoke import (
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
from webevents.aws.smoke_scratch import (
    ANALYTICS_DDL,
    DBT_EXECUTABLE,
    ScratchError,
    check_dbt_model,
    retarget_first_table,
    scratch_models,
    scratch_table_ddl,
)
from webevents.engines.athena import AthenaEngine
from webevents.jobs.sql import render

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
        self.clients = SmokeClients(*(session.client(name) for name in names),
                                    glue=session.client("glue"))
        self.stubs = {name: Stubber(getattr(self.clients, name)) for name in names + ("glue",)}
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
    from webevents.aws.smoke import http_post

    status, _ = http_post(endpoint, b"{}", origin="https://tours.example.com")
    assert status == 200
    (headers,) = _Endpoint.headers_seen
    assert headers["Origin"] == "https://tours.example.com"
    assert headers["User-Agent"].startswith("Mozilla/5.0") and "Chrome/" in headers["User-Agent"]
    http_post(endpoint, b"{}", origin="*")  # dev allows any origin: none is sent
    assert "Origin" not in _Endpoint.headers_seen[1]


# --- the scratch scope: --scratch / --dbt-model ---------------------------------------------

MARTS = {"MartsDatabaseName": "webevents_dev_marts", "MartsS3Location": "s3://webevents-dev-marts/marts"}
SCRATCH = "webevents_dev_marts_smoke_20261124t100000z_a1b2c3"
SCRATCH_PREFIX = f"s3://webevents-dev-marts/marts/smoke/{TAG}"
SCRATCH_CONTEXT = {"Catalog": "AwsDataCatalog", "Database": SCRATCH}


def _athena_statement(stack, sql, context, *, write=False, state="SUCCEEDED", rows=None,
                      reason="ICEBERG_ERROR: something went wrong"):
    """One statement as AthenaEngine submits it: start, one poll, and its result call."""
    stack.query_number += 1
    query_id = f"s-{stack.query_number}"
    athena = stack.stubs["athena"]
    athena.add_response(
        "start_query_execution",
        {"QueryExecutionId": query_id},
        {
            "QueryString": sql,
            "QueryExecutionContext": context,
            "WorkGroup": OUTPUTS["AthenaWorkGroupName"],
            "ClientRequestToken": ANY,
            "ResultConfiguration": {"OutputLocation": OUTPUTS["AthenaOutputLocation"]},
        },
    )
    status = {"State": state} | ({"StateChangeReason": reason} if state == "FAILED" else {})
    athena.add_response(
        "get_query_execution",
        {"QueryExecution": {"QueryExecutionId": query_id, "Status": status}},
        {"QueryExecutionId": query_id},
    )
    if state != "SUCCEEDED":
        return
    if write:
        athena.add_response("get_query_results", {"UpdateCount": 2, "ResultSet": {"Rows": []}},
                            {"QueryExecutionId": query_id, "MaxResults": 1})
    elif rows is not None:
        athena.add_response(
            "get_query_results",
            {"ResultSet": {
                "Rows": [{"Data": [{"VarCharValue": "event_id"}]}]
                + [{"Data": [{"VarCharValue": r}]} for r in rows],
                "ResultSetMetadata": {"ColumnInfo": [
                    {"Name": "event_id", "Label": "event_id", "Type": "varchar"}]},
            }},
            {"QueryExecutionId": query_id, "MaxResults": 1000},
        )


def _submitted(sql: str) -> str:
    """The text AthenaEngine sends for `sql` (this stack's catalog names in front)."""
    engine = AthenaEngine(client=object(), s3_tables_catalog=OUTPUTS["S3TablesCatalog"])
    return engine.prepare(sql.strip().rstrip(";"))


def _scratch_stack(monkeypatch):
    """A healthy stack up to the scratch hops: outputs with the marts, events landed."""
    stack = Stack(monkeypatch, outputs=dict(OUTPUTS, **MARTS))
    stack.describe()
    stack.firehose_batch()
    stack.landed(VALID_IDS)
    stack.error_listing({"part-1.gz": error_object(malformed_event(TAG))})
    return stack


def _create_database(stack):
    stack.stubs["glue"].add_response("create_database", {}, {"DatabaseInput": {
        "Name": SCRATCH,
        "Description": f"webevents smoke test {TAG}: dropped at the end of the run",
        "LocationUri": f"{SCRATCH_PREFIX}/",
    }})


def _scratch_ddl() -> str:
    return scratch_table_ddl(render(ANALYTICS_DDL, {}), SCRATCH, f"{SCRATCH_PREFIX}/web_events/")


def _scratch_merge() -> str:
    merge = render(ENRICH_SQL, enrich_params(START.date()))
    return _submitted(retarget_first_table(merge, "analytics.web_events",
                                           f"{SCRATCH}.web_events"))


def _check_query() -> str:
    return _submitted(f"select event_id from {SCRATCH}.web_events\n"
                      f"where anonymous_id = '{TAG}'\n    and event_date = date '2026-11-24'")


def _cleanup(stack, tables, drop_state="SUCCEEDED"):
    stack.stubs["glue"].add_response(
        "get_tables", {"TableList": [{"Name": name} for name in tables]},
        {"DatabaseName": SCRATCH})
    for name in tables:
        _athena_statement(stack, f"drop table if exists {SCRATCH}.{name}", SCRATCH_CONTEXT,
                          state=drop_state)
        if drop_state != "SUCCEEDED":
            return
    stack.stubs["glue"].add_response("delete_database", {}, {"Name": SCRATCH})


class FakeDbt:
    """The dbt runner: records each call and answers with a scripted exit code."""

    def __init__(self, code=0, last=""):
        self.calls: list[tuple[list[str], dict, object]] = []
        self.code, self.last = code, last

    def __call__(self, command, env, cwd):
        self.calls.append((command, dict(env), cwd))
        return self.code, self.last


def test_the_scratch_ddl_and_merge_change_only_the_target_table():
    ddl = _scratch_ddl()
    assert ddl.startswith("-- One row per event_id")
    assert f"create table if not exists {SCRATCH}.web_events (" in ddl
    assert "analytics.web_events (" not in ddl
    assert ddl.endswith(f"location '{SCRATCH_PREFIX}/web_events/'\n"
                        "tblproperties ('table_type' = 'iceberg')")
    original = render(ENRICH_SQL, enrich_params(START.date()))
    merge = retarget_first_table(original, "analytics.web_events", f"{SCRATCH}.web_events")
    assert f"merge into {SCRATCH}.web_events as target" in merge
    # the dedupe lookup still reads analytics.web_events; everything else is the file's text
    assert merge.count("analytics.web_events") == original.count("analytics.web_events") - 1
    assert merge.replace(f"{SCRATCH}.web_events as target", "analytics.web_events as target") \
        == original
    with pytest.raises(ScratchError, match="writing analytics.web_events"):
        retarget_first_table("select * from analytics.web_events", "analytics.web_events", "x.y")


def test_scratch_merges_into_its_own_table_builds_one_dbt_model_and_drops_both(monkeypatch):
    stack = _scratch_stack(monkeypatch)
    _create_database(stack)
    _athena_statement(stack, _scratch_ddl(), SCRATCH_CONTEXT)
    merge = _scratch_merge()
    # reads raw (and the dedupe lookup) from the S3 Tables catalog, writes the scratch table
    assert f"merge into {SCRATCH}.web_events as target" in merge
    assert 'from "s3tablescatalog/webevents-dev-tables".raw.web_events' in merge
    assert 'from "s3tablescatalog/webevents-dev-tables".analytics.web_events' in merge
    _athena_statement(stack, merge, SCRATCH_CONTEXT, write=True)
    check = _check_query()
    assert f'from "AwsDataCatalog".{SCRATCH}.web_events' in check
    _athena_statement(stack, check, {"Catalog": OUTPUTS["S3TablesCatalog"], "Database": "raw"},
                      rows=VALID_IDS)
    _cleanup(stack, ["web_events", "int_session_boundaries"])
    dbt = FakeDbt()
    results = stack.run(dbt_model="int_session_boundaries", dbt_runner=dbt,
                        environ={"HOME": "/home/operator"})
    assert [(r.hop, r.ok) for r in results][4:] == [
        ("scratch database", True),
        ("scratch table", True),
        ("scratch enrich", True),
        ("dbt int_session_boundaries", True),
        ("scratch cleanup", True),
    ]
    ((command, env, cwd),) = dbt.calls
    assert command == [DBT_EXECUTABLE, "build", "--select", "int_session_boundaries",
                       "--target", "prod", "--project-dir", "dbt", "--profiles-dir", "dbt"]
    assert DBT_EXECUTABLE.endswith("/dbt")
    assert cwd == PROJECT_ROOT
    assert env == {
        "HOME": "/home/operator",
        "DBT_TARGET": "prod",
        "AWS_REGION": REGION,
        "ATHENA_WORKGROUP": OUTPUTS["AthenaWorkGroupName"],
        "S3_TABLES_CATALOG": OUTPUTS["S3TablesCatalog"],
        "DBT_MARTS_DATABASE": SCRATCH,
        "DBT_MARTS_S3_LOCATION": f"{SCRATCH_PREFIX}/dbt",
        "DBT_ATHENA_RESULTS_S3": "s3://webevents-dev-results/athena/dbt/",
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
    }
    assert "2 table(s) dropped, database " + SCRATCH + " deleted" in results[-1].detail


def test_a_failed_merge_still_drops_the_scratch_table_and_database(monkeypatch):
    stack = _scratch_stack(monkeypatch)
    _create_database(stack)
    _athena_statement(stack, _scratch_ddl(), SCRATCH_CONTEXT)
    _athena_statement(stack, _scratch_merge(), SCRATCH_CONTEXT, state="FAILED",
                      reason="COLUMN_NOT_FOUND: Column 'locale' cannot be resolved")
    _cleanup(stack, ["web_events"])
    results = stack.run(scratch=True, dbt_runner=FakeDbt())
    failure = _only_failure(results)
    assert failure.hop == "scratch enrich" and "COLUMN_NOT_FOUND" in failure.detail
    assert CAUSES["scratch_merge"] in failure.detail
    assert (results[-1].hop, results[-1].ok) == ("scratch cleanup", True)


def test_a_refused_create_database_fails_that_hop_and_deletes_nothing(monkeypatch):
    stack = _scratch_stack(monkeypatch)
    stack.stubs["glue"].add_client_error(
        "create_database", "AccessDeniedException",
        "not authorized to perform: glue:CreateDatabase", expected_params={"DatabaseInput": ANY})
    results = stack.run(scratch=True)
    failure = _only_failure(results)
    assert failure.hop == "scratch database" and "glue:CreateDatabase" in failure.detail
    assert results[-1] is failure  # no table, no MERGE, no cleanup of a database not ours


def test_a_stack_without_the_marts_outputs_fails_the_scratch_database_hop(monkeypatch):
    stack = Stack(monkeypatch)
    stack.describe()
    stack.firehose_batch()
    stack.landed(VALID_IDS)
    stack.error_listing({"part-1.gz": error_object(malformed_event(TAG))})
    failure = _only_failure(stack.run(scratch=True))
    assert failure.hop == "scratch database" and "no output MartsDatabaseName" in failure.detail


def test_a_failed_scratch_table_create_fails_that_hop_and_deletes_the_database(monkeypatch):
    stack = _scratch_stack(monkeypatch)
    _create_database(stack)
    _athena_statement(stack, _scratch_ddl(), SCRATCH_CONTEXT, state="FAILED",
                      reason="Access Denied (Service: S3, Status Code: 403)")
    _cleanup(stack, [])
    results = stack.run(dbt_model="int_session_boundaries", dbt_runner=FakeDbt())
    failure = _only_failure(results)
    assert failure.hop == "scratch table" and "s3:PutObject" in failure.detail
    assert results[-1].detail == f"no tables, database {SCRATCH} deleted"


def test_a_failed_dbt_build_fails_its_hop_and_the_scratch_scope_is_still_dropped(monkeypatch):
    stack = _scratch_stack(monkeypatch)
    _create_database(stack)
    _athena_statement(stack, _scratch_ddl(), SCRATCH_CONTEXT)
    _athena_statement(stack, _scratch_merge(), SCRATCH_CONTEXT, write=True)
    _athena_statement(stack, _check_query(),
                      {"Catalog": OUTPUTS["S3TablesCatalog"], "Database": "raw"}, rows=VALID_IDS)
    _cleanup(stack, ["web_events"])
    dbt = FakeDbt(code=1, last="Database Error in model int_session_boundaries: Access denied")
    results = stack.run(dbt_model="int_session_boundaries", dbt_runner=dbt)
    failure = _only_failure(results)
    assert failure.hop == "dbt int_session_boundaries"
    assert "dbt exited 1: Database Error in model int_session_boundaries" in failure.detail
    assert results[-1].ok and results[-1].hop == "scratch cleanup"


def test_a_failed_drop_keeps_the_database_and_names_what_was_left(monkeypatch):
    stack = _scratch_stack(monkeypatch)
    _create_database(stack)
    _athena_statement(stack, _scratch_ddl(), SCRATCH_CONTEXT)
    _athena_statement(stack, _scratch_merge(), SCRATCH_CONTEXT, write=True)
    _athena_statement(stack, _check_query(),
                      {"Catalog": OUTPUTS["S3TablesCatalog"], "Database": "raw"}, rows=VALID_IDS)
    _cleanup(stack, ["web_events"], drop_state="FAILED")  # and no DeleteDatabase after it
    failure = _only_failure(stack.run(scratch=True))
    assert failure.hop == "scratch cleanup"
    assert f"left: database {SCRATCH} with tables web_events" in failure.detail
    assert "glue:DeleteTable" in failure.detail


def test_a_refused_delete_database_names_the_empty_database_left(monkeypatch):
    stack = _scratch_stack(monkeypatch)
    _create_database(stack)
    _athena_statement(stack, _scratch_ddl(), SCRATCH_CONTEXT)
    _athena_statement(stack, _scratch_merge(), SCRATCH_CONTEXT, write=True)
    _athena_statement(stack, _check_query(),
                      {"Catalog": OUTPUTS["S3TablesCatalog"], "Database": "raw"}, rows=[])
    stack.stubs["glue"].add_response("get_tables", {"TableList": []}, {"DatabaseName": SCRATCH})
    stack.stubs["glue"].add_client_error("delete_database", "AccessDeniedException", "denied",
                                         expected_params={"Name": SCRATCH})
    results = stack.run(scratch=True)
    failed = [(r.hop, r.ok) for r in results if not r.ok]
    assert failed == [("scratch enrich", False), ("scratch cleanup", False)]
    assert "2 of 2 tagged events missing" in results[-2].detail
    assert f"left: empty database {SCRATCH} (AccessDeniedException: denied)" in results[-1].detail


def test_a_model_that_refs_other_table_models_is_refused_before_anything_is_sent(monkeypatch):
    stack = Stack(monkeypatch)  # no call scripted: none may be made
    failure = _only_failure(stack.run(dbt_model="fct_web_events"))
    assert failure.hop == "dbt fct_web_events"
    assert "refs other table models" in failure.detail
    assert ("dim_identity_ranges, int_session_boundaries, web_events_snapshot_changes"
            in failure.line())


def test_only_models_whose_refs_are_all_staging_can_be_built_in_scratch(tmp_path):
    assert scratch_models() == ["dim_identity_ranges", "int_session_boundaries",
                                "web_events_snapshot_changes"]
    (tmp_path / "staging").mkdir()
    (tmp_path / "marts").mkdir()
    (tmp_path / "staging" / "stg_a.sql").write_text("select * from {{ source('x', 'a') }}")
    (tmp_path / "marts" / "alone.sql").write_text("select * from {{ ref('stg_a') }}")
    (tmp_path / "marts" / "on_top.sql").write_text("select * from {{ ref( \"alone\" ) }}")
    assert scratch_models(tmp_path) == ["alone"]
    with pytest.raises(ScratchError, match="nope is not a model of dbt/"):
        check_dbt_model("nope", tmp_path)


def test_the_command_line_takes_scratch_and_a_default_dbt_model(monkeypatch):
    seen = {}

    def fake_run(self):
        seen.update(scratch=self.scratch, dbt_model=self.dbt_model)
        return []

    monkeypatch.setattr(SmokeRun, "run", fake_run)
    monkeypatch.setattr(SmokeClients, "for_region", classmethod(lambda cls, region: None))
    assert cli.main(["smoke", "--stack", STACK, "--dbt-model"]) == 0
    assert seen == {"scratch": False, "dbt_model": "int_session_boundaries"}
    scratch = ["--scratch", "--dbt-model", "dim_identity_ranges"]
    assert cli.main(["smoke", "--stack", STACK, *scratch]) == 0
    assert seen == {"scratch": True, "dbt_model": "dim_identity_ranges"}


def test_the_dbt_runner_returns_dbt_s_exit_code_and_its_last_error_line(tmp_path):
    from webevents.aws.smoke_scratch import run_dbt

    fake = tmp_path / "dbt"
    fake.write_text(
        "#!/bin/sh\n"
        'echo "Running with dbt for $DBT_MARTS_DATABASE"\n'
        'echo "Completed with 1 error, 0 partial successes, and 0 warnings:"\n'
        'printf "\\033[31m  Database Error in model int_session_boundaries (models/x.sql)'
        '\\033[0m\\n"\n'
        'echo "  Access denied on s3://webevents-dev-marts/marts"\n'
        'echo "Done. PASS=0 WARN=0 ERROR=1 SKIP=5 TOTAL=6"\n'
        "exit 1\n"
    )
    fake.chmod(0o755)
    code, last = run_dbt([str(fake), "build"], {"DBT_MARTS_DATABASE": "scratch_db"}, tmp_path)
    assert code == 1
    assert last == ("Database Error in model int_session_boundaries (models/x.sql) "
                    "Access denied on s3://webevents-dev-marts/marts")
    fake.write_text('#!/bin/sh\necho "Running with dbt for $DBT_MARTS_DATABASE"\n')
    assert run_dbt([str(fake)], {"DBT_MARTS_DATABASE": "scratch_db"}, tmp_path) == (
        0, "Running with dbt for scratch_db")
