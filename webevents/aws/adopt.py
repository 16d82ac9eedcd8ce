"""Redeploy after a stack delete: adopt the retained resources with a CloudFormation import.

Deleting the stack keeps every `DeletionPolicy: Retain` resource (the KMS key, the table
bucket with its namespaces and tables, the data buckets). A plain redeploy then fails: the
table bucket's fixed name "already exists". CloudFormation's answer is a resource import:
an IMPORT change set creates the stack again from just the retained resources, identified
by their physical ids, and the next `make deploy` adds everything else around them.
https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/resource-import.html

`webevents adopt-retained --stack NAME` finds the deleted stack (CloudFormation keeps a
deleted stack's record, by its stack id, for 90 days), lists the resources it left behind
(status DELETE_SKIPPED), and creates the IMPORT change set from template.yaml's retained
resources. It prints the change set to review and execute; it executes nothing itself.
"""

from __future__ import annotations

import json
import re
import shlex
import sys
import tomllib
from typing import Any

import boto3

from webevents.aws.cfn_template import load_template
from webevents.aws.stack import SAMCONFIG, StackError

# Each retained type's import identifier (its schema's primaryIdentifier), from the physical
# id CloudFormation recorded. Namespaces have a compound id: the bucket ARN and the name.
IMPORT_IDENTIFIERS = {
    "AWS::KMS::Key": "KeyId",
    "AWS::S3::Bucket": "BucketName",
    "AWS::S3Tables::TableBucket": "TableBucketARN",
    "AWS::S3Tables::Table": "TableARN",
    "AWS::S3Tables::Namespace": ("TableBucketARN", "Namespace"),
    "AWS::SecretsManager::Secret": "Id",  # the secret's ARN
}


def retained(template: dict[str, Any]) -> dict[str, dict]:
    """The resources a stack delete leaves behind, by logical id."""
    return {
        logical_id: resource
        for logical_id, resource in template["Resources"].items()
        if resource.get("DeletionPolicy") == "Retain"
    }


def import_template(template: dict[str, Any]) -> dict[str, Any]:
    """A plain CloudFormation template holding only the retained resources (no SAM transform).

    An import may not create anything, so the template is exactly what is adopted; the
    retained resources refer only to each other and to parameters (tests/infra checks it).
    """
    resources = retained(template)
    conditions = template.get("Conditions", {})
    used_conditions = {c for c in _names(resources, conditions) if c in conditions}
    names = _names(resources, conditions) | _names(
        {c: conditions[c] for c in used_conditions}, conditions
    )
    adopted = {
        "AWSTemplateFormatVersion": "2010-09-09",
        "Description": "Adopt the retained resources of a deleted webevents stack.",
        "Parameters": {k: v for k, v in template["Parameters"].items() if k in names},
        "Resources": resources,
    }
    if used_conditions:
        adopted["Conditions"] = {c: conditions[c] for c in used_conditions}
    return adopted


def _names(node: Any, conditions: dict[str, Any]) -> set[str]:
    """Parameters, resources and conditions a node names (Ref, GetAtt, ${...}, Condition)."""
    found: set[str] = set()
    stack = [node]
    while stack:
        item = stack.pop()
        if isinstance(item, list):
            stack += item
        elif isinstance(item, dict):
            if isinstance(item.get("Ref"), str):
                found.add(item["Ref"])
            if isinstance(item.get("Fn::GetAtt"), list):
                found.add(item["Fn::GetAtt"][0])
            if isinstance(item.get("Condition"), str):
                found.add(item["Condition"])
            if isinstance(item.get("Fn::If"), list):
                found.add(item["Fn::If"][0])
            sub = item.get("Fn::Sub")
            text = sub[0] if isinstance(sub, list) else sub
            if isinstance(text, str):
                found |= {m.split(".")[0] for m in re.findall(r"\$\{([^}!]+)\}", text)}
            stack += list(item.values())
    return found


