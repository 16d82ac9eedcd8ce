"""`webevents forget` on the local lake: a person's rows leave every table, the marts equal a
build from scratch without them, an audit row is written, --dry-run writes nothing."""

from __future__ import annotations

import datetime as dt
import gzip
import hashlib
import hmac
import json
import os
import re
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tests.trino.local_lake import SAMPLE, run_dbt
from tests.trino.rows import assert_same_rows, table_snapshot
from webevents import DBT_DIR, SQL_DIR, clock, failpoints
from webevents.cli import main
from webevents.dev.generate import generate_sample
from webevents.engines import get_engine
from webevents.jobs.backfill import backfill_files
from webevents.jobs.forget import (
    DAYS_REDERIVED,
    EXIT_UNREADABLE_REQUESTS,
    KEY_FILE,
    REBUILT_WHOLE,
    WATCH_DAYS,
    apply_pending,
)
from webevents.jobs.sql import run_files, run_order
from webevents.local import ingest

# One worker builds the module's lakes once (make test runs pytest -n 2 --dist loadgroup).
pytestmark = pytest.mark.xdist_group("forget")

# In SAMPLE (seed 23) this user has identified and anonymous sessions on one device,
# backfilled events and events that arrived late through the stream; the fixture checks it.
PERSON = "u-52000"
APPLIED_AT = dt.datetime(2026, 11, 25, 2, 0, 0)
PARAMS = {"run_date": "2026-11-24", "lookback_days": "3"}
# Columns that are each build's wall clock or file location, not data.
CLOCK_COLUMNS = {"processed_timestamp", "received_at", "rejected_at", "logged_at", "source_file"}


