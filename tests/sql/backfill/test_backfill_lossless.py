"""Lossless landing through the backfill: every leaf of every archived event is in its row.

The same hypothesis events as the Lambda's test (tests/landing/strategies.py), written as an
archive day and loaded by `webevents backfill` (the Athena SQL on the local engine); each
stage row is checked with the same rule (tests/landing/lossless.py). Events are tagged with a
top-level `_seq` so each row is matched to its event whatever its id.
"""

from __future__ import annotations

import json

import orjson
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.landing.lossless import missing_leaves
from tests.landing.strategies import legacy_events, nested_events
from webevents.engines import get_engine
from webevents.jobs.backfill import backfill_files

# Each example is one backfill run (a few seconds), so few examples of several events each.
SETTINGS = settings(
    max_examples=10,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)


@SETTINGS
@given(st.lists(legacy_events | nested_events, min_size=3, max_size=8))
def test_every_leaf_of_any_archived_event_lands_somewhere(tmp_path_factory, events):
    root = tmp_path_factory.mktemp("lossless")
    day = root / "archive" / "dt=2026-11-20"
    day.mkdir(parents=True)
    tagged = [{**event, "_seq": index} for index, event in enumerate(events)]
    (day / "events.jsonl").write_bytes(b"\n".join(orjson.dumps(event) for event in tagged) + b"\n")
    backfill_files([day / "events.jsonl"], lake=root / "lake")
    engine = get_engine("local", lake=root / "lake")
    try:
        columns, rows = engine.query("select * from raw.web_events_backfill_stage")
    finally:
        engine.close()
    rows = [dict(zip(columns, row, strict=True)) for row in rows]
    assert [row["outcome"] for row in rows] == ["ok"] * len(tagged), [
        (row["reason"], row["line"]) for row in rows if row["outcome"] != "ok"
    ]
    lost = []
    for row in rows:
        event = tagged[json.loads(row["extra"])["_seq"]]
        lost += [f"_seq {event['_seq']}: {leaf}" for leaf in missing_leaves(event, row)]
    assert lost == []
