"""What the config asks AWS to hold: function settings, methods, deployments (with content markers) and the
Lambda permissions every stage variable and canary override needs."""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from emulator.config import (
    AuthorizerConfig,
    IntegrationConfig,
    LoadedConfig,
    ModelConfig,
    RequestValidatorConfig,
    Resources,
    RestApiConfig,
)
from emulator.integration_rules import method_request_sources

MANAGED_TAG = "lambda-canary:managed"
CONFIG_TAG = "lambda-canary:config"
MARKER_PREFIX = "lambda-canary:"
SID_PREFIX = "lambda-canary-"
APIGATEWAY_PRINCIPAL = "apigateway.amazonaws.com"
VARIABLE = re.compile(r"\$\{stageVariables\.([A-Za-z0-9_]+)\}")
LAMBDA_URI = re.compile(r"^arn:aws:apigateway:(?P<region>[^:]+):lambda:path/2015-03-31/functions/"
                        r"arn:aws:lambda:(?P<fregion>[^:]*):(?P<account>[^:]*):function:(?P<name>[^:/]+)"
                        r"(?::(?P<qualifier>[^/]+))?/invocations$")


def tags(loaded: LoadedConfig) -> dict[str, str]:
    """The tags on everything a deploy creates."""
    return {MANAGED_TAG: "true", CONFIG_TAG: loaded.path.stem}


def is_managed(found: dict[str, str] | None) -> bool:
    """Does a resource carry our ownership tag?"""
    return (found or {}).get(MANAGED_TAG) == "true"


def digest(value: Any, length: int = 12) -> str:
    """A short stable hash of JSON-able content."""
    text = json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:length]


# ---- functions --------------------------------------------------------------------------------
@dataclass(frozen=True)
class FunctionSpec:
    """One function's (or one published version's) runtime, code and configuration."""

    name: str
    runtime: str
    handler: str
    code_dir: Path
    memory_size: int
    timeout: int
    environment: dict[str, str]
    description: str

    def configuration(self) -> dict[str, Any]:
        """The UpdateFunctionConfiguration fields compared with GetFunctionConfiguration."""
        return {"Runtime": self.runtime, "Handler": self.handler, "MemorySize": self.memory_size,
                "Timeout": self.timeout, "Environment": {"Variables": dict(self.environment)},
                "Description": self.description}


def function_spec(loaded: LoadedConfig, name: str, version: str | None = None) -> FunctionSpec:
    """The function's own settings, or those of one configured version (which override them)."""
    function = loaded.config.functions[name]
    spec = FunctionSpec(name, function.runtime, function.handler, loaded.code_dir(name), function.memory_size,
                        function.timeout, dict(function.environment), function.description)
    if version is None:
        return spec
    override = function.versions[version]
    return FunctionSpec(name, override.runtime or spec.runtime, override.handler or spec.handler,
                        loaded.code_dir(name, version), override.memory_size or spec.memory_size,
                        override.timeout or spec.timeout,
                        dict(spec.environment if override.environment is None else override.environment),
                        override.description)


def actual_configuration(found: dict[str, Any]) -> dict[str, Any]:
    """GetFunctionConfiguration's answer, reduced to FunctionSpec.configuration()'s keys."""
    return {"Runtime": found.get("Runtime"), "Handler": found.get("Handler"), "MemorySize": found.get("MemorySize"),
            "Timeout": found.get("Timeout"),
            "Environment": {"Variables": dict((found.get("Environment") or {}).get("Variables") or {})},
            "Description": found.get("Description") or ""}


