"""A real browser: the demo tour in headless Chromium against `webevents serve`.

The page is rotated with real mouse drags, the visitor follows a link to the next room and
the tab is closed; every event the tracker made, the beacon sent on close included, lands in
raw.web_events once, with one visitor, one session and the viewer's coordinates.
"""

from __future__ import annotations

import json
import threading
import time

import pytest

from bench.bench_ingest_cost import Session
from tests.e2e.cdp import Chromium
from webevents.engines.local import connect
from webevents.local.serve import make_server

CANVAS_CENTRE = "JSON.stringify((r => [r.x + r.width / 2, r.y + r.height / 2])" \
    "(document.getElementById('pano').getBoundingClientRect()))"


@pytest.fixture
def collector(tmp_path):
    server = make_server(tmp_path / "lake", port=0)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server
    server.shutdown()
    server.server_close()


def _wait_for_deliveries(server, count: int, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while len(server.collector.deliveries) < count and time.monotonic() < deadline:
        time.sleep(0.1)


def _look_around(browser: Chromium, session: str) -> None:
    x, y = json.loads(browser.evaluate(session, CANVAS_CENTRE))
    browser.drag(session, x, y, dx=-220, dy=40)  # turn right, look down
    time.sleep(0.8)
    browser.drag(session, x, y, dx=160, dy=-90)
    browser.send("Input.dispatchMouseEvent", session, type="mouseWheel", x=x, y=y,
                 deltaX=0, deltaY=300)  # zoom out: hfov grows
    time.sleep(0.8)


@pytest.mark.xdist_group(name="browser")
def test_tour_events_land_once_with_session_coordinates_and_the_closing_beacon(
    collector, tmp_path
):
    host, port = collector.server_address[:2]
    url = f"http://{host}:{port}/tour.html?viewInterval=250&batchSize=6&flushInterval=60000"
    browser = Chromium(tmp_path / "profile")
    try:
        target, session = browser.page(url)
        browser.wait_for(session, "window.tour && window.tour.room === 'living-room'")
        _look_around(browser, session)
        living_room_yaw = browser.evaluate(session, "tour.view.yaw")

        # follow the link to the next room, as a visitor would
        link = json.loads(browser.evaluate(session, "JSON.stringify((r => [r.x + 5, r.y + 5])"
                                           "(document.getElementById('next')"
                                           ".getBoundingClientRect()))"))
        browser.click(session, *link)
        browser.wait_for(session, "window.tour && window.tour.room === 'kitchen'")
        _look_around(browser, session)

        # the visitor stops moving; what is still queued leaves with the beacon on close
        browser.evaluate(session, "tour.tracker.stopViews()")
        browser.wait_for(session, "!tour.tracker.sending")  # no batch in flight any more
        # below the batch size nothing more is sent by fetch; make sure something is left
        browser.evaluate(session, "tour.tracker.queue.length || "
                                  "tour.tracker.track('Room Left', {roomId: tour.room})")
        pending = browser.evaluate(session, "tour.tracker.queue.map(e => e.messageId)")
        visitor = browser.evaluate(session, "tour.tracker.anonymousId()")
        before_close = len(collector.collector.deliveries)
        assert pending, "nothing left for the beacon: the test would prove nothing"
        browser.send("Target.closeTarget", targetId=target)
        _wait_for_deliveries(collector, before_close + 1)
    finally:
        browser.close()

    deliveries = collector.collector.deliveries
    assert all(d.status == 200 for d in deliveries), [(d.status, d.body) for d in deliveries]
    posted = [json.loads(record) for d in deliveries for record in d.records]
    posted_ids = [event["messageId"] for event in posted]
    assert len(posted_ids) == len(set(posted_ids)), "the tracker sent an event twice"

    # the cost model's event size (bench/bench_ingest_cost.py) is what a real browser sends
    mean_bytes = sum(len(r) for d in deliveries for r in d.records) / len(posted)
    print(f"mean event size {mean_bytes:.0f} bytes over {len(posted)} events")
    assert 0.75 * Session().event_bytes <= mean_bytes <= 1.25 * Session().event_bytes

    beacon = deliveries[before_close:]
    assert [json.loads(r)["messageId"] for d in beacon for r in d.records] == pending
    assert beacon[0].fetch_mode == "no-cors"  # sendBeacon, not fetch
    assert beacon[0].content_type.startswith("text/plain")
    assert any(d.fetch_mode != "no-cors" for d in deliveries[:before_close]), "no fetch batch"

    con = connect(collector.collector.lake)
    try:
        rows = con.execute(
            "select event_id, anonymous_id, session_id, event_type, event_name, page_path, "
            "room_id, coordinates.pitch, coordinates.yaw, coordinates.hfov "
            "from raw.web_events order by event_timestamp, event_id"
        ).fetchall()
    finally:
        con.close()
    landed_ids = [row[0] for row in rows]
    assert sorted(landed_ids) == sorted(posted_ids), "every sent event lands exactly once"
    assert {row[1] for row in rows} == {visitor}
    assert len({row[2] for row in rows}) == 1, "one session across both rooms"
    assert [row[5] for row in rows if row[3] == "page"] == ["/tour.html", "/tour.html"]
    assert {row[6] for row in rows} == {"living-room", "kitchen"}
    views = [row for row in rows if row[4] == "Room View Position"]
    assert len(views) >= 6
    assert all(None not in row[7:] for row in views), "every view carries pitch/yaw/hfov"
    assert len({row[8] for row in views}) >= 3, "the view turned"
    assert max(row[9] for row in views) > 90, "the zoom changed hfov"
    living_room = [row for row in views if row[6] == "living-room"]
    assert living_room[-1][8] == pytest.approx(living_room_yaw, abs=0.01)
