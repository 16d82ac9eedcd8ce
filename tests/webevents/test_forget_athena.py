"""`webevents forget --engine athena`: the statements sent to Athena, in order, checked with
botocore's Stubber (every call and its parameters). Whether the SQL is right is proved on
DuckDB (test_forget.py) and on Trino (tests/trino/test_erasure_on_trino.py)."""

from __future__ import annotations

import datetime as dt
import json

import boto3
import pytest
from botocore.stub import ANY, Stubber

from webevents.jobs.forget import apply_pending, dry_run

REGION = "eu-west-1"
S3_TABLES = "s3tablescatalog/webevents-dev-tables"
MARTS = "webevents_dev_marts"
SETTINGS = {"workgroup": "webevents-dev", "s3_tables_catalog": S3_TABLES}


@pytest.fixture
def athena(monkeypatch):
    for name in ("ATHENA_WORKGROUP", "ATHENA_OUTPUT_LOCATION", "S3_TABLES_CATALOG",
                 "ATHENA_DATABASE", "ARCHIVE_DATABASE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("DBT_MARTS_DATABASE", MARTS)
    client = boto3.client("athena", region_name=REGION, aws_access_key_id="testing",
                          aws_secret_access_key="testing")
    sent: list[dict] = []
    client.meta.events.register(
        "provide-client-params.athena.StartQueryExecution",
        lambda params, **_: sent.append(dict(params)))
    with Stubber(client) as stubber:
        yield client, stubber, sent
        stubber.assert_no_pending_responses()


def expect_query(stubber, number: int, columns: list[str] | None = None,
                 rows: list[list[str | None]] | None = None, failure: str | None = None,
                 update_count: int | None = None) -> None:
    """One statement's calls: start, one poll, then its results (query) or UpdateCount."""
    query_id = f"q-{number}"
    stubber.add_response(
        "start_query_execution", {"QueryExecutionId": query_id},
        {"QueryString": ANY, "QueryExecutionContext": ANY, "WorkGroup": "webevents-dev",
         "ClientRequestToken": ANY})
    status = ({"State": "FAILED", "StateChangeReason": failure} if failure
              else {"State": "SUCCEEDED"})
    stubber.add_response("get_query_execution", {"QueryExecution": {"Status": status}},
                         {"QueryExecutionId": query_id})
    if failure:
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


def test_dry_run_on_athena_sends_only_queries_in_order(athena, capsys):
    client, stubber, sent = athena
    expect_query(stubber, 1, ["_col0"], [["0"]])  # marts.fct_web_events exists
    expect_query(stubber, 2, ["_col0"], [["0"]])  # marts.dim_identity_ranges exists
    expect_query(stubber, 3, ["erased_table", "erased_rows"],
                 [["raw.web_events", "12"], ["analytics.web_events", "11"]])
    expect_query(stubber, 4, ["event_date"], [["2026-11-20"]])
    expect_query(stubber, 5, ["erased_table", "erased_rows"], [["marts.fct_web_events", "11"]])
    expect_query(stubber, 6, ["event_date"], [["2026-11-19"]])
    [outcome] = dry_run("athena", None, [("anonymous_id", "anon-1")], client=client,
                        sleep=lambda _: None, **SETTINGS)
    assert outcome.rows == {"raw.web_events": 12, "analytics.web_events": 11,
                            "marts.fct_web_events": 11}
    assert outcome.dates == [dt.date(2026, 11, 19), dt.date(2026, 11, 20)]
    statements = [p["QueryString"].lower() for p in sent]
    assert all(s.lstrip().startswith(("select", "with", "--")) for s in statements)
    assert not any(word in s for s in statements for word in ("delete ", "insert ", "update "))
    # marts are the stack's Glue database, read from the S3 Tables context by catalog name
    assert f'"awsdatacatalog".{MARTS}.fct_web_events' in statements[0]
    assert "anonymous_id in ('anon-1')" in statements[2]
    assert {p["QueryExecutionContext"]["Catalog"] for p in sent} == {S3_TABLES}


def test_apply_on_athena_without_marts_deletes_audits_and_closes_the_request(
        athena, monkeypatch):
    client, stubber, sent = athena
    monkeypatch.setenv("WEBEVENTS_ERASURE_KEY", "test-key")
    expect_query(stubber, 1, ["request_id", "subject_kind", "subject_id", "requested_at",
                              "identifiers"],
                 [["r-1", "user_id", "u-9", "2026-11-24 10:00:00.000000", None]])
    expect_query(stubber, 2, failure="TABLE_NOT_FOUND: marts.fct_web_events")  # no marts yet
    expect_query(stubber, 3, ["anonymous_id"], [["anon-9"]])  # stitched ids
    expect_query(stubber, 4, update_count=1)  # ids kept on the request
    expect_query(stubber, 5, ["erased_table", "erased_rows"], [["raw.web_events", "7"]])
    expect_query(stubber, 6, ["event_date"], [["2026-11-20"]])
    for number, count in zip(range(7, 12), (7, 6, 5, 1, 1), strict=True):
        expect_query(stubber, number, update_count=count)  # 4 deletes + the loads merge
    expect_query(stubber, 12, update_count=1)  # audit row
    expect_query(stubber, 13, update_count=1)  # request closed
    [outcome] = apply_pending("athena", None, now=lambda: dt.datetime(2026, 11, 25, 2),
                              say=lambda _: None, client=client, sleep=lambda _: None,
                              **SETTINGS)
    statements = [p["QueryString"] for p in sent]
    assert statements[0].lstrip().lower().startswith("-- requests still to apply")
    deletes = [next(line for line in s.lower().splitlines()
                    if line.startswith(("delete", "merge"))) for s in statements[6:11]]
    assert deletes == ["delete from raw.web_events", "delete from analytics.web_events",
                       "delete from raw.web_events_backfill_stage",
                       "delete from raw.web_events_backfill_rejects",
                       "merge into raw.web_events_backfill_loads as loads"]
    assert "anonymous_id in ('anon-9')" in statements[6] and "('u-9')" in statements[6]
    audit = statements[11]
    assert "insert into raw.erasure_audit" in audit and "u-9" not in audit
    assert "subject_id = null" in statements[12] and "'r-1'" in statements[12]
    assert outcome.rows["raw.web_events"] == 7
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
