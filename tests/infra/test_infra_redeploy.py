"""Delete + redeploy: the retained resources can be adopted by a CloudFormation import."""

import json
import re

import pytest
from infra_cfn import OPERATIONS_DOC, tool, walk
from test_infra_tools import run_tool

from webevents.aws.adopt import IMPORT_IDENTIFIERS, import_template, retained

PSEUDO = {
    "AWS::AccountId",
    "AWS::Region",
    "AWS::Partition",
    "AWS::URLSuffix",
    "AWS::NoValue",
    "AWS::StackName",
    "AWS::StackId",
}


def _references(node) -> set[str]:
    """Every logical id or parameter a node refers to (Ref, GetAtt, ${...} in Sub)."""
    found = set()
    for item in walk(node):
        if not isinstance(item, dict):
            continue
        if "Ref" in item:
            found.add(item["Ref"])
        if "Fn::GetAtt" in item:
            found.add(item["Fn::GetAtt"][0])
        if "Fn::Sub" in item:
            text = item["Fn::Sub"][0] if isinstance(item["Fn::Sub"], list) else item["Fn::Sub"]

            found |= {m.split(".")[0] for m in re.findall(r"\$\{([^}!]+)\}", text)}
    return found


def test_the_table_bucket_and_every_data_store_survive_a_stack_delete(template):
    kept = retained(template)
    assert {
        "DataKey",
        "TableBucket",
        "RawNamespace",
        "AnalyticsNamespace",
        "RawWebEventsTable",
        "AnalyticsWebEventsTable",
        "DeliveryErrorBucket",
        "MartsBucket",
    } <= set(kept)
    for logical_id, resource in kept.items():
        assert resource.get("UpdateReplacePolicy") == "Retain", logical_id


def test_every_retained_type_has_a_known_import_identifier(template):
    """A new Retain resource of another type must teach `adopt-retained` its identifier."""
    for logical_id, resource in retained(template).items():
        assert resource["Type"] in IMPORT_IDENTIFIERS, logical_id


def test_the_import_template_is_self_contained(template):
    """An import creates nothing, so retained resources may refer only to each other."""
    adopted = import_template(template)
    allowed = set(adopted["Resources"]) | set(adopted["Parameters"]) | PSEUDO
    for logical_id, resource in adopted["Resources"].items():
        outside = _references(resource) - allowed
        assert not outside, f"{logical_id} refers to {sorted(outside)}, which is not retained"
    assert "Transform" not in adopted and "Globals" not in adopted


@pytest.mark.xdist_group(name="infra_lint")
def test_cfn_lint_accepts_the_import_template(template, tmp_path):
    path = tmp_path / "adopt.json"
    path.write_text(json.dumps(import_template(template)), encoding="utf-8")
    result = run_tool(tool("cfn-lint"), str(path))
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_runbook_gives_the_redeploy_procedure():
    runbook = OPERATIONS_DOC.read_text(encoding="utf-8")
    section = runbook[runbook.index("## Redeploy after a stack delete") :]
    assert "webevents adopt-retained --stack" in section
    assert "execute-change-set" in section and "make deploy" in section
