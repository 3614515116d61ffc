"""The Lambda proxy event (payload 1.0) field by field, as a real Node `echo` handler receives it (reference §3)."""

from __future__ import annotations

import base64
import datetime as dt
import json
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from support import Reply, call

from emulator.stack import StackOptions
from emulator.testing import StackThread

CONFIG = Path(__file__).resolve().parent / "fixtures" / "gateway" / "gateway.yaml"
API_ID = "gwtest0001"
EVENT_KEYS = {"resource", "path", "httpMethod", "headers", "multiValueHeaders", "queryStringParameters",
              "multiValueQueryStringParameters", "pathParameters", "stageVariables", "requestContext", "body",
              "isBase64Encoded"}
CONTEXT_KEYS = {"accountId", "apiId", "deploymentId", "domainName", "domainPrefix", "extendedRequestId", "httpMethod",
                "identity", "path", "protocol", "requestId", "requestTime", "requestTimeEpoch", "resourceId",
                "resourcePath", "stage"}
IDENTITY_NULLS = {"cognitoIdentityPoolId", "accountId", "cognitoIdentityId", "caller", "principalOrgId", "accessKey",
                  "cognitoAuthenticationType", "cognitoAuthenticationProvider", "userArn", "user"}
UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
CLF = re.compile(r"^\d{2}/(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)/\d{4}:\d{2}:\d{2}:\d{2} \+0000$")
TRACE = re.compile(r"^Root=1-[0-9a-f]{8}-[0-9a-f]{24}$")


@pytest.fixture(scope="module")
def stack() -> Iterator[StackThread]:
    """tests/fixtures/gateway/gateway.yaml on real Node."""
    with StackThread(CONFIG, StackOptions(port=0, seed=7, access_log=False, function_logs=False)) as running:
        yield running


def echo(stack: StackThread, method: str, target: str, headers: list[tuple[str, str]] | None = None,
         body: bytes = b"") -> tuple[Reply, dict[str, Any]]:
    """The response and the event the echo function received."""
    reply = call(stack.url, method, target, headers, body)
    assert reply.status == 200, reply.body
    return reply, json.loads(reply.body)


def test_event_without_query_body_or_variables(stack: StackThread) -> None:
    """Exactly the twelve keys; no query string, body, path or stage variables give null, never `{}`."""
    _, event = echo(stack, "GET", "/prod/echo")
    assert set(event) == EVENT_KEYS
    assert event["resource"] == "/echo"
    assert event["path"] == "/echo"
    assert event["httpMethod"] == "GET"
    assert event["queryStringParameters"] is None
    assert event["multiValueQueryStringParameters"] is None
    assert event["pathParameters"] is None
    assert event["stageVariables"] is None
    assert event["body"] is None
    assert event["isBase64Encoded"] is False


def test_request_context(stack: StackThread) -> None:
    """requestContext: ids that match the response headers, CLF time and epoch ms, identity, path WITH the stage."""
    before = int(time.time() * 1000)
    reply, event = echo(stack, "GET", "/prod/echo", [("User-Agent", "canary-test/1.0")])
    after = int(time.time() * 1000)
    context = event["requestContext"]
    assert set(context) >= CONTEXT_KEYS
    assert context["stage"] == "prod"
    assert context["resourcePath"] == "/echo"
    assert stack.stack is not None
    resource = stack.stack.state.apis[API_ID].resource_by_path("/echo")
    assert resource is not None and context["resourceId"] == resource.id
    assert re.fullmatch(r"[a-z0-9]{6}", context["resourceId"])
    assert context["httpMethod"] == "GET"
    assert UUID.match(context["requestId"]) and context["requestId"] == reply.header("x-amzn-RequestId")
    assert context["extendedRequestId"] and context["extendedRequestId"] == reply.header("x-amz-apigw-id")
    assert isinstance(context["requestTimeEpoch"], int) and before <= context["requestTimeEpoch"] <= after
    assert CLF.match(context["requestTime"]), context["requestTime"]
    clf_seconds = dt.datetime.strptime(context["requestTime"], "%d/%b/%Y:%H:%M:%S %z").timestamp()
    assert clf_seconds == context["requestTimeEpoch"] // 1000
    identity = context["identity"]
    assert set(identity) == IDENTITY_NULLS | {"sourceIp", "userAgent"}
    assert all(identity[key] is None for key in IDENTITY_NULLS)
    assert identity["sourceIp"] == "127.0.0.1"
    assert identity["userAgent"] == "canary-test/1.0"
    assert context["deploymentId"] == "d1"
    assert context["protocol"] == "HTTP/1.1"
    assert context["domainName"] == f"{API_ID}.execute-api.localhost"
    assert context["domainPrefix"] == API_ID
    assert context["apiId"] == API_ID
    assert context["accountId"] == "123456789012"
    assert context["path"] == "/prod/echo"
    assert event["path"] == "/echo"


