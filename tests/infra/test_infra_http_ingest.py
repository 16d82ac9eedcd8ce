"""The browser endpoint as deployed: template.yaml's model, WAF size rule and mapping templates
answer every case of events/http_ingest_contract.json as webevents/aws/collector.py does.

The mapping templates are rendered with airspeed-ext, the Velocity engine LocalStack uses for
API Gateway; `$input`, `$util` and `$context` are the documented API Gateway variables
(https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-mapping-template-reference.html),
implemented below for the JSONPath forms the templates use.
"""

from __future__ import annotations

import base64
import json
import re
from typing import Any

import airspeed
import jsonschema
import pytest
from infra_cfn import OPERATIONS_DOC, branches, refs_to, resources_of_type

from tests.http_ingest_cases import (
    REQUEST_CASES,
    RESPONSE_CASES,
    case_id,
    expected_records,
    request_body,
)
from tests.infra.api_deployment import deployment_ids, expected_deployment_id
from webevents.aws import collector

STREAM = "webevents-test-IngestStream-1"
REQUEST_ID = "c0ffee00-1111-2222-3333-444455556666"


class _JavaString(str):
    """$input.body is a java.lang.String: the two methods the templates call on it."""

    def trim(self) -> _JavaString:
        # Java's trim() strips every character <= U+0020 from both ends
        return _JavaString(self.strip("".join(chr(c) for c in range(0x21))))

    def startsWith(self, prefix: str) -> bool:  # noqa: N802 - Java's name
        return self.startswith(prefix)


class _Input:
    """API Gateway's $input for one payload: body, path(), json()."""

    def __init__(self, body: str) -> None:
        self.body = _JavaString(body)

    def _select(self, expression: str) -> Any:
        match = re.fullmatch(r"\$((?:\.[A-Za-z_]\w*|\[\d+\])*)", expression)
        assert match, f"JSONPath form not supported by this harness: {expression}"
        node = json.loads(self.body)
        for name, index in re.findall(r"\.([A-Za-z_]\w*)|\[(\d+)\]", match.group(1)):
            if node is None:
                return None
            node = node[int(index)] if index else node.get(name)
        return node

    def path(self, expression: str) -> Any:
        return self._select(expression)

    def json(self, expression: str) -> str:
        return json.dumps(self._select(expression), ensure_ascii=False)


class _Util:
    @staticmethod
    def base64Encode(text: str) -> str:  # noqa: N802 - API Gateway's name
        return base64.b64encode(text.encode("utf-8")).decode("ascii")


def _render(template_text: str, body: str) -> tuple[str, dict]:
    context = {"requestId": REQUEST_ID, "responseOverride": {}}
    output = airspeed.Template(template_text).merge(
        {"input": _Input(body), "util": _Util(), "context": context}
    )
    return output, context


def _sub_text(node: Any, **names: str) -> str:
    """The text of a Fn::Sub (or plain string) with ${Name} replaced as CloudFormation would."""
    text = node["Fn::Sub"] if isinstance(node, dict) else node
    for name, value in names.items():
        text = text.replace("${" + name + "}", value)
    assert "${" not in text, f"unresolved substitution in {text!r}"
    return text


@pytest.fixture(scope="module")
def post(template) -> dict:
    return template["Resources"]["HttpIngestPostMethod"]["Properties"]


def _gateway(template: dict, post: dict, case: dict) -> tuple[int, str | None]:
    """What API Gateway and its WAF decide before the integration: (status, template text)."""
    body = request_body(case)
    size_limit = template["Parameters"]["HttpIngestMaxBodyBytes"]["Default"]
    inspected = int(template["Parameters"]["HttpIngestBodyInspectionLimit"]["Default"][3:]) * 1024
    if len(body) > min(size_limit, inspected):  # OversizeHandling MATCH: blocked
        return 403, None
    content_type = collector.media_type(case["content_type"])
    integration = post["Integration"]
    if content_type not in integration["RequestTemplates"]:
        assert integration["PassthroughBehavior"] == "NEVER"
        return 415, None
    model_id = post["RequestModels"][content_type]["Ref"]
    schema = template["Resources"][model_id]["Properties"]["Schema"]
    try:
        jsonschema.Draft4Validator(schema).validate(json.loads(body))
    except (ValueError, jsonschema.ValidationError):
        return 400, None
    kinesis, firehose = integration["RequestTemplates"][content_type]["Fn::If"][1:]
    return 200, (kinesis, firehose)


