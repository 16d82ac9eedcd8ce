"""The cases of events/http_ingest_contract.json, with their request bodies built."""

from __future__ import annotations

import json
from typing import Any

from webevents import PROJECT_ROOT

CONTRACT = json.loads(
    (PROJECT_ROOT / "events" / "http_ingest_contract.json").read_text(encoding="utf-8")
)


def request_body(case: dict[str, Any]) -> bytes:
    """The exact bytes a case posts."""
    if "body" in case:
        return case["body"].encode("utf-8")
    if "repeat" in case:
        repeat = case["repeat"]
        return json.dumps([repeat["event"]] * repeat["count"]).encode("utf-8")
    # pad_to: one event whose padding makes the body exactly that many bytes
    head = b'{"type": "track", "event": "Padded", "pad": "'
    tail = b'"}'
    return head + b"x" * (case["pad_to"] - len(head) - len(tail)) + tail


def expected_records(case: dict[str, Any]) -> list[Any]:
    """The events the case's PutRecords call carries, in order."""
    if "records" in case:
        return case["records"]
    events = json.loads(request_body(case))
    return events if isinstance(events, list) else [events]


REQUEST_CASES = CONTRACT["requests"]
RESPONSE_CASES = CONTRACT["responses"]


def case_id(case: dict[str, Any]) -> str:
    return case["name"]