def test_domain_name_follows_the_host_header(stack: StackThread) -> None:
    """`Host: {apiId}.execute-api.localhost:PORT` becomes domainName (without the port) and is in the headers."""
    host = f"{API_ID}.execute-api.localhost"
    _, event = echo(stack, "GET", "/prod/echo", [("Host", f"{host}:4566")])
    assert event["requestContext"]["domainName"] == host
    assert event["headers"]["Host"] == f"{host}:4566"


def test_repeated_query_keys(stack: StackThread) -> None:
    """The last value wins in queryStringParameters; every value, in order, in the multi-value map."""
    _, event = echo(stack, "GET", "/prod/echo?category=electronics&category=books&price=10&price=20&price=30")
    assert event["queryStringParameters"] == {"category": "books", "price": "30"}
    assert event["multiValueQueryStringParameters"] == {"category": ["electronics", "books"],
                                                        "price": ["10", "20", "30"]}


def test_query_values_are_url_decoded(stack: StackThread) -> None:
    """`+` becomes a space, `%2B` a plus; the path itself is not decoded."""
    _, event = echo(stack, "GET", "/prod/echo?q=a+b&plus=%2B1")
    assert event["queryStringParameters"] == {"q": "a b", "plus": "+1"}
    assert event["multiValueQueryStringParameters"] == {"q": ["a b"], "plus": ["+1"]}


def test_repeated_headers_and_header_spelling(stack: StackThread) -> None:
    """headers holds the last value, multiValueHeaders every value; names keep the client's case, except
    that any spelling of authorization becomes `Authorization`."""
    _, event = echo(stack, "GET", "/prod/echo", [("X-Multi", "one"), ("X-Multi", "two"),
                                                 ("tEsT-HEADeR", "kept"), ("aUThorization", "token")])
    headers, multi = event["headers"], event["multiValueHeaders"]
    assert headers["X-Multi"] == "two"
    assert multi["X-Multi"] == ["one", "two"]
    assert headers["tEsT-HEADeR"] == "kept" and multi["tEsT-HEADeR"] == ["kept"]
    assert headers["Authorization"] == "token" and "aUThorization" not in headers
    assert set(headers) == set(multi)
    assert all(multi[name][-1] == value for name, value in headers.items())


def test_headers_api_gateway_adds_and_drops(stack: StackThread) -> None:
    """X-Amzn-Trace-Id (also on the response), X-Forwarded-*; no Content-Length or Connection."""
    reply, event = echo(stack, "POST", "/prod/echo", [("Content-Type", "text/plain"), ("Connection", "close")],
                        b"text")
    headers = event["headers"]
    assert TRACE.match(headers["X-Amzn-Trace-Id"]) and headers["X-Amzn-Trace-Id"] == reply.header("X-Amzn-Trace-Id")
    assert headers["X-Forwarded-For"] == "127.0.0.1"
    assert headers["X-Forwarded-Port"] == str(urlsplit(stack.url).port)
    assert headers["X-Forwarded-Proto"] == "http"
    assert not {"content-length", "connection"} & {name.lower() for name in headers}
    assert event["multiValueHeaders"]["X-Forwarded-For"] == ["127.0.0.1"]


