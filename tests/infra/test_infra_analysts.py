"""Analysts query in a workgroup of their own (docs/decisions.md, D-PRIV-9).

Under IpHandling=hash the backfill's statement carries the IP hash key as a literal, and Athena
keeps every statement's text in the workgroup's query history for 45 days, readable by whoever
may call athena:GetQueryExecution / ListQueryExecutions / BatchGetQueryExecution on that
workgroup. So the analysts' policies (AnalystQueryPolicy, and AnalystTablesPolicy beside it)
must reach AnalystWorkGroup and nothing of AthenaWorkGroup, write nothing but their own query
results, and read only the marts and the analytics namespace.

The policies are evaluated, not just read: every template value is resolved as CloudFormation
would for one made-up stack, and each call is checked against the statements the way IAM
matches an identity policy (action, resource with its wildcards, condition keys)."""

from __future__ import annotations

import copy

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
from infra_cfn import as_list, resources_of_type

QUERY_POLICY = "AnalystQueryPolicy"
TABLES_POLICY = "AnalystTablesPolicy"
ANALYST_POLICIES = (QUERY_POLICY, TABLES_POLICY)  # what an analyst's role holds
PIPELINE_POLICY = "PipelineQueryPolicy"
GLUE = f"arn:aws:glue:{REGION}:{ACCOUNT}"

# Every call that starts, follows or reads a query (and its history) in a workgroup.
QUERY_ACTIONS = ("athena:StartQueryExecution", "athena:GetQueryExecution",
                 "athena:GetQueryResults", "athena:StopQueryExecution", "athena:GetWorkGroup",
                 "athena:ListQueryExecutions", "athena:BatchGetQueryExecution")
# The calls that read another workgroup's statements (its query history).
HISTORY_ACTIONS = ("athena:GetQueryExecution", "athena:ListQueryExecutions",
                   "athena:BatchGetQueryExecution")
# Actions that change nothing: read verbs, and decrypting (reading SSE-KMS data).
READ_VERBS = ("Get", "List", "BatchGet", "Decrypt")
# The only non-read actions the policy may grant: running its own queries and writing their
# results (Athena writes results with the caller's credentials).
QUERY_AND_RESULT_WRITES = {"athena:StartQueryExecution", "athena:StopQueryExecution",
                           "s3:PutObject", "s3:AbortMultipartUpload"}


def analyst_policy(template: dict) -> list[dict]:
    """Every statement an analyst holds: both analyst policies."""
    return [s for logical_id in ANALYST_POLICIES for s in statements(template, logical_id)]


def granted_actions(policy: list[dict]) -> set[str]:
    return {action for s in policy if s["Effect"] == "Allow" for action in as_list(s["Action"])}


# ---- the places, as ARNs of the made-up stack --------------------------------------------


def workgroup_arn(template: dict, logical_id: str) -> str:
    return f"arn:aws:athena:{REGION}:{ACCOUNT}:workgroup/{physical_name(template, logical_id)}"


def results_bucket(template: dict) -> str:
    return attribute(template, "AthenaResultsBucket", "Arn")


def output_location(template: dict, workgroup: str) -> str:
    config = template["Resources"][workgroup]["Properties"]["WorkGroupConfiguration"]
    return resolve(template, config["ResultConfiguration"]["OutputLocation"])


def tables_database(template: dict, namespace: str) -> str:
    bucket = resolve(template, template["Resources"]["TableBucket"]["Properties"][
        "TableBucketName"])
    return f"s3tablescatalog/{bucket}/{namespace}"


def table_arn(template: dict) -> str:
    """A table's ARN names it by id, never by namespace (S3 Tables access management)."""
    return f"{attribute(template, 'TableBucket', 'TableBucketARN')}/table/0f8fad5b-d9cb-469f"


def query_history_reachable(policy: list[dict], workgroup: str) -> list[str]:
    """The history-reading calls the policy allows on a workgroup."""
    return [action for action in HISTORY_ACTIONS if allowed(policy, action, workgroup)]


# ---- the workgroup -------------------------------------------------------------------------


