"""Models and request validators through the AWS API (boto3), answering what AWS answered.

Every expected answer is AWS's, recorded in LocalStack's AWS-validated tests (localstack/localstack@8b9a79f,
tests/aws/services/apigateway/test_apigateway_api.py and its .snapshot.json); each test names the one it follows.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from support import Reply, call

from emulator.apigateway.loader import state_from_config
from emulator.control_plane import persistence
from emulator.errors import UserError
from emulator.formats.load import load_config
from emulator.stack import StackOptions
from emulator.testing import StackThread

REGION, ACCOUNT = "us-east-1", "123456789012"
EMPTY_SCHEMA = "Model schema must have at least 1 property or array items defined"


@pytest.fixture(scope="module")
def emulator() -> Iterator[StackThread]:
    with StackThread(None, StackOptions(port=0, seed=11, backend="process", access_log=False,
                                        function_logs=False)) as running:
        yield running


@pytest.fixture(scope="module")
def apigateway(emulator: StackThread) -> Any:
    return boto3.client("apigateway", endpoint_url=emulator.url, region_name=REGION, aws_access_key_id="x",
                        aws_secret_access_key="y")


def error_of(call: Any, **kwargs: Any) -> tuple[str, str, int]:
    with pytest.raises(ClientError) as caught:
        call(**kwargs)
    error = caught.value.response
    return error["Error"]["Code"], error["Error"]["Message"], error["ResponseMetadata"]["HTTPStatusCode"]


def answer(response: dict[str, Any]) -> dict[str, Any]:
    """A response without its metadata, with a model's schema text parsed (as the recordings show it)."""
    out = {key: value for key, value in response.items() if key != "ResponseMetadata"}
    if isinstance(out.get("schema"), str):
        out["schema"] = json.loads(out["schema"])
    return out


def new_api(apigateway: Any, name: str) -> tuple[str, str]:
    created = apigateway.create_rest_api(name=name)
    return created["id"], created["rootResourceId"]


# ---- models -------------------------------------------------------------------------------------------------
CALC_SCHEMA = ('{\n\t"title": "Calc output",\n\t"type": "object",\n\t"properties": {\n\t\t"a": {\n\t\t\t"type": '
               '"number"\n\t\t},\n\t\t"b": {\n\t\t\t"type": "number"\n\t\t},\n\t\t"op": {\n\t\t\t"description": '
               '"operation of +, -, * or /",\n\t\t\t"type": "string"\n\t\t},\n\t\t"c": {\n\t\t    "type": "number"'
               '\n\t\t}\n\t},\n\t"required": ["a", "b", "op"]\n}\n')


def test_model_lifecycle_with_the_default_models(apigateway: Any) -> None:
    """TestApiGatewayApiModels::test_model_lifecycle (recorded 15-04-2024): CreateRestApi makes `Empty` and
    `Error`; a model is created (201), listed, read and deleted (202)."""
    api, _ = new_api(apigateway, "model-lifecycle")
    created = apigateway.create_model(name="CalcOutput", restApiId=api, contentType="application/json",
                                      description="Calc output model", schema=CALC_SCHEMA)
    assert created["ResponseMetadata"]["HTTPStatusCode"] == 201
    expected = {"contentType": "application/json", "description": "Calc output model", "id": created["id"],
                "name": "CalcOutput", "schema": json.loads(CALC_SCHEMA)}
    assert answer(created) == expected
    assert created["schema"] == CALC_SCHEMA  # kept as the text it was given
    models = sorted(apigateway.get_models(restApiId=api)["items"], key=lambda model: model["name"])
    assert [answer(model) for model in models] == [expected, {
        "contentType": "application/json", "description": "This is a default empty schema model",
        "id": models[1]["id"], "name": "Empty",
        "schema": {"$schema": "http://json-schema.org/draft-04/schema#", "title": "Empty Schema", "type": "object"}},
        {"contentType": "application/json", "description": "This is a default error schema model",
         "id": models[2]["id"], "name": "Error",
         "schema": {"$schema": "http://json-schema.org/draft-04/schema#", "title": "Error Schema", "type": "object",
                    "properties": {"message": {"type": "string"}}}}]
    assert answer(apigateway.get_model(restApiId=api, modelName="CalcOutput")) == expected
    deleted = apigateway.delete_model(restApiId=api, modelName="CalcOutput")
    assert deleted["ResponseMetadata"]["HTTPStatusCode"] == 202
    assert [model["name"] for model in apigateway.get_models(restApiId=api)["items"]] == ["Empty", "Error"]


def test_model_validation(apigateway: Any) -> None:
    """TestApiGatewayApiModels::test_model_validation (recorded 15-04-2024)."""
    api, _ = new_api(apigateway, "model-validation")
    schema = json.dumps({"title": "MySchema", "type": "object"})
    wrong_api = "NotFoundException", f"Invalid API identifier specified {ACCOUNT}:abcde0", 404
    assert error_of(apigateway.create_model, name="MySchema", restApiId="abcde0", contentType="application/json",
                    description="Test model", schema=schema) == wrong_api
    assert error_of(apigateway.get_models, restApiId="abcde0") == wrong_api
    wrong_name = "NotFoundException", "Invalid model name specified: MySchema", 404
    assert error_of(apigateway.get_model, restApiId="abcde0", modelName="MySchema") == wrong_name
    assert error_of(apigateway.delete_model, restApiId="abcde0", modelName="MySchema") == wrong_name
    created = apigateway.create_model(name="MySchema", restApiId=api, contentType="application/json",
                                      description="", schema=schema)
    assert created["ResponseMetadata"]["HTTPStatusCode"] == 201
    create = functools.partial(apigateway.create_model, restApiId=api, contentType="application/json",
                               description="")
    assert error_of(create, name="MySchema", schema=schema) == (
        "ConflictException", "Model name already exists for this REST API", 409)
    assert error_of(create, name="", schema=schema) == ("BadRequestException", "Model name must be non-empty", 400)
    empty = "BadRequestException", EMPTY_SCHEMA, 400
    assert error_of(create, name="MyEmptySchema", schema="") == empty
    assert error_of(create, name="MyEmptySchema") == empty
    assert error_of(apigateway.create_model, restApiId=api, name="MyEmptySchemaXml", contentType="application/xml",
                    description="") == empty
    assert [model["name"] for model in apigateway.get_models(restApiId=api)["items"]] == ["Empty", "Error",
                                                                                          "MySchema"]


