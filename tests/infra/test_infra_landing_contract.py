"""The S3 Tables resources in template.yaml match transform_lambda/landing_contract.py."""

import base64
import copy
import importlib.util
import json
import re
from dataclasses import dataclass

import app
import landing_contract
import pytest
from infra_cfn import resources_of_type

from webevents import LAMBDA_DIR

TABLES = {
    ("raw", "web_events"): (landing_contract.LANDING_COLUMNS, landing_contract.RAW_PARTITIONING),
    ("analytics", "web_events"): (
        landing_contract.ANALYTICS_COLUMNS,
        landing_contract.ANALYTICS_PARTITIONING,
    ),
}


def contract_type(field_type) -> str:
    """An Iceberg JSON field type, written the way landing_contract spells types."""
    if isinstance(field_type, str):
        return field_type
    if field_type["type"] == "struct":
        members = ", ".join(
            f"{member['name']}: {contract_type(member['type'])}" for member in field_type["fields"]
        )
        return f"struct<{members}>"
    if field_type["type"] == "list":
        return f"array<{contract_type(field_type['element'])}>"
    if field_type["type"] == "map":
        return f"map<{contract_type(field_type['key'])}, {contract_type(field_type['value'])}>"
    raise ValueError(f"unknown Iceberg type {field_type!r}")


def table_columns(table: dict) -> list[tuple[str, str]]:
    """(name, type) of a template table, in schema order."""
    schema = table["Properties"]["IcebergMetadata"]["IcebergSchemaV2"]
    return [(field["Name"], contract_type(field["Type"])) for field in schema["SchemaV2FieldList"]]


def table_partitioning(table: dict) -> tuple[str, ...]:
    """The partition spec as landing_contract spells it: `col` or `transform(col)`."""
    metadata = table["Properties"]["IcebergMetadata"]
    names_by_id = {
        field["Id"]: field["Name"] for field in metadata["IcebergSchemaV2"]["SchemaV2FieldList"]
    }
    spelled = []
    for field in metadata["IcebergPartitionSpec"]["Fields"]:
        column = names_by_id[field["SourceId"]]
        transform = field["Transform"]
        spelled.append(column if transform == "identity" else f"{transform}({column})")
    return tuple(spelled)


def drift(table: dict, columns, partitioning) -> list[str]:
    """Every difference between a template table and the contract; empty when they agree."""
    expected = [(name, iceberg_type) for name, iceberg_type, _ in columns]
    actual = table_columns(table)
    problems = [
        f"column {i}: template {got} != contract {want}"
        for i, (got, want) in enumerate(zip(actual, expected, strict=False))
        if got != want
    ]
    if len(actual) != len(expected):
        problems.append(f"template has {len(actual)} columns, contract {len(expected)}")
    if table_partitioning(table) != tuple(partitioning):
        problems.append(f"partitioning {table_partitioning(table)} != {tuple(partitioning)}")
    return problems


def table_by_name(template: dict, namespace: str, name: str) -> dict:
    """The AWS::S3Tables::Table resource for namespace.name."""
    (table,) = [
        table
        for table in resources_of_type(template, "AWS::S3Tables::Table").values()
        if (table["Properties"]["Namespace"], table["Properties"]["TableName"]) == (namespace, name)
    ]
    return table


@pytest.mark.parametrize(("namespace", "name"), list(TABLES))
def test_table_schema_and_partitioning_match_the_contract(template, namespace, name):
    columns, partitioning = TABLES[(namespace, name)]
    assert drift(table_by_name(template, namespace, name), columns, partitioning) == []


@pytest.mark.parametrize(
    "mutation",
    ["rename_column", "change_type", "drop_column", "change_partition", "change_nested_type"],
)
def test_drift_check_catches_each_kind_of_drift(template, mutation):
    table = copy.deepcopy(table_by_name(template, "analytics", "web_events"))
    metadata = table["Properties"]["IcebergMetadata"]
    fields = metadata["IcebergSchemaV2"]["SchemaV2FieldList"]
    if mutation == "rename_column":
        fields[0]["Name"] = "event_uuid"
    elif mutation == "change_type":
        fields[1]["Type"] = "string"
    elif mutation == "drop_column":
        fields.pop()
    elif mutation == "change_partition":
        metadata["IcebergPartitionSpec"]["Fields"][1]["Transform"] = "bucket[16]"
    else:
        coordinates = next(field for field in fields if field["Name"] == "coordinates")
        coordinates["Type"]["fields"][0]["type"] = "float"
    columns, partitioning = TABLES[("analytics", "web_events")]
    assert drift(table, columns, partitioning) != []