@pytest.fixture(scope="module")
def sample(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("sample") / "sample"
    generate_sample(folder, **SAMPLE)
    return folder


def build_lake(root: Path, sample: Path, before_enrich=None) -> Path:
    """The sample (copied under root) through backfill, ingest, enrich, bots and dbt."""
    shutil.copytree(sample, root / "sample")
    lake = root / "lake"
    lake.mkdir()
    backfill_files(sorted((root / "sample").glob("archive/dt=*/*.jsonl*")), lake=lake)
    ingest.ingest_files(sorted((root / "sample").glob("stream/*.jsonl")), lake=lake,
                          progress=False)
    engine = get_engine("local", lake=lake)
    try:
        if before_enrich:
            before_enrich(engine)
        for step in ("enrich", "bots"):
            run_files([SQL_DIR / step], engine=engine, params=PARAMS, echo=None)
    finally:
        engine.close()
    for command in ("seed", "run"):
        run_dbt([command, "--target", "local"], root / "dbt", {"WEBEVENTS_LAKE": str(lake)})
    return lake


def query(lake: Path, sql: str) -> list[tuple]:
    engine = get_engine("local", lake=lake)
    try:
        return engine.query(sql)[1]
    finally:
        engine.close()


def stitched_ids(lake: Path) -> list[str]:
    return [a for (a,) in query(lake, "select distinct anonymous_id from raw.web_events "
                                      f"where user_id = '{PERSON}' order by 1")]


def person_filter(anonymous_ids: list[str]) -> str:
    quoted = ", ".join(f"'{a}'" for a in anonymous_ids)
    return f"(user_id = '{PERSON}' or (user_id is null and anonymous_id in ({quoted})))"


def lake_state(lake: Path) -> dict[str, list[tuple]]:
    """Every row of every table in the lake, comparable across builds."""
    engine = get_engine("local", lake=lake)
    try:
        _, tables = engine.query(
            "select table_schema, table_name from information_schema.tables "
            "where table_schema in ('raw', 'analytics', 'marts') order by 1, 2")
        state = {}
        for schema, table in tables:
            _, columns = engine.query(
                "select column_name from information_schema.columns where "
                f"table_schema = '{schema}' and table_name = '{table}' order by ordinal_position")
            kept = [c for (c,) in columns
                    if c not in CLOCK_COLUMNS and not c.startswith("processed_")]
            state[f"{schema}.{table}"] = (kept, table_snapshot(engine, f"{schema}.{table}", kept))
        return state
    finally:
        engine.close()


def files_digest(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file() and p.suffix != ".wal"}


def lines_digest(root: Path) -> dict[str, str]:
    """Per file, a digest of its lines (gzip's header holds the time it was written)."""
    return {str(p.relative_to(root)): hashlib.sha256(
        gzip.decompress(p.read_bytes()) if p.suffix == ".gz" else p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def forgotten(tmp_path_factory, sample):
    """A lake before and after `webevents forget --user-id PERSON` (dry run first)."""
    root = tmp_path_factory.mktemp("forget")
    lake = build_lake(root, sample)
    anonymous_ids = stitched_ids(lake)
    where = person_filter(anonymous_ids)
    before = {
        table: query(lake, f"select count(*) from {table} where {where}")[0][0]
        for table in ("raw.web_events", "analytics.web_events", "marts.fct_web_events")
    }
    [(backfilled, late, anonymous, identified)] = query(lake, f"""
        select count_if(load_source = 'backfill'),
               count_if(load_source = 'firehose'
                        and received_at > event_timestamp + interval '1' day),
               count_if(user_id is null), count_if(user_id is not null)
        from raw.web_events where {where}""")
    files_before = files_digest(root)
    state_before = lake_state(lake)
    dry_code = main(["forget", "--user-id", PERSON, "--lake", str(lake), "--dry-run"])
    dry = {"code": dry_code, "state": lake_state(lake), "files": files_digest(root)}
    assert main(["forget", "--user-id", PERSON, "--lake", str(lake), "--defer"]) == 0
    # the lake and its archive with the request pending: the interrupted erasures start here
    pending = tmp_path_factory.mktemp("pending")
    for folder in ("sample", "lake"):
        shutil.copytree(root / folder, pending / folder)
    [outcome] = apply_pending("local", lake, now=lambda: APPLIED_AT, say=lambda _: None)
    return {
        "root": root, "lake": lake, "anonymous_ids": anonymous_ids, "before": before,
        "kinds": {"backfilled": backfilled, "late": late, "anonymous": anonymous,
                  "identified": identified},
        "state_before": state_before, "files_before": files_before, "dry": dry,
        "outcome": outcome, "pending": pending,
        # as the erasure left them (a test below re-runs the backfill on this lake)
        "state_after": lake_state(lake), "files_after": lines_digest(root / "sample"),
    }


@pytest.fixture(scope="module")
def reference(tmp_path_factory, sample, forgotten):
    """The same inputs built from scratch with the person's rows removed before enrichment."""
    where = person_filter(forgotten["anonymous_ids"])
    ids = [PERSON, *forgotten["anonymous_ids"]]
    pattern = '"(' + "|".join(ids) + ')"'

    def remove_person(engine):
        engine.execute(f"delete from raw.web_events where {where}")
        engine.execute(f"delete from raw.web_events_backfill_stage where {where} or "
                       f"(outcome = 'rejected' and regexp_like(line, '{pattern}'))")
        engine.execute(f"delete from raw.web_events_backfill_rejects "
                       f"where regexp_like(line, '{pattern}')")

    return build_lake(tmp_path_factory.mktemp("reference"), sample, remove_person)


def test_the_person_has_every_kind_of_row_the_issue_names(forgotten):
    kinds = forgotten["kinds"]
    assert kinds["backfilled"] > 0 and kinds["late"] > 0
    assert kinds["anonymous"] > 0 and kinds["identified"] > 0
    assert all(count > 0 for count in forgotten["before"].values())


def test_no_row_of_the_person_is_left_in_any_table(forgotten):
    lake, where = forgotten["lake"], person_filter(forgotten["anonymous_ids"])
    engine = get_engine("local", lake=lake)
    try:
        _, tables = engine.query(
            "select table_schema || '.' || table_name from information_schema.columns "
            "where table_schema in ('raw', 'analytics', 'marts') and column_name = 'user_id' "
            "group by 1 having count(*) = 1")
        checked = {name for (name,) in tables}
        assert {"raw.web_events", "analytics.web_events", "raw.web_events_backfill_stage",
                "marts.fct_web_events", "marts.dim_identity_ranges"} <= checked
        for table in sorted(checked):
            assert engine.query(f"select count(*) from {table} where {where}")[1] == [(0,)], table
        ids = "|".join([PERSON, *forgotten["anonymous_ids"]])
        for table in ("raw.web_events_backfill_rejects", "raw.web_events_backfill_stage"):
            assert engine.query(f"select count(*) from {table} "
                                f"where regexp_like(line, '{ids}')")[1] == [(0,)], table
        assert engine.query("select count(*) from marts.fct_sessions "
                            f"where stitched_user_id = '{PERSON}'")[1] == [(0,)]
    finally:
        engine.close()


def test_archive_and_error_output_files_hold_no_line_of_the_person(forgotten):
    ids = [PERSON, *forgotten["anonymous_ids"]]
    root = forgotten["root"]
    for path in [*(root / "sample" / "archive").rglob("*.jsonl.gz"),
                 *(forgotten["lake"] / "processing-failed").rglob("*")]:
        if path.is_file():
            data = gzip.decompress(path.read_bytes()) if path.suffix == ".gz" else path.read_bytes()
            assert not any(f'"{i}"'.encode() in data for i in ids), path
    assert forgotten["outcome"].rows["archive files (lines)"] == forgotten["kinds"]["backfilled"]


def assert_equals_the_build_without_the_person(actual: dict, reference: Path) -> None:
    """Every table of a forgotten lake's state equals the from-scratch build's."""
    expected = lake_state(reference)
    actual = dict(actual)
    # The erasure's own bookkeeping; and the reference removes the person after its backfill
    # reconciled the whole archive (the re-run test below checks the reconciliation).
    for table in ("raw.erasure_requests", "raw.erasure_request_ids", "raw.erasure_audit",
                  "raw.web_events_backfill_loads"):
        actual.pop(table), expected.pop(table)
    assert sorted(actual) == sorted(expected)
    assert {t for t in expected if t.startswith("marts.")} >= {
        "marts.fct_web_events", "marts.fct_sessions", "marts.dim_identity_ranges",
        "marts.daily_kpis", "marts.spatial_room_engagement_daily", "marts.journey_funnel_daily"}
    for table, (columns, rows) in sorted(expected.items()):
        assert actual[table][0] == columns, table
        assert len(actual[table][1]) == len(rows), table
        assert_same_rows(actual[table][1], rows, columns)  # doubles within float noise


def test_the_marts_equal_a_build_from_scratch_without_the_person(forgotten, reference):
    assert_equals_the_build_without_the_person(forgotten["state_after"], reference)


def test_the_backfill_re_run_on_the_rewritten_archive_balances_and_brings_nothing_back(
        forgotten):
    lake, where = forgotten["lake"], person_filter(forgotten["anonymous_ids"])
    archive = sorted((forgotten["root"] / "sample").glob("archive/dt=*/*.jsonl*"))
    summary = backfill_files(archive, lake=lake)
    assert summary.total("source_lines") == (summary.total("landed_lines")
                                             + summary.total("rejected_lines")
                                             + summary.total("dropped_lines"))
    assert query(lake, f"select count(*) from raw.web_events where {where}") == [(0,)]
    [(source, landed, rejected, dropped)] = query(
        lake, "select sum(source_lines), sum(landed_lines), sum(rejected_lines), "
              "sum(dropped_lines) from raw.web_events_backfill_loads")
    assert source == landed + rejected + dropped


def test_the_reconciliation_shows_the_erased_records_and_still_balances(forgotten):
    from webevents.engines.local import connect
    from webevents.local.reconcile import ARCHIVE, STREAM, reconciliation

    con = connect(forgotten["lake"])
    try:
        summary = reconciliation(con, forgotten["lake"])
    finally:
        con.close()
    sources = {source["name"]: source for source in summary["sources"]}
    # the person's stream rows and error records are shown as erased, not as lost
    assert sources[STREAM]["erased"] > 0 and sources[STREAM]["balanced"]
    assert sources[ARCHIVE]["balanced"] and summary["balanced"]


def test_an_audit_row_is_written_with_a_keyed_hash_and_the_request_is_closed(forgotten):
    lake = forgotten["lake"]
    key = (lake / KEY_FILE).read_text().strip().encode()
    [audit] = query(lake, "select subject_kind, subject_hash, applied_at, engine, rows_removed, "
                          "last_copy_gone, last_copy_gone_by from raw.erasure_audit")
    kind, digest, applied_at, engine, rows_removed, gone, gone_by = audit
    assert kind == "user_id" and engine == "local"
    assert digest == hmac.new(key, f"user_id:{PERSON}".encode(), hashlib.sha256).hexdigest()
    assert applied_at == APPLIED_AT
    removed = json.loads(rows_removed)
    for table, count in forgotten["before"].items():
        assert removed[table] == count, table
    assert set(json.loads(gone).values()) == {"2026-11-25"} and gone_by == dt.date(2026, 11, 25)
    assert PERSON not in json.dumps(audit, default=str)
    [(status, subject_id, identifiers)] = query(
        lake, "select status, subject_id, identifiers from raw.erasure_requests")
    assert (status, subject_id, identifiers) == ("applied", None, None)


def test_dry_run_prints_the_rows_and_deletes_nothing(forgotten, capsys):
    dry = forgotten["dry"]
    assert dry["code"] == 0
    # it filed a dry-run request to resolve the ids in the tables, then removed it again
    assert dry["state"] == forgotten["state_before"]
    assert dry["state"]["raw.erasure_requests"][1] == []
    assert dry["state"]["raw.erasure_request_ids"][1] == []
    lake_file = str(Path("lake") / "lake.duckdb")
    assert ({k: v for k, v in dry["files"].items() if k != lake_file}
            == {k: v for k, v in forgotten["files_before"].items() if k != lake_file})


def test_dry_run_output_names_each_table_and_count(tmp_path, capsys, forgotten):
    # After the erasure, a dry run finds nothing left to delete.
    code = main(["forget", "--user-id", PERSON, "--lake", str(forgotten["lake"]), "--dry-run"])
    out = capsys.readouterr().out
    assert code == 0
    assert "raw.web_events " in out and "marts.fct_web_events" in out
    assert all(line.split()[-2] == "0" for line in out.splitlines() if line.endswith(" rows"))
    assert out.rstrip().endswith("dry run: nothing was deleted")


def test_a_second_apply_finds_nothing_pending(forgotten):
    assert apply_pending("local", forgotten["lake"], say=lambda _: None) == []


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        ([], "say whom to forget"),
        (["--user-id", "a'b"], "--user-id \"a'b\" is not an id"),
        (["--anonymous-id", ""], "--anonymous-id '' is not an id"),
        (["--ids-file", "missing.txt"], "missing.txt: No such file"),
        (["--ids-file", "ids.txt"], "ids.txt:2: expected 'user_id ID' or 'anonymous_id ID'"),
        (["--user-id", "u-1", "--dry-run", "--defer"], "--defer and --dry-run exclude"),
        (["--apply-pending", "--dry-run"], "--dry-run needs"),
    ],
)
def test_bad_input_is_refused_with_a_one_line_error(tmp_path, capsys, monkeypatch, argv, message):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "ids.txt").write_text("user_id u-1\nemail someone\n")
    code = main(["forget", *argv, "--lake", str(tmp_path / "lake")])
    err = capsys.readouterr().err
    assert code == 1
    assert err.startswith("error: ") and message in err and err.count("\n") == 1
    assert not (tmp_path / "lake" / "lake.duckdb").exists()