def test_update_model(apigateway: Any) -> None:
    """TestApiGatewayApiModels::test_update_model (recorded 15-04-2024); a refused patch changes nothing."""
    api, _ = new_api(apigateway, "update-model")
    updated_schema = json.dumps({"title": "Updated schema", "type": "object"})
    patch = [{"op": "replace", "path": "/schema", "value": updated_schema},
             {"op": "replace", "path": "/description", "value": ""}]
    assert error_of(apigateway.update_model, restApiId="abcde0", modelName="mySchema", patchOperations=patch) == (
        "NotFoundException", "Invalid model name specified: mySchema", 404)
    created = apigateway.create_model(name="MySchema", restApiId=api, contentType="application/json",
                                      description="first", schema=json.dumps({"title": "MySchema", "type": "object"}))
    updated = apigateway.update_model(restApiId=api, modelName="MySchema", patchOperations=patch)
    assert answer(updated) == {"contentType": "application/json", "id": created["id"], "name": "MySchema",
                               "schema": {"title": "Updated schema", "type": "object"}}
    update = functools.partial(apigateway.update_model, restApiId=api, modelName="MySchema")
    assert error_of(update, patchOperations=[{"op": "add", "path": "/wrong-path", "value": "not supported op"}]) == (
        "BadRequestException", "Invalid patch path  '/wrong-path' specified for op 'add'. Please choose supported "
        "operations", 400)
    assert error_of(update, patchOperations=[{"op": "replace", "path": "/name", "value": "invalid"}]) == (
        "BadRequestException", "Invalid patch path  '/name' specified for op 'replace'. Must be one of: "
        "[/description, /schema]", 400)
    assert error_of(update, patchOperations=[{"op": "replace", "path": "/description", "value": "never"},
                                             {"op": "replace", "path": "/schema", "value": ""}]) == (
        "BadRequestException", EMPTY_SCHEMA, 400)
    assert answer(apigateway.get_model(restApiId=api, modelName="MySchema")) == answer(updated)


def test_put_method_model(apigateway: Any) -> None:
    """TestApiGatewayApiMethod::test_put_method_model (recorded 15-04-2024): a model a method request uses cannot
    be deleted (409 naming `{resource path}/{method}`); a method names only existing models."""
    api, root = new_api(apigateway, "put-method-model")
    for name in ("MySchema", "MySchemaTwo"):
        apigateway.create_model(name=name, restApiId=api, contentType="application/json", description="",
                                schema=json.dumps({"title": name, "type": "object"}))
    put = apigateway.put_method(restApiId=api, resourceId=root, httpMethod="ANY", authorizationType="NONE",
                                requestModels={"application/json": "MySchema"})
    assert put["ResponseMetadata"]["HTTPStatusCode"] == 201
    assert answer(put) == {"apiKeyRequired": False, "authorizationType": "NONE", "httpMethod": "ANY",
                           "requestModels": {"application/json": "MySchema"}}

    def in_use(name: str, where: str) -> tuple[str, str, int]:
        return "ConflictException", f"Cannot delete model '{name}', is referenced in method request: {where}", 409

    assert error_of(apigateway.delete_model, restApiId=api, modelName="MySchema") == in_use("MySchema", "//ANY")
    updated = apigateway.update_method(restApiId=api, resourceId=root, httpMethod="ANY", patchOperations=[
        {"op": "replace", "path": "/requestModels/application~1json", "value": "MySchemaTwo"}])
    assert answer(updated) == {"apiKeyRequired": False, "authorizationType": "NONE", "httpMethod": "ANY",
                               "requestModels": {"application/json": "MySchemaTwo"}}
    assert apigateway.delete_model(restApiId=api, modelName="MySchema")["ResponseMetadata"]["HTTPStatusCode"] == 202
    assert error_of(apigateway.delete_model, restApiId=api, modelName="MySchemaTwo") == \
        in_use("MySchemaTwo", "//ANY")
    test = apigateway.create_resource(restApiId=api, parentId=root, pathPart="test")["id"]
    apigateway.put_method(restApiId=api, resourceId=test, httpMethod="ANY", authorizationType="NONE",
                          requestModels={"application/json": "MySchemaTwo"})
    assert error_of(apigateway.delete_model, restApiId=api, modelName="MySchemaTwo") == \
        in_use("MySchemaTwo", "/test/ANY")
    removed = apigateway.update_method(restApiId=api, resourceId=test, httpMethod="ANY", patchOperations=[
        {"op": "remove", "path": "/requestModels/application~1json", "value": "MySchemaTwo"}])
    assert answer(removed) == {"apiKeyRequired": False, "authorizationType": "NONE", "httpMethod": "ANY"}
    assert error_of(apigateway.delete_model, restApiId=api, modelName="MySchemaTwo") == \
        in_use("MySchemaTwo", "//ANY")
    assert apigateway.delete_method(restApiId=api, resourceId=root,
                                    httpMethod="ANY")["ResponseMetadata"]["HTTPStatusCode"] == 204
    apigateway.delete_model(restApiId=api, modelName="MySchemaTwo")
    # A model that does not exist: what AWS answers (LocalStack's provider, put_method / update_method).
    missing = "BadRequestException", "Invalid model identifier specified: MySchemaTwo", 400
    assert error_of(apigateway.put_method, restApiId=api, resourceId=root, httpMethod="GET",
                    authorizationType="NONE", requestModels={"application/json": "MySchemaTwo"}) == missing
    assert error_of(apigateway.update_method, restApiId=api, resourceId=test, httpMethod="ANY", patchOperations=[
        {"op": "add", "path": "/requestModels/application~1json", "value": "MySchemaTwo"}]) == missing
    assert "GET" not in apigateway.get_resource(restApiId=api, resourceId=root).get("resourceMethods", {})


