"""API Gateway's header handling for Lambda proxy responses (issue 12, point 2), on a real keep-alive connection.

A function's framing headers (Content-Length, Transfer-Encoding, Connection) never reach the client as such: API
Gateway remaps them to `x-amzn-Remapped-<name>` (Transfer-Encoding is dropped) and frames the body itself (AWS's
recording: localstack/localstack@8b9a79f, test_apigateway_integrations.snapshot.json,
TestApiGatewayHeaderRemapping). A CR or LF in a value, or a name that is not an HTTP token, is a malformed proxy
response: 502. Each case is followed by a second request on the same connection, which must succeed.
"""

from __future__ import annotations

import http.client
import json
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest

from emulator.stack import StackOptions
from emulator.testing import StackThread

MIRROR = "exports.handler = async (event) => JSON.parse(event.body);\n"
INTERNAL = b'{"message": "Internal server error"}'
MIRROR_URI = ("arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/"
              "arn:aws:lambda:us-east-1:123456789012:function:mirror/invocations")
CONFIG = f"""
backend: process
functions:
  mirror: {{runtime: nodejs22.x, handler: index.handler, code: code}}
restApis:
  headers-api:
    id: hdrtest001
    resources:
      /mirror:
        POST:
          integration:
            type: AWS_PROXY
            uri: {MIRROR_URI}
    deployments: {{d1: {{}}}}
    stages:
      prod: {{deploymentId: d1}}
"""


@pytest.fixture(scope="module")
def gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[StackThread, list[str]]]:
    folder = tmp_path_factory.mktemp("headers")
    (folder / "code").mkdir()
    (folder / "code" / "index.js").write_text(MIRROR)
    (folder / "canary.yaml").write_text(CONFIG)
    lines: list[str] = []
    options = StackOptions(port=0, seed=7, backend="process", function_logs=False)
    with StackThread(folder / "canary.yaml", options, log=lines.append) as running:
        yield running, lines


def ask(connection: http.client.HTTPConnection, result: dict[str, Any]) -> tuple[http.client.HTTPResponse, bytes]:
    """POST the proxy result the function should return; read the whole response."""
    connection.request("POST", "/prod/mirror", body=json.dumps(result), headers={"Content-Type": "application/json"})
    response = connection.getresponse()
    return response, response.read()


def stats_5xx(url: str) -> int:
    with urllib.request.urlopen(f"{url}/_lambda_canary/stats", timeout=10) as reply:
        counts = json.load(reply)["apis"].get("hdrtest001", {}).get("prod", {})
    return sum(variant.get("status_5xx", 0) for variant in counts.values())


CASES: list[tuple[str, dict[str, Any], int, bytes, dict[str, str | None]]] = [
    ("content-length short", {"statusCode": 200, "headers": {"Content-Length": "3"}, "body": "hello world"},
     200, b"hello world", {"x-amzn-Remapped-Content-Length": "3"}),
    ("content-length long", {"statusCode": 200, "headers": {"content-length": "5000"}, "body": "hello world"},
     200, b"hello world", {"x-amzn-Remapped-content-length": "5000"}),
    ("transfer-encoding", {"statusCode": 200, "headers": {"Transfer-Encoding": "chunked"}, "body": "hello world"},
     200, b"hello world", {"Transfer-Encoding": None, "x-amzn-Remapped-Transfer-Encoding": None}),
    ("connection close", {"statusCode": 200, "headers": {"Connection": "close"}, "body": "still open"},
     200, b"still open", {"x-amzn-Remapped-Connection": "close"}),
    ("multi-value framing", {"statusCode": 201, "multiValueHeaders": {"Content-Length": ["1", "2"],
                                                                      "Transfer-Encoding": ["gzip", "chunked"]},
                             "body": "multi"},
     201, b"multi", {"Transfer-Encoding": None}),
    ("the rest of AWS's list", {"statusCode": 200, "body": "ok", "headers": {
        "Date": "Mon, 01 Jan 2001 00:00:00 GMT", "Server": "fn", "WWW-Authenticate": "Basic", "Upgrade": "h2c",
        "Trailer": "Expires", "Authorization": "Bearer x", "Host": "evil", "Expect": "100-continue", "TE": "gzip",
        "Max-Forwards": "2", "Proxy-Authenticate": "Basic", "User-Agent": "fn", "Content-MD5": "x"}},
     200, b"ok", {"x-amzn-Remapped-Date": "Mon, 01 Jan 2001 00:00:00 GMT", "x-amzn-Remapped-Server": "fn",
                  "x-amzn-Remapped-WWW-Authenticate": "Basic", "WWW-Authenticate": None,
                  "x-amzn-Remapped-Upgrade": "h2c", "Upgrade": None, "x-amzn-Remapped-Trailer": "Expires",
                  "x-amzn-Remapped-Authorization": "Bearer x", "x-amzn-Remapped-Host": "evil",
                  "x-amzn-Remapped-Expect": "100-continue", "TE": "gzip", "x-amzn-Remapped-Max-Forwards": "2",
                  "x-amzn-Remapped-Proxy-Authenticate": "Basic", "x-amzn-Remapped-User-Agent": "fn",
                  "x-amzn-Remapped-Content-MD5": "x"}),
    ("CRLF in a value", {"statusCode": 200, "headers": {"X-Evil": "a\r\nContent-Length: 0\r\n\r\nHTTP/1.1 200 OK"},
                         "body": "smuggled"}, 502, INTERNAL, {"X-Evil": None}),
    ("LF in a multi value", {"statusCode": 200, "multiValueHeaders": {"X-Evil": ["ok", "a\nb"]}, "body": "x"},
     502, INTERNAL, {}),
    ("NUL in a value", {"statusCode": 200, "headers": {"X-Evil": "a\u0000b"}, "body": "x"}, 502, INTERNAL, {}),
    # another control character (HTAB aside): aiohttp refuses to write it, so it closed the connection unanswered
    ("control character in a value", {"statusCode": 200, "headers": {"X-Evil": "a\u0001b"}, "body": "x"}, 502,
     INTERNAL, {}),
    ("DEL in a value", {"statusCode": 200, "headers": {"X-Evil": "a\u007fb"}, "body": "x"}, 502, INTERNAL, {}),
    ("tab in a value", {"statusCode": 200, "headers": {"X-Tab": "a\tb"}, "body": "x"}, 200, b"x", {"X-Tab": "a\tb"}),
    ("space in a name", {"statusCode": 200, "headers": {"Bad Name": "x"}, "body": "x"}, 502, INTERNAL, {}),
    ("empty name", {"statusCode": 200, "headers": {"": "x"}, "body": "x"}, 502, INTERNAL, {}),
    ("colon in a name", {"statusCode": 200, "headers": {"X-A:b": "x"}, "body": "x"}, 502, INTERNAL, {}),
    ("CR in a name", {"statusCode": 200, "headers": {"X-A\r\nX-B": "x"}, "body": "x"}, 502, INTERNAL, {}),
    ("non-ASCII name", {"statusCode": 200, "headers": {"X-\u00e9": "x"}, "body": "x"}, 502, INTERNAL, {}),
    ("interim status", {"statusCode": 100, "body": "x"}, 502, INTERNAL, {}),
    ("no content with a body", {"statusCode": 204, "headers": {"Content-Length": "4"}, "body": "body"},
     204, b"", {"x-amzn-Remapped-Content-Length": "4"}),
]


