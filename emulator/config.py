"""The lambda-canary config file (`canary.yaml`): pydantic models and a loader that names file, line and key."""

from __future__ import annotations

import difflib
import itertools
import json
import re
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    AliasGenerator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic.alias_generators import to_camel

from emulator.errors import UserError
from emulator.function_rules import reserved_variables_error
from emulator.gateway_response_rules import unknown_type_error
from emulator.ids import stable_api_id
from emulator.integration_rules import (
    MISSING_CANARY_DEPLOYMENT,
    integration_uri_error,
    mapping_problem,
    method_parameter_error,
)
from emulator.model_urls import DEFAULT_MODELS
from emulator.runtimes.catalogue import catalogue, known_runtimes
from emulator.stage_variables import MAX_VARIABLES, name_error, value_error
from emulator.yaml_source import YamlDocument

HTTP_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS", "ANY")
FUNCTION_NAME = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
RESOURCE_PATH = re.compile(r"^/$|^(/([A-Za-z0-9._:~-]+|\{[A-Za-z0-9_]+\}|\{[A-Za-z0-9_]+\+\}))+$")
DEPLOYMENT_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
STAGE_NAME = re.compile(r"^[A-Za-z0-9_-]{1,128}$")


class Model(BaseModel):
    """camelCase keys in the file, snake_case in Python; unknown keys are errors."""

    model_config = ConfigDict(
        extra="forbid",
        populate_by_name=True,
        alias_generator=AliasGenerator(validation_alias=to_camel, serialization_alias=to_camel),
        frozen=True,
    )


class VersionConfig(Model):
    """A published version: a snapshot of code, runtime and configuration (issue 8)."""

    runtime: str | None = None
    handler: str | None = None
    code: str | None = None
    memory_size: int | None = Field(default=None, ge=128, le=10240)
    timeout: int | None = Field(default=None, ge=1, le=900)
    environment: dict[str, str] | None = None
    description: str = ""


class AliasRoutingConfig(Model):
    """AdditionalVersionWeights: version -> weight in [0, 1]."""

    additional_version_weights: dict[str, float] = Field(default_factory=dict)


ALIAS_NAME = re.compile(r"^(?!^[0-9]+$)[a-zA-Z0-9-_]{1,128}$")


def alias_error(name: str, primary: str, weights: dict[str, float], published: set[str]) -> None:
    """Raise ValueError as Lambda refuses an alias (reference §5.2): weights in [0, 1], one extra version at
    most, not the primary again, published versions only."""
    if not ALIAS_NAME.match(name):
        raise ValueError(f"alias {name!r}: 1-128 letters, digits, '-' or '_', not only digits")
    if primary == "$LATEST" and weights:
        raise ValueError(f"alias {name}: a weighted alias cannot point to $LATEST; publish a version")
    if primary != "$LATEST" and primary not in published:
        raise ValueError(f"alias {name}: functionVersion {primary} is not a published version "
                         f"(versions: {', '.join(sorted(published)) or 'none'})")
    if len(weights) > 1:
        raise ValueError(f"alias {name}: routing config allows at most one additional version")
    for version, weight in weights.items():
        if version == primary:
            raise ValueError(f"alias {name}: the additional version {version} is the alias's own version")
        if version == "$LATEST" or version not in published:
            raise ValueError(f"alias {name}: additional version {version} is not a published version")
        if not 0.0 <= weight <= 1.0:
            raise ValueError(f"alias {name}: weight {weight} for version {version} is outside [0.0, 1.0]")


class AliasConfig(Model):
    """An alias: a primary version and optionally one weighted extra version."""

    function_version: str
    routing_config: AliasRoutingConfig | None = None
    description: str = ""


ALARM_NAME = re.compile(r"^[^\x00-\x1f]{1,255}$")


class HooksConfig(Model):
    """CodeDeploy's lifecycle hooks of a Lambda deployment: functions invoked before any traffic moves to the new
    version (PreTraffic, CodeDeploy's BeforeAllowTraffic) and after all of it has (PostTraffic, AfterAllowTraffic);
    each reports Succeeded or Failed through PutLifecycleEventHookExecutionStatus."""

    pre_traffic: str | None = None
    post_traffic: str | None = None