# ---- request validators -------------------------------------------------------------------------------------
def test_validators_crud_no_api(apigateway: Any) -> None:
    """TestApiGatewayApiRequestValidator::test_validators_crud_no_api, test_create_request_validator_invalid_api_id
    and test_invalid_get_request_validators (recorded 15-04-2024): creating on a missing API is a 400, listing a
    404."""
    assert error_of(apigateway.create_request_validator, restApiId="test-fake-rest-id", name="test-validator",
                    validateRequestBody=True, validateRequestParameters=False) == (
        "BadRequestException", "Invalid REST API identifier specified", 400)
    assert error_of(apigateway.get_request_validators, restApiId="test-fake-rest-id") == (
        "NotFoundException", f"Invalid API identifier specified {ACCOUNT}:test-fake-rest-id", 404)
    assert error_of(apigateway.get_request_validators, restApiId="api_id") == (
        "NotFoundException", f"Invalid API identifier specified {ACCOUNT}:api_id", 404)


def test_request_validator_lifecycle(apigateway: Any) -> None:
    """TestApiGatewayApiRequestValidator::test_request_validator_lifecycle (recorded 02-07-2025): a flag replaced
    without a value is false."""
    api, _ = new_api(apigateway, "validator-lifecycle")
    created = apigateway.create_request_validator(restApiId=api, name="test-validator-1")
    assert created["ResponseMetadata"]["HTTPStatusCode"] == 201
    validator = {"id": created["id"], "name": "test-validator-1", "validateRequestBody": False,
                 "validateRequestParameters": False}
    assert answer(created) == validator
    ids = {"restApiId": api, "requestValidatorId": created["id"]}
    assert answer(apigateway.get_request_validator(**ids)) == validator
    assert [answer(item) for item in apigateway.get_request_validators(restApiId=api)["items"]] == [validator]
    assert answer(apigateway.update_request_validator(**ids, patchOperations=[
        {"op": "replace", "path": "/validateRequestBody", "value": "true"}])) == {
        **validator, "validateRequestBody": True}
    assert answer(apigateway.update_request_validator(**ids, patchOperations=[
        {"op": "replace", "path": "/validateRequestBody"}])) == validator
    assert answer(apigateway.get_request_validator(**ids)) == validator
    assert apigateway.delete_request_validator(**ids)["ResponseMetadata"]["HTTPStatusCode"] == 202
    assert error_of(apigateway.get_request_validator, **ids) == (
        "NotFoundException", "Invalid Request Validator identifier specified", 404)
    assert apigateway.get_request_validators(restApiId=api)["items"] == []


def test_invalid_get_and_delete_request_validator(apigateway: Any) -> None:
    """TestApiGatewayApiRequestValidator::test_invalid_get_request_validator and
    test_invalid_delete_request_validator (recorded 15-04-2024): a missing API is a missing validator."""
    api, _ = new_api(apigateway, "validator-invalid")
    validator = apigateway.create_request_validator(restApiId=api, name="test-validator")["id"]
    missing = "NotFoundException", "Invalid Request Validator identifier specified", 404
    for operation in (apigateway.get_request_validator, apigateway.delete_request_validator):
        assert error_of(operation, restApiId="api_id", requestValidatorId=validator) == missing
        assert error_of(operation, restApiId=api, requestValidatorId="validator_id") == missing
    assert apigateway.get_request_validator(restApiId=api, requestValidatorId=validator)["id"] == validator


def test_invalid_update_request_validator_operations(apigateway: Any) -> None:
    """TestApiGatewayApiRequestValidator::test_invalid_update_request_validator_operations (recorded
    02-07-2025); a refused patch changes nothing."""
    api, _ = new_api(apigateway, "validator-update")
    validator = apigateway.create_request_validator(restApiId=api, name="test-validator")["id"]
    update = functools.partial(apigateway.update_request_validator, restApiId=api, requestValidatorId=validator)
    for op in ("add", "remove"):
        assert error_of(update, patchOperations=[{"op": op, "path": "/validateRequestBody", "value": "true"}]) == (
            "BadRequestException", f"Invalid patch path  '/validateRequestBody' specified for op '{op}'. Please "
            "choose supported operations", 400)
    assert error_of(update, patchOperations=[{"op": "replace", "path": "/invalidPath", "value": "true"}]) == (
        "BadRequestException", "Invalid patch path  '/invalidPath' specified for op 'replace'. Must be one of: "
        "[/name, /validateRequestParameters, /validateRequestBody]", 400)
    assert error_of(update, patchOperations=[{"op": "replace", "path": "/validateRequestBody", "value": "true"},
                                             {"op": "replace", "path": "/name"}]) == (
        "BadRequestException", "Request Validator name cannot be blank", 400)
    assert answer(apigateway.get_request_validator(restApiId=api, requestValidatorId=validator)) == {
        "id": validator, "name": "test-validator", "validateRequestBody": False, "validateRequestParameters": False}
    assert error_of(apigateway.update_request_validator, restApiId=api, requestValidatorId="nope", patchOperations=[
        {"op": "replace", "path": "/name", "value": "x"}]) == (
        "NotFoundException", "Invalid Request Validator identifier specified", 404)


