"""`webevents adopt-retained`: the IMPORT change set after a stack delete (botocore Stubber)."""

from __future__ import annotations

import datetime as dt
import json

import boto3
import pytest
from botocore.stub import Stubber

from webevents import cli
from webevents.aws.adopt import create_import_change_set, import_template, load_template
from webevents.aws.stack import StackError

NAME = "webevents-dev"
OLD_ID = f"arn:aws:cloudformation:eu-west-1:111122223333:stack/{NAME}/old"
NEWER_ID = f"arn:aws:cloudformation:eu-west-1:111122223333:stack/{NAME}/newer"
BUCKET_ARN = "arn:aws:s3tables:eu-west-1:111122223333:bucket/webevents-dev-tables"
WHEN = dt.datetime(2026, 11, 20, tzinfo=dt.UTC)
LEFT = {
    "DataKey": ("AWS::KMS::Key", "1234abcd-12ab-34cd-56ef-1234567890ab"),
    "TableBucket": ("AWS::S3Tables::TableBucket", BUCKET_ARN),
    "RawNamespace": ("AWS::S3Tables::Namespace", f"{BUCKET_ARN}|raw"),
    "AnalyticsNamespace": ("AWS::S3Tables::Namespace", f"{BUCKET_ARN}|analytics"),
    "RawWebEventsTable": ("AWS::S3Tables::Table", f"{BUCKET_ARN}/table/raw-uuid"),
    "AnalyticsWebEventsTable": ("AWS::S3Tables::Table", f"{BUCKET_ARN}/table/an-uuid"),
    "AccessLogsBucket": ("AWS::S3::Bucket", "webevents-dev-accesslogsbucket-1"),
    "DeliveryErrorBucket": ("AWS::S3::Bucket", "webevents-dev-deliveryerrorbucket-1"),
    "AthenaResultsBucket": ("AWS::S3::Bucket", "webevents-dev-athenaresultsbucket-1"),
    "MartsBucket": ("AWS::S3::Bucket", "webevents-dev-martsbucket-1"),
    "BuildSourceBucket": ("AWS::S3::Bucket", "webevents-dev-buildsourcebucket-1"),
}


def _summary(logical_id, kind, physical, status="DELETE_SKIPPED"):
    return {
        "LogicalResourceId": logical_id,
        "PhysicalResourceId": physical,
        "ResourceType": kind,
        "LastUpdatedTimestamp": WHEN,
        "ResourceStatus": status,
    }


@pytest.fixture
def cloudformation():
    client = boto3.session.Session(
        aws_access_key_id="t", aws_secret_access_key="t", region_name="eu-west-1"
    ).client("cloudformation")
    with Stubber(client) as stub:
        yield client, stub
        stub.assert_no_pending_responses()


def _deleted_stacks(stub):
    summaries = [
        {
            "StackId": OLD_ID,
            "StackName": NAME,
            "CreationTime": WHEN,
            "DeletionTime": WHEN,
            "StackStatus": "DELETE_COMPLETE",
        },
        {
            "StackId": NEWER_ID,
            "StackName": NAME,
            "CreationTime": WHEN,
            "DeletionTime": WHEN + dt.timedelta(days=1),
            "StackStatus": "DELETE_COMPLETE",
        },
        {
            "StackId": "arn:other",
            "StackName": "someone-else",
            "CreationTime": WHEN,
            "DeletionTime": WHEN + dt.timedelta(days=2),
            "StackStatus": "DELETE_COMPLETE",
        },
    ]
    stub.add_response(
        "list_stacks",
        {"StackSummaries": summaries[:2], "NextToken": "page-2"},
        {"StackStatusFilter": ["DELETE_COMPLETE"]},
    )
    stub.add_response(
        "list_stacks",
        {"StackSummaries": summaries[2:]},
        {"StackStatusFilter": ["DELETE_COMPLETE"], "NextToken": "page-2"},
    )


