"""Models and request validators through OpenAPI: ImportRestApi / PutRestApi in, GetExport out, and the data plane
validating what was imported.

The expected answers are AWS's, recorded in LocalStack's AWS-validated tests (localstack/localstack@8b9a79f):
tests/aws/services/apigateway/test_apigateway_import.py (+ .snapshot.json) and test_apigateway_extended.py
(+ .snapshot.json); the spec files are theirs, copied to tests/fixtures/localstack/.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from support import call

from emulator.stack import StackOptions
from emulator.testing import StackThread

REGION = "us-east-1"
FILES = Path(__file__).parent / "fixtures" / "localstack"
MODELS = "https://apigateway.amazonaws.com/restapis/{api}/models/{name}"


@pytest.fixture(scope="module")
def emulator() -> Iterator[StackThread]:
    with StackThread(None, StackOptions(port=0, seed=13, backend="process", access_log=False,
                                        function_logs=False)) as running:
        yield running


@pytest.fixture(scope="module")
def apigateway(emulator: StackThread) -> Any:
    return boto3.client("apigateway", endpoint_url=emulator.url, region_name=REGION, aws_access_key_id="x",
                        aws_secret_access_key="y")


def models_of(apigateway: Any, api: str) -> list[dict[str, Any]]:
    """GetModels' items by name, schemas parsed and ids dropped (as the recordings compare them)."""
    items = sorted(apigateway.get_models(restApiId=api)["items"], key=lambda item: item["name"])
    return [{**{key: value for key, value in item.items() if key != "id"}, "schema": json.loads(item["schema"])}
            for item in items]


def person_schemas(api: str) -> list[dict[str, Any]]:
    """AWS's get-models of test_import_with_circular_models(_and_request_validation), `<model-base-url>` being
    https://apigateway.amazonaws.com on AWS (the test's apigw_snapshot_transformer)."""
    return [
        {"contentType": "application/json", "name": "Empty", "schema": {"title": "Empty Schema", "type": "object"}},
        {"contentType": "application/json", "description": "Where a Person can live", "name": "House",
         "schema": {"type": "object", "properties": {
             "randomProperty": {"type": "string", "description": "Random property", "format": "byte"},
             "contains": {"minItems": 1, "type": "array",
                          "description": "The information of who is living in the house",
                          "items": {"$ref": MODELS.format(api=api, name="Person")}}},
                    "description": "Where a Person can live"}},
        {"contentType": "application/json", "description": "Random person schema.", "name": "Person",
         "schema": {"required": ["name", "b"], "type": "object", "properties": {
             "name": {"type": "string", "description": "Random property"}, "b": {"type": "number"},
             "house": {"$ref": MODELS.format(api=api, name="House")}}, "description": "Random person schema."}}]


@pytest.fixture(scope="module")
def person_api(apigateway: Any) -> str:
    """test_import_with_circular_models_and_request_validation's document, imported and deployed to `dev`."""
    body = (FILES / "openapi.spec.circular-ref-with-request-body.json").read_bytes()
    api = str(apigateway.import_rest_api(body=body, failOnWarnings=True)["id"])
    apigateway.create_deployment(restApiId=api, stageName="dev")
    return api


def post_person(emulator: StackThread, api: str, body: Any) -> tuple[int, Any]:
    reply = call(emulator.url, "POST", "/dev/person", [("Host", f"{api}.execute-api.localhost"),
                                                        ("Content-Type", "application/json")],
                 json.dumps(body).encode())
    return reply.status, reply.json()


def person_method(apigateway: Any, api: str) -> dict[str, Any]:
    resource = next(item for item in apigateway.get_resources(restApiId=api)["items"] if item["path"] == "/person")
    return apigateway.get_method(restApiId=api, resourceId=resource["id"], httpMethod="POST")  # type: ignore


