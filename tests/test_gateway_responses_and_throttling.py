"""Gateway responses and stage throttling on the data plane, set up through the AWS API with boto3 and seen over
real HTTP: PutGatewayResponse shapes the errors API Gateway generates once deployed (status, header mappings,
templates with $context.error.*), and method settings' rate and burst limits answer 429 THROTTLED.

Sources: API Gateway API reference, PutGatewayResponse (the example this test uses) and the gateway response
types (status 429 and `{"message":"Too Many Requests"}` for THROTTLED: reference §4.2 default bodies); method
settings as recorded in tests/conformance (test_apigateway_common.py::TestStages).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from support import Reply, call

from emulator.stack import StackOptions
from emulator.testing import StackThread

TEMPLATE = ('{"message": $context.error.messageString, "type": "$context.error.responseType", '
            '"stage": "$context.stage", "resourcePath": "$context.resourcePath", "a": "$stageVariables.a"}')


@pytest.fixture(scope="module")
def emulator() -> Iterator[StackThread]:
    with StackThread(None, StackOptions(port=0, seed=3, backend="process", access_log=False,
                                        function_logs=False)) as running:
        yield running


def client(emulator: StackThread) -> Any:
    return boto3.client("apigateway", endpoint_url=emulator.url, region_name="us-east-1",
                        aws_access_key_id="test", aws_secret_access_key="test")


def mock_api(apigateway: Any) -> str:
    """GET /ping answered by a MOCK integration, deployed to stage prod with variable a=1."""
    api_id = apigateway.create_rest_api(name="responses")["id"]
    root = apigateway.get_resources(restApiId=api_id)["items"][0]["id"]
    ping = apigateway.create_resource(restApiId=api_id, parentId=root, pathPart="ping")["id"]
    apigateway.put_method(restApiId=api_id, resourceId=ping, httpMethod="GET", authorizationType="NONE")
    apigateway.put_integration(restApiId=api_id, resourceId=ping, httpMethod="GET", type="MOCK",
                               requestTemplates={"application/json": '{"statusCode": 200}'})
    apigateway.put_integration_response(restApiId=api_id, resourceId=ping, httpMethod="GET", statusCode="200",
                                        responseTemplates={"application/json": '{"pong": true}'})
    apigateway.create_deployment(restApiId=api_id, stageName="prod", variables={"a": "1"})
    return api_id


def get(emulator: StackThread, api_id: str, path: str, headers: list[tuple[str, str]] | None = None) -> Reply:
    return call(emulator.url, "GET", path, [("Host", f"{api_id}.execute-api.localhost"), *(headers or [])])


def test_a_gateway_response_shapes_the_error_once_deployed(emulator: StackThread) -> None:
    apigateway = client(emulator)
    api_id = mock_api(apigateway)
    default = get(emulator, api_id, "/prod/nothing")
    assert (default.status, default.body) == (403, b'{"message":"Missing Authentication Token"}')
    apigateway.put_gateway_response(
        restApiId=api_id, responseType="MISSING_AUTHENTICATION_TOKEN", statusCode="404",
        responseParameters={"gatewayresponse.header.Access-Control-Allow-Origin": "'a.b.c'",
                            "gatewayresponse.header.x-request-header": "method.request.header.Accept"},
        responseTemplates={"application/json": TEMPLATE})
    assert get(emulator, api_id, "/prod/nothing").status == 403  # not deployed yet, as on AWS
    apigateway.create_deployment(restApiId=api_id, stageName="prod")
    shaped = get(emulator, api_id, "/prod/nothing", [("Accept", "application/json")])
    assert shaped.status == 404
    assert shaped.json() == {"message": "Missing Authentication Token", "type": "MISSING_AUTHENTICATION_TOKEN",
                             "stage": "prod", "resourcePath": "", "a": "1"}
    assert shaped.header("Access-Control-Allow-Origin") == "a.b.c"
    assert shaped.header("x-request-header") == "application/json"
    assert get(emulator, api_id, "/prod/ping").json() == {"pong": True}


def test_throttling_answers_429_and_default_4xx_shapes_it(emulator: StackThread) -> None:
    apigateway = client(emulator)
    api_id = mock_api(apigateway)
    # one request per 1000 s with a burst of 1: the second request finds the bucket empty
    apigateway.update_stage(restApiId=api_id, stageName="prod", patchOperations=[
        {"op": "replace", "path": "/*/*/throttling/burstLimit", "value": "1"},
        {"op": "replace", "path": "/*/*/throttling/rateLimit", "value": "0.001"}])
    settings = apigateway.get_stage(restApiId=api_id, stageName="prod")["methodSettings"]["*/*"]
    assert (settings["throttlingBurstLimit"], settings["throttlingRateLimit"]) == (1, 0.001)
    assert get(emulator, api_id, "/prod/ping").status == 200
    refused = get(emulator, api_id, "/prod/ping")
    assert (refused.status, refused.body) == (429, b'{"message":"Too Many Requests"}')
    assert refused.header("x-amzn-ErrorType") == "TooManyRequestsException"

    apigateway.put_gateway_response(restApiId=api_id, responseType="DEFAULT_4XX",
                                    responseTemplates={"application/json": '{"error": "$context.error.message"}'})
    apigateway.create_deployment(restApiId=api_id, stageName="prod")
    shaped = get(emulator, api_id, "/prod/ping")
    assert (shaped.status, shaped.json()) == (429, {"error": "Too Many Requests"})


def test_a_method_setting_overrides_the_stage_limits(emulator: StackThread) -> None:
    apigateway = client(emulator)
    api_id = mock_api(apigateway)
    apigateway.update_stage(restApiId=api_id, stageName="prod", patchOperations=[
        {"op": "replace", "path": "/~1ping/GET/throttling/burstLimit", "value": "0"},
        {"op": "replace", "path": "/~1ping/GET/throttling/rateLimit", "value": "0"}])
    assert "ping/GET" in apigateway.get_stage(restApiId=api_id, stageName="prod")["methodSettings"]
    assert get(emulator, api_id, "/prod/ping").status == 429
    apigateway.update_stage(restApiId=api_id, stageName="prod",
                            patchOperations=[{"op": "remove", "path": "/~1ping/GET"}])
    assert get(emulator, api_id, "/prod/ping").status == 200
    assert json.loads(get(emulator, api_id, "/prod/ping").body) == {"pong": True}


def test_the_account_level_limit_throttles_every_api_without_method_settings(emulator: StackThread) -> None:
    """AWS's account-level bucket (default 10,000 requests/s, burst 5,000) is shared by every API and stage, with
    or without method settings; shrunk here to a burst of 2 and one request per 1000 s so the third request of
    any API finds it empty and answers 429 THROTTLED."""
    from emulator.apigateway.throttling import ACCOUNT_BURST, ACCOUNT_RATE, Throttles

    assert (ACCOUNT_RATE, ACCOUNT_BURST) == (10000.0, 5000)
    apigateway = client(emulator)
    first, second = mock_api(apigateway), mock_api(apigateway)
    assert emulator.stack is not None
    gateway = emulator.stack.gateway
    kept, gateway.throttles = gateway.throttles, Throttles(account_rate=0.001, account_burst=2)
    try:
        assert [get(emulator, api, "/prod/ping").status for api in (first, second)] == [200, 200]
        refused = get(emulator, first, "/prod/ping")
        assert (refused.status, refused.body) == (429, b'{"message":"Too Many Requests"}')
        assert get(emulator, second, "/prod/ping").status == 429
    finally:
        gateway.throttles = kept
    assert get(emulator, first, "/prod/ping").status == 200
