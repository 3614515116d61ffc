"""The data plane's front door (emulator/apigateway/front_door.py): its response bytes are aiohttp's, byte for
byte, and the requests it does not take move to aiohttp mid-connection without losing a byte."""

from __future__ import annotations

import asyncio
import json
import re
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from aiohttp import web
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from emulator.apigateway.front_door import framed_headers, response_bytes
from emulator.apigateway.server import GatewayHttpResponse
from emulator.stack import StackOptions
from emulator.testing import StackThread

PING = Path(__file__).resolve().parent.parent / "examples" / "ping" / "canary.yaml"
_DATE = re.compile(rb"\r\nDate: [^\r]*")


# ---- the bytes: aiohttp's own writer against response_bytes ----------------------------------------------------
class _AiohttpWriter:
    """A real aiohttp server answering each request with the GatewayHttpResponse set for it."""

    def __init__(self) -> None:
        self.answer: tuple[int, bytes, list[tuple[str, str]]] = (200, b"", [])
        self.loop = asyncio.new_event_loop()
        self.port = 0
        ready = threading.Event()
        threading.Thread(target=self._run, args=(ready,), daemon=True).start()
        ready.wait(10)

    def _run(self, ready: threading.Event) -> None:
        asyncio.set_event_loop(self.loop)

        async def handle(_request: web.BaseRequest) -> web.StreamResponse:
            status, body, headers = self.answer
            return GatewayHttpResponse(status=status, body=body, headers=framed_headers(headers))

        async def start() -> None:
            server = await self.loop.create_server(web.Server(handle, access_log=None), "127.0.0.1", 0)
            self.port = server.sockets[0].getsockname()[1]
            ready.set()

        self.loop.run_until_complete(start())
        self.loop.run_forever()

    def bytes_for(self, method: str, status: int, body: bytes, headers: list[tuple[str, str]]) -> bytes:
        """What aiohttp wrote: the head, then as many body bytes as it framed (nothing for HEAD, 204, 304)."""
        self.answer = (status, body, headers)
        with socket.create_connection(("127.0.0.1", self.port), timeout=10) as sock:
            sock.sendall(f"{method} /x HTTP/1.1\r\nHost: localhost\r\n\r\n".encode())
            data = b""
            while b"\r\n\r\n" not in data:
                data += sock.recv(65536)
            head, _, rest = data.partition(b"\r\n\r\n")
            match = re.search(rb"\r\nContent-Length: (\d+)", head, re.IGNORECASE)
            framed = 0 if method == "HEAD" or status in (204, 304) or not match else int(match.group(1))
            while len(rest) < framed:
                rest += sock.recv(65536)
            return head + b"\r\n\r\n" + rest


@pytest.fixture(scope="module")
def aiohttp_writer() -> _AiohttpWriter:
    return _AiohttpWriter()


_NAMES = st.sampled_from(["Content-Type", "content-type", "X-Custom", "Set-Cookie", "Date", "Server", "Connection",
                          "Transfer-Encoding", "x-amzn-RequestId", "Content-Length", "content-length"])
_VALUES = st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7e), max_size=12)


@st.composite
def _responses(draw: st.DrawFn) -> tuple[str, int, bytes, list[tuple[str, str]]]:
    method = draw(st.sampled_from(["GET", "HEAD", "POST", "DELETE"]))
    status = draw(st.sampled_from([200, 201, 204, 299, 301, 304, 400, 403, 404, 413, 429, 500, 502, 504, 599]))
    body = draw(st.binary(max_size=40))
    headers = draw(st.lists(st.tuples(_NAMES, _VALUES), max_size=5))
    return method, status, body, headers


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(response=_responses())
def test_the_response_bytes_are_aiohttps_for_the_same_response(aiohttp_writer: _AiohttpWriter,
                                                               response: tuple[str, int, bytes,
                                                                               list[tuple[str, str]]]) -> None:
    method, status, body, headers = response
    expected = aiohttp_writer.bytes_for(method, status, body, headers)
    written = response_bytes(method, status, body, headers)
    assert written is not None
    assert _DATE.sub(b"", written) == _DATE.sub(b"", expected)


def test_a_header_aiohttp_refuses_to_write_is_not_written() -> None:
    assert response_bytes("GET", 200, b"{}", [("X-Bad", "a\x01b")]) is None


def test_a_framing_header_in_the_response_goes_out_remapped_and_the_body_is_framed_by_its_length() -> None:
    written = response_bytes("GET", 200, b"0123456789", [("Content-Length", "2"), ("transfer-encoding", "chunked")])
    assert written is not None
    head, _, body = written.partition(b"\r\n\r\n")
    assert b"\r\nx-amzn-Remapped-Content-Length: 2\r\n" in head
    assert b"\r\nx-amzn-Remapped-transfer-encoding: chunked\r\n" in head
    assert b"\r\nContent-Length: 10\r\n" in head and body == b"0123456789"


