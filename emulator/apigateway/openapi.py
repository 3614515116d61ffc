"""OpenAPI 3 with `x-amazon-apigateway-integration`, in (ImportRestApi) and out (GetExport)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import yaml

from emulator.apigateway.model import (
    MODEL_URL,
    Authorizer,
    Integration,
    IntegrationResponse,
    Method,
    Model,
    RequestValidator,
    Resource,
    RestApi,
)
from emulator.gateway_response_rules import RESPONSE_TYPES, status_code_error
from emulator.integration_rules import integration_parameters_error
from emulator.model_urls import DEFAULT_MODELS, model_named, with_refs

ANY_METHOD = "x-amazon-apigateway-any-method"
INTEGRATION = "x-amazon-apigateway-integration"
BINARY_TYPES = "x-amazon-apigateway-binary-media-types"
AUTHORIZER = "x-amazon-apigateway-authorizer"
AUTHTYPE = "x-amazon-apigateway-authtype"
GATEWAY_RESPONSES = "x-amazon-apigateway-gateway-responses"
VALIDATORS = "x-amazon-apigateway-request-validators"
VALIDATOR = "x-amazon-apigateway-request-validator"
_SCHEMA_REFS = ("#/components/schemas/", "#/definitions/")
_METHODS = ("get", "post", "put", "patch", "delete", "head", "options")


class OpenApiError(ValueError):
    """The document cannot become a REST API; the message says where."""


def parse_document(body: bytes | str) -> dict[str, Any]:
    """JSON or YAML text to a mapping."""
    text = body.decode("utf-8") if isinstance(body, bytes) else body
    try:
        document = json.loads(text)
    except ValueError:
        try:
            document = yaml.safe_load(text)
        except yaml.YAMLError as error:
            raise OpenApiError(f"Invalid OpenAPI input: {error}") from None
    if not isinstance(document, dict) or not ("openapi" in document or "swagger" in document):
        raise OpenApiError("Invalid OpenAPI input: expected an OpenAPI 3 (or Swagger 2) document")
    return document


def integration_from_extension(extension: dict[str, Any], where: str) -> Integration:
    """An Integration from `x-amazon-apigateway-integration`."""
    kind = str(extension.get("type", "")).upper()
    if kind not in ("AWS_PROXY", "HTTP_PROXY", "MOCK", "AWS", "HTTP"):
        raise OpenApiError(f"{where}: unsupported integration type {extension.get('type')!r}")
    responses = {}
    for key, response in (extension.get("responses") or {}).items():
        status = str(response.get("statusCode", "200"))
        responses[status] = IntegrationResponse(status, dict(response.get("responseTemplates") or {}),
                                                dict(response.get("responseParameters") or {}),
                                                None if key == "default" else key)
    return Integration(type=kind, uri=extension.get("uri"), http_method=extension.get("httpMethod", "POST"),
                       timeout_in_millis=int(extension.get("timeoutInMillis", 29000)),
                       request_templates=dict(extension.get("requestTemplates") or {}),
                       integration_responses=responses,
                       passthrough_behavior=str(extension.get("passthroughBehavior", "when_no_match")).upper(),
                       request_parameters=dict(extension.get("requestParameters") or {}))


def security_schemes(document: dict[str, Any]) -> dict[str, Any]:
    """`components.securitySchemes` (OpenAPI 3) or `securityDefinitions` (Swagger 2)."""
    schemes = ((document.get("components") or {}).get("securitySchemes") or document.get("securityDefinitions")
               or {})
    return schemes if isinstance(schemes, dict) else {}


def gateway_responses_from_document(document: dict[str, Any]) -> dict[str, Any]:
    """`x-amazon-apigateway-gateway-responses` as config blocks by response type (statusCode, responseParameters,
    responseTemplates: AWS's documented shape, https://docs.aws.amazon.com/apigateway/latest/developerguide/
    api-gateway-swagger-extensions-gateway-responses.html); the config check refuses what AWS would."""
    found = document.get(GATEWAY_RESPONSES)
    return {str(kind): value for kind, value in found.items()} if isinstance(found, dict) else {}


def authorizers_from_document(document: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Lambda authorizers declared with `x-amazon-apigateway-authorizer`, by scheme name, as config blocks
    (https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-swagger-extensions-authorizer.html:
    a `token` authorizer's identity is the header the scheme's `name` gives)."""
    found: dict[str, dict[str, Any]] = {}
    for name, scheme in security_schemes(document).items():
        extension = scheme.get(AUTHORIZER) if isinstance(scheme, dict) else None
        if not isinstance(extension, dict) or str(extension.get("type", "")).lower() not in ("token", "request"):
            continue
        kind = str(extension["type"]).upper()
        block: dict[str, Any] = {"type": kind, "authorizerUri": extension.get("authorizerUri")}
        if extension.get("identitySource"):
            block["identitySource"] = str(extension["identitySource"])
        elif kind == "TOKEN" and scheme.get("in", "header") == "header" and scheme.get("name"):
            block["identitySource"] = f"method.request.header.{scheme['name']}"
        if extension.get("identityValidationExpression"):
            block["identityValidationExpression"] = str(extension["identityValidationExpression"])
        if "authorizerResultTtlInSeconds" in extension:
            block["authorizerResultTtlInSeconds"] = int(extension["authorizerResultTtlInSeconds"])
        found[str(name)] = block
    return found


