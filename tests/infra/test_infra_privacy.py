"""§6b settings as deployed: the Lambda and the daily job (backfill SQL) get the same IP
handling, hash key and PII query parameters from one template parameter each, and what the
template accepts is what both implementations accept."""

import re

import pytest
from infra_cfn import resources_of_type
from landing_contract import IP_HANDLINGS, PII_QUERY_PARAMETERS
from privacy import settings
from test_infra_samconfig import ENVIRONMENTS, overrides
from test_infra_samconfig import samconfig as samconfig  # noqa: F401 (the fixture)

from webevents.jobs.sql import SqlRunError, _check_params

# What each setting's variable must be, for the Lambda and for CodeBuild.
SETTINGS = {"IP_HANDLING": "IpHandling", "PII_QUERY_PARAMETERS": "PiiQueryParameters"}


def build_environment(template: dict) -> dict[str, dict]:
    [project] = resources_of_type(template, "AWS::CodeBuild::Project").values()
    return {v["Name"]: v for v in project["Properties"]["Environment"]["EnvironmentVariables"]}


def test_the_lambda_and_the_daily_job_read_the_same_parameters(template):
    function = template["Globals"]["Function"]["Environment"]["Variables"]
    build = build_environment(template)
    for variable, parameter in SETTINGS.items():
        assert function[variable] == {"Ref": parameter}
        assert build[variable] == {"Name": variable, "Value": {"Ref": parameter}}
    # one key for both, from the same secret: a hashed IP joins across stream and backfill
    assert function["IP_HASH_KEY"]["Fn::If"][0] == "HashIp"
    assert "${IpHashKeySecret}" in function["IP_HASH_KEY"]["Fn::If"][1]["Fn::Sub"]
    assert build["IP_HASH_KEY"] == {
        "Name": "IP_HASH_KEY", "Type": "SECRETS_MANAGER", "Value": {"Ref": "IpHashKeySecret"}
    }


def test_the_ip_handling_choices_are_the_contract_s(template):
    parameter = template["Parameters"]["IpHandling"]
    assert parameter["AllowedValues"] == list(IP_HANDLINGS)
    assert parameter["Default"] == IP_HANDLINGS[0]


@pytest.mark.parametrize("env", list(ENVIRONMENTS))
def test_every_environment_says_how_its_ips_land(samconfig, env):  # noqa: F811
    assert overrides(samconfig, env)["IpHandling"] in IP_HANDLINGS


def test_the_pii_parameters_default_is_the_contract_s_list(template):
    default = template["Parameters"]["PiiQueryParameters"]["Default"]
    assert default.split(",") == list(PII_QUERY_PARAMETERS)
    assert settings({"PII_QUERY_PARAMETERS": default}).pii_query_parameters == PII_QUERY_PARAMETERS


@pytest.mark.parametrize(
    ("listed", "accepted"),
    [
        ("email,phone", True),
        (" Email , user[email] ,x.y~z", True),
        ("token", True),
        ("email,", False),
        (",email", False),
        ("email;drop", False),
        ("o'brien", False),
        ("a b", False),
        ("", False),
    ],
)
def test_the_template_accepts_exactly_what_the_lambda_and_the_sql_accept(
    template, listed, accepted
):
    pattern = template["Parameters"]["PiiQueryParameters"]["AllowedPattern"]
    assert bool(re.fullmatch(pattern, listed)) is accepted
    if not listed:
        return  # unset: both keep the contract's list; CloudFormation refuses it for a value
    try:
        settings({"PII_QUERY_PARAMETERS": listed})
        lambda_accepts = True
    except ValueError:
        lambda_accepts = False
    try:
        _check_params({"pii_query_parameters": listed})
        sql_accepts = True
    except SqlRunError:
        sql_accepts = False
    assert lambda_accepts is sql_accepts is accepted
