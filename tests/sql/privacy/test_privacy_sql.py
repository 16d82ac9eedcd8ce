"""sql/privacy on the local engine, row by row: whose rows an erasure takes and whose it leaves."""

from __future__ import annotations

import datetime as dt

import pytest

from tests.trino.rows import LANDING, insert_sql
from tests.trino.test_merge_duplicates import landing_row
from webevents import SQL_DIR
from webevents.engines.local import LocalEngine, connect
from webevents.jobs.forget import Identifiers, request_params, sql_list
from webevents.jobs.sql import run_files

PRIVACY = SQL_DIR / "privacy"

# u-1 used its phone (dev-1) and a tablet it shares with u-2 (dev-2); u-10 is someone else.
ROWS = [
    landing_row("e-1", 1, anonymous_id="dev-1", user_id="u-1"),
    landing_row("e-2", 1, anonymous_id="dev-1"),
    landing_row("e-3", 1, anonymous_id="dev-2", user_id="u-1"),
    landing_row("e-4", 1, anonymous_id="dev-2"),
    landing_row("e-5", 1, anonymous_id="dev-2", user_id="u-2"),
    landing_row("e-6", 1, anonymous_id="dev-3", user_id="u-10"),
    landing_row("e-7", 1, anonymous_id="dev-3"),
    landing_row("e-8", 1, anonymous_id=None, user_id="u-1"),
]


@pytest.fixture
def engine(tmp_path):
    con = connect(tmp_path)
    engine = LocalEngine(connection=con)
    engine.execute(insert_sql("raw.web_events", LANDING, ROWS))
    yield engine
    con.close()


def remaining(engine) -> list[str]:
    return [e for (e,) in engine.query("select event_id from raw.web_events order by 1")[1]]


REQUEST = "0f8fad5b-d9cb-469f-a165-70867728950e"


def keep(engine, ids: Identifiers, request_id: str = REQUEST) -> None:
    """The request's ids as resolve() keeps them (the statements read them from here)."""
    for kind, values in (("user_id", ids.user_ids), ("device_id", ids.device_ids),
                         ("anonymous_id", ids.anonymous_ids)):
        for value in values:
            engine.execute("insert into raw.erasure_request_ids values "
                           f"('{request_id}', '{kind}', '{value}')")


def run(engine, name: str, ids: Identifiers, **extra) -> None:
    keep(engine, ids)
    run_files([PRIVACY / name], engine=engine, params={**request_params(REQUEST), **extra},
              echo=None)


def test_a_user_takes_their_rows_and_the_anonymous_rows_of_their_devices(engine):
    ids = Identifiers(user_ids=["u-1"], anonymous_ids=["dev-1", "dev-2"])
    run(engine, "raw_web_events_delete.sql", ids)
    # u-2's identified row on the shared tablet stays; u-10 (not u-1) is untouched
    assert remaining(engine) == ["e-5", "e-6", "e-7"]


def test_a_device_asked_for_directly_takes_every_row_of_it(engine):
    run(engine, "raw_web_events_delete.sql", Identifiers(device_ids=["dev-2"]))
    assert remaining(engine) == ["e-1", "e-2", "e-6", "e-7", "e-8"]


def test_the_stitched_ids_are_every_device_the_user_was_seen_with_kept_once(engine):
    keep(engine, Identifiers(user_ids=["u-1"]))
    keep(engine, Identifiers(user_ids=["u-2"]), request_id="another-request")
    for _ in range(2):  # a re-run adds nothing
        run_files([PRIVACY / "erasure_request_ids_stitched_insert.sql"], engine=engine,
                  params=request_params(REQUEST), echo=None)
    _, rows = engine.query("select request_id, id_kind, id from raw.erasure_request_ids "
                           "order by 1, 2, 3")
    assert rows == [(REQUEST, "anonymous_id", "dev-1"), (REQUEST, "anonymous_id", "dev-2"),
                    (REQUEST, "user_id", "u-1"), ("another-request", "user_id", "u-2")]


def test_a_statement_reads_only_its_own_requests_ids(engine):
    keep(engine, Identifiers(user_ids=["u-10"]), request_id="another-request")
    run(engine, "raw_web_events_delete.sql", Identifiers(device_ids=["dev-1"]))
    assert remaining(engine) == ["e-3", "e-4", "e-5", "e-6", "e-7", "e-8"]


