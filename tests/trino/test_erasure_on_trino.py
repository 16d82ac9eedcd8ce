"""`webevents forget` on a real Iceberg engine: the sql/privacy deletes, the marts re-derived by
dbt on Trino, and what time travel shows before and after the snapshots expire."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import pytest

from tests.trino.local_lake import run_dbt
from tests.trino.rows import LANDING, assert_same_rows, copy_table, table_snapshot
from webevents import SQL_DIR
from webevents.engines import EngineError
from webevents.jobs.forget import Session, apply_pending, file_request
from webevents.jobs.sql import run_files

pytestmark = pytest.mark.trino

# In the tier's sample (tests/trino/local_lake.py SAMPLE) this user has identified and
# anonymous sessions, backfilled events and late stream events (tests/webevents/test_forget.py).
PERSON = "u-52000"
APPLIED_AT = dt.datetime(2026, 11, 25, 2, 0, 0)
# The Iceberg tables whose history can hold the person's rows.
HISTORY_TABLES = ("raw.web_events", "analytics.web_events", "marts.fct_web_events")


def person_filter(anonymous_ids: list[str]) -> str:
    quoted = ", ".join(f"'{a}'" for a in anonymous_ids)
    return f"(user_id = '{PERSON}' or (user_id is null and anonymous_id in ({quoted})))"


def newest_snapshot(engine, table: str) -> int:
    schema, name = table.split(".")
    _, [(snapshot,)] = engine.query(
        f'select snapshot_id from {schema}."{name}$snapshots" order by committed_at desc limit 1')
    return snapshot


@pytest.fixture(scope="module")
def erased(local_lake, trino_engine, trino_catalog, trino_port, tmp_path_factory):
    """The sample's raw rows on Trino, enriched and built, then the person forgotten."""
    engine = trino_engine
    run_files([SQL_DIR / "ddl"], engine=engine, echo=None)
    local = local_lake.engine()
    copy_table(local, engine, "raw.web_events", LANDING)
    local.close()
    for step in ("enrich", "bots"):
        run_files([SQL_DIR / step], engine=engine, params=local_lake.params, echo=None)
    # The backfill's own tables: the person's backfilled rows as staged, and a line the
    # backfill rejected that carries their user id.
    engine.execute(
        "insert into raw.web_events_backfill_stage (archive_date, source_file, outcome, "
        "event_id, event_timestamp, event_date, anonymous_id, user_id) "
        "select event_date, 's3://archive/events.jsonl.gz', 'ok', event_id, event_timestamp, "
        "event_date, anonymous_id, user_id from raw.web_events where load_source = 'backfill'")
    line = '{"type":"page","userId":"' + PERSON + '","timestamp":"not a time"}'
    engine.execute(
        "insert into raw.web_events_backfill_rejects values (date '2026-11-22', "
        f"'s3://archive/events.jsonl.gz', 'invalid_timestamp', '{line}', "
        "timestamp '2026-11-25 01:00:00')")
    work = tmp_path_factory.mktemp("dbt-erasure")
    env = {"TRINO_PORT": str(trino_port), "TRINO_CATALOG": trino_catalog}
    for command in ("seed", "run"):
        run_dbt([command, "--target", "trino"], work, env)

    _, rows = engine.query("select distinct anonymous_id from raw.web_events "
                           f"where user_id = '{PERSON}' order by 1")
    anonymous_ids = [a for (a,) in rows]
    where = person_filter(anonymous_ids)
    before = {t: newest_snapshot(engine, t) for t in HISTORY_TABLES}
    counts = {t: engine.query(f"select count(*) from {t} where {where}")[1][0][0]
              for t in HISTORY_TABLES}
    _, [(load_sources,)] = engine.query(
        f"select count(distinct load_source) from raw.web_events where {where}")
    # the kinds of row the issue names: backfilled, late, anonymous and identified
    _, [kinds] = engine.query(f"""
        select count_if(load_source = 'backfill'),
               count_if(load_source = 'firehose'
                        and received_at > event_timestamp + interval '1' day),
               count_if(user_id is null), count_if(user_id is not null)
        from raw.web_events where {where}""")
    files = {t: {p for (p,) in engine.query(f'select distinct "$path" from {t} where {where}')[1]}
             for t in HISTORY_TABLES}

    os.environ["WEBEVENTS_ERASURE_KEY"] = "tier-test-key"
    options = {"port": trino_port, "catalog": trino_catalog}
    try:
        session = Session("trino", None, **options)
        file_request(session, "user_id", PERSON, APPLIED_AT - dt.timedelta(hours=6))
        session.close()
        [outcome] = apply_pending("trino", None, now=lambda: APPLIED_AT, say=lambda _: None,
                                  **options)
    finally:
        del os.environ["WEBEVENTS_ERASURE_KEY"]
    return {"engine": engine, "where": where, "before": before, "counts": counts,
            "load_sources": load_sources, "kinds": kinds,
            "files": files, "outcome": outcome, "work": work, "env": env}


def test_the_person_had_rows_in_every_history_table(erased):
    assert all(count > 0 for count in erased["counts"].values())
    assert erased["load_sources"] == 2  # backfilled and streamed
    backfilled, late, anonymous, identified = erased["kinds"]
    assert backfilled > 0 and late > 0 and anonymous > 0 and identified > 0


