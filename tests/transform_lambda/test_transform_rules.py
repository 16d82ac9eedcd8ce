"""The rules of docs/landing-normalisation.md, one behaviour per test (values worked by hand)."""

from __future__ import annotations

import hashlib
import json

import pytest
from normalise import (
    MAX_DEPTH,
    MAX_RECORD_BYTES,
    coordinate,
    normalise_bytes,
    parse_timestamp_micros,
    text,
    url_path,
)

RECEIVED = 1_764_000_000_000_000
MILLIS_2024 = 1_704_067_200_000  # 2024-01-01T00:00:00Z


def landed(record: dict | bytes) -> dict:
    raw = record if isinstance(record, bytes) else json.dumps(record).encode()
    outcome = normalise_bytes(raw, RECEIVED)
    assert outcome.result == "Ok", outcome
    return outcome.row


def reason(raw: bytes) -> tuple[str, str]:
    outcome = normalise_bytes(raw, RECEIVED)
    return outcome.result, outcome.reason


# --- §4 timestamps ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "micros"),
    [
        ("2024-01-01T00:00:00Z", 1_704_067_200_000_000),
        ("2024-01-01T00:00:00", 1_704_067_200_000_000),  # no zone = UTC
        ("2024-01-01T02:30:00+02:30", 1_704_067_200_000_000),
        ("2023-12-31T19:00:00-05:00", 1_704_067_200_000_000),
        ("2024-01-01T00:00:00.1Z", 1_704_067_200_100_000),
        ("2024-01-01T00:00:00.123456789Z", 1_704_067_200_123_456),  # truncated, not rounded
        ("2024-01-01T00:00:00.9999999Z", 1_704_067_200_999_999),
        (" 2024-01-01T00:00:00Z\n", 1_704_067_200_000_000),
        (MILLIS_2024, 1_704_067_200_000_000),
        ({"$date": "2024-01-01T00:00:00.000Z"}, 1_704_067_200_000_000),
        ({"$date": MILLIS_2024 + 5}, 1_704_067_200_005_000),
        ({"$date": {"$numberLong": str(MILLIS_2024)}}, 1_704_067_200_000_000),
        ({"$numberLong": str(MILLIS_2024)}, 1_704_067_200_000_000),
        ("2000-01-01T00:00:00Z", 946_684_800_000_000),  # lower bound is inclusive
        ("2099-12-31T23:59:59.999999Z", 4_102_444_799_999_999),
    ],
)
def test_timestamp_forms(value, micros):
    assert parse_timestamp_micros(value) == micros


@pytest.mark.parametrize(
    "value",
    [
        "2024-01-01 00:00:00Z",  # space instead of T
        "2024-01-01T00:00:00z",
        "2024-01-01T00:00:00+0100",
        "2024-01-01",
        "2024-02-30T00:00:00Z",
        "2024-01-01T24:00:00Z",
        "2024-01-01T23:59:60Z",
        "2024-01-01T00:00:00+24:00",
        "2024-01-01T00:00:00+01:60",
        "2024-01-01T00:00:00.Z",
        "2024-01-01T00:00:00.1234567890Z",
        "٢٠٢٤-01-01T00:00:00Z",  # non-ASCII digits
        "1999-12-31T23:59:59.999999Z",
        "2100-01-01T00:00:00Z",  # upper bound is exclusive
        "1704067200000",  # numeric string
        1_704_067_200.5,
        True,
        [],
        {"$date": None},
        {"$numberLong": "17e11"},
        {"$date": {"$date": MILLIS_2024}},  # unwrapped once only
        0,
    ],
)
def test_timestamp_rejects(value):
    assert parse_timestamp_micros(value) is None


def test_first_present_timestamp_decides_even_when_invalid():
    raw = json.dumps({"type": "page", "timestamp": "yesterday", "sentAt": MILLIS_2024}).encode()
    assert reason(raw) == ("ProcessingFailed", "invalid_timestamp")


def test_null_timestamp_is_not_present():
    row = landed({"type": "page", "timestamp": None, "sentAt": MILLIS_2024})
    assert row["event_timestamp"] == 1_704_067_200_000_000


