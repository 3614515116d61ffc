"""Gateway responses through every format: canary.yaml's `gatewayResponses`, CloudFormation's
AWS::ApiGateway::GatewayResponse (RestApiId, ResponseType, StatusCode, ResponseParameters, ResponseTemplates),
serverless.yml's `resources.Resources` (as Serverless users write them, on the Framework's ApiGatewayRestApi) and
OpenAPI's `x-amazon-apigateway-gateway-responses` (AWS's documented shape:
https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-swagger-extensions-gateway-responses.html).
Each imports, exports back, and the data plane answers with it; `check` refuses a type AWS does not have, with
AWS's list."""

from __future__ import annotations

import datetime as dt
import shutil
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner

from emulator.cli.formats import export_command
from emulator.errors import UserError
from emulator.formats.check import run_check
from emulator.formats.load import load_any, load_config
from emulator.gateway_response_rules import RESPONSE_TYPES
from emulator.stack import StackOptions
from emulator.testing import StackThread

REPO = Path(__file__).resolve().parent.parent
PING_DIR = REPO / "examples" / "ping"
RESPONSES = {
    "DEFAULT_4XX": {"responseParameters": {"gatewayresponse.header.Access-Control-Allow-Origin": "'*'"},
                    "responseTemplates": {"application/json": '{"error": $context.error.messageString, '
                                                              '"type": "$context.error.responseType"}'}},
    "MISSING_AUTHENTICATION_TOKEN": {"statusCode": "404",
                                     "responseTemplates": {"application/json": '{"message": "no such route"}'}},
}
AFTER_BLOCK = dt.date(2026, 11, 26)


def _responses(loaded: Any) -> dict[str, Any]:
    (api,) = loaded.config.rest_apis.values()
    return {kind: response.model_dump(by_alias=True, exclude_defaults=True)
            for kind, response in api.gateway_responses.items()}


