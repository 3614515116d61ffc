"""Map a Lambda proxy result to the HTTP response, as API Gateway does (reference §4.1)."""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

from emulator.apigateway.gateway_responses import GatewayResponse, internal_server_error
from emulator.apigateway.proxy_event import media_type_matches

_ALLOWED_KEYS = frozenset({"statusCode", "headers", "multiValueHeaders", "body", "isBase64Encoded"})


class MalformedProxyResponse(ValueError):
    """The function's return value is not a valid proxy response."""


def _status(value: Any) -> int:
    if value is None:
        return 200
    if isinstance(value, bool):
        raise MalformedProxyResponse("statusCode is a boolean")
    if isinstance(value, int):
        status = value
    elif (isinstance(value, str) and value.strip().isdigit()) or (isinstance(value, float) and value.is_integer()):
        status = int(value)
    else:
        raise MalformedProxyResponse(f"statusCode {value!r} is not a number")
    if not 100 <= status <= 599:
        raise MalformedProxyResponse(f"statusCode {status} is out of range")
    return status


def _scalar(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str | int | float):
        return str(value)
    raise MalformedProxyResponse(f"header value {value!r} is not a string")


def _headers(single: Any, multi: Any) -> list[tuple[str, str]]:
    """Multi-value headers first, then single ones unless the same pair is already there; a name in both maps is
    spelled as in multiValueHeaders."""
    if single is not None and not isinstance(single, dict):
        raise MalformedProxyResponse("headers is not an object")
    if multi is not None and not isinstance(multi, dict):
        raise MalformedProxyResponse("multiValueHeaders is not an object")
    pairs: list[tuple[str, str]] = []
    seen: set[tuple[str, str]] = set()
    spelled: dict[str, str] = {}
    for name, values in (multi or {}).items():
        if not isinstance(values, list):
            raise MalformedProxyResponse(f"multiValueHeaders.{name} is not a list")
        spelled.setdefault(name.lower(), name)
        for value in values:
            pair = (name, _scalar(value))
            pairs.append(pair)
            seen.add((name.lower(), pair[1]))
    for name, value in (single or {}).items():
        text = _scalar(value)
        if (name.lower(), text) not in seen:
            pairs.append((spelled.get(name.lower(), name), text))
    return pairs


def map_proxy_result(payload: bytes, binary_media_types: list[str], accept: str | None) -> GatewayResponse:
    """The client's response for a successful invoke; raises MalformedProxyResponse when AWS would 502."""
    try:
        result = json.loads(payload)
    except ValueError:
        raise MalformedProxyResponse("the payload is not JSON") from None
    if not isinstance(result, dict):
        raise MalformedProxyResponse("the payload is not a JSON object")
    unknown = set(result) - _ALLOWED_KEYS
    if unknown:
        raise MalformedProxyResponse(f"unknown keys {sorted(unknown)}")
    status = _status(result.get("statusCode"))
    headers = _headers(result.get("headers"), result.get("multiValueHeaders"))
    body_value = result.get("body")
    if body_value is not None and not isinstance(body_value, str):
        raise MalformedProxyResponse("body is not a string")
    body = (body_value or "").encode()
    if result.get("isBase64Encoded") is True and body:
        first_accept = (accept or "").split(",", 1)[0]
        if media_type_matches(first_accept, binary_media_types):
            try:
                body = base64.b64decode(body, validate=True)
            except (binascii.Error, ValueError):
                return internal_server_error(500, "API_CONFIGURATION_ERROR")
    if not any(name.lower() == "content-type" for name, _ in headers):
        headers.append(("Content-Type", "application/json"))
    return GatewayResponse(status, body, headers)