def test_a_method_names_an_existing_request_validator(apigateway: Any) -> None:
    """PutMethod and UpdateMethod take a requestValidatorId of the API's validators and refuse another with AWS's
    answer (TestApiGatewayApiMethod::test_update_method_validation, "wrong-req-validator-id", recorded
    15-04-2024); an empty value removes it (LocalStack's provider, update_method)."""
    api, root = new_api(apigateway, "method-validator")
    validator = apigateway.create_request_validator(restApiId=api, name="v", validateRequestParameters=True)["id"]
    invalid = "BadRequestException", "Invalid Request Validator identifier specified", 400
    assert error_of(apigateway.put_method, restApiId=api, resourceId=root, httpMethod="GET",
                    authorizationType="NONE", requestValidatorId="fake-id") == invalid
    put = apigateway.put_method(restApiId=api, resourceId=root, httpMethod="GET", authorizationType="NONE",
                                requestValidatorId=validator)
    assert answer(put) == {"apiKeyRequired": False, "authorizationType": "NONE", "httpMethod": "GET",
                           "requestValidatorId": validator}
    update = functools.partial(apigateway.update_method, restApiId=api, resourceId=root, httpMethod="GET")
    assert error_of(update, patchOperations=[
        {"op": "replace", "path": "/requestValidatorId", "value": "fake-id"}]) == invalid
    assert apigateway.get_method(restApiId=api, resourceId=root, httpMethod="GET")["requestValidatorId"] == validator
    assert "requestValidatorId" not in update(patchOperations=[
        {"op": "replace", "path": "/requestValidatorId", "value": ""}])
    assert update(patchOperations=[{"op": "replace", "path": "/requestValidatorId",
                                    "value": validator}])["requestValidatorId"] == validator


def test_models_and_validators_survive_a_restart(tmp_path: Path) -> None:
    """`serve --state-dir` keeps models, request validators and the methods naming them."""
    def start() -> StackThread:
        return StackThread(None, StackOptions(port=0, seed=1, backend="process", access_log=False,
                                              function_logs=False, state_dir=tmp_path))

    with start() as first:
        client = boto3.client("apigateway", endpoint_url=first.url, region_name=REGION, aws_access_key_id="x",
                              aws_secret_access_key="y")
        api, root = new_api(client, "kept")
        client.create_model(restApiId=api, name="Body", contentType="application/json",
                            schema='{"type": "object", "required": ["a"]}')
        validator = client.create_request_validator(restApiId=api, name="both", validateRequestBody=True,
                                                    validateRequestParameters=True)["id"]
        client.put_method(restApiId=api, resourceId=root, httpMethod="POST", authorizationType="NONE",
                          requestValidatorId=validator, requestModels={"application/json": "Body"})
    with start() as second:
        client = boto3.client("apigateway", endpoint_url=second.url, region_name=REGION, aws_access_key_id="x",
                              aws_secret_access_key="y")
        assert [model["name"] for model in client.get_models(restApiId=api)["items"]] == ["Empty", "Error", "Body"]
        assert answer(client.get_request_validator(restApiId=api, requestValidatorId=validator)) == {
            "id": validator, "name": "both", "validateRequestBody": True, "validateRequestParameters": True}
        method = client.get_method(restApiId=api, resourceId=root, httpMethod="POST")
        assert (method["requestValidatorId"], method["requestModels"]) == (validator, {"application/json": "Body"})
    assert persistence.state_file(tmp_path).exists()


# ---- the data plane: request validation over real HTTP --------------------------------------------------------
def send(emulator: StackThread, api: str, method: str, path: str, *, json_body: Any = None, body: bytes = b"",
         headers: list[tuple[str, str]] | None = None) -> Reply:
    """One request to the API's stage `local` (a JSON body is sent as application/json, as `requests` sends it)."""
    headers = [("Host", f"{api}.execute-api.localhost"), *(headers or [])]
    if json_body is not None:
        body = json.dumps(json_body).encode()
        headers.append(("Content-Type", "application/json"))
    return call(emulator.url, method, f"/local{path}", headers, body)


def mock_method(apigateway: Any, api: str, resource: str, http_method: str, **method: Any) -> None:
    """A method answered by a MOCK integration with `{"data": "ok"}`, as the recorded tests set it up."""
    apigateway.put_method(restApiId=api, resourceId=resource, httpMethod=http_method, authorizationType="NONE",
                          **method)
    apigateway.put_method_response(restApiId=api, resourceId=resource, httpMethod=http_method, statusCode="200")
    apigateway.put_integration(restApiId=api, resourceId=resource, httpMethod=http_method, type="MOCK",
                               requestTemplates={"application/json": '{"statusCode": 200}'})
    apigateway.put_integration_response(restApiId=api, resourceId=resource, httpMethod=http_method,
                                        statusCode="200", selectionPattern="",
                                        responseTemplates={"application/json": json.dumps({"data": "ok"})})


