"""What a mapping template sees of a request: `$context`, `$input.params()` and `$stageVariables`.

The `$context` fields are those the mapping template reference lists for REST APIs
(https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-mapping-template-reference.html);
`isCanaryRequest` prints `true`/`false` (reference §2.5, observed by LocalStack's AWS-validated canary test).
"""

from __future__ import annotations

from typing import Any

from emulator.apigateway.exchange import Exchange
from emulator.apigateway.proxy_event import parse_query
from emulator.apigateway.templates import render


def context_variables(exchange: Exchange, account_id: str) -> dict[str, Any]:
    """`$context` for one request (a fresh, mutable dict: templates may `#set` overrides in it)."""
    assert exchange.api is not None and exchange.variant is not None
    request, ids, match = exchange.request, exchange.ids, exchange.match
    authorizer = exchange.authorizer.as_request_context() if exchange.authorizer else {}
    return {
        "accountId": account_id,
        "apiId": exchange.api.id,
        "authorizer": {key: _stringified(value) for key, value in authorizer.items()},
        "awsEndpointRequestId": ids.request_id,
        "deploymentId": exchange.variant.deployment_id,
        "domainName": exchange.domain_name,
        "domainPrefix": exchange.domain_name.split(".", 1)[0],
        "error": {"message": "", "messageString": '""', "responseType": "", "validationErrorString": ""},
        "extendedRequestId": ids.extended_request_id,
        "httpMethod": request.method,
        "identity": {
            "accountId": None, "apiKey": None, "apiKeyId": None, "caller": None,
            "cognitoAuthenticationProvider": None, "cognitoAuthenticationType": None, "cognitoIdentityId": None,
            "cognitoIdentityPoolId": None, "principalOrgId": None, "sourceIp": request.source_ip,
            "clientCert": None, "user": None, "userAgent": request.header("User-Agent"), "userArn": None,
            "vpcId": None, "vpceId": None,
        },
        "isCanaryRequest": exchange.variant.is_canary,
        "path": f"/{exchange.stage_name}{exchange.path}",
        "protocol": "HTTP/1.1",
        "requestId": ids.request_id,
        "requestOverride": {"header": {}, "path": {}, "querystring": {}},
        "responseOverride": {"header": {}, "status": None},
        "requestTime": ids.request_time,
        "requestTimeEpoch": ids.epoch_ms,
        "resourceId": match.resource.id if match else "",
        "resourcePath": match.resource.path if match else "",
        "stage": exchange.stage_name,
        "xrayTraceId": ids.trace_id,
    }


def _stringified(value: Any) -> str:
    """$context.authorizer.<key> is the stringified value (`1` -> "1", `true` -> "true")."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def input_parameters(exchange: Exchange) -> dict[str, dict[str, str]]:
    """`$input.params()`: path, querystring and header maps, in that order."""
    query, _ = parse_query(exchange.request.query_string)
    headers: dict[str, str] = {}
    for name, value in exchange.request.headers:
        headers[name] = value
    path = dict(exchange.match.path_parameters or {}) if exchange.match else {}
    return {"path": path, "querystring": dict(query or {}), "header": headers}


def render_for(exchange: Exchange, template: str, body: str, context: dict[str, Any]) -> str:
    """Render a template with this request's `$input` parameters, `context` and stage variables."""
    assert exchange.variant is not None
    return render(template, body=body, parameters=input_parameters(exchange), context=context,
                  stage_variables=exchange.variant.variables)
