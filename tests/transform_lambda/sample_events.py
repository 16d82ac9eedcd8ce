"""The readable source of events/*.json: each record's bytes, before Firehose base64-encodes them.

`.venv/bin/python tests/transform_lambda/sample_events.py` rewrites events/; a test checks the files
still match this source, so the two never drift apart.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path

EVENTS_DIR = Path(__file__).resolve().parents[2] / "events"
STREAM_ARN = "arn:aws:firehose:eu-west-1:123456789012:deliverystream/webevents-dev"
KINESIS_ARN = "arn:aws:kinesis:eu-west-1:123456789012:stream/webevents-dev"
ARRIVAL_MS = 1_764_000_000_000  # 2025-11-24T16:00:00Z


def _json(value) -> bytes:
    return json.dumps(value, separators=(",", ":")).encode()


# Both shapes and every timestamp / id / identifier variant of docs/landing-normalisation.md.
GOOD_RECORDS: dict[str, bytes] = {
    "legacy_segment_page": _json(
        {
            "type": "page",
            "name": "Space Details",
            "messageId": "ajs-next-1f2e3d",
            "anonymousId": "anon-1",
            "sessionId": "s-1",
            "timestamp": "2025-11-24T10:15:30.250+02:00",
            "sentAt": "2025-11-24T08:15:31Z",
            "properties": {
                "url": "https://tours.example.com/spaces/sp-1?utm_source=mail",
                "title": "Loft",
                "price": 2150,
                "spaceId": "sp-1",
                "spaceType": "apartment",
            },
            "context": {
                "userAgent": "Mozilla/5.0 (X11; Linux x86_64) Firefox/132.0",
                "ip": "203.0.113.9",
                "page": {
                    "url": "https://ignored.example.com/",
                    "referrer": "https://search.example/",
                },
            },
        }
    ),
    "nested_mongo_track": _json(
        {
            "_id": {"$oid": "6743a1f0c2b5e81d9a7f0001"},
            "eventTimestamp": {"$date": "2025-11-24T15:59:58.123Z"},
            "metadata": {"appId": "tour-viewer", "userId": "u-7", "userAgent": "meta-UA"},
            "eventData": {
                "type": "Track",
                "event": "Room Viewed",
                "anonymousId": "anon-2",
                "sessionId": "s-2",
                "properties": {
                    "spaceId": "sp-2",
                    "spaceName": "Riverside Commons Amenities",
                    "roomId": "room-256",
                    "roomName": "FITNESS CENTER",
                    "community": "Riverside Commons",
                    "building": "Building A",
                    "floorplan": "C1",
                    "coordinates": {"pitch": "15.81", "yaw": 136.19, "hfov": 92},
                    "zoom": 1.5,
                },
            },
        }
    ),
    "nested_number_long": _json(
        {
            "_id": {"$oid": "6743a1f0c2b5e81d9a7f0002"},
            "eventTimestamp": {"$date": {"$numberLong": "1763999999000"}},
            "metadata": {"appId": "tour-viewer"},
            "context": {"ip": "198.51.100.4", "page": {"path": "/spaces/sp-3"}},
            "eventData": {"type": "page", "userId": 42, "properties": {}},
        }
    ),
    "nested_epoch_millis_context_ids": _json(
        {
            "eventTimestamp": {"$date": 1763990000000},
            "eventData": {
                "type": "identify",
                "context": {"anonymousId": "anon-ctx", "sessionId": "s-ctx", "userAgent": "UA"},
                "properties": {"plan": "pro"},
            },
        }
    ),
    "legacy_no_id_nanos_bad_coordinates": _json(
        {
            "event": "Hotspot Clicked",
            "anonymousId": "  anon-5  ",
            "originalTimestamp": "2025-11-24T12:00:00.123456789",
            "properties": {
                "coordinates": {"pitch": "NaN", "yaw": "Infinity", "hfov": "1e400"},
                "roomId": "",
                "url": "https://tours.example.com/spaces/sp-5/rooms/2#view",
            },
        }
    ),
}

KINESIS_RECORDS: dict[str, bytes] = {
    "kinesis_legacy_screen": _json(
        {
            "type": "screen",
            "eventId": "evt-100",
            "userId": "u-100",
            "sentAt": "2025-11-24T15:00:00-05:00",
            "metadata": {"sessionId": "s-100", "ip": "192.0.2.10"},
            "properties": {"name": "Gallery", "spaceId": "sp-100"},
        }
    ),
    "kinesis_nested_page": _json(
        {
            "_id": {"$oid": "6743a1f0c2b5e81d9a7f0101"},
            "eventTimestamp": {"$date": "2025-11-24T20:00:00Z"},
            "eventData": {"type": "page", "properties": {"path": "/spaces/sp-101", "spaceId": 101}},
        }
    ),
}

# One record per reason code, with a good record in the middle that must survive its neighbours.
BAD_RECORDS: dict[str, bytes | str] = {
    "invalid_base64": "not base64 at all!",
    "invalid_utf8": b'{"type":"page","timestamp":"2025-11-24T10:00:00Z","x":"\xff\xfe"}',
    "invalid_json": b'{"type":"page","timestamp":',
    "not_an_object": b'[{"type":"page"}]',
    "too_deep": b'{"type":"page","timestamp":1763990000000,"properties":'
    + b'{"a":' * 70
    + b"1"
    + b"}" * 70
    + b"}",
    "good_neighbour": _json({"type": "track", "event": "Tour Started", "timestamp": 1763990000000}),
    "unknown_shape": _json({"hello": "world", "timestamp": 1763990000000}),
    "missing_timestamp": _json({"type": "page", "anonymousId": "anon-9"}),
    "invalid_timestamp": _json({"type": "page", "timestamp": "24/11/2025 10:00"}),
    "out_of_range_timestamp": _json({"type": "page", "timestamp": "1999-12-31T23:59:59Z"}),
    "nan_literal": b'{"type":"page","timestamp":1763990000000,"properties":{"x":NaN}}',
    "empty_record": b"",
    "whitespace_record": b" \n\t ",
}


def _record(index: int, name: str, data: bytes | str, kinesis: bool) -> dict:
    encoded = data if isinstance(data, str) else base64.b64encode(data).decode("ascii")
    record = {
        "recordId": f"{index:04d}-{name}",
        "approximateArrivalTimestamp": ARRIVAL_MS + index,
        "data": encoded,
    }
    if kinesis:
        record["kinesisRecordMetadata"] = {
            "sequenceNumber": f"4959{index:052d}",
            "subsequenceNumber": 0,
            "partitionKey": f"anon-{index}",
            "shardId": "shardId-000000000000",
            "approximateArrivalTimestamp": ARRIVAL_MS + index,
        }
    return record


def build() -> dict[str, dict]:
    """events/<file name> -> Firehose transformation event."""
    events = {}
    for file_name, records, kinesis in (
        ("firehose_direct_put.json", GOOD_RECORDS, False),
        ("firehose_kinesis_source.json", KINESIS_RECORDS, True),
        ("firehose_bad_batch.json", BAD_RECORDS, False),
    ):
        event = {
            "invocationId": f"invocation-{file_name.removesuffix('.json')}",
            "deliveryStreamArn": STREAM_ARN,
            "region": "eu-west-1",
            "records": [
                _record(index, name, data, kinesis)
                for index, (name, data) in enumerate(records.items())
            ],
        }
        if kinesis:
            event["sourceKinesisStreamArn"] = KINESIS_ARN
        events[file_name] = event
    return events


def render(event: dict) -> str:
    return json.dumps(event, indent=2) + "\n"


if __name__ == "__main__":
    for file_name, event in build().items():
        (EVENTS_DIR / file_name).write_text(render(event))
        print(f"wrote events/{file_name}")