def test_timestamp_lookup_order():
    nested = {
        "eventTimestamp": {"$date": MILLIS_2024},
        "timestamp": MILLIS_2024 + 1,
        "eventData": {"type": "page", "timestamp": MILLIS_2024 + 2},
    }
    assert landed(nested)["event_timestamp"] == MILLIS_2024 * 1000
    del nested["eventTimestamp"]
    assert landed(nested)["event_timestamp"] == (MILLIS_2024 + 2) * 1000  # payload first
    del nested["eventData"]["timestamp"]
    assert landed(nested)["event_timestamp"] == (MILLIS_2024 + 1) * 1000
    legacy = {"originalTimestamp": MILLIS_2024 + 3, "sentAt": MILLIS_2024, "event": "x"}
    # §4a: originalTimestamp with sentAt is corrected to the arrival clock (3 ms after it)
    assert landed(legacy)["event_timestamp"] == RECEIVED + 3_000
    assert landed(legacy)["original_timestamp"] == (MILLIS_2024 + 3) * 1000
    no_arrival = normalise_bytes(json.dumps(legacy).encode(), None).row
    assert no_arrival["event_timestamp"] == (MILLIS_2024 + 3) * 1000


def test_event_date_is_the_utc_date():
    row = landed({"type": "page", "timestamp": "2024-03-10T23:30:00-05:00"})
    assert row["event_date"] == "2024-03-11"
    assert row["event_timestamp"] == 1_710_131_400_000_000


# --- §1 checks ----------------------------------------------------------------------------


def test_depth_limit_is_inclusive():
    def nested(depth: int) -> bytes:
        # each {"a": ...} wrap adds one level, and the record around them one more
        inner = b"1"
        for _ in range(depth - 1):
            inner = b'{"a":' + inner + b"}"
        return b'{"type":"page","timestamp":1704067200000,"properties":' + inner + b"}"

    assert normalise_bytes(nested(MAX_DEPTH), RECEIVED).result == "Ok"
    assert reason(nested(MAX_DEPTH + 1)) == ("ProcessingFailed", "too_deep")
    assert reason(b"[" * 5000 + b"]" * 5000) == ("ProcessingFailed", "too_deep")


def test_size_limit_is_inclusive():
    head = b'{"type":"page","timestamp":1704067200000,"properties":{"pad":"'
    tail = b'"}}'
    at_limit = head + b"x" * (MAX_RECORD_BYTES - len(head) - len(tail)) + tail
    assert len(at_limit) == MAX_RECORD_BYTES
    assert normalise_bytes(at_limit, RECEIVED).result == "Ok"
    assert reason(at_limit[:-3] + b'x"}}') == ("ProcessingFailed", "oversized")


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (b"", ("Dropped", "empty_record")),
        (b" \r\n\t", ("Dropped", "empty_record")),
        (b"\xc3\x28", ("ProcessingFailed", "invalid_utf8")),
        (
            b'{"type":"page","timestamp":1704067200000,"x":NaN}',
            ("ProcessingFailed", "invalid_json"),
        ),
        (b'{"type":"page","timestamp":1e400}', ("ProcessingFailed", "invalid_json")),
        (b'{"type":"page"} {"type":"page"}', ("ProcessingFailed", "invalid_json")),
        (b'"just a string"', ("ProcessingFailed", "not_an_object")),
        (b"null", ("ProcessingFailed", "not_an_object")),
        (b'{"type":7,"timestamp":1704067200000}', ("ProcessingFailed", "unknown_shape")),
        (b'{"eventData":[],"timestamp":1704067200000}', ("ProcessingFailed", "unknown_shape")),
        (b'{"type":"page"}', ("ProcessingFailed", "missing_timestamp")),
    ],
)
def test_checks_and_their_reasons(raw, expected):
    assert reason(raw) == expected


# --- §2/§3 shape, ids and lookups -----------------------------------------------------------


