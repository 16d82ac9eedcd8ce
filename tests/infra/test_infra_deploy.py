"""Faults only a real account shows, checked on the parsed template and runbook."""

import re
import tomllib

import pytest
from infra_cfn import OPERATIONS_DOC, PROJECT_ROOT, SAMCONFIG_PATH, as_list, branches, refs_to

KMS_DOC = "docs.aws.amazon.com"


def _statements(document):
    for statement in as_list(document["Statement"]):
        yield from branches(statement)


def _policy(template, logical_id):
    return template["Resources"][logical_id]["Properties"]["PolicyDocument"]


def _identity_statements(template):
    """(where, statement) of every Allow statement of every identity policy."""
    for logical_id, resource in template["Resources"].items():
        props = resource.get("Properties", {})
        documents = []
        if resource["Type"] in ("AWS::IAM::RolePolicy", "AWS::IAM::ManagedPolicy"):
            documents.append(props["PolicyDocument"])
        elif resource["Type"] == "AWS::IAM::Role":
            documents += [policy["PolicyDocument"] for policy in props.get("Policies", [])]
        elif resource["Type"] == "AWS::Serverless::Function":
            documents += [p for p in as_list(props.get("Policies", [])) if "Statement" in p]
        for document in documents:
            for statement in _statements(document):
                if statement["Effect"] == "Allow":
                    yield logical_id, statement


def _actions(statement):
    return [a for value in as_list(statement["Action"]) for a in branches(value)]


# --- 1. the s3tablescatalog runbook step -------------------------------------------------


def test_runbook_creates_the_tables_catalog_in_iam_mode():
    """Empty default permissions hand the catalog to Lake Formation; IAM mode needs ALL."""
    runbook = OPERATIONS_DOC.read_text(encoding="utf-8")
    step = runbook[runbook.index("aws glue create-catalog") :][:1500]
    assert '"CreateDatabaseDefaultPermissions": []' not in step
    assert '"CreateTableDefaultPermissions": []' not in step
    for key in ("CreateDatabaseDefaultPermissions", "CreateTableDefaultPermissions"):
        grant = re.search(
            key + r'": \[\{"Principal": \{"DataLakePrincipalIdentifier": '
            r'"IAM_ALLOWED_PRINCIPALS"\}, "Permissions": \["ALL"\]\}\]',
            step,
        )
        assert grant, f"{key} must grant ALL to IAM_ALLOWED_PRINCIPALS"
    assert "aws glue get-catalog" in runbook and "Lake Formation" in runbook


# --- 2. lakeformation:GetDataAccess for the Firehose role --------------------------------


def test_delivery_role_may_ask_lake_formation_for_table_credentials(template):
    statements = list(_statements(_policy(template, "DeliveryWriteRawTablePolicy")))
    granting = [s for s in statements if "lakeformation:GetDataAccess" in _actions(s)]
    assert len(granting) == 1
    (statement,) = granting
    # The action has no resource-level form; nothing else may ride on the "*".
    assert statement["Resource"] == "*"
    assert _actions(statement) == ["lakeformation:GetDataAccess"]


def test_resource_star_is_only_for_actions_without_resource_level_permissions(template):
    for where, statement in _identity_statements(template):
        if "*" in [r for value in as_list(statement["Resource"]) for r in branches(value)]:
            assert _actions(statement) == ["lakeformation:GetDataAccess"], where


# --- 4. GetBucketLocation is never conditioned on s3:prefix ------------------------------


def test_prefix_conditions_only_sit_on_list_bucket(template):
    """s3:prefix exists only on ListBucket requests; any other action beside it is never allowed."""
    conditioned = 0
    for where, statement in _identity_statements(template):
        if "s3:prefix" in str(statement.get("Condition", {})):
            conditioned += 1
            assert _actions(statement) == ["s3:ListBucket"], where
    assert conditioned >= 1