def test_a_file_of_ids_files_one_request_each(tmp_path, capsys):
    ids = tmp_path / "ids.txt"
    ids.write_text("# DPO batch 2026-11\nuser_id u-1\nanonymous_id anon-2, \n\n")
    assert main(["forget", "--ids-file", str(ids), "--lake", str(tmp_path), "--defer"]) == 0
    files = sorted((tmp_path / "erasure-requests").glob("*.json"))
    requests = sorted((r["subject_kind"], r["subject_id"], r["status"])
                      for r in (json.loads(f.read_text()) for f in files))
    assert requests == [("anonymous_id", "anon-2", "pending"), ("user_id", "u-1", "pending")]
    # each file is named by its random request id, never by the person's id
    assert sorted(f.stem for f in files) == sorted(
        json.loads(f.read_text())["request_id"] for f in files)
    assert apply_pending("local", tmp_path, now=lambda: APPLIED_AT, say=lambda _: None)
    assert query(tmp_path, "select subject_kind, status from raw.erasure_requests "
                           "order by 1") == [("anonymous_id", "applied"), ("user_id", "applied")]
    assert not list((tmp_path / "erasure-requests").glob("*.json"))


def test_webevents_run_applies_a_pending_request_before_it_builds(tmp_path, sample):
    """A request filed at any time: the next run erases the rows it lands itself, too."""
    from rich.console import Console

    from webevents.local.run import run_pipeline

    lake = tmp_path / "lake"
    assert main(["forget", "--user-id", PERSON, "--lake", str(lake), "--defer"]) == 0
    stream = sorted(sample.glob("stream/*.jsonl"))
    assert any(f'"{PERSON}"'.encode() in path.read_bytes() for path in stream)
    with open(os.devnull, "w") as quiet:
        run_pipeline(lake, [str(p) for p in stream], console=Console(file=quiet))
    for table in ("raw.web_events", "analytics.web_events", "marts.fct_web_events",
                  "marts.dim_identity_ranges"):
        assert query(lake, f"select count(*) from {table} where user_id = '{PERSON}'") == [(0,)]
    assert query(lake, "select count(*) from marts.fct_sessions "
                       f"where stitched_user_id = '{PERSON}'") == [(0,)]
    assert query(lake, "select status from raw.erasure_requests") == [("applied",)]
    [(removed,)] = query(lake, "select rows_removed from raw.erasure_audit")
    assert json.loads(removed)["raw.web_events"] > 0


