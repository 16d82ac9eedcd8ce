"""A Firehose data-transformation batch in, the Firehose response out: one answer per recordId.

Pure (no AWS imports), so the local Firehose stand-in and the benchmark run exactly this.
Response format: "Required parameters for data transformation",
https://docs.aws.amazon.com/firehose/latest/dev/data-transformation-status-model.html
"""

from __future__ import annotations

import binascii
import json
import re
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
# approximateArrivalTimestamp is epoch millis; outside year 1..9999 it cannot be a timestamp
# column, so such a value is ignored (the event is landed without an arrival time).
ARRIVAL_MILLIS_RANGE = (-62_135_596_800_000, 253_402_300_799_999)


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


_NEEDS_ESCAPE = re.compile(r'[\x00-\x1f"\\]')


def _json_size(value: Any) -> int:
    """Bytes `value` takes in the response as the Lambda runtime writes it (stdlib json,
    ASCII escapes: one non-ASCII character is 6 or 12 bytes, not 1)."""
    if type(value) is str and value.isascii() and not _NEEDS_ESCAPE.search(value):
        return len(value) + 2  # base64 data and ordinary ids: the quotes only
    return len(json.dumps(value if type(value) is str else str(value)))


def off_spec_records(records: Any) -> tuple[list[dict[str, Any]], list[Failure]]:
    """The records that can be answered, and a Failure for each entry that cannot.

    Firehose always sends a list of objects with unique string recordIds; an event that
    does not is answered for every record that has an id, never failed as a whole. An
    entry that is not an object or has no recordId cannot be answered at all; a repeated
    recordId is answered once (its first record), since Firehose rejects a response that
    answers an id twice.
    """
    if not isinstance(records, list):
        return [], [Failure("(none)", FAILED, "records_not_a_list", None)]
    kept: list[dict[str, Any]] = []
    failures: list[Failure] = []
    seen: set = set()
    for index, record in enumerate(records):
        if not isinstance(record, dict):
            failures.append(Failure(f"(entry {index})", FAILED, "record_not_an_object", None))
            continue
        record_id = record.get("recordId")
        if record_id is None or isinstance(record_id, dict | list):
            failures.append(Failure(f"(entry {index})", FAILED, "missing_record_id", None))
            continue
        if record_id in seen:
            failures.append(Failure(str(record_id), FAILED, "duplicate_record_id", None))
            continue
        seen.add(record_id)
        kept.append(record)
    return kept, failures


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
    if type(records) is not list or not all(
            type(r) is dict and type(r.get("recordId")) is str for r in records) or len(
            {r["recordId"] for r in records}) != len(records):
        records, failures = off_spec_records(records)
        for failure in failures:
            counts[(failure.result, failure.reason, "")] += 1
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
    echoed = 0
    for record in records:
        slack -= failed_overhead + _json_size(record.get("recordId")) - 2  # quotes counted
        echoed += _json_size(record.get("data")) - 2
    # Echoing the input back fits unless the event itself is near 6 MB (off spec: Firehose
    # sends at most the buffer size); then failures answer with empty data instead.
    echo = echoed <= slack
    if echo:
        slack -= echoed
    ok_extra = ok_overhead - failed_overhead
    ok_by_shape = {"legacy": 0, "nested": 0}

    for record in records:
        record_id = record.get("recordId")
        data = record.get("data")
        arrival = record.get("approximateArrivalTimestamp")
        # Firehose sends epoch millis; the Iceberg destination wants micros (see normalise.py).
        received = (arrival * 1000 if type(arrival) is int
                    and ARRIVAL_MILLIS_RANGE[0] <= arrival <= ARRIVAL_MILLIS_RANGE[1] else None)
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
                    extra = ok_extra + len(encoded) - (_json_size(data) - 2 if echo else 0)
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
                "data": data if echo and type(data) is str else "",
            }
        )
        failures.append(Failure(str(record_id), result, reason, shape))
        counts[(result, reason, shape or "")] += 1

    for shape, count in ok_by_shape.items():
        if count:
            counts[(OK, "", shape)] = count
    return BatchResult({"records": answers}, failures, counts)
