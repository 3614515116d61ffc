"""The HTTP front door: `http://127.0.0.1:PORT/{stage}/{path}`, plus a small admin API.

Requests for the AWS control-plane API (SigV4-signed calls to `/restapis...` or `/2015-03-31/...`) go to the
control-plane handler when one is attached.

No exception reaches aiohttp's default handler (its plain-text `500 Internal Server Error`): the data plane
answers API Gateway's JSON 500, the control plane its service's own error, each logged as one line. A header
that does not arrive whole within `header_timeout` seconds, or a body that stalls for `body_timeout` seconds,
closes the connection; a malformed request is one log line.
"""

from __future__ import annotations

import asyncio
import json
import socket
import time
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web
from aiohttp.web_protocol import RequestHandler
from multidict import CIMultiDict

from emulator import failures
from emulator.apigateway import gateway_responses as responses
from emulator.apigateway.body import BodyTimeout, read_body
from emulator.apigateway.front_door import ADMIN_PREFIX, FastConnection, framed_headers
from emulator.apigateway.handler import MAX_REQUEST_BODY, ApiGateway
from emulator.apigateway.limits import BODY_TIMEOUT, HEADER_TIMEOUT, KEEPALIVE_TIMEOUT
from emulator.apigateway.metrics import CONTENT_TYPE as METRICS_CONTENT_TYPE
from emulator.apigateway.request import IncomingRequest, split_target
from emulator.errors import UserError

# aiohttp's own limit, never reached: the data plane reads at most 10 MB + 1 byte itself (413 from the chain, as
# AWS does) and the control plane reads its own AWS limit (RequestEntityTooLargeException).
MAX_BODY = 1 << 40
ControlPlane = Callable[[web.BaseRequest], Awaitable[web.StreamResponse]]
Log = Callable[[str], None]


def is_control_plane_request(request: web.BaseRequest) -> bool:
    """A signed AWS API call (aws CLI, boto3) rather than a data-plane request."""
    authorization = request.headers.get("Authorization", "")
    return authorization.startswith("AWS4-HMAC-SHA256") and (
        request.path.startswith(("/restapis", "/2015-03-31/", "/2017-03-31/", "/2018-10-31/", "/2019-09-25/",
                                 "/tags/", "/apikeys", "/account"))
        # CodeDeploy's JSON protocol (POST / with X-Amz-Target), served for rollout hooks
        or request.headers.get("X-Amz-Target", "").startswith("CodeDeploy_20141006."))


async def to_incoming(request: web.BaseRequest, body_timeout: float = BODY_TIMEOUT) -> IncomingRequest:
    """Convert an aiohttp request, keeping the raw path, header order and header case.

    The body is read up to one byte over API Gateway's 10 MB limit: enough for the chain to answer 413.
    """
    path, query = split_target(request.raw_path)
    headers = [(name.decode("latin-1"), value.decode("utf-8", "replace")) for name, value in request.raw_headers]
    body = await read_body(request, MAX_REQUEST_BODY + 1, body_timeout, keep=MAX_REQUEST_BODY + 1)
    peer = request.transport.get_extra_info("peername") if request.transport else None
    sock = request.transport.get_extra_info("sockname") if request.transport else None
    return IncomingRequest(request.method, path, query, headers, body,
                           peer[0] if peer else "127.0.0.1", sock[1] if sock else 0, request.host)