def test_no_row_of_the_person_is_left_in_any_table_on_trino(erased):
    engine, where = erased["engine"], erased["where"]
    # (staging is ephemeral on Trino, as on Athena: it stores no rows to check)
    for table in ("raw.web_events", "analytics.web_events", "raw.web_events_backfill_stage",
                  "marts.fct_web_events", "marts.dim_identity_ranges"):
        assert engine.query(f"select count(*) from {table} where {where}")[1] == [(0,)], table
    assert engine.query("select count(*) from raw.web_events_backfill_rejects "
                        f"where strpos(line, '{PERSON}') > 0")[1] == [(0,)]
    assert engine.query("select count(*) from marts.fct_sessions "
                        f"where stitched_user_id = '{PERSON}'")[1] == [(0,)]


def test_the_audit_row_is_written_on_trino(erased):
    _, [(engine_name, applied_at, rows_removed)] = erased["engine"].query(
        "select engine, applied_at, rows_removed from raw.erasure_audit")
    assert engine_name == "trino" and applied_at == APPLIED_AT
    assert f'"raw.web_events": {erased["counts"]["raw.web_events"]}' in rows_removed
    assert PERSON not in rows_removed


def test_the_marts_equal_a_build_from_scratch_without_the_person_on_trino(erased, expired):
    """analytics re-enriched from the erased raw and every mart rebuilt with --full-refresh
    (after `expired`, which reads the history this replaces)."""
    engine = erased["engine"]
    models = [name for (name,) in engine.query(
        "select table_name from information_schema.tables where table_schema = 'marts' "
        "and table_name not like 'stg_%' and table_name <> 'web_events_snapshot_changes' "
        "and table_name <> 'sphere_cells'")[1]]
    columns = {m: [c for (c,) in engine.query(
        "select column_name from information_schema.columns where table_schema = 'marts' "
        f"and table_name = '{m}' order by ordinal_position")[1] if not c.startswith("processed_")]
        for m in models}
    after_forget = {m: table_snapshot(engine, f"marts.{m}", columns[m]) for m in models}
    assert {"fct_web_events", "fct_sessions", "daily_kpis", "spatial_room_engagement_daily",
            "journey_funnel_daily", "dim_identity_ranges"} <= set(models)
    engine.execute("delete from analytics.web_events where true")
    _, [(first, last)] = engine.query("select min(event_date), max(event_date) from raw.web_events")
    params = {"run_date": str(last), "lookback_days": str((last - first).days)}
    for step in ("enrich", "bots"):
        run_files([SQL_DIR / step], engine=engine, params=params, echo=None)
    run_dbt(["run", "--target", "trino", "--full-refresh"], erased["work"], erased["env"])
    for model in models:
        scratch = table_snapshot(engine, f"marts.{model}", columns[model])
        assert len(after_forget[model]) == len(scratch), model
        assert_same_rows(after_forget[model], scratch, columns[model])


@pytest.fixture(scope="module")
def expired(erased):
    """Time travel before and after the snapshots older than the delete expire.

    S3 Tables' compaction (which applies row-level deletes when it rewrites files), its
    snapshot management and unreferenced-file removal, or the marts' VACUUM, run here by
    hand after the erasure; the marts' touched days were rewritten by the erasure's own
    OPTIMIZE.
    """
    engine, where = erased["engine"], erased["where"]
    seen = {}
    for table in HISTORY_TABLES:
        old = erased["before"][table]
        before = engine.query(f"select count(*) from {table} for version as of {old} "
                              f"where {where}")[1][0][0]
        if table.startswith(("raw.", "analytics.")):
            engine.execute(f"alter table {table} execute optimize")
        engine.execute(f"alter table {table} execute expire_snapshots(retention_threshold => '0s')")
        # and S3 Tables' unreferenced-file removal (Athena's VACUUM does both for the marts)
        engine.execute(
            f"alter table {table} execute remove_orphan_files(retention_threshold => '0s')")
        try:
            engine.query(f"select count(*) from {table} for version as of {old}")
            old_read = None
        except EngineError as error:
            old_read = str(error)
        schema, name = table.split(".")
        _, snapshots = engine.query(f'select snapshot_id from {schema}."{name}$snapshots"')
        left = [engine.query(f"select count(*) from {table} for version as of {snapshot} "
                             f"where {where}")[1][0][0] for (snapshot,) in snapshots]
        files = [p for p in erased["files"][table] if Path(p.split("://", 1)[-1]).exists()]
        seen[table] = {"before": before, "old_read": old_read, "left": left,
                       "files_left": files}
    return seen


def test_a_snapshot_older_than_the_delete_shows_the_rows_until_it_expires(erased, expired):
    for table in HISTORY_TABLES:
        assert expired[table]["before"] == erased["counts"][table], table


def test_after_expiry_no_snapshot_and_no_file_holds_the_person(expired):
    for table in HISTORY_TABLES:
        seen = expired[table]
        assert seen["old_read"] is not None and "snapshot" in seen["old_read"].lower(), table
        assert seen["left"] and set(seen["left"]) == {0}, table
        assert seen["files_left"] == [], table