def test_the_newest_deleted_stack_is_rebuilt_around_what_it_left_behind(cloudformation):
    client, stub = cloudformation
    _deleted_stacks(stub)
    resources = [_summary(k, kind, p) for k, (kind, p) in LEFT.items()]
    resources.append(
        _summary(
            "DeliveryStream",
            "AWS::KinesisFirehose::DeliveryStream",
            "webevents-dev-DeliveryStream",
            status="DELETE_COMPLETE",
        )
    )
    stub.add_response(
        "list_stack_resources", {"StackResourceSummaries": resources}, {"StackName": NEWER_ID}
    )
    adopted = import_template(load_template())
    expected_imports = [
        {
            "ResourceType": "AWS::KMS::Key",
            "LogicalResourceId": "DataKey",
            "ResourceIdentifier": {"KeyId": LEFT["DataKey"][1]},
        },
        {
            "ResourceType": "AWS::S3Tables::Namespace",
            "LogicalResourceId": "RawNamespace",
            "ResourceIdentifier": {"TableBucketARN": BUCKET_ARN, "Namespace": "raw"},
        },
        {
            "ResourceType": "AWS::S3Tables::Table",
            "LogicalResourceId": "RawWebEventsTable",
            "ResourceIdentifier": {"TableARN": LEFT["RawWebEventsTable"][1]},
        },
    ]
    stub.add_response(
        "create_change_set",
        {"Id": "arn:aws:cloudformation:eu-west-1:111122223333:changeSet/adopt/1", "StackId": "x"},
        {
            "StackName": NAME,
            "ChangeSetName": "adopt-retained",
            "ChangeSetType": "IMPORT",
            "TemplateBody": json.dumps(adopted),
            "Parameters": [
                {"ParameterKey": "ProjectName", "ParameterValue": "webevents"},
                {"ParameterKey": "EnvironmentName", "ParameterValue": "dev"},
            ],
            "ResourcesToImport": _sorted_like(adopted, expected_imports),
        },
    )
    change_set, imports = create_import_change_set(client, NAME, "default", "adopt-retained")
    assert change_set.endswith("changeSet/adopt/1")
    assert {item["LogicalResourceId"] for item in imports} == set(LEFT)


def _sorted_like(adopted, some):
    """All retained resources in template order; `some` pins a few identifiers exactly."""
    pinned = {item["LogicalResourceId"]: item for item in some}
    result = []
    for logical_id, resource in adopted["Resources"].items():
        if logical_id in pinned:
            result.append(pinned[logical_id])
            continue
        if logical_id not in LEFT:
            continue  # never created in dev (the prod-only trail bucket)
        kind, physical = LEFT[logical_id]
        key = {
            "AWS::S3::Bucket": "BucketName",
            "AWS::S3Tables::TableBucket": "TableBucketARN",
            "AWS::S3Tables::Table": "TableARN",
        }.get(kind)
        identifier = (
            {key: physical}
            if key
            else {"TableBucketARN": BUCKET_ARN, "Namespace": resource["Properties"]["Namespace"]}
        )
        result.append(
            {
                "ResourceType": kind,
                "LogicalResourceId": logical_id,
                "ResourceIdentifier": identifier,
            }
        )
    return result


def test_no_deleted_stack_of_that_name_is_a_one_line_error(cloudformation):
    client, stub = cloudformation
    stub.add_response(
        "list_stacks", {"StackSummaries": []}, {"StackStatusFilter": ["DELETE_COMPLETE"]}
    )
    with pytest.raises(StackError, match="no deleted stack webevents-dev in the last 90 days"):
        create_import_change_set(client, NAME, "default", "adopt-retained")


def test_the_command_prints_the_review_and_execute_steps(cloudformation, monkeypatch, capsys):
    client, stub = cloudformation
    _deleted_stacks(stub)
    resources = [_summary(k, kind, p) for k, (kind, p) in LEFT.items()]
    stub.add_response(
        "list_stack_resources", {"StackResourceSummaries": resources}, {"StackName": NEWER_ID}
    )
    stub.add_response("create_change_set", {"Id": "cs-1"}, None)
    monkeypatch.setattr(boto3.session.Session, "client", lambda self, name: client)
    assert cli.main(["adopt-retained", "--stack", NAME, "--region", "eu-west-1"]) == 0
    out = capsys.readouterr().out
    assert "adopt TableBucket" in out and BUCKET_ARN in out
    assert "execute-change-set --change-set-name cs-1" in out and "make deploy" in out
