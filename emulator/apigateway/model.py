"""API Gateway's state: REST APIs, resources, methods, deployments (frozen snapshots) and stages.

One model serves the data plane and the control-plane API, so a change made through either is seen by
the next request.
"""

from __future__ import annotations

import copy
import datetime as dt
import secrets
import string
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from emulator import model_urls
from emulator.apigateway.routing import RouteTable

_ID_ALPHABET = string.ascii_lowercase + string.digits


def new_id(length: int = 10) -> str:
    """An API Gateway style id (lowercase letters and digits)."""
    return "".join(secrets.choice(_ID_ALPHABET) for _ in range(length))


def now() -> dt.datetime:
    """UTC now, second precision (as AWS returns dates)."""
    return dt.datetime.now(dt.UTC).replace(microsecond=0)


@dataclass
class IntegrationResponse:
    """A non-proxy (AWS, HTTP, MOCK) integration response for one status code."""

    status_code: str
    response_templates: dict[str, str] = field(default_factory=dict)
    response_parameters: dict[str, str] = field(default_factory=dict)
    selection_pattern: str | None = None


@dataclass
class Integration:
    """How a method reaches its backend: AWS_PROXY or AWS (Lambda), HTTP_PROXY or HTTP, or MOCK."""

    type: str
    uri: str | None = None
    http_method: str | None = "POST"
    timeout_in_millis: int = 29000
    request_templates: dict[str, str] = field(default_factory=dict)
    integration_responses: dict[str, IntegrationResponse] = field(default_factory=dict)
    passthrough_behavior: str = "WHEN_NO_MATCH"
    cache_namespace: str | None = None
    request_parameters: dict[str, str] = field(default_factory=dict)
    credentials: str | None = None  # an IAM role API Gateway assumes to invoke (then no resource policy is needed)


@dataclass
class Method:
    """An HTTP method on a resource."""

    http_method: str
    integration: Integration | None = None
    authorization_type: str = "NONE"
    operation_name: str | None = None
    api_key_required: bool = False
    request_parameters: dict[str, bool] = field(default_factory=dict)
    method_responses: dict[str, dict[str, object]] = field(default_factory=dict)
    authorizer_id: str | None = None
    request_models: dict[str, str] = field(default_factory=dict)  # content type (or `$default`) -> model name
    request_validator_id: str | None = None  # one of the API's request validators (method_request.py applies it)


@dataclass
class Authorizer:
    """A Lambda authorizer (TOKEN or REQUEST) of a REST API."""

    id: str
    name: str
    type: str
    authorizer_uri: str | None = None
    identity_source: str | None = None
    identity_validation_expression: str | None = None
    result_ttl_in_seconds: int = 300
    authorizer_credentials: str | None = None
    provider_arns: list[str] = field(default_factory=list)
    auth_type: str | None = None


@dataclass
class Model:
    """A data model (a JSON Schema draft 4 document, kept as the text it was given) of a REST API."""

    id: str
    name: str
    content_type: str
    schema: str
    description: str | None = None


@dataclass
class RequestValidator:
    """What a method's request validator checks: its required parameters, its body against its model, or both."""

    id: str
    name: str
    validate_request_body: bool = False
    validate_request_parameters: bool = False


# The two models AWS creates with every REST API (CreateRestApi, not ImportRestApi), recorded: LocalStack's
# AWS-validated test_apigateway_api.py::TestApiGatewayApiModels::test_model_lifecycle and
# test_apigateway_common.py::test_api_gateway_request_validator_with_ref_models (localstack/localstack@8b9a79f).
EMPTY_MODEL_SCHEMA = ('{"$schema": "http://json-schema.org/draft-04/schema#", "title": "Empty Schema", '
                      '"type": "object"}')
ERROR_MODEL_SCHEMA = ('{"$schema": "http://json-schema.org/draft-04/schema#", "title": "Error Schema", '
                      '"type": "object", "properties": {"message": {"type": "string"}}}')


# How a model's schema refers to another model of its API (`$ref`), as AWS stores and resolves it.
MODEL_URL = model_urls.MODEL_URL


def default_models(id_of: Callable[[str], str] | None = None) -> dict[str, Model]:
    """`Empty` and `Error`, as CreateRestApi makes them (`id_of(name)` gives their ids; new ones by default)."""
    make = id_of or (lambda name: new_id(6))
    return {"Empty": Model(make("Empty"), "Empty", "application/json", EMPTY_MODEL_SCHEMA,
                           "This is a default empty schema model"),
            "Error": Model(make("Error"), "Error", "application/json", ERROR_MODEL_SCHEMA,
                           "This is a default error schema model")}