@pytest.mark.parametrize("case", [case[0] for case in CASES])
def test_framing_headers_never_break_the_connection(gateway: tuple[StackThread, list[str]], case: str) -> None:
    _, result, status, body, headers = next(item for item in CASES if item[0] == case)
    running, lines = gateway
    failures_before = stats_5xx(running.url)
    connection = http.client.HTTPConnection("127.0.0.1", int(running.url.rsplit(":", 1)[1]), timeout=15)
    try:
        response, received = ask(connection, result)
        socket_used = connection.sock
        assert (response.status, received) == (status, body)
        if status != 204:
            assert response.getheader("Content-Length") == str(len(body))  # the gateway's own framing
        assert response.getheader("Transfer-Encoding") is None
        assert response.getheader("Connection", "keep-alive").lower() == "keep-alive"
        for name, value in headers.items():
            assert response.getheader(name) == value, (name, response.getheaders())
        if status == 502:
            assert response.getheader("x-amzn-ErrorType") == "InternalServerErrorException"
            request_id = response.getheader("x-amzn-RequestId")
            assert f"({request_id}) Execution failed due to configuration error: Malformed Lambda proxy response" \
                in lines
            assert any(line.startswith(f"({request_id}) lambda-canary: ") for line in lines)  # says why
        # the access log and the stats record what the client got
        request_id = response.getheader("x-amzn-RequestId")
        access = [line for line in lines if line.startswith(f"{request_id} POST ")]
        assert len(access) == 1 and f" status={status} " in access[0], access
        assert stats_5xx(running.url) == failures_before + (status >= 500)
        # the next request on the same connection gets its own complete answer
        again, received_again = ask(connection, {"statusCode": 200, "body": "next"})
        assert connection.sock is socket_used is not None
        assert (again.status, received_again, again.getheader("Content-Length")) == (200, b"next", "4")
    finally:
        connection.close()


def test_remapped_names_keep_the_functions_spelling_and_order(gateway: tuple[StackThread, list[str]]) -> None:
    connection = http.client.HTTPConnection("127.0.0.1", int(gateway[0].url.rsplit(":", 1)[1]), timeout=15)
    try:
        response, _ = ask(connection, {"statusCode": 200, "body": "", "multiValueHeaders": {
            "server": ["one", "two"], "X-Kept": ["a", "b"]}})
        pairs = [(name, value) for name, value in response.getheaders() if name.lower().startswith(("x-amzn-remapped",
                                                                                                   "x-kept"))]
        assert pairs == [("x-amzn-Remapped-server", "one"), ("x-amzn-Remapped-server", "two"), ("X-Kept", "a"),
                         ("X-Kept", "b")]
    finally:
        connection.close()

