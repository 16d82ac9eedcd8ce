"""`webevents forget --engine athena`: the statements sent to Athena, in order, checked with
botocore's Stubber (every call and its parameters). Whether the SQL is right is proved on
DuckDB (test_forget.py) and on Trino (tests/trino/test_erasure_on_trino.py)."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import io
import json
import uuid
from pathlib import Path

import boto3
import pytest
from botocore.stub import ANY, Stubber

from webevents import DBT_DIR, SQL_DIR
from webevents.jobs.forget import ARCHIVE_DATABASE_SQL, apply_pending, dry_run, request_params

REGION = "eu-west-1"
S3_TABLES = "s3tablescatalog/webevents-dev-tables"
MARTS = "webevents_dev_marts"
SETTINGS = {"workgroup": "webevents-dev", "s3_tables_catalog": S3_TABLES}


REQUESTS_BUCKET = "webevents-dev-erasure-requests"
REQUEST_ID = "0f8fad5b-d9cb-469f-a165-70867728950e"
REQUEST_KEY = f"requests/{REQUEST_ID}.json"
# The one place the person's id travels: the request file (S3 object body), never a statement.
REQUEST_LINE = json.dumps({"request_id": REQUEST_ID, "subject_kind": "user_id",
                           "subject_id": "u-9", "requested_at": "2026-11-24 10:00:00.000"})


@pytest.fixture
def athena(monkeypatch):
    for name in ("ATHENA_WORKGROUP", "ATHENA_OUTPUT_LOCATION", "S3_TABLES_CATALOG",
                 "ATHENA_DATABASE", "ARCHIVE_DATABASE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("DBT_MARTS_DATABASE", MARTS)
    monkeypatch.setenv("ERASURE_REQUESTS_S3_LOCATION", f"s3://{REQUESTS_BUCKET}/requests/")
    client = boto3.client("athena", region_name=REGION, aws_access_key_id="testing",
                          aws_secret_access_key="testing")
    sent: list[dict] = []
    client.meta.events.register(
        "provide-client-params.athena.StartQueryExecution",
        lambda params, **_: sent.append(dict(params)))
    with Stubber(client) as stubber:
        yield client, stubber, sent
        stubber.assert_no_pending_responses()


@pytest.fixture
def s3():
    """The request location's S3 calls (list, read, delete), each checked by the Stubber."""
    client = boto3.client("s3", region_name=REGION, aws_access_key_id="testing",
                          aws_secret_access_key="testing")
    with Stubber(client) as stubber:
        yield client, stubber
        stubber.assert_no_pending_responses()


def expect_request_files(stubber, lines: dict[str, str]) -> None:
    """One read of the request location holding `lines` (key -> body), and the delete of
    the filed ones."""
    stubber.add_response(
        "list_objects_v2",
        {"IsTruncated": False, "Contents": [{"Key": key} for key in sorted(lines)]},
        {"Bucket": REQUESTS_BUCKET, "Prefix": "requests/"})
    for key in sorted(lines):
        stubber.add_response("get_object", {"Body": _body(lines[key])},
                             {"Bucket": REQUESTS_BUCKET, "Key": key})
    if lines:
        stubber.add_response(
            "delete_objects", {"Deleted": [{"Key": key} for key in sorted(lines)]},
            {"Bucket": REQUESTS_BUCKET,
             "Delete": {"Objects": [{"Key": key} for key in sorted(lines)], "Quiet": True}})


def _body(text: str):
    from botocore.response import StreamingBody

    data = (text + "\n").encode()
    return StreamingBody(io.BytesIO(data), len(data))


def assert_no_id_in_any_statement(sent: list[dict], *ids: str) -> None:
    """The contract of D-PRIV-6: Athena's query history and CloudTrail keep statement texts
    past the deadline, so no statement may carry a person's id."""
    for call in sent:
        for value in ids:
            assert value not in call["QueryString"], (value, call["QueryString"][:300])