def test_the_analyst_workgroup_is_enforced_with_its_own_name_engine_and_cutoff(template):
    workgroup = template["Resources"]["AnalystWorkGroup"]
    assert workgroup["Type"] == "AWS::Athena::WorkGroup"
    properties = workgroup["Properties"]
    assert physical_name(template, "AnalystWorkGroup") == "webevents-dev-analysts"
    assert physical_name(template, "AnalystWorkGroup") != physical_name(template,
                                                                        "AthenaWorkGroup")
    assert properties["State"] == "ENABLED"
    config = properties["WorkGroupConfiguration"]
    # enforced: an analyst's client-side result location or encryption is ignored
    assert config["EnforceWorkGroupConfiguration"] is True
    assert config["BytesScannedCutoffPerQuery"] == {"Ref": "AthenaBytesScannedCutoff"}
    assert config["EngineVersion"]["SelectedEngineVersion"] == "Athena engine version 3"
    # SSE_S3 like the pipeline's: D-INFRA-5
    assert config["ResultConfiguration"]["EncryptionConfiguration"] == {
        "EncryptionOption": "SSE_S3"}


def test_analyst_results_land_under_analysts_apart_from_the_pipeline_s(template):
    bucket = physical_name(template, "AthenaResultsBucket")
    analysts = output_location(template, "AnalystWorkGroup")
    pipeline = output_location(template, "AthenaWorkGroup")
    assert analysts == f"s3://{bucket}/analysts/"
    assert pipeline == f"s3://{bucket}/athena/"
    assert not analysts.startswith(pipeline) and not pipeline.startswith(analysts)


def test_analyst_results_expire_with_the_rest_of_the_results_bucket(template):
    """Analysts' results can hold personal rows too: the bucket-wide 7-day rule covers them."""
    rules = template["Resources"]["AthenaResultsBucket"]["Properties"][
        "LifecycleConfiguration"]["Rules"]
    [expiry] = [rule for rule in rules if "ExpirationInDays" in rule]
    assert expiry["Status"] == "Enabled" and expiry["ExpirationInDays"] <= 7
    assert "Prefix" not in expiry and "Filter" not in expiry  # the whole bucket


def test_the_pipeline_workgroup_is_no_longer_described_as_the_analysts(template):
    description = template["Resources"]["AthenaWorkGroup"]["Properties"]["Description"]
    assert "analyst" not in description.lower()
    assert "and analysts" not in template["Outputs"]["AthenaWorkGroupName"]["Description"]


# ---- Athena: the analyst workgroup, never the pipeline's ---------------------------------


@pytest.mark.parametrize("action", QUERY_ACTIONS)
def test_analysts_may_run_and_read_queries_in_their_workgroup(template, action):
    policy = analyst_policy(template)
    assert allowed(policy, action, workgroup_arn(template, "AnalystWorkGroup"))


@pytest.mark.parametrize("action", QUERY_ACTIONS)
def test_analysts_may_do_nothing_in_the_pipeline_workgroup(template, action):
    policy = analyst_policy(template)
    assert not allowed(policy, action, workgroup_arn(template, "AthenaWorkGroup"))


def test_no_athena_action_of_the_policy_reaches_another_workgroup(template):
    policy = analyst_policy(template)
    athena = sorted(a for a in granted_actions(policy) if a.startswith("athena:"))
    others = [workgroup_arn(template, "AthenaWorkGroup"),
              f"arn:aws:athena:{REGION}:{ACCOUNT}:workgroup/primary",
              f"arn:aws:athena:{REGION}:{ACCOUNT}:workgroup/webevents-dev-analysts2"]
    for workgroup in others:
        assert [a for a in athena if allowed(policy, a, workgroup)] == [], workgroup
    # nor may an analyst change the workgroup (lift its enforcement, its cutoff) or make one
    for action in ("athena:UpdateWorkGroup", "athena:DeleteWorkGroup", "athena:CreateWorkGroup",
                   "athena:CreatePreparedStatement", "athena:CreateNamedQuery"):
        assert not allowed(policy, action, workgroup_arn(template, "AnalystWorkGroup")), action


def test_the_history_check_catches_a_policy_widened_to_every_workgroup(template):
    """The checks above can fail: a wildcard workgroup would expose the pipeline's history."""
    widened = copy.deepcopy(analyst_policy(template))
    [run] = [s for s in widened if "athena:ListQueryExecutions" in as_list(s["Action"])]
    run["Resource"] = f"arn:aws:athena:{REGION}:{ACCOUNT}:workgroup/*"
    pipeline = workgroup_arn(template, "AthenaWorkGroup")
    assert query_history_reachable(widened, pipeline) == list(HISTORY_ACTIONS)
    assert query_history_reachable(analyst_policy(template), pipeline) == []


