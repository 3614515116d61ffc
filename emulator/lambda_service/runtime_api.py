"""The Lambda Runtime API (2018-06-01) that a runtime's bootstrap polls, one private listener per environment.

Paths, headers, status codes and bodies: reference §6 (AWS Runtime API OpenAPI 1.0.3, RIE).
"""

from __future__ import annotations

import asyncio
import json
import logging
import sys
from typing import TYPE_CHECKING, Protocol

from aiohttp import web

from emulator.lambda_service.model import MAX_SYNC_PAYLOAD, Invocation

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

PREFIX = "/2018-06-01/runtime/"
_OK = b'{"status":"OK"}'
_JSON = "application/json"


class RuntimeApiPeer(Protocol):
    """The execution environment behind one Runtime API listener."""

    async def next_invocation(self) -> Invocation: ...

    def current_invocation(self, request_id: str) -> Invocation | None: ...

    def report_init_error(self, payload: bytes) -> bool: ...

    def report_response(self, invocation: Invocation, payload: bytes) -> None: ...

    def report_error(self, invocation: Invocation, payload: bytes) -> None: ...


def _error(status: int, error_type: str, message: str) -> web.Response:
    body = json.dumps({"errorMessage": message, "errorType": error_type}, separators=(",", ":")).encode()
    return web.Response(status=status, body=body, content_type=_JSON)


def _accepted() -> web.Response:
    return web.Response(status=202, body=_OK, content_type=_JSON)


async def read_body(request: web.BaseRequest, limit: int = MAX_SYNC_PAYLOAD) -> bytes | None:
    """The whole body, or None when it is over `limit` bytes (the rest is still read, and dropped).

    Not `request.read()`: aiohttp's low-level server caps that at 1 MiB (client_max_size), far
    below the 6 MB a Lambda response may have.
    """
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.content.iter_any():
        size += len(chunk)
        if size <= limit:
            chunks.append(chunk)
        elif chunks:
            chunks.clear()
    return None if size > limit else b"".join(chunks)


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


def invocation_headers(invocation: Invocation) -> dict[str, str]:
    """Headers of a `/next` answer; optional ones only when they have a value."""
    headers = {
        "Content-Type": _JSON,
        "Lambda-Runtime-Aws-Request-Id": invocation.request_id,
        "Lambda-Runtime-Deadline-Ms": str(invocation.deadline_ms),
        "Lambda-Runtime-Invoked-Function-Arn": invocation.invoked_arn,
        "Lambda-Runtime-Trace-Id": invocation.trace_id,
    }
    if invocation.client_context:
        headers["Lambda-Runtime-Client-Context"] = invocation.client_context
    return headers


class _OneLine(logging.Formatter):
    """aiohttp's server log (a malformed request from a runtime) as one line: the message and the cause."""

    def format(self, record: logging.LogRecord) -> str:
        cause = record.exc_info[1] if record.exc_info else None
        text = " ".join(str(cause).split()) if cause is not None else ""
        return f"lambda-canary: Runtime API: {record.getMessage()}" + (f": {text}" if text else "")