def expect_query(stubber, number: int, columns: list[str] | None = None,
                 rows: list[list[str | None]] | None = None, failure: str | None = None,
                 update_count: int | None = None, context: dict | None = None,
                 write: bool = True) -> None:
    """One statement's calls: start, one poll, then its results (query) or UpdateCount
    (write=False: DDL such as OPTIMIZE, whose results the engine does not read)."""
    query_id = f"q-{number}"
    stubber.add_response(
        "start_query_execution", {"QueryExecutionId": query_id},
        {"QueryString": ANY, "QueryExecutionContext": context or ANY,
         "WorkGroup": "webevents-dev", "ClientRequestToken": ANY})
    status = ({"State": "FAILED", "StateChangeReason": failure} if failure
              else {"State": "SUCCEEDED"})
    stubber.add_response("get_query_execution", {"QueryExecution": {"Status": status}},
                         {"QueryExecutionId": query_id})
    if failure or not write:
        return
    if columns is None:  # a write: the engine asks for the UpdateCount only
        stubber.add_response("get_query_results",
                             {"ResultSet": {"Rows": []}, "UpdateCount": update_count or 0},
                             {"QueryExecutionId": query_id, "MaxResults": 1})
        return
    header = {"Data": [{"VarCharValue": c} for c in columns]}
    body = [{"Data": [{} if v is None else {"VarCharValue": v} for v in row]}
            for row in rows or []]
    info = [{"Name": c, "Label": c, "Type": "bigint" if c.endswith("rows") else "varchar"}
            for c in columns]
    stubber.add_response(
        "get_query_results",
        {"ResultSet": {"Rows": [header, *body], "ResultSetMetadata": {"ColumnInfo": info}}},
        {"QueryExecutionId": query_id, "MaxResults": 1000})


@pytest.fixture
def fixed_request_id(monkeypatch):
    """The request id a new request file gets (uuid4 otherwise)."""
    from webevents.jobs import erasure_requests

    monkeypatch.setattr(erasure_requests.uuid, "uuid4", lambda: uuid.UUID(REQUEST_ID))


def test_dry_run_on_athena_resolves_in_the_tables_and_removes_its_request(
        athena, s3, fixed_request_id, capsys):
    client, stubber, sent = athena
    s3_client, s3_stubber = s3
    expect_query(stubber, 1, ["_col0"], [["0"]])  # marts.fct_web_events exists
    expect_query(stubber, 2, ["_col0"], [["0"]])  # marts.dim_identity_ranges exists
    s3_stubber.add_response("put_object", {}, {"Bucket": REQUESTS_BUCKET, "Key": REQUEST_KEY,
                                               "Body": ANY})
    dry_line = json.dumps({"request_id": REQUEST_ID, "subject_kind": "anonymous_id",
                           "subject_id": "anon-1", "requested_at": "2026-11-24 10:00:00.000",
                           "status": "dry_run"})
    expect_request_files(s3_stubber, {REQUEST_KEY: dry_line})
    expect_query(stubber, 3, write=False)  # the archive's Glue database
    expect_query(stubber, 4, write=False)  # the request files' external table
    expect_query(stubber, 5, update_count=1)  # filed (status dry_run)
    for number in (6, 7, 8):  # subject, stitched, stitched from the marts
        expect_query(stubber, number, update_count=1 if number == 6 else 0)
    expect_query(stubber, 9, ["id_kind", "id"], [["device_id", "anon-1"]])
    expect_query(stubber, 10, ["erased_table", "erased_rows"],
                 [["raw.web_events", "12"], ["analytics.web_events", "11"]])
    expect_query(stubber, 11, ["event_date"], [["2026-11-20"]])
    expect_query(stubber, 12, ["erased_table", "erased_rows"], [["marts.fct_web_events", "11"]])
    expect_query(stubber, 13, ["event_date"], [["2026-11-19"]])
    expect_query(stubber, 14, ["erased_table", "erased_rows"], [["marts.daily_kpis", "2"]])
    expect_query(stubber, 15, ["source_file"], [["s3://archive/dt=2026-11-19/a.jsonl.gz"]])
    expect_query(stubber, 16, update_count=1)  # its ids deleted
    expect_query(stubber, 17, update_count=1)  # its request deleted
    [outcome] = dry_run("athena", None, [("anonymous_id", "anon-1")], s3=s3_client,
                        client=client, sleep=lambda _: None, **SETTINGS)
    assert outcome.rows == {"raw.web_events": 12, "analytics.web_events": 11,
                            "marts.fct_web_events": 11, "marts.daily_kpis (days re-derived)": 2}
    assert outcome.dates == [dt.date(2026, 11, 19), dt.date(2026, 11, 20)]
    assert outcome.archive_files == ["s3://archive/dt=2026-11-19/a.jsonl.gz"]
    assert outcome.identifiers.device_ids == ["anon-1"]
    statements = [p["QueryString"].lower() for p in sent]
    assert_no_id_in_any_statement(sent, "anon-1")
    # it deletes nothing but its own dry-run request and ids
    deletes = [s for s in statements if "\ndelete from" in s or s.startswith("delete from")]
    assert len(deletes) == 2 and "status = 'dry_run'" in deletes[0] and (
        "status = 'dry_run'" in deletes[1])
    assert not any("update " in s for s in statements)
    # marts are the stack's Glue database, read from the S3 Tables context by catalog name
    assert f'"awsdatacatalog".{MARTS}.fct_web_events' in statements[0]
    assert f"request_id = '{REQUEST_ID}'" in statements[9]