class DeploymentPreferenceConfig(Model):
    """SAM's `DeploymentPreference` of a function with an `AutoPublishAlias` (AWS::Serverless::Function): how
    CodeDeploy shifts the alias to each new version; `lambda-canary rollout --alias FUNCTION:ALIAS` uses it."""

    type: str
    alarms: list[Annotated[str, Field(pattern=ALARM_NAME.pattern)]] = Field(default_factory=list)
    hooks: HooksConfig | None = None
    enabled: bool = True

    @field_validator("type")
    @classmethod
    def _known_type(cls, value: str) -> str:
        from emulator.verify.rollout.schedule import PREFERENCES, preference_name

        if preference_name(value) is None:
            raise ValueError(f"type {value!r}: use one of {', '.join(PREFERENCES)}")
        return value


class FunctionConfig(Model):
    """A Lambda function as configured; its runtime must be in the catalogue."""

    runtime: str
    handler: str
    code: str = "."
    memory_size: int = Field(default=128, ge=128, le=10240)
    timeout: int = Field(default=3, ge=1, le=900)
    environment: dict[str, str] = Field(default_factory=dict)
    reserved_concurrency: int | None = Field(default=None, ge=0)
    description: str = ""
    versions: dict[str, VersionConfig] = Field(default_factory=dict)
    aliases: dict[str, AliasConfig] = Field(default_factory=dict)
    auto_publish_alias: str | None = None  # SAM's AutoPublishAlias: the alias CodeDeploy shifts
    deployment_preference: DeploymentPreferenceConfig | None = None
    # Events as the function receives them (after any request template): `check` invokes the function with each and
    # matches the errors it throws against the selection patterns of the non-proxy integrations that reach it.
    test_events: list[Any] = Field(default_factory=list)

    @field_validator("runtime")
    @classmethod
    def _known_runtime(cls, value: str) -> str:
        if value not in catalogue():
            raise ValueError(f"unknown runtime {value!r}; allowed: {known_runtimes()}")
        return value

    @field_validator("handler")
    @classmethod
    def _handler_shape(cls, value: str) -> str:
        if "." not in value.rsplit("/", 1)[-1]:
            raise ValueError("a handler is 'path/to/file.export', e.g. 'index.handler'")
        return value

    @field_validator("environment", mode="before")
    @classmethod
    def _environment_strings(cls, value: Any) -> Any:
        if isinstance(value, dict):
            reserved = reserved_variables_error(value)
            if reserved:
                raise ValueError(reserved)
            return {key: item if isinstance(item, str) else str(item) for key, item in value.items()}
        return value

    @model_validator(mode="after")
    def _versions_and_aliases(self) -> FunctionConfig:
        for number, version in self.versions.items():
            if not number.isdigit() or number.startswith("0"):
                raise ValueError(f"version {number!r}: published versions are numbered 1, 2, 3...")
            if version.runtime is not None and version.runtime not in catalogue():
                raise ValueError(f"version {number}: unknown runtime {version.runtime!r}; allowed: {known_runtimes()}")
        for name, alias in self.aliases.items():
            alias_error(name, alias.function_version,
                        alias.routing_config.additional_version_weights if alias.routing_config else {},
                        set(self.versions))
        if self.auto_publish_alias is not None and not ALIAS_NAME.match(self.auto_publish_alias):
            raise ValueError(f"autoPublishAlias {self.auto_publish_alias!r}: 1-128 letters, digits, '-' or '_', "
                             "not only digits")
        if self.deployment_preference is not None and self.auto_publish_alias is None:
            raise ValueError("deploymentPreference needs autoPublishAlias (the alias CodeDeploy shifts), as SAM does")
        return self


class IntegrationResponseConfig(Model):
    """A non-proxy (AWS, MOCK) integration's response for one status code; `selectionPattern` is the regular
    expression matched against a Lambda function's errorMessage (none: the default response)."""

    selection_pattern: str | None = None
    response_templates: dict[str, str] = Field(default_factory=dict)
    response_parameters: dict[str, str] = Field(default_factory=dict)

    @field_validator("selection_pattern")
    @classmethod
    def _pattern(cls, value: str | None) -> str | None:
        if value:
            try:
                re.compile(value)
            except re.error as error:
                raise ValueError(f"selectionPattern {value!r} is not a regular expression: {error}") from None
        return value