@pytest.mark.parametrize(("namespace", "name"), list(TABLES))
def test_iceberg_field_ids_are_unique_and_partition_ids_from_1000(template, namespace, name):
    metadata = table_by_name(template, namespace, name)["Properties"]["IcebergMetadata"]
    field_ids = [
        node[key]
        for node in _walk_fields(metadata["IcebergSchemaV2"]["SchemaV2FieldList"])
        for key in ("Id", "id", "element-id")
        if key in node
    ]
    assert len(field_ids) == len(set(field_ids))
    partition_ids = [field["FieldId"] for field in metadata["IcebergPartitionSpec"]["Fields"]]
    assert partition_ids == list(range(1000, 1000 + len(partition_ids)))


def _walk_fields(fields):
    for field in fields:
        yield field
        field_type = field.get("Type", field.get("type"))
        if isinstance(field_type, dict):
            yield field_type
            yield from _walk_fields(field_type.get("fields", []))


def test_namespaces_exist_for_every_table(template):
    namespaces = {
        ns["Properties"]["Namespace"]
        for ns in resources_of_type(template, "AWS::S3Tables::Namespace").values()
    }
    assert namespaces == {namespace for namespace, _ in TABLES}


def test_firehose_and_lambda_route_to_the_raw_table(template):
    (stream,) = resources_of_type(template, "AWS::KinesisFirehose::DeliveryStream").values()
    (destination,) = stream["Properties"]["IcebergDestinationConfiguration"][
        "DestinationTableConfigurationList"
    ]
    route = (destination["DestinationDatabaseName"], destination["DestinationTableName"])
    assert route == ("raw", "web_events")
    (function,) = resources_of_type(template, "AWS::Serverless::Function").values()
    variables = function["Properties"]["Environment"]["Variables"]
    # The names the handler actually reads (transform_lambda/app.py).
    assert (variables[app.DATABASE_ENV], variables[app.TABLE_ENV]) == route
    table_by_name(template, *route)


@dataclass
class _Context:
    function_name: str = "transform"
    memory_limit_in_mb: int = 512
    invoked_function_arn: str = "arn:aws:lambda:us-east-1:000000000000:function:transform"
    aws_request_id: str = "infra-test"


def _resolve(value, template: dict) -> str:
    """A literal or an Fn::Sub over parameters, with the parameters' defaults."""
    if isinstance(value, str):
        return value
    defaults = {name: str(p.get("Default", "")) for name, p in template["Parameters"].items()}
    if "Ref" in value:
        return defaults[value["Ref"]]
    return re.sub(r"\$\{([^}]+)\}", lambda m: defaults[m.group(1)], value["Fn::Sub"])


def test_processing_failed_alarm_watches_the_metric_the_lambda_emits(template, monkeypatch, capsys):
    """Run the real handler, configured as the template configures it, on a malformed record."""
    for name, value in template["Globals"]["Function"]["Environment"]["Variables"].items():
        if "Fn::If" not in value:  # IP_HASH_KEY: set only when IpHandling is hash
            monkeypatch.setenv(name, _resolve(value, template))
    # A fresh copy of app.py, so its Logger/Metrics read this environment at import (as in Lambda).
    spec = importlib.util.spec_from_file_location("infra_app_copy", LAMBDA_DIR / "app.py")
    handler_module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(handler_module)
    event = {
        "invocationId": "infra-test",
        "deliveryStreamArn": "arn:aws:firehose:us-east-1:000000000000:deliverystream/test",
        "region": "us-east-1",
        "records": [
            {
                "recordId": "r1",
                "approximateArrivalTimestamp": 1_764_000_000_000,
                "data": base64.b64encode(b"this is not json").decode(),
            }
        ],
    }
    (result,) = handler_module.lambda_handler(event, _Context())["records"]
    assert result["result"] == "ProcessingFailed"
    documents = [
        json.loads(line)
        for line in capsys.readouterr().out.splitlines()
        if line.startswith("{") and '"_aws"' in line
    ]
    emitted = {
        (
            directive["Namespace"],
            definition["Name"],
            tuple((key, document[key]) for key in dimension_set),
        )
        for document in documents
        for directive in document["_aws"]["CloudWatchMetrics"]
        for definition in directive["Metrics"]
        for dimension_set in directive["Dimensions"]
    }
    alarm = template["Resources"]["ProcessingFailedRecordsAlarm"]["Properties"]
    watched = (
        _resolve(alarm["Namespace"], template),
        alarm["MetricName"],
        tuple((d["Name"], _resolve(d["Value"], template)) for d in alarm["Dimensions"]),
    )
    assert watched in emitted
