"""The HTTP front door: `http://127.0.0.1:PORT/{stage}/{path}`, plus a small admin API.

Requests for the AWS control-plane API (SigV4-signed calls to `/restapis...` or `/2015-03-31/...`) go to the
control-plane handler when one is attached.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web
from multidict import CIMultiDict

from emulator.apigateway.handler import ApiGateway
from emulator.apigateway.request import IncomingRequest
from emulator.errors import UserError

ADMIN_PREFIX = "/_lambda_canary/"
# Bodies up to this size are read: the data plane answers 413 above 10 MB itself (as AWS does), and the AWS API
# takes function zips (50 MB zipped, base64 in JSON).
MAX_BODY = 72 * 1024 * 1024
ControlPlane = Callable[[web.BaseRequest], Awaitable[web.StreamResponse]]


def is_control_plane_request(request: web.BaseRequest) -> bool:
    """A signed AWS API call (aws CLI, boto3) rather than a data-plane request."""
    authorization = request.headers.get("Authorization", "")
    return authorization.startswith("AWS4-HMAC-SHA256") and (
        request.path.startswith(("/restapis", "/2015-03-31/", "/2017-03-31/", "/2018-10-31/", "/2019-09-25/",
                                 "/tags/", "/apikeys", "/account")))


async def to_incoming(request: web.BaseRequest) -> IncomingRequest:
    """Convert an aiohttp request, keeping the raw path, header order and header case."""
    target = request.raw_path
    path, _, query = target.partition("?")
    path = path.split("#", 1)[0]
    query = query.split("#", 1)[0]
    headers = [(name.decode("latin-1"), value.decode("utf-8", "replace")) for name, value in request.raw_headers]
    body = await request.read() if request.can_read_body else b""
    peer = request.transport.get_extra_info("peername") if request.transport else None
    sock = request.transport.get_extra_info("sockname") if request.transport else None
    return IncomingRequest(request.method, path, query or None, headers, body,
                           peer[0] if peer else "127.0.0.1", sock[1] if sock else 0, request.host)


class GatewayServer:
    """Runs the gateway on a loopback port."""

    def __init__(self, gateway: ApiGateway, control_plane: ControlPlane | None = None) -> None:
        self.gateway = gateway
        self.control_plane = control_plane
        self._server: asyncio.base_events.Server | None = None
        self._web_server: web.Server | None = None
        self.port = 0

    async def handle(self, request: web.BaseRequest) -> web.StreamResponse:
        """Dispatch one HTTP request."""
        if request.path.startswith(ADMIN_PREFIX):
            return self._admin(request)
        if self.control_plane is not None and is_control_plane_request(request):
            return await self.control_plane(request)
        response, _record = await self.gateway.handle(await to_incoming(request))
        return web.Response(status=response.status, body=response.body, headers=CIMultiDict(response.headers))

    def _admin(self, request: web.BaseRequest) -> web.Response:
        name = request.path[len(ADMIN_PREFIX):]
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

    async def start(self, host: str = "127.0.0.1", port: int = 3000) -> int:
        """Listen; returns the bound port (useful with port 0)."""
        loop = asyncio.get_running_loop()
        self._web_server = web.Server(self.handle, access_log=None, request_factory=self._make_request)
        try:
            self._server = await loop.create_server(self._web_server, host=host, port=port, reuse_address=True,
                                                    backlog=1024)
        except OSError as error:
            reason = error.strerror or str(error)
            raise UserError(f"cannot listen on {host}:{port}: {reason}; choose another --port or --host") from None
        self.port = self._server.sockets[0].getsockname()[1]
        return self.port

    def _make_request(self, message: Any, payload: Any, protocol: Any, writer: Any, task: Any) -> web.BaseRequest:
        """aiohttp's request, with a body limit that fits API Gateway and Lambda rather than 1 MiB."""
        return web.BaseRequest(message, payload, protocol, writer, task, asyncio.get_running_loop(),
                               client_max_size=MAX_BODY)

    async def stop(self) -> None:
        """Stop listening."""
        if self._server is not None:
            self._server.close()
            if self._web_server is not None:
                await self._web_server.shutdown(timeout=2)
            await self._server.wait_closed()
            self._server = None


def _json(value: object) -> web.Response:
    return web.Response(body=json.dumps(value, indent=2).encode(), content_type="application/json")
