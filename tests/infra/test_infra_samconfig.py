"""samconfig.toml: dev (default), staging and prod stacks that can coexist, lint on."""

import shlex
import tomllib

import pytest
from infra_cfn import SAMCONFIG_PATH

ENVIRONMENTS = {"default": "dev", "staging": "staging", "prod": "prod"}


@pytest.fixture(scope="module")
def samconfig() -> dict:
    with SAMCONFIG_PATH.open("rb") as handle:
        return tomllib.load(handle)


def overrides(samconfig: dict, env: str) -> dict[str, str]:
    """The `Key="value"` pairs of an environment's parameter_overrides."""
    text = samconfig[env]["deploy"]["parameters"]["parameter_overrides"]
    return dict(pair.split("=", 1) for pair in shlex.split(text))


def test_three_environments_with_distinct_stack_names(samconfig):
    assert set(ENVIRONMENTS) <= set(samconfig)
    names = [samconfig[env]["global"]["parameters"]["stack_name"] for env in ENVIRONMENTS]
    assert len(set(names)) == len(names)


@pytest.mark.parametrize("env", list(ENVIRONMENTS))
def test_validate_lints_in_every_environment(samconfig, env):
    assert samconfig[env]["validate"]["parameters"]["lint"] is True


@pytest.mark.parametrize("env", list(ENVIRONMENTS))
def test_overrides_name_real_parameters_with_allowed_values(samconfig, template, env):
    values = overrides(samconfig, env)
    assert values["EnvironmentName"] == ENVIRONMENTS[env]
    for key, value in values.items():
        parameter = template["Parameters"][key]
        if "AllowedValues" in parameter:
            assert value in [str(v) for v in parameter["AllowedValues"]], key
        if "MinValue" in parameter:
            assert parameter["MinValue"] <= float(value) <= parameter.get("MaxValue", 1e300), key


@pytest.mark.parametrize("env", list(ENVIRONMENTS))
def test_deploy_acknowledges_iam_and_confirms_prod_changesets(samconfig, env):
    deploy = samconfig[env]["deploy"]["parameters"]
    assert "CAPABILITY_IAM" in deploy["capabilities"]
    # dev/staging deploy unattended from CI; prod waits for a human (test_infra_deploy.py).
    assert deploy["confirm_changeset"] is (env == "prod")