# ---- an erasure killed at a point and run again ----------------------------------------
# The fast suite stops it at two points (during the dbt re-derive, the reviewer's case, and
# between the audit and the close); tests/e2e/test_interrupted_forget.py at every point.
FAST_POINTS = ["forget.rederiving", "forget.audited"]


def forget_process(lake: Path, failpoint: str | None = None) -> subprocess.CompletedProcess:
    """`webevents forget --apply-pending` as a process of its own, at the fixture's clock."""
    env = {**os.environ, clock.ENV_VAR: APPLIED_AT.isoformat()}
    env.pop(failpoints.ENV_VAR, None)
    if failpoint:
        env[failpoints.ENV_VAR] = failpoint
    webevents = Path(sys.executable).with_name("webevents")
    return subprocess.run([str(webevents), "forget", "--apply-pending", "--lake", str(lake)],
                          env=env, capture_output=True, text=True, timeout=900)


def pending_copy(forgotten: dict, root: Path) -> Path:
    """The fixture's lake with the request pending, and its archive, copied under root (the
    backfill stage names the archive files by path: they now name the copy's)."""
    for folder in ("sample", "lake"):
        shutil.copytree(forgotten["pending"] / folder, root / folder)
    # the lake's audit key, made when the fixture's erasure first needed it
    shutil.copy(forgotten["lake"] / KEY_FILE, root / "lake" / KEY_FILE)
    engine = get_engine("local", lake=root / "lake")
    try:
        for table in ("raw.web_events_backfill_stage", "raw.web_events_backfill_rejects"):
            engine.execute(f"update {table} set source_file = replace(source_file, "
                           f"'{forgotten['root']}/', '{root}/')")
    finally:
        engine.close()
    return root / "lake"


