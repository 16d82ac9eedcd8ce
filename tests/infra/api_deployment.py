"""The browser endpoint's Deployment logical id: HttpIngestDeployment + a hash of its methods.

CloudFormation creates an AWS::ApiGateway::Deployment once and never redeploys it when a
method changes, so the stage would keep serving the old methods. A new logical id is a new
deployment; this module computes it from everything a deployment snapshots.

    python -m tests.infra.api_deployment          # print the id the template should use
    python -m tests.infra.api_deployment --fix    # rename it in template.yaml
"""

from __future__ import annotations

import hashlib
import json
import re
import sys

from tests.infra.infra_cfn import TEMPLATE_PATH, load_template

PREFIX = "HttpIngestDeployment"
# What a deployment snapshots: methods (with their integrations and templates), models,
# validators, resources and gateway responses.
SNAPSHOT_TYPES = {
    "AWS::ApiGateway::Method",
    "AWS::ApiGateway::Model",
    "AWS::ApiGateway::RequestValidator",
    "AWS::ApiGateway::Resource",
    "AWS::ApiGateway::GatewayResponse",
}


def deployment_ids(template: dict) -> list[str]:
    return [name for name in template["Resources"] if name.startswith(PREFIX)]


def expected_deployment_id(template: dict) -> str:
    snapshot = {
        name: resource
        for name, resource in sorted(template["Resources"].items())
        if name.startswith("HttpIngest") and resource["Type"] in SNAPSHOT_TYPES
    }
    digest = hashlib.sha256(json.dumps(snapshot, sort_keys=True).encode("utf-8")).hexdigest()
    return f"{PREFIX}{digest[:10]}"


def main(argv: list[str]) -> int:
    template = load_template()
    expected = expected_deployment_id(template)
    (current,) = deployment_ids(template)
    if "--fix" in argv and current != expected:
        text = TEMPLATE_PATH.read_text(encoding="utf-8")
        TEMPLATE_PATH.write_text(re.sub(rf"\b{current}\b", expected, text), encoding="utf-8")
        print(f"{current} -> {expected}")
    else:
        print(expected)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