# ---- the REST API ---------------------------------------------------------------------------
@dataclass(frozen=True)
class MethodSpec:
    """One method with its integration, as compared with GetResources(embed=methods)."""

    path: str
    http_method: str
    authorization_type: str
    operation_name: str | None
    integration: dict[str, Any]
    integration_responses: dict[str, dict[str, Any]] = field(default_factory=dict)  # templates, parameters, pattern
    authorizer: str | None = None  # the name of one of the API's authorizers (authorizationType CUSTOM)
    request_validator: str | None = None  # the name of one of the API's request validators
    request_models: dict[str, str] = field(default_factory=dict)  # content type -> model name
    declared_parameters: dict[str, bool] = field(default_factory=dict)  # the config's own method requestParameters

    @property
    def key(self) -> str:
        """`GET /ping`."""
        return f"{self.http_method} {self.path}"

    def comparable(self) -> dict[str, Any]:
        """Everything that makes two methods the same (keys that are empty are left out, so the content hash of a
        deployment made before they existed stays the same)."""
        found = {"authorizationType": self.authorization_type, "operationName": self.operation_name,
                 "integration": self.integration, "integrationResponses": self.integration_responses}
        if self.authorizer:
            found["authorizer"] = self.authorizer
        found.update(method_request_fields(self.request_parameters, self.integration.get("requestParameters"),
                                           self.request_validator, self.request_models))
        return found

    @property
    def request_parameters(self) -> dict[str, bool]:
        """The method request parameters its integration maps from, declared (AWS refuses a mapping from a method
        request parameter the method does not declare), and those the config declares (required or not)."""
        return {**method_request_sources(self.integration.get("requestParameters") or {}),
                **self.declared_parameters}

    def method_response_parameters(self, status: str) -> dict[str, bool]:
        """The method response's declared headers: every `method.response.header.X` its integration response maps
        (AWS refuses a mapping to a header the method response does not declare)."""
        mapped = self.integration_responses.get(status, {}).get("responseParameters", {})
        return {name: False for name in sorted(mapped) if name.startswith("method.response.header.")}


def method_request_fields(declared: dict[str, bool], mapping: dict[str, str] | None, validator: str | None,
                          models: dict[str, str]) -> dict[str, Any]:
    """A method's request validator (by name), models and declared parameters, as MethodSpec.comparable() holds
    them: each only when set, and the parameters only when they are more than its integration's mapping declares
    (so the content hash of a deployment made before these keys existed stays the same)."""
    found: dict[str, Any] = {}
    if declared != method_request_sources(mapping or {}):
        found["requestParameters"] = dict(sorted(declared.items()))
    if validator:
        found["requestValidator"] = validator
    if models:
        found["requestModels"] = dict(sorted(models.items()))
    return found


class UriRewriter:
    """The config's accountId and region stand for the target's: Lambda URIs naming them are rewritten.
    Stage-variable references stay literal."""

    def __init__(self, loaded: LoadedConfig, region: str, account_id: str) -> None:
        self.config = loaded.config
        self.region = region
        self.account_id = account_id

    def __call__(self, uri: str | None) -> str | None:
        if not uri:
            return uri
        own_gateway = f"arn:aws:apigateway:{self.config.region}:lambda:"
        own_function = f"arn:aws:lambda:{self.config.region}:{self.config.account_id}:function:"
        if uri.startswith(own_gateway):
            uri = f"arn:aws:apigateway:{self.region}:lambda:" + uri[len(own_gateway):]
        return uri.replace(own_function, f"arn:aws:lambda:{self.region}:{self.account_id}:function:")


def integration_spec(integration: IntegrationConfig, rewrite: UriRewriter) -> dict[str, Any]:
    """PutIntegration's fields (without ids)."""
    spec: dict[str, Any] = {"type": integration.type, "timeoutInMillis": integration.timeout_in_millis,
                            "requestTemplates": dict(integration.request_templates)}
    if integration.request_parameters:  # only when set: deployments made before keep their content hash
        spec["requestParameters"] = dict(integration.request_parameters)
    if integration.type in ("AWS", "HTTP", "MOCK"):
        spec["passthroughBehavior"] = integration.passthrough_behavior
    if integration.type != "MOCK":
        spec["uri"] = rewrite(integration.uri)
        spec["integrationHttpMethod"] = integration.integration_http_method
    return spec


