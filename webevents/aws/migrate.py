"""`webevents migrate`: bring a deployed stack's landing tables up to the landing contract.

The schema-evolution procedure of docs/decisions.md D-INFRA-3, as one command:
1. **Athena**: `alter table … add columns (…)` for each contract column a live table lacks,
   one column per statement (each is its own Iceberg commit, so a run that stops half way
   is finished by running it again: the plan is recomputed from the live table).
   https://docs.aws.amazon.com/athena/latest/ug/querying-iceberg-alter-table-add-columns.html
2. **CloudFormation import**: `IcebergMetadata` of `AWS::S3Tables::Table` is create-only
   ("Update requires: Replacement",
   https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-properties-s3tables-table-icebergmetadata.html),
   so the stack forgets the two tables (they are `DeletionPolicy: Retain`, nothing is
   deleted; the one `!Ref` to a table becomes its ARN) and imports them back with the new
   schema from template.yaml, through an IMPORT change set:
   https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/resource-import-existing-stack.html
3. **Verify**: the live columns, the template and the contract name the same columns in
   the same order (and the template's types are the contract's).

The engine is any webevents engine (Athena on AWS; Trino in the fidelity tier, where
tests/trino/test_migrate_on_trino.py runs step 1 and 3 on real Iceberg tables).
"""

from __future__ import annotations

import copy
import json
import sys
from dataclasses import dataclass
from typing import Any

from webevents import LAMBDA_DIR
from webevents.aws.cfn_template import load_template
from webevents.engines import EngineError, get_engine

if str(LAMBDA_DIR) not in sys.path:
    sys.path.insert(0, str(LAMBDA_DIR))  # the Lambda's root is not a package
import landing_contract  # noqa: E402

CHANGE_SET_NAME = "webevents-migrate-import"


class MigrateError(Exception):
    """A table that cannot be migrated by adding columns: it needs a person."""


@dataclass(frozen=True)
class ContractTable:
    """One landing-contract table and its logical id in template.yaml."""

    schema: str
    name: str
    columns: tuple[tuple[str, str, str], ...]
    logical_id: str


TABLES = (
    ContractTable("raw", "web_events", landing_contract.LANDING_COLUMNS, "RawWebEventsTable"),
    ContractTable(
        "analytics", "web_events", landing_contract.ANALYTICS_COLUMNS, "AnalyticsWebEventsTable"
    ),
)


# --- step 1: add the missing columns -----------------------------------------------------


def live_columns(engine: Any, table: ContractTable) -> list[str]:
    """The table's column names in order, from a query that reads no rows."""
    columns, _ = engine.query(f"select * from {table.schema}.{table.name} limit 0")
    return [column.lower() for column in columns]


def missing_columns(live: list[str], table: ContractTable) -> list[tuple[str, str]]:
    """(name, Iceberg type) of the contract columns after the live ones, in contract order.

    Adding can only append: a live table whose columns are not the start of the contract
    (renamed, reordered, dropped, unknown) is refused, never "repaired".
    """
    names = [name for name, _, _ in table.columns]
    if live != names[: len(live)]:
        first = next(
            (i for i, (got, want) in enumerate(zip(live, names, strict=False)) if got != want),
            len(names),
        )
        got = live[first] if first < len(live) else "(nothing)"
        want = names[first] if first < len(names) else "(nothing)"
        raise MigrateError(
            f"{table.schema}.{table.name}: live column {first + 1} is {got}, the contract says "
            f"{want}; only appended columns can be migrated, this table needs a person"
        )
    return [(name, iceberg_type) for name, iceberg_type, _ in table.columns[len(live) :]]


def add_column_sql(table: ContractTable, name: str, iceberg_type: str) -> str:
    """Athena's ADD COLUMNS for one column (Athena DDL spells Iceberg types the same way)."""
    return f"alter table {table.schema}.{table.name} add columns ({name} {iceberg_type})"


def add_missing_columns(engine: Any, tables=TABLES, dry_run: bool = False) -> list[str]:
    """Run (or, dry, only list) the ALTER statements every table needs; [] when up to date."""
    statements = []
    for table in tables:
        for name, iceberg_type in missing_columns(live_columns(engine, table), table):
            statement = add_column_sql(table, name, iceberg_type)
            if not dry_run:
                engine.execute(statement)
            statements.append(statement)
    return statements


