"""The handler's AWS-facing behaviour: routing from env vars, logs without payloads, EMF, 6 MB."""

from __future__ import annotations

import base64
import json

import app
from firehose_records import RESPONSE_BUDGET_BYTES, transform_batch
from lambda_context import LambdaContext
from sample_events import BAD_RECORDS, EVENTS_DIR

LAMBDA_RESPONSE_LIMIT = 6 * 1024 * 1024


def _event(name: str) -> dict:
    return json.loads((EVENTS_DIR / name).read_text())


def test_routing_comes_from_environment(monkeypatch, lambda_logs):
    monkeypatch.setenv("LANDING_DATABASE_NAME", "webevents_raw_dev")
    monkeypatch.setenv("LANDING_TABLE_NAME", "web_events_v2")
    response = app.lambda_handler(_event("firehose_direct_put.json"), LambdaContext())
    for answer in response["records"]:
        assert answer["metadata"] == {
            "otfMetadata": {
                "destinationDatabaseName": "webevents_raw_dev",
                "destinationTableName": "web_events_v2",
                "operation": "insert",
            }
        }


def test_routing_defaults(monkeypatch, lambda_logs):
    monkeypatch.delenv("LANDING_DATABASE_NAME", raising=False)
    monkeypatch.delenv("LANDING_TABLE_NAME", raising=False)
    response = app.lambda_handler(_event("firehose_direct_put.json"), LambdaContext())
    routing = response["records"][0]["metadata"]["otfMetadata"]
    assert (routing["destinationDatabaseName"], routing["destinationTableName"]) == (
        "raw",
        "web_events",
    )


def test_logs_are_structured_and_never_hold_payloads(lambda_logs):
    event = _event("firehose_bad_batch.json")
    app.lambda_handler(event, LambdaContext())
    lines = lambda_logs.lines()
    failures = [line for line in lines if line["message"] == "record not landed"]
    assert len(failures) == len(BAD_RECORDS) - 1  # all but the good neighbour
    for line in failures:
        assert {"recordId", "result", "reason", "level", "function_request_id"} <= set(line)
    summary = [line for line in lines if line["message"] == "batch transformed"]
    assert summary[0]["records"] == len(event["records"]) and summary[0]["failed"] == 12
    text = lambda_logs.text()
    for record in event["records"]:
        assert not record["data"] or record["data"] not in text
    for marker in ("anon-9", "24/11/2025", "Tour Started", "hello"):
        assert marker not in text


def test_metrics_are_emitted_as_emf(capsys, lambda_logs):
    app.lambda_handler(_event("firehose_bad_batch.json"), LambdaContext())
    emf = [
        json.loads(line)
        for line in capsys.readouterr().out.splitlines()
        if line.startswith('{"_aws"')
    ]
    assert len(emf) == 1
    document = emf[0]
    names = {metric["Name"] for metric in document["_aws"]["CloudWatchMetrics"][0]["Metrics"]}
    assert {"RecordsOk", "RecordsDropped", "RecordsProcessingFailed", "Shape_legacy"} <= names
    assert document["Records"] == [13.0]
    assert document["RecordsOk"] == [1.0]
    assert document["RecordsDropped"] == [2.0]
    assert document["RecordsProcessingFailed"] == [10.0]
    assert document["Reason_invalid_timestamp"] == [2.0]
    assert document["Reason_empty_record"] == [2.0]


def test_empty_event_is_answered(lambda_logs):
    assert app.lambda_handler({"invocationId": "x", "records": []}, LambdaContext()) == {
        "records": []
    }


def _tiny_records(count: int) -> list[dict]:
    # The smallest record that lands Ok: the worst output/input growth (docs/lambda.md).
    data = base64.b64encode(b'{"type":"","sentAt":946684800000}').decode()
    return [
        {
            "recordId": f"{index:056d}",
            "approximateArrivalTimestamp": 1_764_000_000_000,
            "data": data,
        }
        for index in range(count)
    ]


def test_response_never_exceeds_the_lambda_limit():
    records = _tiny_records(9_000)  # ~0.3 MB of source data, ~12 MB if every record were Ok
    batch = transform_batch(records)
    size = len(json.dumps(batch.response))
    assert size <= RESPONSE_BUDGET_BYTES < LAMBDA_RESPONSE_LIMIT
    answers = batch.response["records"]
    assert len(answers) == len(records)
    results = [answer["result"] for answer in answers]
    assert results.count("Ok") > 3_500
    # the overflow is failed, never dropped, and it is the tail of the batch
    first_failed = results.index("ProcessingFailed")
    assert set(results[first_failed:]) == {"ProcessingFailed"}
    assert {failure.reason for failure in batch.failures} == {"response_too_large"}
    assert all(answers[i]["data"] == records[i]["data"] for i in range(first_failed, len(records)))
    # and the budget is used, not wasted: one more Ok answer would not have fitted
    assert size > RESPONSE_BUDGET_BYTES - 1_200


