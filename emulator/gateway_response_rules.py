"""API Gateway's gateway response types, shared by the config model, the formats and the control plane."""

from __future__ import annotations

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
