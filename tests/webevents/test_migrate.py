"""`webevents migrate`: the plan, the Athena half and the CloudFormation import (Stubber).

Nothing here reaches AWS: botocore's Stubber answers every call and asserts its parameters.
The SQL half on a real Iceberg engine is tests/trino/test_migrate_on_trino.py.
"""

from __future__ import annotations

import json

import boto3
import landing_contract
import pytest
from botocore.stub import ANY, Stubber

from webevents.aws.migrate import (
    CHANGE_SET_NAME,
    TABLES,
    MigrateError,
    add_column_sql,
    disagreements,
    import_tables,
    load_template,
    migrate,
    missing_columns,
    without_tables,
)
from webevents.engines.athena import AthenaEngine

RAW, ANALYTICS = TABLES
FIRST_RAW = [name for name, _, _ in landing_contract._FIRST_LANDING_COLUMNS]
FIRST_ANALYTICS = FIRST_RAW + [name for name, _, _ in landing_contract.ANALYTICS_EXTRA_COLUMNS]
ADDED = [name for name, _, _ in landing_contract.LOSSLESS_COLUMNS]
STACK = "webevents-dev"
RAW_ARN = "arn:aws:s3tables:eu-west-1:123456789012:bucket/webevents-dev/table/raw-id"
ANALYTICS_ARN = "arn:aws:s3tables:eu-west-1:123456789012:bucket/webevents-dev/table/an-id"


def test_a_table_of_the_first_schema_lacks_exactly_the_lossless_columns():
    assert [name for name, _ in missing_columns(FIRST_RAW, RAW)] == ADDED
    assert [name for name, _ in missing_columns(FIRST_ANALYTICS, ANALYTICS)] == ADDED
    assert missing_columns(FIRST_RAW + ADDED, RAW) == []
    assert missing_columns(FIRST_RAW + ADDED[:4], RAW)[0] == ("utm_medium", "string")


@pytest.mark.parametrize(
    "live",
    [
        ["event_id", "event_time"],  # renamed
        ["event_timestamp", "event_id"],  # reordered
        FIRST_RAW + ["surprise"],  # unknown
        FIRST_RAW + ADDED + ["surprise"],  # longer than the contract
    ],
)
def test_a_table_that_is_not_a_prefix_of_the_contract_is_refused(live):
    with pytest.raises(MigrateError, match="needs a person"):
        missing_columns(live, RAW)


def test_the_alter_statement_is_athenas_add_columns():
    assert (
        add_column_sql(RAW, "sent_at", "timestamp")
        == "alter table raw.web_events add columns (sent_at timestamp)"
    )


def test_the_template_agrees_with_the_contract():
    class Live:
        def query(self, sql):
            return (FIRST_ANALYTICS + ADDED if "analytics" in sql else FIRST_RAW + ADDED), []

    assert disagreements(Live(), load_template()) == []


# --- Athena, stubbed -------------------------------------------------------------------------


def _athena_stubs(stub: Stubber, statement: str, columns: list[str] | None) -> None:
    """One statement: start, one poll (SUCCEEDED), and the result page for a query."""
    query_id = f"q-{abs(hash(statement)) % 10**8}"
    stub.add_response(
        "start_query_execution",
        {"QueryExecutionId": query_id},
        {
            "QueryString": statement,
            "QueryExecutionContext": ANY,
            "WorkGroup": "webevents",
            "ClientRequestToken": ANY,
            "ResultConfiguration": {"OutputLocation": "s3://results/"},
        },
    )
    stub.add_response(
        "get_query_execution",
        {"QueryExecution": {"QueryExecutionId": query_id, "Status": {"State": "SUCCEEDED"}}},
        {"QueryExecutionId": query_id},
    )
    if columns is not None:
        stub.add_response(
            "get_query_results",
            {
                "ResultSet": {
                    "Rows": [{"Data": [{"VarCharValue": c} for c in columns]}],
                    "ResultSetMetadata": {
                        "ColumnInfo": [{"Name": c, "Type": "varchar"} for c in columns]
                    },
                }
            },
            {"QueryExecutionId": query_id, "MaxResults": 1000},
        )


def athena_engine(client) -> AthenaEngine:
    return AthenaEngine(
        client=client,
        sleep=lambda _: None,
        workgroup="webevents",
        output_location="s3://results/",
        s3_tables_catalog="s3tablescatalog/webevents-dev",
    )