def parent_paths(path: str) -> list[str]:
    """`/a/b/c` -> [`/a`, `/a/b`, `/a/b/c`]."""
    parts = [part for part in path.split("/") if part]
    return ["/" + "/".join(parts[: index + 1]) for index in range(len(parts))]


def methods_of(resources: Resources, rewrite: UriRewriter) -> list[MethodSpec]:
    """Every configured method, sorted by path then method."""
    methods = []
    for path, by_method in resources.items():
        for http_method, method in by_method.items():
            responses = {status: {"responseTemplates": dict(response.response_templates),
                                  "responseParameters": dict(response.response_parameters),
                                  **({"selectionPattern": response.selection_pattern}
                                     if response.selection_pattern else {})}
                         for status, response in method.integration.integration_responses.items()}
            methods.append(MethodSpec(path, http_method, "CUSTOM" if method.authorizer else method.authorization_type,
                                      method.operation_name, integration_spec(method.integration, rewrite), responses,
                                      method.authorizer, method.request_validator, dict(method.request_models),
                                      dict(method.request_parameters)))
    return sorted(methods, key=lambda item: (item.path, item.http_method))


def paths_of(methods: list[MethodSpec]) -> list[str]:
    """Every resource path the methods need, parents first."""
    found = {"/"}
    for method in methods:
        found.update(parent_paths(method.path))
    return sorted(found, key=lambda path: (path.count("/") if path != "/" else 0, path))


@dataclass(frozen=True)
class AuthorizerSpec:
    """A Lambda authorizer (TOKEN or REQUEST), as CreateAuthorizer takes it and GetAuthorizers answers."""

    name: str
    type: str
    authorizer_uri: str
    identity_source: str | None
    identity_validation_expression: str | None
    ttl: int

    def fields(self) -> dict[str, Any]:
        """CreateAuthorizer's fields (without restApiId); empty ones left out."""
        found = {"name": self.name, "type": self.type, "authorizerUri": self.authorizer_uri,
                 "identitySource": self.identity_source,
                 "identityValidationExpression": self.identity_validation_expression,
                 "authorizerResultTtlInSeconds": self.ttl}
        return {key: value for key, value in found.items() if value not in (None, "")}


def authorizer_spec(name: str, config: AuthorizerConfig, rewrite: UriRewriter) -> AuthorizerSpec:
    """The spec of one configured authorizer (its URI's account and region rewritten as integrations' are)."""
    return AuthorizerSpec(name, config.type, rewrite(config.authorizer_uri) or "", config.effective_identity_source,
                          config.identity_validation_expression, config.authorizer_result_ttl_in_seconds)


def authorizer_specs(api: RestApiConfig, rewrite: UriRewriter) -> dict[str, AuthorizerSpec]:
    """Every authorizer of the API, by name."""
    return {name: authorizer_spec(name, config, rewrite) for name, config in sorted(api.authorizers.items())}


def model_fields(config: ModelConfig) -> dict[str, Any]:
    """CreateModel's fields (without restApiId and name), the schema as JSON data; an empty description left out."""
    found: dict[str, Any] = {"contentType": config.content_type, "schema": config.json_schema}
    if config.description:
        found["description"] = config.description
    return found


def actual_model(found: dict[str, Any]) -> dict[str, Any]:
    """A model from GetModels in model_fields()'s shape (a schema that is not JSON is kept as text)."""
    try:
        schema = json.loads(found.get("schema") or "")
    except ValueError:
        schema = found.get("schema")
    out: dict[str, Any] = {"contentType": found.get("contentType"), "schema": schema}
    if found.get("description"):
        out["description"] = found["description"]
    return out


def validator_fields(config: RequestValidatorConfig) -> dict[str, bool]:
    """CreateRequestValidator's flags."""
    return {"validateRequestBody": config.validate_request_body,
            "validateRequestParameters": config.validate_request_parameters}


def actual_authorizer(found: dict[str, Any]) -> dict[str, Any]:
    """GetAuthorizers' item, reduced to AuthorizerSpec.fields()' keys."""
    keys = ("name", "type", "authorizerUri", "identitySource", "identityValidationExpression",
            "authorizerResultTtlInSeconds")
    return {key: found[key] for key in keys if found.get(key) not in (None, "")}