class _Connection(RequestHandler):  # type: ignore[misc]
    """aiohttp's connection handler with a header deadline and one-line logs instead of tracebacks."""

    def __init__(self, *args: Any, front: GatewayServer, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._front = front
        self._header_timer: asyncio.TimerHandle | None = None
        self._header_count = 0

    def data_received(self, data: bytes) -> None:
        # Bytes that arrive while no request is queued or being handled belong to a request header.
        count = self._request_count
        idle = not self._busy()
        super().data_received(data)
        if self._request_count > count:
            self._cancel_header_timer()
        elif idle and data and self._header_timer is None and self.transport is not None:
            self._header_count = count
            self._header_timer = self._loop.call_later(self._front.header_timeout, self._header_timed_out)

    def _busy(self) -> bool:
        """A request is queued or being handled (aiohttp's own bookkeeping)."""
        return bool(getattr(self, "_request_in_progress", False) or getattr(self, "_messages", None))

    def _cancel_header_timer(self) -> None:
        if self._header_timer is not None:
            self._header_timer.cancel()
            self._header_timer = None

    def _header_timed_out(self) -> None:
        self._header_timer = None
        if self._request_count != self._header_count or self._busy():
            return
        peer = self.transport.get_extra_info("peername") if self.transport is not None else None
        self._front.log(f"lambda-canary: closed a connection from {peer[0] if peer else '?'}: its request header "
                        f"did not arrive whole within {self._front.header_timeout:g} s")
        self.force_close()
        if self.transport is not None:
            self.transport.close()

    def connection_lost(self, exc: BaseException | None) -> None:
        self._cancel_header_timer()
        super().connection_lost(exc)

    def log_exception(self, *args: Any, **kwargs: Any) -> None:
        error = kwargs.get("exc_info")
        message = (args[0] % args[1:]) if args and len(args) > 1 else (args[0] if args else "error")
        if isinstance(error, BaseException):
            failures.report(self._front.log, f"HTTP server: {message}", error, self._front.debug)
        else:
            self._front.log(f"lambda-canary: HTTP server: {message}")

    def handle_error(self, request: web.BaseRequest, status: int = 500, exc: BaseException | None = None,
                     message: str | None = None) -> web.StreamResponse:
        """A malformed request (400) or a failure outside our handler: one log line, a JSON answer."""
        if request.writer.output_size > 0:  # part of a response is out: only closing is left
            raise ConnectionError("the response was already started")
        peer = request.remote or "?"
        if status == 400:
            reason = message or (str(exc) if exc else "malformed request")
            self._front.log(f"lambda-canary: malformed HTTP request from {peer}: {' '.join(reason.split())}")
            body = {"message": "Bad Request"}
        else:
            if exc is not None:
                failures.report(self._front.log, f"HTTP server: request from {peer} failed", exc, self._front.debug)
            else:
                self._front.log(f"lambda-canary: HTTP server: request from {peer} answered {status}")
            body = {"message": "Internal server error"}
        response = web.Response(status=status, body=json.dumps(body).encode(), content_type="application/json")
        response.force_close()
        return response


class _Server(web.Server):  # type: ignore[misc]
    """aiohttp's low-level server making `_Connection`s."""

    def __init__(self, *args: Any, front: GatewayServer, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._front = front

    def __call__(self) -> RequestHandler:
        return _Connection(self, loop=self._loop, front=self._front, **self._kwargs)


class GatewayHttpResponse(web.Response):
    """A data-plane response with AWS's connection headers: `Connection: keep-alive` on a kept connection, and
    no `Server` header (recorded against AWS: LocalStack's AWS-validated test_apigateway_lambda.py::
    test_aws_proxy_response_payload_format_validation, localstack/localstack@8b9a79f)."""

    async def _write_headers(self) -> None:
        self._headers.popall("Server", None)
        if self.keep_alive and "Connection" not in self._headers:
            self._headers["Connection"] = "keep-alive"
        await super()._write_headers()


class GatewayServer:
    """Runs the gateway on a loopback port."""

    def __init__(self, gateway: ApiGateway, control_plane: ControlPlane | None = None, *, log: Log | None = None,
                 debug: bool = False, header_timeout: float = HEADER_TIMEOUT, body_timeout: float = BODY_TIMEOUT,
                 keepalive_timeout: float = KEEPALIVE_TIMEOUT) -> None:
        self.gateway = gateway
        self.control_plane = control_plane
        self.log: Log = log or (lambda line: None)
        self.debug = debug
        self.header_timeout = header_timeout
        self.body_timeout = body_timeout
        self.keepalive_timeout = keepalive_timeout
        self._server: asyncio.base_events.Server | None = None
        self._web_server: web.Server | None = None
        self.fast_connections: set[FastConnection] = set()
        self.closing = False
        self._sweeper: asyncio.TimerHandle | None = None
        self.port = 0

    async def handle(self, request: web.BaseRequest) -> web.StreamResponse:
        """Dispatch one HTTP request; nothing raised here reaches aiohttp."""
        plane = "data plane"
        try:
            if request.path.startswith(ADMIN_PREFIX):
                plane = "admin API"
                return self._admin(request)
            if self.control_plane is not None and is_control_plane_request(request):
                plane = "AWS API"
                return await self.control_plane(request)
            response, _record = await self.gateway.handle(await to_incoming(request, self.body_timeout))
            return GatewayHttpResponse(status=response.status, body=response.body,
                                       headers=CIMultiDict(framed_headers(response.headers)))
        except BodyTimeout as stalled:
            self.log(f"lambda-canary: closed the connection of {request.method} {request.path} from "
                     f"{request.remote or '?'}: {stalled}")
            if request.transport is not None:
                request.transport.close()
            return web.Response(status=408)
        except Exception as error:
            failures.report(self.log, f"{plane}: {request.method} {request.path} failed", error, self.debug)
            failed = responses.internal_server_error(500)
            return web.Response(status=failed.status, body=failed.body, headers=CIMultiDict(failed.headers))

    def _admin(self, request: web.BaseRequest) -> web.Response:
        name = request.path[len(ADMIN_PREFIX):]
        if name in ("metrics", "metrics.json") and request.method == "GET":
            metrics = self.gateway.metrics
            if name == "metrics.json" or request.query.get("format") == "json":
                return _json(metrics.as_json())
            return web.Response(body=metrics.prometheus(), headers={"Content-Type": METRICS_CONTENT_TYPE})
        if name == "metrics" and request.method == "DELETE":
            self.gateway.metrics.reset()
            return _json({"reset": True})
        if name == "stats" and request.method == "GET":
            return _json(self.gateway.stats.snapshot())
        if name == "stats" and request.method == "DELETE":
            self.gateway.stats.reset()
            return _json({"reset": True})
        if name == "decisions" and request.method == "GET":
            text = request.query.get("last", "100")
            if not text.isdigit():
                return web.Response(status=400, text='{"message":"last must be a whole number"}',
                                    content_type="application/json")
            last = int(text)
            recent = list(self.gateway.stats.recent)[-last:] if last > 0 else []
            return _json({"decisions": [record.as_dict() for record in recent]})
        if name == "health":
            return _json({"status": "ok"})
        return web.Response(status=404, text='{"message":"Not Found"}', content_type="application/json")

    async def start(self, host: str = "127.0.0.1", port: int = 3000, sock: socket.socket | None = None) -> int:
        """Listen (or serve `sock`, a socket already listening); returns the bound port (useful with port 0)."""
        loop = asyncio.get_running_loop()
        web_server = self._web_server = _Server(self.handle, front=self, access_log=None,
                                                request_factory=self._make_request,
                                                keepalive_timeout=self.keepalive_timeout)

        def connection() -> FastConnection:
            return FastConnection(self, web_server)

        try:
            if sock is not None:
                self._server = await loop.create_server(connection, sock=sock, backlog=1024)
            else:
                self._server = await loop.create_server(connection, host=host, port=port, reuse_address=True,
                                                        backlog=1024)
        except OSError as error:
            reason = error.strerror or str(error)
            raise UserError(f"cannot listen on {host}:{port}: {reason}; choose another --port or --bind") from None
        self.port = self._server.sockets[0].getsockname()[1]
        self._sweeper = loop.call_later(self._sweep_interval, self._close_idle_connections)
        return self.port

    @property
    def _sweep_interval(self) -> float:
        return max(0.05, min(5.0, self.keepalive_timeout / 4))

    def _close_idle_connections(self) -> None:
        """Close the fast path's connections idle for longer than the keep-alive timeout (aiohttp's own timer
        does this on the connections it handles)."""
        deadline = time.monotonic() - self.keepalive_timeout
        for connection in [each for each in self.fast_connections if each.idle and each.idle_since < deadline]:
            connection.close()
        self._sweeper = asyncio.get_running_loop().call_later(self._sweep_interval, self._close_idle_connections)

    def _make_request(self, message: Any, payload: Any, protocol: Any, writer: Any, task: Any) -> web.BaseRequest:
        """aiohttp's request without its 1 MiB body limit (each plane reads its body with its own limit)."""
        return web.BaseRequest(message, payload, protocol, writer, task, asyncio.get_running_loop(),
                               client_max_size=MAX_BODY)

    async def stop(self) -> None:
        """Stop listening."""
        if self._server is not None:
            self.closing = True
            if self._sweeper is not None:
                self._sweeper.cancel()
            self._server.close()
            for connection in [each for each in self.fast_connections if each.idle]:
                connection.close()
            for _ in range(40):  # a request being answered finishes first (2 s at most, as aiohttp's shutdown)
                if not self.fast_connections:
                    break
                await asyncio.sleep(0.05)
            for connection in list(self.fast_connections):
                connection.close()
            if self._web_server is not None:
                await self._web_server.shutdown(timeout=2)
            await self._server.wait_closed()
            self._server = None


def _json(value: object) -> web.Response:
    return web.Response(body=json.dumps(value, indent=2).encode(), content_type="application/json")
