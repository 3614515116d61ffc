"""Map a Lambda proxy result to the HTTP response, as API Gateway does (reference §4.1)."""

from __future__ import annotations

import base64
import binascii
import functools
import json
import re
from typing import Any

from emulator.apigateway.gateway_responses import GatewayResponse, internal_server_error
from emulator.apigateway.proxy_event import media_type_matches

_ALLOWED_KEYS = frozenset({"statusCode", "headers", "multiValueHeaders", "body", "isBase64Encoded"})

# Headers of an integration response that API Gateway (REST) sends on renamed `x-amzn-Remapped-<name>`, and the
# one it drops, so that the framing of the client's response is always the gateway's own. AWS's recording:
# localstack/localstack@8b9a79f tests/aws/services/apigateway/test_apigateway_integrations.snapshot.json,
# TestApiGatewayHeaderRemapping::test_apigateway_header_remapping_aws[AWS] (recorded against AWS 11-12-2024): every
# one of these came back as x-amzn-Remapped-<name>, Transfer-Encoding did not come back at all, and TE, Via, Age,
# Accept* and Content-Encoding passed unchanged. The [HTTP_PROXY] recording shows the same renaming for the
# Connection, Content-Length, Date and Server an integration sent. The developer guide's "Amazon API Gateway
# important notes" (REST APIs) lists these among the headers that "may be remapped to x-amzn-Remapped-HEADER when
# sent to your integration endpoint or sent back by your integration endpoint" (awsdocs/amazon-api-gateway-
# developer-guide@12fad5e, doc_source/api-gateway-known-issues.md). The renamed header keeps the function's spelling.
_REMAPPED = frozenset(name.lower() for name in (
    "Authorization", "Connection", "Content-Length", "Content-MD5", "Date", "Expect", "Host", "Max-Forwards",
    "Proxy-Authenticate", "Server", "Trailer", "Upgrade", "User-Agent", "WWW-Authenticate"))
_DROPPED = frozenset({"transfer-encoding"})
# RFC 9110 5.1: a field name is a token. A value may not hold a control character but HTAB (RFC 9110 5.5: CR, LF,
# NUL and the other CTLs; aiohttp refuses to write the same set). What API Gateway does with either is not documented
# or recorded; lambda-canary answers as for any malformed proxy response (502).
HEADER_NAME = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
UNSENDABLE_IN_VALUE = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")


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
    if status < 200:  # an interim status would leave the client waiting for a final response on its connection
        raise MalformedProxyResponse(f"statusCode {status} is an interim (1xx) HTTP status")
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
            pairs.append((spelled.get(name.lower()) or name, text))
    return pairs


@functools.lru_cache(maxsize=512)
def _sent_name(name: str) -> str | None:
    """The name a function's header is sent on under: itself, remapped, or None (dropped); raises when invalid."""
    if not HEADER_NAME.fullmatch(name):
        raise MalformedProxyResponse(f"header name {name!r} is not a valid HTTP header name")
    lower = name.lower()
    if lower in _REMAPPED:
        return "x-amzn-Remapped-" + name
    return None if lower in _DROPPED else name


def _as_sent(pairs: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """The headers as API Gateway sends them on: names and values checked, framing headers remapped or dropped."""
    sent = []
    for name, value in pairs:
        # short names are cached (the usual few, checked once); long ones are checked each time, never kept
        sent_name = _sent_name(name) if len(name) <= 64 else _sent_name.__wrapped__(name)
        if UNSENDABLE_IN_VALUE.search(value):
            raise MalformedProxyResponse(f"header {name}: the value holds a control character (CR, LF, NUL, ...)")
        if sent_name is not None:
            sent.append((sent_name, value))
    return sent


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
    headers = _as_sent(_headers(result.get("headers"), result.get("multiValueHeaders")))
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