# ---- import ---------------------------------------------------------------------------------------------------
def test_import_with_circular_models_and_request_validation(apigateway: Any, person_api: str) -> None:
    """test_apigateway_import.py::test_import_with_circular_models_and_request_validation: the document's schemas
    are the models (no default Error: ImportRestApi makes none), their $refs model URLs; the validator `basic` is
    the document's default, so the method names it, and its requestBody $ref is its request model."""
    assert models_of(apigateway, person_api) == person_schemas(person_api)
    validators = apigateway.get_request_validators(restApiId=person_api)["items"]
    assert [{key: value for key, value in item.items() if key != "id"} for item in validators] == [
        {"name": "basic", "validateRequestBody": True, "validateRequestParameters": True}]
    method = person_method(apigateway, person_api)
    assert method["requestModels"] == {"application/json": "Person"}
    assert method["requestValidatorId"] == validators[0]["id"]
    assert method["operationName"] == "CreatePerson"
    assert method["methodResponses"] == {"200": {"responseModels": {"application/json": "Empty"}, "statusCode": "200"}}


def test_an_imported_validator_validates_on_the_data_plane(emulator: StackThread, person_api: str) -> None:
    """The same recorded test's requests: a Person (with a House holding a Person) passes; a body that is no
    Person, and one whose House holds a non-Person (the circular $ref followed), are 400 Invalid request body."""
    person = {"name": "Person1", "b": 2,
              "house": {"randomProperty": "this is random", "contains": [{"name": "Person2", "b": 3}]}}
    status, _ = post_person(emulator, person_api, person)
    assert status == 200
    assert post_person(emulator, person_api, {"random": "blabla"}) == (400, {"message": "Invalid request body"})
    wrong = {"name": "Person1", "b": 2, "house": {"randomProperty": "x",
                                                   "contains": [{"randomObject": "I am not following Person"}]}}
    assert post_person(emulator, person_api, wrong) == (400, {"message": "Invalid request body"})


def test_import_swagger_api_models(apigateway: Any) -> None:
    """test_apigateway_import.py::test_import_swagger_api (Swagger 2): `definitions` are the models, with
    `#/definitions/X` as model URLs; a body parameter's schema $ref is the request model, by `consumes`."""
    body = (FILES / "petstore-authorizer.swagger.json").read_text().replace(
        "${uri}", f"http://petstore.execute-api.{REGION}.amazonaws.com/petstore/pets")
    api = apigateway.import_rest_api(body=body.encode(), failOnWarnings=True)["id"]
    pet = {"$ref": MODELS.format(api=api, name="Pet")}
    assert models_of(apigateway, api) == [
        {"contentType": "application/json", "name": "Empty", "schema": {"type": "object"}},
        {"contentType": "application/json", "name": "NewPet", "schema": {"type": "object", "properties": {
            "type": {"$ref": MODELS.format(api=api, name="PetType")}, "price": {"type": "number"}}}},
        {"contentType": "application/json", "name": "NewPetResponse", "schema": {"type": "object", "properties": {
            "pet": pet, "message": {"type": "string"}}}},
        {"contentType": "application/json", "name": "Pet", "schema": {"type": "object", "properties": {
            "petid": {"type": "integer"}, "type": {"type": "string"}, "price": {"type": "number"}}}},
        {"contentType": "application/json", "name": "PetType",
         "schema": {"type": "string", "enum": ["dog", "cat", "fish", "bird", "gecko"]}},
        {"contentType": "application/json", "name": "Pets", "schema": {"type": "array", "items": pet}}]
    resources = {item["path"]: item for item in apigateway.get_resources(restApiId=api)["items"]}
    post = apigateway.get_method(restApiId=api, resourceId=resources["/pets"]["id"], httpMethod="POST")
    assert post["requestModels"] == {"application/json": "NewPet"}
    assert "requestValidatorId" not in post
    assert post["methodResponses"] == {"200": {
        "responseModels": {"application/json": "NewPetResponse"},
        "responseParameters": {"method.response.header.Access-Control-Allow-Origin": False}, "statusCode": "200"}}
    get = apigateway.get_method(restApiId=api, resourceId=resources["/pets"]["id"], httpMethod="GET")
    assert "requestModels" not in get


