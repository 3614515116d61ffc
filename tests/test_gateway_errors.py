"""Error paths and response mapping, with exact status, body and headers (reference §1.3, §4.1, §4.2, §4.4, §4.6)."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from support import Reply, call

from emulator.stack import StackOptions
from emulator.testing import StackThread

CONFIG = Path(__file__).resolve().parent / "fixtures" / "gateway" / "gateway.yaml"
MISSING_TOKEN = b'{"message":"Missing Authentication Token"}'
INTERNAL = b'{"message": "Internal server error"}'
TIMED_OUT = b'{"message": "Endpoint request timed out"}'
UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


@pytest.fixture(scope="module")
def gateway() -> Iterator[tuple[StackThread, list[str]]]:
    """tests/fixtures/gateway/gateway.yaml on real Node, with its execution and access log lines."""
    lines: list[str] = []
    with StackThread(CONFIG, StackOptions(port=0, seed=3, function_logs=False), log=lines.append) as running:
        yield running, lines


def assert_gateway_headers(reply: Reply, *, trace: bool) -> None:
    """x-amzn-RequestId and x-amz-apigw-id always; X-Amzn-Trace-Id only when an AWS_PROXY method answered."""
    assert UUID.match(reply.header("x-amzn-RequestId") or ""), reply.headers
    assert reply.header("x-amz-apigw-id")
    assert (reply.header("X-Amzn-Trace-Id") is not None) is trace, reply.headers


def assert_error(reply: Reply, status: int, body: bytes, error_type: str | None) -> None:
    """An API-Gateway-generated error: exact status, body, Content-Type and x-amzn-ErrorType."""
    assert (reply.status, reply.body) == (status, body)
    assert reply.header("Content-Type") == "application/json"
    assert reply.header("x-amzn-ErrorType") == error_type


# ---- 403: nothing matches -----------------------------------------------------------------------------------
@pytest.mark.parametrize(("method", "target", "headers"), [
    ("GET", "/prod/nope", []),  # unknown route
    ("GET", "/prod/items/1/extra", []),  # deeper than any resource
    ("DELETE", "/prod/echo", []),  # method not defined on the resource
    ("GET", "/nostage/echo", []),  # unknown stage
    ("GET", "/", []),  # no stage at all
    ("GET", "/prod", []),  # the root resource has no method
    ("GET", "/prod/echo", [("Host", "unknown0001.execute-api.localhost")]),  # unknown API
])
def test_nothing_matches_is_403_missing_authentication_token(gateway: tuple[StackThread, list[str]], method: str,
                                                             target: str, headers: list[tuple[str, str]]) -> None:
    """403 {"message":"Missing Authentication Token"} with MissingAuthenticationTokenException."""
    reply = call(gateway[0].url, method, target, headers)
    assert_error(reply, 403, MISSING_TOKEN, "MissingAuthenticationTokenException")
    assert_gateway_headers(reply, trace=False)


# ---- 500: the invoke cannot happen --------------------------------------------------------------------------
@pytest.mark.parametrize("target", ["/prod/undefined-var", "/vars/undefined-var", "/canary/undefined-var"])
def test_undefined_stage_variable_in_the_lambda_uri_is_500(gateway: tuple[StackThread, list[str]],
                                                           target: str) -> None:
    """`function:echo${stageVariables.suffix}` without `suffix` is a configuration error, although `echo` exists."""
    running, lines = gateway
    reply = call(running.url, "GET", target)
    assert_error(reply, 500, INTERNAL, "InternalServerErrorException")
    assert_gateway_headers(reply, trace=True)
    request_id = reply.header("x-amzn-RequestId")
    assert any(line.startswith(f"({request_id}) Execution failed due to configuration error:") for line in lines)
    assert f"({request_id}) Method completed with status: 500" in lines


def test_a_missing_function_is_500(gateway: tuple[StackThread, list[str]]) -> None:
    """A URI naming a function that does not exist: Lambda refuses the invoke, API Gateway answers 500."""
    reply = call(gateway[0].url, "GET", "/prod/missing-fn")
    assert_error(reply, 500, INTERNAL, "InternalServerErrorException")
    assert_gateway_headers(reply, trace=True)


# ---- 502: the function failed or answered badly -------------------------------------------------------------
def test_a_throwing_handler_is_502(gateway: tuple[StackThread, list[str]]) -> None:
    """A function error: 502 and the customer-function-error line in the execution log."""
    running, lines = gateway
    reply = call(running.url, "GET", "/prod/throw")
    assert_error(reply, 502, INTERNAL, "InternalServerErrorException")
    assert_gateway_headers(reply, trace=True)
    request_id = reply.header("x-amzn-RequestId")
    assert any(line.startswith(f"({request_id}) Lambda execution failed with status 200 due to customer function "
                               "error: boom. Lambda request id: ") for line in lines)


@pytest.mark.parametrize("kind", ["extra-key", "not-object", "non-numeric-status", "multi-not-list",
                                  "body-not-string"])
def test_a_malformed_proxy_response_is_502(gateway: tuple[StackThread, list[str]], kind: str) -> None:
    """An extra key, a non-object, a non-numeric statusCode, a non-list multiValueHeaders value, a non-string body."""
    running, lines = gateway
    reply = call(running.url, "GET", f"/prod/shape/{kind}")
    assert_error(reply, 502, INTERNAL, "InternalServerErrorException")
    assert_gateway_headers(reply, trace=True)
    request_id = reply.header("x-amzn-RequestId")
    assert f"({request_id}) Execution failed due to configuration error: Malformed Lambda proxy response" in lines
    assert f"({request_id}) Method completed with status: 502" in lines


# ---- valid proxy responses ----------------------------------------------------------------------------------
def test_status_code_as_a_numeric_string(gateway: tuple[StackThread, list[str]]) -> None:
    """`"statusCode": "201"` is accepted as 201."""
    reply = call(gateway[0].url, "GET", "/prod/shape/status-string")
    assert (reply.status, reply.body) == (201, b"created")
    assert reply.header("x-amzn-ErrorType") is None
    assert_gateway_headers(reply, trace=True)


def test_missing_status_code_is_200(gateway: tuple[StackThread, list[str]]) -> None:
    """No statusCode: 200, with the function's headers and body."""
    reply = call(gateway[0].url, "GET", "/prod/shape/no-status")
    assert (reply.status, reply.body, reply.header("x-shape")) == (200, b"ok", "no-status")