@dataclass(frozen=True)
class DeploymentSpec:
    """A configured deployment: its snapshot content and the marker that finds it again in AWS."""

    name: str
    description: str
    methods: list[MethodSpec]
    own_resources: bool
    authorizers: dict[str, dict[str, Any]] = field(default_factory=dict)  # those its methods use, by name
    validation: dict[str, Any] = field(default_factory=dict)  # the request validators and models its methods use

    @property
    def content_hash(self) -> str:
        """Hash of what the deployment snapshots (an authorizer's, a request validator's or a model's change needs
        a new deployment on AWS too)."""
        content: list[Any] = [method.key for method in self.methods] + [m.comparable() for m in self.methods]
        if self.authorizers:
            content.append(self.authorizers)
        if self.validation:
            content.append(self.validation)
        return digest(content)

    @property
    def marker(self) -> str:
        """`lambda-canary:<name>:<content hash>`, carried in the AWS deployment's description."""
        return f"{MARKER_PREFIX}{self.name}:{self.content_hash}"

    @property
    def aws_description(self) -> str:
        """The description the AWS deployment gets."""
        return f"{self.description} [{self.marker}]".strip()


IMPLICIT = "{stage}-current"


def deployment_specs(loaded: LoadedConfig, api_name: str, rewrite: UriRewriter) -> dict[str, DeploymentSpec]:
    """Every configured deployment of the API, plus an implicit one per stage that names none."""
    api = loaded.config.rest_apis[api_name]
    api_methods = methods_of(api.resources, rewrite)
    authorizers = authorizer_specs(api, rewrite)

    def used(methods: list[MethodSpec]) -> dict[str, dict[str, Any]]:
        return {method.authorizer: authorizers[method.authorizer].fields() for method in methods
                if method.authorizer}

    def validation(methods: list[MethodSpec]) -> dict[str, Any]:
        validators = {method.request_validator: validator_fields(api.request_validators[method.request_validator])
                      for method in methods if method.request_validator}
        models = {model: model_fields(api.models[model]) for method in methods
                  for model in method.request_models.values() if model in api.models}
        return {key: dict(sorted(value.items())) for key, value in
                (("requestValidators", validators), ("models", models)) if value}

    specs = {}
    for name, deployment in api.deployments.items():
        own = deployment.resources is not None
        methods = methods_of(deployment.resources, rewrite) if deployment.resources is not None else api_methods
        specs[name] = DeploymentSpec(name, deployment.description, methods, own, used(methods), validation(methods))
    for stage_name, stage in api.stages.items():
        if stage.deployment_id is None:
            name = IMPLICIT.format(stage=stage_name)
            specs[name] = DeploymentSpec(name, "the API's resources", api_methods, False, used(api_methods),
                                         validation(api_methods))
    return specs


def stage_deployment_names(api: RestApiConfig, stage_name: str) -> tuple[str, str | None]:
    """The stage's base deployment name and its canary's (None without a canary)."""
    stage = api.stages[stage_name]
    base = stage.deployment_id or IMPLICIT.format(stage=stage_name)
    if stage.canary_settings is None:
        return base, None
    return base, stage.canary_settings.deployment_id or base


