"""Helpers for the infrastructure tests: a CloudFormation-aware YAML loader and tree walkers."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from typing import Any

from webevents import PROJECT_ROOT
from webevents.aws.cfn_template import TEMPLATE_PATH, CfnLoader, load_template  # noqa: F401

SAMCONFIG_PATH = PROJECT_ROOT / "samconfig.toml"
OPERATIONS_DOC = PROJECT_ROOT / "docs" / "operations.md"
TOOLS_BIN = PROJECT_ROOT / ".venv-tools" / "bin"


def resources_of_type(template: dict, *types: str) -> dict[str, dict]:
    """Resources whose Type is one of `types`, by logical id."""
    return {
        logical_id: resource
        for logical_id, resource in template["Resources"].items()
        if resource["Type"] in types
    }


def walk(node: Any) -> Iterator[Any]:
    """Every dict, list and scalar below `node`, depth first."""
    yield node
    if isinstance(node, dict):
        for value in node.values():
            yield from walk(value)
    elif isinstance(node, list):
        for value in node:
            yield from walk(value)


def branches(node: Any) -> list[Any]:
    """Both outcomes of an Fn::If (recursively), dropping AWS::NoValue; else [node]."""
    if isinstance(node, dict) and set(node) == {"Fn::If"}:
        _, when_true, when_false = node["Fn::If"]
        return [
            outcome
            for branch in (when_true, when_false)
            for outcome in branches(branch)
            if outcome != {"Ref": "AWS::NoValue"}
        ]
    return [node]


def as_list(value: Any) -> list[Any]:
    """A scalar or list as a list."""
    return value if isinstance(value, list) else [value]


def refs_to(node: Any, logical_id: str) -> bool:
    """Does `node` reference `logical_id` via Ref, GetAtt or a ${...} in Sub?"""
    for item in walk(node):
        if not isinstance(item, dict):
            continue
        if item.get("Ref") == logical_id:
            return True
        getatt = item.get("Fn::GetAtt")
        if isinstance(getatt, list) and getatt and getatt[0] == logical_id:
            return True
        sub = item.get("Fn::Sub")
        text = sub[0] if isinstance(sub, list) else sub
        if isinstance(text, str) and (f"${{{logical_id}}}" in text or f"${{{logical_id}." in text):
            return True
    return False


def tool(name: str) -> str:
    """Absolute path of an offline AWS tool: the project's tools venv first, then PATH."""
    candidate = TOOLS_BIN / name
    if candidate.exists():
        return str(candidate)
    found = shutil.which(name)
    if found is None:
        raise FileNotFoundError(f"{name} not found in {TOOLS_BIN} or PATH: run `make tools-venv`")
    return found


def offline_env() -> dict[str, str]:
    """Environment for the AWS tools: a Region, dummy credentials, no telemetry, no IMDS."""
    env = dict(os.environ)
    env.update(
        {
            "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_REGION": "us-east-1",
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_SESSION_TOKEN": "testing",
            "AWS_EC2_METADATA_DISABLED": "true",
            "SAM_CLI_TELEMETRY": "0",
            "SAM_CLI_CONTAINER_CONNECTION_TIMEOUT": "1",
        }
    )
    env.pop("AWS_PROFILE", None)
    return env
