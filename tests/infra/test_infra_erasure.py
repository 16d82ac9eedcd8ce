"""Erasure deadlines: every store's retention fits in 30 days, the figures the
erasure report states are the template's, and the daily job applies pending requests first."""

from __future__ import annotations

import re

import yaml

from webevents import PROJECT_ROOT, SQL_DIR
from webevents.jobs import forget
from webevents.jobs.forget import AWS_STORES, DEADLINE_DAYS, last_copy_dates

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
    assert set(dates) == {store.name for store in AWS_STORES}
    assert max(dates.values()) <= "2026-12-24"  # 25 Nov + 29 days
    assert dates["analytics.web_events (S3 Tables)"] == "2026-12-16"  # 14 + 1 + 3 + 3 days


def test_the_daily_job_applies_pending_erasures_before_it_builds():
    buildspec = yaml.safe_load((PROJECT_ROOT / "buildspec.yml").read_text())
    script = "\n".join(buildspec["phases"]["build"]["commands"])
    forget = script.index("webevents forget --apply-pending --engine athena")
    assert script.index("sql/ddl") < forget < script.index("webevents arrivals enrich")
    assert forget < script.index("dbt build")
