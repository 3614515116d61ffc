"""OpenAPI 3 (or Swagger 2) documents with `x-amazon-apigateway-integration`, plus a companion for functions.

An API Gateway export holds resources, methods and integrations, but no functions and no stage variables. They come
from a companion lambda-canary config: `--functions FILE` (load_any(..., functions=FILE)), else `<stem>.functions.yaml`
beside the document. The companion is a canary.yaml with region, accountId, backend and functions, and optionally
`restApis.<info.title>` with deployments and stages but no resources (those come from the document). When the
companion has no stages, one stage is made (named by --stage, else the export's `servers[0]` basePath default, else
`prod`) serving deployment `d1`, without variables.
"""

from __future__ import annotations

import copy
import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from emulator.apigateway.model import EMPTY_MODEL_SCHEMA, ERROR_MODEL_SCHEMA
from emulator.apigateway.openapi import (
    ANY_METHOD,
    BINARY_TYPES,
    GATEWAY_RESPONSES,
    INTEGRATION,
    VALIDATOR,
    VALIDATORS,
    OpenApiError,
    authorizers_from_document,
    declared_parameters,
    document_schemas,
    gateway_responses_from_document,
    integration_from_extension,
    operation_authorizer,
    operation_request_models,
    operation_request_validator,
    request_validators_from_document,
    schema_with_model_urls,
)
from emulator.config import DEFAULT_MODELS, CanaryConfig, format_validation_error, stable_api_id
from emulator.errors import UserError
from emulator.formats.translation import Translation, dotted
from emulator.integration_rules import method_request_sources
from emulator.yaml_source import KeyPath, load_yaml

_METHODS = ("get", "post", "put", "patch", "delete", "head", "options")
_PATH_ITEM_KEYS = ("parameters", "summary", "description", "servers")
Where = Callable[[KeyPath], tuple[int | None, KeyPath]]


def companion_path(path: Path) -> Path:
    """The default companion of an OpenAPI document: `<stem>.functions.yaml` beside it."""
    return path.with_name(f"{path.stem}.functions.yaml")


def translate_paths(document: dict[str, Any], out: Translation, api_path: KeyPath, where: Where) -> dict[str, Any]:
    """Our `resources:` block from a document's paths; lines are recorded through `where` (document key paths)."""
    resources: dict[str, Any] = {}
    authorizers = authorizers_from_document(document)
    for key in document:
        if key.startswith("x-amazon-apigateway-") and key not in (BINARY_TYPES, GATEWAY_RESPONSES, VALIDATORS,
                                                                  VALIDATOR):
            out.note(f"{key}: not emulated (ignored)")
    for route, item in (document.get("paths") or {}).items():
        if not isinstance(item, dict):
            continue
        for key, operation in item.items():
            source = ("paths", route, key)
            if key == ANY_METHOD:
                verb = "ANY"
            elif key in _METHODS:
                verb = key.upper()
            else:
                if key not in _PATH_ITEM_KEYS:
                    out.note(f"{dotted(source)}: not an HTTP method (ignored)")
                continue
            extension = operation.get(INTEGRATION) if isinstance(operation, dict) else None
            if not extension:
                out.note(f"{dotted(source)}: no {INTEGRATION}; API Gateway cannot deploy a method without an "
                         "integration (skipped)")
                continue
            try:
                integration = integration_from_extension(extension, dotted(source))
            except OpenApiError as error:
                out.note(f"{error} (skipped)")
                continue
            if integration.type not in ("AWS_PROXY", "AWS", "HTTP_PROXY", "HTTP", "MOCK") or (
                    integration.type == "AWS" and ":lambda:path/" not in (integration.uri or "")):
                out.note(f"{dotted(source)}: integration type {integration.type} is not emulated (skipped)")
                continue
            for extra in ("credentials", "cacheKeyParameters", "contentHandling"):
                if extension.get(extra):
                    out.note(f"{dotted(source)}.{INTEGRATION}.{extra}: not emulated (ignored)")
            entry: dict[str, Any] = {"type": integration.type,
                                     "integrationHttpMethod": integration.http_method or "POST",
                                     "timeoutInMillis": integration.timeout_in_millis}
            if integration.uri:
                entry["uri"] = integration.uri
            if integration.request_templates:
                entry["requestTemplates"] = integration.request_templates
            if integration.request_parameters:
                entry["requestParameters"] = integration.request_parameters
            if integration.type in ("AWS", "HTTP", "MOCK") and integration.passthrough_behavior != "WHEN_NO_MATCH":
                entry["passthroughBehavior"] = integration.passthrough_behavior
            responses = {status: {key: value for key, value in (("selectionPattern", response.selection_pattern),
                                                                  ("responseTemplates", response.response_templates),
                                                                  ("responseParameters", response.response_parameters))
                                  if value}
                         for status, response in integration.integration_responses.items()}
            if responses and integration.type in ("MOCK", "AWS", "HTTP"):
                entry["integrationResponses"] = responses
            method: dict[str, Any] = {"integration": entry}
            authorizer = operation_authorizer(document, operation, authorizers) if isinstance(operation, dict) \
                else None
            if authorizer:
                method["authorizer"] = authorizer
            if isinstance(operation, dict) and operation.get("operationId"):
                method["operationName"] = str(operation["operationId"])
            if isinstance(operation, dict):
                _request_checks(document, item, operation, method, dotted(source), out.source)
            resources.setdefault(route, {})[verb] = method
            out_path = (*api_path, "resources", route, verb)
            for suffix, source_suffix in (((), ()), (("integration",), (INTEGRATION,)),
                                          (("integration", "uri"), (INTEGRATION, "uri"))):
                line, source_key = where((*source, *source_suffix))
                out.put((*out_path, *suffix), line, source_key)
    return resources