class IntegrationConfig(Model):
    """How a method reaches its backend."""

    type: Literal["AWS_PROXY", "AWS", "HTTP_PROXY", "HTTP", "MOCK"]
    uri: str | None = None
    integration_http_method: str = "POST"
    timeout_in_millis: int = Field(default=29000, ge=50, le=29000)
    passthrough_behavior: Literal["WHEN_NO_MATCH", "WHEN_NO_TEMPLATES", "NEVER"] = "WHEN_NO_MATCH"
    request_templates: dict[str, str] = Field(default_factory=dict)
    integration_responses: dict[str, IntegrationResponseConfig] = Field(default_factory=dict)
    # integration.request.header|querystring|path.NAME -> method.request.*, stageVariables.x, context.x, 'static'
    request_parameters: dict[str, str] = Field(default_factory=dict)

    @field_validator("request_parameters")
    @classmethod
    def _mappings(cls, value: dict[str, str]) -> dict[str, str]:
        for destination, source in value.items():
            problem = mapping_problem(destination, source)
            if problem:
                raise ValueError(problem)
        return value

    @model_validator(mode="after")
    def _uri_where_needed(self) -> IntegrationConfig:
        if self.type != "MOCK" and not self.uri:
            raise ValueError(f"a {self.type} integration needs a uri")
        problem = integration_uri_error(self.type, self.uri)
        if problem:  # AWS's own refusal (PutIntegration), then what it wants
            raise ValueError(f"AWS answers 400 '{problem}' (an {self.type} uri is arn:aws:apigateway:REGION:"
                             "lambda:path/2015-03-31/functions/FUNCTION_ARN/invocations)")
        if self.type in ("AWS_PROXY", "AWS") and self.uri and ":lambda:path/" not in self.uri:
            raise ValueError(f"an {self.type} uri is arn:aws:apigateway:REGION:lambda:path/2015-03-31/functions/"
                             "FUNCTION_ARN/invocations (only Lambda integrations are emulated)")
        for status in self.integration_responses:
            if not re.fullmatch(r"[1-5][0-9][0-9]", status):
                raise ValueError(f"integrationResponses: status code {status!r} is not 100-599")
        return self


class AuthorizerConfig(Model):
    """A Lambda authorizer (TOKEN or REQUEST) of a REST API."""

    type: Literal["TOKEN", "REQUEST"] = "TOKEN"
    authorizer_uri: str
    identity_source: str | None = None
    identity_validation_expression: str | None = None
    authorizer_result_ttl_in_seconds: int = Field(default=300, ge=0, le=3600)

    @model_validator(mode="after")
    def _shape(self) -> AuthorizerConfig:
        if ":lambda:path/" not in self.authorizer_uri:
            raise ValueError("authorizerUri is arn:aws:apigateway:REGION:lambda:path/2015-03-31/functions/"
                             "FUNCTION_ARN/invocations")
        if self.type == "TOKEN" and self.identity_source and not self.identity_source.startswith(
                "method.request.header."):
            raise ValueError("a TOKEN authorizer's identitySource is method.request.header.NAME")
        if self.type == "REQUEST" and self.authorizer_result_ttl_in_seconds > 0 and not self.identity_source:
            raise ValueError("a REQUEST authorizer with caching needs an identitySource")
        if self.identity_validation_expression:
            try:
                re.compile(self.identity_validation_expression)
            except re.error as error:
                raise ValueError(f"identityValidationExpression is not a regular expression: {error}") from None
        return self

    @property
    def effective_identity_source(self) -> str | None:
        """TOKEN authorizers default to the Authorization header."""
        if self.type == "TOKEN" and not self.identity_source:
            return "method.request.header.Authorization"
        return self.identity_source


class MethodConfig(Model):
    """One HTTP method on a resource; `authorizer` names one of the API's `authorizers` (it implies
    authorizationType CUSTOM)."""

    integration: IntegrationConfig
    authorization_type: Literal["NONE", "CUSTOM"] = "NONE"
    authorizer: str | None = None
    operation_name: str | None = None
    # method request parameters (method.request.path|querystring|header.NAME: required), which a request validator
    # checks; those the integration maps from are declared too, as not required
    request_parameters: dict[str, bool] = Field(default_factory=dict)
    request_validator: str | None = None  # the name of one of the API's requestValidators
    request_models: dict[str, str] = Field(default_factory=dict)  # content type (or $default) -> model name

    @field_validator("request_parameters")
    @classmethod
    def _declared(cls, value: dict[str, bool]) -> dict[str, bool]:
        problem = method_parameter_error(value)
        if problem:
            raise ValueError(problem)
        return value

    @model_validator(mode="after")
    def _authorizer(self) -> MethodConfig:
        if self.authorization_type == "CUSTOM" and not self.authorizer:
            raise ValueError("authorizationType CUSTOM needs an authorizer (a name under the API's authorizers)")
        return self