def test_rejected_lines_match_whole_quoted_ids_only(engine):
    lines = ['{"userId":"u-1","timestamp":"bad"}', '{"userId":"u-10","timestamp":"bad"}',
             '{"anonymousId":"dev-2"', 'u-1 without quotes']
    for number, line in enumerate(lines):
        engine.execute(
            "insert into raw.web_events_backfill_rejects values (date '2026-11-20', "
            f"'archive/{number}.jsonl', 'invalid_json', '{line}', timestamp '2026-11-21 00:00:00')")
    ids = Identifiers(user_ids=["u-1"], anonymous_ids=["dev-2"])
    run(engine, "raw_web_events_backfill_rejects_delete.sql", ids)
    _, rows = engine.query("select line from raw.web_events_backfill_rejects order by 1")
    assert [r for (r,) in rows] == ['u-1 without quotes', '{"userId":"u-10","timestamp":"bad"}']


def test_the_backfill_reconciliation_follows_the_erased_stage_lines_and_reruns_clean(engine):
    engine.execute("insert into raw.web_events_backfill_loads values (date '2026-11-01', "
                   "date '2026-11-30', 5, 4, 1, 0, timestamp '2026-11-21 00:00:00')")
    for number, (outcome, user) in enumerate([("ok", "u-1"), ("ok", "u-1"), ("ok", "u-2"),
                                              ("ok", None), ("rejected", None)]):
        engine.execute(
            "insert into raw.web_events_backfill_stage (archive_date, source_file, outcome, "
            f"event_id, user_id, line) values (date '2026-11-2{number}', 'a.jsonl', "
            f"'{outcome}', 'e-{number}', {sql_list([user]) if user else 'null'}, "
            f"{sql_list(['not-json']) if outcome == 'rejected' else 'null'})")
    ids = Identifiers(user_ids=["u-1"])
    run(engine, "raw_web_events_backfill_stage_delete.sql", ids)
    for _ in range(2):  # a re-run changes nothing
        run(engine, "raw_web_events_backfill_loads_erased_merge.sql", ids)
        _, rows = engine.query("select source_lines, landed_lines, rejected_lines, "
                               "dropped_lines from raw.web_events_backfill_loads")
        assert rows == [(3, 2, 1, 0)]


def test_the_audit_merge_writes_one_row_per_request_however_often_it_runs(engine):
    params = {
        "request_id": "r-1", "subject_kind": "user_id", "subject_hash": "ab" * 32,
        "requested_at": "2026-11-24 10:00:00", "applied_at": "2026-11-25 02:00:00",
        "engine": "local", "identifier_count": 3, "rows_removed_json": '{"raw.web_events": 5}',
        "last_copy_gone_json": "{}", "last_copy_gone_by": "2026-12-16",
        # as forget renders it: the key's quote doubled for the literal
        "archive_files_json": '["s3://archive/dt=2026-11-20/it' "''" 's.jsonl.gz"]'}
    run_files([PRIVACY / "erasure_audit_merge.sql"], engine=engine, echo=None, params=params)
    # killed before the request was closed, the re-run (a day later) writes the row again
    run_files([PRIVACY / "erasure_audit_merge.sql"], engine=engine, echo=None,
              params={**params, "applied_at": "2026-11-26 02:00:00"})
    run_files([PRIVACY / "erasure_audit_merge.sql"], engine=engine, echo=None,
              params={**params, "request_id": "r-2"})
    _, rows = engine.query("select request_id, applied_at, last_copy_gone_by, archive_files "
                           "from raw.erasure_audit order by 1")
    assert rows == [
        ("r-1", dt.datetime(2026, 11, 26, 2), dt.date(2026, 12, 16),
         '["s3://archive/dt=2026-11-20/it\'s.jsonl.gz"]'),
        ("r-2", dt.datetime(2026, 11, 25, 2), dt.date(2026, 12, 16),
         '["s3://archive/dt=2026-11-20/it\'s.jsonl.gz"]')]


def test_a_request_filed_by_hand_with_a_bad_id_stops_with_a_one_line_error(tmp_path):
    from webevents.jobs.forget import ErasureError, apply_pending

    con = connect(tmp_path)
    con.execute("insert into raw.erasure_requests (request_id, subject_kind, subject_id, "
                "requested_at, status) values ('r-1', 'user_id', 'x''); drop table y; --', "
                "timestamp '2026-11-24 10:00:00', 'pending')")
    con.close()
    with pytest.raises(ErasureError, match=r"^request r-1: user_id .* is not an id"):
        apply_pending("local", tmp_path, say=lambda _: None)


def test_the_line_pattern_of_no_ids_matches_no_line():
    """A follow-up re-run after its ids went must not take lines holding an empty string."""
    assert Identifiers().line_pattern().search('{"userId":"","anonymousId":"a"}') is None
    pattern = Identifiers(user_ids=["u-1"], anonymous_ids=["a.1"]).line_pattern()
    assert pattern.search('{"userId":"u-1"}') and not pattern.search('{"anonymousId":"a-1"}')