def rejected(reply: Reply) -> tuple[int, Any, str | None]:
    return reply.status, reply.json(), reply.header("x-amzn-ErrorType")


TEST_SCHEMA = {"$schema": "http://json-schema.org/draft-04/schema#", "title": "testSchema", "type": "object",
               "properties": {"a": {"type": "number"}, "b": {"type": "number"}}, "required": ["a", "b"]}


def test_api_gateway_request_validator(emulator: StackThread, apigateway: Any) -> None:
    """TestApiGatewayCommon::test_api_gateway_request_validator (test_apigateway_common.py, recorded 10-01-2024),
    with a MOCK integration for the Lambda function: required parameters are checked before the body, and a
    method, validator or model change reaches the stage only when it is deployed again."""
    api, root = new_api(apigateway, "aws lambda api")
    nested = apigateway.create_resource(restApiId=api, parentId=root, pathPart="nested")["id"]
    resource = apigateway.create_resource(restApiId=api, parentId=nested, pathPart="{test}")["id"]
    validator = apigateway.create_request_validator(restApiId=api, name="test-validator",
                                                    validateRequestParameters=True, validateRequestBody=True)["id"]
    apigateway.create_model(restApiId=api, name="testSchema", contentType="application/json",
                            schema=json.dumps(TEST_SCHEMA))
    for http_method in ("GET", "POST"):
        mock_method(apigateway, api, resource, http_method, requestValidatorId=validator, requestParameters={
            "method.request.path.test": True, "method.request.querystring.qs1": True,
            "method.request.header.x-header-param": True}, requestModels={"application/json": "testSchema"})
    apigateway.create_deployment(restApiId=api, stageName="local")
    params = "/nested/value?qs1=test"
    header = [("x-header-param", "test")]
    assert send(emulator, api, "POST", params, json_body={"a": 1, "b": 2}, headers=header).json() == {"data": "ok"}
    invalid_body = 400, {"message": "Invalid request body"}, "BadRequestException"
    assert rejected(send(emulator, api, "GET", params, headers=header)) == invalid_body  # no body: `{}`

    changed = apigateway.update_method(restApiId=api, resourceId=resource, httpMethod="POST", patchOperations=[
        {"op": "add", "path": "/requestParameters/method.request.path.issuer", "value": "true"},
        {"op": "remove", "path": "/requestParameters/method.request.path.test", "value": "true"}])
    assert (changed["requestParameters"], changed["requestValidatorId"]) == ({
        "method.request.header.x-header-param": True, "method.request.path.issuer": True,
        "method.request.querystring.qs1": True}, validator)

    def missing(names: str) -> tuple[int, Any, str]:
        return 400, {"message": f"Missing required request parameters: [{names}]"}, "BadRequestException"

    # not deployed yet: the stage still serves the method as deployed
    assert rejected(send(emulator, api, "POST", "/nested/value", json_body={"test": "test"})) == \
        missing("x-header-param, qs1")
    apigateway.create_deployment(restApiId=api, stageName="local")
    answered = send(emulator, api, "POST", "/nested/value", json_body={"test": "test"})
    assert rejected(answered) == missing("x-header-param, issuer, qs1")
    assert (answered.header("Content-Type"), answered.body) == (
        "application/json", b'{"message":"Missing required request parameters: [x-header-param, issuer, qs1]"}')
    assert rejected(send(emulator, api, "GET", "/nested/value?qs1=test")) == missing("x-header-param")
    assert rejected(send(emulator, api, "GET", "/nested/value", headers=header)) == missing("qs1")
    # "included and not blank" (AWS's guide): an empty value is missing
    assert rejected(send(emulator, api, "GET", "/nested/value?qs1=", headers=header)) == missing("qs1")

    apigateway.update_method(restApiId=api, resourceId=resource, httpMethod="POST", patchOperations=[
        {"op": "add", "path": "/requestParameters/method.request.path.test", "value": "true"},
        {"op": "remove", "path": "/requestParameters/method.request.path.issuer", "value": "true"}])
    apigateway.create_deployment(restApiId=api, stageName="local")
    assert send(emulator, api, "POST", params, json_body={"a": 1, "b": 2}, headers=header).status == 200
    assert rejected(send(emulator, api, "POST", params, json_body={"test": "test"}, headers=header)) == invalid_body
    assert rejected(send(emulator, api, "POST", params, json_body={"a": 1, "b": "2"}, headers=header)) == \
        invalid_body
    assert rejected(send(emulator, api, "POST", params, body=b'{"a": 1,', headers=[
        *header, ("Content-Type", "application/json")])) == invalid_body
    assert rejected(send(emulator, api, "GET", params, headers=header)) == invalid_body
    assert rejected(send(emulator, api, "GET", params, headers=[
        *header, ("Content-Type", "application/json")])) == invalid_body

    disabled = apigateway.update_request_validator(restApiId=api, requestValidatorId=validator, patchOperations=[
        {"op": "replace", "path": "/validateRequestBody", "value": "false"},
        {"op": "replace", "path": "/validateRequestParameters", "value": "false"}])
    assert answer(disabled) == {"id": validator, "name": "test-validator", "validateRequestBody": False,
                                "validateRequestParameters": False}
    assert send(emulator, api, "POST", "/nested/value", json_body={"test": "test"}).status == 400  # not deployed
    apigateway.create_deployment(restApiId=api, stageName="local")
    assert send(emulator, api, "POST", "/nested/value", json_body={"test": "test"}).json() == {"data": "ok"}
    assert send(emulator, api, "GET", "/nested/value").status == 200