@pytest.mark.parametrize("action", QUERY_ACTIONS)
def test_the_pipeline_policy_still_runs_the_pipeline_s_queries(template, action):
    assert {"Ref": PIPELINE_POLICY} in template["Resources"]["BuildRole"]["Properties"][
        "ManagedPolicyArns"]
    policy = statements(template, PIPELINE_POLICY)
    assert allowed(policy, action, workgroup_arn(template, "AthenaWorkGroup"))


# ---- nothing written but the analysts' own results ---------------------------------------


def test_every_action_granted_reads_except_running_queries_and_writing_their_results(
        template):
    policy = analyst_policy(template)
    granted = granted_actions(policy)
    assert not any("*" in action for action in granted)
    writes = {a for a in granted if not a.split(":", 1)[1].startswith(READ_VERBS)}
    assert writes == QUERY_AND_RESULT_WRITES
    # and the result writes reach the analysts' prefix only
    for action in ("s3:PutObject", "s3:AbortMultipartUpload"):
        statements_with_it = [s for s in policy if action in as_list(s["Action"])]
        resources = {r for s in statements_with_it for r in as_list(s["Resource"])}
        assert resources == {f"{results_bucket(template)}/analysts/*"}, action


def write_calls(template: dict) -> list[tuple[str, str, dict[str, str]]]:
    """Writes an analyst must not make: (action, resource, request context)."""
    results = results_bucket(template)
    marts = attribute(template, "MartsBucket", "Arn")
    marts_db = physical_name(template, "MartsDatabase")
    analytics_db = tables_database(template, "analytics")
    bucket = attribute(template, "TableBucket", "TableBucketARN")
    in_analytics = {"s3tables:namespace": "analytics"}
    calls = [(action, key, {}) for action in ("s3:PutObject", "s3:DeleteObject")
             for key in (f"{results}/athena/q.csv", f"{results}/athena/dbt/q.csv",
                         f"{results}/q.csv", f"{results}/analystsX/q.csv",
                         f"{results}/x/analysts/q.csv", f"{marts}/marts/fct/data.parquet")]
    calls += [("s3:DeleteObject", f"{results}/analysts/q.csv", {}),
              ("s3:PutBucketPolicy", results, {}), ("s3:PutLifecycleConfiguration", results, {})]
    calls += [(f"glue:{verb}", resource, {})
              for verb in ("CreateDatabase", "UpdateDatabase", "DeleteDatabase", "CreateTable",
                           "UpdateTable", "DeleteTable", "BatchDeleteTable",
                           "BatchCreatePartition", "DeleteTableVersion")
              for resource in (f"{GLUE}:catalog", f"{GLUE}:database/{marts_db}",
                               f"{GLUE}:table/{marts_db}/fct_web_events",
                               f"{GLUE}:database/{analytics_db}",
                               f"{GLUE}:table/{analytics_db}/web_events")]
    calls += [(f"s3tables:{verb}", resource, in_analytics)
              for verb in ("PutTableData", "UpdateTableMetadataLocation", "CreateTable",
                           "CreateNamespace", "DeleteTable", "DeleteNamespace",
                           "PutTableMaintenanceConfiguration", "PutTablePolicy",
                           "PutTableBucketPolicy", "RenameTable")
              for resource in (bucket, table_arn(template))]
    calls += [(f"kms:{verb}", KEY_ARN, {"kms:ViaService": f"s3.{REGION}.amazonaws.com"})
              for verb in ("GenerateDataKey", "Encrypt", "ReEncryptFrom")]
    return calls


def test_no_write_is_allowed_on_results_marts_catalogs_tables_or_the_key(template):
    policy = analyst_policy(template)
    calls = write_calls(template)
    assert {action.split(":")[0] for action, _, _ in calls} == {"s3", "glue", "s3tables", "kms"}
    assert [(a, r) for a, r, context in calls if allowed(policy, a, r, context)] == []