def test_no_content_type_becomes_application_json(gateway: tuple[StackThread, list[str]]) -> None:
    """Without a Content-Type from the function, API Gateway sends application/json; a set one is kept alone."""
    reply = call(gateway[0].url, "GET", "/prod/shape/no-content-type")
    assert (reply.status, reply.body) == (200, b"{}")
    assert reply.values("Content-Type") == ["application/json"]
    reply = call(gateway[0].url, "GET", "/prod/shape/content-type")
    assert reply.values("Content-Type") == ["text/plain"]


def test_null_headers_and_boolean_header_values(gateway: tuple[StackThread, list[str]]) -> None:
    """`headers: null` is accepted (here with 204 and no body); a boolean header value is sent as `true`."""
    reply = call(gateway[0].url, "GET", "/prod/shape/null-headers")
    assert (reply.status, reply.body) == (204, b"")
    reply = call(gateway[0].url, "GET", "/prod/shape/bool-header")
    assert (reply.status, reply.header("x-flag")) == (200, "true")


def test_headers_and_multi_value_headers_merge(gateway: tuple[StackThread, list[str]]) -> None:
    """Both maps are sent, multi-value values first, the name spelled as in multiValueHeaders (reference §4.1)."""
    reply = call(gateway[0].url, "GET", "/prod/shape/merge")
    assert reply.status == 200
    merged = [(name, value) for name, value in reply.headers if name.lower() == "test-multi"]
    assert merged == [("tesT-Multi", "value-multi"), ("tesT-Multi", "value-solo")]
    assert reply.values("x-list") == ["a", "b"]
    assert reply.values("x-single") == ["one"]