def test_an_operation_overrides_the_default_validator_and_unknown_names_fail(apigateway: Any) -> None:
    """`x-amazon-apigateway-request-validator` on an operation overrides the document's (AWS's documented
    extension); one naming no declared validator, or a request body $ref to no schema, fails the import."""
    document = json.loads((FILES / "openapi.spec.circular-ref-with-request-body.json").read_text())
    document["x-amazon-apigateway-request-validators"]["params-only"] = {"validateRequestParameters": True}
    document["paths"]["/person"]["post"]["x-amazon-apigateway-request-validator"] = "params-only"
    api = apigateway.import_rest_api(body=json.dumps(document).encode())["id"]
    validators = {item["id"]: item for item in apigateway.get_request_validators(restApiId=api)["items"]}
    chosen = validators[person_method(apigateway, api)["requestValidatorId"]]
    assert (chosen["name"], chosen["validateRequestBody"], chosen["validateRequestParameters"]) == (
        "params-only", False, True)
    document["paths"]["/person"]["post"]["x-amazon-apigateway-request-validator"] = "nope"
    with pytest.raises(ClientError) as caught:
        apigateway.import_rest_api(body=json.dumps(document).encode())
    assert caught.value.response["Error"]["Code"] == "BadRequestException"
    assert "'nope' is not one of x-amazon-apigateway-request-validators" in caught.value.response["Error"]["Message"]
    del document["paths"]["/person"]["post"]["x-amazon-apigateway-request-validator"]
    document["paths"]["/person"]["post"]["requestBody"]["content"]["application/json"]["schema"]["$ref"] = \
        "#/components/schemas/Nobody"
    with pytest.raises(ClientError) as caught:
        apigateway.import_rest_api(body=json.dumps(document).encode())
    assert "'#/components/schemas/Nobody' names no schema" in caught.value.response["Error"]["Message"]