def test_event_id_precedence():
    base = {"type": "page", "timestamp": MILLIS_2024}
    assert (
        landed({**base, "eventId": "e", "messageId": "m", "_id": {"$oid": "o"}})["event_id"] == "o"
    )
    assert landed({**base, "eventId": "e", "messageId": "m"})["event_id"] == "m"
    assert landed({**base, "eventId": 12})["event_id"] == "12"
    assert landed({**base, "_id": "not-an-object", "eventId": "e"})["event_id"] == "e"
    nested = {"messageId": "record-m", "eventData": {"type": "page", "messageId": "payload-m"}}
    assert landed({**nested, "sentAt": MILLIS_2024})["event_id"] == "payload-m"


def test_content_id_hashes_the_stripped_bytes():
    raw = b'  {"type":"page","timestamp":1704067200000}\n'
    expected = "h" + hashlib.sha256(raw.strip()).hexdigest()
    assert landed(raw)["event_id"] == expected
    assert landed(raw.strip())["event_id"] == expected  # an exact replay, however framed
    other = b'{"type":"page","timestamp":1704067200001}'
    assert landed(other)["event_id"] != expected


def test_identifier_lookup_order_and_text_values():
    record = {
        "userId": "record-user",
        "anonymousId": "  ",
        "metadata": {"anonymousId": "meta-anon", "sessionId": 77, "appId": True},
        "context": {"appId": "ctx-app", "sessionId": "ctx-session"},
        "eventData": {"type": "page", "userId": "", "anonymousId": 1.5, "sessionId": None},
        "sentAt": MILLIS_2024,
    }
    row = landed(record)
    assert row["user_id"] == "record-user"  # payload "" falls through, meta has none
    assert row["anonymous_id"] == "meta-anon"  # record "  " is absent too
    assert row["session_id"] == "77"
    assert row["app_id"] == "ctx-app"  # booleans are not text


def test_context_from_payload_else_record():
    record = {
        "context": {"userAgent": "record-UA", "ip": "10.0.0.1"},
        "eventData": {"type": "page", "context": {"userAgent": "payload-UA"}},
        "metadata": {"ip": "192.0.2.77", "userAgent": "meta-UA"},
        "sentAt": MILLIS_2024,
    }
    row = landed(record)
    assert row["user_agent"] == "payload-UA"
    # payload context has no ip; record context is not used (truncated: §6b)
    assert row["ip_address"] == "192.0.2.0"


@pytest.mark.parametrize(
    ("payload", "event_type", "event_name"),
    [
        ({"type": " Page "}, "page", "page"),
        ({"type": "TRACK", "event": "Room Viewed"}, "track", "Room Viewed"),
        ({"event": "Room Viewed"}, "track", "Room Viewed"),
        ({"type": "page", "name": "Home"}, "page", "Home"),
        ({"type": "", "event": "x"}, "track", "x"),
        ({"type": ""}, None, None),
    ],
)
def test_event_type_and_name(payload, event_type, event_name):
    row = landed({**payload, "timestamp": MILLIS_2024})
    assert (row["event_type"], row["event_name"]) == (event_type, event_name)


def test_shape_and_constant_columns():
    legacy = landed({"type": "page", "timestamp": MILLIS_2024})
    nested = landed({"eventData": {}, "sentAt": MILLIS_2024})
    assert (legacy["source_format"], nested["source_format"]) == ("legacy", "nested")
    assert legacy["load_source"] == "firehose"
    assert legacy["received_at"] == RECEIVED


# --- §3/§5/§6 properties --------------------------------------------------------------------


