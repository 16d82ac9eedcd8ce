"""Property tests: whatever arrives, one answer per recordId, no exception, rows that fit."""

from __future__ import annotations

import base64
import json
import math
import string

from firehose_records import transform_batch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from landing_contract import LANDING_COLUMN_NAMES, LANDING_COLUMNS
from normalise import MAX_MICROS, MIN_MICROS

# database=None: no .hypothesis/ folder in the repo tree.
SETTINGS = settings(
    max_examples=150,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)

json_scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=12)
)
json_values = st.recursive(
    json_scalars,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=20,
)
timestamps = st.one_of(
    st.integers(min_value=900_000_000_000, max_value=4_200_000_000_000),
    st.datetimes().map(lambda moment: moment.isoformat()),
    st.text(alphabet=string.digits + "-:TZ.+", max_size=30),
    st.builds(lambda ms: {"$date": {"$numberLong": str(ms)}}, st.integers()),
    json_values,
)
field_names = st.sampled_from(
    [
        "type", "event", "name", "userId", "anonymousId", "sessionId", "appId", "messageId",
        "eventId", "_id", "timestamp", "sentAt", "originalTimestamp", "eventTimestamp",
        "context", "metadata", "properties", "eventData", "url", "path", "referrer",
        "spaceId", "roomName", "coordinates", "pitch", "yaw", "hfov", "page", "ip",
        "userAgent", "$oid", "$date",
    ]
)  # fmt: skip
# Objects built from the field names the rules look at, so most of them reach deep branches.
event_like = st.recursive(
    st.dictionaries(field_names, json_scalars | timestamps, max_size=6),
    lambda children: st.dictionaries(field_names, children | json_scalars, max_size=6),
    max_leaves=30,
)


def _batch(payloads: list[bytes | str]) -> list[dict]:
    return [
        {
            "recordId": f"r{index}",
            "approximateArrivalTimestamp": 1_764_000_000_000,
            "data": data if isinstance(data, str) else base64.b64encode(data).decode(),
        }
        for index, data in enumerate(payloads)
    ]


def _check_answers(records: list[dict]) -> list[dict]:
    response = transform_batch(records).response
    answers = response["records"]
    assert [answer["recordId"] for answer in answers] == [r["recordId"] for r in records]
    json.dumps(response)  # what the Lambda runtime does with it
    rows = []
    for answer, record in zip(answers, records, strict=True):
        assert answer["result"] in ("Ok", "Dropped", "ProcessingFailed")
        if answer["result"] != "Ok":
            assert answer["data"] == record["data"]
            continue
        row = json.loads(base64.b64decode(answer["data"], validate=True))
        assert list(row) == list(LANDING_COLUMN_NAMES)
        rows.append(row)
    return rows


def _check_row(row: dict) -> None:
    assert MIN_MICROS <= row["event_timestamp"] < MAX_MICROS
    day = row["event_timestamp"] // 86_400_000_000
    assert row["event_date"] == _iso_date(day)
    assert isinstance(row["event_id"], str) and row["event_id"]
    assert row["source_format"] in ("legacy", "nested")
    assert isinstance(json.loads(row["properties"]), dict)
    if row["coordinates"] is not None:
        assert set(row["coordinates"]) == {"pitch", "yaw", "hfov"}
        values = [v for v in row["coordinates"].values() if v is not None]
        assert values and all(isinstance(v, float) and math.isfinite(v) for v in values)
    for name, kind, _ in LANDING_COLUMNS:
        if kind in ("string", "date"):  # timestamps and coordinates are checked above
            assert row[name] is None or (isinstance(row[name], str) and row[name].strip() != "")
        elif kind == "int":
            assert isinstance(row[name], int) and row[name] >= 0


def _iso_date(day: int) -> str:
    from datetime import date, timedelta

    return (date(1970, 1, 1) + timedelta(days=day)).isoformat()


@SETTINGS
@given(st.lists(st.binary(max_size=300), max_size=8))
def test_any_bytes_get_one_answer_each(payloads):
    _check_answers(_batch(payloads))


@SETTINGS
@given(st.lists(st.text(max_size=40), max_size=6))
def test_any_data_string_even_not_base64(strings):
    _check_answers(_batch(strings))


@SETTINGS
@given(st.lists(json_values.map(lambda v: json.dumps(v).encode()), max_size=6))
def test_any_json_value(payloads):
    for row in _check_answers(_batch(payloads)):
        _check_row(row)


@SETTINGS
@given(st.lists(event_like.map(lambda v: json.dumps(v).encode()), min_size=1, max_size=6))
def test_event_like_objects_land_as_valid_rows_or_fail_cleanly(payloads):
    for row in _check_answers(_batch(payloads)):
        _check_row(row)


@SETTINGS
@given(st.lists(event_like.map(lambda v: json.dumps(v).encode()), min_size=1, max_size=6))
def test_replay_gets_the_same_event_ids(payloads):
    first = _check_answers(_batch(payloads))
    again = _check_answers(_batch(list(payloads)))
    assert [row["event_id"] for row in first] == [row["event_id"] for row in again]
