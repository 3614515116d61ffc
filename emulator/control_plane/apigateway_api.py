"""The API Gateway (2015-07-09) control-plane operations over ApiGatewayState.

Checks, error types and messages follow AWS (reference §1.1 and §2: canary creation, patch operations,
promotion). Every change is visible to the data plane on the next request.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable, Iterator
from typing import Any

from emulator.apigateway import openapi
from emulator.apigateway.gateway_responses import DEFAULT_GATEWAY_TEMPLATES, GATEWAY_RESPONSE_STATUS, effective
from emulator.apigateway.integration_response import pattern_problem
from emulator.apigateway.model import (
    ApiGatewayState,
    Authorizer,
    CanarySettings,
    Deployment,
    Integration,
    IntegrationResponse,
    Method,
    Model,
    RequestValidator,
    Resource,
    RestApi,
    Stage,
    default_models,
    new_id,
    now,
)
from emulator.control_plane.protocol import AwsError, RawResponse
from emulator.integration_rules import (
    MISSING_CANARY_DEPLOYMENT,
    integration_parameters_error,
    integration_uri_error,
    method_parameter_error,
)
from emulator.stage_variables import StageVariableError, name_error, validate_variables, value_error

PASSTHROUGH_BEHAVIORS = ("WHEN_NO_MATCH", "WHEN_NO_TEMPLATES", "NEVER")
CANARY_PATHS = ("/canarySettings/percentTraffic", "/canarySettings/deploymentId", "/canarySettings/useStageCache",
                "/canarySettings/stageVariableOverrides")
# UpdateStage's list of paths, as AWS prints it (its missing commas included). Recorded: LocalStack's AWS-validated
# test_apigateway_common.py::TestStages::test_create_update_stages (localstack/localstack@8b9a79f).
STAGE_PATHS = (
    "[/deploymentId, /description, /cacheClusterEnabled, /cacheClusterSize, /clientCertificateId, /accessLogSettings, "
    "/accessLogSettings/destinationArn, /accessLogSettings/format, /{resourcePath}/{httpMethod}/metrics/enabled, "
    "/{resourcePath}/{httpMethod}/logging/dataTrace, /{resourcePath}/{httpMethod}/logging/loglevel, "
    "/{resourcePath}/{httpMethod}/throttling/burstLimit/{resourcePath}/{httpMethod}/throttling/rateLimit"
    "/{resourcePath}/{httpMethod}/caching/ttlInSeconds, /{resourcePath}/{httpMethod}/caching/enabled, "
    "/{resourcePath}/{httpMethod}/caching/dataEncrypted, "
    "/{resourcePath}/{httpMethod}/caching/requireAuthorizationForCacheControl, "
    "/{resourcePath}/{httpMethod}/caching/unauthorizedCacheControlHeaderStrategy, /*/*/metrics/enabled, "
    "/*/*/logging/dataTrace, /*/*/logging/loglevel, /*/*/throttling/burstLimit /*/*/throttling/rateLimit "
    "/*/*/caching/ttlInSeconds, /*/*/caching/enabled, /*/*/caching/dataEncrypted, "
    "/*/*/caching/requireAuthorizationForCacheControl, /*/*/caching/unauthorizedCacheControlHeaderStrategy, "
    "/variables/{variable_name}, /tracingEnabled]")
# A method setting as AWS first shows it (same recording).
DEFAULT_METHOD_SETTING: dict[str, Any] = {
    "metricsEnabled": False, "dataTraceEnabled": False, "throttlingBurstLimit": 5000,
    "throttlingRateLimit": 10000.0, "cachingEnabled": False, "cacheTtlInSeconds": 300,
    "cacheDataEncrypted": False, "requireAuthorizationForCacheControl": True,
    "unauthorizedCacheControlHeaderStrategy": "SUCCEED_WITH_RESPONSE_HEADER"}
METHOD_SETTING_FIELDS: dict[str, tuple[str, type]] = {
    "metrics/enabled": ("metricsEnabled", bool), "logging/dataTrace": ("dataTraceEnabled", bool),
    "logging/loglevel": ("loggingLevel", str), "throttling/burstLimit": ("throttlingBurstLimit", int),
    "throttling/rateLimit": ("throttlingRateLimit", float), "caching/ttlInSeconds": ("cacheTtlInSeconds", int),
    "caching/enabled": ("cachingEnabled", bool), "caching/dataEncrypted": ("cacheDataEncrypted", bool),
    "caching/requireAuthorizationForCacheControl": ("requireAuthorizationForCacheControl", bool),
    "caching/unauthorizedCacheControlHeaderStrategy": ("unauthorizedCacheControlHeaderStrategy", str)}


def invalid_stage_path(path: str) -> str:
    """UpdateStage's message for a path it does not know."""
    return f"Invalid method setting path: {path}. Must be one of: {STAGE_PATHS}"


def method_setting_target(path: str) -> tuple[str, str | None] | None:
    """(`resource/METHOD` key, setting or None for the whole method) for a method-setting patch path."""
    parts = path.lstrip("/").split("/")
    if len(parts) == 2 and parts[0] and parts[1]:
        return f"{_unescape(parts[0]).lstrip('/')}/{parts[1]}", None
    if len(parts) == 4 and f"{parts[2]}/{parts[3]}" in METHOD_SETTING_FIELDS:
        return f"{_unescape(parts[0]).lstrip('/')}/{parts[1]}", f"{parts[2]}/{parts[3]}"
    return None


# CreateModel's and UpdateModel's answer to a missing or empty schema (recorded: test_model_validation).
EMPTY_SCHEMA = "Model schema must have at least 1 property or array items defined"
COPY_PAIRS = {"/canarySettings/stageVariableOverrides": "/variables", "/canarySettings/deploymentId": "/deploymentId"}


def bad_request(message: str) -> AwsError:
    """BadRequestException (400)."""
    return AwsError("BadRequestException", message, 400)


def not_found(message: str) -> AwsError:
    """NotFoundException (404)."""
    return AwsError("NotFoundException", message, 404)


_METHOD_SCALARS = ("/operationName", "/apiKeyRequired", "/authorizationType", "/authorizerId", "/requestValidatorId")


def _method_authorizer(api: RestApi, authorization_type: str, authorizer_id: str | None) -> str | None:
    """The authorizer a method keeps: CUSTOM and COGNITO_USER_POOLS need one of the API's, any other type keeps
    none (both recorded: LocalStack's AWS-validated test_update_method_validation, localstack/localstack@8b9a79f)."""
    if authorization_type not in ("CUSTOM", "COGNITO_USER_POOLS"):
        return None
    if authorizer_id not in api.authorizers:
        raise bad_request("Invalid authorizer ID specified. Setting the authorization type to CUSTOM or "
                          "COGNITO_USER_POOLS requires a valid authorizer.")
    return authorizer_id


def _check_validator(api: RestApi, validator_id: str | None) -> None:
    """A method's requestValidatorId names one of the API's request validators (recorded: LocalStack's AWS-validated
    test_update_method_validation, "wrong-req-validator-id", localstack/localstack@8b9a79f)."""
    if validator_id is not None and validator_id not in api.request_validators:
        raise bad_request("Invalid Request Validator identifier specified")


def _check_model(api: RestApi, model_name: Any) -> None:
    """A method's requestModels name models of the API (AWS's answer as LocalStack's provider gives it for
    test_put_method_model's models, localstack/localstack@8b9a79f)."""
    if model_name not in api.models:
        raise bad_request(f"Invalid model identifier specified: {model_name}")


def _patch_entry(entries: dict[str, Any], op: str | None, name: str, path: str, value: Any,
                 missing: AwsError | None = None) -> None:
    """One patch operation on an entry of a map member (`/requestParameters/{name}` and the like): add or replace
    sets it, remove deletes it; with `missing`, replacing or removing an entry that is not there raises that."""
    if missing is not None and op in ("replace", "remove") and name not in entries:
        raise missing
    if op in ("add", "replace"):
        entries[name] = value
    elif op == "remove":
        entries.pop(name, None)
    else:
        raise bad_request(f"Invalid patch operation specified. Must be 'add'|'remove'|'replace' for path {path}")