def stop_and_resume(forgotten: dict, reference: Path, root: Path, point: str) -> None:
    """Kill the erasure at `point`, run it again: it ends as the uninterrupted one did."""
    lake = pending_copy(forgotten, root)
    stopped = forget_process(lake, f"{point}:KILL")
    assert stopped.returncode == -signal.SIGKILL, stopped.stderr[-2000:]
    assert query(lake, "select status from raw.erasure_requests") == [("pending",)]
    resumed = forget_process(lake)
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    state = lake_state(lake)
    columns, audit = state["raw.erasure_audit"]  # the archive files it names are the copy's
    state["raw.erasure_audit"] = (columns, [
        tuple(v.replace(f"{root}/", f"{forgotten['root']}/") if isinstance(v, str) else v
              for v in row) for row in audit])
    assert differences(forgotten["state_after"], state) == []  # audit and request included
    assert lines_digest(root / "sample") == forgotten["files_after"]
    [(removed,)] = query(lake, "select rows_removed from raw.erasure_audit")
    assert json.loads(removed) == forgotten["outcome"].rows
    assert_equals_the_build_without_the_person(state, reference)


def differences(expected: dict, actual: dict) -> list[str]:
    """Tables of two lake states whose rows differ (doubles within float noise)."""
    changed = [t for t in sorted(set(expected) ^ set(actual))]
    for table in sorted(set(expected) & set(actual)):
        (columns, rows), (other_columns, other_rows) = expected[table], actual[table]
        try:
            assert columns == other_columns and len(rows) == len(other_rows)
            assert_same_rows(other_rows, rows, columns)
        except AssertionError as error:
            changed.append(f"{table}: {str(error)[:600]} {rows[:1]} != {other_rows[:1]}")
    return changed