def test_api_gateway_request_validator_with_ref_models(emulator: StackThread, apigateway: Any) -> None:
    """TestApiGatewayCommon::test_api_gateway_request_validator_with_ref_models (recorded 28-10-2024): a model
    refers to another by its URL."""
    api, root = new_api(apigateway, "test ref models")
    resource = apigateway.create_resource(restApiId=api, parentId=root, pathPart="path")["id"]
    validator = apigateway.create_request_validator(restApiId=api, name="test-validator",
                                                    validateRequestParameters=True, validateRequestBody=True)["id"]
    apigateway.create_model(restApiId=api, name="testSchema", contentType="application/json",
                            schema=json.dumps(TEST_SCHEMA))
    apigateway.create_model(restApiId=api, name="testSchemaList", contentType="application/json", schema=json.dumps(
        {"type": "array",
         "items": {"$ref": f"https://apigateway.amazonaws.com/restapis/{api}/models/testSchema"}}))
    models = apigateway.get_models(restApiId=api)["items"]
    assert [(model["name"], model.get("description")) for model in models] == [
        ("Empty", "This is a default empty schema model"), ("Error", "This is a default error schema model"),
        ("testSchema", None), ("testSchemaList", None)]
    mock_method(apigateway, api, resource, "POST", requestValidatorId=validator,
                requestModels={"application/json": "testSchemaList"})
    apigateway.create_deployment(restApiId=api, stageName="local")
    assert send(emulator, api, "POST", "/path", json_body=[{"a": 1, "b": 2}]).json() == {"data": "ok"}
    invalid_body = 400, {"message": "Invalid request body"}, "BadRequestException"
    assert rejected(send(emulator, api, "POST", "/path")) == invalid_body
    assert rejected(send(emulator, api, "POST", "/path", json_body=[{"a": 1}])) == invalid_body  # the $ref applies


def test_a_deeply_nested_body_for_a_recursive_model_is_an_invalid_body(emulator: StackThread, apigateway: Any) -> None:
    """A body is hostile input: arrays nested 300 deep against a model that refers to itself are AWS's invalid-body
    400 and a log line, never the emulator's 500 (Python's stack ends before the validator does)."""
    api, root = new_api(apigateway, "recursive model")
    resource = apigateway.create_resource(restApiId=api, parentId=root, pathPart="nested")["id"]
    validator = apigateway.create_request_validator(restApiId=api, name="body", validateRequestBody=True)["id"]
    apigateway.create_model(restApiId=api, name="Nested", contentType="application/json", schema=json.dumps(
        {"type": "array", "items": {"$ref": f"https://apigateway.amazonaws.com/restapis/{api}/models/Nested"}}))
    mock_method(apigateway, api, resource, "POST", requestValidatorId=validator,
                requestModels={"application/json": "Nested"})
    apigateway.create_deployment(restApiId=api, stageName="local")
    assert send(emulator, api, "POST", "/nested", json_body=[[[]]]).json() == {"data": "ok"}
    deep = b"[" * 300 + b"]" * 300
    reply = send(emulator, api, "POST", "/nested", body=deep, headers=[("Content-Type", "application/json")])
    assert rejected(reply) == (400, {"message": "Invalid request body"}, "BadRequestException")


def test_the_log_line_of_an_invalid_body_does_not_carry_the_body() -> None:
    """jsonschema's message quotes the failing value: a 100 KB string where a number belongs is AWS's invalid-body
    400, and its log line stays short (a client cannot flood the log through it)."""
    lines: list[str] = []
    with StackThread(None, StackOptions(port=0, seed=3, backend="process", access_log=False, function_logs=False),
                     log=lines.append) as running:
        client = boto3.client("apigateway", endpoint_url=running.url, region_name=REGION, aws_access_key_id="x",
                              aws_secret_access_key="y")
        api, root = new_api(client, "long body")
        validator = client.create_request_validator(restApiId=api, name="body", validateRequestBody=True)["id"]
        client.create_model(restApiId=api, name="Count", contentType="application/json", schema=json.dumps(
            {"type": "object", "properties": {"n": {"type": "number"}}}))
        mock_method(client, api, root, "POST", requestValidatorId=validator,
                    requestModels={"application/json": "Count"})
        client.create_deployment(restApiId=api, stageName="local")
        reply = send(running, api, "POST", "/", json_body={"n": "x" * 100_000})
    assert rejected(reply) == (400, {"message": "Invalid request body"}, "BadRequestException")
    (line,) = [line for line in lines if "does not match model schema" in line]
    assert len(line) < 1_000 and line.count("x") < 400