def _unescape(segment: str) -> str:
    """JSON-pointer unescaping used in patch paths (`~1` is `/`, `~0` is `~`)."""
    return segment.replace("~1", "/").replace("~0", "~")


# ---- shapes out ------------------------------------------------------------------------------
def integration_out(integration: Integration) -> dict[str, Any]:
    """Integration as AWS returns it."""
    return {
        "credentials": integration.credentials,
        "connectionType": "INTERNET" if integration.type in ("HTTP", "HTTP_PROXY") else None,
        "type": integration.type, "httpMethod": integration.http_method, "uri": integration.uri,
        "timeoutInMillis": integration.timeout_in_millis, "passthroughBehavior": integration.passthrough_behavior,
        "cacheNamespace": integration.cache_namespace, "cacheKeyParameters": [],
        "requestTemplates": integration.request_templates or None,
        "requestParameters": integration.request_parameters or None,
        "integrationResponses": {
            status: integration_response_out(response) for status, response in integration.integration_responses.items()
        } or None,
    }


def authorizer_out(authorizer: Authorizer) -> dict[str, Any]:
    """Authorizer as AWS returns it."""
    out: dict[str, Any] = {
        "id": authorizer.id, "name": authorizer.name, "type": authorizer.type,
        "authorizerUri": authorizer.authorizer_uri, "identitySource": authorizer.identity_source,
        "identityValidationExpression": authorizer.identity_validation_expression,
        "authorizerResultTtlInSeconds": authorizer.result_ttl_in_seconds,
        "authorizerCredentials": authorizer.authorizer_credentials,
        "providerARNs": authorizer.provider_arns or None, "authType": authorizer.auth_type,
    }
    return {key: value for key, value in out.items() if value is not None}


def integration_response_out(response: IntegrationResponse) -> dict[str, Any]:
    """IntegrationResponse as AWS returns it."""
    return {"statusCode": response.status_code, "responseTemplates": response.response_templates or None,
            "responseParameters": response.response_parameters or None,
            "selectionPattern": response.selection_pattern}


def method_out(method: Method) -> dict[str, Any]:
    """Method as AWS returns it."""
    return {
        "httpMethod": method.http_method, "authorizationType": method.authorization_type,
        "authorizerId": method.authorizer_id,
        "apiKeyRequired": method.api_key_required, "operationName": method.operation_name,
        "requestValidatorId": method.request_validator_id,
        "requestParameters": method.request_parameters or None,
        "requestModels": method.request_models or None,
        "methodResponses": method.method_responses or None,
        "methodIntegration": integration_out(method.integration) if method.integration else None,
    }


def _replacements(params: dict[str, Any], paths: tuple[str, ...]) -> Iterator[tuple[str, Any]]:
    """Each (path, value) of a patch that may only replace `paths`, checked as it comes; another op or path is
    refused in AWS's words (recorded in LocalStack's AWS-validated test_update_resource_behaviour, test_update_model
    and test_invalid_update_request_validator_operations, localstack/localstack@8b9a79f)."""
    for operation in params.get("patchOperations") or []:
        op, path = operation.get("op"), operation.get("path", "")
        if op != "replace":
            raise bad_request(f"Invalid patch path  '{path}' specified for op '{op}'. Please choose supported "
                              "operations")
        if path not in paths:
            raise bad_request(f"Invalid patch path  '{path}' specified for op 'replace'. Must be one of: "
                              f"[{', '.join(paths)}]")
        yield path, operation.get("value")


def _check_path_part(part: str) -> None:
    """CreateResource's (and UpdateResource's) rule for a path part's braces."""
    if "{" in part and not (part.startswith("{") and part.endswith("}")):
        raise bad_request("Resource's path part only allow a-zA-Z0-9._- and curly braces at the beginning and "
                          "the end and an optional plus sign before the closing brace.")


def model_out(model: Model) -> dict[str, Any]:
    """Model as AWS returns it (no description when it is empty: recorded, test_put_method_model)."""
    return {"id": model.id, "name": model.name, "contentType": model.content_type, "schema": model.schema,
            "description": model.description or None}


def request_validator_out(validator: RequestValidator) -> dict[str, Any]:
    """RequestValidator as AWS returns it."""
    return {"id": validator.id, "name": validator.name, "validateRequestBody": validator.validate_request_body,
            "validateRequestParameters": validator.validate_request_parameters}


def resource_out(resource: Resource, embed_methods: bool = False) -> dict[str, Any]:
    """Resource as AWS returns it."""
    out: dict[str, Any] = {"id": resource.id, "path": resource.path}
    if resource.parent_id:
        out["parentId"] = resource.parent_id
    if resource.path_part:
        out["pathPart"] = resource.path_part
    if resource.methods:
        out["resourceMethods"] = {name: (method_out(method) if embed_methods else {})
                                  for name, method in resource.methods.items()}
    return out


def rest_api_out(api: RestApi) -> dict[str, Any]:
    """RestApi as AWS returns it."""
    return {
        "id": api.id, "name": api.name, "description": api.description or None, "createdDate": api.created_date,
        "binaryMediaTypes": api.binary_media_types or None, "apiKeySource": "HEADER",
        # ipAddressType: AWS's answer since 2025 (recorded 02-07-2025: LocalStack's AWS-validated
        # test_request_validator_lifecycle, "create-rest-api", localstack/localstack@8b9a79f)
        "endpointConfiguration": {"types": api.endpoint_types, "ipAddressType": "ipv4"}, "tags": api.tags or None,
        "rootResourceId": api.root.id, "disableExecuteApiEndpoint": False,
    }


def canary_out(canary: CanarySettings | None) -> dict[str, Any] | None:
    """CanarySettings as GetStage returns them (no stageVariableOverrides key when there are none)."""
    if canary is None:
        return None
    out: dict[str, Any] = {"percentTraffic": canary.percent_traffic, "deploymentId": canary.deployment_id,
                           "useStageCache": canary.use_stage_cache}
    if canary.stage_variable_overrides is not None:
        out["stageVariableOverrides"] = canary.stage_variable_overrides
    return out


def stage_out(stage: Stage) -> dict[str, Any]:
    """Stage as AWS returns it."""
    return {
        "deploymentId": stage.deployment_id, "stageName": stage.name, "description": stage.description or None,
        "cacheClusterEnabled": False, "cacheClusterStatus": "NOT_AVAILABLE",
        "methodSettings": {key: dict(value) for key, value in stage.method_settings.items()},
        "variables": stage.variables or None, "tracingEnabled": stage.tracing_enabled,
        "documentationVersion": stage.documentation_version,
        "canarySettings": canary_out(stage.canary_settings),
        "createdDate": stage.created_date, "lastUpdatedDate": stage.last_updated_date, "tags": stage.tags or None,
    }


def deployment_out(deployment: Deployment) -> dict[str, Any]:
    """Deployment as AWS returns it."""
    return {"id": deployment.id, "description": deployment.description or None,
            "createdDate": deployment.created_date}


def check_variables(variables: dict[str, str] | None) -> None:
    """AWS's stage-variable checks, with AWS's messages, as BadRequestException."""
    try:
        validate_variables(variables or {})
    except StageVariableError as error:
        raise bad_request(str(error)) from None