@pytest.mark.parametrize("point", FAST_POINTS)
def test_an_erasure_killed_and_run_again_ends_as_if_never_stopped(tmp_path, forgotten,
                                                                  reference, point):
    stop_and_resume(forgotten, reference, tmp_path, point)


def test_the_audit_counts_the_touched_days_of_every_daily_mart(forgotten):
    rows = forgotten["outcome"].rows
    days = {table for table, count in rows.items() if table.endswith(DAYS_REDERIVED)}
    erased_days = {path.name.removeprefix("marts_").removesuffix("_erased_days_delete.sql")
                   for path in run_order(SQL_DIR / "privacy", "erased_days_deletes")}
    assert days == {f"marts.{mart}{DAYS_REDERIVED}" for mart in erased_days}
    assert all(rows[table] > 0 for table in days)


# ---- the mart lists of sql/privacy/run_order.yml follow the dbt project ----------------
# Columns that name a person or a session of theirs.
PERSON_COLUMNS = {"user_id", "anonymous_id", "stitched_user_id", "session_id", "session_key"}
STORED = ("table", "incremental")


def stored_models() -> dict[str, str]:
    """Every dbt model that stores rows (table or incremental), with its SQL: the folder's
    materialisation in dbt_project.yml unless the model's config() names another."""
    import yaml

    project = yaml.safe_load((DBT_DIR / "dbt_project.yml").read_text())["models"]["webevents"]
    models = {}
    for path in sorted((DBT_DIR / "models").rglob("*.sql")):
        sql = path.read_text()
        folder = path.relative_to(DBT_DIR / "models").parts[0]
        own = re.search(r"materialized\s*=\s*'(\w+)'", sql)
        materialized = own[1] if own else project.get(folder, {}).get("+materialized", "view")
        if materialized in STORED:
            models[path.stem] = sql
    return models


def privacy_marts(step: str) -> set[str]:
    return {re.sub(r"^marts_|(_erased_days)?_(delete|optimize)\.sql$", "", path.name)
            for path in run_order(SQL_DIR / "privacy", step)}


def test_every_stored_mart_holding_a_person_column_is_in_the_erasure_lists(forgotten):
    state = forgotten["state_before"]
    models = stored_models()
    assert {"fct_web_events", "fct_sessions", "int_session_boundaries",
            "dim_identity_ranges", "daily_kpis"} <= set(models)
    holding = set()
    for model, sql in models.items():
        if f"marts.{model}" in state:  # built on DuckDB: its real columns
            columns = set(state[f"marts.{model}"][0])
        else:  # built on Athena/Trino only: its SQL and the SQL of what it reads
            refs = re.findall(r"ref\('(\w+)'\)", sql)
            text = sql + "".join((next((DBT_DIR / "models").rglob(f"{r}.sql"))).read_text()
                                 for r in refs)
            columns = set(re.findall(r"\b\w+\b", text))
        if columns & PERSON_COLUMNS:
            holding.add(model)
    assert {"fct_web_events", "fct_sessions", "dim_identity_ranges"} <= holding
    deleted = privacy_marts("mart_deletes") | privacy_marts("erased_days_deletes")
    assert holding - deleted == set(), "add the mart to sql/privacy (run_order.yml)"
    assert deleted <= set(models)  # no list names a mart that is gone
    # every per-event mart re-derived by its days has those days rewritten on Iceberg
    assert privacy_marts("mart_deletes") - set(REBUILT_WHOLE) == privacy_marts(
        "erased_days_optimizes")


