"""The Lambda proxy integration event, payload format 1.0, as AWS builds it (reference §3)."""

from __future__ import annotations

import base64
from typing import Any
from urllib.parse import unquote_plus

from emulator.apigateway.canary import Variant
from emulator.apigateway.request import IncomingRequest, RequestIds
from emulator.apigateway.routing import RouteMatch

_DROPPED_HEADERS = frozenset({"connection", "content-length"})


def media_type_matches(content_type: str | None, binary_media_types: list[str]) -> bool:
    """Does a media type match an entry of binaryMediaTypes (exact, `type/*` or `*/*`)?"""
    if not content_type or not binary_media_types:
        return False
    media = content_type.split(";", 1)[0].strip().lower()
    major = media.split("/", 1)[0]
    for entry in binary_media_types:
        wanted = entry.strip().lower()
        if wanted.startswith("*/") and wanted != "*/*":
            continue  # AWS matches no `*/subtype` entry, not even `*/subtype` itself (test_aws_proxy_binary_response)
        if wanted in ("*/*", media) or wanted == f"{major}/*":
            return True
    return False


def parse_query(query_string: str | None) -> tuple[dict[str, str] | None, dict[str, list[str]] | None]:
    """Single and multi-value query maps: `null` when there is no query string, last value wins."""
    if not query_string:
        return None, None
    multi: dict[str, list[str]] = {}
    for pair in query_string.split("&"):
        if not pair:
            continue
        key, _, value = pair.partition("=")
        multi.setdefault(unquote_plus(key), []).append(unquote_plus(value))
    if not multi:
        return None, None
    return {key: values[-1] for key, values in multi.items()}, multi


# Header names AWS writes in its own spelling whatever the client sent (`user-Agent` -> `User-Agent`); others keep
# the client's (recorded: LocalStack's AWS-validated test_apigateway_lambda.py::test_lambda_aws_proxy_integration and
# ::test_lambda_aws_proxy_integration_request_data_mapping, localstack/localstack@8b9a79f).
_CANONICAL = {"authorization": "Authorization", "user-agent": "User-Agent"}


def event_headers(request: IncomingRequest, ids: RequestIds) -> tuple[dict[str, str], dict[str, list[str]]]:
    """`headers` (last value) and `multiValueHeaders`, with the headers API Gateway adds."""
    single: dict[str, str] = {}
    multi: dict[str, list[str]] = {}
    spelled: dict[str, str] = {}
    for name, value in request.headers:
        lowered = name.lower()
        if lowered in _DROPPED_HEADERS:
            continue
        key = spelled.setdefault(lowered, _CANONICAL.get(lowered, name))
        single[key] = value
        multi.setdefault(key, []).append(value)
    added = {
        "X-Amzn-Trace-Id": ids.trace_id,
        "X-Forwarded-For": request.source_ip,
        "X-Forwarded-Port": str(request.local_port),
        "X-Forwarded-Proto": "http",
    }
    for name, value in added.items():
        key = spelled.get(name.lower(), name)
        if name == "X-Forwarded-For" and key in single:
            value = f"{single[key]}, {value}"
        single[key] = value
        multi[key] = [value]
    return single, multi


def build_event(request: IncomingRequest, match: RouteMatch, *, path: str, api_id: str, account_id: str,
                stage: str, variant: Variant, ids: RequestIds, binary_media_types: list[str],
                domain_name: str, authorizer: dict[str, Any] | None = None) -> dict[str, Any]:
    """The proxy event for one request; `path` is the raw path after the stage; `authorizer` is what a Lambda
    authorizer allowed (principalId and context), put in `requestContext.authorizer`."""
    headers, multi_headers = event_headers(request, ids)
    query, multi_query = parse_query(request.query_string)
    body: str | None = None
    is_base64 = False
    if request.body:
        if media_type_matches(request.header("Content-Type"), binary_media_types):
            body, is_base64 = base64.b64encode(request.body).decode(), True
        else:
            body = request.body.decode("utf-8", "replace")
    context: dict[str, Any] = {
        "resourceId": match.resource.id,
        "resourcePath": match.resource.path,
        "httpMethod": request.method,
        "extendedRequestId": ids.extended_request_id,
        "requestTime": ids.request_time,
        "path": f"/{stage}{path}",
        "accountId": account_id,
        "protocol": "HTTP/1.1",
        "stage": stage,
        "domainPrefix": domain_name.split(".", 1)[0],
        "requestTimeEpoch": ids.epoch_ms,
        "requestId": ids.request_id,
        "identity": {
            "cognitoIdentityPoolId": None, "accountId": None, "cognitoIdentityId": None, "caller": None,
            "sourceIp": request.source_ip, "principalOrgId": None, "accessKey": None,
            "cognitoAuthenticationType": None, "cognitoAuthenticationProvider": None, "userArn": None,
            "userAgent": request.header("User-Agent"), "user": None,
        },
        "domainName": domain_name,
        "deploymentId": variant.deployment_id,
        "apiId": api_id,
    }
    if authorizer is not None:
        context["authorizer"] = authorizer
    if match.method.operation_name:
        context["operationName"] = match.method.operation_name
    return {
        "resource": match.resource.path,
        "path": "/" + path.lstrip("/") if path.startswith("//") else path,
        "httpMethod": request.method,
        "headers": headers or None,
        "multiValueHeaders": multi_headers or None,
        "queryStringParameters": query,
        "multiValueQueryStringParameters": multi_query,
        "pathParameters": match.path_parameters,
        "stageVariables": variant.variables or None,
        "requestContext": context,
        "body": body,
        "isBase64Encoded": is_base64,
    }