class ApiGatewayApi:
    """One method per API Gateway operation."""

    def __init__(self, state: ApiGatewayState, lambdas: object = None,
                 on_change: Callable[[], None] | None = None) -> None:
        self.state = state
        self.lambdas = lambdas
        self._on_change = on_change or (lambda: None)

    # ---- lookups -----------------------------------------------------------------------
    def _api(self, params: dict[str, Any]) -> RestApi:
        api = self.state.apis.get(params["restApiId"])
        if api is None:
            raise not_found(f"Invalid API identifier specified {self.state.account_id}:{params['restApiId']}")
        return api

    def _resource(self, api: RestApi, resource_id: str) -> Resource:
        resource = api.resources.get(resource_id)
        if resource is None:
            raise not_found("Invalid Resource identifier specified")
        return resource

    def _method(self, params: dict[str, Any]) -> Method:
        resource = self._resource(self._api(params), params["resourceId"])
        method = resource.methods.get(params["httpMethod"].upper())
        if method is None:
            raise not_found("Invalid Method identifier specified")
        return method

    def _stage(self, api: RestApi, name: str) -> Stage:
        stage = api.stages.get(name)
        if stage is None:
            raise not_found("Invalid stage identifier specified")
        return stage

    def _changed(self) -> None:
        self._on_change()

    # ---- RestApi -----------------------------------------------------------------------
    def CreateRestApi(self, params: dict[str, Any]) -> dict[str, Any]:
        api = RestApi(new_id(), params["name"], params.get("description", ""),
                      list(params.get("binaryMediaTypes") or []), tags=dict(params.get("tags") or {}))
        types = (params.get("endpointConfiguration") or {}).get("types")
        if types:
            api.endpoint_types = list(types)
        api.add_resource_path("/")
        api.models = default_models()  # AWS's Empty and Error (ImportRestApi makes none)
        self.state.apis[api.id] = api
        self._changed()
        return rest_api_out(api)

    def GetRestApi(self, params: dict[str, Any]) -> dict[str, Any]:
        return rest_api_out(self._api(params))

    def GetRestApis(self, params: dict[str, Any]) -> dict[str, Any]:
        return {"items": [rest_api_out(api) for api in self.state.apis.values()]}

    def DeleteRestApi(self, params: dict[str, Any]) -> dict[str, Any]:
        api = self._api(params)
        del self.state.apis[api.id]
        self._changed()
        return {}

    def UpdateRestApi(self, params: dict[str, Any]) -> dict[str, Any]:
        api = self._api(params)
        for operation in params.get("patchOperations") or []:
            op, path, value = operation.get("op"), operation.get("path", ""), operation.get("value")
            if path == "/name" and op == "replace":
                api.name = value
            elif path == "/description" and op == "replace":
                api.description = value or ""
            elif path.startswith("/binaryMediaTypes/"):
                media = _unescape(path[len("/binaryMediaTypes/"):])
                if op == "add" and media not in api.binary_media_types:
                    api.binary_media_types.append(media)
                elif op == "remove" and media in api.binary_media_types:
                    api.binary_media_types.remove(media)
                elif op not in ("add", "remove"):
                    raise bad_request(f"Invalid patch operation specified. Must be 'add'|'remove' for path {path}")
            else:
                raise bad_request(f"Invalid patch path {path}")
        self._changed()
        return rest_api_out(api)

    def GetTags(self, params: dict[str, Any]) -> dict[str, Any]:
        arn = params["resourceArn"]
        api_id = arn.rsplit("/restapis/", 1)[-1].split("/", 1)[0]
        api = self.state.apis.get(api_id)
        if api is None:
            raise not_found(f"Invalid resource ARN {arn}")
        if "/stages/" in arn:
            return {"tags": self._stage(api, arn.rsplit("/stages/", 1)[1]).tags}
        return {"tags": api.tags}

    def TagResource(self, params: dict[str, Any]) -> dict[str, Any]:
        arn = params["resourceArn"]
        api_id = arn.rsplit("/restapis/", 1)[-1].split("/", 1)[0]
        api = self.state.apis.get(api_id)
        if api is None:
            raise not_found(f"Invalid resource ARN {arn}")
        target = self._stage(api, arn.rsplit("/stages/", 1)[1]).tags if "/stages/" in arn else api.tags
        target.update(params.get("tags") or {})
        self._changed()
        return {}

    # ---- Resource / Method / Integration ---------------------------------------------------
    def GetResources(self, params: dict[str, Any]) -> dict[str, Any]:
        api = self._api(params)
        embed = "methods" in (params.get("embed") or [])
        return {"items": [resource_out(resource, embed) for resource in api.resources.values()]}

    def GetResource(self, params: dict[str, Any]) -> dict[str, Any]:
        api = self._api(params)
        return resource_out(self._resource(api, params["resourceId"]), "methods" in (params.get("embed") or []))

    def CreateResource(self, params: dict[str, Any]) -> dict[str, Any]:
        api = self._api(params)
        parent = self._resource(api, params["parentId"])
        part = params["pathPart"]
        path = parent.path.rstrip("/") + "/" + part
        if api.resource_by_path(path) is not None:
            raise AwsError("ConflictException", f"Another resource with the same parent already has this name: {part}",
                           409)
        _check_path_part(part)
        resource = Resource(new_id(6), path, parent.id, part)
        api.resources[resource.id] = resource
        self._changed()
        return resource_out(resource)

    def DeleteResource(self, params: dict[str, Any]) -> dict[str, Any]:
        api = self._api(params)
        resource = self._resource(api, params["resourceId"])
        doomed = [item.id for item in api.resources.values()
                  if item.path == resource.path or item.path.startswith(resource.path.rstrip("/") + "/")]
        for resource_id in doomed:
            del api.resources[resource_id]
        self._changed()
        return {}

    def UpdateResource(self, params: dict[str, Any]) -> dict[str, Any]:
        """Replace /pathPart or /parentId: the resource and everything under it move, all operations or none.
        Refusals as AWS recorded them in LocalStack's AWS-validated tests/aws/services/apigateway/
        test_apigateway_api.py::TestApiGatewayApiResource::test_update_resource_behaviour and
        test_update_resource_on_root (localstack/localstack@8b9a79f)."""
        api = self._api(params)
        resource = self._resource(api, params["resourceId"])
        part, parent_id = resource.path_part, resource.parent_id
        for path, value in _replacements(params, ("/parentId", "/pathPart")):
            if resource.parent_id is None:
                raise bad_request(f"Root resource cannot update its {path[1:]}.")
            if path == "/pathPart":
                part = str(value or "")
                _check_path_part(part)
            else:
                parent_id = self._resource(api, str(value or "")).id
        assert part is not None and parent_id is not None
        parent = api.resources[parent_id]
        moved = [item for item in api.resources.values()
                 if item is resource or item.path.startswith(resource.path.rstrip("/") + "/")]
        if parent in moved:
            raise bad_request("Resources cannot be cyclical.")
        if any(item.parent_id == parent_id and item.path_part == part and item is not resource
               for item in api.resources.values()):
            raise AwsError("ConflictException", f"Another resource with the same parent already has this name: {part}",
                           409)
        old_prefix, new_path = resource.path, parent.path.rstrip("/") + "/" + part
        for item in moved:
            item.path = new_path + item.path[len(old_prefix):]
        resource.path_part, resource.parent_id = part, parent_id
        self._changed()
        return resource_out(resource)

    def PutMethod(self, params: dict[str, Any]) -> dict[str, Any]:
        api = self._api(params)
        resource = self._resource(api, params["resourceId"])
        http_method = params["httpMethod"].upper()
        if http_method in resource.methods:
            raise AwsError("ConflictException", "Method already exists for this resource", 409)
        authorization_type = params.get("authorizationType", "NONE")
        authorizer_id = _method_authorizer(api, authorization_type, params.get("authorizerId"))
        validator_id = params.get("requestValidatorId") or None
        _check_validator(api, validator_id)
        for model_name in (params.get("requestModels") or {}).values():
            _check_model(api, model_name)
        problem = method_parameter_error(params.get("requestParameters") or {})
        if problem:
            raise bad_request(problem)
        method = Method(http_method, None, authorization_type, params.get("operationName"),
                        bool(params.get("apiKeyRequired", False)), dict(params.get("requestParameters") or {}),
                        authorizer_id=authorizer_id, request_models=dict(params.get("requestModels") or {}),
                        request_validator_id=validator_id)
        resource.methods[http_method] = method
        self._changed()
        return method_out(method)

    def GetMethod(self, params: dict[str, Any]) -> dict[str, Any]:
        return method_out(self._method(params))

    def UpdateMethod(self, params: dict[str, Any]) -> dict[str, Any]:
        """Patch paths (AWS's recorded answers: LocalStack's AWS-validated test_update_method and
        test_update_method_validation, localstack/localstack@8b9a79f): replace /operationName, /apiKeyRequired,
        /authorizationType, /authorizerId, /requestValidatorId; add, replace or remove /requestParameters/{name}
        and /requestModels/{type} (naming one of the API's models). All operations apply, or none."""
        method = copy.deepcopy(self._integration_method(params))  # a missing API is a missing resource here too
        api = self._api(params)
        for operation in params.get("patchOperations") or []:
            op, path, value = operation.get("op"), operation.get("path") or "", operation.get("value")
            group, slash, name = path[1:].partition("/")
            if group in ("requestParameters", "requestModels") and slash and "/" not in name:
                target: dict[str, Any] = (method.request_parameters if group == "requestParameters"
                                          else method.request_models)
                if group == "requestModels" and op in ("add", "replace"):
                    _check_model(api, value)
                _patch_entry(target, op, _unescape(name), path,
                             str(value).lower() == "true" if group == "requestParameters" else value or "")
                continue
            if path not in _METHOD_SCALARS:
                raise bad_request(f"Invalid patch path {path}")
            if op != "replace":
                raise bad_request("Invalid patch operation specified. Must be one of: [replace]")
            if path == "/operationName":
                method.operation_name = value or None
            elif path == "/apiKeyRequired":
                method.api_key_required = str(value).lower() == "true"  # anything else is false (recorded)
            elif path == "/authorizationType":
                method.authorization_type = value or "NONE"
            elif path == "/authorizerId":
                method.authorizer_id = value or None
            else:  # /requestValidatorId: an empty value removes it (recorded: test_update_method_validation)
                _check_validator(api, value or None)
                method.request_validator_id = value or None
        method.authorizer_id = _method_authorizer(api, method.authorization_type, method.authorizer_id)
        problem = method_parameter_error(method.request_parameters)
        if problem:
            raise bad_request(problem)
        self._resource(api, params["resourceId"]).methods[method.http_method] = method
        self._changed()
        return method_out(method)

    def DeleteMethod(self, params: dict[str, Any]) -> dict[str, Any]:
        resource = self._resource(self._api(params), params["resourceId"])
        if resource.methods.pop(params["httpMethod"].upper(), None) is None:
            raise not_found("Invalid Method identifier specified")
        self._changed()
        return {}

    def PutMethodResponse(self, params: dict[str, Any]) -> dict[str, Any]:
        method = self._method(params)
        response = {"statusCode": params["statusCode"], "responseModels": params.get("responseModels"),
                    "responseParameters": params.get("responseParameters")}
        method.method_responses[params["statusCode"]] = response
        self._changed()
        return response

    def _integration_method(self, params: dict[str, Any], *, missing_method: str = "Method") -> Method:
        """The method of an integration operation: AWS answers a missing API as a missing resource here."""
        api = self.state.apis.get(params["restApiId"])
        if api is None:
            raise not_found("Invalid Resource identifier specified")
        method = self._resource(api, params["resourceId"]).methods.get(params["httpMethod"].upper())
        if method is None:
            raise not_found(f"Invalid {missing_method} identifier specified")
        return method

    def _integration(self, params: dict[str, Any], *, missing_method: str = "Integration") -> Integration:
        method = self._integration_method(params, missing_method=missing_method)
        if method.integration is None:
            raise not_found("Invalid Integration identifier specified")
        return method.integration

    def PutIntegration(self, params: dict[str, Any]) -> dict[str, Any]:
        method = self._integration_method(params)
        kind = params["type"]
        uri = params.get("uri")
        if kind in ("AWS", "HTTP", "HTTP_PROXY") and not params.get("integrationHttpMethod"):
            raise bad_request("Enumeration value for HttpMethod must be non-empty")
        if kind in ("AWS_PROXY", "AWS", "HTTP", "HTTP_PROXY") and not uri:
            raise bad_request("Invalid integration URI specified")
        problem = integration_uri_error(kind, uri)
        if problem:
            raise bad_request(problem)
        if kind == "AWS_PROXY" and not params.get("integrationHttpMethod"):
            raise bad_request("Enumeration value for HttpMethod must be non-empty")
        timeout = params.get("timeoutInMillis", 29000)
        if not 50 <= timeout <= 29000:
            raise bad_request("Timeout should be between 50 ms and 29000 ms")
        passthrough = params.get("passthroughBehavior", "WHEN_NO_MATCH")
        if passthrough not in PASSTHROUGH_BEHAVIORS:
            raise bad_request(f"Invalid passthrough behavior specified: {passthrough}")
        problem = integration_parameters_error(params.get("requestParameters") or {}, method.request_parameters)
        if problem:
            raise bad_request(problem)
        method.integration = Integration(
            type=kind, uri=None if kind == "MOCK" else uri,
            http_method=None if kind == "MOCK" else params.get("integrationHttpMethod"), timeout_in_millis=timeout,
            request_templates=dict(params.get("requestTemplates") or {}),
            passthrough_behavior=passthrough,
            request_parameters=dict(params.get("requestParameters") or {}), cache_namespace=params.get("resourceId"),
            credentials=params.get("credentials"))
        self._changed()
        return integration_out(method.integration)

    def GetIntegration(self, params: dict[str, Any]) -> dict[str, Any]:
        return integration_out(self._integration(params, missing_method="Method"))

    def DeleteIntegration(self, params: dict[str, Any]) -> dict[str, Any]:
        method = self._integration_method(params)
        if method.integration is None:
            raise not_found("Invalid Integration identifier specified")
        method.integration = None
        self._changed()
        return {}

    def UpdateIntegration(self, params: dict[str, Any]) -> dict[str, Any]:
        """Replace the scalar paths; add, replace or remove /requestParameters/{name} and /requestTemplates/{type}
        (as the AWS-validated test_apigateway_sqs adds `integration.request.header.Accept`,
        localstack/localstack@8b9a79f), the mappings checked as PutIntegration checks them. All operations apply,
        or none."""
        method = self._integration_method(params)
        integration = copy.deepcopy(self._integration(params, missing_method="Method"))
        mapped: dict[str, object] = {}  # the requestParameters this patch adds or replaces
        for operation in params.get("patchOperations") or []:
            op, path, value = operation.get("op"), operation.get("path") or "", operation.get("value")
            group, slash, name = path[1:].partition("/")
            if group in ("requestParameters", "requestTemplates") and slash:
                target = integration.request_parameters if group == "requestParameters" else \
                    integration.request_templates
                _patch_entry(target, op, _unescape(name), path, value or "")
                if group == "requestParameters":
                    _patch_entry(mapped, op, _unescape(name), path, value)
                continue
            if op != "replace":
                raise bad_request(f"Invalid patch operation specified. Must be one of: [replace] for path {path}")
            if path == "/uri":
                problem = integration_uri_error(integration.type, value)
                if problem:
                    raise bad_request(problem)
                integration.uri = value
            elif path == "/httpMethod":
                integration.http_method = value
            elif path == "/timeoutInMillis":
                integration.timeout_in_millis = int(value)
            elif path == "/passthroughBehavior":
                if value not in PASSTHROUGH_BEHAVIORS:
                    raise bad_request(f"Invalid passthrough behavior specified: {value}")
                integration.passthrough_behavior = value
            elif path == "/credentials":
                integration.credentials = value or None
            else:
                raise bad_request(f"Invalid patch path {path}")
        problem = integration_parameters_error(mapped, method.request_parameters)
        if problem:
            raise bad_request(problem)
        method.integration = integration
        self._changed()
        return integration_out(integration)

    def PutIntegrationResponse(self, params: dict[str, Any]) -> dict[str, Any]:
        integration = self._integration(params, missing_method="Method")
        pattern = params.get("selectionPattern")
        if pattern:
            problem = pattern_problem(pattern)
            if problem:
                raise bad_request(f"Invalid selection pattern specified: {pattern} ({problem})")
        response = IntegrationResponse(params["statusCode"], dict(params.get("responseTemplates") or {}),
                                       dict(params.get("responseParameters") or {}), pattern)
        integration.integration_responses[params["statusCode"]] = response
        self._changed()
        return integration_response_out(response)

    def _integration_response(self, params: dict[str, Any], missing_method: str) -> IntegrationResponse:
        integration = self._integration(params, missing_method=missing_method)
        response = integration.integration_responses.get(params["statusCode"])
        if response is None:
            raise not_found("Invalid Response status code specified")
        return response

    def GetIntegrationResponse(self, params: dict[str, Any]) -> dict[str, Any]:
        return integration_response_out(self._integration_response(params, "Method"))

    def DeleteIntegrationResponse(self, params: dict[str, Any]) -> dict[str, Any]:
        self._integration_response(params, "Integration")
        integration = self._integration(params)
        del integration.integration_responses[params["statusCode"]]
        self._changed()
        return {}

    def UpdateIntegrationResponse(self, params: dict[str, Any]) -> dict[str, Any]:
        """Patch paths: /selectionPattern, /contentHandling, /responseTemplates/{type},
        /responseParameters/{name}."""
        response = copy.deepcopy(self._integration_response(params, "Method"))
        for operation in params.get("patchOperations") or []:
            op, path, value = operation.get("op"), operation.get("path") or "", operation.get("value")
            if path == "/selectionPattern" and op == "replace":
                response.selection_pattern = value
            elif path.startswith(("/responseTemplates/", "/responseParameters/")):
                group, _, name = path[1:].partition("/")
                target = response.response_templates if group == "responseTemplates" else response.response_parameters
                _patch_entry(target, op, _unescape(name), path, value or "")
            else:
                raise bad_request(f"Invalid patch path {path}")
        self._integration(params).integration_responses[params["statusCode"]] = response
        self._changed()
        return integration_response_out(response)

    def UpdateMethodResponse(self, params: dict[str, Any]) -> dict[str, Any]:
        """add, replace or remove /responseParameters/{name} and /responseModels/{type}, answering AWS's recorded
        answers (LocalStack's AWS-validated test_update_method_response, ::test_update_method_wrong_param_names and
        ::test_update_method_lack_response_parameters_and_models, localstack/localstack@8b9a79f): replacing or
        removing an entry that is not there is a 404. All operations apply, or none."""
        method = self._method(params)
        current = method.method_responses.get(params["statusCode"])
        if current is None:
            raise not_found("Invalid Response status code specified")
        response = copy.deepcopy(current)
        for operation in params.get("patchOperations") or []:
            op, path, value = operation.get("op"), operation.get("path") or "", operation.get("value")
            group, slash, name = path[1:].partition("/")
            if group not in ("responseParameters", "responseModels") or not slash:
                raise bad_request(f"Invalid patch path {path}")
            entries: dict[str, Any] = dict(response.get(group) or {})  # type: ignore[call-overload]
            _patch_entry(entries, op, _unescape(name), path,
                         str(value).lower() == "true" if group == "responseParameters" else value or "",
                         missing=not_found("Invalid parameter name specified" if group == "responseParameters"
                                           else "Content-Type specified was not found"))
            response[group] = entries or None
        method.method_responses[params["statusCode"]] = response
        self._changed()
        return response

    def GetMethodResponse(self, params: dict[str, Any]) -> dict[str, Any]:
        response = self._method(params).method_responses.get(params["statusCode"])
        if response is None:
            raise not_found("Invalid Response status code specified")
        return dict(response)

    def DeleteMethodResponse(self, params: dict[str, Any]) -> dict[str, Any]:
        if self._method(params).method_responses.pop(params["statusCode"], None) is None:
            raise not_found("Invalid Response status code specified")
        self._changed()
        return {}

    # ---- Authorizers ---------------------------------------------------------------------
    def CreateAuthorizer(self, params: dict[str, Any]) -> dict[str, Any]:
        api = self._api(params)
        kind = params.get("type", "")
        if kind not in ("TOKEN", "REQUEST", "COGNITO_USER_POOLS"):
            raise bad_request(f"Invalid authorizer type specified: {kind}")
        if kind in ("TOKEN", "REQUEST") and not params.get("authorizerUri"):
            raise bad_request("Authorizer URI is required for authorizer types TOKEN and REQUEST")
        if kind == "TOKEN" and not params.get("identitySource"):
            raise bad_request("Identity source is required for TOKEN authorizers")
        ttl = int(params.get("authorizerResultTtlInSeconds", 300))
        if not 0 <= ttl <= 3600:
            raise bad_request("Authorizer result TTL must be between 0 and 3600 seconds")
        expression = params.get("identityValidationExpression")
        if expression and pattern_problem(expression):
            raise bad_request(f"Invalid identity validation expression specified: {expression}")
        if any(existing.name == params["name"] for existing in api.authorizers.values()):
            raise AwsError("ConflictException", f"Authorizer name {params['name']} already exists", 409)
        authorizer = Authorizer(new_id(6), params["name"], kind, params.get("authorizerUri"),
                                params.get("identitySource"), expression, ttl, params.get("authorizerCredentials"),
                                list(params.get("providerARNs") or []), params.get("authType"))
        api.authorizers[authorizer.id] = authorizer
        self._changed()
        return authorizer_out(authorizer)

    def _authorizer(self, params: dict[str, Any]) -> Authorizer:
        authorizer = self._api(params).authorizers.get(params["authorizerId"])
        if authorizer is None:
            raise not_found("Invalid Authorizer identifier specified")
        return authorizer

    def GetAuthorizer(self, params: dict[str, Any]) -> dict[str, Any]:
        return authorizer_out(self._authorizer(params))

    def GetAuthorizers(self, params: dict[str, Any]) -> dict[str, Any]:
        return {"items": [authorizer_out(authorizer) for authorizer in self._api(params).authorizers.values()]}

    def DeleteAuthorizer(self, params: dict[str, Any]) -> dict[str, Any]:
        api = self._api(params)
        authorizer = self._authorizer(params)
        users = [f"{method.http_method} {resource.path}" for resource in api.resources.values()
                 for method in resource.methods.values() if method.authorizer_id == authorizer.id]
        if users:
            raise AwsError("ConflictException", f"Cannot delete authorizer '{authorizer.name}', is referenced in "
                           f"method: {users[0]}", 409)
        del api.authorizers[authorizer.id]
        self._changed()
        return {}

    def UpdateAuthorizer(self, params: dict[str, Any]) -> dict[str, Any]:
        authorizer = self._authorizer(params)
        fields = {"/name": "name", "/authorizerUri": "authorizer_uri", "/identitySource": "identity_source",
                  "/identityValidationExpression": "identity_validation_expression",
                  "/authorizerCredentials": "authorizer_credentials", "/type": "type"}
        for operation in params.get("patchOperations") or []:
            op, path, value = operation.get("op"), operation.get("path"), operation.get("value")
            if op != "replace":
                raise bad_request(f"Invalid patch operation specified. Must be one of: [replace] for path {path}")
            if path == "/authorizerResultTtlInSeconds":
                ttl = int(value or 0)
                if not 0 <= ttl <= 3600:
                    raise bad_request("Authorizer result TTL must be between 0 and 3600 seconds")
                authorizer.result_ttl_in_seconds = ttl
            elif path in fields:
                setattr(authorizer, fields[path], value)
            else:
                raise bad_request(f"Invalid patch path {path}")
        self._changed()
        return authorizer_out(authorizer)

    # ---- Models --------------------------------------------------------------------------
    # AWS's answers recorded in LocalStack's AWS-validated test_apigateway_api.py::TestApiGatewayApiModels
    # (test_model_lifecycle, test_model_validation, test_update_model) and TestApiGatewayApiMethod::
    # test_put_method_model, localstack/localstack@8b9a79f.
    def _model(self, params: dict[str, Any]) -> tuple[RestApi, Model]:
        """The named model; a missing API is answered as a missing model."""
        api = self.state.apis.get(params["restApiId"])
        model = api.models.get(params["modelName"]) if api is not None else None
        if api is None or model is None:
            raise not_found(f"Invalid model name specified: {params['modelName']}")
        return api, model

    def CreateModel(self, params: dict[str, Any]) -> dict[str, Any]:
        api = self._api(params)
        name = params.get("name") or ""
        if not name:
            raise bad_request("Model name must be non-empty")
        if name in api.models:
            raise AwsError("ConflictException", "Model name already exists for this REST API", 409)
        if not params.get("schema"):
            raise bad_request(EMPTY_SCHEMA)
        model = Model(new_id(6), name, params.get("contentType") or "", params["schema"],
                      params.get("description") or None)
        api.models[name] = model
        self._changed()
        return model_out(model)

    def GetModel(self, params: dict[str, Any]) -> dict[str, Any]:
        return model_out(self._model(params)[1])

    def GetModels(self, params: dict[str, Any]) -> dict[str, Any]:
        return {"items": [model_out(model) for model in self._api(params).models.values()]}

    def UpdateModel(self, params: dict[str, Any]) -> dict[str, Any]:
        """replace /schema or /description; all operations apply, or none."""
        _, model = self._model(params)
        working = copy.deepcopy(model)
        for path, value in _replacements(params, ("/description", "/schema")):
            if path == "/schema":
                if not value:
                    raise bad_request(EMPTY_SCHEMA)
                working.schema = value
            else:
                working.description = value or None
        model.schema, model.description = working.schema, working.description
        self._changed()
        return model_out(model)

    def DeleteModel(self, params: dict[str, Any]) -> dict[str, Any]:
        api, model = self._model(params)
        for resource in reversed(api.resources.values()):  # AWS named the method added last (recorded)
            for method in resource.methods.values():
                if model.name in method.request_models.values():
                    raise AwsError("ConflictException", f"Cannot delete model '{model.name}', is referenced in "
                                   f"method request: {resource.path}/{method.http_method}", 409)
        del api.models[model.name]
        self._changed()
        return {}

    # ---- Request validators ----------------------------------------------------------------
    # AWS's answers recorded in LocalStack's AWS-validated test_apigateway_api.py::TestApiGatewayApiRequestValidator
    # (test_validators_crud_no_api, test_request_validator_lifecycle, test_invalid_get_request_validator(s),
    # test_invalid_delete_request_validator, test_create_request_validator_invalid_api_id,
    # test_invalid_update_request_validator_operations), localstack/localstack@8b9a79f.
    def _request_validator(self, params: dict[str, Any]) -> tuple[RestApi, RequestValidator]:
        """The request validator; a missing API is answered as a missing validator."""
        api = self.state.apis.get(params["restApiId"])
        validator = api.request_validators.get(params["requestValidatorId"]) if api is not None else None
        if api is None or validator is None:
            raise not_found("Invalid Request Validator identifier specified")
        return api, validator

    def CreateRequestValidator(self, params: dict[str, Any]) -> dict[str, Any]:
        api = self.state.apis.get(params["restApiId"])
        if api is None:
            raise bad_request("Invalid REST API identifier specified")
        validator = RequestValidator(new_id(6), params.get("name") or "", bool(params.get("validateRequestBody")),
                                     bool(params.get("validateRequestParameters")))
        api.request_validators[validator.id] = validator
        self._changed()
        return request_validator_out(validator)

    def GetRequestValidator(self, params: dict[str, Any]) -> dict[str, Any]:
        return request_validator_out(self._request_validator(params)[1])

    def GetRequestValidators(self, params: dict[str, Any]) -> dict[str, Any]:
        return {"items": [request_validator_out(validator)
                          for validator in self._api(params).request_validators.values()]}

    def UpdateRequestValidator(self, params: dict[str, Any]) -> dict[str, Any]:
        """replace /name, /validateRequestBody or /validateRequestParameters (a flag without a value is false);
        all operations apply, or none."""
        _, validator = self._request_validator(params)
        working = copy.deepcopy(validator)
        for path, value in _replacements(params, ("/name", "/validateRequestParameters", "/validateRequestBody")):
            if path == "/name":
                if not value:
                    raise bad_request("Request Validator name cannot be blank")
                working.name = value
            elif path == "/validateRequestBody":
                working.validate_request_body = str(value).lower() == "true"
            else:
                working.validate_request_parameters = str(value).lower() == "true"
        validator.name = working.name
        validator.validate_request_body = working.validate_request_body
        validator.validate_request_parameters = working.validate_request_parameters
        self._changed()
        return request_validator_out(validator)

    def DeleteRequestValidator(self, params: dict[str, Any]) -> dict[str, Any]:
        api, validator = self._request_validator(params)
        del api.request_validators[validator.id]
        self._changed()
        return {}

    # ---- Gateway responses ---------------------------------------------------------------
    def _response_type(self, params: dict[str, Any]) -> tuple[RestApi, str]:
        return self._api(params), params["responseType"]

    def PutGatewayResponse(self, params: dict[str, Any]) -> dict[str, Any]:
        api, kind = self._response_type(params)
        api.gateway_responses[kind] = {
            "statusCode": params.get("statusCode"),
            "responseParameters": dict(params.get("responseParameters") or {}),
            "responseTemplates": dict(params.get("responseTemplates") or {})}
        self._changed()
        return effective(api.gateway_responses, kind)

    def GetGatewayResponse(self, params: dict[str, Any]) -> dict[str, Any]:
        api, kind = self._response_type(params)
        return effective(api.gateway_responses, kind)

    def GetGatewayResponses(self, params: dict[str, Any]) -> dict[str, Any]:
        api = self._api(params)
        return {"items": [effective(api.gateway_responses, kind) for kind in GATEWAY_RESPONSE_STATUS]}

    def DeleteGatewayResponse(self, params: dict[str, Any]) -> RawResponse:
        api, kind = self._response_type(params)
        if kind not in api.gateway_responses:
            raise not_found("Gateway response type not defined on api")
        del api.gateway_responses[kind]
        self._changed()
        return RawResponse(b"", {}, 202)

    def UpdateGatewayResponse(self, params: dict[str, Any]) -> dict[str, Any]:
        api, kind = self._response_type(params)
        current = copy.deepcopy(api.gateway_responses.get(kind) or {
            "statusCode": None, "responseParameters": {}, "responseTemplates": {}})
        if current.get("statusCode") is None:
            current["statusCode"] = GATEWAY_RESPONSE_STATUS.get(kind)
        if not current["responseTemplates"]:
            current["responseTemplates"] = dict(DEFAULT_GATEWAY_TEMPLATES)
        for operation in params.get("patchOperations") or []:
            op, path, value = operation.get("op"), operation.get("path"), operation.get("value")
            if path == "/statusCode" and op == "replace":
                current["statusCode"] = value
            elif path and path.startswith(("/responseParameters/", "/responseTemplates/")):
                group, _, name = path[1:].partition("/")
                name = _unescape(name)
                target = current[group]
                if op in ("add", "replace") and not value:
                    raise bad_request(f"Invalid null or empty value in {group}")
                if op == "replace" and name not in target:
                    raise not_found("Invalid parameter name specified")
                if op in ("add", "replace"):
                    target[name] = value
                elif op == "remove":
                    target.pop(name, None)
                else:
                    raise bad_request(f"Invalid patch path {path}")
            else:
                raise bad_request(f"Invalid patch path {path if path is not None else 'null'}")
        api.gateway_responses[kind] = current
        self._changed()
        return effective(api.gateway_responses, kind)

    # ---- Documentation (stored; a stage can name a documentation version) ---------------------
    def CreateDocumentationPart(self, params: dict[str, Any]) -> dict[str, Any]:
        api = self._api(params)
        part = {"id": new_id(6), "location": params["location"], "properties": params["properties"]}
        api.documentation_parts[part["id"]] = part
        self._changed()
        return part

    def CreateDocumentationVersion(self, params: dict[str, Any]) -> dict[str, Any]:
        api = self._api(params)
        version = params["documentationVersion"]
        if version in api.documentation_versions:
            raise AwsError("ConflictException", "Documentation version already exists", 409)
        entry = {"version": version, "createdDate": now(), "description": params.get("description")}
        api.documentation_versions[version] = {**entry, "createdDate": entry["createdDate"].isoformat()}
        self._changed()
        return entry

    # ---- Deployment ----------------------------------------------------------------------
    def CreateDeployment(self, params: dict[str, Any]) -> dict[str, Any]:
        api = self._api(params)
        stage_name = params.get("stageName")
        canary = params.get("canarySettings")
        prefix = "Invalid deployment content specified."
        if canary is not None and not stage_name:
            shown = "null" if stage_name is None else stage_name
            raise bad_request(f"{prefix}Non null and non empty stageName must be provided for canary deployment. "
                              f"Provided value is {shown}")
        stage = api.stages.get(stage_name) if stage_name else None
        if canary is not None and stage is None:
            raise bad_request(f"{prefix}Stage {stage_name} must already be created before making a canary release "
                              "deployment")
        if canary is None and stage is not None and stage.canary_settings is not None:
            raise bad_request(f"{prefix}Non canary deployment not supported on stage {stage_name} because Canary is "
                              "enabled. Provide CanarySettings in deploymentInput.")
        if not any(resource.methods for resource in api.resources.values()):
            raise bad_request("The REST API doesn't contain any methods")
        check_variables(params.get("variables"))
        if canary is not None:
            check_variables(canary.get("stageVariableOverrides"))
            percent = float(canary.get("percentTraffic", 0.0))
            if not 0.0 <= percent <= 100.0:
                raise bad_request("Canary traffic percentage must be between 0.0 and 100.0")
        deployment = api.snapshot(new_id(6), params.get("description", ""))
        api.deployments[deployment.id] = deployment
        if canary is not None and stage is not None:
            overrides = canary.get("stageVariableOverrides")
            stage.canary_settings = CanarySettings(float(canary.get("percentTraffic", 0.0)), deployment.id,
                                                   dict(overrides) if overrides else None,
                                                   bool(canary.get("useStageCache", False)))
            stage.last_updated_date = now()
        elif stage_name:
            if stage is None:
                stage = Stage(stage_name, deployment.id, dict(params.get("variables") or {}),
                              description=params.get("stageDescription", ""))
                api.stages[stage_name] = stage
            else:
                stage.deployment_id = deployment.id
                stage.variables.update(params.get("variables") or {})
                stage.last_updated_date = now()
        self._changed()
        return deployment_out(deployment)

    def GetDeployment(self, params: dict[str, Any]) -> dict[str, Any]:
        api = self._api(params)
        deployment = api.deployments.get(params["deploymentId"])
        if deployment is None:
            raise not_found("Invalid Deployment identifier specified")
        return deployment_out(deployment)

    def GetDeployments(self, params: dict[str, Any]) -> dict[str, Any]:
        api = self._api(params)
        return {"items": [deployment_out(deployment) for deployment in api.deployments.values()]}

    def DeleteDeployment(self, params: dict[str, Any]) -> dict[str, Any]:
        api = self._api(params)
        deployment_id = params["deploymentId"]
        if deployment_id not in api.deployments:
            raise not_found("Invalid Deployment identifier specified")
        for stage in api.stages.values():
            canary = stage.canary_settings
            if stage.deployment_id == deployment_id or (canary and canary.deployment_id == deployment_id):
                raise bad_request("Active stages pointing to this deployment must be moved or deleted")
        del api.deployments[deployment_id]
        self._changed()
        return {}

    # ---- Stage ---------------------------------------------------------------------------
    def CreateStage(self, params: dict[str, Any]) -> dict[str, Any]:
        api = self._api(params)
        name = params["stageName"]
        if name in api.stages:
            raise AwsError("ConflictException", "Stage already exists", 409)
        if params["deploymentId"] not in api.deployments:
            raise not_found("Invalid Deployment identifier specified")
        check_variables(params.get("variables"))
        canary = None
        if params.get("canarySettings"):
            settings = params["canarySettings"]
            check_variables(settings.get("stageVariableOverrides"))
            if settings.get("deploymentId") and settings["deploymentId"] not in api.deployments:
                raise bad_request(MISSING_CANARY_DEPLOYMENT)
            canary = CanarySettings(float(settings.get("percentTraffic", 0.0)),
                                    settings.get("deploymentId") or params["deploymentId"],
                                    dict(settings["stageVariableOverrides"]) if settings.get("stageVariableOverrides")
                                    else None, bool(settings.get("useStageCache", False)))
        version = params.get("documentationVersion")
        if version and version not in api.documentation_versions:
            raise not_found("Invalid Documentation version specified")
        stage = Stage(name, params["deploymentId"], dict(params.get("variables") or {}), canary,
                      params.get("description", ""), tags=dict(params.get("tags") or {}),
                      tracing_enabled=bool(params.get("tracingEnabled", False)), documentation_version=version)
        api.stages[name] = stage
        self._changed()
        return stage_out(stage)

    def GetStage(self, params: dict[str, Any]) -> dict[str, Any]:
        return stage_out(self._stage(self._api(params), params["stageName"]))

    def GetStages(self, params: dict[str, Any]) -> dict[str, Any]:
        api = self._api(params)
        return {"item": [stage_out(stage) for stage in api.stages.values()
                         if not params.get("deploymentId") or stage.deployment_id == params["deploymentId"]]}

    def DeleteStage(self, params: dict[str, Any]) -> dict[str, Any]:
        api = self._api(params)
        self._stage(api, params["stageName"])
        del api.stages[params["stageName"]]
        self._changed()
        return {}

    def UpdateStage(self, params: dict[str, Any]) -> dict[str, Any]:
        api = self._api(params)
        stage = self._stage(api, params["stageName"])
        working = copy.deepcopy(stage)  # all or nothing: a refused operation leaves the stage as it was
        for operation in params.get("patchOperations") or []:
            StagePatch(api, working).apply(operation)
        stage.deployment_id, stage.variables = working.deployment_id, working.variables
        stage.canary_settings, stage.description = working.canary_settings, working.description
        stage.method_settings, stage.tracing_enabled = working.method_settings, working.tracing_enabled
        stage.documentation_version = working.documentation_version
        stage.last_updated_date = now()
        self._changed()
        return stage_out(stage)

    # ---- OpenAPI ---------------------------------------------------------------------------
    def ImportRestApi(self, params: dict[str, Any]) -> dict[str, Any]:
        body = params.get("body") or b""
        try:
            document = openapi.parse_document(body)
            api = openapi.rest_api_from_openapi(document, new_id)
        except openapi.OpenApiError as error:
            raise bad_request(str(error)) from None
        self.state.apis[api.id] = api
        self._changed()
        return rest_api_out(api)

    def PutRestApi(self, params: dict[str, Any]) -> dict[str, Any]:
        existing = self._api(params)
        try:
            imported = openapi.rest_api_from_openapi(openapi.parse_document(params.get("body") or b""), new_id,
                                                     api_id=existing.id)
        except openapi.OpenApiError as error:
            raise bad_request(str(error)) from None
        existing.resources = imported.resources
        if params.get("mode") == "overwrite":
            existing.models, existing.request_validators = imported.models, imported.request_validators
        else:  # merge (AWS's default): the document's models and validators replace those of the same name
            _merge_models_and_validators(existing, imported)
        existing.binary_media_types = imported.binary_media_types or existing.binary_media_types
        self._changed()
        return rest_api_out(existing)

    def GetExport(self, params: dict[str, Any]) -> RawResponse:
        api = self._api(params)
        stage = self._stage(api, params["stageName"])
        if params["exportType"] not in ("oas30", "swagger"):
            raise bad_request(f"Unsupported export type {params['exportType']}; lambda-canary exports oas30 and "
                              "swagger")
        deployment = api.deployments[stage.deployment_id]
        requested = (params.get("parameters") or {}).get("extensions", "")
        extensions = "integrations" in requested or "apigateway" in requested
        document = openapi.openapi_from_rest_api(api, deployment.resources, stage.name, self.state.region,
                                                 with_integrations=extensions, models=deployment.models,
                                                 validators=deployment.request_validators)
        if params["exportType"] == "swagger":
            document = openapi.swagger_from_openapi(
                document, f"{api.id}.execute-api.{self.state.region}.amazonaws.com", stage.name)
        accepts = params.get("accepts") or "application/json"
        if "yaml" in accepts:
            import yaml

            return RawResponse(yaml.safe_dump(document, sort_keys=False).encode(), {"Content-Type": "application/yaml"})
        return RawResponse(json.dumps(document, indent=2).encode(), {
            "Content-Type": "application/json",
            "Content-Disposition": f'attachment; filename="{api.name}-{stage.name}-{params["exportType"]}.json"'})