def resources_to_import(
    template: dict[str, Any], left_behind: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """ResourcesToImport for the retained resources the deleted stack left behind."""
    physical = {r["LogicalResourceId"]: r["PhysicalResourceId"] for r in left_behind}
    wanted = []
    for logical_id, resource in retained(template).items():
        if logical_id not in physical:
            continue  # never created (a condition was false) or deleted by hand since
        kind = resource["Type"]
        identifier = IMPORT_IDENTIFIERS.get(kind)
        if identifier is None:
            raise StackError(f"{logical_id}: no import identifier known for {kind}")
        if isinstance(identifier, tuple):  # the namespace: its bucket's ARN and its name
            bucket = resource["Properties"]["TableBucketARN"]["Fn::GetAtt"][0]
            if bucket not in physical:
                raise StackError(f"{logical_id}: its table bucket {bucket} was not left behind")
            value = {
                "TableBucketARN": physical[bucket],
                "Namespace": resource["Properties"]["Namespace"],
            }
        else:
            value = {identifier: physical[logical_id]}
        wanted.append(
            {"ResourceType": kind, "LogicalResourceId": logical_id, "ResourceIdentifier": value}
        )
    return wanted


def samconfig_parameters(config_env: str, template: dict[str, Any]) -> list[dict[str, str]]:
    """The environment's parameter_overrides the template declares, as CloudFormation Parameters."""
    with SAMCONFIG.open("rb") as handle:
        config = tomllib.load(handle)
    text = config[config_env]["deploy"]["parameters"].get("parameter_overrides", "")
    pairs = dict(pair.split("=", 1) for pair in shlex.split(text))
    return [
        {"ParameterKey": key, "ParameterValue": value}
        for key, value in pairs.items()
        if key in template["Parameters"]
    ]


def deleted_stack_id(cloudformation: Any, name: str) -> str:
    """The newest deleted stack of that name (CloudFormation lists them for 90 days)."""
    newest = None
    token = None
    while True:
        page = cloudformation.list_stacks(
            StackStatusFilter=["DELETE_COMPLETE"], **({"NextToken": token} if token else {})
        )
        for summary in page["StackSummaries"]:
            if summary["StackName"] == name and (
                newest is None or summary["DeletionTime"] > newest["DeletionTime"]
            ):
                newest = summary
        token = page.get("NextToken")
        if not token:
            break
    if newest is None:
        raise StackError(
            f"no deleted stack {name} in the last 90 days: give the physical ids by hand "
            "(docs/operations.md, Redeploy after a stack delete)"
        )
    return newest["StackId"]


def left_behind(cloudformation: Any, stack_id: str) -> list[dict[str, Any]]:
    """The resources the delete skipped (the Retain ones), with their physical ids."""
    resources, token = [], None
    while True:
        page = cloudformation.list_stack_resources(
            StackName=stack_id, **({"NextToken": token} if token else {})
        )
        resources += [
            r
            for r in page["StackResourceSummaries"]
            if r["ResourceStatus"] == "DELETE_SKIPPED" and r.get("PhysicalResourceId")
        ]
        token = page.get("NextToken")
        if not token:
            return resources


def create_import_change_set(
    cloudformation: Any, name: str, config_env: str, change_set: str
) -> tuple[str, list[dict]]:
    """Create the IMPORT change set that recreates `name` around its retained resources."""
    template = load_template()
    stack_id = deleted_stack_id(cloudformation, name)
    imports = resources_to_import(template, left_behind(cloudformation, stack_id))
    if not imports:
        raise StackError(f"the deleted stack {name} left no retained resources to adopt")
    adopted = import_template(template)
    response = cloudformation.create_change_set(
        StackName=name,
        ChangeSetName=change_set,
        ChangeSetType="IMPORT",
        TemplateBody=json.dumps(adopted),
        Parameters=samconfig_parameters(config_env, adopted),
        ResourcesToImport=imports,
    )
    return response["Id"], imports


def adopt_command(args: Any) -> int:
    """`webevents adopt-retained --stack NAME`: the IMPORT change set, to review and execute."""
    cloudformation = boto3.session.Session(region_name=args.region).client("cloudformation")
    try:
        change_set, imports = create_import_change_set(
            cloudformation, args.stack, args.config_env, args.change_set
        )
    except StackError as error:
        print(f"adopt-retained: {error}", file=sys.stderr)
        return 1
    for item in imports:
        print(f"adopt {item['LogicalResourceId']:<24} {json.dumps(item['ResourceIdentifier'])}")
    print(f"created IMPORT change set {change_set}; review it, then:")
    print(f"  aws cloudformation execute-change-set --change-set-name {change_set}")
    print(f"  aws cloudformation wait stack-import-complete --stack-name {args.stack}")
    print(f"  make deploy STACK_ENV={args.config_env}")
    return 0