def test_documented_buffer_size_never_reaches_the_budget_for_real_events():
    # docs/lambda.md: BufferSizeInMBs 0.2; a buffer of the smallest realistic events
    # (a bare page view with ids, ~130 bytes) must land every record.
    line = json.dumps(
        {
            "type": "page",
            "anonymousId": "a8ee8602-193d-439a-c2a6-9c4bff233b2a",
            "sessionId": "s-d6db813eef94",
            "timestamp": "2026-11-22T23:17:26.867Z",
        },
        separators=(",", ":"),
    ).encode()
    count = int(0.2 * 1024 * 1024) // len(line)
    records = [
        {
            "recordId": f"{index:056d}",
            "approximateArrivalTimestamp": 1_764_000_000_000,
            "data": base64.b64encode(line).decode(),
        }
        for index in range(count)
    ]
    batch = transform_batch(records)
    assert not batch.failures
    assert len(json.dumps(batch.response)) <= RESPONSE_BUDGET_BYTES


def test_pure_modules_import_nothing_from_aws():
    import ast
    from pathlib import Path

    import firehose_records
    import normalise

    for module in (normalise, firehose_records):
        tree = ast.parse(Path(module.__file__).read_text())
        imported = {
            alias.name if isinstance(node, ast.Import) else node.module
            for node in ast.walk(tree)
            if isinstance(node, ast.Import | ast.ImportFrom)
            for alias in node.names
        }
        assert not {name for name in imported if name and ("aws" in name or "boto" in name)}


# ---- off-spec events: Firehose would not send them, the handler still answers what it can --
def _record(record_id, data=b'{"type":"page","messageId":"m","timestamp":"2026-11-19T10:00:00Z"}',
            arrival=1_763_546_400_000):
    return {"recordId": record_id, "approximateArrivalTimestamp": arrival,
            "data": base64.b64encode(data).decode()}


def test_records_that_is_not_a_list_gets_an_empty_answer_not_an_exception():
    for records in ({"recordId": "a"}, "records", 7, None):
        batch = transform_batch(records)
        assert batch.response == {"records": []}
        assert [f.reason for f in batch.failures] in ([], ["records_not_a_list"])


def test_non_objects_and_missing_or_repeated_ids_do_not_fail_the_good_records():
    records = [_record("a"), "not an object", 5, {"data": "e30="}, _record("a"), _record("b")]
    batch = transform_batch(records)
    assert [(a["recordId"], a["result"]) for a in batch.response["records"]] == [
        ("a", "Ok"), ("b", "Ok")]
    assert sorted(f.reason for f in batch.failures) == [
        "duplicate_record_id", "missing_record_id", "record_not_an_object",
        "record_not_an_object"]


def test_an_arrival_time_out_of_range_is_ignored_not_a_crash():
    for arrival in (10**18, -(10**18), True, "yesterday"):
        (answer,) = transform_batch([_record("a", arrival=arrival)]).response["records"]
        assert answer["result"] == "Ok"
        row = json.loads(base64.b64decode(answer["data"]))
        assert row["received_at"] is None


def test_the_budget_counts_record_ids_in_bytes_as_serialised():
    # 2,000-character ids of a non-ASCII character serialise to 12,000 bytes each (\\uXXXX):
    # counted as characters, 480 of them would look like 1 MB, not 5.8 MB
    long_id = "\u20ac" * 2_000
    records = [_record(f"{long_id}{n}") for n in range(480)]
    batch = transform_batch(records)
    assert len(json.dumps(batch.response)) <= RESPONSE_BUDGET_BYTES
    assert [a["recordId"] for a in batch.response["records"]] == [r["recordId"] for r in records]
    assert {f.reason for f in batch.failures} == {"response_too_large"}


def test_an_event_already_over_6_mb_still_gets_one_answer_per_record():
    big = base64.b64encode(b"x" * 3_500_000).decode()
    records = [{"recordId": "big-1", "data": big}, {"recordId": "big-2", "data": big},
               _record("small")]
    batch = transform_batch(records)
    answers = {a["recordId"]: a for a in batch.response["records"]}
    assert set(answers) == {"big-1", "big-2", "small"}
    assert len(json.dumps(batch.response)) <= RESPONSE_BUDGET_BYTES
    assert answers["big-1"]["result"] == "ProcessingFailed" and answers["big-1"]["data"] == ""
    assert answers["small"]["result"] == "Ok"


def test_the_handler_answers_an_off_spec_event_and_logs_why(lambda_logs):
    for event in ({"records": 7}, {"records": [_record("a"), "x"]}, ["not", "an", "event"]):
        response = app.lambda_handler(event, LambdaContext())
        assert [a["recordId"] for a in response["records"]] == (
            ["a"] if isinstance(event, dict) and isinstance(event["records"], list) else [])