def _merge_models_and_validators(existing: RestApi, imported: RestApi) -> None:
    """PutRestApi's merge: the document's models and request validators join the API's, replacing those of the
    same name (a replaced validator keeps its id, which the imported methods then name)."""
    for name, model in imported.models.items():
        if name in existing.models:
            model.id = existing.models[name].id
        existing.models[name] = model
    by_name = {validator.name: validator for validator in existing.request_validators.values()}
    renamed: dict[str, str] = {}
    for validator in imported.request_validators.values():
        if validator.name in by_name:
            renamed[validator.id] = by_name[validator.name].id
            validator.id = by_name[validator.name].id
        existing.request_validators[validator.id] = validator
    for resource in existing.resources.values():
        for method in resource.methods.values():
            method.request_validator_id = renamed.get(method.request_validator_id or "",
                                                      method.request_validator_id)


class StagePatch:
    """Applies one UpdateStage patch operation as AWS does (reference §2.2, §2.5)."""

    def __init__(self, api: RestApi, stage: Stage) -> None:
        self.api = api
        self.stage = stage

    def apply(self, operation: dict[str, Any]) -> None:
        op = operation.get("op")
        path = operation.get("path") or ""
        value = operation.get("value")
        if op == "copy":
            self._copy(path, operation.get("from") or "")
        elif path == "/canarySettings" or path.startswith("/canarySettings/"):
            self._canary(op, path, value)
        elif path.startswith("/variables/"):
            self._variable(op, _unescape(path[len("/variables/"):]), value)
        elif path == "/deploymentId" and op == "replace":
            if value not in self.api.deployments:
                raise bad_request("Invalid deployment id specified")
            self.stage.deployment_id = value
        elif path == "/description" and op == "replace":
            self.stage.description = value or ""
        elif path == "/tracingEnabled" and op == "replace":
            self.stage.tracing_enabled = str(value).lower() == "true"
        elif path == "/cacheClusterEnabled" and op == "replace":
            return  # lambda-canary has no cache cluster; AWS's answer keeps cacheClusterStatus NOT_AVAILABLE
        elif path == "/documentationVersion" and op == "replace":
            self.stage.documentation_version = value or None
        elif method_setting_target(path) is not None:
            self._method_setting(op, path, value)
        else:
            raise bad_request(invalid_stage_path(path))
    def _variable(self, op: str | None, name: str, value: str | None) -> None:
        if op in ("replace", "add"):
            message = name_error(name) or value_error(value or "")
            if message:
                raise bad_request(message)
            self.stage.variables[name] = value or ""
            check_variables(self.stage.variables)
        elif op == "remove":
            if name not in self.stage.variables:
                raise bad_request(f"Cannot remove variable {name} because it does not exist")
            del self.stage.variables[name]
        else:
            raise bad_request(f"Invalid {op} operation with path: /variables/{name}")

    def _canary(self, op: str | None, path: str, value: str | None) -> None:
        stage = self.stage
        if path == "/canarySettings":
            if op != "remove":
                raise bad_request(invalid_stage_path(path))
            stage.canary_settings = None
            return
        if op == "add":
            raise bad_request(f"Invalid add operation with path: {path}")
        overrides_prefix = "/canarySettings/stageVariableOverrides/"
        if path.startswith(overrides_prefix):
            name = _unescape(path[len(overrides_prefix):])
            canary = self._ensure_canary()
            if op == "replace":
                message = name_error(name) or value_error(value or "")
                if message:
                    raise bad_request(message)
                canary.stage_variable_overrides = {**(canary.stage_variable_overrides or {}), name: value or ""}
            elif op == "remove":
                if canary.stage_variable_overrides is None or name not in canary.stage_variable_overrides:
                    raise bad_request(f"Cannot remove method setting canarySettings/stageVariableOverrides/{name} "
                                      "because there is no method setting for this method ")
                del canary.stage_variable_overrides[name]
            return
        if op == "remove":
            raise bad_request(f"Cannot remove method setting {path.lstrip('/')} because there is no method setting "
                              "for this method ")
        if path not in CANARY_PATHS or path == "/canarySettings/stageVariableOverrides":
            raise bad_request(invalid_stage_path(path))
        if op != "replace":
            raise bad_request(f"Invalid {op} operation with path: {path}")
        canary = self._ensure_canary()
        if path == "/canarySettings/percentTraffic":
            try:
                percent = float(value or "")
            except ValueError:
                raise bad_request(f"Invalid value for percentTraffic: {value}") from None
            if not 0.0 <= percent <= 100.0:
                raise bad_request("Canary traffic percentage must be between 0.0 and 100.0")
            canary.percent_traffic = percent
        elif path == "/canarySettings/deploymentId":
            if value not in self.api.deployments:
                raise bad_request(MISSING_CANARY_DEPLOYMENT)
            canary.deployment_id = value
        elif path == "/canarySettings/useStageCache":
            canary.use_stage_cache = str(value).lower() == "true"
        else:  # the whole overrides map
            raise bad_request(f"Invalid replace operation with path: {path}")

    def _method_setting(self, op: str | None, path: str, value: str | None) -> None:
        """`/{resourcePath}/{httpMethod}/{group}/{setting}` (or `/*/*/...`): one field of a method setting, made from
        the `*/*` setting (or AWS's defaults) when the method has none yet; `remove` of `/{path}/{method}` drops
        it. Recorded: LocalStack's AWS-validated test_apigateway_common.py::TestStages."""
        target = method_setting_target(path)
        assert target is not None
        key, setting = target
        settings = self.stage.method_settings
        if setting is None:
            if op != "remove":
                raise bad_request(invalid_stage_path(path))
            if key not in settings:
                raise bad_request(f"Cannot remove method setting {key} because there is no method setting for this "
                                  "method ")
            del settings[key]
            return
        if op != "replace":
            raise bad_request(f"Invalid {op} operation with path: {path}")
        field_name, kind = METHOD_SETTING_FIELDS[setting]
        try:
            converted: Any = (str(value).lower() == "true" if kind is bool else kind(value) if kind is not str
                              else value)
        except (TypeError, ValueError):
            raise bad_request(f"Invalid value for {setting}: {value}") from None
        if key not in settings:
            settings[key] = dict(settings.get("*/*") or DEFAULT_METHOD_SETTING)
        settings[key][field_name] = converted

    def _ensure_canary(self) -> CanarySettings:
        if self.stage.canary_settings is None:
            self.stage.canary_settings = CanarySettings(0.0, self.stage.deployment_id, None, False)
        return self.stage.canary_settings

    def _copy(self, path: str, source: str) -> None:
        if COPY_PAIRS.get(source) != path:
            raise bad_request(f"Invalid copy operation with path: {path} and from {source}. Valid copy:path are "
                              "[/deploymentId, /variables] and valid copy:from are [/canarySettings/deploymentId, "
                              "/canarySettings/stageVariableOverrides]")
        canary = self.stage.canary_settings
        if canary is None:
            raise bad_request("Promotion not available. Canary does not exist.")
        if path == "/variables":
            self.stage.variables = {**self.stage.variables, **(canary.stage_variable_overrides or {})}
        else:
            self.stage.deployment_id = canary.deployment_id or self.stage.deployment_id
