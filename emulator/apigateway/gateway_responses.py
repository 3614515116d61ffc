"""Responses API Gateway itself generates (reference §4.2): status, exact body and x-amzn-ErrorType."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


@dataclass
class GatewayResponse:
    """An HTTP response on its way to the client."""

    status: int
    body: bytes
    headers: list[tuple[str, str]] = field(default_factory=list)
    error_type: str | None = None  # our record of which gateway response this was


def _error(status: int, body: bytes, error_type: str | None, kind: str) -> GatewayResponse:
    headers = [("Content-Type", "application/json")]
    if error_type:
        headers.append(("x-amzn-ErrorType", error_type))
    return GatewayResponse(status, body, headers, kind)


def missing_authentication_token() -> GatewayResponse:
    """403 for an unknown path, method or stage (MISSING_AUTHENTICATION_TOKEN)."""
    return _error(403, b'{"message":"Missing Authentication Token"}', "MissingAuthenticationTokenException",
                  "MISSING_AUTHENTICATION_TOKEN")


def internal_server_error(status: int = 500, kind: str = "API_CONFIGURATION_ERROR") -> GatewayResponse:
    """500 (refused invoke, configuration error) or 502 (function error, malformed proxy response)."""
    return _error(status, b'{"message": "Internal server error"}', "InternalServerErrorException", kind)


def integration_timeout() -> GatewayResponse:
    """504 when API Gateway stops waiting for the integration (INTEGRATION_TIMEOUT).

    AWS's x-amzn-ErrorType for this case is not documented (reference §4.2); none is sent.
    """
    return _error(504, b'{"message": "Endpoint request timed out"}', None, "INTEGRATION_TIMEOUT")


def request_too_large() -> GatewayResponse:
    """413 for a request body over the 10 MB REST API payload limit (REQUEST_TOO_LARGE)."""
    return _error(413, b'{"message":"Request Too Long"}', None, "REQUEST_TOO_LARGE")


def unsupported_media_type() -> GatewayResponse:
    """415 when no request template matches and passthroughBehavior forbids passing the body (UNSUPPORTED_MEDIA_TYPE).

    The body is the default gateway-response template `{"message":$context.error.messageString}`; AWS's
    x-amzn-ErrorType for it is not documented (reference §4.2) and none is sent.
    """
    return _error(415, b'{"message":"Unsupported Media Type"}', None, "UNSUPPORTED_MEDIA_TYPE")


def bad_request_body(detail: str) -> GatewayResponse:
    """400 when a template reads a body that is not JSON (BAD_REQUEST_BODY)."""
    message = f"Could not parse request body into json: {detail}"
    body = ('{"message": ' + _json_string(message) + "}").encode()
    return _error(400, body, "BadRequestException", "BAD_REQUEST_BODY")


def bad_request_parameters(names: list[str]) -> GatewayResponse:
    """400 when a request validator finds required request parameters missing (BAD_REQUEST_PARAMETERS); AWS's
    message recorded in LocalStack's AWS-validated test_api_gateway_request_validator (localstack/localstack@8b9a79f).
    """
    message = f"Missing required request parameters: [{', '.join(names)}]"
    return _error(400, ('{"message":' + _json_string(message) + "}").encode(), "BadRequestException",
                  "BAD_REQUEST_PARAMETERS")


def invalid_request_body() -> GatewayResponse:
    """400 when a request validator finds the body does not adhere to its model (BAD_REQUEST_BODY); recorded as
    for bad_request_parameters."""
    return _error(400, b'{"message":"Invalid request body"}', "BadRequestException", "BAD_REQUEST_BODY")


def unauthorized() -> GatewayResponse:
    """401 `Unauthorized`: no identity, an identity failing identityValidationExpression, or an authorizer that
    threw `Unauthorized` (UNAUTHORIZED; https://docs.aws.amazon.com/apigateway/latest/developerguide/
    api-gateway-lambda-authorizer-output.html)."""
    return _error(401, b'{"message":"Unauthorized"}', "UnauthorizedException", "UNAUTHORIZED")


def access_denied(explicit: bool = False) -> GatewayResponse:
    """403 when the authorizer's policy does not allow the method ARN (ACCESS_DENIED). AWS spells this body's key
    `Message`; an explicit Deny adds `with an explicit deny`."""
    text = "User is not authorized to access this resource" + (" with an explicit deny" if explicit else "")
    return _error(403, ('{"Message":"' + text + '"}').encode(), "AccessDeniedException", "ACCESS_DENIED")


def authorizer_configuration_error() -> GatewayResponse:
    """500 when the authorizer fails (an error other than `Unauthorized`, a malformed policy, no permission to
    invoke it): AWS answers `{"message": null}` (AUTHORIZER_CONFIGURATION_ERROR)."""
    return _error(500, b'{"message": null}', "AuthorizerConfigurationException", "AUTHORIZER_CONFIGURATION_ERROR")


def _json_string(text: str) -> str:
    return json.dumps(text)


# Gateway responses: each type's default status, and AWS's default template (recorded: LocalStack's AWS-validated
# test_apigateway_api.py::TestApiGatewayGatewayResponse::test_gateway_response_crud, localstack/localstack@8b9a79f).
GATEWAY_RESPONSE_STATUS: dict[str, str | None] = {
    "ACCESS_DENIED": "403", "API_CONFIGURATION_ERROR": "500", "AUTHORIZER_CONFIGURATION_ERROR": "500",
    "AUTHORIZER_FAILURE": "500", "BAD_REQUEST_BODY": "400", "BAD_REQUEST_PARAMETERS": "400", "DEFAULT_4XX": None,
    "DEFAULT_5XX": None, "EXPIRED_TOKEN": "403", "INTEGRATION_FAILURE": "504", "INTEGRATION_TIMEOUT": "504",
    "INVALID_API_KEY": "403", "INVALID_SIGNATURE": "403", "MISSING_AUTHENTICATION_TOKEN": "403",
    "QUOTA_EXCEEDED": "429", "REQUEST_TOO_LARGE": "413", "RESOURCE_NOT_FOUND": "404", "THROTTLED": "429",
    "UNAUTHORIZED": "401", "UNSUPPORTED_MEDIA_TYPE": "415", "WAF_FILTERED": "403"}
DEFAULT_GATEWAY_TEMPLATES = {"application/json": '{"message":$context.error.messageString}'}


def effective(configured: dict[str, dict[str, Any]], kind: str) -> dict[str, Any]:
    """A gateway response as AWS shows it: the one put, else the type's default, which takes what was put on
    DEFAULT_4XX / DEFAULT_5XX (by the default status's class) as AWS does."""
    put = configured.get(kind)
    if put is not None:
        status = put.get("statusCode") or GATEWAY_RESPONSE_STATUS.get(kind)
        out: dict[str, Any] = {"responseType": kind, "defaultResponse": False,
                               "responseParameters": dict(put.get("responseParameters") or {}),
                               "responseTemplates": dict(put.get("responseTemplates") or DEFAULT_GATEWAY_TEMPLATES)}
        if status:
            out["statusCode"] = status
        return out
    status = GATEWAY_RESPONSE_STATUS.get(kind)
    out = {"responseType": kind, "defaultResponse": True, "responseParameters": {},
           "responseTemplates": dict(DEFAULT_GATEWAY_TEMPLATES)}
    family = configured.get(f"DEFAULT_{status[0]}XX") if status else None
    if family is not None:
        status = family.get("statusCode") or status
        out["responseParameters"] = dict(family.get("responseParameters") or {})
        out["responseTemplates"] = dict(family.get("responseTemplates") or DEFAULT_GATEWAY_TEMPLATES)
    if status:
        out["statusCode"] = status
    return out


@dataclass(frozen=True)
class ErrorContext:
    """What a gateway response's header mappings and template can read about the request."""

    header: Callable[[str], str | None]
    query: dict[str, str] = field(default_factory=dict)
    path_parameters: dict[str, str] = field(default_factory=dict)
    stage_variables: dict[str, str] = field(default_factory=dict)
    context: dict[str, str] = field(default_factory=dict)  # stage, resourcePath, requestId, httpMethod, ...


_VARIABLE_NAME = (r"context\.error\.messageString|context\.error\.message|context\.error\.responseType|"
                  r"context\.[A-Za-z]+|stageVariables\.[A-Za-z0-9_]+")
# `$name` or `${name}`: a brace closes only what one opened (`$context.error.messageString}` keeps its `}`)
_TEMPLATE_VARIABLE = re.compile(rf"\$(?:\{{({_VARIABLE_NAME})\}}|({_VARIABLE_NAME}))")


def throttled() -> GatewayResponse:
    """429 when a stage's or method's throttling limits are exceeded (THROTTLED)."""
    return _error(429, b'{"message":"Too Many Requests"}', "TooManyRequestsException", "THROTTLED")


def customize(response: GatewayResponse, configured: dict[str, dict[str, Any]],
              request: ErrorContext) -> GatewayResponse:
    """A response API Gateway generated, reshaped by the gateway response the API defines for its type (or for
    DEFAULT_4XX / DEFAULT_5XX): status, `gatewayresponse.header.*` mappings and the body template, with
    `$context.error.message`, `$context.error.messageString`, `$context.error.responseType`, `$context.*` and
    `$stageVariables.*`. Without one, AWS's default response is kept as is."""
    kind = response.error_type
    if not kind or not configured:
        return response
    family = f"DEFAULT_{str(response.status)[0]}XX"
    own = configured.get(kind)
    source = own if own is not None else configured.get(family)
    if source is None:
        return response
    settings = effective(configured, kind) if own is not None else {
        "statusCode": source.get("statusCode"), "responseParameters": dict(source.get("responseParameters") or {}),
        "responseTemplates": dict(source.get("responseTemplates") or DEFAULT_GATEWAY_TEMPLATES)}
    status = int(source.get("statusCode") or response.status)
    try:
        parsed = json.loads(response.body)
        value = parsed.get("message", parsed.get("Message"))  # ACCESS_DENIED spells it `Message`
    except (ValueError, AttributeError):
        value = response.body.decode("utf-8", "replace")
    message = "" if value is None else str(value)
    variables = {"context.error.message": message, "context.error.messageString": json.dumps(value),
                 "context.error.responseType": kind,
                 **{f"context.{name}": value for name, value in request.context.items()},
                 **{f"stageVariables.{name}": value for name, value in request.stage_variables.items()}}
    templates: dict[str, str] = settings.get("responseTemplates") or DEFAULT_GATEWAY_TEMPLATES
    content_type = "application/json" if "application/json" in templates else next(iter(templates))
    body = _TEMPLATE_VARIABLE.sub(lambda match: variables.get(match.group(1) or match.group(2), ""),
                                  templates[content_type])
    headers = [(name, value) for name, value in response.headers if name.lower() != "content-type"]
    headers.append(("Content-Type", content_type))
    for target, expression in (settings.get("responseParameters") or {}).items():
        if not target.startswith("gatewayresponse.header."):
            continue
        value = _mapped(expression, request)
        if value is not None:
            headers.append((target[len("gatewayresponse.header."):], value))
    return GatewayResponse(status, body.encode(), headers, kind)


def _mapped(expression: str, request: ErrorContext) -> str | None:
    if len(expression) >= 2 and expression.startswith("'") and expression.endswith("'"):
        return expression[1:-1]
    for prefix, lookup in (("method.request.header.", request.header),
                           ("method.request.querystring.", request.query.get),
                           ("method.request.path.", request.path_parameters.get),
                           ("stageVariables.", request.stage_variables.get),
                           ("context.", request.context.get)):
        if expression.startswith(prefix):
            return lookup(expression[len(prefix):])
    return None
