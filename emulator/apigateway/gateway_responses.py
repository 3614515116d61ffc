"""Responses API Gateway itself generates (reference §4.2): status, exact body and x-amzn-ErrorType."""

from __future__ import annotations

import json
from dataclasses import dataclass, field


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
