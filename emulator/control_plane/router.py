"""Send a signed AWS API call to the service named in its SigV4 credential scope."""

from __future__ import annotations

import json
import re

from aiohttp import web

from emulator.apigateway.body import BodyTooLarge, read_body
from emulator.control_plane.codedeploy_api import JsonTargetService
from emulator.control_plane.protocol import MAX_REQUEST_BYTES, AwsError, RestJsonService, raw_path

Service = RestJsonService | JsonTargetService

_SCOPE = re.compile(r"Credential=[^/]+/\d{8}/(?P<region>[^/]+)/(?P<service>[^/]+)/aws4_request")
BODY_TIMEOUT = 30.0


class ControlPlane:
    """Dispatches to the apigateway, lambda and codedeploy services."""

    def __init__(self, services: dict[str, Service]) -> None:
        self.services = services
        self.body_timeout = BODY_TIMEOUT  # seconds without a byte of the body before the connection is closed

    def service_for(self, request: web.BaseRequest) -> Service | None:
        """The service a request is for: its credential scope, else its X-Amz-Target (JSON protocol), else the
        one with a matching operation."""
        scope = _SCOPE.search(request.headers.get("Authorization", ""))
        service = self.services.get(scope.group("service")) if scope else None
        target = request.headers.get("X-Amz-Target")
        if service is None and target:
            for candidate in self.services.values():
                if isinstance(candidate, JsonTargetService) and candidate.handles_target(target):
                    return candidate
        if service is None:
            for candidate in self.services.values():
                if candidate.handles(request.method, raw_path(request), dict(request.query)):
                    return candidate
        return service

    async def __call__(self, request: web.BaseRequest) -> web.StreamResponse:
        service = self.service_for(request)
        if service is None:
            scope = _SCOPE.search(request.headers.get("Authorization", ""))
            name = scope.group("service") if scope else "unknown"
            error = AwsError("UnrecognizedClientException", f"lambda-canary does not serve the {name} API", 400)
            return web.Response(status=error.status, body=json.dumps({"message": error.message}).encode(),
                                headers={"x-amzn-ErrorType": error.code, "Content-Type": "application/json"})
        declared = request.content_length
        try:  # an operation with a lower limit (Invoke) refuses a smaller body itself, with the same message
            if declared is not None and declared < MAX_REQUEST_BYTES and request.content.is_eof():
                body = request.content.read_nowait()  # all here already: no timer, no task
            else:
                body = await read_body(request, MAX_REQUEST_BYTES, self.body_timeout)
        except BodyTooLarge:
            response = service.too_large(request)
            response.force_close()  # the rest of the body is not read
            return response
        return await service.handle(request, body)
