"""What a template value is in one environment: samconfig.toml's overrides on the template's
defaults, with Ref, Fn::If and the condition functions evaluated as CloudFormation would."""

from __future__ import annotations

import shlex
import tomllib
from typing import Any

from infra_cfn import SAMCONFIG_PATH

# samconfig.toml's environments: `default` is dev.
ENVIRONMENTS = ("default", "staging", "prod")


def samconfig_overrides(env: str) -> dict[str, str]:
    """The `Key="value"` pairs of an environment's deploy parameter_overrides."""
    with SAMCONFIG_PATH.open("rb") as handle:
        config = tomllib.load(handle)
    text = config[env]["deploy"]["parameters"]["parameter_overrides"]
    return dict(pair.split("=", 1) for pair in shlex.split(text))


def parameter_values(template: dict, overrides: dict[str, str]) -> dict[str, str]:
    """Every parameter's value as CloudFormation passes it: the override, else the default."""
    values = {
        name: str(parameter["Default"])
        for name, parameter in template["Parameters"].items()
        if "Default" in parameter
    }
    unknown = set(overrides) - set(template["Parameters"])
    if unknown:
        raise KeyError(f"overrides name no template parameter: {sorted(unknown)}")
    return {**values, **overrides}


def condition(template: dict, name: str, values: dict[str, str]) -> bool:
    """A named condition of the template, evaluated for these parameter values."""
    return bool(evaluate(template["Conditions"][name], template, values))


def evaluate(node: Any, template: dict, values: dict[str, str]) -> Any:
    """A template value with parameter Refs, Fn::If and condition functions resolved.

    Refs to resources and the other intrinsics stay as they are (a retention figure never
    holds one; the callers turn the result into a number and fail loudly if it is not)."""
    if isinstance(node, list):
        return [evaluate(item, template, values) for item in node]
    if not isinstance(node, dict) or len(node) != 1:
        return node
    [(function, argument)] = node.items()
    if function == "Ref" and argument in values:
        return values[argument]
    if function == "Condition":
        return condition(template, argument, values)
    if function == "Fn::If":
        name, when_true, when_false = argument
        chosen = when_true if condition(template, name, values) else when_false
        return evaluate(chosen, template, values)
    if function == "Fn::Equals":
        left, right = (evaluate(item, template, values) for item in argument)
        return str(left) == str(right)
    if function == "Fn::Or":
        return any(evaluate(item, template, values) for item in argument)
    if function == "Fn::And":
        return all(evaluate(item, template, values) for item in argument)
    if function == "Fn::Not":
        return not evaluate(argument[0], template, values)
    return node


def number(node: Any, template: dict, values: dict[str, str]) -> int:
    """A template value that must come out as a whole number in this environment."""
    value = evaluate(node, template, values)
    if isinstance(value, (dict, list, bool)):
        raise ValueError(f"not a number in this environment: {value!r}")
    return int(value)
