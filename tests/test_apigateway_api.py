"""The API Gateway control plane driven by the real aws CLI and boto3: the seed's flow end to end, and AWS's
errors (reference §1.1, §2.2, §2.5)."""

from __future__ import annotations

import functools
import json
import os
import subprocess
import urllib.error
import urllib.request
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError
from scipy.stats import binom

from emulator.stack import StackOptions
from emulator.testing import StackThread

REPO = Path(__file__).resolve().parent.parent
AWS = REPO / ".venv" / "bin" / "aws"
REGION, ACCOUNT = "us-east-1", "123456789012"
PING = (REPO / "examples" / "ping" / "src" / "handlers" / "ping.js").read_text()
REQUESTS = 200
TEST_FALSE_FAILURE = 1e-6  # per test, at most: a test with k bounded checks gives each 1e-6 / k


@pytest.fixture(scope="module")
def emulator() -> Iterator[StackThread]:
    """An empty account (no config), seeded, with the AWS API on the same port."""
    with StackThread(None, StackOptions(port=0, seed=5, backend="process", access_log=False,
                                        function_logs=False)) as running:
        yield running


@pytest.fixture(scope="module")
def cli_env(emulator: StackThread, tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    home = tmp_path_factory.mktemp("home")
    return {**os.environ, "AWS_ENDPOINT_URL": emulator.url, "AWS_ACCESS_KEY_ID": "test",
            "AWS_SECRET_ACCESS_KEY": "test", "AWS_DEFAULT_REGION": REGION, "HOME": str(home),
            "AWS_CONFIG_FILE": str(home / "none"), "AWS_SHARED_CREDENTIALS_FILE": str(home / "none")}


def aws(env: dict[str, str], *args: str) -> Any:
    """Run the aws CLI; JSON output parsed."""
    result = subprocess.run([str(AWS), *args, "--output", "json"], env=env, capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout) if result.stdout.strip() else None


def aws_error(env: dict[str, str], *args: str) -> str:
    """Run an aws CLI call that must fail; returns stderr."""
    result = subprocess.run([str(AWS), *args], env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode != 0, result.stdout
    return result.stderr


def ping_zip(folder: Path) -> Path:
    path = folder / "ping.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("src/handlers/ping.js", PING)
    return path


def node_counts(url: str, requests: int = REQUESTS) -> tuple[int, int, int]:
    """(Node 18 bodies, Node 22 bodies, 5xx answers) over `requests` GETs."""
    v18 = v22 = errors = 0
    for _ in range(requests):
        try:
            with urllib.request.urlopen(url, timeout=30) as response:
                node = json.loads(response.read())["node"]
        except urllib.error.HTTPError as error:
            assert error.code >= 500, error.code
            errors += 1
            continue
        v18 += node.startswith("v18.")
        v22 += node.startswith("v22.")
    return v18, v22, errors


def assert_share(count: int, n: int, percent: float, false_failure: float) -> None:
    """`count` of `n` is within the two-sided exact binomial quantile bound for `percent`: [binom.ppf(ff/2),
    binom.isf(ff/2)], which a correct split misses with probability at most `false_failure`."""
    p = percent / 100
    low, high = binom.ppf(false_failure / 2, n, p), binom.isf(false_failure / 2, n, p)
    assert low <= count <= high, f"{count}/{n} outside [{low}, {high}] for {percent}%"


def test_the_seeds_flow_with_the_aws_cli(emulator: StackThread, cli_env: dict[str, str], tmp_path: Path) -> None:
    """Create everything with the aws CLI, then canary 10%, 50%, promote, roll back; check the data plane.

    Two counts are random, the Node 22 shares at 10 % and at 50 %; each is checked against its exact binomial bound
    at 1e-6 / 2. Every other count is certain (no canary, or every request on one side).
    False-failure probability: <= 2 · 0.5e-6 = 1e-6.
    """
    per_check = TEST_FALSE_FAILURE / 2
    archive = ping_zip(tmp_path)
    for name, runtime in (("ping-stable", "nodejs18.x"), ("ping-canary", "nodejs22.x")):
        aws(cli_env, "lambda", "create-function", "--function-name", name, "--runtime", runtime,
            "--handler", "src/handlers/ping.handler", "--role", f"arn:aws:iam::{ACCOUNT}:role/ping",
            "--zip-file", f"fileb://{archive}")
    api = aws(cli_env, "apigateway", "create-rest-api", "--name", "multi-runtime-api")["id"]
    root = aws(cli_env, "apigateway", "get-resources", "--rest-api-id", api)["items"][0]["id"]
    resource = aws(cli_env, "apigateway", "create-resource", "--rest-api-id", api, "--parent-id", root,
                   "--path-part", "ping")["id"]
    aws(cli_env, "apigateway", "put-method", "--rest-api-id", api, "--resource-id", resource, "--http-method", "GET",
        "--authorization-type", "NONE")
    uri = (f"arn:aws:apigateway:{REGION}:lambda:path/2015-03-31/functions/arn:aws:lambda:{REGION}:{ACCOUNT}:"
           "function:ping-${stageVariables.lambdaAlias}/invocations")
    aws(cli_env, "apigateway", "put-integration", "--rest-api-id", api, "--resource-id", resource, "--http-method",
        "GET", "--type", "AWS_PROXY", "--integration-http-method", "POST", "--uri", uri)
    deployment = aws(cli_env, "apigateway", "create-deployment", "--rest-api-id", api, "--stage-name", "prod",
                     "--variables", "lambdaAlias=stable")["id"]
    url = f"{emulator.url}/prod/ping"

    # No permission yet: the data plane answers 500 until AddPermission allows this API.
    v18, v22, errors = node_counts(url, 5)
    assert errors == 5
    for name in ("ping-stable", "ping-canary"):
        aws(cli_env, "lambda", "add-permission", "--function-name", name, "--statement-id", "apigw",
            "--action", "lambda:InvokeFunction", "--principal", "apigateway.amazonaws.com",
            "--source-arn", f"arn:aws:execute-api:{REGION}:{ACCOUNT}:{api}/*/GET/ping")
    assert node_counts(url) == (REQUESTS, 0, 0)  # stable only

    # Canary at 10%: the seed's own command, on a stage without a canary, creates one on the stage's deployment.
    aws(cli_env, "apigateway", "update-stage", "--rest-api-id", api, "--stage-name", "prod", "--patch-operations",
        "op=replace,path=/canarySettings/percentTraffic,value=10",
        "op=replace,path=/canarySettings/stageVariableOverrides/lambdaAlias,value=canary")
    stage = aws(cli_env, "apigateway", "get-stage", "--rest-api-id", api, "--stage-name", "prod")
    assert stage["canarySettings"] == {"percentTraffic": 10.0, "deploymentId": deployment,
                                       "stageVariableOverrides": {"lambdaAlias": "canary"}, "useStageCache": False}
    v18, v22, errors = node_counts(url)
    assert errors == 0 and v18 + v22 == REQUESTS
    assert_share(v22, REQUESTS, 10, per_check)

    aws(cli_env, "apigateway", "update-stage", "--rest-api-id", api, "--stage-name", "prod", "--patch-operations",
        "op=replace,path=/canarySettings/percentTraffic,value=50")
    v18, v22, _ = node_counts(url)
    assert_share(v22, REQUESTS, 50, per_check)

    # Promotion exactly as AWS documents it, then the canary removed.
    promotion = json.dumps([
        {"op": "replace", "path": "/canarySettings/percentTraffic", "value": "0.0"},
        {"op": "copy", "from": "/canarySettings/stageVariableOverrides", "path": "/variables"},
        {"op": "copy", "from": "/canarySettings/deploymentId", "path": "/deploymentId"}])
    stage = aws(cli_env, "apigateway", "update-stage", "--rest-api-id", api, "--stage-name", "prod",
                "--patch-operations", promotion)
    assert stage["variables"] == {"lambdaAlias": "canary"} and stage["canarySettings"]["percentTraffic"] == 0.0
    aws(cli_env, "apigateway", "update-stage", "--rest-api-id", api, "--stage-name", "prod", "--patch-operations",
        "op=remove,path=/canarySettings")
    assert "canarySettings" not in aws(cli_env, "apigateway", "get-stage", "--rest-api-id", api, "--stage-name", "prod")
    assert node_counts(url) == (0, REQUESTS, 0)

    # Roll back: production variables back to stable.
    aws(cli_env, "apigateway", "update-stage", "--rest-api-id", api, "--stage-name", "prod", "--patch-operations",
        "op=replace,path=/variables/lambdaAlias,value=stable")
    assert node_counts(url) == (REQUESTS, 0, 0)


@pytest.fixture(scope="module")
def apigateway(emulator: StackThread) -> Any:
    return boto3.client("apigateway", endpoint_url=emulator.url, region_name=REGION, aws_access_key_id="x",
                        aws_secret_access_key="y")


@pytest.fixture(scope="module")
def deployed(apigateway: Any) -> tuple[str, str]:
    """An API with a MOCK GET / and a stage `live` (no canary); returns (api id, deployment id)."""
    api = apigateway.create_rest_api(name="errors")["id"]
    root = apigateway.get_resources(restApiId=api)["items"][0]["id"]
    apigateway.put_method(restApiId=api, resourceId=root, httpMethod="GET", authorizationType="NONE")
    apigateway.put_integration(restApiId=api, resourceId=root, httpMethod="GET", type="MOCK",
                               requestTemplates={"application/json": '{"statusCode": 200}'})
    deployment = apigateway.create_deployment(restApiId=api, stageName="live")["id"]
    return api, deployment


def error_of(call: Any, **kwargs: Any) -> tuple[str, str, int]:
    with pytest.raises(ClientError) as caught:
        call(**kwargs)
    error = caught.value.response
    return error["Error"]["Code"], error["Error"]["Message"], error["ResponseMetadata"]["HTTPStatusCode"]


def test_unknown_rest_api_id(apigateway: Any) -> None:
    assert error_of(apigateway.get_rest_api, restApiId="nope123") == (
        "NotFoundException", f"Invalid API identifier specified {ACCOUNT}:nope123", 404)


def test_bad_patch_paths(apigateway: Any, deployed: tuple[str, str]) -> None:
    api, _ = deployed
    code, message, status = error_of(apigateway.update_stage, restApiId=api, stageName="live", patchOperations=[
        {"op": "replace", "path": "/canarySettings/badPath", "value": "1"}])
    assert (code, status) == ("BadRequestException", 400)
    assert message.startswith("Invalid method setting path: /canarySettings/badPath. Must be one of: [")
    assert error_of(apigateway.update_stage, restApiId=api, stageName="live", patchOperations=[
        {"op": "add", "path": "/canarySettings/deploymentId", "value": "x"}]) == (
        "BadRequestException", "Invalid add operation with path: /canarySettings/deploymentId", 400)


def test_copy_to_a_path_aws_forbids(apigateway: Any, deployed: tuple[str, str]) -> None:
    api, _ = deployed
    assert error_of(apigateway.update_stage, restApiId=api, stageName="live", patchOperations=[
        {"op": "copy", "from": "/variables", "path": "/canarySettings/stageVariableOverrides"}]) == (
        "BadRequestException", "Invalid copy operation with path: /canarySettings/stageVariableOverrides and from "
        "/variables. Valid copy:path are [/deploymentId, /variables] and valid copy:from are "
        "[/canarySettings/deploymentId, /canarySettings/stageVariableOverrides]", 400)


MAPPING_REFUSAL = "Invalid mapping expression specified: Validation Result: warnings : [], errors : [{}]"


def test_mapping_expressions_aws_refuses(apigateway: Any) -> None:
    """PutMethod and PutIntegration refuse a requestParameters entry that is no mapping expression, and a mapping
    from a method request parameter the method does not declare, with AWS's messages (LocalStack's AWS-validated
    test_put_integration_request_parameter_bool_type, localstack/localstack@8b9a79f; the undeclared parameter's
    message as AWS answered hashicorp/terraform-provider-aws, internal/service/apigateway/integration.go)."""
    api = apigateway.create_rest_api(name="mappings")["id"]
    root = apigateway.get_resources(restApiId=api)["items"][0]["id"]
    assert error_of(apigateway.put_method, restApiId=api, resourceId=root, httpMethod="POST",
                    authorizationType="NONE",
                    requestParameters={"method.request.path.testPath": True, "true": True}) == (
        "BadRequestException", MAPPING_REFUSAL.format("Invalid mapping expression specified: true"), 400)
    apigateway.put_method(restApiId=api, resourceId=root, httpMethod="GET", authorizationType="NONE",
                          requestParameters={"method.request.header.x": False, "method.request.querystring.q": True})
    put = functools.partial(apigateway.put_integration, restApiId=api, resourceId=root, httpMethod="GET",
                            type="HTTP", integrationHttpMethod="GET", uri="http://example.com/{p}")
    for destination, source, error in (
            ("integration.request.header.x", "method.request.bogus.y",
             "Invalid mapping expression specified: method.request.bogus.y"),
            ("integration.request.bogus.x", "method.request.header.x",
             "Invalid mapping expression specified: integration.request.bogus.x"),
            ("integration.request.header.x", "method.request.header.undeclared",
             "Invalid mapping expression parameter specified: method.request.header.undeclared"),
            ("integration.request.path.p", "method.request.path.p",
             "Invalid mapping expression parameter specified: method.request.path.p")):
        assert error_of(put, requestParameters={destination: source}) == (
            "BadRequestException", MAPPING_REFUSAL.format(error), 400), (destination, source)
    mapping = {"integration.request.header.x": "method.request.header.x",
               "integration.request.header.all": "method.request.multivalueheader.x",
               "integration.request.querystring.q": "method.request.multivaluequerystring.q",
               "integration.request.path.p": "method.request.body.id", "integration.request.header.s": "'static'",
               "integration.request.header.v": "stageVariables.v", "integration.request.header.c": "context.stage"}
    assert put(requestParameters=mapping)["requestParameters"] == mapping


def _method_answer(answer: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in answer.items() if key != "ResponseMetadata"}


def test_a_boolean_where_a_string_belongs_is_the_serialization_error_aws_recorded(emulator: StackThread) -> None:
    """API Gateway's deserializer refuses a JSON boolean in a string map before anything else (LocalStack's
    AWS-validated test_put_integration_request_parameter_bool_type, "put-integration-request-param-wrong-type" and
    "put-integration-request-param-bool-value", localstack/localstack@8b9a79f); the same boolean as a method
    request parameter's `required` flag is what PutMethod takes ("bool-method")."""
    unvalidated = boto3.client("apigateway", endpoint_url=emulator.url, region_name=REGION, aws_access_key_id="x",
                               aws_secret_access_key="y", config=Config(parameter_validation=False))
    api = unvalidated.create_rest_api(name="booleans")["id"]
    root = unvalidated.get_resources(restApiId=api)["items"][0]["id"]
    declared = unvalidated.put_method(restApiId=api, resourceId=root, httpMethod="GET", authorizationType="NONE",
                                      requestParameters={"method.request.path.testPath": True})
    assert declared["requestParameters"] == {"method.request.path.testPath": True}
    for mapping in ({True: True}, {"integration.request.path.testPath": True}):
        assert error_of(unvalidated.put_integration, restApiId=api, resourceId=root, httpMethod="GET",
                        type="HTTP_PROXY", requestParameters=mapping) == (
            "SerializationException", "class java.lang.Boolean can not be converted to an String", 400), mapping


def test_update_method_as_aws_recorded(apigateway: Any) -> None:
    """UpdateMethod's patch paths answer what AWS answered (LocalStack's AWS-validated
    TestApiGatewayApiMethod::test_update_method, tests/aws/services/apigateway/test_apigateway_api.snapshot.json,
    localstack/localstack@8b9a79f, recorded 15-04-2024)."""
    api = apigateway.create_rest_api(name="update-method")["id"]
    root = apigateway.get_resources(restApiId=api)["items"][0]["id"]
    update = functools.partial(apigateway.update_method, restApiId=api, resourceId=root, httpMethod="ANY")
    assert _method_answer(apigateway.put_method(restApiId=api, resourceId=root, httpMethod="ANY",
                                                authorizationType="NONE")) == {
        "apiKeyRequired": False, "authorizationType": "NONE", "httpMethod": "ANY"}
    added = update(patchOperations=[
        {"op": "add", "path": "/requestParameters/method.request.querystring.optional", "value": "true"},
        {"op": "add", "path": "/requestModels/application~1json", "value": "Empty"}])
    assert _method_answer(added) == {
        "apiKeyRequired": False, "authorizationType": "NONE", "httpMethod": "ANY",
        "requestModels": {"application/json": "Empty"},
        "requestParameters": {"method.request.querystring.optional": True}}
    replaced = update(patchOperations=[
        {"op": "replace", "path": "/operationName", "value": "ReplacedOperationName"},
        {"op": "replace", "path": "/apiKeyRequired", "value": "true"},
        {"op": "replace", "path": "/authorizationType", "value": "AWS_IAM"},
        {"op": "replace", "path": "/requestParameters/method.request.querystring.optional", "value": "false"}])
    assert _method_answer(replaced) == {
        "apiKeyRequired": True, "authorizationType": "AWS_IAM", "httpMethod": "ANY",
        "operationName": "ReplacedOperationName", "requestModels": {"application/json": "Empty"},
        "requestParameters": {"method.request.querystring.optional": False}}
    authorizer = apigateway.create_authorizer(
        restApiId=api, name="authorizer-test", type="TOKEN",
        authorizerUri=f"arn:aws:apigateway:{REGION}:lambda:path/2015-03-31/functions/arn:aws:lambda:{REGION}:"
                      f"{ACCOUNT}:function:myApiAuthorizer/invocations",
        identitySource="method.request.header.Authorization")["id"]
    custom = update(patchOperations=[{"op": "replace", "path": "/authorizerId", "value": authorizer},
                                     {"op": "replace", "path": "/authorizationType", "value": "CUSTOM"}])
    assert _method_answer(custom) == {**_method_answer(replaced), "authorizationType": "CUSTOM",
                                      "authorizerId": authorizer}
    removed = update(patchOperations=[
        {"op": "remove", "path": "/requestParameters/method.request.querystring.optional", "value": "true"},
        {"op": "remove", "path": "/requestModels/application~1json", "value": "Empty"}])
    assert _method_answer(removed) == {
        "apiKeyRequired": True, "authorizationType": "CUSTOM", "authorizerId": authorizer, "httpMethod": "ANY",
        "operationName": "ReplacedOperationName"}
    assert _method_answer(apigateway.get_method(restApiId=api, resourceId=root, httpMethod="ANY")) == \
        _method_answer(removed)


def test_update_method_refusals_as_aws_recorded(apigateway: Any) -> None:
    """UpdateMethod's refusals, and the values it takes without refusing, as AWS answered them (LocalStack's
    AWS-validated TestApiGatewayApiMethod::test_update_method_validation, localstack/localstack@8b9a79f). A
    refused patch changes nothing, not even its operations before the refused one."""
    api = apigateway.create_rest_api(name="update-method-validation")["id"]
    root = apigateway.get_resources(restApiId=api)["items"][0]["id"]
    missing = "NotFoundException", "Invalid Resource identifier specified", 404
    assert error_of(apigateway.update_method, restApiId="fake-api", resourceId=root, httpMethod="ANY",
                    patchOperations=[]) == missing
    assert error_of(apigateway.update_method, restApiId=api, resourceId="fake-resource-id", httpMethod="ANY",
                    patchOperations=[]) == missing
    assert error_of(apigateway.update_method, restApiId=api, resourceId=root, httpMethod="GET", patchOperations=[
        {"op": "replace", "path": "/operationName", "value": "methodDoesNotExist"}]) == (
        "NotFoundException", "Invalid Method identifier specified", 404)
    apigateway.put_method(restApiId=api, resourceId=root, httpMethod="ANY", authorizationType="NONE",
                          apiKeyRequired=True)
    update = functools.partial(apigateway.update_method, restApiId=api, resourceId=root, httpMethod="ANY")
    only_replace = "BadRequestException", "Invalid patch operation specified. Must be one of: [replace]", 400
    assert error_of(update, patchOperations=[{"op": "add", "path": "/operationName", "value": "x"}]) == only_replace
    assert error_of(update, patchOperations=[{"op": "add", "path": "/requestValidatorId", "value": "x"}]) == \
        only_replace
    for path in ("/httpMethod", "/requestParameters", "/requestModels/application/json"):
        op = "replace" if path == "/requestParameters" else "add"
        assert error_of(update, patchOperations=[{"op": op, "path": path, "value": "x"}]) == (
            "BadRequestException", f"Invalid patch path {path}", 400), path
    assert error_of(update, patchOperations=[
        {"op": "replace", "path": "/operationName", "value": "never"},
        {"op": "replace", "path": "/requestValidatorId", "value": "fake-id"}]) == (
        "BadRequestException", "Invalid Request Validator identifier specified", 400)
    assert "operationName" not in apigateway.get_method(restApiId=api, resourceId=root, httpMethod="ANY")
    assert _method_answer(update(patchOperations=[
        {"op": "replace", "path": "/apiKeyRequired", "value": "whatever"}])) == {
        "apiKeyRequired": False, "authorizationType": "NONE", "httpMethod": "ANY"}
    invalid_authorizer = ("BadRequestException", "Invalid authorizer ID specified. Setting the authorization type to "
                          "CUSTOM or COGNITO_USER_POOLS requires a valid authorizer.", 400)
    assert error_of(update, patchOperations=[
        {"op": "replace", "path": "/authorizationType", "value": "CUSTOM"}]) == invalid_authorizer
    assert _method_answer(update(patchOperations=[
        {"op": "replace", "path": "/authorizerId", "value": "abc123"}])) == {
        "apiKeyRequired": False, "authorizationType": "NONE", "httpMethod": "ANY"}
    assert error_of(update, patchOperations=[
        {"op": "replace", "path": "/authorizationType", "value": "CUSTOM"},
        {"op": "replace", "path": "/authorizerId", "value": "abc123"}]) == invalid_authorizer


def test_update_integration_maps_a_parameter_the_method_declares_and_refuses_one_it_does_not(
        apigateway: Any) -> None:
    """UpdateIntegration adds, replaces and removes requestParameters and requestTemplates entries (AWS-validated
    test_apigateway_sqs adds integration.request.header.Accept this way, localstack/localstack@8b9a79f), checked
    as PutIntegration checks them; a refused patch changes nothing."""
    api = apigateway.create_rest_api(name="update-integration")["id"]
    root = apigateway.get_resources(restApiId=api)["items"][0]["id"]
    where = {"restApiId": api, "resourceId": root, "httpMethod": "GET"}
    apigateway.put_method(**where, authorizationType="NONE")
    apigateway.put_integration(**where, type="HTTP", integrationHttpMethod="GET", uri="http://example.com/")
    header = "/requestParameters/integration.request.header.X-Who"
    assert error_of(apigateway.update_integration, **where, patchOperations=[
        {"op": "replace", "path": "/timeoutInMillis", "value": "1000"},
        {"op": "add", "path": header, "value": "method.request.header.who"}]) == (
        "BadRequestException", MAPPING_REFUSAL.format(
            "Invalid mapping expression parameter specified: method.request.header.who"), 400)
    unchanged = apigateway.get_integration(**where)
    assert unchanged["timeoutInMillis"] == 29000 and "requestParameters" not in unchanged
    apigateway.update_method(**where, patchOperations=[
        {"op": "add", "path": "/requestParameters/method.request.header.who", "value": "false"}])
    updated = apigateway.update_integration(**where, patchOperations=[
        {"op": "add", "path": header, "value": "method.request.header.who"},
        {"op": "add", "path": "/requestParameters/integration.request.header.Accept", "value": "'application/xml'"},
        {"op": "add", "path": "/requestTemplates/application~1json", "value": "{}"}])
    assert updated["requestParameters"] == {"integration.request.header.X-Who": "method.request.header.who",
                                            "integration.request.header.Accept": "'application/xml'"}
    assert updated["requestTemplates"] == {"application/json": "{}"}
    removed = apigateway.update_integration(**where, patchOperations=[
        {"op": "remove", "path": header}, {"op": "remove", "path": "/requestTemplates/application~1json"}])
    assert removed["requestParameters"] == {"integration.request.header.Accept": "'application/xml'"}
    assert "requestTemplates" not in removed or not removed["requestTemplates"]


def test_update_method_response_as_aws_recorded(apigateway: Any) -> None:
    """UpdateMethodResponse answers what AWS answered (LocalStack's AWS-validated test_update_method_response,
    ::test_update_method_wrong_param_names, ::test_update_method_lack_response_parameters_and_models and
    ::test_update_method_response_negative_tests, localstack/localstack@8b9a79f, recorded 30-06 and 01-07-2025)."""
    api = apigateway.create_rest_api(name="update-method-response")["id"]
    root = apigateway.get_resources(restApiId=api)["items"][0]["id"]
    where = {"restApiId": api, "resourceId": root, "httpMethod": "GET"}
    apigateway.put_method(**where, authorizationType="NONE")
    apigateway.put_integration(**where, type="MOCK", requestTemplates={"application/json": '{"statusCode": 200}'})
    apigateway.put_method_response(**where, statusCode="200",
                                   responseParameters={"method.response.header.my-header": False},
                                   responseModels={"application/json": "Empty"})
    update = functools.partial(apigateway.update_method_response, **where, statusCode="200")
    parameter, model = "/responseParameters/method.response.header.my-header", "/responseModels/application~1json"
    no_parameter = "NotFoundException", "Invalid parameter name specified", 404
    no_model = "NotFoundException", "Content-Type specified was not found", 404
    assert error_of(update, patchOperations=[{"op": "replace", "path": "/responseParameters/wrong",
                                              "value": "true"}]) == no_parameter
    assert error_of(update, patchOperations=[{"op": "remove", "path": "/responseParameters/wrong"}]) == no_parameter
    assert error_of(update, patchOperations=[{"op": "replace", "path": "/responseModels/wrong",
                                              "value": "Empty"}]) == no_model
    assert error_of(update, patchOperations=[{"op": "remove", "path": "/responseModels/wrong"}]) == no_model
    removed = update(patchOperations=[{"op": "remove", "path": parameter, "value": "true"},
                                      {"op": "remove", "path": model, "value": "Empty"}])
    assert _method_answer(removed) == {"statusCode": "200"}
    assert error_of(update, patchOperations=[{"op": "remove", "path": parameter}]) == no_parameter
    assert error_of(update, patchOperations=[{"op": "remove", "path": model}]) == no_model
    assert error_of(update, patchOperations=[{"op": "remove", "path": "/wrong/method.response.header.my-header"}]) == (
        "BadRequestException", "Invalid patch path /wrong/method.response.header.my-header", 400)
    added = update(patchOperations=[{"op": "add", "path": parameter, "value": "true"},
                                    {"op": "add", "path": model, "value": "Empty"}])
    assert _method_answer(added) == {"responseModels": {"application/json": "Empty"},
                                     "responseParameters": {"method.response.header.my-header": True},
                                     "statusCode": "200"}
    assert error_of(update, patchOperations=[{"op": "replace", "path": parameter, "value": "false"},
                                             {"op": "remove", "path": "/responseModels/wrong"}]) == no_model
    assert _method_answer(apigateway.get_method_response(**where, statusCode="200")) == _method_answer(added)
    assert error_of(apigateway.update_method_response, **where, statusCode="201", patchOperations=[]) == (
        "NotFoundException", "Invalid Response status code specified", 404)
    assert error_of(apigateway.update_method_response, restApiId=api, resourceId="wrong", httpMethod="GET",
                    statusCode="200", patchOperations=[]) == (
        "NotFoundException", "Invalid Resource identifier specified", 404)
    assert error_of(apigateway.update_method_response, restApiId=api, resourceId=root, httpMethod="POST",
                    statusCode="200", patchOperations=[]) == (
        "NotFoundException", "Invalid Method identifier specified", 404)


def test_an_import_declares_the_parameters_its_operations_list_and_an_export_lists_them(apigateway: Any) -> None:
    """OpenAPI `parameters` (the path item's and the operation's) become the method's request parameters, as
    API Gateway's import makes them, so PutIntegration may map from them; the export lists them again."""
    document = {"openapi": "3.0.1", "info": {"title": "declared"}, "paths": {"/items/{id}": {
        "parameters": [{"name": "id", "in": "path", "required": True}],
        "get": {"parameters": [{"name": "q", "in": "query"}, {"name": "X-Who", "in": "header", "required": True},
                               {"name": "session", "in": "cookie"}],
                "responses": {"200": {"description": "ok"}}}}}}
    api = apigateway.import_rest_api(body=json.dumps(document).encode())["id"]
    resource = next(item["id"] for item in apigateway.get_resources(restApiId=api)["items"]
                    if item["path"] == "/items/{id}")
    declared = {"method.request.path.id": True, "method.request.querystring.q": False,
                "method.request.header.X-Who": True}
    assert apigateway.get_method(restApiId=api, resourceId=resource, httpMethod="GET")["requestParameters"] == declared
    mapping = {"integration.request.path.id": "method.request.path.id",
               "integration.request.querystring.q": "method.request.querystring.q",
               "integration.request.header.who": "method.request.header.X-Who"}
    apigateway.put_integration(restApiId=api, resourceId=resource, httpMethod="GET", type="HTTP",
                               integrationHttpMethod="GET", uri="http://example.com/{id}", requestParameters=mapping)
    apigateway.create_deployment(restApiId=api, stageName="v1")
    exported = json.loads(apigateway.get_export(restApiId=api, stageName="v1", exportType="oas30")["body"].read())
    listed = exported["paths"]["/items/{id}"]["get"]["parameters"]
    assert [(item["name"], item["in"], item["required"]) for item in listed] == [
        ("id", "path", True), ("q", "query", False), ("X-Who", "header", True)]


def test_an_import_mapping_a_parameter_its_operation_does_not_declare_fails_as_aws_answered(apigateway: Any) -> None:
    """An integration reading method.request.header.Authorization that the operation does not list fails the whole
    import (ImportRestApi and PutRestApi), in the words AWS answered it (quoted in Testlio/lambda-tools issue 56),
    and nothing is created or changed; once the operation declares the header, the same document imports."""
    def document(parameters: list[dict[str, Any]]) -> bytes:
        return json.dumps({"swagger": "2.0", "info": {"title": "undeclared"}, "paths": {"/": {"get": {
            "parameters": parameters, "responses": {"200": {"description": "ok"}},
            "x-amazon-apigateway-integration": {
                "type": "http", "httpMethod": "GET", "uri": "http://example.com/",
                "requestParameters": {
                    "integration.request.header.Authorization": "method.request.header.Authorization"},
                "responses": {"default": {"statusCode": "200"}}}}}}}).encode()

    before = {api["id"] for api in apigateway.get_rest_apis()["items"]}
    expected = ("BadRequestException", "Errors found during import:\n\tUnable to put integration on 'GET' for resource "
                "at path '/': Invalid mapping expression specified: Validation Result: warnings : [], errors : "
                "[Invalid mapping expression parameter specified: method.request.header.Authorization]", 400)
    assert error_of(apigateway.import_rest_api, body=document([])) == expected
    assert {api["id"] for api in apigateway.get_rest_apis()["items"]} == before
    declared = document([{"name": "Authorization", "in": "header", "required": False}])
    api = apigateway.import_rest_api(body=declared)["id"]
    assert error_of(apigateway.put_rest_api, restApiId=api, mode="overwrite", body=document([])) == expected
    root = next(item["id"] for item in apigateway.get_resources(restApiId=api)["items"] if item["path"] == "/")
    assert apigateway.get_integration(restApiId=api, resourceId=root, httpMethod="GET")["requestParameters"] == {
        "integration.request.header.Authorization": "method.request.header.Authorization"}


def test_update_resource_moves_a_subtree_and_refuses_as_aws_recorded(apigateway: Any) -> None:
    """UpdateResource, step by step as LocalStack's AWS-validated TestApiGatewayApiResource::
    test_update_resource_behaviour and test_update_resource_on_root recorded AWS's answers (localstack/localstack
    @8b9a79f, tests/aws/services/apigateway/test_apigateway_api.snapshot.json); moving a resource moves the paths
    under it, and a refused patch changes nothing."""
    api = apigateway.create_rest_api(name="update-resource")["id"]
    root = apigateway.get_resources(restApiId=api)["items"][0]["id"]
    pets = apigateway.create_resource(restApiId=api, parentId=root, pathPart="pets")["id"]

    def refused(resource: str, *operations: dict[str, str]) -> tuple[str, str, int]:
        return error_of(apigateway.update_resource, restApiId=api, resourceId=resource,
                        patchOperations=list(operations))

    replace_part = {"op": "replace", "path": "/pathPart", "value": "dogs"}
    assert refused("fake-resource", replace_part) == ("NotFoundException", "Invalid Resource identifier specified", 404)
    assert refused(pets, {"op": "replace", "path": "/invalid", "value": "dogs"}) == (
        "BadRequestException", "Invalid patch path  '/invalid' specified for op 'replace'. Must be one of: "
        "[/parentId, /pathPart]", 400)
    assert refused(pets, {"op": "replace", "path": "/parentId", "value": "fake-parent-id"}) == (
        "NotFoundException", "Invalid Resource identifier specified", 404)
    subpets = apigateway.create_resource(restApiId=api, parentId=pets, pathPart="subpets")["id"]
    child = apigateway.create_resource(restApiId=api, parentId=subpets, pathPart="pets")
    assert child["path"] == "/pets/subpets/pets"
    to_root = {"op": "replace", "path": "/parentId", "value": root}
    assert refused(child["id"], to_root) == (
        "ConflictException", "Another resource with the same parent already has this name: pets", 409)
    assert refused(pets, {"op": "replace", "path": "/parentId", "value": subpets}) == (
        "BadRequestException", "Resources cannot be cyclical.", 400)
    assert refused(pets, replace_part, {"op": "replace", "path": "/parentId", "value": subpets})[2] == 400
    assert apigateway.get_resource(restApiId=api, resourceId=pets)["path"] == "/pets"  # all or nothing

    moved = apigateway.update_resource(restApiId=api, resourceId=subpets, patchOperations=[to_root])
    assert {key: moved[key] for key in ("id", "parentId", "path", "pathPart")} == {
        "id": subpets, "parentId": root, "path": "/subpets", "pathPart": "subpets"}
    assert apigateway.get_resource(restApiId=api, resourceId=child["id"])["path"] == "/subpets/pets"
    assert refused(subpets, {"op": "replace", "path": "/pathPart", "value": "pets"}) == (
        "ConflictException", "Another resource with the same parent already has this name: pets", 409)
    apigateway.delete_resource(restApiId=api, resourceId=pets)
    assert sorted(item["path"] for item in apigateway.get_resources(restApiId=api)["items"]) == [
        "/", "/subpets", "/subpets/pets"]
    for op in ("remove", "add"):
        assert refused(subpets, {"op": op, "path": "/pathPart", "value": "added-pets"}) == (
            "BadRequestException", f"Invalid patch path  '/pathPart' specified for op '{op}'. Please choose "
            "supported operations", 400)
    assert refused(root, replace_part) == ("BadRequestException", "Root resource cannot update its pathPart.", 400)
    assert refused(root, to_root) == ("BadRequestException", "Root resource cannot update its parentId.", 400)
    renamed = apigateway.update_resource(restApiId=api, resourceId=subpets, patchOperations=[
        {"op": "replace", "path": "/pathPart", "value": "{kind}"}])
    assert renamed["path"] == "/{kind}"
    assert apigateway.get_resource(restApiId=api, resourceId=child["id"])["path"] == "/{kind}/pets"


def test_promotion_with_no_canary(apigateway: Any, deployed: tuple[str, str]) -> None:
    api, _ = deployed
    assert error_of(apigateway.update_stage, restApiId=api, stageName="live", patchOperations=[
        {"op": "copy", "from": "/canarySettings/deploymentId", "path": "/deploymentId"}]) == (
        "BadRequestException", "Promotion not available. Canary does not exist.", 400)


def test_canary_deployments_need_an_existing_stage_and_a_stage_name(apigateway: Any, deployed: tuple[str, str]) -> None:
    api, _ = deployed
    assert error_of(apigateway.create_deployment, restApiId=api, stageName="non-existing",
                    canarySettings={"percentTraffic": 10}) == (
        "BadRequestException", "Invalid deployment content specified.Stage non-existing must already be created "
        "before making a canary release deployment", 400)
    assert error_of(apigateway.create_deployment, restApiId=api, canarySettings={"percentTraffic": 10}) == (
        "BadRequestException", "Invalid deployment content specified.Non null and non empty stageName must be "
        "provided for canary deployment. Provided value is null", 400)


def test_a_non_canary_deployment_to_a_canary_stage_is_refused(apigateway: Any, deployed: tuple[str, str]) -> None:
    api, _ = deployed
    apigateway.create_stage(restApiId=api, stageName="beta", deploymentId=deployed[1])
    apigateway.create_deployment(restApiId=api, stageName="beta", canarySettings={"percentTraffic": 5})
    assert error_of(apigateway.create_deployment, restApiId=api, stageName="beta") == (
        "BadRequestException", "Invalid deployment content specified.Non canary deployment not supported on stage "
        "beta because Canary is enabled. Provide CanarySettings in deploymentInput.", 400)
    assert apigateway.get_stage(restApiId=api, stageName="beta")["deploymentId"] == deployed[1]


def test_stage_variable_names_and_values_aws_refuses(apigateway: Any, deployed: tuple[str, str]) -> None:
    api, _ = deployed
    assert error_of(apigateway.update_stage, restApiId=api, stageName="live", patchOperations=[
        {"op": "replace", "path": "/variables/owner:application-name", "value": "x"}]) == (
        "BadRequestException", "Invalid stage variable name: owner:application-name.  Please use names with only "
        "word characters.", 400)
    _code, message, _ = error_of(apigateway.update_stage, restApiId=api, stageName="live", patchOperations=[
        {"op": "replace", "path": "/variables/alias", "value": "has space"}])
    assert message == ("Invalid stage variable value: has space.  Please use values with alphanumeric characters "
                       "and the symbols ' ', -', '.', '_', ':', '/', '?', '&', '=', and ','.")


def test_remove_of_the_whole_overrides_map(apigateway: Any, deployed: tuple[str, str]) -> None:
    api, _ = deployed
    apigateway.update_stage(restApiId=api, stageName="live", patchOperations=[
        {"op": "replace", "path": "/canarySettings/percentTraffic", "value": "1"}])
    assert error_of(apigateway.update_stage, restApiId=api, stageName="live", patchOperations=[
        {"op": "remove", "path": "/canarySettings/stageVariableOverrides"}]) == (
        "BadRequestException", "Cannot remove method setting canarySettings/stageVariableOverrides because there is "
        "no method setting for this method ", 400)


def test_an_imported_gateway_response_status_that_is_not_http_is_refused(apigateway: Any) -> None:
    """A gateway response whose statusCode is no HTTP status would break every error answer of the API: the
    import is a 400 naming it, and nothing is created."""
    before = {api["id"] for api in apigateway.get_rest_apis()["items"]}
    document = {"openapi": "3.0.1", "info": {"title": "bad-status"}, "paths": {},
                "x-amazon-apigateway-gateway-responses": {"DEFAULT_4XX": {"statusCode": "abc"}}}
    code, message, status = error_of(apigateway.import_rest_api, body=json.dumps(document).encode())
    assert (code, status) == ("BadRequestException", 400)
    assert "DEFAULT_4XX" in message and "'abc'" in message
    assert {api["id"] for api in apigateway.get_rest_apis()["items"]} == before


def test_openapi_export_then_import_serves_the_same_route(emulator: StackThread, apigateway: Any,
                                                         deployed: tuple[str, str]) -> None:
    api, _ = deployed
    body = apigateway.get_export(restApiId=api, stageName="live", exportType="oas30",
                                 parameters={"extensions": "integrations"})["body"].read()
    document = json.loads(body)
    assert document["openapi"].startswith("3.") and "x-amazon-apigateway-integration" in document["paths"]["/"]["get"]
    imported = apigateway.import_rest_api(body=body)["id"]
    apigateway.create_deployment(restApiId=imported, stageName="copy")
    request = urllib.request.Request(f"{emulator.url}/copy/", headers={"Host": f"{imported}.execute-api.localhost"})
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.status == 200