def test_the_write_list_is_refused_by_the_pipeline_s_own_policies_only_in_part(template):
    """The list above can fail: the pipeline's policies allow several of its writes."""
    pipeline = statements(template, PIPELINE_POLICY) + statements(template,
                                                                  "PipelineTablesPolicy")
    assert any(allowed(pipeline, a, r, context) for a, r, context in write_calls(template))


# ---- results: the analysts/ prefix only --------------------------------------------------


@pytest.mark.parametrize("action", ["s3:GetObject", "s3:PutObject", "s3:AbortMultipartUpload",
                                    "s3:ListMultipartUploadParts"])
def test_analysts_read_and_write_results_under_analysts_only(template, action):
    policy = analyst_policy(template)
    results = results_bucket(template)
    assert allowed(policy, action, f"{results}/analysts/0f8fad5b.csv")
    # the pipeline's results (athena/, athena/dbt/) can hold the erasure's read-backs
    for key in ("athena/0f8fad5b.csv", "athena/dbt/0f8fad5b.csv", "analystsX/0f8fad5b.csv",
                "x/analysts/0f8fad5b.csv", "0f8fad5b.csv"):
        assert not allowed(policy, action, f"{results}/{key}"), key


def test_analysts_list_results_under_analysts_only_and_locate_the_bucket(template):
    policy = analyst_policy(template)
    results = results_bucket(template)
    for prefix in ("analysts/", "analysts/2026/12/06/"):
        assert allowed(policy, "s3:ListBucket", results, {"s3:prefix": prefix}), prefix
    for prefix in ("athena/", "athena/dbt/", "", "analystsX/"):
        assert not allowed(policy, "s3:ListBucket", results, {"s3:prefix": prefix}), prefix
    assert not allowed(policy, "s3:ListBucket", results)  # no prefix: the whole bucket
    # GetBucketLocation carries no s3:prefix: granted without a condition
    assert allowed(policy, "s3:GetBucketLocation", results)


# ---- read-only on the marts and the analytics namespace ----------------------------------


def test_analysts_read_the_marts_catalog_and_files(template):
    policy = analyst_policy(template)
    marts_db = physical_name(template, "MartsDatabase")
    marts = attribute(template, "MartsBucket", "Arn")
    for action, resource in [
        ("glue:GetCatalog", f"{GLUE}:catalog"),
        ("glue:GetDatabase", f"{GLUE}:database/{marts_db}"),
        ("glue:GetTable", f"{GLUE}:table/{marts_db}/fct_web_events"),
        ("glue:GetTables", f"{GLUE}:table/{marts_db}/fct_web_events"),
        ("s3:ListBucket", marts),
        ("s3:GetBucketLocation", marts),
        ("s3:GetObject", f"{marts}/marts/fct_web_events/data/00000.parquet"),
    ]:
        assert allowed(policy, action, resource), (action, resource)
    # not the archive's database (the backfill's and the erasure requests' tables)
    archive_db = physical_name(template, "ArchiveDatabase")
    assert not allowed(policy, "glue:GetTable", f"{GLUE}:table/{archive_db}/erasure_requests")
    assert not allowed(policy, "glue:GetDatabase", f"{GLUE}:database/{archive_db}")


def test_the_namespace_in_the_policy_is_the_stack_s_analytics_namespace(template):
    namespace = template["Resources"]["AnalyticsNamespace"]["Properties"]["Namespace"]
    policy = analyst_policy(template)
    scoped = [s for s in policy if any(a.startswith("s3tables:") for a in as_list(s["Action"]))
              and "Condition" in s]
    assert scoped
    assert {s["Condition"]["StringEquals"]["s3tables:namespace"] for s in scoped} == {namespace}


@pytest.mark.parametrize("action", ["s3tables:GetTable", "s3tables:GetTableMetadataLocation",
                                    "s3tables:GetTableData"])
def test_analysts_read_table_data_in_the_analytics_namespace_only(template, action):
    policy = analyst_policy(template)
    table = table_arn(template)
    assert allowed(policy, action, table, {"s3tables:namespace": "analytics"})
    assert not allowed(policy, action, table, {"s3tables:namespace": "raw"})
    assert not allowed(policy, action, table)  # a request without the key
    other_bucket = table.replace("-tables/", "-other-tables/")
    assert not allowed(policy, action, other_bucket, {"s3tables:namespace": "analytics"})