def test_athena_half_adds_every_missing_column_then_verifies(monkeypatch, capsys):
    monkeypatch.setenv("AWS_REGION", "eu-west-1")
    client = boto3.client(
        "athena", region_name="eu-west-1", aws_access_key_id="x", aws_secret_access_key="x"
    )
    engine = athena_engine(client)
    select = "select * from {} limit 0"
    with Stubber(client) as stub:
        _athena_stubs(stub, engine.prepare(select.format("raw.web_events")), FIRST_RAW)
        for name, kind, _ in landing_contract.LOSSLESS_COLUMNS:
            _athena_stubs(stub, engine.prepare(add_column_sql(RAW, name, kind)), None)
        _athena_stubs(stub, engine.prepare(select.format("analytics.web_events")), FIRST_ANALYTICS)
        for name, kind, _ in landing_contract.LOSSLESS_COLUMNS:
            _athena_stubs(stub, engine.prepare(add_column_sql(ANALYTICS, name, kind)), None)
        # verify: the tables now have every column
        _athena_stubs(stub, engine.prepare(select.format("raw.web_events")), FIRST_RAW + ADDED)
        _athena_stubs(
            stub,
            engine.prepare(select.format("analytics.web_events")),
            FIRST_ANALYTICS + ADDED,
        )
        assert migrate(engine, None, None) == 0
        stub.assert_no_pending_responses()
    out = capsys.readouterr().out
    assert out.count("ran: alter table") == 2 * len(ADDED)
    assert "agree" in out


def test_athena_half_reports_a_table_that_still_disagrees(monkeypatch, capsys):
    monkeypatch.setenv("AWS_REGION", "eu-west-1")
    client = boto3.client(
        "athena", region_name="eu-west-1", aws_access_key_id="x", aws_secret_access_key="x"
    )
    engine = athena_engine(client)
    select = "select * from {} limit 0"
    with Stubber(client) as stub:
        _athena_stubs(stub, engine.prepare(select.format("raw.web_events")), FIRST_RAW + ADDED)
        _athena_stubs(
            stub, engine.prepare(select.format("analytics.web_events")), FIRST_ANALYTICS + ADDED
        )
        # someone dropped a column between the plan and the check
        _athena_stubs(stub, engine.prepare(select.format("raw.web_events")), FIRST_RAW)
        _athena_stubs(
            stub, engine.prepare(select.format("analytics.web_events")), FIRST_ANALYTICS + ADDED
        )
        assert migrate(engine, None, None) == 1
    assert "DISAGREE raw.web_events: live columns" in capsys.readouterr().err


# --- CloudFormation, stubbed -----------------------------------------------------------------


def deployed_template() -> dict:
    """The stack's processed template before the migration: tables of the first schema."""
    template = json.loads(json.dumps(load_template()))
    template.pop("Transform", None)
    for logical_id, count in (("RawWebEventsTable", 27), ("AnalyticsWebEventsTable", 33)):
        schema = template["Resources"][logical_id]["Properties"]["IcebergMetadata"]
        fields = schema["IcebergSchemaV2"]["SchemaV2FieldList"]
        schema["IcebergSchemaV2"]["SchemaV2FieldList"] = fields[:count]
    template["Resources"]["Policy"] = {
        "Type": "AWS::IAM::ManagedPolicy",
        "DependsOn": ["RawWebEventsTable", "TableBucket"],
        "Properties": {"Resource": {"Ref": "RawWebEventsTable"}},
    }
    return template


def test_detaching_turns_refs_into_arns_and_drops_the_tables():
    arns = {"RawWebEventsTable": RAW_ARN, "AnalyticsWebEventsTable": ANALYTICS_ARN}
    detached = without_tables(deployed_template(), arns)
    assert "RawWebEventsTable" not in detached["Resources"]
    assert detached["Resources"]["Policy"]["Properties"]["Resource"] == RAW_ARN
    assert detached["Resources"]["Policy"]["DependsOn"] == ["TableBucket"]


def test_a_getatt_of_a_table_cannot_be_detached():
    template = deployed_template()
    template["Resources"]["Policy"]["Properties"]["Other"] = {
        "Fn::GetAtt": ["RawWebEventsTable", "WarehouseLocation"]
    }
    with pytest.raises(MigrateError, match="Fn::GetAtt"):
        without_tables(template, {"RawWebEventsTable": RAW_ARN})