def test_apply_on_athena_without_marts_deletes_audits_and_closes_the_request(
        athena, s3, monkeypatch):
    client, stubber, sent = athena
    s3_client, s3_stubber = s3
    monkeypatch.setenv("WEBEVENTS_ERASURE_KEY", "test-key")
    expect_request_files(s3_stubber, {REQUEST_KEY: REQUEST_LINE})
    expect_query(stubber, 1, write=False)  # the archive's Glue database
    expect_query(stubber, 2, write=False)  # the request files' external table
    expect_query(stubber, 3, update_count=1)  # filed
    expect_query(stubber, 4, update_count=0)  # ids no request needs
    expect_query(stubber, 5, update_count=0)  # dry runs
    expect_query(stubber, 6, ["request_id"], [])  # no request watched
    expect_query(stubber, 7, ["request_id", "subject_kind", "subject_id", "requested_at",
                              "identifiers"],
                 [[REQUEST_ID, "user_id", "u-9", "2026-11-24 10:00:00.000", None]])
    expect_query(stubber, 8, failure="TABLE_NOT_FOUND: marts.fct_web_events")  # no marts yet
    expect_query(stubber, 9, update_count=1)  # the subject's id kept
    expect_query(stubber, 10, update_count=1)  # the stitched anonymous id kept
    expect_query(stubber, 11, ["id_kind", "id"], [["anonymous_id", "anon-9"],
                                                  ["user_id", "u-9"]])
    expect_query(stubber, 12, ["erased_table", "erased_rows"], [["raw.web_events", "7"]])
    expect_query(stubber, 13, ["event_date"], [["2026-11-20"]])
    expect_query(stubber, 14, ["source_file"], [])  # no archive file holds the person
    expect_query(stubber, 15, update_count=1)  # dates, rows kept on the request
    for number, count in zip(range(16, 21), (7, 6, 5, 1, 1), strict=True):
        expect_query(stubber, number, update_count=count)  # 4 deletes + the loads merge
    expect_query(stubber, 21, update_count=1)  # audit row
    expect_query(stubber, 22, update_count=1)  # request closed
    [outcome] = apply_pending("athena", None, now=lambda: dt.datetime(2026, 11, 25, 2),
                              say=lambda _: None, s3=s3_client, client=client,
                              sleep=lambda _: None, **SETTINGS)
    statements = [p["QueryString"] for p in sent]
    assert_no_id_in_any_statement(sent, "u-9", "anon-9")
    assert f"in ('{REQUEST_ID}')" in statements[2]  # filed by request id only
    assert statements[6].lstrip().lower().startswith("-- requests still to apply")
    assert '"dates": ["2026-11-20"]' in statements[14] and "update raw.erasure_requests" in (
        statements[14])
    deletes = [next(line for line in s.lower().splitlines()
                    if line.startswith(("delete", "merge"))) for s in statements[15:20]]
    assert deletes == ["delete from raw.web_events", "delete from analytics.web_events",
                       "delete from raw.web_events_backfill_stage",
                       "delete from raw.web_events_backfill_rejects",
                       "merge into raw.web_events_backfill_loads as loads"]
    assert (f"where kept.request_id = '{REQUEST_ID}' and kept.id_kind = 'anonymous_id'"
            in statements[15])
    audit = statements[20]
    assert "merge into raw.erasure_audit" in audit
    assert "subject_id = null" in statements[21] and f"'{REQUEST_ID}'" in statements[21]
    assert outcome.rows["raw.web_events"] == 7
    assert outcome.identifiers.all() == ["anon-9", "u-9"]
    gone = outcome.last_copy_gone
    assert gone["analytics.web_events (S3 Tables)"] == "2026-12-16"
    assert json.dumps(gone, sort_keys=True) in audit