def test_api_gateway_request_validator_with_ref_one_of_models(emulator: StackThread, apigateway: Any) -> None:
    """TestApiGatewayCommon::test_api_gateway_request_validator_with_ref_one_ofmodels (recorded 28-10-2024)."""
    api, root = new_api(apigateway, "test oneOf ref models")
    resource = apigateway.create_resource(restApiId=api, parentId=root, pathPart="path")["id"]
    validator = apigateway.create_request_validator(restApiId=api, name="test-validator",
                                                    validateRequestParameters=True, validateRequestBody=True)["id"]
    apigateway.create_model(restApiId=api, name="StatusModel", contentType="application/json", schema=json.dumps(
        {"type": "object", "properties": {"Status": {"type": "string"}, "Order": {"type": "integer"}},
         "required": ["Status", "Order"]}))
    apigateway.create_model(restApiId=api, name="TestModel", contentType="application/json", schema=json.dumps(
        {"type": "object", "properties": {"status": {"oneOf": [
            {"type": "null"}, {"$ref": f"https://apigateway.amazonaws.com/restapis/{api}/models/StatusModel"}]}},
         "required": ["status"]}))
    mock_method(apigateway, api, resource, "POST", requestValidatorId=validator,
                requestModels={"application/json": "TestModel"})
    apigateway.create_deployment(restApiId=api, stageName="local")
    assert send(emulator, api, "POST", "/path", json_body={"status": None}).json() == {"data": "ok"}
    assert send(emulator, api, "POST", "/path", json_body={"status": {"Status": "works", "Order": 1}}).json() == \
        {"data": "ok"}
    invalid_body = 400, {"message": "Invalid request body"}, "BadRequestException"
    assert rejected(send(emulator, api, "POST", "/path")) == invalid_body
    assert rejected(send(emulator, api, "POST", "/path", json_body={"badFormat": "bla"})) == invalid_body
    assert rejected(send(emulator, api, "POST", "/path", json_body={"status": {"Status": "works"}})) == invalid_body


def test_the_model_is_chosen_by_content_type_and_the_responses_are_customizable(emulator: StackThread,
                                                                                apigateway: Any) -> None:
    """AWS's guide (api-gateway-method-request-validation.html): the body is checked against the model of its
    content type, `$default` standing for any; with no model for the content type it is not checked. The failures
    are the gateway responses BAD_REQUEST_BODY and BAD_REQUEST_PARAMETERS, which PutGatewayResponse (or
    DEFAULT_4XX) reshapes once deployed."""
    api, root = new_api(apigateway, "content types")
    json_only = apigateway.create_resource(restApiId=api, parentId=root, pathPart="json")["id"]
    any_type = apigateway.create_resource(restApiId=api, parentId=root, pathPart="any")["id"]
    validator = apigateway.create_request_validator(restApiId=api, name="both", validateRequestParameters=True,
                                                    validateRequestBody=True)["id"]
    apigateway.create_model(restApiId=api, name="testSchema", contentType="application/json",
                            schema=json.dumps(TEST_SCHEMA))
    mock_method(apigateway, api, json_only, "POST", requestValidatorId=validator,
                requestModels={"application/json": "testSchema"},
                requestParameters={"method.request.header.x-required": True,
                                   "method.request.querystring.optional": False})
    mock_method(apigateway, api, any_type, "POST", requestValidatorId=validator,
                requestModels={"$default": "testSchema"})
    apigateway.create_deployment(restApiId=api, stageName="local")
    required = [("x-required", "1")]
    text = [*required, ("Content-Type", "text/plain")]
    assert send(emulator, api, "POST", "/json", body=b"not json", headers=text).status == 200
    assert send(emulator, api, "POST", "/json", json_body={"a": 1, "b": 2}, headers=[
        ("X-Required", "1")]).status == 200  # header names are case-insensitive
    assert send(emulator, api, "POST", "/json", body=b'{"a": 1, "b": 2}', headers=[
        *required, ("Content-Type", "Application/JSON; charset=utf-8")]).status == 200
    assert send(emulator, api, "POST", "/json", body=b'{"a": 1}', headers=[
        *required, ("Content-Type", "application/json; charset=utf-8")]).status == 400
    assert send(emulator, api, "POST", "/any", body=b"not json", headers=text).status == 400
    assert send(emulator, api, "POST", "/any", body=b'{"a": 1, "b": 2}', headers=text).status == 200

    apigateway.put_gateway_response(restApiId=api, responseType="BAD_REQUEST_BODY", statusCode="422",
                                    responseParameters={"gatewayresponse.header.x-why": "'model'"},
                                    responseTemplates={"application/json": '{"error": "$context.error.message", '
                                                                           '"type": "$context.error.responseType"}'})
    apigateway.put_gateway_response(restApiId=api, responseType="DEFAULT_4XX",
                                    responseTemplates={"application/json": '{"four": $context.error.messageString}'})
    assert send(emulator, api, "POST", "/any", body=b"{}", headers=text).status == 400  # not deployed yet
    apigateway.create_deployment(restApiId=api, stageName="local")
    shaped = send(emulator, api, "POST", "/any", body=b"{}", headers=text)
    assert (shaped.status, shaped.json(), shaped.header("x-why")) == (
        422, {"error": "Invalid request body", "type": "BAD_REQUEST_BODY"}, "model")
    family = send(emulator, api, "POST", "/json", json_body={"a": 1, "b": 2})
    assert (family.status, family.json()) == (400, {"four": "Missing required request parameters: [x-required]"})