def test_archive_bucket_location_has_its_own_unconditioned_statement(template):
    statements = list(_statements(_policy(template, "ArchiveReadPolicy")))
    locate = [s for s in statements if "s3:GetBucketLocation" in _actions(s)]
    assert locate and all("Condition" not in s for s in locate)
    assert all(refs_to(s["Resource"], "ArchiveBucketName") for s in locate)


# --- 5. SNS's key policy for AWS service publishers --------------------------------------


def test_key_lets_eventbridge_and_cloudwatch_publish_to_the_encrypted_topic(template):
    """SNS documents this statement without conditions; aws:SourceAccount drops EventBridge's."""
    key_policy = template["Resources"]["DataKey"]["Properties"]["KeyPolicy"]
    publishers = [
        s
        for s in key_policy["Statement"]
        if "events.amazonaws.com" in as_list(s["Principal"].get("Service", []))
    ]
    assert len(publishers) == 1
    (statement,) = publishers
    assert "cloudwatch.amazonaws.com" in as_list(statement["Principal"]["Service"])
    assert {"kms:Decrypt", "kms:GenerateDataKey*"} <= set(as_list(statement["Action"]))
    assert "Condition" not in statement
    assert "sns-key-management" in (PROJECT_ROOT / "template.yaml").read_text(encoding="utf-8")


# --- 6. parameters carry the bounds AWS enforces ------------------------------------------

# Number parameters AWS bounds, and the bounds (inclusive) the template must state.
AWS_BOUNDS = {
    "KinesisRetentionHours": (24, 8760),
    "ProcessorBufferSizeMB": (0.2, 3),
    "ProcessorBufferIntervalSeconds": (0, 900),
    "DeliveryBufferSizeMB": (1, 128),
    "DeliveryBufferIntervalSeconds": (0, 900),
    "DeliveryRetrySeconds": (0, 7200),
    "LambdaMemoryMB": (128, 10240),
    "CompactionTargetFileSizeMB": (64, 512),
    "BuildTimeoutMinutes": (5, 2160),
    "BuildAutoRetryLimit": (0, 10),
    # WAF forwards at most 64 KB of an API Gateway body (body inspection limit KB_64):
    # https://docs.aws.amazon.com/waf/latest/developerguide/web-acl-setting-body-inspection-limit.html
    "HttpIngestMaxBodyBytes": (1, 65536),
    # WAF rate-based rule limit: 10 to 2,000,000,000 requests per evaluation window
    "HttpIngestRequestsPer5Min": (10, 2_000_000_000),
    "FreshnessThresholdSeconds": (60, 86400),
}
# Parameters AWS puts no bound on (thresholds and counts of ours), or that another change owns.
UNBOUNDED_BY_AWS = {
    "ProcessingFailedAlarmThreshold": "an alarm threshold of ours",
    "PowertoolsLayerVersion": "any published layer version",
    "AthenaBytesScannedCutoff": "Athena sets only the 10 MB minimum",
    "RawSnapshotRetentionHours": "S3 Tables sets only a minimum; the maximum is the erasure "
                                 "deadline's (D-PRIV-1)",
    "AnalyticsSnapshotRetentionHours": "S3 Tables sets only a minimum; the maximum is the "
                                       "erasure deadline's (D-PRIV-1)",
    "HttpIngestRateLimit": "stage throttles have no fixed maximum (an adjustable account quota)",
    "HttpIngestBurstLimit": "stage throttles have no fixed maximum (an adjustable account quota)",
}


def test_every_parameter_aws_bounds_states_its_bounds(template):
    for name, parameter in template["Parameters"].items():
        if name in UNBOUNDED_BY_AWS:
            continue
        if parameter["Type"] == "Number" and "AllowedValues" not in parameter:
            low, high = AWS_BOUNDS[name]
            assert low <= parameter["MinValue"] <= parameter["MaxValue"] <= high, name
            assert parameter["MinValue"] <= parameter["Default"] <= parameter["MaxValue"], name
        else:
            assert "AllowedValues" in parameter or "AllowedPattern" in parameter, name