def test_properties_mapping_and_what_stays():
    row = landed(
        {
            "type": "track",
            "timestamp": MILLIS_2024,
            "properties": {
                "spaceId": 12,
                "spaceName": " Loft ",
                "roomId": "",
                "roomName": {"a": 1},
                "building": True,
                "url": "https://x.io/a/b?c=1",
                "theme": "dark",
                "coordinates": {"pitch": 1, "yaw": "2.5", "hfov": None, "zoom": 3},
                "ünïcode": "é",
            },
        }
    )
    assert row["space_id"] == "12"
    assert row["space_name"] == "Loft"
    assert (row["room_id"], row["room_name"], row["building"]) == (None, None, None)
    assert row["page_url"] == "https://x.io/a/b?c=1"
    assert row["page_path"] == "/a/b"
    assert row["coordinates"] == {"pitch": 1.0, "yaw": 2.5, "hfov": None}
    # zoom and the null hfov are in no column, so coordinates stays whole (§6)
    assert row["properties"] == (
        '{"building":true,"coordinates":{"hfov":null,"pitch":1,"yaw":"2.5","zoom":3},'
        '"roomId":"","roomName":{"a":1},"theme":"dark","ünïcode":"é"}'
    )


def test_coordinates_are_taken_whole_only_when_the_column_holds_every_member():
    def kept(coordinates):
        row = landed({"type": "track", "timestamp": MILLIS_2024,
                      "properties": {"coordinates": coordinates}})
        return row["coordinates"], json.loads(row["properties"])

    assert kept({"pitch": 1, "yaw": "2.5", "hfov": 90.0}) == (
        {"pitch": 1.0, "yaw": 2.5, "hfov": 90.0}, {}
    )
    assert kept({"yaw": 3}) == ({"pitch": None, "yaw": 3.0, "hfov": None}, {})
    for partly_read in ({"type": None, "pitch": 0}, {"pitch": 1, "yaw": None},
                        {"pitch": 1, "yaw": "NaN"}):
        column, properties = kept(partly_read)
        assert column["pitch"] is not None
        assert properties == {"coordinates": partly_read}


def test_properties_keys_sorted_at_every_level():
    row = landed(
        {
            "type": "t",
            "timestamp": MILLIS_2024,
            "properties": {"b": {"z": 1, "a": [{"y": 2, "x": 1}]}},
        }
    )
    assert row["properties"] == '{"b":{"a":[{"x":1,"y":2}],"z":1}}'


def test_page_fallbacks_to_context():
    row = landed(
        {
            "type": "page",
            "timestamp": MILLIS_2024,
            "properties": {"referrer": ""},
            "context": {"page": {"url": "https://x.io/p?q", "referrer": "https://r.io/"}},
        }
    )
    assert (row["page_url"], row["page_path"], row["page_referrer"]) == (
        "https://x.io/p?q",
        "/p",
        "https://r.io/",
    )
    assert row["properties"] == '{"referrer":""}'


@pytest.mark.parametrize(
    ("url", "path"),
    [
        ("https://x.io/a/b?q=1#f", "/a/b"),
        ("/a?x", "/a"),
        ("https://x.io", None),
        ("https://x.io/", "/"),
        ("https://x.io?q=/nope", None),
        ("mailto:someone", None),
        ("https://x.io/%20a", "/%20a"),
    ],
)
def test_url_path(url, path):
    assert url_path(url) == path


@pytest.mark.parametrize(
    ("value", "number"),
    [
        (1, 1.0),
        (-12.5, -12.5),
        ("1.5", 1.5),
        (" -2e2 ", -200.0),
        (".5", 0.5),
        ("5.", 5.0),
        ("NaN", None),
        ("Infinity", None),
        ("1e400", None),
        ("0x1A", None),
        ("1_000", None),
        ("", None),
        (True, None),
        (None, None),
        (10**400, None),
    ],
)
def test_coordinate_values(value, number):
    assert coordinate(value) == number


def test_coordinates_all_null_stay_in_properties():
    row = landed(
        {"type": "t", "timestamp": MILLIS_2024, "properties": {"coordinates": {"pitch": "x"}}}
    )
    assert row["coordinates"] is None
    assert json.loads(row["properties"]) == {"coordinates": {"pitch": "x"}}


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("  a b  ", "a b"),
        ("\t\r\n", None),
        (0, "0"),
        (-(2**63), str(-(2**63))),
        (2**63, None),
        (1.0, None),
        (False, None),
        (None, None),
        ({"a": 1}, None),
    ],
)
def test_text_values(value, expected):
    assert text(value) == expected
