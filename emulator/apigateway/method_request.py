"""The method request step: a method's request validator checks the request before its integration runs.

AWS ("Request validation for REST APIs in API Gateway",
https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-method-request-validation.html):
with validateRequestParameters, the required request parameters (`method.request.{path,querystring,header}.X`
declared `true`) must be included and not blank; with validateRequestBody, the payload must adhere to the method's
model for the request's content type (JSON Schema draft 4), `$default` standing for any content type; when no model
matches the content type, the body is not validated. A request without Content-Type is taken as application/json.

Failures are the gateway responses BAD_REQUEST_PARAMETERS and BAD_REQUEST_BODY, with AWS's recorded messages
(LocalStack's AWS-validated test_apigateway_common.py::test_api_gateway_request_validator,
::test_api_gateway_request_validator_with_ref_models and ::test_api_gateway_request_validator_with_ref_one_ofmodels,
localstack/localstack@8b9a79f): `Missing required request parameters: [x-header-param, issuer, qs1]` (names in
the order of their declarations' sorted keys, parameters checked before the body) and `Invalid request body` (an
empty body is checked as `{}`). A model refers to another model of its API by its URL
`https://apigateway.amazonaws.com/restapis/{apiId}/models/{name}`.

It runs after the authorizer and before the integration request, as in LocalStack's execute_api handler chain
(next_gen/execute_api/gateway.py: ... api_key_validation_handler, method_request_handler,
integration_request_handler ...). The validators and models are those the serving deployment captured; each
model's checker is built once per deployment, on first use (jsonschema is imported then, not at start).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from emulator.apigateway import gateway_responses as responses
from emulator.apigateway.exchange import Exchange
from emulator.apigateway.gateway_responses import GatewayResponse
from emulator.apigateway.integration_request import media_type
from emulator.apigateway.model import MODEL_URL, Deployment, Method, Model
from emulator.apigateway.proxy_event import parse_query

_PREFIX = "method.request."
MAX_SHOWN = 300  # characters of a validation failure the log line shows


def validate(exchange: Exchange, deployment: Deployment, log: Callable[[str], None]) -> GatewayResponse | None:
    """None when the request passes its method's request validator (or the validator is not in the deployment),
    else the 400 gateway response."""
    assert exchange.match is not None and exchange.api is not None
    method = exchange.match.method
    validator = deployment.request_validators.get(method.request_validator_id or "")
    if validator is None:
        log(f"lambda-canary: the method's request validator {method.request_validator_id} is not in deployment "
            f"{deployment.id}; the request is not validated")
        return None
    if validator.validate_request_parameters:
        missing = missing_parameters(exchange, method)
        if missing:
            log(f"Request validation failed: missing required request parameters: [{', '.join(missing)}]")
            return responses.bad_request_parameters(missing)
    if validator.validate_request_body:
        problem = body_problem(exchange, method, deployment)
        if problem is not None:
            shown = problem if len(problem) <= MAX_SHOWN else problem[:MAX_SHOWN] + "..."  # it quotes the body
            log(f"Request body does not match model schema for content type "
                f"{media_type(exchange.request.header('Content-Type'))}: {shown}")
            return responses.invalid_request_body()
    return None


def missing_parameters(exchange: Exchange, method: Method) -> list[str]:
    """The names of the method's required request parameters the request lacks or leaves blank."""
    assert exchange.match is not None
    query: dict[str, str] | None = None
    missing = []
    for key in sorted(method.request_parameters):
        if not method.request_parameters[key] or not key.startswith(_PREFIX):
            continue
        location, _, name = key[len(_PREFIX):].partition(".")
        if location == "header":
            value = exchange.request.header(name)
        elif location == "querystring":
            if query is None:
                query = parse_query(exchange.request.query_string)[0] or {}
            value = query.get(name)
        elif location == "path":
            value = (exchange.match.path_parameters or {}).get(name)
        else:
            continue
        if not value:
            missing.append(name)
    return missing


def model_for(method: Method, content_type: str | None) -> str | None:
    """The name of the method's model for this content type (or its `$default` model); None: no body check."""
    media = media_type(content_type)
    default = None
    for key, name in method.request_models.items():
        if key.lower() == media:
            return name
        if key == "$default":
            default = name
    return default


def body_problem(exchange: Exchange, method: Method, deployment: Deployment) -> str | None:
    """Why the body does not adhere to its model (None: it does, or no model applies)."""
    name = model_for(method, exchange.request.header("Content-Type"))
    if name is None:
        return None
    assert exchange.api is not None
    checker = _checker(deployment, exchange.api.id, name)
    if isinstance(checker, str):
        return checker
    try:
        instance = json.loads(exchange.request.body or b"{}")
    except (ValueError, RecursionError) as error:
        return f"the body is not JSON ({error})"
    return checker(instance)


def _checker(deployment: Deployment, api_id: str, name: str) -> Callable[[Any], str | None] | str:
    """The model's checker (built once per deployment), or why the model cannot check anything."""
    cache: dict[str, Callable[[Any], str | None] | str] = deployment.compiled.setdefault("body_models", {})
    checker = cache.get(name)
    if checker is None:
        checker = cache[name] = _compile(deployment.models, api_id, name)
    return checker


def _compile(models: dict[str, Model], api_id: str, name: str) -> Callable[[Any], str | None] | str:
    """A draft 4 validator of the model, the API's other models reachable by their URLs."""
    import jsonschema
    from referencing import Registry
    from referencing.exceptions import Unresolvable
    from referencing.jsonschema import DRAFT4

    if name not in models:
        return f"model {name} is not in the deployment"
    schemas: dict[str, Any] = {}
    for other in models.values():
        try:
            schemas[other.name] = json.loads(other.schema)
        except (ValueError, RecursionError):
            continue
    if name not in schemas:
        return f"model {name}'s schema is not JSON"
    registry: Registry[Any] = Registry().with_resources(
        (MODEL_URL.format(api_id=api_id, name=other), DRAFT4.create_resource(schema))
        for other, schema in schemas.items())
    validator = jsonschema.Draft4Validator(schemas[name], registry=registry)

    def check(instance: Any) -> str | None:
        try:
            error = jsonschema.exceptions.best_match(validator.iter_errors(instance))
        except (jsonschema.exceptions.SchemaError, jsonschema.exceptions.UnknownType, Unresolvable) as problem:
            return f"model {name} cannot be applied: {problem}"
        except RecursionError:  # a recursive model and a body nested deeper than Python's stack follows
            return "the body nests deeper than its model can be followed"
        return None if error is None else error.message

    return check