# --- step 3: verify ----------------------------------------------------------------------


def template_columns(template: dict, table: ContractTable) -> list[tuple[str, str]]:
    """(name, type) of a table resource's IcebergSchemaV2, types spelled as in the contract."""
    resource = template["Resources"][table.logical_id]
    schema = resource["Properties"]["IcebergMetadata"]["IcebergSchemaV2"]
    return [(field["Name"], _type_name(field["Type"])) for field in schema["SchemaV2FieldList"]]


def _type_name(field_type: Any) -> str:
    if isinstance(field_type, str):
        return field_type
    if field_type["type"] == "struct":
        members = ", ".join(
            f"{member['name']}: {_type_name(member['type'])}" for member in field_type["fields"]
        )
        return f"struct<{members}>"
    if field_type["type"] == "list":
        return f"array<{_type_name(field_type['element'])}>"
    raise MigrateError(f"template type {field_type!r} is not one the contract uses")


def disagreements(engine: Any, template: dict, tables=TABLES) -> list[str]:
    """Every way the live tables, the template and the contract differ; [] when they agree."""
    problems = []
    for table in tables:
        where = f"{table.schema}.{table.name}"
        contract = [(name, iceberg_type) for name, iceberg_type, _ in table.columns]
        live = live_columns(engine, table)
        if live != [name for name, _ in contract]:
            problems.append(f"{where}: live columns {live} != contract {[n for n, _ in contract]}")
        declared = template_columns(template, table)
        if declared != contract:
            problems.append(f"{where}: template.yaml {table.logical_id} != contract: {declared}")
    return problems


# --- step 2: the CloudFormation import -----------------------------------------------------


def _replace_refs(node: Any, arns: dict[str, str]) -> Any:
    """node with every {"Ref": <table>} replaced by the table's ARN (Ref of a table = ARN)."""
    if isinstance(node, dict):
        if set(node) == {"Ref"} and node["Ref"] in arns:
            return arns[node["Ref"]]
        return {key: _replace_refs(value, arns) for key, value in node.items()}
    if isinstance(node, list):
        return [_replace_refs(value, arns) for value in node]
    return node


def without_tables(processed: dict, arns: dict[str, str]) -> dict:
    """The deployed (processed) template minus the tables, their Refs turned into ARNs."""
    template = copy.deepcopy(processed)
    for logical_id in arns:
        del template["Resources"][logical_id]
    template = _replace_refs(template, arns)
    for logical_id, resource in template["Resources"].items():
        depends = resource.get("DependsOn")
        if isinstance(depends, str) and depends in arns:
            del resource["DependsOn"]
        elif isinstance(depends, list):
            kept = [name for name in depends if name not in arns]
            if kept:
                resource["DependsOn"] = kept
            else:
                del resource["DependsOn"]
        for attribute in ("Fn::GetAtt",):
            if _mentions(resource, attribute, arns):
                raise MigrateError(f"{logical_id} uses Fn::GetAtt of a table; cannot detach it")
    return template


def _mentions(node: Any, attribute: str, arns: dict[str, str]) -> bool:
    if isinstance(node, dict):
        if attribute in node and isinstance(node[attribute], list) and node[attribute][0] in arns:
            return True
        return any(_mentions(value, attribute, arns) for value in node.values())
    if isinstance(node, list):
        return any(_mentions(value, attribute, arns) for value in node)
    return False


