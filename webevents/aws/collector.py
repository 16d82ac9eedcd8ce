"""The browser endpoint's request contract, as the deployed API Gateway answers it.

One place says what `POST /events` does with a body, so `webevents serve` and the
template's mapping templates can be held to the same table of cases
(events/http_ingest_contract.json; tests/webevents/test_collector.py and
tests/infra/test_infra_http_ingest.py):

- the body is one JSON event (an object) or a JSON array of 1..500 events, sent as
  `application/json` or `text/plain` (what `navigator.sendBeacon` posts, and what a tracker
  uses with fetch so the browser sends no CORS preflight); any other media type is 415;
- a body the JSON-schema model rejects is 400, a body over the WAF size rule is 403;
- each event becomes one record of a Kinesis `PutRecords` call (500 records, 5 MiB per call:
  https://docs.aws.amazon.com/kinesis/latest/APIReference/API_PutRecords.html) or of a
  Firehose `PutRecordBatch` call in Direct PUT mode (500 records, 4 MiB:
  https://docs.aws.amazon.com/firehose/latest/APIReference/API_PutRecordBatch.html);
- the answer: 200 `{"accepted": n}` when every record was written; 207 with the indexes to
  retry when `FailedRecordCount` (`FailedPutCount`) > 0; 503 when the stream throttled the
  whole call; 500 for any other 4xx/5xx of the service. Never 200 unless every record landed.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass, field
from typing import Any

# Kinesis PutRecords and Firehose PutRecordBatch both take at most 500 records per call.
MAX_RECORDS = 500
# The WAF size rule's default (HttpIngestMaxBodyBytes, with HttpIngestBodyInspectionLimit
# KB_32): a body above it is blocked (403). 32 KB holds ~38 tracker events; WAF includes 16 KB
# of body inspection in its request price and bills each further 16 KB (docs/operations.md).
MAX_BODY_BYTES = 32_768
MEDIA_TYPES = ("application/json", "text/plain")
# Service error types that mean "slow down and send the same records again".
THROTTLING_ERRORS = (
    "ProvisionedThroughputExceeded",
    "Throttling",
    "LimitExceeded",
    "ServiceUnavailable",
)


@dataclass
class Answer:
    """What the endpoint answers: a status, a JSON body and, when accepted, the records."""

    status: int
    body: dict[str, Any]
    records: list[bytes] = field(default_factory=list)


def media_type(content_type: str | None) -> str:
    """`text/plain;charset=UTF-8` -> `text/plain` (API Gateway matches templates this way)."""
    return (content_type or "").split(";", 1)[0].strip().lower()


def _valid_event(value: Any) -> bool:
    return isinstance(value, dict) and len(value) >= 1


def parse_request(content_type: str | None, body: bytes,
                  max_body_bytes: int = MAX_BODY_BYTES) -> Answer:
    """The gateway's checks in its order (WAF size, media type, model), then body -> records.

    A 200 here means "goes to PutRecords"; the final answer comes from `answer()`.
    """
    if len(body) > max_body_bytes:
        return Answer(403, {"message": "Forbidden"})
    if media_type(content_type) not in MEDIA_TYPES:
        return Answer(415, {"message": "Unsupported Media Type"})
    try:
        parsed = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return Answer(400, {"message": "Invalid request body"})
    events = parsed if isinstance(parsed, list) else [parsed]
    if not events or len(events) > MAX_RECORDS or not all(_valid_event(e) for e in events):
        return Answer(400, {"message": "Invalid request body"})
    records = [
        json.dumps(event, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        for event in events
    ]
    return Answer(200, {}, records)


def put_records_request(records: list[bytes], stream_name: str, request_id: str) -> dict:
    """The Kinesis PutRecords request the mapping template renders for these records."""
    return {
        "StreamName": stream_name,
        "Records": [
            {
                "Data": base64.b64encode(record).decode("ascii"),
                # the request id spreads a batch over the on-demand stream's shards
                "PartitionKey": f"{request_id}:{index}",
            }
            for index, record in enumerate(records)
        ],
    }


def put_record_batch_request(records: list[bytes], stream_name: str) -> dict:
    """The Firehose PutRecordBatch request (Direct PUT mode) for these records."""
    return {
        "DeliveryStreamName": stream_name,
        "Records": [{"Data": base64.b64encode(record).decode("ascii")} for record in records],
    }


def answer(integration_status: int, response: dict[str, Any]) -> Answer:
    """The method response for a PutRecords / PutRecordBatch answer (as the template maps it)."""
    if integration_status >= 400:
        error = str(response.get("__type", ""))
        throttled = any(name in error for name in THROTTLING_ERRORS)
        return Answer(503 if throttled else 500, {"accepted": 0, "error": error, "retry": "all"})
    failed = response.get("FailedRecordCount")
    results = response.get("Records")
    if failed is None:  # Firehose PutRecordBatch
        failed = response.get("FailedPutCount", 0)
        results = response.get("RequestResponses")
    results = results or []
    if failed > 0:
        retry = [index for index, result in enumerate(results) if result.get("ErrorCode")]
        return Answer(
            207, {"accepted": len(results) - failed, "failed": failed, "retry": retry}
        )
    return Answer(200, {"accepted": len(results)})
