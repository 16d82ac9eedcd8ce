"""Incremental dbt runs on Trino equal a full refresh, with microsecond event times.

Athena and Trino read `cast('...' as timestamp)` as timestamp(3): a window bound of
`23:50:00.123556` becomes `23:50:00.124`, and `session_started_at >= bound` then drops the
session that starts at the bound, with the late event that reopened it. The bounds are
timestamp(6) (dbt/macros/incremental_window.sql); this runs the models twice on the tier.
"""

from __future__ import annotations

import pytest

from tests.trino.local_lake import run_dbt
from webevents import SQL_DIR
from webevents.jobs.sql import run_files

pytestmark = pytest.mark.trino

MODELS = ["int_session_boundaries", "dim_identity_ranges", "fct_web_events", "fct_sessions"]
# (event_id, anonymous_id, session_id, event_timestamp): a1's session is open at the window
# start (2026-11-21 = newest date 2026-11-24 minus lookback_days 3) and starts 123556 µs
# into its second; a2 only sets the newest date.
BUILT = [
    ("e1", "a1", "s1", "2026-11-20 23:50:00.123556"),
    ("e2", "a1", "s1", "2026-11-21 00:05:00.000001"),
    ("e3", "a2", "s2", "2026-11-24 12:00:00.000000"),
]
LATE = [("late", "a1", "s1", "2026-11-20 23:55:00.654321")]


def insert_events(engine, events) -> None:
    values = ",\n".join(
        f"('{event_id}', timestamp '{at}', date '{at[:10]}', 'page', '{device}', '{session}', "
        f"'/tours/{event_id}', 'apartment', timestamp '{at}', 'firehose', 'nested', "
        "1e0, array[], false, array[], 1, timestamp '2026-11-25 00:00:00.000000')"
        for event_id, device, session, at in events
    )
    engine.execute(
        "insert into analytics.web_events (event_id, event_timestamp, event_date, event_type, "
        "anonymous_id, session_id, page_path, space_type, received_at, load_source, "
        "source_format, data_quality_score, quality_issues, is_bot, bot_reasons, "
        f"duplicate_count, processed_timestamp) values {values}"
    )


def sessions_by_event(engine) -> dict[str, tuple]:
    _, rows = engine.query(
        "select event_id, session_key, session_started_at, session_event_number, "
        "session_event_count from marts.fct_web_events"
    )
    return {row[0]: row[1:] for row in rows}


@pytest.fixture(scope="module")
def incremental_then_full(trino_engine, trino_catalog, trino_port, tmp_path_factory):
    """fct_web_events after a build, a late event and an incremental run; then a full refresh."""
    run_files([SQL_DIR / "ddl"], engine=trino_engine, echo=None)
    work = tmp_path_factory.mktemp("dbt-incremental")
    env = {"TRINO_PORT": str(trino_port), "TRINO_CATALOG": trino_catalog}
    select = ["--target", "trino", "--select", *MODELS]
    insert_events(trino_engine, BUILT)
    run_dbt(["run", *select], work, env)
    insert_events(trino_engine, LATE)
    run_dbt(["run", *select], work, env)
    incremental = sessions_by_event(trino_engine)
    run_dbt(["run", "--full-refresh", *select], work, env)
    return incremental, sessions_by_event(trino_engine)


def test_late_event_joins_a_session_that_starts_between_milliseconds(incremental_then_full):
    incremental, _ = incremental_then_full
    assert "late" in incremental
    assert incremental["late"][2:] == (2, 3)  # second of three events in a1's session


def test_incremental_run_equals_a_full_refresh(incremental_then_full):
    incremental, full = incremental_then_full
    assert incremental == full