def _request_checks(document: dict[str, Any], item: dict[str, Any], operation: dict[str, Any],
                    method: dict[str, Any], where: str, source: Path) -> None:
    """A method's requestValidator, requestModels and requestParameters from its operation, as ImportRestApi
    reads them (emulator/apigateway/openapi.py): the declared parameters, except path parameters (always present)
    and those only the integration's mapping declares (the config declares those itself)."""
    try:
        validator = operation_request_validator(document, operation, where)
        models = operation_request_models(document, operation, where)
    except OpenApiError as error:
        raise UserError(f"{source}: {error}") from None
    if validator:
        method["requestValidator"] = validator
    if models:
        method["requestModels"] = models
    mapped = method_request_sources(method["integration"].get("requestParameters") or {})
    parameters = {key: required for key, required in declared_parameters(item, operation).items()
                  if not key.startswith("method.request.path.") and (required or key not in mapped)}
    if parameters:
        method["requestParameters"] = parameters


def _models(document: dict[str, Any], api_id: str, out: Translation) -> dict[str, Any]:
    """The config's `models` from the document's schemas (`$ref`s as model URLs of the API), AWS's default Empty
    and Error aside (every config API has them)."""
    models: dict[str, Any] = {}
    for name, schema in document_schemas(document).items():
        if name in DEFAULT_MODELS:
            default = json.loads(EMPTY_MODEL_SCHEMA if name == "Empty" else ERROR_MODEL_SCHEMA)
            default.pop("$schema", None)
            if {key: value for key, value in schema.items() if key != "$schema"} != default:
                out.note(f"schema {name}: AWS's default model {name} of every API is used (the document's differs)")
            continue
        models[name] = {"schema": schema_with_model_urls(schema, api_id)}
        if isinstance(schema.get("description"), str):
            models[name]["description"] = schema["description"]
    return models


def _base_path(document: dict[str, Any]) -> str | None:
    servers = document.get("servers") or []
    if servers and isinstance(servers[0], dict):
        default = ((servers[0].get("variables") or {}).get("basePath") or {}).get("default")
        if default:
            return str(default).strip("/") or None
    return None


