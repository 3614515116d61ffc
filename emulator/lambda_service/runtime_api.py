"""The Lambda Runtime API (2018-06-01) that a runtime's bootstrap polls, one private listener per environment.

Paths, headers, status codes and bodies: reference §6 (AWS Runtime API OpenAPI 1.0.3, RIE).

The listener is a small asyncio protocol over httptools (llhttp, the parser Node itself uses), not an aiohttp
server: each invocation costs two HTTP exchanges here (`GET /next`, `POST /response`), and aiohttp's request and
response objects, one task per request and its header machinery cost more than the rest of the hand-off together
(measured with py-spy under wrk; README, design notes). A `GET /next` is answered from a done-callback of the
environment's future, so the hand-off creates no task.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from collections import deque
from collections.abc import Awaitable, Callable
from email.utils import formatdate
from typing import Protocol
from urllib.parse import unquote

import httptools

from emulator.lambda_service.model import MAX_SYNC_PAYLOAD, Invocation

PREFIX = "/2018-06-01/runtime/"
_OK = b'{"status":"OK"}'
_JSON = "application/json"
# a request line and headers from a (hostile) runtime are bounded (httptools keeps a header until it ends)
_MAX_HEAD_BYTES = 64 * 1024
_REASONS = {200: "OK", 202: "Accepted", 400: "Bad Request", 403: "Forbidden", 404: "Not Found",
            405: "Method Not Allowed", 413: "Request Entity Too Large", 500: "Internal Server Error"}


class RuntimeApiPeer(Protocol):
    """The execution environment behind one Runtime API listener."""

    def next_invocation(self) -> asyncio.Future[Invocation]: ...

    def current_invocation(self, request_id: str) -> Invocation | None: ...

    def report_init_error(self, payload: bytes) -> bool: ...

    def report_response(self, invocation: Invocation, payload: bytes) -> None: ...

    def report_error(self, invocation: Invocation, payload: bytes) -> None: ...


Answer = tuple[int, bytes, str]  # status, body, extra header lines, each ending in CRLF (Content-Type is JSON)


def _error(status: int, error_type: str, message: str) -> Answer:
    body = json.dumps({"errorMessage": message, "errorType": error_type}, separators=(",", ":")).encode()
    return status, body, ""


_ACCEPTED: Answer = (202, _OK, "")


def error_body(payload: bytes | None, error_type_header: str | None) -> bytes:
    """The error JSON; without a readable body Lambda builds it from the error-type header."""
    if payload is None:
        payload = b""
    try:
        parsed = json.loads(payload) if payload else None
    except ValueError:
        parsed = None
    if isinstance(parsed, dict):
        return payload
    error_type = error_type_header or "Runtime.UnknownReason"
    return json.dumps({"errorType": error_type, "errorMessage": error_type}).encode()


def invocation_headers(invocation: Invocation) -> str:
    """Header lines of a `/next` answer (besides Content-Type, Content-Length and Date), each ending in CRLF; optional
    ones only when they have a value. One f-string: this runs once per invocation."""
    head = (f"Lambda-Runtime-Aws-Request-Id: {invocation.request_id}\r\n"
            f"Lambda-Runtime-Deadline-Ms: {invocation.deadline_ms}\r\n"
            f"Lambda-Runtime-Invoked-Function-Arn: {invocation.invoked_arn}\r\n"
            f"Lambda-Runtime-Trace-Id: {invocation.trace_id}\r\n")
    if invocation.client_context:
        head += f"Lambda-Runtime-Client-Context: {invocation.client_context}\r\n"
    return head


def _log(line: str) -> None:
    """A problem with a runtime's HTTP: one line on whatever sys.stderr is now."""
    sys.stderr.write(f"lambda-canary: Runtime API: {' '.join(line.split())}\n")


class _Date:
    """The Date header, formatted once a second."""

    second = -1
    value = ""

    @classmethod
    def now(cls) -> str:
        second = int(time.time())
        if second != cls.second:
            cls.second, cls.value = second, formatdate(second, usegmt=True)
        return cls.value


class _Request:
    """One parsed request."""

    __slots__ = ("body", "headers", "keep_alive", "method", "path", "size")

    def __init__(self) -> None:
        self.method = ""
        self.path = ""
        self.headers: dict[str, str] = {}
        self.body: list[bytes] = []
        self.size = 0
        self.keep_alive = True