def test_compaction_target_is_within_what_s3_tables_accepts(template):
    parameter = template["Parameters"]["CompactionTargetFileSizeMB"]
    assert (parameter["MinValue"], parameter["MaxValue"]) == (64, 512)


@pytest.mark.parametrize(
    ("name", "good", "bad"),
    [
        ("ArchiveBucketName", ["", "my-archive.2024"], ["My_Bucket", "ab", "-archive"]),
        (
            "ArchiveKmsKeyArn",
            ["", "arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"],
            ["alias/archive", "arn:aws:kms:eu-west-1:1111:key/x"],
        ),
        (
            "PipelineScheduleExpression",
            ["cron(0 2 * * ? *)", "rate(1 day)"],
            ["daily", "0 2 * * *"],
        ),
        ("BuildSourceKey", ["source/webevents.zip"], ["/source/webevents.zip", "source/"]),
        ("AlertEmail", ["", "ops@example.com"], ["ops", "ops@ example.com"]),
        ("ArchivePrefix", ["", "archive/"], ["/archive/", "archive"]),
    ],
)
def test_string_patterns_accept_real_values_and_refuse_typos(template, name, good, bad):
    pattern = template["Parameters"][name]["AllowedPattern"]
    # CloudFormation matches the whole value against the pattern.
    for value in good + [template["Parameters"][name]["Default"]]:
        assert re.fullmatch(pattern, value), (name, value)
    for value in bad:
        assert not re.fullmatch(pattern, value), (name, value)


# --- 11. every grant on the shared key says through which service -------------------------



def test_identity_grants_on_the_key_are_limited_to_one_service_path(template):
    grants = 0
    for where, statement in _identity_statements(template):
        if not any(a.startswith("kms:") for a in _actions(statement)):
            continue
        if not refs_to(statement["Resource"], "DataKey"):
            continue
        grants += 1
        via = statement.get("Condition", {}).get("StringEquals", {}).get("kms:ViaService")
        assert via, f"{where}: kms grant without kms:ViaService"
        # an !If chooses the service by a condition: both branches must name one
        values = via["Fn::If"][1:] if isinstance(via, dict) and "Fn::If" in via else as_list(via)
        for value in values:
            assert re.fullmatch(r"[a-z0-9]+\.\$\{AWS::Region\}\.amazonaws\.com", value["Fn::Sub"])
    assert grants >= 7


# --- 9. unattended deploys where safe; the first scheduled run has its source -------------


@pytest.fixture(scope="module")
def samconfig() -> dict:
    with SAMCONFIG_PATH.open("rb") as handle:
        return tomllib.load(handle)


@pytest.mark.parametrize(
    ("env", "confirm"), [("default", False), ("staging", False), ("prod", True)]
)
def test_only_prod_waits_for_a_human_to_confirm_the_changeset(samconfig, env, confirm):
    assert samconfig[env]["deploy"]["parameters"]["confirm_changeset"] is confirm


def _make_recipe(target: str) -> list[str]:
    lines = (PROJECT_ROOT / "Makefile").read_text(encoding="utf-8").splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(f"{target}:"))
    recipe = []
    for line in lines[start + 1 :]:
        if not line.startswith("\t"):
            break
        recipe.append(line.strip())
    return recipe


def test_make_deploy_uploads_the_build_source_right_after_the_stack(template):
    """The schedule is ENABLED at creation; its first run needs the zip it builds from."""
    assert template["Parameters"]["PipelineScheduleState"]["Default"] == "ENABLED"
    recipe = _make_recipe("deploy")
    deploy = next(i for i, line in enumerate(recipe) if "sam deploy" in line)
    upload = next(i for i, line in enumerate(recipe) if "upload-source" in line)
    assert deploy < upload
    upload_recipe = " ".join(_make_recipe("upload-source"))
    assert "git archive --format=zip" in upload_recipe
    assert "webevents upload-source" in upload_recipe


