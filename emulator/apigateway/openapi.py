"""OpenAPI 3 with `x-amazon-apigateway-integration`, in (ImportRestApi) and out (GetExport)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import yaml

from emulator.apigateway.model import Integration, IntegrationResponse, Method, Resource, RestApi

ANY_METHOD = "x-amazon-apigateway-any-method"
INTEGRATION = "x-amazon-apigateway-integration"
BINARY_TYPES = "x-amazon-apigateway-binary-media-types"
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


def rest_api_from_openapi(document: dict[str, Any], id_factory: Callable[[], str]) -> RestApi:
    """Build a RestApi (resources, methods, integrations, binary media types) from a document."""
    info = document.get("info") or {}
    api = RestApi(id_factory(), str(info.get("title", "imported")), str(info.get("description", "")),
                  list(document.get(BINARY_TYPES) or []))
    api.add_resource_path("/", id_factory=lambda: id_factory()[:6])
    for path, item in (document.get("paths") or {}).items():
        resource = api.add_resource_path(path, id_factory=lambda: id_factory()[:6])
        for key, operation in (item or {}).items():
            method_name = "ANY" if key == ANY_METHOD else key.upper() if key in _METHODS else None
            if method_name is None or not isinstance(operation, dict):
                continue
            extension = operation.get(INTEGRATION)
            integration = integration_from_extension(extension, f"paths.{path}.{key}") if extension else None
            resource.methods[method_name] = Method(method_name, integration,
                                                   operation_name=operation.get("operationId"))
    return api


def _integration_extension(integration: Integration) -> dict[str, Any]:
    extension: dict[str, Any] = {"type": integration.type.lower(), "httpMethod": integration.http_method or "POST",
                                 "passthroughBehavior": integration.passthrough_behavior.lower(),
                                 "timeoutInMillis": integration.timeout_in_millis}
    if integration.uri:
        extension["uri"] = integration.uri
    if integration.request_templates:
        extension["requestTemplates"] = integration.request_templates
    if integration.integration_responses:
        extension["responses"] = {
            (response.selection_pattern or "default"): {"statusCode": response.status_code,
                                                        **({"responseTemplates": response.response_templates}
                                                           if response.response_templates else {})}
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
        parameters = [part[1:-1].rstrip("+") for part in resource.path.split("/") if part.startswith("{")]
        for name, method in resource.methods.items():
            operation: dict[str, Any] = {"responses": {"200": {"description": "200 response"}}}
            if parameters:
                operation["parameters"] = [{"name": parameter, "in": "path", "required": True,
                                            "schema": {"type": "string"}} for parameter in parameters]
            if method.operation_name:
                operation["operationId"] = method.operation_name
            if with_integrations and method.integration is not None:
                operation[INTEGRATION] = _integration_extension(method.integration)
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
    return document
