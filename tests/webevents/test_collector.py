"""webevents/aws/collector.py answers every case of the shared POST /events contract."""

import base64
import json

import pytest

from tests.http_ingest_cases import (
    REQUEST_CASES,
    RESPONSE_CASES,
    case_id,
    expected_records,
    request_body,
)
from webevents.aws import collector


@pytest.mark.parametrize("case", REQUEST_CASES, ids=case_id)
def test_each_request_case_gets_the_contracts_status_and_records(case):
    result = collector.parse_request(case["content_type"], request_body(case))
    assert result.status == case["status"]
    if case["status"] == 200:
        assert [json.loads(record) for record in result.records] == expected_records(case)
    else:
        assert result.records == []


def test_put_records_request_carries_each_record_base64_with_its_own_partition_key():
    records = [b'{"a":1}', '{"b":"é"}'.encode()]
    request = collector.put_records_request(records, "stream-1", "req-9")
    assert request["StreamName"] == "stream-1"
    assert [base64.b64decode(r["Data"]) for r in request["Records"]] == records
    assert [r["PartitionKey"] for r in request["Records"]] == ["req-9:0", "req-9:1"]
    batch = collector.put_record_batch_request(records, "firehose-1")
    assert batch["DeliveryStreamName"] == "firehose-1"
    assert [base64.b64decode(r["Data"]) for r in batch["Records"]] == records


@pytest.mark.parametrize("case", RESPONSE_CASES, ids=case_id)
def test_each_service_answer_maps_to_the_contracts_method_response(case):
    result = collector.answer(case["status"], case["response"])
    assert (result.status, result.body) == (case["expect_status"], case["expect_body"])


def test_a_partial_failure_is_never_answered_200():
    for case in RESPONSE_CASES:
        failed = case["response"].get("FailedRecordCount") or case["response"].get(
            "FailedPutCount"
        )
        if failed or case["status"] >= 400:
            assert collector.answer(case["status"], case["response"]).status != 200