# ---- export, and back -----------------------------------------------------------------------------------------
def test_export_oas30_models_and_validators(apigateway: Any, person_api: str) -> None:
    """GetExport oas30: the models as components.schemas with `#/components/schemas/X` refs and the request model
    as the operation's requestBody, in the shape of test_apigateway_extended.py::test_export_oas30_openapi's
    recording; with extensions, the validators as x-amazon-apigateway-request-validators and the method's
    x-amazon-apigateway-request-validator (AWS's documented extensions)."""
    plain = json.loads(apigateway.get_export(restApiId=person_api, stageName="dev", exportType="oas30")["body"]
                       .read())
    source = json.loads((FILES / "openapi.spec.circular-ref-with-request-body.json").read_text())
    assert plain["components"]["schemas"] == source["components"]["schemas"]
    operation = plain["paths"]["/person"]["post"]
    assert operation["requestBody"] == {
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Person"}}}, "required": True}
    assert "x-amazon-apigateway-request-validator" not in operation
    assert "x-amazon-apigateway-request-validators" not in plain
    full = json.loads(apigateway.get_export(restApiId=person_api, stageName="dev", exportType="oas30",
                                            parameters={"extensions": "integrations"})["body"].read())
    assert full["x-amazon-apigateway-request-validators"] == source["x-amazon-apigateway-request-validators"]
    assert full["paths"]["/person"]["post"]["x-amazon-apigateway-request-validator"] == "basic"


# AWS's export of the petstore's POST /pets, recorded: test_apigateway_extended.py::test_export_oas30_openapi and
# ::test_export_swagger_openapi[TEST_IMPORT_PETSTORE_SWAGGER] ("get-export"), localstack/localstack@8b9a79f
RECORDED_OAS30_POST = {
    "operationId": "CreatePet",
    "requestBody": {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/NewPet"}}},
                    "required": True},
    "responses": {"200": {"description": "200 response",
                          "headers": {"Access-Control-Allow-Origin": {"schema": {"type": "string"}}},
                          "content": {"application/json": {
                              "schema": {"$ref": "#/components/schemas/NewPetResponse"}}}}}}
RECORDED_SWAGGER_POST = {
    "operationId": "CreatePet", "consumes": ["application/json"], "produces": ["application/json"],
    "parameters": [{"in": "body", "name": "NewPet", "required": True, "schema": {"$ref": "#/definitions/NewPet"}}],
    "responses": {"200": {"description": "200 response", "schema": {"$ref": "#/definitions/NewPetResponse"},
                          "headers": {"Access-Control-Allow-Origin": {"type": "string"}}}}}


def test_export_oas30_and_swagger_as_recorded(apigateway: Any) -> None:
    """The petstore imported and exported (oas30 and swagger, stage `local`): POST /pets is AWS's recorded
    operation, the models its definitions with document refs (Pets' items `#/definitions/Pet`)."""
    body = (FILES / "petstore-authorizer.swagger.json").read_text().replace("${uri}", "http://petstore.example/pets")
    api = apigateway.import_rest_api(body=body.encode())["id"]
    apigateway.create_deployment(restApiId=api, stageName="local")
    oas30 = json.loads(apigateway.get_export(restApiId=api, stageName="local", exportType="oas30")["body"].read())
    assert oas30["paths"]["/pets"]["post"] == RECORDED_OAS30_POST
    assert oas30["components"]["schemas"]["Pets"] == {"type": "array", "items": {"$ref": "#/components/schemas/Pet"}}
    swagger = json.loads(apigateway.get_export(restApiId=api, stageName="local", exportType="swagger")["body"]
                         .read())
    assert (swagger["swagger"], swagger["host"], swagger["basePath"], swagger["schemes"]) == (
        "2.0", f"{api}.execute-api.{REGION}.amazonaws.com", "/local", ["https"])
    assert swagger["paths"]["/pets"]["post"] == RECORDED_SWAGGER_POST
    assert swagger["definitions"]["Pets"] == {"type": "array", "items": {"$ref": "#/definitions/Pet"}}
    assert swagger["paths"]["/pets/{petId}"]["get"]["parameters"] == [
        {"name": "petId", "in": "path", "required": True, "type": "string"}]
    full = json.loads(apigateway.get_export(restApiId=api, stageName="local", exportType="swagger",
                                            parameters={"extensions": "integrations"})["body"].read())
    assert full["paths"]["/pets"]["post"]["x-amazon-apigateway-integration"]["type"] == "http"
    assert full["securityDefinitions"] == oas30["components"]["securitySchemes"]
    again = apigateway.import_rest_api(body=json.dumps(full).encode())["id"]
    assert models_of(apigateway, again) == [
        {**model, "schema": json.loads(json.dumps(model["schema"]).replace(f"/restapis/{api}/", f"/restapis/{again}/"))}
        for model in models_of(apigateway, api)]


def test_export_leaves_out_the_unused_default_models(apigateway: Any) -> None:
    """An API made by CreateRestApi has AWS's Empty and Error; an export lists them only when used."""
    api = apigateway.create_rest_api(name="defaults")
    apigateway.put_method(restApiId=api["id"], resourceId=api["rootResourceId"], httpMethod="GET",
                          authorizationType="NONE")
    apigateway.put_integration(restApiId=api["id"], resourceId=api["rootResourceId"], httpMethod="GET",
                               type="MOCK")
    apigateway.create_deployment(restApiId=api["id"], stageName="s")
    exported = json.loads(apigateway.get_export(restApiId=api["id"], stageName="s", exportType="oas30")["body"]
                          .read())
    assert "schemas" not in exported.get("components", {})


def test_import_export_import_round_trip(emulator: StackThread, apigateway: Any, person_api: str) -> None:
    """An export with extensions imports back to the same models, validator and method (and validates)."""
    body = apigateway.get_export(restApiId=person_api, stageName="dev", exportType="oas30",
                                 parameters={"extensions": "integrations"})["body"].read()
    again = apigateway.import_rest_api(body=body)["id"]
    assert models_of(apigateway, again) == person_schemas(again)
    validators = apigateway.get_request_validators(restApiId=again)["items"]
    assert [(item["name"], item["validateRequestBody"], item["validateRequestParameters"])
            for item in validators] == [("basic", True, True)]
    method = person_method(apigateway, again)
    assert (method["requestModels"], method["requestValidatorId"]) == ({"application/json": "Person"},
                                                                        validators[0]["id"])
    apigateway.create_deployment(restApiId=again, stageName="dev")
    assert post_person(emulator, again, {"random": "blabla"}) == (400, {"message": "Invalid request body"})


def test_put_rest_api_merges_or_overwrites_models_and_validators(apigateway: Any) -> None:
    """PutRestApi: merge (the default) keeps the API's other models (CreateRestApi's Empty and Error) and reuses a
    validator of the same name; overwrite leaves only the document's. Model URLs name the API put into."""
    api = apigateway.create_rest_api(name="put")["id"]
    kept = apigateway.create_request_validator(restApiId=api, name="basic", validateRequestBody=False)["id"]
    body = (FILES / "openapi.spec.circular-ref-with-request-body.json").read_bytes()
    apigateway.put_rest_api(restApiId=api, body=body)
    assert [model["name"] for model in models_of(apigateway, api)] == ["Empty", "Error", "House", "Person"]
    validators = apigateway.get_request_validators(restApiId=api)["items"]
    assert [(item["id"], item["validateRequestBody"]) for item in validators] == [(kept, True)]
    assert person_method(apigateway, api)["requestValidatorId"] == kept
    apigateway.put_rest_api(restApiId=api, body=body, mode="overwrite")
    assert models_of(apigateway, api) == person_schemas(api)


# ---- lambda-canary's own OpenAPI loading (document + companion) --------------------------------------------------
def test_a_document_with_its_companion_serves_the_imported_validation(tmp_path: Path) -> None:
    """The same recorded document loaded as lambda-canary's config (with a companion): its schemas become the
    config's models (Empty aside: every config API has AWS's), the validator and the request model the method's,
    and the gateway answers the recorded 400 Invalid request body; a validator name the document does not declare
    is one line naming the file."""
    from emulator.errors import UserError
    from emulator.formats.load import load_any

    document = json.loads((FILES / "openapi.spec.circular-ref-with-request-body.json").read_text())
    target = tmp_path / "api.json"
    target.write_text(json.dumps(document))
    (tmp_path / "api.functions.yaml").write_text("functions: {}\nrestApis:\n  Circular model reference:\n"
                                                 "    id: circular01\n    stages:\n      dev: {}\n")
    loaded = load_any(target)
    api = loaded.config.rest_apis["Circular model reference"]
    assert set(api.models) == {"House", "Person"}
    assert not [note for note in loaded.unsupported if "schema" in note], loaded.unsupported
    assert api.models["Person"].json_schema["properties"]["house"] == {"$ref": MODELS.format(api="circular01",
                                                                                              name="House")}
    method = api.resources["/person"]["POST"]
    assert (method.request_validator, method.request_models) == ("basic", {"application/json": "Person"})
    with StackThread(target, StackOptions(port=0, seed=3, backend="process", access_log=False,
                                          function_logs=False)) as running:
        assert post_person(running, "circular01", {"random": "blabla"}) == (400, {"message": "Invalid request body"})
        assert post_person(running, "circular01", {"name": "a", "b": 1, "house": {"contains": [{"name": "b",
                                                                                               "b": 2}]}})[0] == 200
    document["paths"]["/person"]["post"]["x-amazon-apigateway-request-validator"] = "nope"
    target.write_text(json.dumps(document))
    with pytest.raises(UserError) as caught:
        load_any(target)
    assert str(caught.value) == (f"{target}: paths./person.post.x-amazon-apigateway-request-validator: request "
                                 "validator 'nope' is not one of x-amazon-apigateway-request-validators (basic)")