def test_the_authorizer_runs_before_the_request_validator(emulator: StackThread, apigateway: Any) -> None:
    """Validation sits after the authorizer (LocalStack's execute_api chain, localstack/localstack@8b9a79f): a
    request failing both gets the authorizer's answer (here 500: its function does not exist)."""
    api, root = new_api(apigateway, "authorized")
    authorizer = apigateway.create_authorizer(
        restApiId=api, name="absent", type="TOKEN", identitySource="method.request.header.Authorization",
        authorizerUri=f"arn:aws:apigateway:{REGION}:lambda:path/2015-03-31/functions/arn:aws:lambda:{REGION}:"
                      f"{ACCOUNT}:function:no-such-authorizer/invocations")["id"]
    validator = apigateway.create_request_validator(restApiId=api, name="params",
                                                    validateRequestParameters=True)["id"]
    apigateway.put_method(restApiId=api, resourceId=root, httpMethod="GET", authorizationType="CUSTOM",
                          authorizerId=authorizer, requestValidatorId=validator,
                          requestParameters={"method.request.querystring.needed": True})
    apigateway.put_integration(restApiId=api, resourceId=root, httpMethod="GET", type="MOCK",
                               requestTemplates={"application/json": '{"statusCode": 200}'})
    apigateway.create_deployment(restApiId=api, stageName="local")
    answered = send(emulator, api, "GET", "/", headers=[("Authorization", "token")])
    assert (answered.status, answered.header("x-amzn-ErrorType")) == (500, "AuthorizerConfigurationException")


def test_an_api_of_the_config_file_has_the_default_models(tmp_path: Path) -> None:
    """An API the config file defines has Empty and Error, as the deploy's CreateRestApi gives it on AWS, with the
    same ids at every load; its deployments capture them."""
    path = tmp_path / "canary.yaml"
    path.write_text("restApis:\n  api:\n    id: models001\n    resources:\n      /ping:\n        GET:\n"
                    "          integration:\n            type: MOCK\n    stages:\n      prod: {}\n")
    first, second = (state_from_config(load_config(path)).apis["models001"] for _ in range(2))
    assert list(first.models) == ["Empty", "Error"]
    assert {name: model.id for name, model in first.models.items()} == \
        {name: model.id for name, model in second.models.items()}
    assert first.models["Empty"].schema == json.dumps(
        {"$schema": "http://json-schema.org/draft-04/schema#", "title": "Empty Schema", "type": "object"})
    assert first.deployments[first.stages["prod"].deployment_id].models == first.models


# ---- the config file -----------------------------------------------------------------------------------------
CONFIG = """\
restApis:
  api:
    id: validated01
    models:
      Order:
        schema: {"type": "object", "required": ["item"]}
      Orders:
        contentType: application/json
        schema: '{"type": "array", "items": {"$ref": "https://apigateway.amazonaws.com/restapis/validated01/models/Order"}}'
    requestValidators:
      all: {validateRequestBody: true, validateRequestParameters: true}
    resources:
      /orders:
        POST:
          requestValidator: all
          requestModels: {application/json: Orders}
          requestParameters: {method.request.querystring.shop: true}
          integration:
            type: MOCK
            requestTemplates: {application/json: '{"statusCode": 200}'}
            integrationResponses:
              "200": {responseTemplates: {application/json: '{"ok": 1}'}}
    stages:
      local: {}
"""


def test_a_config_file_api_validates_its_requests(tmp_path: Path) -> None:
    """`models`, `requestValidators` and a method's requestValidator, requestModels and requestParameters in the
    config file are served as deployed (the model refers to another by its URL)."""
    path = tmp_path / "canary.yaml"
    path.write_text(CONFIG)
    with StackThread(path, StackOptions(port=0, seed=2, backend="process", access_log=False,
                                        function_logs=False)) as running:
        assert send(running, "validated01", "POST", "/orders?shop=a", json_body=[{"item": 1}]).json() == {"ok": 1}
        assert rejected(send(running, "validated01", "POST", "/orders?shop=a", json_body=[{}])) == (
            400, {"message": "Invalid request body"}, "BadRequestException")
        assert rejected(send(running, "validated01", "POST", "/orders", json_body=[])) == (
            400, {"message": "Missing required request parameters: [shop]"}, "BadRequestException")
        client = boto3.client("apigateway", endpoint_url=running.url, region_name=REGION, aws_access_key_id="x",
                              aws_secret_access_key="y")
        assert [model["name"] for model in client.get_models(restApiId="validated01")["items"]] == [
            "Empty", "Error", "Order", "Orders"]


@pytest.mark.parametrize(("old", "new", "message"), [
    ("requestValidator: all", "requestValidator: none",
     ":2: restApis.api: resource /orders POST: requestValidator 'none' is not one of this API's requestValidators "
     "(all)"),
    ("{application/json: Orders}", "{application/json: Nope}",
     ":2: restApis.api: resource /orders POST: requestModels application/json: model 'Nope' is not one of this "
     "API's models (Empty, Error, Order, Orders)"),
    ("method.request.querystring.shop", "method.request.body.shop",
     ":17: restApis.api.resources./orders.POST.requestParameters: Invalid mapping expression specified: Validation "
     "Result: warnings : [], errors : [Invalid mapping expression specified: method.request.body.shop]"),
    ('schema: {"type": "object", "required": ["item"]}', "schema: '{'",
     ":6: restApis.api.models.Order.schema: schema is not JSON"),
    ('schema: {"type": "object", "required": ["item"]}', "schema: {}",
     ":6: restApis.api.models.Order.schema: schema is a JSON Schema (draft 4) object; AWS refuses an empty one"),
    ("      Order:\n", "      Empty:\n",
     ":4: restApis.api.models: model 'Empty': AWS makes Empty and Error with every REST API; name yours otherwise"),
])
def test_config_mistakes_are_one_line_naming_the_key(tmp_path: Path, old: str, new: str, message: str) -> None:
    path = tmp_path / "canary.yaml"
    assert old in CONFIG
    path.write_text(CONFIG.replace(old, new, 1))
    with pytest.raises(UserError) as caught:
        load_config(path)
    assert str(caught.value).startswith(f"{path}{message}"), str(caught.value)
