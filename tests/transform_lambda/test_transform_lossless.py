"""Lossless landing: every leaf value the producer sent is in the landed row (§6, §6a).

Hypothesis events of both shapes, plus real client payloads (events/client_payloads.jsonl,
written from Segment's and RudderStack's public spec examples). Only deny-listed keys go.
"""

from __future__ import annotations

import json
from pathlib import Path

import orjson
import pytest
from hypothesis import HealthCheck, example, given, settings
from landing_contract import DENIED_KEYS
from normalise import OK, normalise_bytes

from tests.landing.lossless import leaves, missing_leaves
from tests.landing.strategies import legacy_events, nested_events

CLIENT_PAYLOADS = Path(__file__).resolve().parents[2] / "events" / "client_payloads.jsonl"
ARRIVAL_MICROS = 1_764_000_000_000_000
SETTINGS = settings(
    max_examples=300, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow]
)


def land(event: dict) -> dict:
    """The Lambda's landing row of one event (it must land)."""
    outcome = normalise_bytes(orjson.dumps(event), ARRIVAL_MICROS)
    assert outcome.result == OK, outcome
    return outcome.row


def client_payloads() -> list[dict]:
    return [json.loads(line) for line in CLIENT_PAYLOADS.read_text().splitlines()]


@SETTINGS
@given(legacy_events | nested_events)
# a coordinates object with a member no column holds stays whole (§6)
@example({"type": "track", "timestamp": "2001-01-01T00:00:00Z",
          "properties": {"coordinates": {"type": None, "pitch": 0}}})
def test_every_leaf_of_any_event_lands_somewhere(event):
    row = land(event)
    assert missing_leaves(event, row) == []


@pytest.mark.parametrize("event", client_payloads(), ids=lambda event: event.get("type", "nested"))
def test_every_leaf_of_a_real_client_payload_lands_somewhere(event):
    assert missing_leaves(event, land(event)) == []


@SETTINGS
@given(legacy_events | nested_events)
def test_deny_listed_keys_are_stored_nowhere_and_counted(event):
    row = land(event)
    for column in ("properties", "context", "traits", "extra"):
        kept = json.loads(row[column])
        objects = (
            [kept, kept.get("metadata"), kept.get("eventData")] if column == "extra" else [kept]
        )
        for found in objects:
            if isinstance(found, dict):
                assert not DENIED_KEYS & set(found), (column, found)
    # always scanned: the record, its metadata and its eventData
    scanned = [event, event.get("metadata"), event.get("eventData")]
    expected = sum(len(DENIED_KEYS & set(found)) for found in scanned if isinstance(found, dict))
    assert row["redacted_field_count"] >= expected


def test_a_real_write_key_and_api_key_are_dropped_and_counted():
    track, nested = client_payloads()[1], client_payloads()[5]
    track_row, nested_row = land(track), land(nested)
    assert "wk-secret-abc123" not in json.dumps(track_row)
    assert track_row["redacted_field_count"] == 1
    assert "k-should-never-land" not in json.dumps(nested_row)
    assert nested_row["redacted_field_count"] == 1


def test_campaign_locale_and_producer_clock_are_promoted():
    row = land(client_payloads()[1])
    assert (row["utm_source"], row["utm_medium"], row["utm_campaign"]) == (
        "newsletter",
        "email",
        "spring_open_house",
    )
    assert (row["utm_term"], row["utm_content"], row["locale"]) == ("loft", "hero_image", "en-US")
    assert "campaign" not in json.loads(row["context"])  # every member went to a column
    assert json.loads(row["context"])["app"]["name"] == "TourViewer"
    assert json.loads(row["extra"])["integrations"] == {}
    assert row["original_timestamp"] == 1_763_979_630_650_000
    assert row["sent_at"] == 1_763_979_630_900_000
    # a `timestamp` the producer sent is not corrected (Segment: a set timestamp wins)
    assert row["event_timestamp"] == 1_763_979_630_900_000


def test_utm_parameters_come_from_the_page_url_when_there_is_no_campaign():
    row = land(client_payloads()[2])
    assert (row["utm_source"], row["utm_medium"], row["utm_campaign"], row["utm_term"]) == (
        "google",
        "cpc",
        "winter%20tours",
        "loft+nyc",
    )
    assert row["utm_content"] is None
    # the offset timestamp is normalised to UTC
    assert row["event_timestamp"] == 1_763_975_730_250_000


def test_identify_traits_land_from_the_top_level_or_from_context():
    segment, rudder = land(client_payloads()[0]), land(client_payloads()[4])
    assert json.loads(segment["traits"])["address"]["city"] == "San Francisco"
    assert json.loads(rudder["traits"])["plan"] == "gold"
    assert "traits" not in json.loads(rudder["context"])


def test_clock_skew_is_corrected_from_sent_at_and_the_arrival_time():
    # The device clock is 2 hours slow: it sent 300 ms after the event, by its own clock.
    event = {
        "type": "track", "event": "x", "anonymousId": "a",
        "originalTimestamp": "2025-11-24T08:00:00.000Z", "sentAt": "2025-11-24T08:00:00.300Z",
    }  # fmt: skip
    arrival = 1_763_978_400_500_000  # 2025-11-24T10:00:00.500Z
    outcome = normalise_bytes(orjson.dumps(event), arrival)
    assert outcome.row["event_timestamp"] == arrival - 300_000
    assert outcome.row["original_timestamp"] == 1_763_971_200_000_000
    assert outcome.row["sent_at"] == 1_763_971_200_300_000


def test_a_relay_received_at_wins_over_the_firehose_arrival():
    row = land(client_payloads()[4])  # RudderStack identify: receivedAt 12:01:01.000
    # 12:01:01.000 - (12:01:00.100 - 12:00:59.900)
    assert row["event_timestamp"] == 1_763_985_660_800_000
    assert "receivedAt" in json.loads(row["extra"])


def test_leaves_skip_deny_listed_subtrees():
    assert leaves({"a": [1, {"writeKey": "s", "b": None}]}) == [
        (("a", 0), 1),
        (("a", 1, "b"), None),
    ]