def operation_authorizer(document: dict[str, Any], operation: dict[str, Any],
                         authorizers: dict[str, Any]) -> str | None:
    """The Lambda authorizer an operation's `security` (else the document's) names, if any."""
    security = operation.get("security", document.get("security")) or []
    for requirement in security if isinstance(security, list) else []:
        for name in requirement or {}:
            if name in authorizers:
                return str(name)
    return None


def document_schemas(document: dict[str, Any]) -> dict[str, Any]:
    """`components.schemas` (OpenAPI 3) or `definitions` (Swagger 2): the document's models, by name."""
    schemas = (document.get("components") or {}).get("schemas") if "openapi" in document else \
        document.get("definitions")
    return {str(name): schema for name, schema in schemas.items() if isinstance(schema, dict)} \
        if isinstance(schemas, dict) else {}


def _schema_name(reference: Any) -> str | None:
    """`X` from `#/components/schemas/X` or `#/definitions/X`."""
    if isinstance(reference, str):
        for prefix in _SCHEMA_REFS:
            if reference.startswith(prefix) and "/" not in reference[len(prefix):]:
                return reference[len(prefix):]
    return None


def schema_with_model_urls(schema: dict[str, Any], api_id: str) -> dict[str, Any]:
    """A document's schema as API Gateway stores the model: `$ref`s to the document's schemas become the model
    URLs `https://apigateway.amazonaws.com/restapis/{apiId}/models/{name}` (recorded: LocalStack's AWS-validated
    test_apigateway_import.py::test_import_with_circular_models and ::test_import_swagger_api,
    localstack/localstack@8b9a79f)."""
    def rewrite(reference: str) -> str:
        name = _schema_name(reference)
        return MODEL_URL.format(api_id=api_id, name=name) if name is not None else reference
    return with_refs(schema, rewrite)  # type: ignore[no-any-return]


def schema_with_document_refs(schema: dict[str, Any], prefix: str = "#/components/schemas/") -> dict[str, Any]:
    """A model's schema as API Gateway exports it: model URLs back to `prefix` + name, without `$schema`
    (recorded: LocalStack's AWS-validated test_apigateway_extended.py::test_export_oas30_openapi and
    ::test_export_swagger_openapi, localstack/localstack@8b9a79f)."""
    def rewrite(reference: str) -> str:
        name = model_named(reference)
        return reference if name is None else prefix + name
    out = with_refs(schema, rewrite)
    out.pop("$schema", None)
    return out  # type: ignore[no-any-return]


def request_validators_from_document(document: dict[str, Any]) -> dict[str, dict[str, bool]]:
    """`x-amazon-apigateway-request-validators`: by name, validateRequestBody and validateRequestParameters
    (https://docs.aws.amazon.com/apigateway/latest/developerguide/
    api-gateway-swagger-extensions-request-validators.html)."""
    found = document.get(VALIDATORS)
    if found is None:
        return {}
    if not isinstance(found, dict):
        raise OpenApiError(f"{VALIDATORS}: a mapping of validator names to validateRequestBody and "
                           "validateRequestParameters")
    validators: dict[str, dict[str, bool]] = {}
    for name, block in found.items():
        block = block if isinstance(block, dict) else {}
        validators[str(name)] = {key: bool(block.get(key, False))
                                 for key in ("validateRequestBody", "validateRequestParameters")}
    return validators


