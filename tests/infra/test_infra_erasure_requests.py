"""Erasure request files on AWS (docs/decisions.md, D-PRIV-8): the bucket forgets a deleted
file at once, and ErasureRequestsPolicy grants exactly the S3 calls `webevents forget` and
Athena make on the `requests/` prefix, with the stack's key usable through S3 only.

The policies are evaluated, not just read: every template value is resolved as CloudFormation
would for one made-up stack, and each call is checked against the statements the way IAM
matches an identity policy (action, resource with its wildcards, condition)."""

from __future__ import annotations

import fnmatch
import re
import uuid

import botocore.session
import pytest
from iam_policy import (
    ACCOUNT,
    KEY_ARN,
    REGION,
    allowed,
    attribute,
    physical_name,
    resolve,
    statements,
)
from infra_cfn import as_list, refs_to, resources_of_type

BUCKET = "ErasureRequestsBucket"
POLICY = "ErasureRequestsPolicy"
LOCATION_ENV = "ERASURE_REQUESTS_S3_LOCATION"

# Every S3 call made on request files, with the IAM action that authorises it and whether it
# is checked on the bucket or on the object (S3 API reference, each operation's
# "Permissions"; DeleteObjects needs s3:DeleteObject for each key).
FORGET_CALLS = {  # webevents forget and the daily job (boto3)
    "ListObjectsV2": ("s3:ListBucket", "bucket"),
    "PutObject": ("s3:PutObject", "object"),
    "GetObject": ("s3:GetObject", "object"),
    "DeleteObject": ("s3:DeleteObject", "object"),
    "DeleteObjects": ("s3:DeleteObject", "object"),
}
# Athena reads the external table's files with the caller's credentials
# (https://docs.aws.amazon.com/athena/latest/ug/s3-permissions.html).
ATHENA_CALLS = {
    "GetBucketLocation": ("s3:GetBucketLocation", "bucket"),
    "ListObjectsV2": ("s3:ListBucket", "bucket"),
    "GetObject": ("s3:GetObject", "object"),
}
ALL_CALLS = {**FORGET_CALLS, **ATHENA_CALLS}
KEY_ACTIONS = {"kms:Decrypt", "kms:GenerateDataKey"}  # read and write SSE-KMS objects
VIA_S3 = {"kms:ViaService": f"s3.{REGION}.amazonaws.com"}


def request_location(template: dict) -> tuple[str, str]:
    """(bucket, prefix) of the daily job's ERASURE_REQUESTS_S3_LOCATION."""
    variables = template["Resources"]["PipelineBuild"]["Properties"]["Environment"][
        "EnvironmentVariables"]
    [variable] = [v for v in variables if v["Name"] == LOCATION_ENV]
    location = resolve(template, variable["Value"])
    match = re.fullmatch(r"s3://([^/]+)/(.*)", location)
    assert match, location
    return match.group(1), match.group(2)


def target(template: dict, kind: str, key: str) -> str:
    bucket_arn = attribute(template, BUCKET, "Arn")
    return bucket_arn if kind == "bucket" else f"{bucket_arn}/{key}"


def request_key(prefix: str) -> str:
    """A request file's key as `webevents forget` names it: its random request_id."""
    return f"{prefix}{uuid.UUID(int=0x0F8FAD5BD9CB469FA16570867728950E)}.json"


# ---- the bucket ---------------------------------------------------------------------------


def test_a_deleted_request_file_leaves_no_version_behind(template):
    """Unversioned: a DELETE removes the object for good; versioning would keep the ids as a
    noncurrent version behind a delete marker (S3 API reference, DeleteObject)."""
    bucket = template["Resources"][BUCKET]
    assert bucket["Type"] == "AWS::S3::Bucket"
    properties = bucket["Properties"]
    assert "VersioningConfiguration" not in properties
    assert "ObjectLockEnabled" not in properties and "ObjectLockConfiguration" not in properties
    assert "ReplicationConfiguration" not in properties  # no second copy elsewhere


def test_no_lifecycle_rule_can_delete_a_request_before_it_is_applied(template):
    rules = template["Resources"][BUCKET]["Properties"]["LifecycleConfiguration"]["Rules"]
    for rule in rules:
        assert set(rule) <= {"Id", "Status", "AbortIncompleteMultipartUpload"}, rule
    # parts of an abandoned upload hold ids no listing shows: gone after a day
    [abort] = [rule for rule in rules if "AbortIncompleteMultipartUpload" in rule]
    assert abort["Status"] == "Enabled"
    assert abort["AbortIncompleteMultipartUpload"] == {"DaysAfterInitiation": 1}