Resources = dict[str, dict[str, MethodConfig]]


def _check_resources(resources: Resources) -> Resources:
    for path, methods in resources.items():
        if not RESOURCE_PATH.match(path):
            raise ValueError(f"resource path {path!r}: segments are names, {{param}} or a final {{proxy+}}")
        if "+}" in path and not path.endswith("+}"):
            raise ValueError(f"resource path {path!r}: a greedy {{name+}} must be the last segment")
        for method in methods:
            if method not in HTTP_METHODS:
                raise ValueError(f"resource {path}: method {method!r}; allowed: {', '.join(HTTP_METHODS)}")
    return resources


class DeploymentConfig(Model):
    """A deployment: a snapshot of the API. Without `resources` it snapshots the API's resources."""

    description: str = ""
    resources: Resources | None = None

    @field_validator("resources")
    @classmethod
    def _resources(cls, value: Resources | None) -> Resources | None:
        return None if value is None else _check_resources(value)


def _variable_name(name: str) -> str:
    message = name_error(name)
    if message:
        raise ValueError(message)
    return name


def _variable_value(value: Any) -> str:
    text = value if isinstance(value, str) else str(value)
    message = value_error(text)
    if message:
        raise ValueError(message)
    return text


def _at_most_100(variables: dict[str, str]) -> dict[str, str]:
    if len(variables) > MAX_VARIABLES:
        raise ValueError(f"a stage can have at most {MAX_VARIABLES} stage variables")
    return variables


StageVariables = Annotated[
    dict[Annotated[str, AfterValidator(_variable_name)], Annotated[str, BeforeValidator(_variable_value)]],
    AfterValidator(_at_most_100),
]


class CanarySettingsConfig(Model):
    """A stage's canary: percentTraffic in [0, 100], its deployment and stage-variable overrides."""

    percent_traffic: float = Field(default=0.0, ge=0.0, le=100.0)
    deployment_id: str | None = None
    stage_variable_overrides: StageVariables = Field(default_factory=dict)
    use_stage_cache: bool = False


class StageConfig(Model):
    """A stage: its deployment, variables and optional canary."""

    deployment_id: str | None = None
    variables: StageVariables = Field(default_factory=dict)
    canary_settings: CanarySettingsConfig | None = None
    description: str = ""


class GatewayResponseConfig(Model):
    """A gateway response (PutGatewayResponse): the status, `gatewayresponse.header.*` mappings and body templates
    of the errors API Gateway itself answers with this type (or, for DEFAULT_4XX / DEFAULT_5XX, that class)."""

    status_code: Annotated[str, Field(pattern=r"^[1-5][0-9][0-9]$")] | None = None
    response_parameters: dict[str, str] = Field(default_factory=dict)
    response_templates: dict[str, str] = Field(default_factory=dict)

    @field_validator("status_code", mode="before")
    @classmethod
    def _status_as_text(cls, value: Any) -> Any:
        return str(value) if isinstance(value, int) and not isinstance(value, bool) else value


MODEL_NAME = re.compile(r"^[A-Za-z0-9]+$")


class ModelConfig(Model):
    """A model (CreateModel): a JSON Schema draft 4 document, given as a mapping or as JSON text."""

    content_type: str = "application/json"
    json_schema: Any = Field(validation_alias="schema", serialization_alias="schema")
    description: str = ""

    @field_validator("json_schema")
    @classmethod
    def _schema(cls, value: Any) -> Any:
        if isinstance(value, str):
            try:
                value = json.loads(value)
            except ValueError as error:
                raise ValueError(f"schema is not JSON ({error})") from None
        if not isinstance(value, dict) or not value:
            raise ValueError("schema is a JSON Schema (draft 4) object; AWS refuses an empty one")
        return value

    @property
    def schema_text(self) -> str:
        """The schema as CreateModel takes it."""
        return json.dumps(self.json_schema)


class RequestValidatorConfig(Model):
    """A request validator (CreateRequestValidator): what the methods naming it have checked."""

    validate_request_body: bool = False
    validate_request_parameters: bool = False