def operation_request_validator(document: dict[str, Any], operation: dict[str, Any], where: str) -> str | None:
    """The request validator an operation names (`x-amazon-apigateway-request-validator`), else the document's
    default; it must be one of `x-amazon-apigateway-request-validators`."""
    name = operation.get(VALIDATOR, document.get(VALIDATOR))
    if name is None:
        return None
    found = document.get(VALIDATORS)
    known: dict[str, Any] = found if isinstance(found, dict) else {}
    if str(name) not in known:
        source = f"{where}.{VALIDATOR}" if VALIDATOR in operation else VALIDATOR
        raise OpenApiError(f"{source}: request validator {name!r} is not one of {VALIDATORS} "
                           f"({', '.join(map(str, known)) or 'none declared'})")
    return str(name)


def operation_request_models(document: dict[str, Any], operation: dict[str, Any], where: str) -> dict[str, str]:
    """An operation's request models, content type -> model name: its `requestBody` content schemas that are
    `$ref`s to the document's schemas (Swagger 2: a body parameter's schema, for each type it `consumes`), as
    ImportRestApi makes them (recorded: LocalStack's AWS-validated test_import_with_circular_models and
    test_import_swagger_api, localstack/localstack@8b9a79f). Inline schemas are not made into models."""
    schemas = document_schemas(document)
    found: dict[str, str] = {}
    if "openapi" in document:
        body = operation.get("requestBody")
        if isinstance(body, dict) and isinstance(body.get("$ref"), str):
            name = body["$ref"].rsplit("/", 1)[-1]
            body = ((document.get("components") or {}).get("requestBodies") or {}).get(name)
        content = body.get("content") if isinstance(body, dict) else None
        pairs = [(str(kind), (media or {}).get("schema")) for kind, media in content.items()
                 if isinstance(media, dict)] if isinstance(content, dict) else []
    else:
        consumes = operation.get("consumes") or document.get("consumes") or ["application/json"]
        pairs = [(str(kind), parameter.get("schema")) for parameter in operation.get("parameters") or []
                 if isinstance(parameter, dict) and parameter.get("in") == "body" for kind in consumes]
    for kind, schema in pairs:
        name = _schema_name(schema.get("$ref")) if isinstance(schema, dict) else None
        if name is None or not isinstance(schema, dict):
            continue
        if name not in schemas:
            raise OpenApiError(f"{where}: request body schema $ref {schema['$ref']!r} names no schema of the "
                               f"document ({', '.join(schemas) or 'none declared'})")
        found[kind] = name
    return found


