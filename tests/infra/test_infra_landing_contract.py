"""The S3 Tables resources in template.yaml match transform_lambda/landing_contract.py."""

import copy

import landing_contract
import pytest
from infra_cfn import resources_of_type

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
    assert (variables["RAW_DATABASE_NAME"], variables["RAW_TABLE_NAME"]) == route
    table_by_name(template, *route)
