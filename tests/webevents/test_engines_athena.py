"""The Athena engine against moto: submission, polling, results, errors and retries.

moto does NOT execute SQL. It records each StartQueryExecution (query text, workgroup,
context, output location), walks the execution through QUEUED -> RUNNING -> SUCCEEDED
(its state manager, set to advance on every poll) and returns result sets injected
through moto's athena query-results API. Failed states with a StateChangeReason and
multi-page results are not modelled by moto, so those tests script them on top of the
moto client (`ScriptedAthena`). What these tests prove is the engine's protocol with
Athena; whether the SQL itself is right is proved on DuckDB and on Trino.
"""

from __future__ import annotations

import datetime as dt

import boto3
import pytest
import requests
from moto import mock_aws
from moto.moto_api import state_manager

from webevents.engines import get_engine
from webevents.engines.athena import AthenaEngine, AthenaQueryError, AthenaSettings

REGION = "eu-west-1"
S3_TABLES = "s3tablescatalog/webevents-test"


@pytest.fixture
def athena(monkeypatch):
    for name in (
        "ATHENA_WORKGROUP",
        "ATHENA_OUTPUT_LOCATION",
        "S3_TABLES_CATALOG",
        "ATHENA_DATABASE",
        "ARCHIVE_DATABASE",
        "DBT_MARTS_DATABASE",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_REGION", REGION)
    with mock_aws():
        client = boto3.client("athena", region_name=REGION)
        client.create_work_group(Name="webevents", Configuration={})
        yield client
    state_manager.unset_transition("athena::execution")


def make_engine(client, sleeps: list[float] | None = None, **options) -> AthenaEngine:
    recorded = sleeps if sleeps is not None else []
    return AthenaEngine(
        client=client,
        sleep=recorded.append,
        workgroup="webevents",
        output_location="s3://webevents-athena-results/",
        s3_tables_catalog=S3_TABLES,
        **options,
    )


def inject_results(rows: list[list[str | None]], columns: list[tuple[str, str]]) -> None:
    """Queue one result set with moto's athena query-results API."""
    payload = {
        "region": REGION,
        "results": [
            {
                "rows": [
                    {"Data": [{} if v is None else {"VarCharValue": v} for v in row]}
                    for row in rows
                ],
                "column_info": [
                    {"Name": name, "Label": name, "Type": kind} for name, kind in columns
                ],
            }
        ],
    }
    response = requests.post(
        "http://motoapi.amazonaws.com/moto-api/static/athena/query-results", json=payload
    )
    assert response.status_code == 201


class ScriptedAthena:
    """The moto client, with scripted final states and paged results on top."""

    def __init__(self, client, final_states=(), page_size=None):
        self.client = client
        self.final_states = list(final_states)  # (state, reason) per submitted statement
        self.scripted: dict[str, tuple[str, str]] = {}
        self.page_size = page_size
        self.seen_states: list[str] = []

    def __getattr__(self, name):
        return getattr(self.client, name)

    def start_query_execution(self, **request):
        response = self.client.start_query_execution(**request)
        if self.final_states:
            self.scripted[response["QueryExecutionId"]] = self.final_states.pop(0)
        return response

    def get_query_execution(self, QueryExecutionId):  # noqa: N803 (boto3 argument name)
        response = self.client.get_query_execution(QueryExecutionId=QueryExecutionId)
        if QueryExecutionId in self.scripted:
            state, reason = self.scripted[QueryExecutionId]
            response["QueryExecution"]["Status"].update(State=state, StateChangeReason=reason)
        self.seen_states.append(response["QueryExecution"]["Status"]["State"])
        return response

    def get_query_results(self, QueryExecutionId, MaxResults=1000, NextToken=None):  # noqa: N803
        full = self.client.get_query_results(QueryExecutionId=QueryExecutionId)
        rows = full["ResultSet"]["Rows"]
        size = self.page_size or len(rows) or 1
        start = int(NextToken or 0)
        page = dict(full)
        page["ResultSet"] = dict(full["ResultSet"], Rows=rows[start : start + size])
        if start + size < len(rows):
            page["NextToken"] = str(start + size)
        return page


def test_statement_is_submitted_with_workgroup_context_and_output(athena):
    engine = make_engine(athena)
    engine.execute("insert into analytics.web_events select * from raw.web_events;")
    execution = athena.get_query_execution(QueryExecutionId=engine.last_query_execution_id)[
        "QueryExecution"
    ]
    assert execution["Query"] == "insert into analytics.web_events select * from raw.web_events"
    assert execution["WorkGroup"] == "webevents"
    assert execution["QueryExecutionContext"] == {"Catalog": S3_TABLES, "Database": "analytics"}
    assert execution["ResultConfiguration"]["OutputLocation"].startswith(
        "s3://webevents-athena-results/"
    )


def test_ddl_for_a_glue_database_runs_in_the_glue_catalog(athena):
    engine = make_engine(athena)
    engine.execute("create external table archive.lines (line string) location 's3://a/'")
    execution = athena.get_query_execution(QueryExecutionId=engine.last_query_execution_id)
    assert execution["QueryExecution"]["QueryExecutionContext"] == {
        "Catalog": "AwsDataCatalog",
        "Database": "archive",
    }


def test_tables_of_the_other_catalog_are_qualified(athena):
    engine = make_engine(athena)
    engine.execute(
        'insert into raw.web_events_backfill_stage select line from "archive".web_events_archive'
    )
    execution = athena.get_query_execution(QueryExecutionId=engine.last_query_execution_id)
    assert execution["QueryExecution"]["Query"] == (
        "insert into raw.web_events_backfill_stage "
        'select line from "AwsDataCatalog"."archive".web_events_archive'
    )


def test_schemas_map_to_this_stacks_glue_databases(athena):
    engine = make_engine(
        athena, schema_names={"archive": "webevents_dev_archive", "marts": "webevents_dev_marts"}
    )
    engine.execute(
        "insert into raw.web_events_backfill_stage select line from archive.web_events_archive"
    )
    execution = athena.get_query_execution(QueryExecutionId=engine.last_query_execution_id)
    assert execution["QueryExecution"]["Query"] == (
        "insert into raw.web_events_backfill_stage "
        'select line from "AwsDataCatalog".webevents_dev_archive.web_events_archive'
    )
    engine.execute("vacuum marts.fct_web_events")
    execution = athena.get_query_execution(QueryExecutionId=engine.last_query_execution_id)
    assert execution["QueryExecution"]["Query"] == "vacuum webevents_dev_marts.fct_web_events"
    assert execution["QueryExecution"]["QueryExecutionContext"] == {
        "Catalog": "AwsDataCatalog",
        "Database": "webevents_dev_marts",
    }
    engine.execute("create database if not exists archive")
    execution = athena.get_query_execution(QueryExecutionId=engine.last_query_execution_id)
    assert execution["QueryExecution"]["Query"] == (
        "create database if not exists webevents_dev_archive"
    )


def test_polling_waits_through_queued_and_running_with_backoff(athena):
    state_manager.set_transition("athena::execution", {"progression": "manual", "times": 2})
    recorder = ScriptedAthena(athena)
    sleeps: list[float] = []
    engine = make_engine(recorder, sleeps, poll_first_delay=1.0, poll_max_delay=2.0)
    engine.execute("delete from raw.web_events where event_date = date '2024-01-01'")
    assert recorder.seen_states[0] == "QUEUED"
    assert "RUNNING" in recorder.seen_states
    assert recorder.seen_states[-1] == "SUCCEEDED"
    # one wait per unfinished poll, growing by 1.6x up to the cap
    assert sleeps == [1.0, 1.6, 2.0, 2.0, 2.0][: len(recorder.seen_states) - 1]


def test_query_returns_typed_rows_without_the_header_row(athena):
    inject_results(
        [
            ["event_date", "events", "share", "is_bot", "first_seen"],
            ["2024-01-01", "12", "0.5", "true", "2024-01-01 00:00:01.123000"],
            ["2024-01-02", None, "0.25", "false", None],
        ],
        [
            ("event_date", "date"),
            ("events", "bigint"),
            ("share", "double"),
            ("is_bot", "boolean"),
            ("first_seen", "timestamp"),
        ],
    )
    columns, rows = make_engine(athena).query("select * from analytics.daily")
    assert columns == ["event_date", "events", "share", "is_bot", "first_seen"]
    assert rows == [
        (dt.date(2024, 1, 1), 12, 0.5, True, dt.datetime(2024, 1, 1, 0, 0, 1, 123000)),
        (dt.date(2024, 1, 2), None, 0.25, False, None),
    ]


def test_query_reads_every_result_page(athena):
    inject_results(
        [["n"]] + [[str(i)] for i in range(7)],
        [("n", "integer")],
    )
    engine = make_engine(ScriptedAthena(athena, page_size=3))
    _, rows = engine.query("select n from analytics.numbers")
    assert [n for (n,) in rows] == list(range(7))


def test_failure_names_the_statement_and_athenas_reason(athena):
    scripted = ScriptedAthena(
        athena, [("FAILED", "COLUMN_NOT_FOUND: line 1:8: Column 'nope' cannot be resolved")]
    )
    with pytest.raises(AthenaQueryError) as raised:
        make_engine(scripted).query("select nope from analytics.web_events")
    message = str(raised.value)
    assert "COLUMN_NOT_FOUND" in message
    assert "select nope from analytics.web_events" in message
    assert raised.value.query_execution_id


def test_iceberg_commit_conflict_is_retried_with_backoff(athena):
    conflict = ("FAILED", "ICEBERG_COMMIT_ERROR: Failed to commit Iceberg update to table")
    scripted = ScriptedAthena(athena, [conflict, conflict, ("SUCCEEDED", None)])
    sleeps: list[float] = []
    engine = make_engine(scripted, sleeps, commit_retry_first_delay=3.0)
    engine.execute(
        "merge into analytics.web_events as t using raw.web_events as s "
        "on t.event_id = s.event_id when matched then delete"
    )
    assert sleeps == [3.0, 6.0]
    submitted = athena.list_query_executions(WorkGroup="webevents")["QueryExecutionIds"]
    assert len(submitted) == 3


def test_commit_conflicts_give_up_after_the_last_attempt(athena):
    conflict = ("FAILED", "ICEBERG_COMMIT_ERROR: Failed to commit")
    scripted = ScriptedAthena(athena, [conflict] * 3)
    with pytest.raises(AthenaQueryError, match="after 3 attempts"):
        make_engine(scripted, commit_retry_attempts=3).execute("delete from raw.web_events")


def test_other_failures_are_not_retried(athena):
    scripted = ScriptedAthena(athena, [("FAILED", "SYNTAX_ERROR: line 1:1"), ("SUCCEEDED", None)])
    with pytest.raises(AthenaQueryError, match="SYNTAX_ERROR"):
        make_engine(scripted).execute("delete fro raw.web_events")
    assert len(athena.list_query_executions(WorkGroup="webevents")["QueryExecutionIds"]) == 1


def test_a_query_running_too_long_is_stopped(athena):
    state_manager.set_transition("athena::execution", {"progression": "manual", "times": 1000})
    engine = make_engine(athena, poll_first_delay=10.0, timeout_seconds=25.0)
    with pytest.raises(AthenaQueryError, match="timed out"):
        engine.execute("select 1")
    status = athena.get_query_execution(QueryExecutionId=engine.last_query_execution_id)
    assert status["QueryExecution"]["Status"]["State"] == "CANCELLED"


def test_settings_come_from_the_environment(monkeypatch):
    monkeypatch.setenv("ATHENA_WORKGROUP", "wg-prod")
    monkeypatch.setenv("S3_TABLES_CATALOG", "s3tablescatalog/prod-bucket")
    monkeypatch.setenv("ATHENA_OUTPUT_LOCATION", "s3://results/prod/")
    monkeypatch.setenv("ARCHIVE_DATABASE", "webevents_prod_archive")
    settings = AthenaSettings.from_env(database="raw")
    assert settings.physical("archive") == "webevents_prod_archive"
    assert settings.physical("raw") == "raw"
    assert (settings.workgroup, settings.output_location, settings.database) == (
        "wg-prod",
        "s3://results/prod/",
        "raw",
    )
    assert settings.catalog_for("analytics") == "s3tablescatalog/prod-bucket"
    assert settings.catalog_for("marts") == "AwsDataCatalog"


def test_get_engine_builds_the_athena_engine(athena):
    engine = get_engine("athena", client=athena, workgroup="webevents")
    assert isinstance(engine, AthenaEngine)
    assert engine.settings.workgroup == "webevents"


def test_the_newest_event_date_is_read_from_the_iceberg_metadata_table(athena):
    """`webevents arrivals newest-date --engine athena`: one query on "web_events$partitions"
    in the S3 Tables catalog (no data file), the date for the dbt data tests' window."""
    from webevents.jobs import arrivals

    engine = make_engine(athena)
    inject_results([["newest_event_date"], ["2026-11-20"]], [("newest_event_date", "varchar")])
    assert arrivals.newest_event_date(engine) == dt.date(2026, 11, 20)
    execution = athena.get_query_execution(QueryExecutionId=engine.last_query_execution_id)[
        "QueryExecution"
    ]
    body = " ".join(line for line in execution["Query"].splitlines()
                    if not line.startswith("--"))
    assert " ".join(body.split()) == (
        'select cast(max("partition".event_date) as varchar) as newest_event_date '
        'from analytics."web_events$partitions"'
    )
    assert execution["QueryExecutionContext"] == {"Catalog": S3_TABLES, "Database": "analytics"}