def test_athena_without_a_region_is_a_one_line_error(monkeypatch, capsys, tmp_path):
    from webevents.cli import main

    for name in ("AWS_REGION", "AWS_DEFAULT_REGION", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    code = main(["forget", "--user-id", "u-1", "--engine", "athena", "--dry-run"])
    err = capsys.readouterr().err
    assert code == 1 and err.startswith("error: ") and err.count("\n") == 1
    assert "region" in err.lower()


# ---- the path prod takes once the marts exist --------------------------------------------
RAW = {"Catalog": S3_TABLES, "Database": "raw"}
READ = {"Catalog": S3_TABLES, "Database": "analytics"}  # a query runs in the default database
GLUE_MARTS = {"Catalog": "AwsDataCatalog", "Database": MARTS}
ARCHIVE = {"Catalog": "AwsDataCatalog", "Database": "archive"}
IDS = request_params(REQUEST_ID)
DAYS = {"date_list": "date '2026-11-19', date '2026-11-20'"}
ARCHIVE_FILE = "s3://archive-bucket/events/dt=2026-11-19/part-0007.jsonl.gz"
# what the first attempt read (the counts Athena returns below), kept on the request
PLANNED_ROWS = {"raw.web_events": 7, "analytics.web_events": 6,
                "raw.web_events_backfill_stage": 5, "raw.web_events_backfill_rejects": 1,
                "marts.fct_web_events": 6, "marts.int_session_boundaries": 6,
                "marts.fct_sessions": 2, "marts.dim_identity_ranges": 1,
                "marts.bot_traffic_daily (days re-derived)": 14,
                "marts.daily_kpis (days re-derived)": 2,
                "marts.journey_funnel_daily (days re-derived)": 9,
                "marts.quality_check_failures_daily (days re-derived)": 4,
                "marts.quality_scores_daily (days re-derived)": 2,
                "marts.spatial_room_engagement_daily (days re-derived)": 40}
# no ids: they are in raw.erasure_request_ids
KEPT = json.dumps({"archive_files": [ARCHIVE_FILE], "dates": ["2026-11-19", "2026-11-20"],
                   "rows": PLANNED_ROWS}, sort_keys=True)
PENDING = ["request_id", "subject_kind", "subject_id", "requested_at", "identifiers"]


def sent_as(name: str, params: dict[str, str]) -> str:
    """A sql/privacy file as the Athena engine submits it with these parameters."""
    from webevents.engines.athena import AthenaEngine
    from webevents.jobs.sql import default_params, render, single_statement

    path = name if isinstance(name, Path) else SQL_DIR / "privacy" / name
    sql = single_statement(path, render(path, {**default_params(), **params}))
    return AthenaEngine(client=object(), **SETTINGS).prepare(sql.strip().rstrip(";"))


def marts_path(plan_kept: bool) -> list[tuple]:
    """Every statement of one request on Athena with marts, in order: (file or SQL,
    parameters, QueryExecutionContext, what Athena answers)."""
    counts = ["erased_table", "erased_rows"]
    landed = [[t, str(PLANNED_ROWS[t])] for t in ("raw.web_events", "analytics.web_events",
                                                   "raw.web_events_backfill_stage",
                                                   "raw.web_events_backfill_rejects")]
    per_event = [[t, str(PLANNED_ROWS[t])] for t in (
        "marts.fct_web_events", "marts.int_session_boundaries", "marts.fct_sessions",
        "marts.dim_identity_ranges")]
    days = [[t.removesuffix(" (days re-derived)"), str(n)] for t, n in PLANNED_ROWS.items()
            if t.endswith("(days re-derived)")]
    ended = {"watch_ended_before": "2026-11-04 02:00:00.000000"}
    steps: list[tuple] = [] if plan_kept else [
        (ARCHIVE_DATABASE_SQL, {}, None, None),
        ("erasure_request_files_create.sql",
         {"erasure_requests_location": f"s3://{REQUESTS_BUCKET}/requests/"}, ARCHIVE, None),
        ("erasure_requests_from_files_insert.sql", {"request_id_list": f"'{REQUEST_ID}'"},
         RAW, 1)]
    steps += [
        ("erasure_request_ids_expired_delete.sql", ended, RAW, 0),
        ("erasure_requests_dry_run_delete.sql", {}, RAW, 0),
        ("erasure_requests_watched_select.sql", ended, READ, (["request_id"], [])),
        ("erasure_requests_pending_select.sql", {}, READ,
         (PENDING, [[REQUEST_ID, "user_id", "u-9", "2026-11-24 10:00:00.000",
                     KEPT if plan_kept else None]])),
        ("select count(*) from marts.fct_web_events where false", None, READ,
         (["_col0"], [["0"]])),
        ("select count(*) from marts.dim_identity_ranges where false", None, READ,
         (["_col0"], [["0"]])),
    ]
    if not plan_kept:
        steps += [(name, IDS, RAW, 1) for name in (
            "erasure_request_ids_subject_insert.sql", "erasure_request_ids_stitched_insert.sql",
            "erasure_request_ids_stitched_marts_insert.sql")]
    steps += [("erasure_request_ids_select.sql", {"request_id": REQUEST_ID}, READ,
               (["id_kind", "id"], [["anonymous_id", "anon-9"], ["user_id", "u-9"]]))]
    if not plan_kept:
        steps += [
            ("erasure_rows_select.sql", IDS, READ, (counts, landed)),
            ("erasure_dates_select.sql", IDS, READ, (["event_date"], [["2026-11-20"]])),
            ("erasure_rows_marts_select.sql", IDS, READ, (counts, per_event)),
            # a session that started the day before its event
            ("erasure_dates_marts_select.sql", IDS, READ,
             (["event_date"], [["2026-11-19"], ["2026-11-20"]])),
            ("erasure_rows_erased_days_select.sql", DAYS, READ, (counts, days)),
            ("erasure_archive_files_select.sql", IDS, READ, (["source_file"], [[ARCHIVE_FILE]])),
            ("erasure_requests_plan_update.sql",
             {"request_id": REQUEST_ID, "identifiers_json": KEPT}, RAW, 1),
        ]
    steps += [(name, IDS, GLUE_MARTS, 1) for name in (
        "marts_int_session_boundaries_delete.sql", "marts_fct_sessions_delete.sql",
        "marts_fct_web_events_delete.sql", "marts_dim_identity_ranges_delete.sql")]
    steps += [(name, IDS, RAW, 1) for name in (
        "raw_web_events_delete.sql", "analytics_web_events_delete.sql",
        "raw_web_events_backfill_stage_delete.sql", "raw_web_events_backfill_rejects_delete.sql",
        "raw_web_events_backfill_loads_erased_merge.sql")]
    steps[-4] = ("analytics_web_events_delete.sql", IDS,
                 {"Catalog": S3_TABLES, "Database": "analytics"}, 1)
    steps += [(f"marts_{mart}_erased_days_delete.sql", DAYS, GLUE_MARTS, 1) for mart in (
        "bot_traffic_daily", "daily_kpis", "quality_check_failures_daily",
        "quality_scores_daily", "journey_funnel_daily", "spatial_room_engagement_daily")]
    steps += [("select max(event_date) from marts.fct_web_events", None, READ,
               (["_col0"], [["2026-11-24"]]))]
    steps += [(f"marts_{mart}_erased_days_optimize.sql", DAYS, GLUE_MARTS, None) for mart in (
        "int_session_boundaries", "fct_web_events", "fct_sessions")]
    steps += [("erasure_audit_merge.sql", AUDIT, RAW, 1),
              ("erasure_requests_applied_update.sql",
               {"request_id": REQUEST_ID, "applied_at": "2026-11-25 02:00:00.000000"}, RAW, 1)]
    return steps


AUDIT = {
    "request_id": REQUEST_ID, "subject_kind": "user_id",
    "subject_hash": hmac.new(b"test-key", b"user_id:u-9", hashlib.sha256).hexdigest(),
    "requested_at": "2026-11-24 10:00:00.000000", "applied_at": "2026-11-25 02:00:00.000000",
    "engine": "athena", "identifier_count": "2",
    "rows_removed_json": json.dumps(PLANNED_ROWS, sort_keys=True),
    "last_copy_gone_json": json.dumps({
        "Athena query results (S3)": "2026-12-04",
        "Firehose error output (S3)": "2026-12-21",
        "analytics.web_events (S3 Tables)": "2026-12-16",
        "marts (Glue Iceberg)": "2026-12-17",
        "raw backfill stage, rejects, erasure tables (S3 Tables)": "2026-12-07",
        "raw.web_events (S3 Tables)": "2026-12-09",
        "WAF logs (CloudWatch Logs)": "2026-12-12",
        "transform Lambda logs (CloudWatch Logs)": "2026-12-12",
        "Firehose delivery error logs (CloudWatch Logs)": "2026-12-12",
        "daily job build logs (CloudWatch Logs)": "2026-12-12",
        "API Gateway execution logs (CloudWatch Logs)": "2026-12-12",
        "Kinesis ingest stream": "2026-11-27",
        "erasure request files (S3)": "2026-11-25",
        # the request's ids, kept while it is watched (D-ERASURE-2): within the deadline
        "erasure request ids (S3 Tables, while watched for copies landing again)":
            "2026-12-24"},
        sort_keys=True),
    "last_copy_gone_by": "2026-12-21", "archive_files_json": json.dumps([ARCHIVE_FILE])}


@pytest.fixture
def dbt_calls(monkeypatch):
    """The dbt command lines the erasure would run (dbt is never run against AWS here)."""
    from webevents.jobs import forget
    from webevents.local.dbt_runner import DbtResult, dbt_command

    calls: list[dict] = []

    def record(args, work, env=None, cwd=None, **popen):
        calls.append({"command": dbt_command(args, work), "env": env, "cwd": cwd,
                      "ends_with_the_erasure": "preexec_fn" in popen})
        return DbtResult(0, "Completed successfully", None)

    monkeypatch.setattr(forget, "run_dbt", record)
    return calls


@pytest.mark.parametrize("plan_kept", [False, True], ids=["first attempt", "re-run"])
def test_apply_on_athena_with_marts_sends_every_statement_in_order(
        athena, s3, monkeypatch, dbt_calls, plan_kept):
    """Prod's path: plan kept, mart and source deletes, touched days deleted and re-derived
    by dbt, OPTIMIZE, audit, close. A re-run (the plan kept by an attempt that was killed)
    reads nothing again and deletes, re-derives and audits the same."""
    client, stubber, sent = athena
    s3_client, s3_stubber = s3
    monkeypatch.setenv("WEBEVENTS_ERASURE_KEY", "test-key")
    expect_request_files(s3_stubber, {} if plan_kept else {REQUEST_KEY: REQUEST_LINE})
    steps = marts_path(plan_kept)
    for number, (_, _, context, answer) in enumerate(steps, start=1):
        if isinstance(answer, tuple):
            expect_query(stubber, number, *answer, context=context)
        else:
            expect_query(stubber, number, update_count=answer, context=context,
                         write=answer is not None)
    [outcome] = apply_pending("athena", None, now=lambda: dt.datetime(2026, 11, 25, 2),
                              say=lambda _: None, s3=s3_client, client=client,
                              sleep=lambda _: None, **SETTINGS)

    assert_no_id_in_any_statement(sent, "u-9", "anon-9")
    assert len(sent) == len(steps)
    for call, (name, params, context, _) in zip(sent, steps, strict=True):
        name = str(name)
        expected = sent_as(name, params) if name.endswith(".sql") else name
        if not name.endswith(".sql"):  # the engine's own probes: marts named as prod's
            expected = expected.replace("marts.", f'"AwsDataCatalog".{MARTS}.')
        assert call["QueryString"] == expected, name
        if context is not None:
            assert call["QueryExecutionContext"] == context, name
        assert call["WorkGroup"] == "webevents-dev"
    by_file = {name: call["QueryString"] for call, (name, *_) in zip(sent, steps, strict=True)}
    # the touched days: event and session-start dates, in the deletes and the OPTIMIZEs
    assert by_file["marts_daily_kpis_erased_days_delete.sql"].endswith(
        "where kpi_date in (date '2026-11-19', date '2026-11-20')")
    assert by_file["marts_fct_web_events_erased_days_optimize.sql"].endswith(
        f"optimize {MARTS}.fct_web_events rewrite data using bin_pack\n"
        "where event_date in (date '2026-11-19', date '2026-11-20')")
    audit = by_file["erasure_audit_merge.sql"]
    assert f"'{json.dumps(PLANNED_ROWS, sort_keys=True)}' as rows_removed" in audit
    assert f"""'["{ARCHIVE_FILE}"]' as archive_files""" in audit
    if not plan_kept:
        assert f"set identifiers = '{KEPT}'" in by_file["erasure_requests_plan_update.sql"]
    # dbt re-derives from the earliest touched day to the newest built one (6 days)
    assert [call["command"][2:call["command"].index("--project-dir")] for call in dbt_calls] == [
        ["run", "--full-refresh", "--select", "dim_identity_ranges", "--target", "prod"],
        ["run", "--vars", '{"lookback_days": 6}', "--target", "prod"]]
    assert all(call["cwd"] == DBT_DIR and call["ends_with_the_erasure"] for call in dbt_calls)
    assert {call["env"]["DBT_SEND_ANONYMOUS_USAGE_STATS"] for call in dbt_calls} == {"false"}
    assert outcome.rows == PLANNED_ROWS
    assert outcome.dates == [dt.date(2026, 11, 19), dt.date(2026, 11, 20)]
    assert outcome.archive_files == [ARCHIVE_FILE]