# ---- the connection: fast requests, then requests that move it to aiohttp -------------------------------------
@pytest.fixture(scope="module")
def running() -> Iterator[StackThread]:
    options = StackOptions(port=0, seed=7, access_log=False, function_logs=False, header_timeout=5, body_timeout=5)
    with StackThread(PING, options) as stack:
        yield stack


def _connect(stack: StackThread) -> socket.socket:
    return socket.create_connection(("127.0.0.1", int(stack.url.rsplit(":", 1)[1])), timeout=30)


def _responses_on(sock: socket.socket, count: int) -> list[tuple[bytes, bytes]]:
    """Read `count` Content-Length framed responses: (head, body) each."""
    data = b""
    answers: list[tuple[bytes, bytes]] = []
    while len(answers) < count:
        while b"\r\n\r\n" not in data:
            chunk = sock.recv(65536)
            assert chunk, f"the connection closed after {len(answers)} of {count} responses"
            data += chunk
        head, _, data = data.partition(b"\r\n\r\n")
        match = re.search(rb"\r\ncontent-length: (\d+)", head, re.IGNORECASE)
        length = int(match.group(1)) if match else 0
        while len(data) < length:
            data += sock.recv(65536)
        answers.append((head, data[:length]))
        data = data[length:]
    return answers


GET_PING = b"GET /prod/ping HTTP/1.1\r\nHost: localhost\r\n\r\n"


def test_pipelined_requests_are_answered_in_order_on_one_connection(running: StackThread) -> None:
    with _connect(running) as sock:
        sock.sendall(GET_PING + b"GET /prod/nope HTTP/1.1\r\nHost: localhost\r\n\r\n" + GET_PING)
        answers = _responses_on(sock, 3)
    assert [head.split(b"\r\n", 1)[0] for head, _ in answers] == [
        b"HTTP/1.1 200 OK", b"HTTP/1.1 403 Forbidden", b"HTTP/1.1 200 OK"]
    assert b'"message":"pong"' in answers[0][1]
    assert answers[1][1] == b'{"message":"Missing Authentication Token"}'


def test_a_connection_moves_to_aiohttp_for_the_admin_api_and_keeps_answering(running: StackThread) -> None:
    """Fast, then the admin API (aiohttp's path, same connection, pipelined with the next), then data plane."""
    with _connect(running) as sock:
        sock.sendall(GET_PING)
        first = _responses_on(sock, 1)
        sock.sendall(b"GET /_lambda_canary/health HTTP/1.1\r\nHost: localhost\r\n\r\n" + GET_PING)
        later = _responses_on(sock, 2)
    assert first[0][0].startswith(b"HTTP/1.1 200 OK")
    assert b'"status": "ok"' in later[0][1]
    assert later[1][0].startswith(b"HTTP/1.1 200 OK") and b'"message":"pong"' in later[1][1]


def test_an_escaped_admin_path_is_the_admin_api_on_either_front_door(running: StackThread) -> None:
    """aiohttp tells the admin API apart on the decoded path, so /%5Flambda_canary/health is the admin API whether
    the request arrived whole (this front door) or in pieces (aiohttp's)."""
    request = b"GET /%5Flambda_canary/health HTTP/1.1\r\nHost: localhost\r\n\r\n"
    with _connect(running) as sock:
        sock.sendall(request)
        whole = _responses_on(sock, 1)
    with _connect(running) as sock:
        sock.sendall(request[:10])
        sock.sendall(request[10:])
        pieces = _responses_on(sock, 1)
    assert [head.split(b"\r\n", 1)[0] for head, _ in whole + pieces] == [b"HTTP/1.1 200 OK"] * 2
    assert b'"status": "ok"' in whole[0][1] and b'"status": "ok"' in pieces[0][1]


def test_a_head_and_a_body_sent_in_pieces_are_read_whole(running: StackThread) -> None:
    """A partial head or body moves the connection to aiohttp, which reads the rest (its deadlines apply)."""
    request = (b"POST /prod/ping HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
               b"Content-Length: 11\r\n\r\n{\"a\": true}")
    with _connect(running) as sock:
        sock.sendall(request[:20])
        sock.sendall(request[20:])
        sock.sendall(request[:-5])
        sock.sendall(request[-5:])
        answers = _responses_on(sock, 2)
    # examples/ping declares GET /ping only: AWS answers 403 Missing Authentication Token for another method
    assert [head.split(b"\r\n", 1)[0] for head, _ in answers] == [b"HTTP/1.1 403 Forbidden"] * 2


