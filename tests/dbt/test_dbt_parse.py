"""`dbt parse --target prod` works offline: dbt-athena renders the project from env vars alone."""

from __future__ import annotations

import pytest

from tests.dbt.dbt_runner import DUMMY_PROD_ENV, run_dbt

pytestmark = pytest.mark.xdist_group("dbt_pipeline")


@pytest.fixture(scope="module")
def prod_manifest(tmp_path_factory):
    work = tmp_path_factory.mktemp("dbt_parse_prod")
    # no AWS credentials and no endpoint: parsing must not need them
    offline = {**DUMMY_PROD_ENV, "AWS_ACCESS_KEY_ID": "", "AWS_SECRET_ACCESS_KEY": "",
               "AWS_PROFILE": "", "AWS_CONFIG_FILE": "/nonexistent",
               "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent"}
    result = run_dbt(["parse", "--target", "prod"], work, env=offline)
    return result.artifact("manifest.json")


def test_sources_read_the_s3_tables_catalog(prod_manifest):
    relations = {source["name"] + "." + source["source_name"]: source["relation_name"]
                 for source in prod_manifest["sources"].values()}
    assert relations == {
        "web_events.analytics": '"s3tablescatalog/example-table-bucket"."analytics"."web_events"',
        "web_events.raw": '"s3tablescatalog/example-table-bucket"."raw"."web_events"',
    }


def test_models_are_partitioned_iceberg_tables_in_the_marts_database(prod_manifest):
    models = {node["name"]: node for node in prod_manifest["nodes"].values()
              if node["resource_type"] == "model"}
    assert models["web_events_snapshot_changes"]["config"]["enabled"] is True
    fact = models["fct_web_events"]
    assert fact["relation_name"] == '"awsdatacatalog"."webevents_marts"."fct_web_events"'
    assert fact["config"]["table_type"] == "iceberg"
    assert fact["config"]["incremental_strategy"] == "merge"
    # the partition column leads the merge key so the engine can prune target partitions
    assert fact["config"]["unique_key"] == ["event_date", "event_id"]
    assert fact["config"]["partitioned_by"] == ["event_date"]
    assert models["fct_sessions"]["config"]["delete_condition"] == "src.is_superseded"
    assert models["daily_kpis"]["config"]["partitioned_by"] == ["kpi_month"]
    assert models["dim_identity_ranges"]["config"].get("partitioned_by") is None
    assert models["stg_analytics__web_events"]["config"]["materialized"] == "ephemeral"


def test_sources_declare_freshness(prod_manifest):
    for source in prod_manifest["sources"].values():
        freshness = source["freshness"]
        assert freshness["warn_after"]["count"] and freshness["error_after"]["count"]
        assert source["loaded_at_field"]


def test_unit_test_inputs_for_ephemeral_models_are_sql(prod_manifest):
    """dbt builds dict fixtures from the input's relation, which an ephemeral model lacks."""
    models = {node["name"]: node for node in prod_manifest["nodes"].values()
              if node["resource_type"] == "model"}
    ephemeral = {name for name, node in models.items()
                 if node["config"]["materialized"] == "ephemeral"}
    assert "stg_analytics__web_events" in ephemeral
    inputs = [(test["name"], given) for test in prod_manifest["unit_tests"].values()
              for given in test["given"]]
    on_ephemeral = [(name, given) for name, given in inputs
                    if any(f"ref('{model}')" == given["input"] for model in ephemeral)]
    assert on_ephemeral, "no unit test reads the staging model"
    assert [name for name, given in on_ephemeral if given["format"] != "sql"] == []