class _Api:
    """What the listener of one environment answers (shared by its connections)."""

    def __init__(self, peer: RuntimeApiPeer, secret: str,
                 admits: Callable[[str | None], Awaitable[bool]] | None) -> None:
        self.peer = peer
        self.prefix = f"/{secret}{PREFIX}" if secret else PREFIX
        self.admits = admits
        self.connections: set[_Connection] = set()

    def answer(self, request: _Request) -> Answer | asyncio.Future[Invocation]:
        """The answer to a request, or the future `/next` waits on."""
        path = request.path
        if not path.startswith(self.prefix):
            return _error(404, "NotFound", "Not Found")
        tail = path[len(self.prefix):]
        method = request.method
        if tail == "invocation/next" and method == "GET":
            return self.peer.next_invocation()
        if method != "POST":
            return _error(405, "MethodNotAllowed", "Method Not Allowed")
        body = None if request.size > MAX_SYNC_PAYLOAD else b"".join(request.body)
        headers = request.headers
        if tail == "init/error":
            if not self.peer.report_init_error(error_body(body, headers.get("lambda-runtime-function-error-type"))):
                return _error(403, "InvalidStateTransition", "State transition from Ready to InitError failed for "
                              "runtime. Error: the init phase is over")
            return _ACCEPTED
        parts = tail.split("/")
        if len(parts) != 3 or parts[0] != "invocation" or parts[2] not in ("response", "error"):
            return _error(404, "NotFound", "Not Found")
        request_id, kind = parts[1], parts[2]
        mode = headers.get("lambda-runtime-function-response-mode")
        if mode is not None and mode.lower() != "streaming":
            return _error(400, "InvalidFunctionResponseMode", "Invalid function response mode")
        invocation = self.peer.current_invocation(request_id)
        if invocation is None:
            return _error(400, "InvalidRequestID", "Invalid request ID")
        if invocation.result.done():
            return _error(403, "InvalidStateTransition",
                          f"State transition from Ready to {kind.capitalize()}Sent failed for runtime. "
                          "Error: invocation already answered")
        if kind == "response":
            if body is None:
                message = f"Exceeded maximum allowed payload size ({MAX_SYNC_PAYLOAD} bytes)."
                self.peer.report_error(invocation, json.dumps({
                    "errorMessage": "Response payload size exceeded maximum allowed payload size "
                                    f"({MAX_SYNC_PAYLOAD} bytes).",
                    "errorType": "Function.ResponseSizeTooLarge"}).encode())
                return _error(413, "RequestEntityTooLarge", message)
            self.peer.report_response(invocation, body)
        else:
            self.peer.report_error(invocation, error_body(body, headers.get("lambda-runtime-function-error-type")))
        return _ACCEPTED