def test_client_trace_id_is_passed_on(stack: StackThread) -> None:
    """A client's X-Amzn-Trace-Id reaches the function and comes back on the response."""
    trace = "Root=1-5e66d96f-7491f09xmpl79d18acf3d050"
    reply, event = echo(stack, "GET", "/prod/echo", [("X-Amzn-Trace-Id", trace)])
    assert event["headers"]["X-Amzn-Trace-Id"] == trace
    assert reply.header("X-Amzn-Trace-Id") == trace


def test_path_parameter(stack: StackThread) -> None:
    """/items/{id}: the resource template, the parameter, and both paths."""
    _, event = echo(stack, "GET", "/prod/items/42")
    assert event["resource"] == "/items/{id}"
    assert event["pathParameters"] == {"id": "42"}
    assert event["path"] == "/items/42"
    assert event["requestContext"]["resourcePath"] == "/items/{id}"
    assert event["requestContext"]["path"] == "/prod/items/42"


@pytest.mark.parametrize(("target", "path", "proxy", "context_path"), [
    ("/greedy/a//b/", "/a//b/", "a//b", "/greedy/a//b/"),  # trailing slash kept in path, not in the parameter
    ("/greedy//proxy-value", "/proxy-value", "proxy-value", "/greedy//proxy-value"),  # leading // reduced in path
    ("/greedy/proxy-value/", "/proxy-value/", "proxy-value", "/greedy/proxy-value/"),
    ("/greedy/test%2Balias@x+y", "/test%2Balias@x+y", "test%2Balias@x+y", "/greedy/test%2Balias@x+y"),  # no decoding
])
def test_greedy_proxy_path(stack: StackThread, target: str, path: str, proxy: str, context_path: str) -> None:
    """/{proxy+} on the `greedy` stage's deployment, as in reference §3.1."""
    _, event = echo(stack, "DELETE", target)
    assert event["resource"] == "/{proxy+}"
    assert event["httpMethod"] == "DELETE"
    assert event["path"] == path
    assert event["pathParameters"] == {"proxy": proxy}
    assert event["requestContext"]["path"] == context_path
    assert event["requestContext"]["resourcePath"] == "/{proxy+}"
    assert event["requestContext"]["deploymentId"] == "greedy"
    assert event["requestContext"]["httpMethod"] == "DELETE"


def test_binary_body_is_base64(stack: StackThread) -> None:
    """Content-Type image/png is in binaryMediaTypes: the body arrives base64-encoded with isBase64Encoded true."""
    payload = bytes(range(256)) * 4
    _, event = echo(stack, "POST", "/prod/echo", [("Content-Type", "image/png")], payload)
    assert event["isBase64Encoded"] is True
    assert event["body"] == base64.b64encode(payload).decode()


@pytest.mark.parametrize("content_type", ["text/plain; charset=utf-8", "image/jpeg", "application/json"])
def test_other_bodies_stay_text(stack: StackThread, content_type: str) -> None:
    """A media type outside binaryMediaTypes: the body as a UTF-8 string, isBase64Encoded false."""
    text = '{"greeting": "héllo"}'
    _, event = echo(stack, "POST", "/prod/echo", [("Content-Type", content_type)], text.encode())
    assert event["isBase64Encoded"] is False
    assert event["body"] == text


def test_stage_variables_of_a_stage(stack: StackThread) -> None:
    """A stage with variables passes them as the stageVariables map."""
    _, event = echo(stack, "GET", "/vars/echo")
    assert event["stageVariables"] == {"who": "base", "baseOnly": "kept"}
    assert event["requestContext"]["stage"] == "vars"
    assert event["requestContext"]["path"] == "/vars/echo"


def test_canary_requests_see_merged_variables_and_the_canary_deployment(stack: StackThread) -> None:
    """At 100 % canary: the stage's variables overlaid by the overrides, and the canary's deploymentId."""
    for _ in range(5):
        _, event = echo(stack, "GET", "/canary/echo")
        assert event["stageVariables"] == {"who": "canary", "baseOnly": "kept", "canaryOnly": "added"}
        assert event["requestContext"]["deploymentId"] == "d2"
        assert event["requestContext"]["stage"] == "canary"
