"""Send a signed AWS API call to the service named in its SigV4 credential scope."""

from __future__ import annotations

import re

from aiohttp import web

from emulator.control_plane.protocol import AwsError, RestJsonService, raw_path

_SCOPE = re.compile(r"Credential=[^/]+/\d{8}/(?P<region>[^/]+)/(?P<service>[^/]+)/aws4_request")


class ControlPlane:
    """Dispatches to the apigateway and lambda services."""

    def __init__(self, services: dict[str, RestJsonService]) -> None:
        self.services = services

    async def __call__(self, request: web.BaseRequest) -> web.StreamResponse:
        scope = _SCOPE.search(request.headers.get("Authorization", ""))
        service = self.services.get(scope.group("service")) if scope else None
        if service is None:
            for candidate in self.services.values():
                if candidate.handles(request.method, raw_path(request), dict(request.query)):
                    service = candidate
                    break
        if service is None:
            name = scope.group("service") if scope else "unknown"
            error = AwsError("UnrecognizedClientException", f"lambda-canary does not serve the {name} API", 400)
            return web.Response(status=error.status, text=f'{{"message": "{error.message}"}}',
                                headers={"x-amzn-ErrorType": error.code, "Content-Type": "application/json"})
        return await service.handle(request)