@pytest.fixture(scope="module")
def ping(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """examples/ping/canary.yaml with two gateway responses."""
    folder = tmp_path_factory.mktemp("ping")
    shutil.copytree(PING_DIR / "src", folder / "src")
    data = yaml.safe_load((PING_DIR / "canary.yaml").read_text(encoding="utf-8"))
    data["restApis"]["multi-runtime-api"]["gatewayResponses"] = RESPONSES
    config = folder / "canary.yaml"
    config.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return config


@pytest.mark.parametrize("format_", ["cloudformation", "openapi"])
def test_gateway_responses_round_trip_through_export(ping: Path, format_: str) -> None:
    """canary.yaml -> export -> import gives the same gateway responses; exporting the import again writes the
    same file; the exported file passes check."""
    first = ping.with_name(f"first-{format_}.yaml")
    second = ping.with_name(f"second-{format_}.yaml")
    assert CliRunner().invoke(export_command, [str(ping), "--format", format_, "-o", str(first)]).exit_code == 0
    imported = load_any(first)
    assert _responses(imported) == RESPONSES == _responses(load_config(ping))
    result = CliRunner().invoke(export_command, [str(first), "--format", format_, "-o", str(second)])
    assert result.exit_code == 0, result.output
    assert _without_description(second) == _without_description(first)
    document = yaml.safe_load(first.read_text(encoding="utf-8"))
    if format_ == "cloudformation":
        written = {resource["Properties"]["ResponseType"]: resource["Properties"]
                   for resource in document["Resources"].values()
                   if resource["Type"] == "AWS::ApiGateway::GatewayResponse"}
        assert written["MISSING_AUTHENTICATION_TOKEN"]["StatusCode"] == "404"
        assert written["DEFAULT_4XX"]["RestApiId"] == {"Ref": "MultiRuntimeApiRestApi"}
        deployments = [resource for resource in document["Resources"].values()
                       if resource["Type"] == "AWS::ApiGateway::Deployment"]
        assert all(set(deployments[0]["DependsOn"]) >= {"MultiRuntimeApiGatewayResponseDefault4Xx",
                                                        "MultiRuntimeApiGatewayResponseMissingAuthenticationToken"}
                   for _ in deployments)
    else:
        assert document["x-amazon-apigateway-gateway-responses"] == RESPONSES
    assert run_check(first, today=AFTER_BLOCK).findings == []


def _without_description(path: Path) -> Any:
    """The exported document without its `Description: lambda-canary export of <file>` line."""
    document = yaml.safe_load(path.read_text(encoding="utf-8"))
    document.pop("Description", None)
    return document


SERVERLESS = """\
service: cors-errors
frameworkVersion: "3"
provider:
  name: aws
  runtime: nodejs22.x
  region: us-east-1
functions:
  ping:
    handler: src/handlers/ping.handler
    events:
      - http:
          path: ping
          method: get
resources:
  Resources:
    GatewayResponseDefault4XX:
      Type: 'AWS::ApiGateway::GatewayResponse'
      Properties:
        ResponseParameters:
          gatewayresponse.header.Access-Control-Allow-Origin: "'*'"
          gatewayresponse.header.Access-Control-Allow-Headers: "'*'"
        ResponseType: DEFAULT_4XX
        RestApiId:
          Ref: 'ApiGatewayRestApi'
    GatewayResponseMissingToken:
      Type: AWS::ApiGateway::GatewayResponse
      Properties:
        RestApiId: !Ref ApiGatewayRestApi
        ResponseType: MISSING_AUTHENTICATION_TOKEN
        StatusCode: 404
        ResponseTemplates:
          application/json: '{"message": "no such route: $context.resourcePath"}'
"""


def test_serverless_resources_gateway_responses_are_served_and_exported(tmp_path: Path) -> None:
    """The Serverless CORS-on-errors snippet (resources.Resources on ApiGatewayRestApi) imports; the data plane
    answers an unknown route with the 404 and its template, and an error of the 4XX class gets the header; the
    template export carries both responses."""
    shutil.copytree(PING_DIR / "src", tmp_path / "src")
    config = tmp_path / "serverless.yml"
    config.write_text(SERVERLESS, encoding="utf-8")
    loaded = load_any(config, stage="dev")
    assert _responses(loaded) == {
        "DEFAULT_4XX": {"responseParameters": {"gatewayresponse.header.Access-Control-Allow-Origin": "'*'",
                                               "gatewayresponse.header.Access-Control-Allow-Headers": "'*'"}},
        "MISSING_AUTHENTICATION_TOKEN": {"statusCode": "404", "responseTemplates": {
            "application/json": '{"message": "no such route: $context.resourcePath"}'}}}
    options = StackOptions(port=0, backend="process", access_log=False, function_logs=False)
    with StackThread(loaded, options) as stack:
        with pytest.raises(urllib.error.HTTPError) as missing:
            urllib.request.urlopen(f"{stack.url}/dev/nowhere", timeout=30)
        assert missing.value.code == 404
        assert missing.value.read().startswith(b'{"message": "no such route: ')
        assert missing.value.headers["Access-Control-Allow-Origin"] is None  # its own response, not DEFAULT_4XX
        request = urllib.request.Request(f"{stack.url}/dev/ping", data=b"x" * (10 * 1024 * 1024 + 1), method="GET")
        with pytest.raises(urllib.error.HTTPError) as too_large:
            urllib.request.urlopen(request, timeout=60)
        assert too_large.value.code == 413 and too_large.value.headers["Access-Control-Allow-Origin"] == "*"
    exported = tmp_path / "template.yaml"
    result = CliRunner().invoke(export_command, [str(config), "--stage", "dev", "--format", "cloudformation",
                                                 "-o", str(exported)])
    assert result.exit_code == 0, result.output
    assert _responses(load_any(exported)) == _responses(loaded)


@pytest.mark.parametrize("where", ["canary", "cloudformation", "openapi"])
def test_check_refuses_a_response_type_aws_does_not_have_with_aws_list(ping: Path, tmp_path: Path,
                                                                        where: str) -> None:
    """DEFAULT_4xx (AWS's types are upper case) is refused where it is written, with AWS's enum list."""
    shutil.copytree(PING_DIR / "src", tmp_path / "src")
    if where == "canary":
        path = tmp_path / "canary.yaml"
        path.write_text(ping.read_text(encoding="utf-8").replace("DEFAULT_4XX:", "DEFAULT_4xx:"), encoding="utf-8")
    else:
        exported = tmp_path / "exported.yaml"
        assert CliRunner().invoke(export_command, [str(ping), "--format", where, "-o", str(exported)]).exit_code == 0
        path = exported
        text = exported.read_text(encoding="utf-8")
        path.write_text(text.replace("ResponseType: DEFAULT_4XX", "ResponseType: DEFAULT_4xx").replace(
            "  DEFAULT_4XX:", "  DEFAULT_4xx:"), encoding="utf-8")
    report = run_check(path, today=AFTER_BLOCK)
    (finding,) = [item for item in report.findings if "DEFAULT_4xx" in item.message]
    assert finding.code == "invalid" and finding.line is not None
    assert f"Member must satisfy enum value set: [{', '.join(RESPONSE_TYPES)}]" in finding.message
    with pytest.raises(UserError, match="gateway response type 'DEFAULT_4xx' is not one of AWS's"):
        load_any(path)
