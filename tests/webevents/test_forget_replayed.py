"""An event a replay landed, later erased: the replay and the stream still balance, the
record reads as erased (not lost), and it is never replayed back (docs/decisions.md)."""

from __future__ import annotations

import datetime as dt

from tests.webevents.test_replay import GOOD, lake_with_failures, throttled_batch  # noqa: F401
from webevents.cli import main
from webevents.engines.local import connect
from webevents.jobs.forget import ERASED_REPLAYED, apply_pending
from webevents.jobs.replay import replay
from webevents.local.reconcile import STREAM, reconciliation

APPLIED_AT = dt.datetime(2026, 11, 25, 2, 0, 0)


def sources_of(lake) -> tuple[dict, dict, bool]:
    con = connect(lake)
    try:
        summary = reconciliation(con, lake)
    finally:
        con.close()
    sources = {source["name"]: source for source in summary["sources"]}
    stream = sources.pop(STREAM)
    (replayed,) = sources.values()
    return stream, replayed, summary["balanced"]


def test_a_replayed_event_later_erased_leaves_every_balance_yes(
        lake_with_failures, throttled_batch):  # noqa: F811
    lake = lake_with_failures
    # GOOD[0] (anonymous a-1) landed through the stream, then again from the replayed batch
    assert replay([str(throttled_batch)], lake=lake, progress=False).total("landed") == 3
    stream, replayed, balanced = sources_of(lake)
    assert (replayed["records_in"], replayed["landed"], replayed["erased"]) == (3, 3, 0)
    assert balanced

    assert main(["forget", "--anonymous-id", GOOD[0]["anonymousId"], "--lake", str(lake),
                 "--defer"]) == 0
    [outcome] = apply_pending("local", lake, now=lambda: APPLIED_AT, say=lambda _: None)
    assert outcome.rows["raw.web_events from firehose"] == 2  # the stream's row and the replay's
    assert outcome.rows[ERASED_REPLAYED] == 1

    stream, replayed, balanced = sources_of(lake)
    assert (replayed["records_in"], replayed["landed"], replayed["erased"]) == (3, 2, 1)
    assert replayed["balanced"]
    # the stream: 4 in = 0 landed (the other landed row is the replay's) + 3 failed + 1 erased
    assert (stream["records_in"], stream["landed"], stream["failed"], stream["erased"]) == (
        4, 0, 3, 1)
    assert stream["balanced"] and balanced


def test_an_erased_replayed_record_is_not_replayed_back(lake_with_failures, throttled_batch):  # noqa: F811
    lake = lake_with_failures
    replay([str(throttled_batch)], lake=lake, progress=False)
    main(["forget", "--anonymous-id", GOOD[0]["anonymousId"], "--lake", str(lake), "--defer"])
    apply_pending("local", lake, now=lambda: APPLIED_AT, say=lambda _: None)
    again = replay([str(throttled_batch)], lake=lake, progress=False)
    assert (again.total("landed"), again.total("already_replayed")) == (0, 3)
    con = connect(lake)
    try:
        (rows,) = con.execute("select count(*) from raw.web_events where anonymous_id = ?",
                              [GOOD[0]["anonymousId"]]).fetchone()
    finally:
        con.close()
    assert rows == 0