def test_a_pair_in_both_maps_is_sent_once(gateway: tuple[StackThread, list[str]]) -> None:
    """The same key and value in headers and multiValueHeaders: only the multiValueHeaders copy."""
    reply = call(gateway[0].url, "GET", "/prod/shape/same-pair")
    assert reply.values("x-dup") == ["v", "w"]


def test_a_handled_error_passes_through(gateway: tuple[StackThread, list[str]]) -> None:
    """A function's own 4xx with its own X-Amzn-ErrorType reaches the client as returned."""
    reply = call(gateway[0].url, "GET", "/prod/shape/handled-error")
    assert reply.status == 418
    assert reply.json() == {"message": "short and stout"}
    assert reply.header("X-Amzn-ErrorType") == "TeapotException"


# ---- timeouts -----------------------------------------------------------------------------------------------
def test_integration_timeout_is_504(gateway: tuple[StackThread, list[str]]) -> None:
    """timeoutInMillis 200 and a function that sleeps 1 s (timeout 3 s): 504 after about 200 ms."""
    started = time.monotonic()
    reply = call(gateway[0].url, "GET", "/prod/integration-timeout")
    elapsed = time.monotonic() - started
    assert (reply.status, reply.body) == (504, TIMED_OUT)
    assert reply.header("Content-Type") == "application/json"
    assert_gateway_headers(reply, trace=True)
    assert elapsed >= 0.2, elapsed  # waited for the integration timeout; a 504 (not 200) shows it did not wait 1 s


def test_lambda_timeout_ending_first_is_502(gateway: tuple[StackThread, list[str]]) -> None:
    """Function timeout 1 s, handler sleeps 3 s, integration 29 s: Lambda's timeout is a function error, 502."""
    started = time.monotonic()
    reply = call(gateway[0].url, "GET", "/prod/lambda-timeout")
    elapsed = time.monotonic() - started
    assert_error(reply, 502, INTERNAL, "InternalServerErrorException")
    assert_gateway_headers(reply, trace=True)
    assert 1.0 <= elapsed < 3.0, elapsed


# ---- headers on every response ------------------------------------------------------------------------------
@pytest.mark.parametrize(("target", "status", "trace"), [
    ("/prod/echo", 200, True),
    ("/prod/shape/status-string", 201, True),
    ("/prod/missing-fn", 500, True),
    ("/prod/throw", 502, True),
    ("/prod/nope", 403, False),
    ("/prod/mock", 200, False),
])
def test_every_response_carries_request_ids(gateway: tuple[StackThread, list[str]], target: str, status: int,
                                            trace: bool) -> None:
    """x-amzn-RequestId (a fresh UUID) and x-amz-apigw-id on every answer; X-Amzn-Trace-Id on AWS_PROXY only."""
    first, second = (call(gateway[0].url, "GET", target) for _ in range(2))
    for reply in (first, second):
        assert reply.status == status
        assert_gateway_headers(reply, trace=trace)
    assert first.header("x-amzn-RequestId") != second.header("x-amzn-RequestId")
    assert first.header("x-amz-apigw-id") != second.header("x-amz-apigw-id")


def test_mock_renders_context_and_sends_no_trace_id(gateway: tuple[StackThread, list[str]]) -> None:
    """A MOCK integration answers from its template: JSON, the stage, not a canary request, no X-Amzn-Trace-Id."""
    reply = call(gateway[0].url, "GET", "/canary/mock")
    assert reply.status == 200
    assert reply.json() == {"stage": "canary", "canary": "true"}
    assert reply.header("Content-Type") == "application/json"
    assert reply.header("X-Amzn-Trace-Id") is None
    assert call(gateway[0].url, "GET", "/prod/mock").json() == {"stage": "prod", "canary": "false"}
