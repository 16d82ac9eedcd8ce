"""sql/bots on the local engine: labelled analytics rows in, is_bot + bot_reasons out."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import duckdb
import pytest

from webevents import SQL_DIR
from webevents.engines import get_engine
from webevents.jobs.sql import run_files

PATTERNS = SQL_DIR / "bots" / "analytics_bot_user_agent_patterns_merge.sql"
FLAGS = SQL_DIR / "bots" / "analytics_web_events_bot_flags_merge.sql"
RUN = {"run_date": "2024-03-10", "lookback_days": "1"}
T0 = dt.datetime(2024, 3, 10, 9, 0)
HUMAN_UA = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/131.0 Safari/537.36"


def event(event_id: str, at: dt.datetime, **values) -> dict:
    row = {"event_id": event_id, "event_timestamp": at, "event_date": at.date(),
           "event_type": "track", "anonymous_id": "human-1", "session_id": "human-s1",
           "user_agent": HUMAN_UA, "is_bot": False, "bot_reasons": []}
    row.update(values)
    return row


def session(prefix: str, count: int, gap: dt.timedelta, **values) -> list[dict]:
    return [event(f"{prefix}-{n}", T0 + n * gap, **values) for n in range(count)]


# name -> (rows, the reasons every row of it must get)
TRAFFIC = {
    # a person: 12 events, 20-40 s apart, one session
    "human": (session("human", 12, dt.timedelta(seconds=31)), []),
    # another person, fast clicker for a moment but not sustained
    "quick_human": (session("quick", 8, dt.timedelta(milliseconds=700), anonymous_id="q-1",
                            session_id="q-s1"), []),
    "crawler": (session("gbot", 3, dt.timedelta(seconds=20), anonymous_id="g-1", session_id="g-s",
                        user_agent="Mozilla/5.0 (compatible; Googlebot/2.1; "
                                   "+http://www.google.com/bot.html)"), ["ua_crawler"]),
    "curl": (session("curl", 2, dt.timedelta(seconds=5), anonymous_id="c-1", session_id="c-s",
                     user_agent="curl/8.5.0"), ["ua_http_library"]),
    "unfurler": (session("slack", 1, dt.timedelta(seconds=1), anonymous_id="sl-1",
                         session_id="sl-s", user_agent="Slackbot-LinkExpanding 1.0 "
                         "(+https://api.slack.com/robots)"), ["ua_crawler", "ua_preview"]),
    "headless": (session("hl", 2, dt.timedelta(seconds=3), anonymous_id="h-1", session_id="h-s",
                         user_agent="Mozilla/5.0 (X11; Linux x86_64) HeadlessChrome/131.0.0.0"),
                 ["ua_headless"]),
    # a stealth scraper: human agent, 30 page views 300 ms apart in one session
    "scraper": (session("scr", 30, dt.timedelta(milliseconds=300), anonymous_id="s-1",
                        session_id="s-s", event_type="page"), ["sustained_subsecond_gaps"]),
    # 70 page views 5 s apart: too many pages for one visit
    "page_heavy": (session("ph", 70, dt.timedelta(seconds=5), anonymous_id="p-1",
                           session_id="p-s", event_type="page"),
                   ["many_pages_per_session"]),
    # 45 events within one minute, 1.3 s apart (not sub-second)
    "burst": (session("burst", 45, dt.timedelta(milliseconds=1300), anonymous_id="b-1",
                      session_id="b-s"), ["high_event_rate"]),
    # six one-event sessions of one device: fetch and leave
    "no_dwell": ([event(f"nd-{n}", T0 + dt.timedelta(minutes=10 * n), anonymous_id="nd-1",
                        session_id=f"nd-s{n}") for n in range(6)], ["sessions_without_dwell"]),
}


@pytest.fixture
def lake(tmp_path) -> Path:
    get_engine("local", lake=tmp_path).close()  # creates the tables from sql/ddl
    with duckdb.connect(str(tmp_path / "lake.duckdb")) as con:
        for rows, _ in TRAFFIC.values():
            for row in rows:
                con.execute(
                    f"insert into analytics.web_events ({', '.join(row)}) "
                    f"values ({', '.join('?' for _ in row)})",
                    list(row.values()),
                )
    return tmp_path


def run(lake: Path, *files: Path, **params) -> list[int]:
    results = run_files(list(files), params={**RUN, **params}, lake=lake, echo=None)
    return [result.row_count for result in results]


def flags(lake: Path) -> dict[str, tuple]:
    with duckdb.connect(str(lake / "lake.duckdb"), read_only=True) as con:
        rows = con.execute(
            "select event_id, is_bot, bot_reasons, processed_timestamp from analytics.web_events"
        ).fetchall()
    return {event_id: (is_bot, reasons, processed) for event_id, is_bot, reasons, processed in rows}


def test_each_rule_fires_on_its_traffic_and_never_on_people(lake):
    run(lake, PATTERNS, FLAGS)
    result = flags(lake)
    for name, (rows, reasons) in TRAFFIC.items():
        for row in rows:
            is_bot, actual, _ = result[row["event_id"]]
            assert (is_bot, actual) == (bool(reasons), reasons), (name, row["event_id"])


def test_rerunning_changes_nothing(lake):
    run(lake, PATTERNS, FLAGS)
    before = flags(lake)
    assert run(lake, PATTERNS, FLAGS) == [0, 0]
    assert flags(lake) == before


def test_thresholds_are_parameters(lake):
    run(lake, PATTERNS, FLAGS, max_pages_per_session="100", max_events_per_minute="50")
    result = flags(lake)
    assert result["ph-0"][:2] == (False, [])
    assert result["burst-0"][:2] == (False, [])


def test_rows_outside_the_window_are_left_alone(lake):
    with duckdb.connect(str(lake / "lake.duckdb")) as con:
        con.execute("insert into analytics.web_events (event_id, event_date, event_timestamp, "
                    "user_agent, is_bot, bot_reasons) values ('old', '2024-03-01', "
                    "'2024-03-01 10:00:00', 'curl/8.0', false, [])")
    run(lake, PATTERNS, FLAGS)
    assert flags(lake)["old"][:2] == (False, [])


def test_the_newest_pattern_version_is_used(lake):
    run(lake, PATTERNS)
    with duckdb.connect(str(lake / "lake.duckdb")) as con:
        con.execute("insert into analytics.bot_user_agent_patterns select pattern_id, pattern, "
                    "category, description, 2, valid_from, null from "
                    "analytics.bot_user_agent_patterns where category <> 'http_library'")
    run(lake, FLAGS)
    assert flags(lake)["curl-0"][:2] == (False, [])
    assert flags(lake)["gbot-0"][:2] == (True, ["ua_crawler"])


def test_an_events_verdict_does_not_depend_on_which_run_saw_it_last(lake):
    """Rules judge an actor or session within one UTC day, so every run agrees.

    b-1 bursts on 2024-03-10; its quiet event two days later is judged on its own day by
    every run whose window holds it, whichever window also holds the burst.
    """
    quiet = event("burst-later", T0 + dt.timedelta(days=2), anonymous_id="b-1", session_id="b-s2")
    with duckdb.connect(str(lake / "lake.duckdb")) as con:
        con.execute(f"insert into analytics.web_events ({', '.join(quiet)}) "
                    f"values ({', '.join('?' for _ in quiet)})", list(quiet.values()))
    run(lake, PATTERNS)
    verdicts = []
    for run_date in ("2024-03-12", "2024-03-13", "2024-03-12"):
        run(lake, FLAGS, run_date=run_date, lookback_days="2")
        verdicts.append(flags(lake)["burst-later"][:2])
    assert verdicts == [(False, [])] * 3
    assert flags(lake)["burst-0"][:2] == (True, ["high_event_rate"])
