"""IAM identity policies of template.yaml, evaluated for one made-up stack: every template
value resolved as CloudFormation would deploy it, and each call checked against the
statements the way IAM matches an identity policy (action, resource with its wildcards,
condition keys). Used by the tests of ErasureRequestsPolicy and the analysts' policies."""

from __future__ import annotations

import fnmatch
import re
from typing import Any

from infra_cfn import as_list, branches

REGION = "eu-west-1"
ACCOUNT = "111122223333"
PSEUDO = {"AWS::Partition": "aws", "AWS::Region": REGION, "AWS::AccountId": ACCOUNT,
          "AWS::URLSuffix": "amazonaws.com", "AWS::StackName": "webevents-dev"}
KEY_ARN = f"arn:aws:kms:{REGION}:{ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab"


# ---- resolving the template for one made-up stack ----------------------------------------


def parameter(template: dict, name: str) -> str:
    return str(template["Parameters"][name].get("Default", name))


def physical_name(template: dict, logical_id: str) -> str:
    """What Ref returns: a workgroup's or Glue database's own name, a made-up bucket name."""
    if logical_id in PSEUDO:
        return PSEUDO[logical_id]
    if logical_id in template["Parameters"]:
        return parameter(template, logical_id)
    resource = template["Resources"][logical_id]
    if resource["Type"] == "AWS::Athena::WorkGroup":
        return resolve(template, resource["Properties"]["Name"])
    if resource["Type"] == "AWS::Glue::Database":
        return resolve(template, resource["Properties"]["DatabaseInput"]["Name"])
    if resource["Type"] == "AWS::S3::Bucket":
        return f"webevents-dev-{logical_id.lower()}-1abc"
    raise KeyError(f"no Ref stand-in for {logical_id}")


def attribute(template: dict, logical_id: str, name: str) -> str:
    """What Fn::GetAtt returns, for the attributes these policies use."""
    if (logical_id, name) == ("DataKey", "Arn"):
        return KEY_ARN
    if (logical_id, name) == ("TableBucket", "TableBucketARN"):
        bucket = resolve(template, template["Resources"]["TableBucket"]["Properties"][
            "TableBucketName"])
        return f"arn:aws:s3tables:{REGION}:{ACCOUNT}:bucket/{bucket}"
    if name == "Arn" and template["Resources"][logical_id]["Type"] == "AWS::S3::Bucket":
        return f"arn:aws:s3:::{physical_name(template, logical_id)}"
    raise KeyError(f"no GetAtt stand-in for {logical_id}.{name}")


def resolve(template: dict, node: Any) -> Any:
    """A template value as CloudFormation would deploy it in the made-up stack."""
    if isinstance(node, list):
        return [resolve(template, item) for item in node]
    if not isinstance(node, dict):
        return node
    if set(node) == {"Ref"}:
        return physical_name(template, node["Ref"])
    if set(node) == {"Fn::GetAtt"}:
        return attribute(template, *node["Fn::GetAtt"])
    if set(node) == {"Fn::Sub"}:
        text = node["Fn::Sub"]
        assert isinstance(text, str), node

        def value(match: re.Match) -> str:
            name = match.group(1)
            if "." in name:
                return attribute(template, *name.split(".", 1))
            return physical_name(template, name)

        return re.sub(r"\$\{([^}!]+)\}", value, text)
    return {key: resolve(template, value) for key, value in node.items()}


def statements(template: dict, logical_id: str) -> list[dict]:
    document = template["Resources"][logical_id]["Properties"]["PolicyDocument"]
    return [resolve(template, s) for item in as_list(document["Statement"])
            for s in branches(item)]


# ---- matching a call against identity-policy statements ----------------------------------


def _condition_holds(condition: dict, context: dict[str, str]) -> bool:
    """Every key must hold; a key absent from the request never matches (IAM)."""
    for operator, pairs in condition.items():
        assert operator in ("StringEquals", "StringLike"), f"unsupported operator {operator}"
        for key, wanted in pairs.items():
            if key not in context:
                return False
            if operator == "StringEquals" and context[key] not in as_list(wanted):
                return False
            if operator == "StringLike" and not any(
                    fnmatch.fnmatchcase(context[key], pattern) for pattern in as_list(wanted)):
                return False
    return True


def allowed(policy: list[dict], action: str, resource: str,
            context: dict[str, str] | None = None) -> bool:
    """Does an Allow statement match, and no Deny? (IAM: actions case-insensitive, resource
    wildcards * and ?, every condition key must hold.)"""
    def matches(statement: dict) -> bool:
        return (any(fnmatch.fnmatchcase(action.lower(), pattern.lower())
                    for pattern in as_list(statement["Action"]))
                and any(fnmatch.fnmatchcase(resource, pattern)
                        for pattern in as_list(statement["Resource"]))
                and _condition_holds(statement.get("Condition", {}), context or {}))

    if any(s["Effect"] == "Deny" and matches(s) for s in policy):
        return False
    return any(s["Effect"] == "Allow" and matches(s) for s in policy)