@pytest.mark.parametrize("case", REQUEST_CASES, ids=case_id)
def test_the_template_maps_each_request_case_as_the_contract_says(template, post, case):
    status, templates = _gateway(template, post, case)
    assert status == case["status"]
    if status != 200:
        return
    kinesis, firehose = templates
    body = request_body(case).decode("utf-8")
    rendered, _ = _render(_sub_text(kinesis, IngestStream=STREAM), body)
    request = json.loads(rendered)
    events = expected_records(case)
    assert request["StreamName"] == STREAM
    assert [json.loads(base64.b64decode(r["Data"])) for r in request["Records"]] == events
    # the same PutRecords request as the collector builds, record for record
    records = collector.parse_request(case["content_type"], request_body(case)).records
    reference = collector.put_records_request(records, STREAM, REQUEST_ID)
    assert [r["PartitionKey"] for r in request["Records"]] == [
        r["PartitionKey"] for r in reference["Records"]
    ]
    rendered, _ = _render(_sub_text(firehose, DeliveryStream="firehose-1"), body)
    batch = json.loads(rendered)
    assert batch["DeliveryStreamName"] == "firehose-1"
    assert [json.loads(base64.b64decode(r["Data"])) for r in batch["Records"]] == events


def _integration_response(post: dict, status: int) -> dict:
    """The integration response API Gateway selects for a service status (regex, else default)."""
    responses = post["Integration"]["IntegrationResponses"]
    for response in responses:
        pattern = response.get("SelectionPattern")
        if pattern and re.fullmatch(pattern, str(status)):
            return response
    (default,) = [r for r in responses if not r.get("SelectionPattern")]
    return default


@pytest.mark.parametrize("case", RESPONSE_CASES, ids=case_id)
def test_the_template_answers_each_service_response_as_the_contract_says(post, case):
    response = _integration_response(post, case["status"])
    rendered, context = _render(
        response["ResponseTemplates"]["application/json"], json.dumps(case["response"])
    )
    status = context["responseOverride"].get("status", int(response["StatusCode"]))
    assert (status, json.loads(rendered)) == (case["expect_status"], case["expect_body"])
    declared = {r["StatusCode"] for r in post["MethodResponses"]}
    assert str(status) in declared, "every status the templates answer is a method response"


def test_no_service_error_status_reaches_the_browser_as_200(post):
    for status in (400, 403, 404, 413, 429, 500, 502, 503):
        assert _integration_response(post, status)["StatusCode"] != "200", status


def test_the_integration_calls_the_batch_actions_as_json_1_1(template, post):
    integration = post["Integration"]
    header = integration["RequestParameters"]["integration.request.header.Content-Type"]
    assert header == "'application/x-amz-json-1.1'"
    uris = [branch["Fn::Sub"] for branch in branches(integration["Uri"])]
    assert uris[0].endswith("kinesis:action/PutRecords")
    assert uris[1].endswith("firehose:action/PutRecordBatch")
    role = template["Resources"]["HttpIngestRole"]["Properties"]["Policies"][0]
    actions = branches(role["PolicyDocument"]["Statement"][0]["Action"])
    assert actions == ["kinesis:PutRecords", "firehose:PutRecordBatch"]
    key_grant = role["PolicyDocument"]["Statement"][1]
    assert key_grant["Action"] == "kms:GenerateDataKey"
    via = [b["Fn::Sub"] for b in branches(key_grant["Condition"]["StringEquals"]["kms:ViaService"])]
    assert via == ["kinesis.${AWS::Region}.amazonaws.com", "firehose.${AWS::Region}.amazonaws.com"]
    assert set(post["RequestModels"]) == set(integration["RequestTemplates"]) == set(
        collector.MEDIA_TYPES
    )


def test_the_deployment_id_carries_the_hash_of_the_methods(template):
    """Edit a method without `python -m tests.infra.api_deployment --fix` and this fails."""
    (deployment,) = deployment_ids(template)
    assert deployment == expected_deployment_id(template)
    stage = template["Resources"]["HttpIngestStage"]["Properties"]
    assert refs_to(stage["DeploymentId"], deployment)
    changed = json.loads(json.dumps(template))
    changed["Resources"]["HttpIngestPostMethod"]["Properties"]["Integration"][
        "PassthroughBehavior"
    ] = "WHEN_NO_TEMPLATES"
    assert expected_deployment_id(changed) != deployment