def import_tables(cfn: Any, stack: str, template: dict, tables=TABLES) -> bool:
    """Forget the tables (Retain keeps them), then import them with template.yaml's schema.

    False (and nothing done) when the stack already holds template.yaml's table schemas,
    so a run that stopped after the ALTERs, or a second run, does only what is left.
    """
    logical_ids = [table.logical_id for table in tables]
    body = cfn.get_template(StackName=stack, TemplateStage="Processed")["TemplateBody"]
    processed = json.loads(body) if isinstance(body, str) else body
    if all(
        _iceberg_metadata(processed, logical_id) == _iceberg_metadata(template, logical_id)
        for logical_id in logical_ids
    ):
        return False
    resources = cfn.describe_stack_resources(StackName=stack)["StackResources"]
    arns = {
        resource["LogicalResourceId"]: resource["PhysicalResourceId"]
        for resource in resources
        if resource["LogicalResourceId"] in logical_ids
    }
    if sorted(arns) != sorted(logical_ids):
        raise MigrateError(f"stack {stack} has no {sorted(set(logical_ids) - set(arns))}")
    (described,) = cfn.describe_stacks(StackName=stack)["Stacks"]
    parameters = [
        {"ParameterKey": parameter["ParameterKey"], "UsePreviousValue": True}
        for parameter in described.get("Parameters", [])
    ]
    capabilities = described.get("Capabilities", [])

    detached = without_tables(processed, arns)
    cfn.update_stack(
        StackName=stack,
        TemplateBody=json.dumps(detached),
        Parameters=parameters,
        Capabilities=capabilities,
    )
    cfn.get_waiter("stack_update_complete").wait(StackName=stack)

    reattached = copy.deepcopy(detached)
    for logical_id in logical_ids:
        reattached["Resources"][logical_id] = template["Resources"][logical_id]
    cfn.create_change_set(
        StackName=stack,
        ChangeSetName=CHANGE_SET_NAME,
        ChangeSetType="IMPORT",
        ResourcesToImport=[
            {
                "ResourceType": "AWS::S3Tables::Table",
                "LogicalResourceId": logical_id,
                "ResourceIdentifier": {"TableARN": arns[logical_id]},
            }
            for logical_id in logical_ids
        ],
        TemplateBody=json.dumps(reattached),
        Parameters=parameters,
        Capabilities=capabilities,
    )
    cfn.get_waiter("change_set_create_complete").wait(
        StackName=stack, ChangeSetName=CHANGE_SET_NAME
    )
    cfn.execute_change_set(StackName=stack, ChangeSetName=CHANGE_SET_NAME)
    cfn.get_waiter("stack_import_complete").wait(StackName=stack)
    return True


def _iceberg_metadata(template: dict, logical_id: str) -> Any:
    resource = template.get("Resources", {}).get(logical_id, {})
    return resource.get("Properties", {}).get("IcebergMetadata")


# --- the command ---------------------------------------------------------------------------


def migrate(engine: Any, cfn: Any | None, stack: str | None, dry_run: bool = False) -> int:
    """Steps 1-3; prints what it does. 0 when the tables, template and contract agree."""
    template = load_template()
    statements = add_missing_columns(engine, dry_run=dry_run)
    for statement in statements:
        print(("would run: " if dry_run else "ran: ") + statement)
    if not statements:
        print("tables already have every contract column")
    if dry_run:
        return 0
    if cfn is not None:
        if import_tables(cfn, stack, template):
            print(f"stack {stack}: tables imported with template.yaml's schema")
        else:
            print(f"stack {stack}: already holds template.yaml's table schemas")
    problems = disagreements(engine, template)
    for problem in problems:
        print(f"DISAGREE {problem}", file=sys.stderr)
    if not problems:
        print("tables, template.yaml and the landing contract agree")
    return 1 if problems else 0


def migrate_command(args: Any) -> int:
    """`webevents migrate`: on Athena (with the stack's import) or on a local/Trino lake."""
    engine = get_engine(args.engine, lake=getattr(args, "lake", None))
    cfn = None
    if args.engine == "athena" and not args.dry_run:
        if not args.stack:
            print("webevents migrate: --stack is required with --engine athena", file=sys.stderr)
            return 2
        # boto3 loads in ~150 ms (python -X importtime -c "import boto3"); a local or Trino
        # migrate never needs it.
        import boto3

        cfn = boto3.client("cloudformation")
    try:
        return migrate(engine, cfn, args.stack, dry_run=args.dry_run)
    except (MigrateError, EngineError) as error:
        print(f"webevents migrate: {error}", file=sys.stderr)
        return 1
    finally:
        engine.close()