def test_request_files_are_encrypted_with_the_stack_key_and_private(template):
    bucket = template["Resources"][BUCKET]
    properties = bucket["Properties"]
    [rule] = properties["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    default = rule["ServerSideEncryptionByDefault"]
    assert default["SSEAlgorithm"] == "aws:kms"
    assert default["KMSMasterKeyID"] == {"Fn::GetAtt": ["DataKey", "Arn"]}
    assert rule["BucketKeyEnabled"] is True
    assert all(properties["PublicAccessBlockConfiguration"][setting] is True for setting in (
        "BlockPublicAcls", "BlockPublicPolicy", "IgnorePublicAcls", "RestrictPublicBuckets"))
    assert properties["OwnershipControls"] == {
        "Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]}
    # a pending request survives a stack delete like every other data store
    assert bucket["DeletionPolicy"] == bucket["UpdateReplacePolicy"] == "Retain"


def test_every_request_to_the_bucket_is_in_its_own_access_log_prefix(template):
    logging = template["Resources"][BUCKET]["Properties"]["LoggingConfiguration"]
    assert logging == {"DestinationBucketName": {"Ref": "AccessLogsBucket"},
                       "LogFilePrefix": "erasure-requests/"}
    prefixes = [b["Properties"]["LoggingConfiguration"]["LogFilePrefix"]
                for b in resources_of_type(template, "AWS::S3::Bucket").values()
                if "LoggingConfiguration" in b["Properties"]]
    assert prefixes.count("erasure-requests/") == 1


def test_the_bucket_refuses_every_request_without_tls(template):
    [(_, policy)] = [(i, p) for i, p in resources_of_type(template, "AWS::S3::BucketPolicy").items()
                     if p["Properties"]["Bucket"] == {"Ref": BUCKET}]
    document = resolve(template, policy["Properties"]["PolicyDocument"])
    key = target(template, "object", request_key("requests/"))
    for resource in (attribute(template, BUCKET, "Arn"), key):
        [deny] = [s for s in document["Statement"] if s["Effect"] == "Deny"
                  and any(fnmatch.fnmatchcase(resource, r) for r in as_list(s["Resource"]))]
        assert deny["Principal"] == "*" and deny["Action"] == "s3:*"
        assert deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    assert all(s["Effect"] == "Deny" for s in document["Statement"])  # grants live in IAM


# ---- the policy: exactly the calls, on the prefix, through S3 ----------------------------


def test_every_call_in_the_tables_is_an_s3_operation():
    operations = set(botocore.session.get_session().get_service_model("s3").operation_names)
    assert set(ALL_CALLS) <= operations


@pytest.mark.parametrize(("operation", "action", "kind"),
                         [(op, *grant) for op, grant in sorted(ALL_CALLS.items())])
def test_the_policy_allows_each_call_on_a_request_file(template, operation, action, kind):
    _, prefix = request_location(template)
    policy = statements(template, POLICY)
    assert allowed(policy, action, target(template, kind, request_key(prefix))), operation


@pytest.mark.parametrize("key", ["other/0f8fad5b.json", "requestsX/0f8fad5b.json",
                                 "x/requests/0f8fad5b.json", "requests", "0f8fad5b.json"])
def test_the_policy_allows_no_object_call_outside_the_requests_prefix(template, key):
    policy = statements(template, POLICY)
    for action, kind in ALL_CALLS.values():
        if kind == "object":
            assert not allowed(policy, action, target(template, "object", key)), (action, key)


def test_the_policy_grants_exactly_the_actions_the_calls_need(template):
    policy = statements(template, POLICY)
    granted = {action for s in policy for action in as_list(s["Action"])}
    assert granted == {action for action, _ in ALL_CALLS.values()} | KEY_ACTIONS
    assert not any("*" in action for action in granted)
    # nothing a versioned bucket, its settings or its ACLs would need
    key = target(template, "object", request_key("requests/"))
    for action in ("s3:DeleteObjectVersion", "s3:GetObjectVersion", "s3:ListBucketVersions",
                   "s3:PutObjectAcl", "s3:PutBucketVersioning", "s3:PutLifecycleConfiguration",
                   "s3:PutBucketPolicy", "s3:DeleteBucket"):
        for resource in (attribute(template, BUCKET, "Arn"), key):
            assert not allowed(policy, action, resource), action
    resources = {r for s in policy for r in as_list(s["Resource"])}
    bucket_arn = attribute(template, BUCKET, "Arn")
    assert resources == {bucket_arn, f"{bucket_arn}/requests/*", KEY_ARN}


def test_the_stack_key_serves_the_policy_only_through_s3(template):
    policy = statements(template, POLICY)
    for action in KEY_ACTIONS:
        assert allowed(policy, action, KEY_ARN, VIA_S3), action
        assert not allowed(policy, action, KEY_ARN), action  # called directly
        for service in ("secretsmanager", "sns", "sqs", "kinesis", "logs", "s3tables"):
            via = {"kms:ViaService": f"{service}.{REGION}.amazonaws.com"}
            assert not allowed(policy, action, KEY_ARN, via), (action, service)
    other_key = KEY_ARN.replace("1234abcd", "9999abcd")
    assert not allowed(policy, "kms:Decrypt", other_key, VIA_S3)
    assert not allowed(policy, "kms:Encrypt", KEY_ARN, VIA_S3)


def test_the_daily_job_holds_the_policy_and_no_other_grant_reaches_the_bucket(template):
    resources = template["Resources"]
    assert {"Ref": POLICY} in resources["BuildRole"]["Properties"]["ManagedPolicyArns"]
    roles = resources_of_type(template, "AWS::IAM::Role")
    holders = [logical_id for logical_id, role in roles.items()
               if {"Ref": POLICY} in role["Properties"].get("ManagedPolicyArns", [])]
    assert holders == ["BuildRole"]
    granting = [logical_id for logical_id, resource in resources.items()
                if resource["Type"] in ("AWS::IAM::ManagedPolicy", "AWS::IAM::RolePolicy",
                                        "AWS::IAM::Role", "AWS::Serverless::Function")
                and refs_to(resource.get("Properties", {}), BUCKET)]
    assert granting == [POLICY]
    assert template["Outputs"]["ErasureRequestsPolicyArn"]["Value"] == {"Ref": POLICY}


def test_the_daily_job_s_request_location_is_the_prefix_the_policy_grants(template):
    bucket, prefix = request_location(template)
    assert bucket == physical_name(template, BUCKET)
    # Athena: "Use a trailing slash" for a table LOCATION; and not the bucket's root
    # (https://docs.aws.amazon.com/athena/latest/ug/tables-location-format.html)
    assert prefix.endswith("/") and prefix.strip("/") and "//" not in prefix
    policy = statements(template, POLICY)
    [objects] = [s for s in policy if "s3:PutObject" in as_list(s["Action"])]
    assert objects["Resource"] == f"arn:aws:s3:::{bucket}/{prefix}*"
    # an operator's `webevents forget` reads the same place from the stack's output
    location = template["Outputs"]["ErasureRequestsLocation"]["Value"]
    assert resolve(template, location) == f"s3://{bucket}/{prefix}"


def test_the_daily_job_may_create_read_and_drop_the_request_table_in_the_archive_database(
        template):
    """The external table over the request files lives in ArchiveDatabase; its Glue grants
    are PipelineQueryPolicy's (attached to BuildRole), not this policy's."""
    assert {"Ref": "PipelineQueryPolicy"} in template["Resources"]["BuildRole"]["Properties"][
        "ManagedPolicyArns"]
    policy = statements(template, "PipelineQueryPolicy")
    glue = f"arn:aws:glue:{REGION}:{ACCOUNT}"
    database = physical_name(template, "ArchiveDatabase")
    for action, resource in [
        ("glue:GetDatabase", f"{glue}:database/{database}"),
        ("glue:CreateTable", f"{glue}:table/{database}/erasure_request_files"),
        ("glue:GetTable", f"{glue}:table/{database}/erasure_request_files"),
        ("glue:DeleteTable", f"{glue}:table/{database}/erasure_request_files"),
        ("glue:GetCatalog", f"{glue}:catalog"),
    ]:
        assert allowed(policy, action, resource), action


def test_the_data_events_trail_leaves_request_files_to_the_access_log(template):
    """D-PRIV-8: the bucket's server access log already records every request (requester,
    operation, key); the trail stays on the table bucket and the archive (D-INFRA-15)."""
    selectors = template["Resources"]["DataEventsTrail"]["Properties"]["AdvancedEventSelectors"]
    assert not refs_to(selectors, BUCKET)