def test_import_forgets_and_imports_both_tables_with_the_new_schema():
    cfn = boto3.client(
        "cloudformation", region_name="eu-west-1", aws_access_key_id="x", aws_secret_access_key="x"
    )
    template = load_template()
    deployed = deployed_template()
    stack = {"StackName": STACK, "CreationTime": "2026-11-01T00:00:00Z"}
    with Stubber(cfn) as stub:
        stub.add_response(
            "get_template",
            {"TemplateBody": json.dumps(deployed)},
            {"StackName": STACK, "TemplateStage": "Processed"},
        )
        stub.add_response(
            "describe_stack_resources",
            {
                "StackResources": [
                    {
                        "LogicalResourceId": logical_id,
                        "PhysicalResourceId": arn,
                        "ResourceType": "AWS::S3Tables::Table",
                        "Timestamp": "2026-11-01T00:00:00Z",
                        "ResourceStatus": "CREATE_COMPLETE",
                    }
                    for logical_id, arn in (
                        ("RawWebEventsTable", RAW_ARN),
                        ("AnalyticsWebEventsTable", ANALYTICS_ARN),
                    )
                ]
            },
            {"StackName": STACK},
        )
        stub.add_response(
            "describe_stacks",
            {
                "Stacks": [
                    {
                        **stack,
                        "StackStatus": "UPDATE_COMPLETE",
                        "Parameters": [{"ParameterKey": "Environment", "ParameterValue": "dev"}],
                        "Capabilities": ["CAPABILITY_IAM"],
                    }
                ]
            },
            {"StackName": STACK},
        )
        previous = [{"ParameterKey": "Environment", "UsePreviousValue": True}]
        detached = without_tables(
            deployed, {"RawWebEventsTable": RAW_ARN, "AnalyticsWebEventsTable": ANALYTICS_ARN}
        )
        stub.add_response(
            "update_stack",
            {"StackId": "stack-id"},
            {
                "StackName": STACK,
                "TemplateBody": json.dumps(detached),
                "Parameters": previous,
                "Capabilities": ["CAPABILITY_IAM"],
            },
        )
        stub.add_response(
            "describe_stacks",
            {"Stacks": [{**stack, "StackStatus": "UPDATE_COMPLETE"}]},
            {"StackName": STACK},
        )
        reattached = json.loads(json.dumps(detached))
        for logical_id in ("RawWebEventsTable", "AnalyticsWebEventsTable"):
            reattached["Resources"][logical_id] = template["Resources"][logical_id]
        stub.add_response(
            "create_change_set",
            {"Id": "cs-id", "StackId": "stack-id"},
            {
                "StackName": STACK,
                "ChangeSetName": CHANGE_SET_NAME,
                "ChangeSetType": "IMPORT",
                "ResourcesToImport": [
                    {
                        "ResourceType": "AWS::S3Tables::Table",
                        "LogicalResourceId": "RawWebEventsTable",
                        "ResourceIdentifier": {"TableARN": RAW_ARN},
                    },
                    {
                        "ResourceType": "AWS::S3Tables::Table",
                        "LogicalResourceId": "AnalyticsWebEventsTable",
                        "ResourceIdentifier": {"TableARN": ANALYTICS_ARN},
                    },
                ],
                "TemplateBody": json.dumps(reattached),
                "Parameters": previous,
                "Capabilities": ["CAPABILITY_IAM"],
            },
        )
        stub.add_response(
            "describe_change_set",
            {"Status": "CREATE_COMPLETE", "ChangeSetName": CHANGE_SET_NAME},
            {"StackName": STACK, "ChangeSetName": CHANGE_SET_NAME},
        )
        stub.add_response(
            "execute_change_set",
            {},
            {"StackName": STACK, "ChangeSetName": CHANGE_SET_NAME},
        )
        stub.add_response(
            "describe_stacks",
            {"Stacks": [{**stack, "StackStatus": "IMPORT_COMPLETE"}]},
            {"StackName": STACK},
        )
        assert import_tables(cfn, STACK, template) is True
        stub.assert_no_pending_responses()


def test_import_does_nothing_when_the_stack_has_the_new_schema_already():
    cfn = boto3.client(
        "cloudformation", region_name="eu-west-1", aws_access_key_id="x", aws_secret_access_key="x"
    )
    template = load_template()
    with Stubber(cfn) as stub:
        stub.add_response(
            "get_template",
            {"TemplateBody": json.dumps(template)},
            {"StackName": STACK, "TemplateStage": "Processed"},
        )
        assert import_tables(cfn, STACK, template) is False
        stub.assert_no_pending_responses()


def test_the_command_on_a_lake_built_from_sql_ddl_finds_nothing_to_do(tmp_path, capsys):
    from webevents.cli import main

    assert main(["migrate", "--lake", str(tmp_path / "lake")]) == 0
    out = capsys.readouterr().out
    assert "already have every contract column" in out and "agree" in out