def operation_method_responses(document: dict[str, Any], operation: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """An operation's method responses by status code: the models its `responses` refer to (content schemas;
    Swagger 2: `schema`, for each type it `produces`) and its headers as response parameters, not required, as
    ImportRestApi makes them (recorded: GetMethod's methodResponses in LocalStack's AWS-validated
    test_import_swagger_api and test_import_with_circular_models, localstack/localstack@8b9a79f)."""
    out: dict[str, dict[str, Any]] = {}
    responses = operation.get("responses")
    for status, response in (responses.items() if isinstance(responses, dict) else []):
        if not str(status).isdigit() or not isinstance(response, dict):
            continue
        if "openapi" in document:
            content = response.get("content")
            pairs = [(str(kind), (media or {}).get("schema")) for kind, media in content.items()
                     if isinstance(media, dict)] if isinstance(content, dict) else []
        else:
            produces = operation.get("produces") or document.get("produces") or ["application/json"]
            pairs = [(str(kind), response.get("schema")) for kind in produces] if response.get("schema") else []
        models = {kind: name for kind, schema in pairs
                  if isinstance(schema, dict) and (name := _schema_name(schema.get("$ref"))) is not None}
        headers = response.get("headers")
        parameters = {f"method.response.header.{name}": False for name in headers} \
            if isinstance(headers, dict) and headers else None
        out[str(status)] = {"statusCode": str(status), "responseModels": models or None,
                            "responseParameters": parameters}
    return out


def rest_api_from_openapi(document: dict[str, Any], id_factory: Callable[[], str],
                          api_id: str | None = None) -> RestApi:
    """Build a RestApi (resources, methods, integrations, binary media types) from a document. An integration
    mapping a method request parameter its operation does not declare fails the import, in AWS's words (answered
    to Testlio/lambda-tools issue 56: "Errors found during import: Unable to put integration on 'GET' for resource
    at path '/': Invalid mapping expression specified: ... [Invalid mapping expression parameter specified:
    method.request.header.Authorization]")."""
    info = document.get("info") or {}
    api = RestApi(api_id or id_factory(), str(info.get("title", "imported")), str(info.get("description", "")),
                  list(document.get(BINARY_TYPES) or []))
    api.add_resource_path("/", id_factory=lambda: id_factory()[:6])
    declared = authorizers_from_document(document)
    for kind, response in gateway_responses_from_document(document).items():
        if kind in RESPONSE_TYPES and isinstance(response, dict):
            status = response.get("statusCode")
            problem = status_code_error(status)
            if problem is not None:
                raise OpenApiError(f"x-amazon-apigateway-gateway-responses.{kind}: {problem}")
            api.gateway_responses[kind] = {
                "statusCode": str(status) if status is not None else None,
                "responseParameters": dict(response.get("responseParameters") or {}),
                "responseTemplates": dict(response.get("responseTemplates") or {})}
    # models and request validators, as ImportRestApi makes them: no default Empty and Error models (recorded:
    # LocalStack's AWS-validated test_import_and_validate_rest_api[swagger-mock-cors.json] answers no models)
    for name, schema in document_schemas(document).items():
        description = schema.get("description")
        api.models[name] = Model(id_factory()[:6], name, "application/json",
                                 json.dumps(schema_with_model_urls(schema, api.id)),
                                 description if isinstance(description, str) else None)
    validator_ids: dict[str, str] = {}
    for name, flags in request_validators_from_document(document).items():
        validator = RequestValidator(id_factory()[:6], name, flags["validateRequestBody"],
                                     flags["validateRequestParameters"])
        api.request_validators[validator.id] = validator
        validator_ids[name] = validator.id
    ids: dict[str, str] = {}
    for name, block in declared.items():
        authorizer = Authorizer(id_factory()[:6], name, block["type"], block.get("authorizerUri"),
                                block.get("identitySource"), block.get("identityValidationExpression"),
                                int(block.get("authorizerResultTtlInSeconds", 300)))
        api.authorizers[authorizer.id] = authorizer
        ids[name] = authorizer.id
    for path, item in (document.get("paths") or {}).items():
        resource = api.add_resource_path(path, id_factory=lambda: id_factory()[:6])
        for key, operation in (item or {}).items():
            method_name = "ANY" if key == ANY_METHOD else key.upper() if key in _METHODS else None
            if method_name is None or not isinstance(operation, dict):
                continue
            extension = operation.get(INTEGRATION)
            integration = integration_from_extension(extension, f"paths.{path}.{key}") if extension else None
            authorizer_name = operation_authorizer(document, operation, declared)
            parameters = declared_parameters(item, operation)
            problem = integration_parameters_error(integration.request_parameters, parameters) if integration \
                else None
            if problem is not None:  # the whole import fails, as PutIntegration would have refused the method
                raise OpenApiError(f"Errors found during import:\n\tUnable to put integration on '{method_name}' for "
                                   f"resource at path '{resource.path}': {problem}")
            where = f"paths.{path}.{key}"
            validator_name = operation_request_validator(document, operation, where)
            resource.methods[method_name] = Method(method_name, integration,
                                                   "CUSTOM" if authorizer_name else "NONE",
                                                   operation_name=operation.get("operationId"),
                                                   request_parameters=parameters,
                                                   authorizer_id=ids.get(authorizer_name or ""),
                                                   request_models=operation_request_models(document, operation,
                                                                                           where),
                                                   request_validator_id=validator_ids.get(validator_name or ""),
                                                   method_responses=operation_method_responses(document,
                                                                                               operation))
    return api


_LOCATIONS = {"path": "path", "query": "querystring", "header": "header"}


def declared_parameters(item: dict[str, Any], operation: dict[str, Any]) -> dict[str, bool]:
    """The method request parameters an operation declares (its `parameters` and its path's), as API Gateway's
    import makes them: `{"name": "q", "in": "query", "required": true}` -> `method.request.querystring.q: True`."""
    declared: dict[str, bool] = {}
    for parameter in [*(item.get("parameters") or []), *(operation.get("parameters") or [])]:
        if isinstance(parameter, dict) and parameter.get("in") in _LOCATIONS and parameter.get("name"):
            key = f"method.request.{_LOCATIONS[parameter['in']]}.{parameter['name']}"
            declared[key] = bool(parameter.get("required", False))
    return declared


def _parameters_out(resource_path: str, declared: dict[str, bool]) -> list[dict[str, Any]]:
    """An operation's `parameters`: the resource path's, then the method's other declared ones."""
    names = [part[1:-1].rstrip("+") for part in resource_path.split("/") if part.startswith("{")]
    out: list[dict[str, Any]] = [{"name": name, "in": "path", "required": True, "schema": {"type": "string"}}
                                 for name in names]
    locations = {value: key for key, value in _LOCATIONS.items()}
    for key, required in declared.items():
        parts = key.split(".", 3)
        kind, name = (parts[2], parts[3]) if len(parts) == 4 else ("", "")
        if kind in locations and not (kind == "path" and name in names):
            out.append({"name": name, "in": locations[kind], "required": bool(required),
                        "schema": {"type": "string"}})
    return out


def _integration_extension(integration: Integration) -> dict[str, Any]:
    extension: dict[str, Any] = {"type": integration.type.lower(), "httpMethod": integration.http_method or "POST",
                                 "passthroughBehavior": integration.passthrough_behavior.lower(),
                                 "timeoutInMillis": integration.timeout_in_millis}
    if integration.uri:
        extension["uri"] = integration.uri
    if integration.request_templates:
        extension["requestTemplates"] = integration.request_templates
    if integration.request_parameters:
        extension["requestParameters"] = integration.request_parameters
    if integration.integration_responses:
        extension["responses"] = {
            (response.selection_pattern or "default"): {"statusCode": response.status_code,
                                                        **({"responseTemplates": response.response_templates}
                                                           if response.response_templates else {}),
                                                        **({"responseParameters": response.response_parameters}
                                                           if response.response_parameters else {})}
            for response in integration.integration_responses.values()}
    elif integration.type not in ("AWS_PROXY", "HTTP_PROXY"):
        extension["responses"] = {"default": {"statusCode": "200"}}
    return extension


def openapi_from_rest_api(api: RestApi, resources: dict[str, Resource], stage: str, region: str,
                          with_integrations: bool = True, models: dict[str, Model] | None = None,
                          validators: dict[str, RequestValidator] | None = None) -> dict[str, Any]:
    """An OpenAPI 3.0.1 document for a deployment's resources (and its models and request validators: the API's
    unless given), as API Gateway exports it."""
    models = api.models if models is None else models
    validators = api.request_validators if validators is None else validators
    paths: dict[str, Any] = {}
    for resource in sorted(resources.values(), key=lambda item: item.path):
        if not resource.methods:
            continue
        item: dict[str, Any] = {}
        for name, method in resource.methods.items():
            operation: dict[str, Any] = {"responses": _responses_out(method)}
            parameters = _parameters_out(resource.path, method.request_parameters)
            if parameters:
                operation["parameters"] = parameters
            if method.operation_name:
                operation["operationId"] = method.operation_name
            if method.request_models:
                # recorded: LocalStack's AWS-validated test_export_oas30_openapi, localstack/localstack@8b9a79f
                operation["requestBody"] = {"content": {
                    content_type: {"schema": {"$ref": f"{_SCHEMA_REFS[0]}{name}"}}
                    for content_type, name in method.request_models.items()}, "required": True}
            validator = validators.get(method.request_validator_id or "")
            if with_integrations and validator is not None:
                operation[VALIDATOR] = validator.name
            if with_integrations and method.integration is not None:
                operation[INTEGRATION] = _integration_extension(method.integration)
            authorizer = api.authorizers.get(method.authorizer_id or "")
            if method.authorization_type == "CUSTOM" and authorizer is not None:
                operation["security"] = [{authorizer.name: []}]
            item[ANY_METHOD if name == "ANY" else name.lower()] = operation
        paths[resource.path] = item
    document: dict[str, Any] = {
        "openapi": "3.0.1",
        "info": {"title": api.name, "version": api.created_date.strftime("%Y-%m-%dT%H:%M:%SZ")},
        "servers": [{"url": f"https://{api.id}.execute-api.{region}.amazonaws.com/{{basePath}}",
                     "variables": {"basePath": {"default": stage}}}],
        "paths": paths,
    }
    if api.description:
        document["info"]["description"] = api.description
    if api.binary_media_types:
        document[BINARY_TYPES] = list(api.binary_media_types)
    schemas = _schemas_out(models, resources)
    if schemas:
        document.setdefault("components", {})["schemas"] = schemas
    if api.authorizers:
        document.setdefault("components", {})["securitySchemes"] = {
            authorizer.name: _security_scheme(authorizer) for authorizer in api.authorizers.values()}
    if with_integrations and validators:
        document[VALIDATORS] = {validator.name: {"validateRequestBody": validator.validate_request_body,
                                                 "validateRequestParameters": validator.validate_request_parameters}
                                for validator in validators.values()}
    if with_integrations and api.gateway_responses:
        document[GATEWAY_RESPONSES] = {kind: _gateway_response(response)
                                       for kind, response in api.gateway_responses.items()}
    return document


def swagger_from_openapi(document: dict[str, Any], host: str, stage: str) -> dict[str, Any]:
    """An exported OpenAPI 3 document as API Gateway's Swagger 2 export (recorded: LocalStack's AWS-validated
    test_apigateway_extended.py::test_export_swagger_openapi, localstack/localstack@8b9a79f): host, basePath and
    schemes; parameters typed in place; a request model as a `body` parameter named by the model; content types as
    consumes and produces; `#/definitions/` refs."""
    def refs(value: Any) -> Any:
        return with_refs(value, lambda ref: ref.replace(_SCHEMA_REFS[0], _SCHEMA_REFS[1], 1))

    paths: dict[str, Any] = {}
    for path, item in document.get("paths", {}).items():
        paths[path] = {}
        for key, operation in item.items():
            out: dict[str, Any] = {key: value for key, value in operation.items()
                                   if key not in ("parameters", "requestBody", "responses")}
            consumes = list((operation.get("requestBody") or {}).get("content") or {})
            produces = sorted({kind for response in operation["responses"].values()
                               for kind in response.get("content") or {}})
            if consumes:
                out["consumes"] = consumes
            if produces:
                out["produces"] = produces
            parameters = [{**{k: v for k, v in parameter.items() if k != "schema"}, "type": "string"}
                          for parameter in operation.get("parameters") or []]
            for media in ((operation.get("requestBody") or {}).get("content") or {}).values():
                parameters.append({"in": "body", "name": media["schema"]["$ref"].rsplit("/", 1)[-1],
                                   "required": True, "schema": refs(media["schema"])})
                break
            if parameters:
                out["parameters"] = parameters
            responses: dict[str, Any] = {}
            for status, response in operation["responses"].items():
                entry: dict[str, Any] = {"description": response["description"]}
                for media in (response.get("content") or {}).values():
                    entry["schema"] = refs(media["schema"])
                    break
                if response.get("headers"):
                    entry["headers"] = {name: {"type": "string"} for name in response["headers"]}
                responses[status] = entry
            out["responses"] = responses
            known = sorted((name for name in out if name in _SWAGGER_ORDER), key=_SWAGGER_ORDER.index)
            paths[path][key] = {**{name: out[name] for name in known},
                                **{name: value for name, value in out.items() if name not in _SWAGGER_ORDER}}
    info = {key: document["info"][key] for key in ("description", "version", "title") if key in document["info"]}
    swagger: dict[str, Any] = {"swagger": "2.0", "info": info, "host": host, "basePath": f"/{stage}",
                               "schemes": ["https"], "paths": paths}
    components = document.get("components") or {}
    if components.get("securitySchemes"):
        swagger["securityDefinitions"] = components["securitySchemes"]
    if components.get("schemas"):
        swagger["definitions"] = refs(components["schemas"])
    swagger.update({key: value for key, value in document.items() if key.startswith("x-")})
    return swagger


_SWAGGER_ORDER = ["operationId", "consumes", "produces", "parameters", "responses", "security"]


def _schemas_out(models: dict[str, Model], resources: dict[str, Resource]) -> dict[str, Any]:
    """`components.schemas`: the API's models with document `$ref`s. AWS's default Empty and Error only when a
    method or another model refers to them (an AWS export of an API with them unused lists neither; e.g.
    nationalarchives/tdr-terraform-environments' draft_metadata.json.tpl, an export, lists only the Empty it uses).
    """
    parsed: dict[str, dict[str, Any]] = {}
    for name, model in models.items():
        try:
            schema = json.loads(model.schema)
        except ValueError:
            continue
        if isinstance(schema, dict):
            parsed[name] = schema
    used = {name for resource in resources.values() for method in resource.methods.values()
            for name in [*method.request_models.values(), *(
                str(model) for response in method.method_responses.values()
                for model in (response.get("responseModels") or {}).values())]}  # type: ignore[attr-defined]
    for name, schema in parsed.items():
        if name not in DEFAULT_MODELS or name in used:
            used.update(name for name in map(model_named, _all_refs(schema)) if name is not None)
    return {name: schema_with_document_refs(schema) for name, schema in parsed.items()
            if name not in DEFAULT_MODELS or name in used}


def _responses_out(method: Method) -> dict[str, Any]:
    """An operation's `responses`: its method responses' headers and models (recorded shape: LocalStack's
    AWS-validated test_export_oas30_openapi), else AWS's `200 response`."""
    out: dict[str, Any] = {}
    for status, response in sorted(method.method_responses.items()):
        entry: dict[str, Any] = {"description": f"{status} response"}
        parameters: dict[str, Any] = response.get("responseParameters") or {}  # type: ignore[assignment]
        headers = {key[len("method.response.header."):]: {"schema": {"type": "string"}}
                   for key in parameters if key.startswith("method.response.header.")}
        if headers:
            entry["headers"] = headers
        models: dict[str, str] = response.get("responseModels") or {}  # type: ignore[assignment]
        if models:
            entry["content"] = {kind: {"schema": {"$ref": f"{_SCHEMA_REFS[0]}{name}"}}
                                for kind, name in models.items()}
        out[str(status)] = entry
    return out or {"200": {"description": "200 response"}}


def _all_refs(value: Any) -> list[str]:
    if isinstance(value, dict):
        return [ref for key, item in value.items()
                for ref in ([item] if key == "$ref" and isinstance(item, str) else _all_refs(item))]
    if isinstance(value, list):
        return [ref for item in value for ref in _all_refs(item)]
    return []


def _gateway_response(response: dict[str, Any]) -> dict[str, Any]:
    """One entry of x-amazon-apigateway-gateway-responses, in AWS's documented shape (statusCode,
    responseParameters, responseTemplates: https://docs.aws.amazon.com/apigateway/latest/developerguide/
    api-gateway-swagger-extensions-gateway-responses.gatewayResponse.html)."""
    out: dict[str, Any] = {}
    if response.get("statusCode"):
        out["statusCode"] = str(response["statusCode"])
    for key in ("responseParameters", "responseTemplates"):
        if response.get(key):
            out[key] = dict(response[key])
    return out


def _security_scheme(authorizer: Authorizer) -> dict[str, Any]:
    """A Lambda authorizer as API Gateway exports it (apiKey scheme with x-amazon-apigateway-authorizer)."""
    source = authorizer.identity_source or ""
    header = source[len("method.request.header."):] if source.startswith("method.request.header.") else "Unused"
    extension: dict[str, Any] = {"type": authorizer.type.lower(), "authorizerUri": authorizer.authorizer_uri,
                                 "authorizerResultTtlInSeconds": authorizer.result_ttl_in_seconds}
    if authorizer.type.upper() == "REQUEST" and source:
        extension["identitySource"] = source
    if authorizer.identity_validation_expression:
        extension["identityValidationExpression"] = authorizer.identity_validation_expression
    return {"type": "apiKey", "name": header, "in": "header", AUTHTYPE: "custom", AUTHORIZER: extension}