def test_staging_and_prod_cannot_deploy_with_any_origin(template):
    rule = template["Rules"]["HttpIngestOriginPerEnvironment"]
    condition = json.dumps(rule["RuleCondition"])
    assert "EnableHttpIngest" in condition and '"dev"' in condition
    (assertion,) = rule["Assertions"]
    assert assertion["Assert"] == {
        "Fn::Not": [{"Fn::Equals": [{"Ref": "HttpIngestAllowedOrigin"}, "*"]}]
    }
    pattern = template["Parameters"]["HttpIngestAllowedOrigin"]["AllowedPattern"]
    assert re.fullmatch(pattern, "https://tours.example.com")
    assert re.fullmatch(pattern, "*")
    assert not re.fullmatch(pattern, "https://a.com,https://b.com")
    assert not re.fullmatch(pattern, "https://Tours.example.com")  # WAF compares lowercase


def _waf_rules(template: dict) -> dict[str, dict]:
    rules = template["Resources"]["HttpIngestWebAcl"]["Properties"]["Rules"]
    return {rule["Name"]: rule for item in rules for rule in branches(item)}


def test_waf_blocks_other_origins_bots_and_traffic_over_the_quota(template):
    rules = _waf_rules(template)
    origin = rules["RequireAllowedOrigin"]["Statement"]["NotStatement"]["Statement"]
    assert refs_to(origin["ByteMatchStatement"]["SearchString"], "HttpIngestAllowedOrigin")
    bot = rules["AWSManagedRulesBotControlRuleSet"]["Statement"]["ManagedRuleGroupStatement"]
    assert bot["ManagedRuleGroupConfigs"] == [
        {"AWSManagedRulesBotControlRuleSet": {"InspectionLevel": "COMMON"}}
    ]
    quota = rules["RequestQuota"]["Statement"]["RateBasedStatement"]
    assert quota["AggregateKeyType"] == "CONSTANT"
    assert refs_to(quota["Limit"], "HttpIngestRequestsPer5Min")
    priorities = [rule["Priority"] for rule in rules.values()]
    assert len(priorities) == len(set(priorities))


def test_waf_inspects_as_much_body_as_the_size_rule_allows(template):
    acl = template["Resources"]["HttpIngestWebAcl"]["Properties"]
    limit = acl["AssociationConfig"]["RequestBody"]["API_GATEWAY"]["DefaultSizeInspectionLimit"]
    assert refs_to(limit, "HttpIngestBodyInspectionLimit")
    parameters = template["Parameters"]
    assert parameters["HttpIngestBodyInspectionLimit"]["AllowedValues"] == [
        "KB_16", "KB_32", "KB_48", "KB_64"
    ]
    assert parameters["HttpIngestMaxBodyBytes"]["MaxValue"] == 64 * 1024
    assert parameters["HttpIngestMaxBodyBytes"]["Default"] == collector.MAX_BODY_BYTES
    size = _waf_rules(template)["BlockOversizeBody"]["Statement"]["SizeConstraintStatement"]
    assert size["FieldToMatch"]["Body"]["OversizeHandling"] == "MATCH"


def test_partial_failures_are_counted_and_alarmed(template):
    metric_filter = template["Resources"]["HttpIngestPartialFailuresMetric"]["Properties"]
    assert refs_to(metric_filter["LogGroupName"], "HttpIngestAccessLogGroup")
    assert '"207"' in metric_filter["FilterPattern"]
    stage = template["Resources"]["HttpIngestStage"]["Properties"]
    assert '"status":"$context.status"' in stage["AccessLogSetting"]["Format"]
    (transformation,) = metric_filter["MetricTransformations"]
    alarm = template["Resources"]["HttpIngestPartialFailuresAlarm"]["Properties"]
    assert alarm["MetricName"] == transformation["MetricName"]
    assert alarm["Namespace"] == transformation["MetricNamespace"]
    assert "#httpingestpartialfailures" in alarm["AlarmDescription"]
    assert "### HttpIngestPartialFailures" in OPERATIONS_DOC.read_text(encoding="utf-8")
    alarms = resources_of_type(template, "AWS::CloudWatch::Alarm")
    assert alarms["HttpIngestServerErrorsAlarm"]["Properties"]["MetricName"] == "5XXError"