@dataclass
class Resource:
    """A path in the API's resource tree."""

    id: str
    path: str
    parent_id: str | None
    path_part: str | None
    methods: dict[str, Method] = field(default_factory=dict)


@dataclass
class Deployment:
    """A frozen snapshot of the API's resources; stages and canaries serve deployments."""

    id: str
    resources: dict[str, Resource]
    description: str = ""
    created_date: dt.datetime = field(default_factory=now)
    gateway_responses: dict[str, dict[str, Any]] = field(default_factory=dict)  # as deployed (PutGatewayResponse)
    models: dict[str, Model] = field(default_factory=dict)  # as deployed: name -> model
    request_validators: dict[str, RequestValidator] = field(default_factory=dict)  # as deployed: id -> validator

    @cached_property
    def routes(self) -> RouteTable:
        """The frozen resources compiled for matching (built once)."""
        return RouteTable.build(self.resources.values())

    @cached_property
    def compiled(self) -> dict[str, Any]:
        """What the data plane builds once from this frozen deployment (method_request.py's schema checkers)."""
        return {}


@dataclass
class CanarySettings:
    """A stage's canary (reference §2.1)."""

    percent_traffic: float = 0.0
    deployment_id: str | None = None
    stage_variable_overrides: dict[str, str] | None = None
    use_stage_cache: bool = False


@dataclass
class Stage:
    """A named, deployed stage with its variables and optional canary."""

    name: str
    deployment_id: str
    variables: dict[str, str] = field(default_factory=dict)
    canary_settings: CanarySettings | None = None
    description: str = ""
    created_date: dt.datetime = field(default_factory=now)
    last_updated_date: dt.datetime = field(default_factory=now)
    tags: dict[str, str] = field(default_factory=dict)
    # "*/*" or "{resourcePath without leading /}/{METHOD}" -> AWS's MethodSetting fields
    method_settings: dict[str, dict[str, Any]] = field(default_factory=dict)
    tracing_enabled: bool = False
    documentation_version: str | None = None


@dataclass
class RestApi:
    """A REST API: the live resource tree plus its deployments and stages."""

    id: str
    name: str
    description: str = ""
    binary_media_types: list[str] = field(default_factory=list)
    resources: dict[str, Resource] = field(default_factory=dict)
    deployments: dict[str, Deployment] = field(default_factory=dict)
    stages: dict[str, Stage] = field(default_factory=dict)
    created_date: dt.datetime = field(default_factory=now)
    tags: dict[str, str] = field(default_factory=dict)
    authorizers: dict[str, Authorizer] = field(default_factory=dict)
    endpoint_types: list[str] = field(default_factory=lambda: ["EDGE"])
    # responseType -> {"statusCode", "responseParameters", "responseTemplates"} as put (PutGatewayResponse)
    gateway_responses: dict[str, dict[str, Any]] = field(default_factory=dict)
    documentation_parts: dict[str, dict[str, Any]] = field(default_factory=dict)
    documentation_versions: dict[str, dict[str, Any]] = field(default_factory=dict)
    models: dict[str, Model] = field(default_factory=dict)  # name -> model
    request_validators: dict[str, RequestValidator] = field(default_factory=dict)  # id -> validator

    @property
    def root(self) -> Resource:
        """The `/` resource."""
        return next(resource for resource in self.resources.values() if resource.path == "/")

    def resource_by_path(self, path: str) -> Resource | None:
        """The resource with this full path."""
        return next((resource for resource in self.resources.values() if resource.path == path), None)

    def snapshot(self, deployment_id: str, description: str = "") -> Deployment:
        """Freeze the current resources, gateway responses, models and request validators into a deployment (not
        yet added): a stage serves what its deployment captured, as on AWS."""
        return Deployment(deployment_id, copy.deepcopy(self.resources), description,
                          gateway_responses=copy.deepcopy(self.gateway_responses),
                          models=copy.deepcopy(self.models), request_validators=copy.deepcopy(self.request_validators))

    def add_resource_path(self, path: str, id_factory=new_id) -> Resource:  # type: ignore[no-untyped-def]
        """Create `path` and any missing parents; returns the resource for `path`."""
        if not self.resources:
            root_id = id_factory()
            self.resources[root_id] = Resource(root_id, "/", None, None)
        current = self.root
        for part in [segment for segment in path.split("/") if segment]:
            child_path = (current.path.rstrip("/") + "/" + part)
            child = self.resource_by_path(child_path)
            if child is None:
                child_id = id_factory()
                child = Resource(child_id, child_path, current.id, part)
                self.resources[child_id] = child
            current = child
        return current


@dataclass
class ApiGatewayState:
    """Every REST API of one account and region."""

    region: str = "us-east-1"
    account_id: str = "123456789012"
    apis: dict[str, RestApi] = field(default_factory=dict)