# ---- request files, and the watch after an erasure -------------------------------------
def test_a_bad_request_file_is_reported_kept_and_holds_up_no_other_request(tmp_path, capsys):
    assert main(["forget", "--user-id", "u-1", "--lake", str(tmp_path), "--defer"]) == 0
    by_hand = tmp_path / "erasure-requests" / "by-hand.json"
    by_hand.write_text('{"subject_kind": "user_id", "subject_id": "someone@example.org"}\n'
                       '{"request_id": "0f8fad5b-d9cb-469f-a165-70867728950e", '
                       '"subject_kind": "email", "subject_id": "u-2", '
                       '"requested_at": "2026-11-24 10:00:00"}\n')
    code = main(["forget", "--apply-pending", "--lake", str(tmp_path)])
    err = capsys.readouterr().err
    assert code == EXIT_UNREADABLE_REQUESTS  # the daily job builds, then fails at its end
    assert "by-hand.json:1: request_id is not a lowercase uuid" in err
    assert "by-hand.json:2: subject_kind is not one of user_id, anonymous_id" in err
    assert "someone@example.org" not in err and "u-2" not in err  # never echoes an id
    assert by_hand.exists()  # nothing lost: it waits to be fixed
    assert query(tmp_path, "select subject_kind, status from raw.erasure_requests") == [
        ("user_id", "applied")]


def land_again(forgotten: dict, lake: Path) -> int:
    """The person's raw rows as they were before the erasure, landed in `lake` again (as a
    replay of error output written before it would land them); how many."""
    where = person_filter(forgotten["anonymous_ids"])
    engine = get_engine("local", lake=lake)
    try:
        before = forgotten["pending"] / "lake" / "lake.duckdb"
        engine.connection.execute(f"attach '{before}' as before (read_only)")
        engine.connection.execute(
            f"insert into raw.web_events select * from before.raw.web_events where {where}")
        engine.connection.execute("detach before")
        engine.connection.execute("checkpoint")
    finally:
        engine.close()
    return query(lake, f"select count(*) from raw.web_events where {where}")[0][0]


def test_rows_that_land_again_while_watched_are_erased_by_a_follow_up(forgotten, tmp_path):
    """A copy landed after the erasure (a replay of error output written before it, a
    backfill re-run, records buffered in the stream) is erased at the next run; the ids
    go once the watch has ended (D-ERASURE-2)."""
    lake = tmp_path / "lake"
    shutil.copytree(forgotten["lake"], lake)
    where = person_filter(forgotten["anonymous_ids"])
    kept_ids = query(lake, "select id_kind, id from raw.erasure_request_ids order by 1, 2")
    assert ("user_id", PERSON) in kept_ids and len(kept_ids) == 1 + len(
        forgotten["anonymous_ids"])
    said: list[str] = []
    next_day = APPLIED_AT + dt.timedelta(days=1)
    assert apply_pending("local", lake, now=lambda: next_day, say=said.append,
                         rebuild_marts=False) == []  # nothing landed again: nothing to do

    landed_again = land_again(forgotten, lake)
    assert landed_again == forgotten["before"]["raw.web_events"]

    [follow_up] = apply_pending("local", lake, now=lambda: next_day, say=said.append,
                                rebuild_marts=False)
    assert query(lake, f"select count(*) from raw.web_events where {where}") == [(0,)]
    assert follow_up.rows["raw.web_events"] == landed_again
    [(first,)] = query(lake, "select request_id from raw.erasure_audit "
                             f"where request_id != '{follow_up.request.request_id}'")
    assert follow_up.request.identifiers["follows"] == first
    assert any("landed again" in line and first in line for line in said)
    hashes = query(lake, "select distinct subject_kind, subject_hash from raw.erasure_audit")
    assert len(hashes) == 1 and query(lake, "select count(*) from raw.erasure_audit") == [(2,)]
    # the follow-up's copy of the ids went with it; the first request keeps watching
    assert query(lake, "select id_kind, id from raw.erasure_request_ids order by 1, 2") == (
        kept_ids)
    assert query(lake, "select distinct request_id from raw.erasure_request_ids") == [(first,)]

    watch_over = APPLIED_AT + dt.timedelta(days=WATCH_DAYS, seconds=1)
    assert apply_pending("local", lake, now=lambda: watch_over, say=said.append,
                         rebuild_marts=False) == []
    assert query(lake, "select count(*) from raw.erasure_request_ids") == [(0,)]