def test_http_1_0_and_connection_close_get_aiohttps_closing_answer(running: StackThread) -> None:
    for request in (b"GET /prod/ping HTTP/1.0\r\nHost: localhost\r\n\r\n",
                    b"GET /prod/ping HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"):
        with _connect(running) as sock:
            sock.sendall(request)
            data = b""
            while chunk := sock.recv(65536):  # the server closes the connection after its answer
                data += chunk
        assert data.split(b"\r\n", 1)[0].endswith(b"200 OK") and b'"message":"pong"' in data
        assert b"Connection: keep-alive" not in data


def test_an_idle_connection_is_closed_after_the_keep_alive_timeout() -> None:
    options = StackOptions(port=0, seed=7, access_log=False, function_logs=False, keepalive_timeout=0.3)
    with StackThread(PING, options) as stack, _connect(stack) as sock:
        sock.sendall(GET_PING)
        assert _responses_on(sock, 1)[0][0].startswith(b"HTTP/1.1 200 OK")
        assert sock.recv(65536) == b""  # closed by the server, not by the 30 s client timeout


# ---- the request: the event a function gets is the same on both paths ------------------------------------------
ECHO = 'exports.handler = async (event) => ({ statusCode: 200, body: JSON.stringify(event) });\n'


@pytest.fixture(scope="module")
def echo_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[StackThread]:
    folder = tmp_path_factory.mktemp("echo")
    (folder / "index.js").write_text(ECHO)
    uri = ("arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/arn:aws:lambda:us-east-1:123456789012:"
           "function:echo/invocations")
    config = {"backend": "process", "region": "us-east-1", "accountId": "123456789012",
              "functions": {"echo": {"runtime": "nodejs22.x", "handler": "index.handler", "code": str(folder)}},
              "restApis": {"api": {"resources": {"/{proxy+}": {"ANY": {"integration": {
                  "type": "AWS_PROXY", "integrationHttpMethod": "POST", "uri": uri}}}},
                  "deployments": {"d1": {}}, "stages": {"prod": {"deploymentId": "d1"}}}}}
    (folder / "canary.yaml").write_text(yaml.safe_dump(config))
    with StackThread(folder / "canary.yaml", StackOptions(port=0, seed=3, access_log=False,
                                                          function_logs=False)) as stack:
        yield stack


def _event(stack: StackThread, request: bytes, pieces: int) -> tuple[bytes, dict[str, Any] | None]:
    """The status line, and the event the echo function got for `request` (None for an error answer), sent in one
    write (the fast path) or in two (the first piece read alone moves the connection to aiohttp)."""
    with _connect(stack) as sock:
        if pieces == 1:
            sock.sendall(request)
        else:
            sock.sendall(request[:10])
            time.sleep(0.01)  # the first piece is read alone: the head is incomplete
            sock.sendall(request[10:])
        ((head, body),) = _responses_on(sock, 1)
    status_line = head.split(b"\r\n", 1)[0]
    if not status_line.startswith(b"HTTP/1.1 200"):
        return status_line, None
    event = json.loads(body)
    context = event["requestContext"]
    for varying in ("requestId", "extendedRequestId", "requestTime", "requestTimeEpoch"):
        context.pop(varying)
    for headers in (event["headers"], event["multiValueHeaders"]):
        headers.pop("X-Amzn-Trace-Id", None)
    return status_line, event


# names aiohttp takes once (Host, User-Agent, Content-Type) or decodes (Content-Encoding) among ordinary ones;
# values with the spaces and tabs around them that the parsers strip
_HEADER_NAMES = st.sampled_from(["Accept", "X-Custom", "x-custom", "Cookie", "User-Agent", "X-Forwarded-For",
                                 "Content-Type", "X-Empty", "Host", "Content-Encoding"])
_HEADER_VALUES = st.builds(lambda pad, value, trail: pad + value + trail, st.sampled_from(["", " ", "\t "]),
                           st.text(st.characters(min_codepoint=0x21, max_codepoint=0x7e), max_size=8),
                           st.sampled_from(["", " ", "\t", " \t "]))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(method=st.sampled_from(["GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"]),
       path=st.sampled_from(["/prod/a", "/prod/a/b%20c", "/prod/x?q=1&q=2&r", "/prod/%E2%82%AC?e=%E2%82%AC",
                             "/prod/\u20ac?e=\u20ac", "/prod/a#f", "/prod/a?b#f"]),
       headers=st.lists(st.tuples(_HEADER_NAMES, _HEADER_VALUES), max_size=4),
       body=st.binary(max_size=30))
def test_the_function_gets_the_same_event_from_either_path(echo_stack: StackThread, method: str, path: str,
                                                           headers: list[tuple[str, str]], body: bytes) -> None:
    lines = [f"{method} {path} HTTP/1.1", "Host: localhost", *[f"{name}: {value}" for name, value in headers]]
    if body:
        lines.append(f"Content-Length: {len(body)}")
    request = ("\r\n".join(lines) + "\r\n\r\n").encode() + body
    assert _event(echo_stack, request, 1) == _event(echo_stack, request, 2)
