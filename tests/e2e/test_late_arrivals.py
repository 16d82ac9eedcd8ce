"""`webevents run` by arrival: an event that arrives 40 days after its timestamp reaches
analytics.web_events and every mart on the next run, as a build from scratch would have it."""

from __future__ import annotations

import datetime as dt
import json
import shutil
from pathlib import Path

import duckdb
import pytest

from tests.e2e.lake_tables import differences, table_rows
from webevents import clock
from webevents.local.run import run_pipeline

pytestmark = pytest.mark.xdist_group("late_arrivals")

FIRST_RUN = "2026-11-25T02:00:00"
NEXT_RUN = "2026-11-26T02:00:00"
FAR_LATE = dt.datetime(2026, 10, 16, 9, 15, 0, 250001)  # 40 days before it arrives


def event(message_id: str, device: str, session: str, at: dt.datetime, path: str,
          user: str | None = None) -> dict:
    return {"type": "page", "messageId": message_id, "anonymousId": device, "sessionId": session,
            **({"userId": user} if user else {}),
            "timestamp": at.isoformat(timespec="microseconds") + "Z",
            "context": {"userAgent": "Mozilla/5.0 (X11; Linux x86_64) Firefox/130.0"},
            "properties": {"url": f"https://tours.example{path}", "path": path,
                           "spaceId": "sp-1", "spaceType": "apartment", "roomId": "r-1",
                           "coordinates": {"pitch": 12.5, "yaw": -170.0, "hfov": 90}}}


def write(path: Path, events: list[dict]) -> Path:
    path.write_text("".join(json.dumps(e) + "\n" for e in events))
    return path


def visit(prefix: str, device: str, start: dt.datetime, pages: int,
          user: str | None = None) -> list[dict]:
    return [event(f"{prefix}-{n}", device, f"{prefix}-s", start + dt.timedelta(minutes=2 * n),
                  f"/tour/sp-1/room-{n}", user) for n in range(pages)]


@pytest.fixture(scope="module")
def lakes(tmp_path_factory):
    """A lake after two runs (the second brings the far-late event), and its copy rebuilt
    from scratch with --full-refresh."""
    root = tmp_path_factory.mktemp("late-arrivals")
    lake = root / "lake"
    recent = [*visit("d1", "a-1", dt.datetime(2026, 11, 21, 10, 0, 0, 1), 7),
              *visit("d2", "a-2", dt.datetime(2026, 11, 24, 22, 0, 0, 999999), 3, "u-2")]
    first = write(root / "first.jsonl", recent)
    late = write(root / "late.jsonl", [
        # identified: dim_identity_ranges must take it although it is older than its window
        *visit("far", "a-3", FAR_LATE, 6, "u-3"),
        *visit("d3", "a-2", dt.datetime(2026, 11, 25, 8, 0), 2),
    ])
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(clock.ENV_VAR, FIRST_RUN)
        run_pipeline(lake, inputs=[str(first)])
        patch.setenv(clock.ENV_VAR, NEXT_RUN)
        summary = run_pipeline(lake, inputs=[str(late)])
        rebuilt = root / "rebuilt"
        shutil.copytree(lake, rebuilt)
        run_pipeline(rebuilt, inputs=[str(first), str(late)], full_refresh=True)
    return lake, rebuilt, summary


def query(lake: Path, sql: str) -> list[tuple]:
    with duckdb.connect(str(lake / "lake.duckdb"), read_only=True) as con:
        return con.execute(sql).fetchall()


def test_the_far_late_event_reaches_analytics_on_the_next_run(lakes):
    lake, _, summary = lakes
    rows = query(lake, "select event_timestamp from analytics.web_events "
                       "where event_id like 'far-%' order by 1")
    assert [r[0] for r in rows] == [FAR_LATE + dt.timedelta(minutes=2 * n) for n in range(6)]
    assert summary["changes"]["late_events"] == 6  # the d3 events are newer than the lake


@pytest.mark.parametrize("sql", [
    "select count(*) from marts.fct_web_events where event_id like 'far-%'",
    "select event_count from marts.fct_sessions where session_date = date '2026-10-16'",
    "select event_count from marts.daily_kpis where kpi_date = date '2026-10-16'",
])
def test_the_far_late_event_reaches_the_marts_on_the_next_run(lakes, sql):
    lake, _, _ = lakes
    assert query(lake, sql) == [(6,)]


def test_a_far_late_identification_opens_its_identity_range(lakes):
    lake, _, _ = lakes
    assert query(lake, "select anonymous_id, user_id, identified_event_count "
                       "from marts.dim_identity_ranges where anonymous_id = 'a-3'") == [
        ("a-3", "u-3", 6)]


def test_every_mart_equals_a_build_from_scratch(lakes):
    lake, rebuilt, _ = lakes
    after_two_runs, from_scratch = table_rows(lake), table_rows(rebuilt)
    marts = {name for name in from_scratch if name.startswith("marts.")}
    assert len(marts) >= 10
    assert differences({m: after_two_runs[m] for m in marts},
                       {m: from_scratch[m] for m in marts}) == []