def test_analysts_see_the_table_bucket_and_the_analytics_namespace_in_it(template):
    policy = analyst_policy(template)
    bucket = attribute(template, "TableBucket", "TableBucketARN")
    assert allowed(policy, "s3tables:GetTableBucket", bucket)
    assert allowed(policy, "s3tables:ListNamespaces", bucket)
    for action in ("s3tables:GetNamespace", "s3tables:ListTables"):
        assert allowed(policy, action, bucket, {"s3tables:namespace": "analytics"}), action
        assert not allowed(policy, action, bucket, {"s3tables:namespace": "raw"}), action


def test_analysts_read_the_analytics_glue_database_and_not_raw_s(template):
    policy = analyst_policy(template)
    analytics = tables_database(template, "analytics")
    raw = tables_database(template, "raw")
    catalog = analytics.rsplit("/", 1)[0]
    assert allowed(policy, "glue:GetCatalog", f"{GLUE}:catalog/s3tablescatalog")
    assert allowed(policy, "glue:GetCatalog", f"{GLUE}:catalog/{catalog}")
    assert allowed(policy, "glue:GetDatabase", f"{GLUE}:database/{analytics}")
    assert allowed(policy, "glue:GetTable", f"{GLUE}:table/{analytics}/web_events")
    assert not allowed(policy, "glue:GetDatabase", f"{GLUE}:database/{raw}")
    assert not allowed(policy, "glue:GetTable", f"{GLUE}:table/{raw}/web_events")
    assert not allowed(policy, "glue:GetTable", f"{GLUE}:table/{raw}/erasure_request_ids")


def test_the_stack_key_decrypts_for_analysts_only_through_s3_and_s3_tables(template):
    policy = analyst_policy(template)
    for service in ("s3", "s3tables"):
        via = {"kms:ViaService": f"{service}.{REGION}.amazonaws.com"}
        assert allowed(policy, "kms:Decrypt", KEY_ARN, via), service
    assert not allowed(policy, "kms:Decrypt", KEY_ARN)  # called directly
    for service in ("secretsmanager", "sns", "sqs", "kinesis", "logs", "athena"):
        via = {"kms:ViaService": f"{service}.{REGION}.amazonaws.com"}
        assert not allowed(policy, "kms:Decrypt", KEY_ARN, via), service
    # nothing to read the IP hash key's or the erasure key's secret with
    assert not any(a.startswith("secretsmanager:") for a in granted_actions(policy))
    # the query policy alone (marts only) decrypts through S3 only
    query_only = statements(template, QUERY_POLICY)
    via_tables = {"kms:ViaService": f"s3tables.{REGION}.amazonaws.com"}
    assert not allowed(query_only, "kms:Decrypt", KEY_ARN, via_tables)


def test_each_analyst_policy_keeps_to_its_concern(template):
    """Queries and marts in one, the table bucket in the other, as the pipeline's pair."""
    query = {a.split(":")[0] for a in granted_actions(statements(template, QUERY_POLICY))}
    tables = {a.split(":")[0] for a in granted_actions(statements(template, TABLES_POLICY))}
    assert query == {"athena", "s3", "glue", "kms"}
    assert tables == {"glue", "s3tables", "kms"}


# ---- who holds it --------------------------------------------------------------------------


def test_no_role_of_the_stack_holds_the_policies_and_the_outputs_name_them(template):
    roles = resources_of_type(template, "AWS::IAM::Role")
    for logical_id in ANALYST_POLICIES:
        holders = [role_id for role_id, role in roles.items()
                   if {"Ref": logical_id} in role["Properties"].get("ManagedPolicyArns", [])]
        assert holders == [], logical_id  # an operator attaches it to the analysts' role
    outputs = template["Outputs"]
    assert outputs["AnalystWorkGroupName"]["Value"] == {"Ref": "AnalystWorkGroup"}
    assert outputs["AnalystQueryPolicyArn"]["Value"] == {"Ref": QUERY_POLICY}
    assert outputs["AnalystTablesPolicyArn"]["Value"] == {"Ref": TABLES_POLICY}
    for name in ("AnalystWorkGroupName", "AnalystQueryPolicyArn", "AnalystTablesPolicyArn"):
        assert "Condition" not in outputs[name], name