class RestApiConfig(Model):
    """A REST API with its resources, named deployments and stages."""

    id: Annotated[str, Field(pattern=r"^[a-z0-9]{1,32}$")] | None = None
    description: str = ""
    binary_media_types: list[str] = Field(default_factory=list)
    resources: Resources = Field(default_factory=dict)
    deployments: dict[str, DeploymentConfig] = Field(default_factory=dict)
    stages: dict[str, StageConfig] = Field(default_factory=dict)
    authorizers: dict[str, AuthorizerConfig] = Field(default_factory=dict)
    gateway_responses: dict[str, GatewayResponseConfig] = Field(default_factory=dict)
    models: dict[str, ModelConfig] = Field(default_factory=dict)
    request_validators: dict[str, RequestValidatorConfig] = Field(default_factory=dict)

    @field_validator("models")
    @classmethod
    def _model_names(cls, value: dict[str, ModelConfig]) -> dict[str, ModelConfig]:
        for name in value:
            if name in DEFAULT_MODELS:
                raise ValueError(f"model {name!r}: AWS makes {' and '.join(DEFAULT_MODELS)} with every REST API; "
                                 "name yours otherwise")
            if not MODEL_NAME.match(name):
                raise ValueError(f"model name {name!r}: letters and digits only")
        return value

    @field_validator("resources")
    @classmethod
    def _resources(cls, value: Resources) -> Resources:
        return _check_resources(value)

    @field_validator("gateway_responses")
    @classmethod
    def _response_types(cls, value: dict[str, GatewayResponseConfig]) -> dict[str, GatewayResponseConfig]:
        for kind in value:
            message = unknown_type_error(kind)
            if message:
                raise ValueError(message)
        return value

    @model_validator(mode="after")
    def _references(self) -> RestApiConfig:
        every = [self.resources, *[d.resources for d in self.deployments.values() if d.resources is not None]]
        for resources in every:
            for path, methods in resources.items():
                for http_method, method in methods.items():
                    if method.authorizer and method.authorizer not in self.authorizers:
                        known = ", ".join(self.authorizers) or "none defined"
                        raise ValueError(f"resource {path} {http_method}: authorizer {method.authorizer!r} is not "
                                         f"one of this API's authorizers ({known})")
                    if method.request_validator and method.request_validator not in self.request_validators:
                        known = ", ".join(self.request_validators) or "none defined"
                        raise ValueError(f"resource {path} {http_method}: requestValidator "
                                         f"{method.request_validator!r} is not one of this API's requestValidators "
                                         f"({known})")
                    for content_type, model in method.request_models.items():
                        if model not in self.models and model not in DEFAULT_MODELS:
                            known = ", ".join([*DEFAULT_MODELS, *self.models])
                            raise ValueError(f"resource {path} {http_method}: requestModels {content_type}: model "
                                             f"{model!r} is not one of this API's models ({known})")
        for deployment_id in self.deployments:
            if not DEPLOYMENT_ID.match(deployment_id):
                raise ValueError(f"deployment id {deployment_id!r}: letters, digits, '-' and '_' only")
        for stage_name, stage in self.stages.items():
            if not STAGE_NAME.match(stage_name):
                raise ValueError(f"stage name {stage_name!r}: letters, digits, '-' and '_', at most 128")
            known = ", ".join(self.deployments) or "none defined"
            if stage.deployment_id is not None and stage.deployment_id not in self.deployments:
                raise ValueError(f"stage {stage_name}: deploymentId {stage.deployment_id!r} is not a deployment "
                                 f"of this API (deployments: {known})")
            canary = stage.canary_settings
            if canary and canary.deployment_id is not None and canary.deployment_id not in self.deployments:
                raise ValueError(f"stage {stage_name}: canarySettings.deploymentId {canary.deployment_id!r} is not a "
                                 f"deployment of this API; AWS answers 400 '{MISSING_CANARY_DEPLOYMENT}' "
                                 f"(deployments: {known})")
        return self


class DiffConfig(Model):
    """What `lambda-canary diff` lets differ between the sides (emulator.verify.diff.rules): `ignore` lists JSON paths,
    `header:NAME` and `log:REGEX`; `match` maps a JSON path or `header:NAME` to a pattern both sides must match."""

    ignore: list[str] = Field(default_factory=list)
    match: dict[str, str] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _rules_parse(self) -> DiffConfig:
        from emulator.verify.diff.rules import from_config, parse_rule

        for text in from_config(self):
            parse_rule(text)
        return self


