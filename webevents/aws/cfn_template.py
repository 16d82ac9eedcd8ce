"""template.yaml as plain data: a YAML loader that reads CloudFormation's short-form
intrinsics (!Ref, !GetAtt, !Sub, ...) into their long, JSON-ready form."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from webevents import PROJECT_ROOT

TEMPLATE_PATH = PROJECT_ROOT / "template.yaml"


class CfnLoader(yaml.SafeLoader):
    """SafeLoader that turns short-form intrinsics into their long form."""


def _construct_intrinsic(loader: CfnLoader, tag_suffix: str, node: yaml.Node) -> dict[str, Any]:
    if isinstance(node, yaml.ScalarNode):
        value: Any = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)
    if tag_suffix in ("Ref", "Condition"):
        return {tag_suffix: value}
    if tag_suffix == "GetAtt" and isinstance(value, str):
        resource, _, attribute = value.partition(".")
        return {"Fn::GetAtt": [resource, attribute]}
    return {f"Fn::{tag_suffix}": value}


CfnLoader.add_multi_constructor("!", _construct_intrinsic)


def load_template(path: Path = TEMPLATE_PATH) -> dict[str, Any]:
    """Parse a CloudFormation/SAM YAML template, intrinsics in long form."""
    return yaml.load(path.read_text(encoding="utf-8"), Loader=CfnLoader)  # noqa: S506
