"""Erasure deadlines: every store's retention fits in 30 days, the figures the
erasure report states are the template's, and the daily job applies pending requests first."""

from __future__ import annotations

import re

import pytest
import yaml
from cfn_values import ENVIRONMENTS, evaluate, number, parameter_values, samconfig_overrides
from infra_cfn import OPERATIONS_DOC, resources_of_type

from webevents import PROJECT_ROOT, SQL_DIR
from webevents.jobs import forget
from webevents.jobs.forget import (
    AWS_STORES,
    DEADLINE_DAYS,
    REQUEST_ID_STORES,
    events_gone_by,
    last_copy_dates,
)

# A request filed just after the daily job waits up to a day for the next one.
APPLY_LAG_DAYS = 1


def lifecycle_rule(template: dict, bucket: str) -> dict:
    [rule] = template["Resources"][bucket]["Properties"]["LifecycleConfiguration"]["Rules"]
    return rule


def test_every_store_loses_the_last_copy_within_the_deadline():
    assert {store.name for store in AWS_STORES} >= {
        "raw.web_events (S3 Tables)", "analytics.web_events (S3 Tables)", "marts (Glue Iceberg)",
        "Firehose error output (S3)", "Athena query results (S3)"}
    for store in AWS_STORES:
        assert APPLY_LAG_DAYS + store.days_after_apply <= DEADLINE_DAYS, store


def test_the_report_uses_the_templates_snapshot_and_file_removal_settings(template):
    parameters = template["Parameters"]
    assert parameters["RawSnapshotRetentionHours"]["Default"] == forget.RAW_SNAPSHOT_HOURS
    assert (parameters["AnalyticsSnapshotRetentionHours"]["Default"]
            == forget.ANALYTICS_SNAPSHOT_HOURS)
    removal = template["Resources"]["TableBucket"]["Properties"]["UnreferencedFileRemoval"]
    assert removal["Status"] == "Enabled"
    assert removal["UnreferencedDays"] == forget.UNREFERENCED_DAYS
    assert removal["NoncurrentDays"] == forget.NONCURRENT_DAYS
    for parameter in ("RawSnapshotRetentionHours", "AnalyticsSnapshotRetentionHours"):
        # even the largest value the stack accepts keeps the deadline
        days = forget._s3_tables_days(parameters[parameter]["MaxValue"])
        assert APPLY_LAG_DAYS + days <= DEADLINE_DAYS, parameter


def test_the_report_uses_the_templates_bucket_lifecycles(template):
    errors = lifecycle_rule(template, "DeliveryErrorBucket")
    assert errors["ExpirationInDays"] == forget.ERROR_OUTPUT_DAYS
    assert (errors["NoncurrentVersionExpiration"]["NoncurrentDays"]
            == forget.ERROR_OUTPUT_NONCURRENT_DAYS)
    results = lifecycle_rule(template, "AthenaResultsBucket")
    assert results["ExpirationInDays"] == forget.ATHENA_RESULTS_DAYS
    assert (results["NoncurrentVersionExpiration"]["NoncurrentDays"]
            == forget.ATHENA_RESULTS_NONCURRENT_DAYS)
    marts = lifecycle_rule(template, "MartsBucket")
    assert marts["NoncurrentVersionExpiration"]["NoncurrentDays"] == forget.MARTS_NONCURRENT_DAYS


def test_every_mart_vacuum_keeps_snapshots_no_longer_than_the_report_says():
    files = sorted((SQL_DIR / "maintenance").glob("*retention_set.sql"))
    assert files
    for path in files:
        seconds = re.search(r"'vacuum_max_snapshot_age_seconds' = '(\d+)'", path.read_text())
        assert int(seconds.group(1)) <= forget.MARTS_SNAPSHOT_DAYS * 86400, path.name


def test_the_erasure_report_dates_every_store_from_the_apply_day():
    import datetime as dt

    dates = last_copy_dates(dt.date(2026, 11, 25), "athena")
    assert set(dates) == {store.name for store in AWS_STORES + REQUEST_ID_STORES}
    assert events_gone_by(dates) <= "2026-12-24"  # 25 Nov + 29 days
    assert dates["analytics.web_events (S3 Tables)"] == "2026-12-16"  # 14 + 1 + 3 + 3 days
    assert dates["WAF logs (CloudWatch Logs)"] == "2026-12-12"  # 14 + 3 days
    # the request's ids: watched 21 days, then one day of snapshots and file removal
    [ids_gone] = [dates[store.name] for store in REQUEST_ID_STORES]
    assert ids_gone == "2026-12-24"  # + 21 + 1 + 1 + 3 + 3 days
    assert max(dates.values()) == ids_gone  # nothing is kept past the deadline, ids included


