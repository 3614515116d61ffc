"""API Gateway's gateway response types, shared by the config model, the formats and the control plane."""

from __future__ import annotations

import re

# Every type AWS accepts, in the order AWS prints them in its ValidationException ("Member must satisfy enum value
# set: [...]"; recorded: LocalStack's AWS-validated test_apigateway_api.py::TestApiGatewayGatewayResponse::
# test_gateway_response_validation, localstack/localstack@8b9a79f; botocore's apigateway GatewayResponseType).
RESPONSE_TYPES = (
    "REQUEST_TOO_LARGE", "RESOURCE_NOT_FOUND", "AUTHORIZER_CONFIGURATION_ERROR", "MISSING_AUTHENTICATION_TOKEN",
    "BAD_REQUEST_BODY", "INVALID_SIGNATURE", "INVALID_API_KEY", "BAD_REQUEST_PARAMETERS", "AUTHORIZER_FAILURE",
    "UNAUTHORIZED", "INTEGRATION_TIMEOUT", "ACCESS_DENIED", "DEFAULT_4XX", "DEFAULT_5XX", "WAF_FILTERED",
    "QUOTA_EXCEEDED", "THROTTLED", "API_CONFIGURATION_ERROR", "UNSUPPORTED_MEDIA_TYPE", "INTEGRATION_FAILURE",
    "EXPIRED_TOKEN")


def unknown_type_error(kind: str) -> str | None:
    """AWS's refusal of a response type it does not have, or None for a known one."""
    if kind in RESPONSE_TYPES:
        return None
    return (f"gateway response type {kind!r} is not one of AWS's; AWS answers 400 'Value {kind!r} at "
            f"'responseType' failed to satisfy constraint: Member must satisfy enum value set: "
            f"[{', '.join(RESPONSE_TYPES)}]'")


STATUS_CODE = re.compile(r"[1-5][0-9][0-9]")  # botocore's StatusCode pattern, [1-5]\d\d


def status_code_error(status: object) -> str | None:
    """Why a gateway response's statusCode is not an HTTP status AWS takes, or None when it is (or is absent)."""
    if status is None or STATUS_CODE.fullmatch(str(status)):
        return None
    return f"gateway response statusCode {status!r} is not an HTTP status code (100 to 599)"