class _Connection(asyncio.Protocol):
    """One HTTP/1.1 connection from a runtime: requests answered one at a time, in order."""

    def __init__(self, api: _Api) -> None:
        self._api = api
        self._parser = httptools.HttpRequestParser(self)
        self._head_bytes: int | None = None  # bytes received since a request began, until its headers end
        self._transport: asyncio.Transport | None = None
        self._remote: str | None = None
        self._admitted: bool | None = None  # the peer check, made once per connection
        self._request = _Request()
        self._url = b""
        self._queue: deque[_Request] = deque()
        self._busy = False
        self._held = b""  # an accepted answer's 202, sent with the answer to the request pipelined behind it
        self._waiting: asyncio.Future[Invocation] | None = None
        self._task: asyncio.Task[None] | None = None

    # ---- asyncio.Protocol ----------------------------------------------------------------
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = transport  # type: ignore[assignment]  # uvloop's TCPTransport is not a subclass
        peer = transport.get_extra_info("peername")
        self._remote = peer[0] if peer else None
        self._api.connections.add(self)

    def connection_lost(self, exc: Exception | None) -> None:
        self._transport = None
        self._api.connections.discard(self)
        if self._waiting is not None and not self._waiting.done():
            self._waiting.cancel()  # the runtime went away while polling: the invocation waits for the next poll
        if self._task is not None:
            self._task.cancel()

    def data_received(self, data: bytes) -> None:
        try:
            self._parser.feed_data(data)
        except httptools.HttpParserUpgrade:
            self._fail("an upgrade request")
            return
        except httptools.HttpParserError as error:
            self._fail(f"malformed HTTP request: {error}")
            return
        if self._head_bytes is not None:
            self._head_bytes += len(data)
            if self._head_bytes > _MAX_HEAD_BYTES:
                self._fail(f"request line and headers over {_MAX_HEAD_BYTES} bytes")
                return
        if self._queue and not self._busy:  # every request of this read parsed: a pipelined one is queued
            self._next_request()

    def close(self) -> None:
        """Drop the connection (the listener is closing)."""
        if self._transport is not None:
            self._transport.close()

    # ---- httptools callbacks -------------------------------------------------------------
    def on_message_begin(self) -> None:
        self._head_bytes = 0

    def on_url(self, url: bytes) -> None:
        self._url += url

    def on_header(self, name: bytes, value: bytes) -> None:
        self._request.headers[name.decode("latin-1").lower()] = value.decode("latin-1")

    def on_headers_complete(self) -> None:
        self._head_bytes = None
        request = self._request
        request.method = self._parser.get_method().decode("latin-1")
        request.keep_alive = self._parser.should_keep_alive()
        url = self._url
        if url[:1] == b"/" and b"?" not in url and b"#" not in url:  # the origin-form path a client sends
            path = url.decode("latin-1")
        else:
            path = httptools.parse_url(url).path.decode("latin-1")
        request.path = unquote(path) if "%" in path else path
        self._url = b""
        if request.headers.get("expect", "").lower() == "100-continue" and self._transport is not None:
            self._transport.write(b"HTTP/1.1 100 Continue\r\n\r\n")  # curl (AWS's native runtime clients) waits

    def on_body(self, body: bytes) -> None:
        request = self._request
        request.size += len(body)
        if request.size <= MAX_SYNC_PAYLOAD:
            request.body.append(body)
        elif request.body:
            request.body.clear()

    def on_message_complete(self) -> None:
        request, self._request = self._request, _Request()
        self._queue.append(request)

    # ---- answering -----------------------------------------------------------------------
    def _next_request(self) -> None:
        while self._queue and not self._busy and self._transport is not None:
            request = self._queue.popleft()
            if self._api.admits is not None and self._admitted is None:
                self._busy = True
                self._task = asyncio.get_running_loop().create_task(self._check_peer(request))
                return
            self._handle(request)

    async def _check_peer(self, request: _Request) -> None:
        assert self._api.admits is not None
        self._admitted = await self._api.admits(self._remote)
        self._task = None
        self._busy = False
        self._handle(request)
        self._next_request()

    def _handle(self, request: _Request) -> None:
        if self._admitted is False:
            self._send(request, _error(403, "AccessDenied",
                                       "This Runtime API belongs to another execution environment"))
            return
        try:
            answer = self._api.answer(request)
        except Exception as error:
            _log(f"{request.method} {request.path} failed: {error!r}")
            answer = _error(500, "InternalServerError", "Internal Server Error")
        if isinstance(answer, tuple):
            if answer is _ACCEPTED and self._queue and request.keep_alive:
                # A runtime that pipelines its next poll behind an invocation's answer learns of the 202 with the
                # poll's own answer: one write, one wake-up of the runtime instead of two.
                self._held += self._encode(request, answer)
                return
            self._send(request, answer)
            return
        self._busy = True
        if self._transport is not None:
            self._transport.pause_reading()  # a runtime polls, then waits: nothing more should come meanwhile
        self._waiting = answer
        answer.add_done_callback(lambda done: self._send_invocation(request, done))

    def _send_invocation(self, request: _Request, done: asyncio.Future[Invocation]) -> None:
        self._waiting = None
        self._busy = False
        if done.cancelled() or self._transport is None:
            return
        if self._transport is not None:
            self._transport.resume_reading()
        invocation = done.result()
        self._send(request, (200, invocation.payload, invocation_headers(invocation)))
        self._next_request()

    def _send(self, request: _Request, answer: Answer) -> None:
        transport = self._transport
        if transport is None:
            return
        message = self._encode(request, answer)
        if self._held:
            message, self._held = self._held + message, b""
        transport.write(message)
        if not request.keep_alive:
            transport.close()

    @staticmethod
    def _encode(request: _Request, answer: Answer) -> bytes:
        status, body, headers = answer
        close = "" if request.keep_alive else "Connection: close\r\n"
        return (f"HTTP/1.1 {status} {_REASONS.get(status, 'Unknown')}\r\nContent-Type: {_JSON}\r\n"
                f"Content-Length: {len(body)}\r\nDate: {_Date.now()}\r\n{headers}{close}\r\n").encode("latin-1") + body

    def _fail(self, reason: str) -> None:
        """A request that is not HTTP: one log line, 400 and the connection closed (as aiohttp did)."""
        _log(reason)
        transport = self._transport
        if transport is not None:
            body = _error(400, "BadRequest", "Bad Request")[1]
            transport.write(f"HTTP/1.1 400 Bad Request\r\nContent-Type: {_JSON}\r\nContent-Length: {len(body)}\r\n"
                            f"Connection: close\r\n\r\n".encode() + body)
            transport.close()
            self._transport = None


class RuntimeApiServer:
    """A listening Runtime API; `close()` stops it and drops its connections."""

    def __init__(self, server: asyncio.Server, api: _Api) -> None:
        self._server = server
        self._api = api

    def close(self) -> None:
        """Stop listening and close every connection."""
        self._server.close()
        for connection in list(self._api.connections):
            connection.close()


async def listen(peer: RuntimeApiPeer, host: str, secret: str = "",
                 admits: Callable[[str | None], Awaitable[bool]] | None = None) -> tuple[RuntimeApiServer, int]:
    """Start a Runtime API listener for `peer` on an ephemeral port of `host`.

    Private to its environment: with a `secret`, only paths under `/<secret>` exist (the runtime learns it from
    AWS_LAMBDA_RUNTIME_API); with `admits`, connections from other addresses are refused (checked once per
    connection: its address cannot change).
    """
    api = _Api(peer, secret, admits)
    server = await asyncio.get_running_loop().create_server(lambda: _Connection(api), host=host, port=0,
                                                            reuse_address=True)
    return RuntimeApiServer(server, api), server.sockets[0].getsockname()[1]