def test_the_watch_outlasts_the_error_output_a_replay_could_land_again(template):
    """A request watches for copies landing again until the error output written before it
    has expired (D-ERASURE-2), and its ids table keeps the snapshots the report counts."""
    errors = lifecycle_rule(template, "DeliveryErrorBucket")
    assert errors["ExpirationInDays"] < forget.WATCH_DAYS
    table = template["Resources"]["ErasureRequestIdsTable"]["Properties"]
    assert (table["Namespace"], table["TableName"]) == ("raw", "erasure_request_ids")
    assert table["SnapshotManagement"]["Status"] == "enabled"
    assert table["SnapshotManagement"]["MaxSnapshotAgeHours"] == forget.REQUEST_IDS_SNAPSHOT_HOURS
    # the stack's table and sql/ddl's CREATE (a local lake, the Trino tier) agree
    columns = [field["Name"] for field in table["IcebergMetadata"]["IcebergSchema"][
        "SchemaFieldList"]]
    ddl = (SQL_DIR / "ddl" / "raw_erasure_request_ids_create.sql").read_text()
    body = re.search(r"raw\.erasure_request_ids \((.*?)\)", ddl, re.DOTALL).group(1)
    assert columns == [line.split()[0] for line in body.strip().splitlines()]


def test_the_report_s_log_and_stream_figures_are_the_template_s(template):
    capped = [resource["Properties"]["RetentionInDays"] for resource in
              resources_of_type(template, "AWS::Logs::LogGroup").values()
              if "Fn::If" in resource["Properties"].get("RetentionInDays", {})]
    assert len(capped) == 5 and all(
        value["Fn::If"][2] == forget.LOG_RETENTION_CAP_DAYS for value in capped)
    kept = [int(parameter_values(template, samconfig_overrides(env))["KinesisRetentionHours"])
            for env in ENVIRONMENTS]
    assert max(kept) == forget.KINESIS_RETENTION_HOURS


def test_the_daily_job_applies_pending_erasures_before_it_builds():
    buildspec = yaml.safe_load((PROJECT_ROOT / "buildspec.yml").read_text())
    script = "\n".join(buildspec["phases"]["build"]["commands"])
    forget = script.index("webevents forget --apply-pending --engine athena")
    assert script.index("sql/ddl") < forget < script.index("webevents arrivals enrich")
    assert forget < script.index("dbt build")


# ---- every environment, every retention figure, read from samconfig.toml + template.yaml ----
# What each lag rests on (the retention figures themselves are read, never restated here):
# S3 Tables expires snapshots older than MaxSnapshotAgeHours, then marks the files no snapshot
# references noncurrent after UnreferencedDays and deletes them NoncurrentDays later; its jobs
# run on their own schedule, counted as forget.MAINTENANCE_LAG_DAYS
# (https://docs.aws.amazon.com/AmazonS3/latest/userguide/s3-table-buckets-maintenance.html).
# S3 lifecycle rounds each expiry to the next midnight UTC and removes asynchronously: one day
# (https://docs.aws.amazon.com/AmazonS3/latest/userguide/lifecycle-expire-general-considerations.html).
S3_LIFECYCLE_LAG_DAYS = 1
# CloudWatch Logs: "It typically takes up to 72 hours after that before log events are deleted"
# (https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_PutRetentionPolicy.html).
LOG_DELETION_LAG_DAYS = 3
# The marts' VACUUM runs once a day (buildspec.yml, sql/maintenance).
VACUUM_LAG_DAYS = 1
# Log groups that can hold a client IP or event content (docs/decisions.md, D-PRIV-5).
PERSONAL_DATA_LOG_CAP_DAYS = 14
PERSONAL_DATA_LOG_GROUPS = {
    "TransformFunctionLogGroup": "an unexpected error can quote a field of the event",
    "DeliveryLogGroup": "Firehose's delivery error messages are not documented to omit data",
    "BuildLogGroup": "the daily job applies erasures; a failed statement can quote an id",
    "HttpIngestWafLogGroup": "every WAF log record holds the client IP",
    "HttpIngestExecutionLogGroup": "API Gateway's execution errors can quote a request",
}
NO_PERSONAL_DATA_LOG_GROUPS = {
    "HttpIngestAccessLogGroup": "its format names no client identity (checked below)",
}
# Buckets that can hold an event, a row or a query result, with how the copy ends.
PERSONAL_DATA_BUCKETS = {"DeliveryErrorBucket", "AthenaResultsBucket", "MartsBucket"}
NO_PERSONAL_DATA_BUCKETS = {
    "AccessLogsBucket": "S3 server access logs: this account's principals and object keys",
    "BuildSourceBucket": "the project's code zip",
    "TrailBucket": "data-event records: principals, object keys, never object contents",
}
# Buckets whose files the daily job deletes when it applies them: unversioned, so that delete
# is the last copy (D-PRIV-8; tests/infra/test_infra_erasure_requests.py checks the bucket).
DELETED_ON_APPLY_BUCKETS = {
    "ErasureRequestsBucket": "request files: a person's ids until the daily job applies them",
}


