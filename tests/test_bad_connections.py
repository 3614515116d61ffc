"""Bad connections: a header that never completes and a body that stalls are closed after their timeouts; a
malformed request is one log line and a JSON 400, never a traceback."""

from __future__ import annotations

import re
import socket
import time
from collections.abc import Iterator

import pytest

from emulator.apigateway.server import HEADER_TIMEOUT
from emulator.stack import StackOptions
from emulator.testing import StackThread

GRACE_S = 20.0  # how long the test waits for the server to act; the timeouts under test are 0.5 s


@pytest.fixture
def running() -> Iterator[tuple[StackThread, list[str]]]:
    lines: list[str] = []
    options = StackOptions(port=0, access_log=False, function_logs=False, header_timeout=0.5, body_timeout=0.5)
    with StackThread(None, options, log=lines.append) as stack:
        yield stack, lines


def _connect(stack: StackThread) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", int(stack.url.rsplit(":", 1)[1])), timeout=GRACE_S)
    return sock


def _closed_by_server(sock: socket.socket) -> bool:
    """True when the server closed the connection (EOF or reset) before GRACE_S."""
    try:
        while sock.recv(65536):
            pass
    except TimeoutError:
        return False
    except ConnectionResetError:
        return True
    return True


def test_with_the_defaults_300_half_headers_are_closed_within_30_seconds() -> None:
    """The issue's case: 300 connections that send half a header, nothing set but the defaults."""
    assert HEADER_TIMEOUT < 30
    lines: list[str] = []
    with StackThread(None, StackOptions(port=0, access_log=False, function_logs=False), log=lines.append) as stack:
        sockets = [socket.create_connection(("127.0.0.1", int(stack.url.rsplit(":", 1)[1])), timeout=30)
                   for _ in range(300)]
        try:
            for sock in sockets:
                sock.sendall(b"GET /prod/ping HTTP/1.1\r\nHost: localhost\r\nX-Half: ")
            assert all(_closed_by_server(sock) for sock in sockets)
        finally:
            for sock in sockets:
                sock.close()
    assert len([line for line in lines if "did not arrive whole" in line]) == 300


def test_connections_that_send_half_a_header_are_closed(running: tuple[StackThread, list[str]]) -> None:
    stack, lines = running
    sockets = [_connect(stack) for _ in range(100)]
    try:
        for sock in sockets:
            sock.sendall(b"GET /prod/ping HTTP/1.1\r\nHost: localhost\r\nX-Slow: ")
        assert all(_closed_by_server(sock) for sock in sockets)
    finally:
        for sock in sockets:
            sock.close()
    closed = [line for line in lines if "did not arrive whole" in line]
    assert len(closed) == 100, lines
    assert not any("Traceback" in line for line in lines)


def test_a_header_dripped_byte_by_byte_is_closed_too(running: tuple[StackThread, list[str]]) -> None:
    """The deadline counts from the first byte, so a slow drip cannot keep the connection forever."""
    stack, _lines = running
    with _connect(stack) as sock:
        sock.settimeout(0.2)
        deadline = time.monotonic() + GRACE_S
        closed = False
        for byte in b"GET /prod/ping HTTP/1.1\r\nX-Drip: " + b"a" * 10_000:
            try:
                sock.sendall(bytes([byte]))
                if sock.recv(1) == b"":
                    closed = True
                    break
            except TimeoutError:
                pass
            except (BrokenPipeError, ConnectionResetError):
                closed = True
                break
            if time.monotonic() > deadline:
                break
        assert closed


def test_a_connection_that_completes_its_requests_is_kept_alive(running: tuple[StackThread, list[str]]) -> None:
    """Whole requests on one connection, each slower than the header timeout apart: none is cut."""
    stack, _lines = running
    with _connect(stack) as sock:
        for _ in range(3):
            sock.sendall(b"GET /_lambda_canary/health HTTP/1.1\r\nHost: localhost\r\n\r\n")
            answer = sock.recv(65536)
            assert answer.startswith(b"HTTP/1.1 200"), answer
            time.sleep(0.8)


def test_a_stalled_body_closes_the_connection(running: tuple[StackThread, list[str]]) -> None:
    stack, lines = running
    with _connect(stack) as sock:
        sock.sendall(b"POST /prod/ping HTTP/1.1\r\nHost: localhost\r\nContent-Length: 1000\r\n\r\n0123456789")
        assert _closed_by_server(sock)
    assert len([line for line in lines if "no byte of the request body arrived" in line]) == 1, lines


def test_a_stalled_control_plane_body_closes_the_connection(running: tuple[StackThread, list[str]]) -> None:
    stack, lines = running
    with _connect(stack) as sock:
        sock.sendall(b"POST /restapis HTTP/1.1\r\nHost: localhost\r\nContent-Length: 1000\r\nAuthorization: "
                     b"AWS4-HMAC-SHA256 Credential=t/20260101/us-east-1/apigateway/aws4_request, SignedHeaders=host, "
                     b"Signature=0\r\n\r\n{")
        assert _closed_by_server(sock)
    assert len([line for line in lines if "no byte of the request body arrived" in line]) == 1, lines


@pytest.mark.parametrize("request_bytes", [
    b"GARBAGE\r\n\r\n",
    b"GET / HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n",
    b"GET /\x00 HTTP/1.1\r\n\r\n",
    b"GET / HTTP/1.1\r\nBad Header\r\n\r\n",
])
def test_malformed_http_is_one_log_line_and_a_json_400(running: tuple[StackThread, list[str]],
                                                       capfd: pytest.CaptureFixture[str], request_bytes: bytes) -> None:
    stack, lines = running
    with _connect(stack) as sock:
        sock.sendall(request_bytes)
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    assert re.match(rb"HTTP/1\.[01] 400 ", answer), answer
    assert b"application/json" in answer and answer.endswith(b'{"message": "Bad Request"}'), answer
    malformed = [line for line in lines if "malformed HTTP request" in line]
    assert len(malformed) == 1, lines
    assert "Traceback" not in capfd.readouterr().err
    assert not any("Traceback" in line for line in lines)