class RolloutStepConfig(Model):
    """One step of a rollout: hold the canary at `percent` for `minutes`, then judge it."""

    percent: float = Field(gt=0, le=100)
    minutes: float = Field(default=0, ge=0)


class RolloutConfig(Model):
    """`rollout:` how `lambda-canary rollout` moves a stage canary and judges it (emulator/rollout/gates.py).

    `schedule` is a SAM DeploymentPreference type (default Canary10Percent5Minutes) unless `steps` are given.
    `hooks` name functions of this file invoked as CodeDeploy invokes PreTraffic/PostTraffic hooks; `alarms`
    are CloudWatch alarm names read with `--target aws` (an alarm in state ALARM fails the step);
    `hookTimeout` is how long a hook has to report its status (CodeDeploy allows one hour).
    """

    schedule: str | None = None
    steps: list[RolloutStepConfig] | None = None
    significance: float = Field(default=0.001, gt=0, lt=1)
    max_error_rate_increase: float = Field(default=0.01, ge=0, le=1)
    max_latency_ratio: float = Field(default=1.5, gt=0)
    min_requests: int = Field(default=50, ge=1)
    hooks: HooksConfig | None = None
    alarms: list[Annotated[str, Field(pattern=ALARM_NAME.pattern)]] = Field(default_factory=list)
    hook_timeout: float = Field(default=60, gt=0, le=3600)  # seconds; CodeDeploy waits up to one hour

    @model_validator(mode="after")
    def _schedule(self) -> RolloutConfig:
        from emulator.verify.rollout.schedule import PREFERENCES, preference_name

        if self.schedule is not None and self.steps is not None:
            raise ValueError("give either schedule (a SAM DeploymentPreference type) or steps, not both")
        if self.schedule is not None and preference_name(self.schedule) is None:
            raise ValueError(f"schedule {self.schedule!r}: use one of {', '.join(PREFERENCES)}")
        if self.steps is not None:
            percents = [step.percent for step in self.steps]
            if not percents or any(b <= a for a, b in itertools.pairwise(percents)):
                raise ValueError("steps: at least one, their percent rising from step to step")
        return self


class AcknowledgementConfig(Model):
    """An acknowledged finding with the reason it is kept on purpose, written beside it (export carries both)."""

    finding: Annotated[str, Field(min_length=1)]
    reason: Annotated[str, Field(min_length=1)]


class CanaryConfig(Model):
    """The whole file.

    `acknowledge` lists findings `lambda-canary check` should not report, each as its code (`runtime-blocked`:
    every finding of that kind) or `code:subject` (`runtime-blocked:ping-stable`: that function only), or as
    `{finding: code:subject, reason: why it is kept}`; check's fixes name the entry to add. It changes nothing
    else: deploy still refuses what AWS would refuse.
    """

    region: str = "us-east-1"
    account_id: Annotated[str, Field(pattern=r"^[0-9]{12}$")] = "123456789012"
    backend: Literal["auto", "process", "docker"] = "auto"
    functions: dict[str, FunctionConfig] = Field(default_factory=dict)
    rest_apis: dict[str, RestApiConfig] = Field(default_factory=dict)
    rollout: RolloutConfig | None = None
    acknowledge: list[Annotated[str, Field(min_length=1)] | AcknowledgementConfig] = Field(
        default_factory=list, description="Finding codes (`code` or `code:subject`, or `{finding, reason}`) that "
                                          "`check` should not report.")
    diff: DiffConfig | None = None

    @field_validator("functions")
    @classmethod
    def _function_names(cls, value: dict[str, FunctionConfig]) -> dict[str, FunctionConfig]:
        for name in value:
            if not FUNCTION_NAME.match(name):
                raise ValueError(f"function name {name!r}: 1-64 letters, digits, '-' or '_'")
        return value

    @field_validator("account_id", mode="before")
    @classmethod
    def _account_as_string(cls, value: Any) -> Any:
        return f"{value:012d}" if isinstance(value, int) else value

    def acknowledged(self) -> list[str]:
        """The acknowledged findings (`code` or `code:subject`), reasons left out."""
        return [entry if isinstance(entry, str) else entry.finding for entry in self.acknowledge]

    def acknowledge_entries(self) -> list[str | dict[str, str]]:
        """`acknowledge` as written: each entry, or `{finding, reason}` where a reason is given."""
        return [entry if isinstance(entry, str) else {"finding": entry.finding, "reason": entry.reason}
                for entry in self.acknowledge]

    @model_validator(mode="after")
    def _hooks_are_functions(self) -> CanaryConfig:
        places: list[tuple[str, HooksConfig | None]] = [("rollout.hooks", self.rollout.hooks if self.rollout else None)]
        places += [(f"functions.{name}.deploymentPreference.hooks", function.deployment_preference.hooks)
                   for name, function in self.functions.items() if function.deployment_preference is not None]
        for where, hooks in places:
            for key, name in (("preTraffic", hooks.pre_traffic if hooks else None),
                              ("postTraffic", hooks.post_traffic if hooks else None)):
                if name is not None and name not in self.functions:
                    raise ValueError(f"{where}.{key}: {name!r} is not a function of this file "
                                     f"(functions: {', '.join(self.functions) or 'none'})")
        return self