def days(hours: int) -> int:
    return -(-hours // 24)


def marts_snapshot_days() -> int:
    [path] = (SQL_DIR / "maintenance").glob("*retention_set.sql")
    seconds = re.search(r"'vacuum_max_snapshot_age_seconds' = '(\d+)'", path.read_text())
    return days(int(seconds.group(1)) // 3600)


def days_until_last_copy(template: dict, values: dict[str, str]) -> dict[str, int]:
    """Per store, days from the delete to the last copy, in the environment `values` set."""
    resources = template["Resources"]
    stores: dict[str, int] = {}
    removal = resources["TableBucket"]["Properties"]["UnreferencedFileRemoval"]
    assert evaluate(removal["Status"], template, values) == "Enabled"
    file_removal = (number(removal["UnreferencedDays"], template, values)
                    + number(removal["NoncurrentDays"], template, values))
    for logical_id, table in resources_of_type(template, "AWS::S3Tables::Table").items():
        properties = table["Properties"]
        snapshots = properties["SnapshotManagement"]
        assert evaluate(snapshots["Status"], template, values) == "enabled", logical_id
        # one snapshot kept whatever its age: the newest, written after the delete
        assert number(snapshots["MinSnapshotsToKeep"], template, values) == 1, logical_id
        # compaction is what folds the position deletes into new data files (D-PRIV-1)
        assert evaluate(properties["Compaction"]["Status"], template, values) == "enabled"
        hours = number(snapshots["MaxSnapshotAgeHours"], template, values)
        stores[logical_id] = days(hours) + forget.MAINTENANCE_LAG_DAYS + file_removal
    for bucket in PERSONAL_DATA_BUCKETS:
        rule = lifecycle_rule(template, bucket)
        assert evaluate(rule["Status"], template, values) == "Enabled", bucket
        noncurrent = number(rule["NoncurrentVersionExpiration"]["NoncurrentDays"],
                            template, values)
        if "ExpirationInDays" in rule:
            current = number(rule["ExpirationInDays"], template, values)
        else:  # the marts: Iceberg's VACUUM deletes the files, versioning keeps them a while
            current = marts_snapshot_days() + VACUUM_LAG_DAYS
        stores[bucket] = current + noncurrent + S3_LIFECYCLE_LAG_DAYS
    for group in PERSONAL_DATA_LOG_GROUPS:
        retention = resources[group]["Properties"]["RetentionInDays"]
        stores[group] = number(retention, template, values) + LOG_DELETION_LAG_DAYS
    # the stream holds the events as sent, before the Lambda pseudonymises them
    stores["IngestStream"] = days(number(
        resources["IngestStream"]["Properties"]["RetentionPeriodHours"], template, values))
    return stores


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_every_environment_loses_the_last_copy_within_the_deadline(template, env):
    values = parameter_values(template, samconfig_overrides(env))
    stores = days_until_last_copy(template, values)
    assert set(stores) >= {"RawWebEventsTable", "AnalyticsWebEventsTable",
                           *PERSONAL_DATA_BUCKETS, *PERSONAL_DATA_LOG_GROUPS, "IngestStream"}
    late = {store: n for store, n in stores.items() if APPLY_LAG_DAYS + n > DEADLINE_DAYS}
    assert not late, f"{env}: last copy after {DEADLINE_DAYS} days in {late}"


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_the_report_states_what_every_environment_deploys(template, env):
    """The erasure report dates each store from forget.py's figures: no environment may
    deploy other snapshot ages than those, or the dates it tells the person are wrong."""
    values = parameter_values(template, samconfig_overrides(env))
    assert int(values["RawSnapshotRetentionHours"]) == forget.RAW_SNAPSHOT_HOURS
    assert int(values["AnalyticsSnapshotRetentionHours"]) == forget.ANALYTICS_SNAPSHOT_HOURS
    stores = days_until_last_copy(template, values)
    assert stores["RawWebEventsTable"] == forget._s3_tables_days(forget.RAW_SNAPSHOT_HOURS)
    assert (stores["AnalyticsWebEventsTable"]
            == forget._s3_tables_days(forget.ANALYTICS_SNAPSHOT_HOURS))


def test_prod_keeps_a_long_log_retention_only_where_no_personal_data_is(template):
    """The case the cap exists for: prod's LogRetentionDays is far above the deadline."""
    values = parameter_values(template, samconfig_overrides("prod"))
    assert int(values["LogRetentionDays"]) > DEADLINE_DAYS
    resources = template["Resources"]
    for group in PERSONAL_DATA_LOG_GROUPS:
        retention = resources[group]["Properties"]["RetentionInDays"]
        assert number(retention, template, values) == PERSONAL_DATA_LOG_CAP_DAYS, group
    for group in NO_PERSONAL_DATA_LOG_GROUPS:
        retention = resources[group]["Properties"]["RetentionInDays"]
        assert number(retention, template, values) == int(values["LogRetentionDays"]), group


def test_personal_data_logs_keep_at_most_14_days_whatever_log_retention_days_says(template):
    resources = template["Resources"]
    allowed = template["Parameters"]["LogRetentionDays"]["AllowedValues"]
    for setting in allowed:
        values = parameter_values(template, {"LogRetentionDays": str(setting)})
        for group in PERSONAL_DATA_LOG_GROUPS:
            retention = resources[group]["Properties"]["RetentionInDays"]
            kept = number(retention, template, values)
            assert kept == min(int(setting), PERSONAL_DATA_LOG_CAP_DAYS), (group, setting)


def test_every_log_group_and_bucket_is_judged_for_personal_data(template):
    """A new log group or bucket fails here until someone says whether it can hold a
    person's data (and, if so, how its copy ends within the deadline)."""
    log_groups = set(resources_of_type(template, "AWS::Logs::LogGroup"))
    assert log_groups == set(PERSONAL_DATA_LOG_GROUPS) | set(NO_PERSONAL_DATA_LOG_GROUPS)
    buckets = set(resources_of_type(template, "AWS::S3::Bucket"))
    assert buckets == (PERSONAL_DATA_BUCKETS | set(NO_PERSONAL_DATA_BUCKETS)
                       | set(DELETED_ON_APPLY_BUCKETS))


def test_the_stage_s_execution_log_is_the_stack_s_own_group(template):
    """API Gateway writes the stage's execution log to API-Gateway-Execution-Logs_{api}/{stage}
    and makes that group itself, without retention, if it does not exist first."""
    group = template["Resources"]["HttpIngestExecutionLogGroup"]
    stage = template["Resources"]["HttpIngestStage"]
    name = "API-Gateway-Execution-Logs_${HttpIngestApi}/" + stage["Properties"]["StageName"]
    assert group["Properties"]["LogGroupName"] == {"Fn::Sub": name}
    assert stage["DependsOn"] == "HttpIngestExecutionLogGroup"
    assert any(setting.get("LoggingLevel") == "ERROR"
               for setting in stage["Properties"]["MethodSettings"])


def test_the_access_log_names_no_client_identity(template):
    """The access log keeps LogRetentionDays because it holds no IP, user agent or caller:
    no $context.identity.* (sourceIp, userAgent, caller, ...) and no authorizer claims."""
    stage = template["Resources"]["HttpIngestStage"]["Properties"]
    variables = set(re.findall(r"\$context\.[\w.]+", stage["AccessLogSetting"]["Format"]))
    assert variables and "$context.requestId" in variables
    personal = {v for v in variables
                if v.startswith(("$context.identity.", "$context.authorizer."))}
    assert not personal


def test_the_runbook_states_the_days_the_template_keeps_logs_and_stream(template):
    """docs/operations.md's per-store table, for the worst environment of samconfig.toml."""
    rows = {}
    for line in OPERATIONS_DOC.read_text(encoding="utf-8").splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if len(cells) == 3 and cells[2].isdigit():
            rows[cells[0]] = int(cells[2])
    stores = {
        "WAF logs": "HttpIngestWafLogGroup",
        "transform Lambda logs": "TransformFunctionLogGroup",
        "Firehose delivery error logs": "DeliveryLogGroup",
        "daily job build logs": "BuildLogGroup",
        "API Gateway execution logs": "HttpIngestExecutionLogGroup",
        "Kinesis ingest stream": "IngestStream",
    }
    worst = {store: 0 for store in stores.values()}
    for env in ENVIRONMENTS:
        figures = days_until_last_copy(
            template, parameter_values(template, samconfig_overrides(env)))
        for store in worst:
            worst[store] = max(worst[store], figures[store])
    for label, store in stores.items():
        [stated] = [days for row, days in rows.items() if row.startswith(label)]
        assert stated == worst[store], label
