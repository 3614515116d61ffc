"""Responses API Gateway itself generates (reference §4.2): status, exact body and x-amzn-ErrorType."""

from __future__ import annotations

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