class LoadedConfig:
    """A validated config with the folder its relative paths start from."""

    def __init__(self, config: CanaryConfig, path: Path, document: YamlDocument | None = None) -> None:
        self.config = config
        self.path = path
        self.base_dir = path.parent
        self.document = document

    def code_dir(self, function_name: str, version: str | None = None) -> Path:
        """The absolute code folder of a function (or of one of its versions)."""
        function = self.config.functions[function_name]
        code = function.code
        if version is not None and function.versions[version].code is not None:
            code = function.versions[version].code or code
        return (self.base_dir / code).resolve()

    def api_id(self, api_name: str) -> str:
        """The configured id, or a stable 10-character id derived from the name."""
        return self.config.rest_apis[api_name].id or stable_api_id(api_name)


def _describe(error: dict[str, Any]) -> str:
    message = error["msg"].removeprefix("Value error, ")
    if error["type"] == "extra_forbidden":
        return f"unknown key (did you mean {error['did_you_mean']}?)" if "did_you_mean" in error else "unknown key"
    if error["type"] == "missing":
        return "required key is missing"
    if error["type"] == "literal_error":
        return f"not allowed; {message.lower()}"
    return message


def ordered_errors(error: ValidationError) -> list[dict[str, Any]]:
    """pydantic's errors with unknown keys first (a typo such as `runtme` also makes `runtime` missing; the typo is
    the cause), each unknown key carrying the missing sibling it most likely meant as `did_you_mean`."""
    errors: list[dict[str, Any]] = [dict(item) for item in error.errors()]
    missing: dict[tuple[Any, ...], list[str]] = {tuple(item["loc"][:-1]): [] for item in errors
                                                 if item["type"] == "missing"}
    for item in errors:
        if item["type"] == "missing":
            missing[tuple(item["loc"][:-1])].append(str(item["loc"][-1]))
    for item in errors:
        if item["type"] == "extra_forbidden" and item["loc"]:
            close = difflib.get_close_matches(str(item["loc"][-1]), missing.get(tuple(item["loc"][:-1]), []), n=1)
            if close:
                item["did_you_mean"] = close[0]
    return sorted(errors, key=lambda item: item["type"] != "extra_forbidden")


def format_validation_error(document: YamlDocument, error: ValidationError) -> str:
    """One line: `file:line: key.path: what is wrong` (plus how many more errors)."""
    errors = ordered_errors(error)
    first = errors[0]
    loc = tuple(part for part in first["loc"] if not str(part).startswith("function-") and part != "[key]")
    key = ".".join(str(part) for part in loc) or "(top level)"
    more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
    line = f"{document.where(loc)}: {key}: {_describe(first)}{more}"
    return line.encode("unicode_escape").decode("ascii") if not line.isprintable() else line


def parse_config(document: YamlDocument) -> LoadedConfig:
    """Validate a parsed document as a lambda-canary config."""
    if not isinstance(document.data, dict):
        raise UserError(f"{document.path}: the config must be a mapping with `functions` and `restApis`")
    try:
        config = CanaryConfig.model_validate(document.data)
    except ValidationError as error:
        raise UserError(format_validation_error(document, error)) from None
    return LoadedConfig(config, document.path.resolve(), document)
