"""A Firehose data-transformation batch in, the Firehose response out: one answer per recordId.

Pure (no AWS imports), so the local Firehose stand-in and the benchmark run exactly this.
Response format: "Required parameters for data transformation",
https://docs.aws.amazon.com/firehose/latest/dev/data-transformation-status-model.html
"""

from __future__ import annotations

import binascii
import json
from collections import Counter
from collections.abc import Callable
from typing import Any, NamedTuple

import orjson
from normalise import FAILED, OK, decode_record, normalise

DEFAULT_DATABASE_NAME = "raw"
DEFAULT_TABLE_NAME = "web_events"

# Lambda's synchronous response limit is 6 MB (6,291,456 bytes); keep a margin under it.
# If Ok answers would push the response past this, later records fail `response_too_large`
# instead of the whole invocation failing (docs/lambda.md, "The 6 MB response limit").
RESPONSE_BUDGET_BYTES = 6_000_000


class Codec(NamedTuple):
    """The JSON functions the batch uses; the benchmark swaps in a stdlib-json codec."""

    loads: Callable[[bytes], Any]
    dump_row: Callable[[dict], bytes]
    dump_properties: Callable[[Any], str]


ORJSON_CODEC = Codec(
    loads=orjson.loads,
    dump_row=orjson.dumps,
    dump_properties=lambda value: orjson.dumps(value, option=orjson.OPT_SORT_KEYS).decode(),
)


class Failure(NamedTuple):
    """A record that did not become a row: enough to log it without its payload."""

    record_id: str
    result: str
    reason: str
    shape: str | None


class BatchResult(NamedTuple):
    """The Firehose response plus what the handler logs and counts."""

    response: dict[str, list[dict[str, Any]]]
    failures: list[Failure]
    counts: Counter  # (result, reason or "", shape or "") -> records


def routing_metadata(database: str, table: str) -> dict[str, Any]:
    """Per-record Iceberg routing for Ok records (Firehose `otfMetadata`).

    "Route incoming records to different Iceberg tables",
    https://docs.aws.amazon.com/firehose/latest/dev/apache-iceberg-format-input-record-different.html
    (section "Provide routing information to Firehose with Lambda function")
    """
    return {
        "otfMetadata": {
            "destinationDatabaseName": database,
            "destinationTableName": table,
            "operation": "insert",
        }
    }


def transform_batch(
    records: list[dict[str, Any]],
    metadata: dict[str, Any] | None = None,
    codec: Codec = ORJSON_CODEC,
) -> BatchResult:
    """Normalise every record of a Firehose event; never raises for a bad record."""
    if metadata is None:
        metadata = routing_metadata(DEFAULT_DATABASE_NAME, DEFAULT_TABLE_NAME)
    answers: list[dict[str, Any]] = []
    failures: list[Failure] = []
    counts: Counter = Counter()
    loads, dump_row, dump_properties = codec
    a2b, b2a = binascii.a2b_base64, binascii.b2a_base64

    # Response bytes as the Lambda runtime serialises them (stdlib json, ", " separators).
    ok_overhead = len(json.dumps({"recordId": "", "result": OK, "data": "", "metadata": metadata}))
    failed_overhead = len(json.dumps({"recordId": "", "result": FAILED, "data": ""})) + 2
    ok_overhead += 2
    # Every record is first counted as if answered with its original data (a non-string
    # recordId or data is over-counted through str(), never under-counted): `slack` is what
    # the budget has left beyond that. An Ok answer then costs only its difference from
    # the failure answer (the recordId cancels out), and a failure costs nothing more.
    slack = RESPONSE_BUDGET_BYTES - len(json.dumps({"records": []}))
    for record in records:
        record_id = record.get("recordId")
        data = record.get("data")
        slack -= (
            failed_overhead
            + (len(record_id) if type(record_id) is str else len(str(record_id)))
            + (len(data) if type(data) is str else len(str(data)))
        )
    ok_extra = ok_overhead - failed_overhead
    ok_by_shape = {"legacy": 0, "nested": 0}

    for record in records:
        record_id = record.get("recordId")
        data = record.get("data")
        arrival = record.get("approximateArrivalTimestamp")
        # Firehose sends epoch millis; the Iceberg destination wants micros (see normalise.py).
        received = arrival * 1000 if type(arrival) is int else None
        try:
            raw = a2b(data, strict_mode=True)
        except (binascii.Error, TypeError, ValueError):
            result, reason, shape = FAILED, "invalid_base64", None
        else:
            parsed, stripped, result, reason = decode_record(raw, loads)
            shape = None
            if result is None:
                result, row, reason, shape = normalise(
                    parsed, stripped, received, "firehose", dump_properties
                )
                if result is OK:
                    encoded = b2a(dump_row(row), newline=False).decode("ascii")
                    extra = (
                        ok_extra
                        + len(encoded)
                        - (len(data) if type(data) is str else len(str(data)))
                    )
                    if extra <= slack:
                        answers.append(
                            {
                                "recordId": record_id,
                                "result": OK,
                                "data": encoded,
                                "metadata": metadata,
                            }
                        )
                        slack -= extra
                        ok_by_shape[shape] += 1
                        continue
                    result, reason = FAILED, "response_too_large"
        # Dropped / ProcessingFailed: Firehose keeps the original bytes for the error output,
        # but `data` is still a required field, so hand back what came in.
        answers.append(
            {
                "recordId": record_id,
                "result": result,
                "data": data if type(data) is str else "",
            }
        )
        failures.append(Failure(str(record_id), result, reason, shape))
        counts[(result, reason, shape or "")] += 1

    for shape, count in ok_by_shape.items():
        if count:
            counts[(OK, "", shape)] = count
    return BatchResult({"records": answers}, failures, counts)