def load_openapi(path: Path, *, stage: str | None = None, functions: Path | None = None) -> Translation:
    """Translate an OpenAPI document plus its companion config."""
    document = load_yaml(path)
    data = document.data
    if not isinstance(data, dict) or not ("openapi" in data or "swagger" in data):
        raise UserError(f"{path}: not an OpenAPI document (no `openapi:` or `swagger:` key)")
    companion_file = functions or companion_path(path)
    if not companion_file.is_file():
        raise UserError(f"{path}: an OpenAPI document carries no functions; put them in a companion lambda-canary "
                        f"config ({companion_path(path).name} beside it, or --functions FILE)")
    companion = load_yaml(companion_file)
    if not isinstance(companion.data, dict):
        raise UserError(f"{companion_file}: the companion must be a mapping with `functions`")
    title = str((data.get("info") or {}).get("title") or path.stem)
    apis = companion.data.get("restApis") or {}
    if len(apis) > 1 or (apis and title not in apis):
        raise UserError(f"{companion.where(('restApis',))}: restApis: the companion may describe one API, named as "
                        f"the document's info.title ({title!r})")
    api = copy.deepcopy(apis.get(title) or {})
    if api.get("resources"):
        raise UserError(f"{companion.where(('restApis', title, 'resources'))}: restApis.{title}.resources: the "
                        f"resources come from {path.name}; remove them from the companion")
    try:
        CanaryConfig.model_validate(companion.data)
    except ValidationError as error:
        raise UserError(format_validation_error(companion, error)) from None
    out = Translation(path, "openapi")
    out.data = {key: copy.deepcopy(value) for key, value in companion.data.items() if key != "restApis"}
    base = Path(companion_file).resolve().parent
    for name, function in (out.data.get("functions") or {}).items():
        if isinstance(function, dict):
            code = (base / str(function.get("code", "."))).resolve()
            function["code"] = os.path.relpath(code, path.resolve().parent)
            for key in ("", *function):
                suffix = (key,) if key else ()
                out.put_elsewhere(("functions", name, *suffix), companion_file,
                                  companion.line_of(("functions", name, *suffix)), ("functions", name, *suffix))
    out.put(("restApis", title), document.lines.get(("paths",)), ("paths",))
    for stage_name in api.get("stages") or {}:
        stage_path = ("restApis", title, "stages", stage_name)
        out.put_elsewhere(stage_path, companion_file, companion.line_of(stage_path), stage_path)
    api["resources"] = translate_paths(data, out, ("restApis", title),
                                       lambda key_path: (document.line_of(key_path), key_path))
    try:
        validators = request_validators_from_document(data)
    except OpenApiError as error:
        raise UserError(f"{path}: {error}") from None
    if validators:  # the companion's of the same name win
        api["requestValidators"] = {**validators, **(api.get("requestValidators") or {})}
    models = _models(data, str(api.get("id") or stable_api_id(title)), out)
    if models:  # the companion keeps what the document cannot say (a model's contentType): its win
        api["models"] = {**models, **(api.get("models") or {})}
    if authorizers_from_document(data):
        api["authorizers"] = authorizers_from_document(data)
    if gateway_responses_from_document(data):
        api["gatewayResponses"] = gateway_responses_from_document(data)
        out.put(("restApis", title, "gatewayResponses"), document.line_of((GATEWAY_RESPONSES,)), (GATEWAY_RESPONSES,))
    if data.get("info", {}).get("description") and "description" not in api:
        api["description"] = str(data["info"]["description"])
    if data.get(BINARY_TYPES):
        api["binaryMediaTypes"] = list(data[BINARY_TYPES])
    if not api.get("stages"):
        stage_name = stage or _base_path(data) or "prod"
        api.setdefault("deployments", {}).setdefault("d1", {})
        api["stages"] = {stage_name: {"deploymentId": "d1"}}
        out.note(f"{companion_file.name} has no stages: made stage {stage_name} serving deployment d1, without "
                 "stage variables")
    out.data["restApis"] = {title: api}
    return out