# ---- permissions ------------------------------------------------------------------------------
@dataclass(frozen=True)
class Grant:
    """lambda:InvokeFunction for API Gateway on one function (and qualifier), from one method or one authorizer."""

    function: str
    qualifier: str | None
    http_method: str
    path: str
    authorizer: str | None = None  # the authorizer's name: a grant for the authorizer, not for a method

    def statement_id(self, api_id: str) -> str:
        """Deterministic, so a re-run finds its own statement instead of adding another."""
        if self.authorizer:
            return f"{SID_PREFIX}{api_id}-authorizer-{digest(self.authorizer, 8)}"
        method = "ANY" if self.http_method == "ANY" else self.http_method
        return f"{SID_PREFIX}{api_id}-{method}-{digest(self.path, 8)}"

    def source_arn(self, region: str, account_id: str, api_id: str, authorizer_id: str | None = None) -> str:
        """A method's `arn:aws:execute-api:REGION:ACCOUNT:API_ID/*/METHOD/PATH` (path parameters and ANY as `*`);
        an authorizer's `arn:aws:execute-api:REGION:ACCOUNT:API_ID/authorizers/AUTHORIZER_ID` (AWS: "Configure
        a Lambda authorizer", https://docs.aws.amazon.com/apigateway/latest/developerguide/configure-api-gateway-lambda-authorization.html)."""
        if self.authorizer:
            return f"arn:aws:execute-api:{region}:{account_id}:{api_id}/authorizers/{authorizer_id}"
        method = "*" if self.http_method == "ANY" else self.http_method
        parts = ["*" if part.startswith("{") else part for part in self.path.strip("/").split("/") if part]
        return f"arn:aws:execute-api:{region}:{account_id}:{api_id}/*/{method}/{'/'.join(parts)}"

    @property
    def reference(self) -> str:
        """`name` or `name:qualifier`."""
        return f"{self.function}:{self.qualifier}" if self.qualifier else self.function

    @property
    def origin(self) -> str:
        """`GET /ping` or `authorizer token`."""
        return f"authorizer {self.authorizer}" if self.authorizer else f"{self.http_method} {self.path}"


def variable_sets(api: RestApiConfig) -> list[dict[str, str]]:
    """Each stage's variables, and each canary's merged variables (stage variables overlaid by overrides)."""
    sets = []
    for stage in api.stages.values():
        sets.append(dict(stage.variables))
        if stage.canary_settings is not None:
            sets.append({**stage.variables, **stage.canary_settings.stage_variable_overrides})
    return sets or [{}]


def grants(loaded: LoadedConfig, api_name: str, rewrite: UriRewriter, account_id: str) -> tuple[list[Grant],
                                                                                                list[str]]:
    """Every (function, qualifier, method) any stage or canary of the API can invoke, and warnings for the URIs
    that name something a deploy cannot grant (undefined variables, other accounts, functions not configured)."""
    api = loaded.config.rest_apis[api_name]
    methods = {method.key: method for method in methods_of(api.resources, rewrite)}
    for deployment in api.deployments.values():
        if deployment.resources is not None:
            methods.update({method.key: method for method in methods_of(deployment.resources, rewrite)})
    found: set[Grant] = set()
    warnings: set[str] = set()
    uses = [(Grant("", None, method.http_method, method.path), method.integration.get("uri") or "")
            for method in methods.values() if method.integration["type"] in ("AWS_PROXY", "AWS")]
    uses += [(Grant("", None, "", "", name), spec.authorizer_uri)
             for name, spec in authorizer_specs(api, rewrite).items()]
    for use, uri in uses:
        for variables in variable_sets(api):
            resolved = VARIABLE.sub(lambda match, values=variables: values.get(match.group(1), "\0"), uri)
            if "\0" in resolved:
                warnings.add(f"{use.origin}: {uri} uses a stage variable some stage or canary does not define")
                continue
            parsed = LAMBDA_URI.match(resolved)
            if parsed is None:
                warnings.add(f"{use.origin}: {resolved} is not a Lambda function URI")
                continue
            if parsed.group("account") != account_id:
                warnings.add(f"{use.origin}: {resolved} names account {parsed.group('account')}; grant it there")
                continue
            name = parsed.group("name")
            if name not in loaded.config.functions:
                warnings.add(f"{use.origin}: function {name} is not in the config; add its permission yourself")
                continue
            found.add(Grant(name, parsed.group("qualifier"), use.http_method, use.path, use.authorizer))
    return sorted(found, key=lambda grant: (grant.function, grant.qualifier or "", grant.authorizer or "",
                                            grant.path, grant.http_method)), sorted(warnings)
