"""Build API Gateway state from the config file."""

from __future__ import annotations

import copy
import functools
import hashlib
from typing import Any

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
)
from emulator.config import (
    AuthorizerConfig,
    IntegrationConfig,
    LoadedConfig,
    MethodConfig,
    Resources,
    RestApiConfig,
)
from emulator.integration_rules import method_request_sources

CURRENT_DEPLOYMENT = "current"


def _stable_id(*parts: str, length: int = 10) -> str:
    digest = hashlib.sha256("\0".join(parts).encode()).digest()
    alphabet = "abcdefghijklmnopqrstuvwxyz0123456789"
    return "".join(alphabet[byte % len(alphabet)] for byte in digest[:length])


def integration_from_config(config: IntegrationConfig) -> Integration:
    """An Integration from its config block."""
    return Integration(
        type=config.type, uri=config.uri, http_method=config.integration_http_method,
        timeout_in_millis=config.timeout_in_millis, request_templates=dict(config.request_templates),
        passthrough_behavior=config.passthrough_behavior, request_parameters=dict(config.request_parameters),
        integration_responses={
            status: IntegrationResponse(status, dict(response.response_templates), dict(response.response_parameters),
                                        response.selection_pattern or None)
            for status, response in config.integration_responses.items()
        },
    )


def authorizer_id(api_id: str, name: str) -> str:
    """The stable id of the authorizer `name` of an API loaded from the config."""
    return _stable_id(api_id, "authorizer", name, length=6)


def authorizer_from_config(api_id: str, name: str, config: AuthorizerConfig) -> Authorizer:
    """An Authorizer from its config block."""
    return Authorizer(authorizer_id(api_id, name), name, config.type, config.authorizer_uri,
                      config.effective_identity_source, config.identity_validation_expression,
                      config.authorizer_result_ttl_in_seconds)


def declared_parameters(method: MethodConfig) -> dict[str, bool]:
    """The method request parameters a configured method declares: those its integration maps from (not
    required) and its own `requestParameters`."""
    return {**method_request_sources(method.integration.request_parameters), **method.request_parameters}


def request_validator_id(api_id: str, name: str) -> str:
    """The stable id of the request validator `name` of an API loaded from the config."""
    return _stable_id(api_id, "validator", name, length=6)


def models_from_config(api_id: str, api: RestApiConfig) -> dict[str, Model]:
    """AWS's Empty and Error, which the deploy's CreateRestApi makes too, and the configured models."""
    models = default_models(functools.partial(_stable_id, api_id, "model", length=6))
    for name, model in api.models.items():
        models[name] = Model(_stable_id(api_id, "model", name, length=6), name, model.content_type,
                             model.schema_text, model.description or None)
    return models


def request_validators_from_config(api_id: str, api: RestApiConfig) -> dict[str, RequestValidator]:
    """The configured request validators, by id."""
    validators = (RequestValidator(request_validator_id(api_id, name), name, config.validate_request_body,
                                   config.validate_request_parameters)
                  for name, config in api.request_validators.items())
    return {validator.id: validator for validator in validators}


def resources_from_config(api_id: str, resources: Resources) -> dict[str, Resource]:
    """The resource tree (with implicit parents) for a `resources:` block."""
    api = RestApi(api_id, api_id)

    def stable(path: str) -> str:
        return _stable_id(api_id, path, length=6)

    api.add_resource_path("/", id_factory=lambda: stable("/"))
    for path, methods in sorted(resources.items()):
        parts: list[str] = []
        for segment in [segment for segment in path.split("/") if segment]:
            parts.append(segment)
            partial = "/" + "/".join(parts)
            api.add_resource_path(partial, id_factory=lambda partial=partial: stable(partial))  # type: ignore[misc]
        resource = api.resource_by_path(path if path != "" else "/")
        assert resource is not None
        for http_method, method in methods.items():
            resource.methods[http_method] = Method(
                http_method, integration_from_config(method.integration),
                "CUSTOM" if method.authorizer else method.authorization_type, method.operation_name,
                # declared as deploy declares them on AWS, where PutIntegration needs them (GetMethod shows them)
                request_parameters=declared_parameters(method),
                authorizer_id=authorizer_id(api_id, method.authorizer) if method.authorizer else None,
                request_models=dict(method.request_models),
                request_validator_id=(request_validator_id(api_id, method.request_validator)
                                      if method.request_validator else None))
    return api.resources


def gateway_responses_from_config(api: RestApiConfig) -> dict[str, dict[str, Any]]:
    """An API's gateway responses as PutGatewayResponse keeps them (the config's are deployed with every
    deployment of the file, as a CloudFormation deployment that depends on them has them)."""
    return {kind: {"statusCode": response.status_code, "responseParameters": dict(response.response_parameters),
                   "responseTemplates": dict(response.response_templates)}
            for kind, response in api.gateway_responses.items()}


def state_from_config(loaded: LoadedConfig) -> ApiGatewayState:
    """All REST APIs of the config, with deployments snapshotted and stages wired."""
    config = loaded.config
    state = ApiGatewayState(config.region, config.account_id)
    for name, api_config in config.rest_apis.items():
        api_id = loaded.api_id(name)
        api = RestApi(api_id, name, api_config.description, list(api_config.binary_media_types),
                      resources_from_config(api_id, api_config.resources))
        api.authorizers = {authorizer.id: authorizer for authorizer in (
            authorizer_from_config(api_id, name, config) for name, config in api_config.authorizers.items())}
        api.gateway_responses = gateway_responses_from_config(api_config)
        api.models = models_from_config(api_id, api_config)
        api.request_validators = request_validators_from_config(api_id, api_config)
        for deployment_id, deployment in api_config.deployments.items():
            resources = (api.resources if deployment.resources is None
                         else resources_from_config(api_id, deployment.resources))
            api.deployments[deployment_id] = Deployment(deployment_id, resources, deployment.description,
                                                        gateway_responses=copy.deepcopy(api.gateway_responses),
                                                        models=copy.deepcopy(api.models),
                                                        request_validators=copy.deepcopy(api.request_validators))
        for stage_name, stage in api_config.stages.items():
            deployment_id = stage.deployment_id or _implicit_deployment(api)
            canary = None
            if stage.canary_settings is not None:
                settings = stage.canary_settings
                canary = CanarySettings(settings.percent_traffic, settings.deployment_id or deployment_id,
                                        dict(settings.stage_variable_overrides) or None, settings.use_stage_cache)
            api.stages[stage_name] = Stage(stage_name, deployment_id, dict(stage.variables), canary,
                                           stage.description)
        state.apis[api_id] = api
    return state


def _implicit_deployment(api: RestApi) -> str:
    """A stage without deploymentId serves a snapshot of the API's resources."""
    if CURRENT_DEPLOYMENT not in api.deployments:
        api.deployments[CURRENT_DEPLOYMENT] = api.snapshot(CURRENT_DEPLOYMENT, "the API's resources at load")
    return CURRENT_DEPLOYMENT