class _Stderr(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever sys.stderr is when a record arrives."""

    @property  # type: ignore[override]
    def stream(self) -> object:
        return sys.stderr

    @stream.setter
    def stream(self, _value: object) -> None:
        pass


def _server_logger() -> logging.Logger:
    logger = logging.getLogger("lambda_canary.runtime_api")
    if not logger.handlers:
        handler = _Stderr()
        handler.setFormatter(_OneLine())
        logger.addHandler(handler)
        logger.propagate = False
        logger.setLevel(logging.WARNING)
    return logger


def make_handler(peer: RuntimeApiPeer, secret: str = "",
                 admits: Callable[[str | None], Awaitable[bool]] | None = None,
                 ) -> Callable[[web.BaseRequest], Awaitable[web.StreamResponse]]:
    """An aiohttp low-level request handler serving the Runtime API for `peer`; a failure of ours answers the
    Runtime API's platform error (500 `{"errorMessage":"Internal Server Error","errorType":"InternalServerError"}`,
    reference §6, from the RIE), never aiohttp's plain text.

    Private to its environment: with a `secret`, only paths under `/<secret>` exist (the runtime
    learns it from AWS_LAMBDA_RUNTIME_API); with `admits`, requests from other addresses are refused.
    """
    prefix = f"/{secret}{PREFIX}" if secret else PREFIX

    async def handle(request: web.BaseRequest) -> web.StreamResponse:
        try:
            return await serve(request)
        except Exception as error:
            _server_logger().warning("%s %s failed", request.method, request.path, exc_info=error)
            return _error(500, "InternalServerError", "Internal Server Error")

    async def serve(request: web.BaseRequest) -> web.StreamResponse:
        if admits is not None and not await admits(request.remote):
            return _error(403, "AccessDenied", "This Runtime API belongs to another execution environment")
        path = request.path
        if not path.startswith(prefix):
            return _error(404, "NotFound", "Not Found")
        tail = path[len(prefix):]
        if tail == "invocation/next" and request.method == "GET":
            try:
                invocation = await peer.next_invocation()
            except asyncio.CancelledError:
                raise
            return web.Response(status=200, body=invocation.payload, headers=invocation_headers(invocation))
        if request.method != "POST":
            return _error(405, "MethodNotAllowed", "Method Not Allowed")
        if tail == "init/error":
            body = await read_body(request)
            if not peer.report_init_error(error_body(body, request.headers.get("Lambda-Runtime-Function-Error-Type"))):
                return _error(403, "InvalidStateTransition", "State transition from Ready to InitError failed for "
                              "runtime. Error: the init phase is over")
            return _accepted()
        parts = tail.split("/")
        if len(parts) != 3 or parts[0] != "invocation" or parts[2] not in ("response", "error"):
            return _error(404, "NotFound", "Not Found")
        request_id, kind = parts[1], parts[2]
        mode = request.headers.get("Lambda-Runtime-Function-Response-Mode")
        if mode is not None and mode.lower() != "streaming":
            return _error(400, "InvalidFunctionResponseMode", "Invalid function response mode")
        invocation = peer.current_invocation(request_id)
        if invocation is None:
            return _error(400, "InvalidRequestID", "Invalid request ID")
        if invocation.result.done():
            return _error(403, "InvalidStateTransition",
                          f"State transition from Ready to {kind.capitalize()}Sent failed for runtime. "
                          "Error: invocation already answered")
        body = await read_body(request)
        if kind == "response":
            if body is None:
                message = f"Exceeded maximum allowed payload size ({MAX_SYNC_PAYLOAD} bytes)."
                peer.report_error(invocation, json.dumps({
                    "errorMessage": "Response payload size exceeded maximum allowed payload size "
                                    f"({MAX_SYNC_PAYLOAD} bytes).",
                    "errorType": "Function.ResponseSizeTooLarge"}).encode())
                return _error(413, "RequestEntityTooLarge", message)
            peer.report_response(invocation, body)
        else:
            error_type = request.headers.get("Lambda-Runtime-Function-Error-Type")
            peer.report_error(invocation, error_body(body, error_type))
        return _accepted()

    return handle


async def listen(peer: RuntimeApiPeer, host: str, secret: str = "",
                 admits: Callable[[str | None], Awaitable[bool]] | None = None) -> tuple[asyncio.Server, int]:
    """Start a Runtime API listener for `peer` on an ephemeral port of `host` (see `make_handler`)."""
    loop = asyncio.get_running_loop()
    server = await loop.create_server(web.Server(make_handler(peer, secret, admits), access_log=None,
                                                 logger=_server_logger()), host=host, port=0, reuse_address=True)
    port = server.sockets[0].getsockname()[1]
    return server, port
