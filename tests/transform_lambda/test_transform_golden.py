"""Golden tests: every sample event in events/ through the real handler, answer by answer."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import app
import pytest
from lambda_context import LambdaContext
from landing_contract import LANDING_COLUMN_NAMES
from sample_events import EVENTS_DIR, build, render

GOLDEN_DIR = Path(__file__).parent / "golden"
EVENT_FILES = [
    "firehose_direct_put.json",
    "firehose_kinesis_source.json",
    "firehose_bad_batch.json",
]


def load_event(name: str) -> dict:
    return json.loads((EVENTS_DIR / name).read_text())


@pytest.mark.parametrize("name", EVENT_FILES)
def test_event_files_match_their_readable_source(name):
    assert (EVENTS_DIR / name).read_text() == render(build()[name])


@pytest.mark.parametrize("name", EVENT_FILES)
def test_handler_answers_match_golden(name, lambda_logs):
    event = load_event(name)
    response = app.lambda_handler(event, LambdaContext())
    golden = json.loads((GOLDEN_DIR / name).read_text())
    reasons = {line["recordId"]: line["reason"] for line in lambda_logs.lines() if "reason" in line}

    assert [answer["recordId"] for answer in response["records"]] == [
        record["recordId"] for record in event["records"]
    ]
    for answer, expected, source in zip(response["records"], golden, event["records"], strict=True):
        assert answer["result"] == expected["result"], answer["recordId"]
        if answer["result"] == "Ok":
            row = json.loads(base64.b64decode(answer["data"]))
            assert list(row) == list(LANDING_COLUMN_NAMES)
            assert row == expected["row"]
            assert answer["metadata"]["otfMetadata"]["operation"] == "insert"
        else:
            # Failed and dropped records go back unchanged, without routing metadata.
            assert answer["data"] == source["data"]
            assert "metadata" not in answer
            assert reasons[answer["recordId"]] == expected["reason"]


def test_bad_batch_covers_every_reason_code():
    golden = json.loads((GOLDEN_DIR / "firehose_bad_batch.json").read_text())
    reasons = {item.get("reason") for item in golden}
    assert reasons >= {
        "invalid_base64",
        "invalid_utf8",
        "invalid_json",
        "too_deep",
        "not_an_object",
        "unknown_shape",
        "missing_timestamp",
        "invalid_timestamp",
        "empty_record",
    }
    assert {item["result"] for item in golden} == {"Ok", "Dropped", "ProcessingFailed"}


def test_kinesis_sourced_event_is_answered_like_direct_put():
    event = load_event("firehose_kinesis_source.json")
    assert "sourceKinesisStreamArn" in event
    assert all("kinesisRecordMetadata" in record for record in event["records"])
    response = app.lambda_handler(event, LambdaContext())
    assert [answer["result"] for answer in response["records"]] == ["Ok", "Ok"]
