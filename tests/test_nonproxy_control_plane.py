"""Non-proxy integrations and Lambda authorizers built through the control-plane API with real boto3, then served:
CreateAuthorizer/Get/Update/Delete, PutMethod CUSTOM with authorizerId, PutIntegration type AWS with
requestTemplates and passthroughBehavior, PutMethodResponse, PutIntegrationResponse with selectionPattern."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from support import call

from emulator.stack import StackOptions
from emulator.testing import StackThread

HANDLERS = Path(__file__).resolve().parent / "fixtures" / "nonproxy" / "handlers"
REGION, ACCOUNT = "us-east-1", "123456789012"


@pytest.fixture(scope="module")
def emulator() -> Iterator[StackThread]:
    """An empty account with the AWS API on the data plane's port."""
    with StackThread(None, StackOptions(port=0, seed=7, backend="process", access_log=False,
                                        function_logs=False)) as running:
        yield running


def client(emulator: StackThread, service: str) -> Any:
    return boto3.client(service, endpoint_url=emulator.url, region_name=REGION, aws_access_key_id="x",
                        aws_secret_access_key="y")


def code_zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name in ("pets.js", "authorizer.js"):
            archive.writestr(name, (HANDLERS / name).read_text())
    return buffer.getvalue()


def lambda_uri(name: str) -> str:
    return (f"arn:aws:apigateway:{REGION}:lambda:path/2015-03-31/functions/arn:aws:lambda:{REGION}:{ACCOUNT}:"
            f"function:{name}/invocations")


def test_built_through_the_api(emulator: StackThread) -> None:
    """The whole flow with boto3; the served answers match the config-file build (tests/test_nonproxy_integration)."""
    lambdas, apigw = client(emulator, "lambda"), client(emulator, "apigateway")
    role = f"arn:aws:iam::{ACCOUNT}:role/lambda"
    lambdas.create_function(FunctionName="cp-pets", Runtime="nodejs18.x", Role=role, Handler="pets.handler",
                            Code={"ZipFile": code_zip()})
    lambdas.create_function(FunctionName="cp-authz", Runtime="nodejs22.x", Role=role, Handler="authorizer.handler",
                            Code={"ZipFile": code_zip()}, Environment={"Variables": {"WHO": "cp"}})
    for name in ("cp-pets", "cp-authz"):
        lambdas.get_waiter("function_active_v2").wait(FunctionName=name)
    api = apigw.create_rest_api(name="nonproxy-cp")["id"]
    root = apigw.get_resources(restApiId=api)["items"][0]["id"]
    pets = apigw.create_resource(restApiId=api, parentId=root, pathPart="pets")["id"]
    pet = apigw.create_resource(restApiId=api, parentId=pets, pathPart="{id}")["id"]

    authorizer = apigw.create_authorizer(restApiId=api, name="token", type="TOKEN",
                                         authorizerUri=lambda_uri("cp-authz"),
                                         identitySource="method.request.header.Authorization",
                                         authorizerResultTtlInSeconds=0)
    assert apigw.get_authorizer(restApiId=api, authorizerId=authorizer["id"])["name"] == "token"
    assert [item["id"] for item in apigw.get_authorizers(restApiId=api)["items"]] == [authorizer["id"]]

    with pytest.raises(ClientError) as refused:
        apigw.put_method(restApiId=api, resourceId=pet, httpMethod="POST", authorizationType="CUSTOM",
                         authorizerId="nope00")
    assert refused.value.response["Error"]["Code"] == "BadRequestException"
    method = apigw.put_method(restApiId=api, resourceId=pet, httpMethod="POST", authorizationType="CUSTOM",
                              authorizerId=authorizer["id"])
    assert method["authorizerId"] == authorizer["id"]
    integration = apigw.put_integration(
        restApiId=api, resourceId=pet, httpMethod="POST", type="AWS", integrationHttpMethod="POST",
        uri=lambda_uri("cp-pets"), passthroughBehavior="WHEN_NO_TEMPLATES",
        requestTemplates={"application/json": '{"id": "$input.params(\'id\')", "who": "$context.authorizer.fn"}'})
    assert integration["passthroughBehavior"] == "WHEN_NO_TEMPLATES"
    for status in ("200", "404"):
        apigw.put_method_response(restApiId=api, resourceId=pet, httpMethod="POST", statusCode=status)
    apigw.put_integration_response(restApiId=api, resourceId=pet, httpMethod="POST", statusCode="200",
                                   responseTemplates={"application/json": "$input.json('$.got')"})
    response = apigw.put_integration_response(
        restApiId=api, resourceId=pet, httpMethod="POST", statusCode="404", selectionPattern="Not found.*",
        responseTemplates={"application/json": '{"error": "$input.path(\'$.errorMessage\')"}'})
    assert response["selectionPattern"] == "Not found.*"
    assert apigw.get_integration_response(restApiId=api, resourceId=pet, httpMethod="POST",
                                          statusCode="404")["selectionPattern"] == "Not found.*"
    with pytest.raises(ClientError) as conflict:
        apigw.delete_authorizer(restApiId=api, authorizerId=authorizer["id"])
    assert conflict.value.response["Error"]["Code"] == "ConflictException"

    # The authorizer may not be invoked until a permission covers /authorizers/*, as on AWS.
    lambdas.add_permission(FunctionName="cp-pets", StatementId="api", Action="lambda:InvokeFunction",
                           Principal="apigateway.amazonaws.com",
                           SourceArn=f"arn:aws:execute-api:{REGION}:{ACCOUNT}:{api}/*/POST/pets/*")
    apigw.create_deployment(restApiId=api, stageName="live")
    host = [("Host", f"{api}.execute-api.localhost"), ("Authorization", "allowall"),
            ("Content-Type", "application/json")]
    denied = call(emulator.url, "POST", "/live/pets/7", host, b"{}")
    assert (denied.status, denied.body) == (500, b'{"message": null}')
    lambdas.add_permission(FunctionName="cp-authz", StatementId="authorizer", Action="lambda:InvokeFunction",
                           Principal="apigateway.amazonaws.com",
                           SourceArn=f"arn:aws:execute-api:{REGION}:{ACCOUNT}:{api}/authorizers/*")

    ok = call(emulator.url, "POST", "/live/pets/7", host, b"{}")
    assert (ok.status, ok.json()) == (200, {"id": "7", "who": "cp"})
    missing = call(emulator.url, "POST", "/live/pets/42", host, b"{}")
    assert (missing.status, missing.json()) == (404, {"error": "Not found: 42"})
    unsupported = call(emulator.url, "POST", "/live/pets/7", [*host[:2], ("Content-Type", "text/plain")], b"x")
    assert unsupported.status == 415

    updated = apigw.update_authorizer(restApiId=api, authorizerId=authorizer["id"], patchOperations=[
        {"op": "replace", "path": "/authorizerResultTtlInSeconds", "value": "60"}])
    assert updated["authorizerResultTtlInSeconds"] == 60
    apigw.update_integration(restApiId=api, resourceId=pet, httpMethod="POST", patchOperations=[
        {"op": "replace", "path": "/passthroughBehavior", "value": "WHEN_NO_MATCH"}])
    apigw.delete_method(restApiId=api, resourceId=pet, httpMethod="POST")
    apigw.delete_authorizer(restApiId=api, authorizerId=authorizer["id"])
    assert apigw.get_authorizers(restApiId=api)["items"] == []
