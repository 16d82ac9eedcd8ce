"""Properties of the parsed template: encryption, least privilege, logs, alarms, schedule, names."""

import re

import pytest
import yaml
from infra_cfn import (
    OPERATIONS_DOC,
    PROJECT_ROOT,
    TEMPLATE_PATH,
    as_list,
    branches,
    refs_to,
    resources_of_type,
)

KEY_ID = "DataKey"
TOPIC_ID = "AlertTopic"

# Buckets that cannot use the customer-managed key, and why (docs/decisions.md).
SSE_S3_BUCKETS = {
    "AccessLogsBucket": "S3 server access log delivery only writes SSE-S3 objects",
    "AthenaResultsBucket": "Athena writes to S3 Tables fail under SSE-KMS result encryption",
}


def _uses_key(value) -> bool:
    return refs_to(value, KEY_ID)


def _bucket_encrypted(props: dict, logical_id: str) -> bool:
    (rule,) = props["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    default = rule["ServerSideEncryptionByDefault"]
    if logical_id in SSE_S3_BUCKETS:
        return default["SSEAlgorithm"] == "AES256"
    return default["SSEAlgorithm"] == "aws:kms" and _uses_key(default["KMSMasterKeyID"])


def _firehose_encrypted(props: dict, _: str) -> bool:
    iceberg = props["IcebergDestinationConfiguration"]
    error_output = iceberg["S3Configuration"]["EncryptionConfiguration"]["KMSEncryptionConfig"]
    direct_put = [b for b in branches(props["DeliveryStreamEncryptionConfigurationInput"]) if b]
    # With a Kinesis source the stream's own encryption applies (checked for the stream).
    return _uses_key(error_output["AWSKMSKeyARN"]) and all(
        b["KeyType"] == "CUSTOMER_MANAGED_CMK" and _uses_key(b["KeyARN"]) for b in direct_put
    )


# Every resource type that stores data at rest, and how it must be encrypted.
STORE_ENCRYPTION = {
    "AWS::S3::Bucket": _bucket_encrypted,
    "AWS::S3Tables::TableBucket": lambda p, _: (
        p["EncryptionConfiguration"]["SSEAlgorithm"] == "aws:kms"
        and _uses_key(p["EncryptionConfiguration"]["KMSKeyArn"])
    ),
    "AWS::Kinesis::Stream": lambda p, _: (
        p["StreamEncryption"]["EncryptionType"] == "KMS"
        and _uses_key(p["StreamEncryption"]["KeyId"])
    ),
    "AWS::KinesisFirehose::DeliveryStream": _firehose_encrypted,
    "AWS::SNS::Topic": lambda p, _: _uses_key(p["KmsMasterKeyId"]),
    "AWS::SQS::Queue": lambda p, _: _uses_key(p["KmsMasterKeyId"]),
    "AWS::Logs::LogGroup": lambda p, _: _uses_key(p["KmsKeyId"]),
    "AWS::CodeBuild::Project": lambda p, _: _uses_key(p["EncryptionKey"]),
    "AWS::Serverless::Function": lambda p, _: _uses_key(p["KmsKeyArn"]),
    "AWS::Scheduler::Schedule": lambda p, _: _uses_key(p["KmsKeyArn"]),
    "AWS::CloudTrail::Trail": lambda p, _: _uses_key(p["KMSKeyId"]),
    "AWS::SecretsManager::Secret": lambda p, _: _uses_key(p["KmsKeyId"]),
    "AWS::Athena::WorkGroup": lambda p, _: (
        p["WorkGroupConfiguration"]["ResultConfiguration"]["EncryptionConfiguration"][
            "EncryptionOption"
        ]
        == "SSE_S3"
    ),
}
# Types that hold no customer data at rest (checked so a new store type cannot slip through).
NOT_STORES = {
    "AWS::KMS::Key",
    "AWS::KMS::Alias",
    "AWS::S3::BucketPolicy",
    "AWS::S3Tables::Namespace",
    "AWS::S3Tables::Table",
    "AWS::IAM::Role",
    "AWS::IAM::RolePolicy",
    "AWS::IAM::ManagedPolicy",
    "AWS::Logs::LogStream",
    "AWS::Logs::MetricFilter",
    "AWS::CloudFormation::WaitConditionHandle",
    "AWS::ApiGateway::RestApi",
    "AWS::ApiGateway::Resource",
    "AWS::ApiGateway::Model",
    "AWS::ApiGateway::RequestValidator",
    "AWS::ApiGateway::Method",
    "AWS::ApiGateway::GatewayResponse",
    "AWS::ApiGateway::Deployment",
    "AWS::ApiGateway::Stage",
    "AWS::WAFv2::WebACL",
    "AWS::WAFv2::WebACLAssociation",
    "AWS::WAFv2::LoggingConfiguration",
    "AWS::Glue::Database",
    "AWS::SNS::TopicPolicy",
    "AWS::SNS::Subscription",
    "AWS::Events::Rule",
    "AWS::CloudWatch::Alarm",
    "AWS::CloudWatch::Dashboard",
}


def test_every_resource_type_is_classified_as_store_or_not(template):
    types = {resource["Type"] for resource in template["Resources"].values()}
    assert types - set(STORE_ENCRYPTION) - NOT_STORES == set()


@pytest.mark.parametrize("resource_type", sorted(STORE_ENCRYPTION))
def test_every_store_is_encrypted(template, resource_type):
    stores = resources_of_type(template, resource_type)
    assert stores, f"no {resource_type} in the template: stale rule"
    for logical_id, resource in stores.items():
        assert STORE_ENCRYPTION[resource_type](resource["Properties"], logical_id), logical_id


def test_the_key_rotates_and_survives_stack_deletion(template):
    key = template["Resources"][KEY_ID]
    assert key["Properties"]["EnableKeyRotation"] is True
    assert key["DeletionPolicy"] == "Retain"


def _identity_policy_documents(template):
    """(where, policy document) of every identity policy in the template."""
    for logical_id, resource in template["Resources"].items():
        props = resource.get("Properties", {})
        kind = resource["Type"]
        if kind in ("AWS::IAM::RolePolicy", "AWS::IAM::ManagedPolicy", "AWS::IAM::Policy"):
            yield logical_id, props["PolicyDocument"]
        elif kind == "AWS::IAM::Role":
            for policy in props.get("Policies", []):
                yield f"{logical_id}.{policy['PolicyName']}", policy["PolicyDocument"]
        elif kind == "AWS::Serverless::Function":
            for policy in as_list(props.get("Policies", [])):
                if isinstance(policy, dict) and "Statement" in policy:
                    yield f"{logical_id}.Policies", policy


def _statements(document):
    for statement in as_list(document["Statement"]):
        yield from branches(statement)


def _actions(statement):
    return [action for value in as_list(statement["Action"]) for action in branches(value)]


def test_identity_policies_grant_no_wildcard_action_or_resource(template):
    documents = list(_identity_policy_documents(template))
    assert len(documents) >= 10
    for where, document in documents:
        for statement in _statements(document):
            if statement["Effect"] != "Allow":
                continue
            for action in _actions(statement):
                assert action != "*" and not action.endswith(":*"), f"{where}: {action}"
            resources = [r for value in as_list(statement["Resource"]) for r in branches(value)]
            if _actions(statement) == ["lakeformation:GetDataAccess"]:
                continue  # no resource-level form (docs/decisions.md D-INFRA-2)
            assert "*" not in resources, f"{where}: Resource '*'"


def test_resource_policies_allow_no_wildcards(template):
    """Only the KMS key policy's account-root statement may say kms:* (AWS's default policy)."""
    key_statements = template["Resources"][KEY_ID]["Properties"]["KeyPolicy"]["Statement"]
    for statement in key_statements:
        if "kms:*" in as_list(statement["Action"]):
            assert statement["Sid"] == "AccountAdministersKeyThroughIam"
            assert refs_to(statement["Principal"], "AWS::AccountId")
        else:
            assert not any(a.endswith(":*") for a in as_list(statement["Action"]))
    policies = resources_of_type(template, "AWS::S3::BucketPolicy", "AWS::SNS::TopicPolicy")
    for logical_id, resource in policies.items():
        for statement in _statements(resource["Properties"]["PolicyDocument"]):
            if statement["Effect"] == "Allow":
                assert statement["Principal"] != "*", logical_id
                assert not any(a.endswith("*") for a in _actions(statement)), logical_id


def test_one_inline_policy_per_concern_on_each_role(template):
    """Roles split permissions into named policies; no policy mixes more than three services."""
    for where, document in _identity_policy_documents(template):
        services = {action.split(":")[0] for s in _statements(document) for action in _actions(s)}
        assert len(services - {"kms"}) <= 3, f"{where} mixes {sorted(services)}"


def test_every_log_group_has_retention(template):
    log_groups = resources_of_type(template, "AWS::Logs::LogGroup")
    assert len(log_groups) >= 4
    for logical_id, group in log_groups.items():
        assert refs_to(group["Properties"]["RetentionInDays"], "LogRetentionDays"), logical_id


def test_every_log_writer_uses_a_log_group_of_this_stack(template):
    """No service falls back to an implicit log group, which would never expire."""
    log_groups = set(resources_of_type(template, "AWS::Logs::LogGroup"))
    resources = template["Resources"]
    writers = {
        "TransformFunction": resources["TransformFunction"]["Properties"]["LoggingConfig"][
            "LogGroup"
        ],
        "PipelineBuild": resources["PipelineBuild"]["Properties"]["LogsConfig"]["CloudWatchLogs"][
            "GroupName"
        ],
        "DeliveryStream": resources["DeliveryStream"]["Properties"][
            "IcebergDestinationConfiguration"
        ]["CloudWatchLoggingOptions"]["LogGroupName"],
        "HttpIngestStage": resources["HttpIngestStage"]["Properties"]["AccessLogSetting"][
            "DestinationArn"
        ],
    }
    for writer, target in writers.items():
        assert any(refs_to(target, group) for group in log_groups), writer


def test_every_alarm_notifies_the_topic(template):
    alarms = resources_of_type(template, "AWS::CloudWatch::Alarm")
    assert len(alarms) >= 8
    for logical_id, alarm in alarms.items():
        actions = alarm["Properties"]["AlarmActions"]
        assert any(refs_to(action, TOPIC_ID) for action in actions), logical_id


def test_every_alarm_has_a_runbook_entry(template):
    runbook = OPERATIONS_DOC.read_text(encoding="utf-8")
    headings = {
        re.sub(r"[^a-z0-9-]", "", line.lstrip("#").strip().lower().replace(" ", "-"))
        for line in runbook.splitlines()
        if line.startswith("#")
    }
    for logical_id, alarm in resources_of_type(template, "AWS::CloudWatch::Alarm").items():
        anchor = re.search(r"operations\.md#([a-z0-9-]+)", alarm["Properties"]["AlarmDescription"])
        assert anchor, f"{logical_id}: description must link its runbook entry"
        assert anchor.group(1) in headings, f"{logical_id}: no heading for #{anchor.group(1)}"


def test_failed_builds_reach_the_topic_through_an_eventbridge_rule(template):
    rule = template["Resources"]["BuildFailedRule"]["Properties"]
    pattern = rule["EventPattern"]
    assert pattern["source"] == ["aws.codebuild"]
    assert "FAILED" in pattern["detail"]["build-status"]
    assert refs_to(pattern["detail"]["project-name"], "PipelineBuild")
    assert any(refs_to(target["Arn"], TOPIC_ID) for target in rule["Targets"])
    topic_policy = template["Resources"]["AlertTopicPolicy"]["Properties"]["PolicyDocument"]
    assert any(refs_to(s.get("Condition"), "BuildFailedRule") for s in topic_policy["Statement"])


def test_schedule_runs_the_build_daily_at_two_utc_with_retries_and_dlq(template):
    default = template["Parameters"]["PipelineScheduleExpression"]["Default"]
    assert default == "cron(0 2 * * ? *)"
    schedule = template["Resources"]["PipelineSchedule"]["Properties"]
    assert refs_to(schedule["ScheduleExpression"], "PipelineScheduleExpression")
    assert schedule["ScheduleExpressionTimezone"] == "UTC"
    target = schedule["Target"]
    assert "codebuild:startBuild" in target["Arn"]["Fn::Sub"]
    assert refs_to(target["Input"], "PipelineBuild")
    assert target["RetryPolicy"]["MaximumRetryAttempts"] > 0
    assert target["RetryPolicy"]["MaximumEventAgeInSeconds"] == 6 * 3600
    assert refs_to(target["DeadLetterConfig"]["Arn"], "ScheduleDeadLetterQueue")


def test_build_runs_buildspec_with_the_environment_it_needs(template):
    project = template["Resources"]["PipelineBuild"]["Properties"]
    assert project["Source"]["BuildSpec"] == "buildspec.yml"
    names = {variable["Name"] for variable in project["Environment"]["EnvironmentVariables"]}
    needed = {
        "ATHENA_WORKGROUP",
        "ATHENA_OUTPUT_LOCATION",
        "S3_TABLES_CATALOG",
        "DBT_MARTS_DATABASE",
        "DBT_MARTS_S3_LOCATION",
        "AWS_REGION",
    }
    assert needed <= names
    assert project["ConcurrentBuildLimit"] == 1


def test_athena_workgroup_is_enforced_with_a_scan_cutoff(template):
    config = template["Resources"]["AthenaWorkGroup"]["Properties"]["WorkGroupConfiguration"]
    assert config["EnforceWorkGroupConfiguration"] is True
    assert refs_to(config["BytesScannedCutoffPerQuery"], "AthenaBytesScannedCutoff")
    encryption = config["ResultConfiguration"]["EncryptionConfiguration"]["EncryptionOption"]
    assert encryption != "SSE_KMS", "Athena cannot write S3 Tables under SSE-KMS results"
    assert config["EngineVersion"]["SelectedEngineVersion"] == "Athena engine version 3"


def test_processor_buffer_follows_the_lambda_response_analysis(template):
    """docs/lambda.md: 0.2 MB keeps real traffic under the 6 MB response; never above 3 MB."""
    parameter = template["Parameters"]["ProcessorBufferSizeMB"]
    assert parameter["Default"] == 0.2
    assert 0.2 <= parameter["MinValue"] <= parameter["Default"] <= parameter["MaxValue"] <= 3
    assert "docs/lambda.md" in parameter["Description"]
    (processor,) = template["Resources"]["DeliveryStream"]["Properties"][
        "IcebergDestinationConfiguration"
    ]["ProcessingConfiguration"]["Processors"]
    values = {p["ParameterName"]: p["ParameterValue"] for p in processor["Parameters"]}
    assert refs_to(values["BufferSizeInMBs"], "ProcessorBufferSizeMB")
    assert refs_to(values["LambdaArn"], "TransformFunction")


def test_firehose_writes_failures_to_the_error_prefix_and_retries(template):
    iceberg = template["Resources"]["DeliveryStream"]["Properties"][
        "IcebergDestinationConfiguration"
    ]
    assert iceberg["s3BackupMode"] == "FailedDataOnly"
    assert "!{firehose:error-output-type}" in iceberg["S3Configuration"]["ErrorOutputPrefix"]
    assert refs_to(iceberg["RetryOptions"]["DurationInSeconds"], "DeliveryRetrySeconds")
    assert iceberg["CloudWatchLoggingOptions"]["Enabled"] is True
    assert "s3tablescatalog" in iceberg["CatalogConfiguration"]["CatalogArn"]["Fn::Sub"]


def test_time_travel_reaches_back_two_weeks_on_analytics_and_no_further_than_erasure_allows(
        template):
    # D-PRIV-1: an erased person's rows must leave every snapshot within 30 days.
    default_hours = template["Parameters"]["AnalyticsSnapshotRetentionHours"]["Default"]
    assert 14 * 24 <= default_hours <= template["Parameters"][
        "AnalyticsSnapshotRetentionHours"]["MaxValue"] <= 18 * 24
    for table in resources_of_type(template, "AWS::S3Tables::Table").values():
        props = table["Properties"]
        assert props["SnapshotManagement"]["Status"] == "enabled"
        assert props["Compaction"]["Status"] == "enabled"


def test_lambda_uses_the_public_powertools_layer_per_region(template):
    function = template["Resources"]["TransformFunction"]["Properties"]
    (layer,) = function["Layers"]
    arn = layer["Fn::Sub"]
    assert "${AWS::Region}" in arn and "${PowertoolsLayerVersion}" in arn
    assert "AWSLambdaPowertoolsPythonV3-python311-" in arn
    architecture = "arm64" if arn.split("-")[-1].startswith("arm64") else "x86_64"
    assert template["Globals"]["Function"]["Architectures"] == [architecture]
    assert function["CodeUri"] == "transform_lambda/"
    assert function["Handler"] == "app.lambda_handler"


NAME_PROPERTIES = {
    "BucketName",
    "FunctionName",
    "TableBucketName",
    "DeliveryStreamName",
    "Name",
    "TopicName",
    "QueueName",
    "RoleName",
    "LogGroupName",
    "AliasName",
    "ManagedPolicyName",
    "DashboardName",
}
# AWS's account that publishes the public Powertools layers (the only account id allowed).
POWERTOOLS_PUBLISHER_ACCOUNT = "017000801446"
# Scoped inside a per-stack parent (the table bucket), so fixed names cannot collide.
SCOPED_NAMES = {"AWS::S3Tables::Namespace", "AWS::S3Tables::Table"}


def test_no_hard_coded_resource_names(template):
    """Every name a resource sets is derived from EnvironmentName, so stacks can coexist."""
    for logical_id, resource in template["Resources"].items():
        if resource["Type"] in SCOPED_NAMES:
            continue
        props = resource.get("Properties", {})
        named = dict(props)
        named.update(props.get("DatabaseInput", {}))
        for key in NAME_PROPERTIES & set(named):
            value = named[key]
            if isinstance(value, dict) and "Ref" in value:
                continue  # a reference to another resource's (derived) name
            # a name built on another resource's id (unique per stack), or on the environment
            derived = [other for other in template["Resources"] if refs_to(value, other)]
            assert derived or refs_to(value, "EnvironmentName"), f"{logical_id}.{key} = {value!r}"
    accounts = set(re.findall(r":(\d{12}):", TEMPLATE_PATH.read_text(encoding="utf-8")))
    assert accounts <= {POWERTOOLS_PUBLISHER_ACCOUNT}, f"hard-coded account ids {accounts}"


def test_outputs_cover_what_an_operator_needs(template):
    outputs = set(template["Outputs"])
    assert {
        "DeliveryStreamName",
        "S3TablesCatalog",
        "AthenaWorkGroupName",
        "AthenaOutputLocation",
        "DeliveryErrorBucketName",
        "MartsDatabaseName",
        "BuildSourceLocation",
        "PipelineBuildProjectName",
        "AlertTopicArn",
        "DashboardName",
        "DataKeyArn",
    } <= outputs


def test_http_ingest_validates_json_throttles_and_limits_size(template):
    resources = template["Resources"]
    post = resources["HttpIngestPostMethod"]["Properties"]
    assert post["Integration"]["PassthroughBehavior"] == "NEVER"
    # JSON and sendBeacon's text/plain (tests/infra/test_infra_http_ingest.py has the contract)
    assert list(post["Integration"]["RequestTemplates"]) == ["application/json", "text/plain"]
    assert refs_to(post["RequestModels"]["application/json"], "HttpIngestEventModel")
    one_event, batch = resources["HttpIngestEventModel"]["Properties"]["Schema"]["oneOf"]
    assert batch["type"] == "array" and batch["maxItems"] == 500  # PutRecords' limit
    assert resources["HttpIngestBodyValidator"]["Properties"]["ValidateRequestBody"] is True
    assert post["Integration"]["Type"] == "AWS"  # a service integration, no Lambda in the path
    (settings,) = resources["HttpIngestStage"]["Properties"]["MethodSettings"]
    assert refs_to(settings["ThrottlingRateLimit"], "HttpIngestRateLimit")
    rules = resources["HttpIngestWebAcl"]["Properties"]["Rules"]
    size_rule = next(r for r in rules if "SizeConstraintStatement" in r["Statement"])
    size_limit = size_rule["Statement"]["SizeConstraintStatement"]["Size"]
    assert refs_to(size_limit, "HttpIngestMaxBodyBytes")
    # WAF inspects up to 64 KB of an API Gateway body (web-acl-setting-body-inspection-limit)
    assert template["Parameters"]["HttpIngestMaxBodyBytes"]["MaxValue"] <= 65536
    options = resources["HttpIngestOptionsMethod"]["Properties"]["Integration"]
    (preflight,) = options["IntegrationResponses"]
    assert "method.response.header.Access-Control-Allow-Origin" in preflight["ResponseParameters"]


def test_build_selects_the_athena_output_of_the_dbt_profile(template):
    """DBT_TARGET must name dbt/profiles.yml's dbt-athena output, or the job runs DuckDB."""
    profiles = yaml.safe_load((PROJECT_ROOT / "dbt" / "profiles.yml").read_text(encoding="utf-8"))
    (profile,) = profiles.values()
    variables = {
        variable["Name"]: variable["Value"]
        for variable in template["Resources"]["PipelineBuild"]["Properties"]["Environment"][
            "EnvironmentVariables"
        ]
    }
    assert profile["outputs"][variables["DBT_TARGET"]]["type"] == "athena"


def test_the_daily_job_gets_the_erasure_key_from_secrets_manager_and_may_read_only_it(template):
    resources = template["Resources"]
    variables = resources["PipelineBuild"]["Properties"]["Environment"]["EnvironmentVariables"]
    (key,) = [v for v in variables if v["Name"] == "WEBEVENTS_ERASURE_KEY"]
    assert key == {"Name": "WEBEVENTS_ERASURE_KEY", "Type": "SECRETS_MANAGER",
                   "Value": {"Ref": "ErasureKeySecret"}}
    assert resources["ErasureKeySecret"]["DeletionPolicy"] == "Retain"
    statements = resources["BuildReadErasureKeyPolicy"]["Properties"]["PolicyDocument"][
        "Statement"]
    assert statements[0]["Action"] == "secretsmanager:GetSecretValue"
    assert statements[0]["Resource"] == {"Ref": "ErasureKeySecret"}
