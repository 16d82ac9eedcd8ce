"""The hot path's shortcuts give exactly what the plain §4 rule and the budget rule give."""

from __future__ import annotations

import base64
import json
import re
from datetime import UTC, datetime, timedelta

import normalise
import pytest
from firehose_records import RESPONSE_BUDGET_BYTES, transform_batch
from hypothesis import given, settings
from hypothesis import strategies as st

# §4 as written in docs/landing-normalisation.md, without the shape-check shortcut.
SPEC_ISO = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}"
    r"(\.[0-9]{1,9})?(Z|[+-](?:[01][0-9]|2[0-3]):[0-5][0-9])?"
)


def spec_iso_micros(value: str) -> int | None:
    value = value.strip(" \t\n\r")
    if SPEC_ISO.fullmatch(value) is None:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    micros = (moment - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(microseconds=1)
    return micros if normalise.MIN_MICROS <= micros < normalise.MAX_MICROS else None


# Strings near the grammar: digits in every position, separators moved, zones, fractions,
# whitespace, non-ASCII digits, week dates ("2024-W01-1T..." is ISO but not §4).
near_iso = st.one_of(
    st.datetimes(min_value=datetime(1990, 1, 1), max_value=datetime(2110, 1, 1)).map(
        lambda moment: moment.isoformat()
    ),
    st.builds(
        lambda moment, digits, zone, pad: (
            pad
            + moment.strftime("%Y-%m-%dT%H:%M:%S")
            + ("." + "7" * digits if digits else "")
            + zone
            + pad
        ),
        st.datetimes(min_value=datetime(1995, 1, 1), max_value=datetime(2105, 1, 1)),
        st.integers(0, 11),
        st.sampled_from(["", "Z", "z", "+00:00", "-05:30", "+24:00", "+01:60", "+0100", "ZZ"]),
        st.sampled_from(["", " ", "\n", "\u00a0"]),
    ),
    st.text(alphabet="0123456789-:TZW.+ \u0662", min_size=18, max_size=30),
)


@settings(max_examples=400, deadline=None, database=None)
@given(near_iso)
def test_iso_shortcut_agrees_with_the_spec_grammar(value):
    assert normalise.parse_timestamp_micros(value) == spec_iso_micros(value)


@pytest.mark.parametrize(
    "value",
    [
        "2024-W01-1T00:00:00Z",  # fromisoformat takes ISO week dates; §4 does not
        "2024-01-01T00:00:00.000Z ",
        "2024-01-01T00:00:00.0000000000Z",
        "2024-01-01T00:00:00,5Z",
        "2024-01-01T00:00:00\u0662Z",
        "2024-01-01T00:00:00+01:60",  # fromisoformat reads 2 h; §4 rejects minute 60
        "2024-01-01T00:00:00.5-00:60",
        "2024-01-01T00:00:00+00:00",
    ],
)
def test_iso_shortcut_agrees_on_near_misses(value):
    assert normalise.parse_timestamp_micros(value) == spec_iso_micros(value)


def test_page_path_memo_is_bounded_and_matches_url_path(monkeypatch):
    monkeypatch.setattr(normalise, "_URL_PATHS", {})
    monkeypatch.setattr(normalise, "_URL_PATHS_MAX", 3)
    urls = [f"https://tours.example.com/spaces/{index}?a=1" for index in range(7)] + ["no-path"]
    for url in urls * 2:
        raw = json.dumps(
            {"type": "page", "sentAt": 946684800000, "properties": {"url": url}}
        ).encode()
        row = normalise.normalise_bytes(raw, 0).row
        assert row["page_path"] == normalise.url_path(url)
        assert len(normalise._URL_PATHS) <= 3


def _record(index: int, line: bytes, record_id: str | None = None) -> dict:
    return {
        "recordId": record_id or f"{index:056d}",
        "approximateArrivalTimestamp": 1_764_000_000_000,
        "data": base64.b64encode(line).decode(),
    }


def test_first_response_too_large_record_really_would_not_fit():
    # Ok records, failures and ids of different lengths mixed up to and past the budget.
    lines = [
        b'{"type":"","sentAt":946684800000}',
        b"{not json",
        b'{"type":"page","anonymousId":"a","timestamp":"2026-11-22T23:17:26.867Z"}',
    ]
    records = [
        # ids unique, as Firehose sends them (a repeated id is answered once)
        _record(index, lines[index % 3], f"{index}" + "r" * (index % 97 + 1)
                if index % 5 == 0 else None)
        for index in range(14_000)
    ]
    answers = transform_batch(records).response["records"]
    results = [answer["result"] for answer in answers]
    assert len(answers) == len(records)
    assert len(json.dumps({"records": answers})) <= RESPONSE_BUDGET_BYTES
    first = next(
        index
        for index, answer in enumerate(answers)
        if answer["result"] == "ProcessingFailed" and index % 3 != 1
    )
    assert "Ok" not in results[first:]
    # Had that record been answered Ok (as it would with room), the response would be over.
    landed = transform_batch([records[first]]).response["records"][0]
    assert landed["result"] == "Ok"
    overflowing = (
        answers[:first]
        + [landed]
        + [
            {"recordId": record["recordId"], "result": "ProcessingFailed", "data": record["data"]}
            for record in records[first + 1 :]
        ]
    )
    assert len(json.dumps({"records": overflowing})) > RESPONSE_BUDGET_BYTES
