"""OpenAPI 3 with `x-amazon-apigateway-integration`, in (ImportRestApi) and out (GetExport)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import yaml

from emulator.apigateway.model import Authorizer, Integration, IntegrationResponse, Method, Resource, RestApi
from emulator.gateway_response_rules import RESPONSE_TYPES, status_code_error
from emulator.integration_rules import integration_parameters_error

ANY_METHOD = "x-amazon-apigateway-any-method"
INTEGRATION = "x-amazon-apigateway-integration"
BINARY_TYPES = "x-amazon-apigateway-binary-media-types"
AUTHORIZER = "x-amazon-apigateway-authorizer"
AUTHTYPE = "x-amazon-apigateway-authtype"
GATEWAY_RESPONSES = "x-amazon-apigateway-gateway-responses"
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


def rest_api_from_openapi(document: dict[str, Any], id_factory: Callable[[], str]) -> RestApi:
    """Build a RestApi (resources, methods, integrations, binary media types) from a document. An integration
    mapping a method request parameter its operation does not declare fails the import, in AWS's words (answered
    to Testlio/lambda-tools issue 56: "Errors found during import: Unable to put integration on 'GET' for resource
    at path '/': Invalid mapping expression specified: ... [Invalid mapping expression parameter specified:
    method.request.header.Authorization]")."""
    info = document.get("info") or {}
    api = RestApi(id_factory(), str(info.get("title", "imported")), str(info.get("description", "")),
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
            parameters = _declared_parameters(item, operation)
            problem = integration_parameters_error(integration.request_parameters, parameters) if integration \
                else None
            if problem is not None:  # the whole import fails, as PutIntegration would have refused the method
                raise OpenApiError(f"Errors found during import:\n\tUnable to put integration on '{method_name}' for "
                                   f"resource at path '{resource.path}': {problem}")
            resource.methods[method_name] = Method(method_name, integration,
                                                   "CUSTOM" if authorizer_name else "NONE",
                                                   operation_name=operation.get("operationId"),
                                                   request_parameters=parameters,
                                                   authorizer_id=ids.get(authorizer_name or ""))
    return api


_LOCATIONS = {"path": "path", "query": "querystring", "header": "header"}


def _declared_parameters(item: dict[str, Any], operation: dict[str, Any]) -> dict[str, bool]:
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
                          with_integrations: bool = True) -> dict[str, Any]:
    """An OpenAPI 3.0.1 document for a deployment's resources, as API Gateway exports it."""
    paths: dict[str, Any] = {}
    for resource in sorted(resources.values(), key=lambda item: item.path):
        if not resource.methods:
            continue
        item: dict[str, Any] = {}
        for name, method in resource.methods.items():
            operation: dict[str, Any] = {"responses": {"200": {"description": "200 response"}}}
            parameters = _parameters_out(resource.path, method.request_parameters)
            if parameters:
                operation["parameters"] = parameters
            if method.operation_name:
                operation["operationId"] = method.operation_name
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
    if api.authorizers:
        document["components"] = {"securitySchemes": {
            authorizer.name: _security_scheme(authorizer) for authorizer in api.authorizers.values()}}
    if with_integrations and api.gateway_responses:
        document[GATEWAY_RESPONSES] = {kind: _gateway_response(response)
                                       for kind, response in api.gateway_responses.items()}
    return document


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
