"""webevents.aws.stack: samconfig stack names, DescribeStacks, the build-source upload (Stubber)."""

from __future__ import annotations

import datetime as dt
import io
import subprocess
import sys
import zipfile

import boto3
import pytest
from botocore.stub import Stubber

from webevents import PROJECT_ROOT
from webevents.aws.stack import Stack, StackError, describe, stack_name, upload_source

CREATED = dt.datetime(2026, 11, 24, tzinfo=dt.UTC)


def _client(name: str):
    return boto3.session.Session(
        aws_access_key_id="testing", aws_secret_access_key="testing", region_name="eu-west-1"
    ).client(name)


def test_each_samconfig_environment_names_its_stack():
    assert stack_name("default") == "webevents-dev"
    assert stack_name("prod") == "webevents-prod"
    with pytest.raises(StackError, match="no environment 'qa'.*known: default, prod, staging"):
        stack_name("qa")


def test_python_dash_m_prints_the_stack_name_for_the_makefile():
    result = subprocess.run(
        [sys.executable, "-m", "webevents.aws.stack", "staging"],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    assert result.stdout.strip() == "webevents-staging"


@pytest.mark.parametrize("status", ["ROLLBACK_COMPLETE", "CREATE_IN_PROGRESS", "DELETE_COMPLETE"])
def test_a_stack_that_is_not_usable_is_refused_with_its_status(status):
    cloudformation = _client("cloudformation")
    with Stubber(cloudformation) as stub:
        stub.add_response(
            "describe_stacks",
            {"Stacks": [{"StackName": "s", "CreationTime": CREATED, "StackStatus": status}]},
            {"StackName": "s"},
        )
        with pytest.raises(StackError, match=f"stack s is {status}"):
            describe(cloudformation, "s")


def test_outputs_and_resolved_parameters_are_read():
    cloudformation = _client("cloudformation")
    with Stubber(cloudformation) as stub:
        stub.add_response(
            "describe_stacks",
            {
                "Stacks": [
                    {
                        "StackName": "s",
                        "CreationTime": CREATED,
                        "StackStatus": "CREATE_COMPLETE",
                        "Outputs": [
                            {"OutputKey": "BuildSourceLocation", "OutputValue": "s3://b/k.zip"}
                        ],
                        "Parameters": [
                            {
                                "ParameterKey": "DeliveryBufferIntervalSeconds",
                                "ParameterValue": "300",
                            }
                        ],
                    }
                ]
            },
            {"StackName": "s"},
        )
        stack = describe(cloudformation, "s")
    assert stack.output("BuildSourceLocation") == "s3://b/k.zip"
    assert stack.parameters == {"DeliveryBufferIntervalSeconds": "300"}
    with pytest.raises(StackError, match="has no output Missing"):
        stack.output("Missing")


def _zip(path) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("buildspec.yml", "version: 0.2\n")
    path.write_bytes(buffer.getvalue())
    return buffer.getvalue()


def test_the_source_zip_goes_to_the_build_source_location(tmp_path):
    body = _zip(tmp_path / "webevents.zip")
    s3 = _client("s3")
    stack = Stack("s", outputs={"BuildSourceLocation": "s3://build-src/source/webevents.zip"})
    with Stubber(s3) as stub:
        stub.add_response(
            "put_object",
            {"ETag": '"1"', "VersionId": "v2"},
            {
                "Bucket": "build-src",
                "Key": "source/webevents.zip",
                "Body": body,
                "ContentType": "application/zip",
            },
        )
        location = upload_source(s3, stack, tmp_path / "webevents.zip")
        stub.assert_no_pending_responses()
    assert location == "s3://build-src/source/webevents.zip"


def test_a_file_that_is_not_a_zip_is_never_uploaded(tmp_path):
    (tmp_path / "notes.txt").write_text("not a zip")
    stack = Stack("s", outputs={"BuildSourceLocation": "s3://build-src/source/webevents.zip"})
    with Stubber(_client("s3")) as stub, pytest.raises(StackError, match="is not a zip file"):
        upload_source(stub.client, stack, tmp_path / "notes.txt")