def test_make_smoke_runs_the_smoke_command_on_the_environment_stack():
    recipe = " ".join(_make_recipe("smoke"))
    assert "webevents smoke --stack" in recipe and "$(STACK_ENV)" in recipe


# --- 12. a data-events trail on the table bucket and the archive ---------------------------


def test_prod_audits_who_read_or_wrote_table_and_archive_objects(template):
    conditions = template["Conditions"]["CreateDataEventsTrail"]["Fn::Or"]
    assert {"Fn::Equals": [{"Ref": "EnvironmentName"}, "prod"]} in conditions[1]["Fn::And"]
    trail = template["Resources"]["DataEventsTrail"]
    assert trail["Condition"] == "CreateDataEventsTrail"
    props = trail["Properties"]
    assert props["EnableLogFileValidation"] is True and refs_to(props["KMSKeyId"], "DataKey")
    selectors = [s for item in props["AdvancedEventSelectors"] for s in branches(item)]
    fields = [{f["Field"]: f for f in s["FieldSelectors"]} for s in selectors]
    tables = next(f for f in fields if f["resources.type"]["Equals"] == ["AWS::S3Tables::Table"])
    assert refs_to(tables["resources.ARN"]["StartsWith"], "TableBucket")
    archive = next(f for f in fields if f["resources.type"]["Equals"] == ["AWS::S3::Object"])
    assert refs_to(archive["resources.ARN"]["StartsWith"], "ArchiveBucketName")
    assert all(f["eventCategory"]["Equals"] == ["Data"] for f in fields)


def test_cloudtrail_may_use_the_key_only_for_this_accounts_trails(template):
    statements = template["Resources"]["DataKey"]["Properties"]["KeyPolicy"]["Statement"]
    (encrypt,) = [s for s in statements if s["Sid"] == "CloudTrailEncryptsDataEventLogs"]
    context = encrypt["Condition"]["StringLike"]["kms:EncryptionContext:aws:cloudtrail:arn"]
    assert refs_to(context, "AWS::AccountId")
    assert refs_to(encrypt["Condition"]["StringEquals"]["aws:SourceAccount"], "AWS::AccountId")


def test_the_decisions_record_the_trail_and_vpc_choice_with_cost():
    decisions = (PROJECT_ROOT / "docs" / "decisions.md").read_text(encoding="utf-8")
    section = decisions[decisions.index("## D-INFRA-15") :].split("\n## ")[0]
    assert "CloudTrail" in section and "VPC" in section and "$" in section


# --- 13. the smoke test's scratch scope ---------------------------------------------------------


def test_the_smoke_scratch_policy_reaches_only_the_scratch_databases_and_no_role(template):
    """`webevents smoke --scratch` deletes Glue databases: only `<marts>_smoke_*`, never via
    BuildRole (an operator attaches the policy), and DeleteDatabase gets its tables too."""
    (statement,) = list(_statements(_policy(template, "SmokeScratchPolicy")))
    actions = _actions(statement)
    assert {"glue:CreateDatabase", "glue:DeleteDatabase", "glue:DeleteTable"} <= set(actions)
    resources = [str(r) for r in as_list(statement["Resource"])]
    scoped = [r for r in resources if not r.endswith(":catalog'}")]
    assert scoped and all("${MartsDatabase}_smoke_*" in r for r in scoped)
    assert any("table/${MartsDatabase}_smoke_*/*" in r for r in resources)
    for logical_id, resource in template["Resources"].items():
        if resource["Type"] == "AWS::IAM::Role":
            attached = resource["Properties"].get("ManagedPolicyArns", [])
            assert {"Ref": "SmokeScratchPolicy"} not in attached, logical_id
    deleting = [where for where, s in _identity_statements(template)
                if "glue:DeleteDatabase" in _actions(s)]
    assert deleting == ["SmokeScratchPolicy"]
    assert template["Outputs"]["SmokeScratchPolicyArn"]["Value"] == {"Ref": "SmokeScratchPolicy"}
