"""The request chain of the local API Gateway: one small step per stage of a request.

api -> stage -> canary choice -> route -> integration (AWS_PROXY, HTTP_PROXY, MOCK) -> response headers
-> decision record. Modelled on LocalStack's execute_api handler chain.
"""

from __future__ import annotations

import asyncio
import json
import random
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import aiohttp

from emulator import failures
from emulator.apigateway import gateway_responses as responses
from emulator.apigateway.canary import Variant, choose_variant
from emulator.apigateway.gateway_responses import GatewayResponse
from emulator.apigateway.lambda_uri import parse_lambda_uri
from emulator.apigateway.model import ApiGatewayState, Integration, RestApi, Stage
from emulator.apigateway.observability import DecisionRecord, GatewayStats
from emulator.apigateway.proxy_event import build_event
from emulator.apigateway.proxy_response import MalformedProxyResponse, map_proxy_result
from emulator.apigateway.request import IncomingRequest, RequestIds
from emulator.apigateway.routing import RouteMatch
from emulator.lambda_service.errors import LambdaApiError
from emulator.lambda_service.loader import APIGATEWAY_PRINCIPAL
from emulator.lambda_service.service import LambdaService
from emulator.stage_variables import UndefinedStageVariable, substitute, substitute_or_empty

MAX_REQUEST_BODY = 10 * 1024 * 1024
HOST_PATTERN = re.compile(r"^(?P<api>[a-z0-9]+)\.execute-api\.")
_HOP_BY_HOP = frozenset({"connection", "keep-alive", "transfer-encoding", "te", "upgrade", "host", "content-length",
                         "proxy-authorization", "proxy-authenticate", "trailer"})
_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")  # RFC 9110 §5.6.2
_VTL_VARIABLE = re.compile(r"\$\{?(stageVariables|context)\.([A-Za-z0-9_]+)\}?")


@dataclass
class Exchange:
    """A request travelling through the chain."""

    request: IncomingRequest
    ids: RequestIds = field(init=False)
    api: RestApi | None = None
    stage: Stage | None = None
    stage_name: str = ""
    path: str = "/"
    variant: Variant | None = None
    match: RouteMatch | None = None
    domain_name: str = ""
    record: DecisionRecord = field(init=False)
    started: float = field(default_factory=time.perf_counter)

    def __post_init__(self) -> None:
        self.ids = RequestIds.for_request(self.request)
        self.record = DecisionRecord(self.ids.request_id, method=self.request.method)


class ApiGateway:
    """Serves the data plane of every REST API in `state`, invoking functions of `lambdas`."""

    def __init__(self, state: ApiGatewayState, lambdas: LambdaService, *, rng: random.Random | None = None,
                 execution_log: Callable[[str], None] | None = None,
                 access_log: Callable[[DecisionRecord], None] | None = None) -> None:
        self.state = state
        self.lambdas = lambdas
        self.rng = rng or random.Random()
        self.stats = GatewayStats()
        self._execution_log = execution_log or (lambda line: None)
        self._access_log = access_log
        self.observers: list[Callable[[DecisionRecord], None]] = []
        self._http: aiohttp.ClientSession | None = None
        self.debug = False  # tracebacks of unexpected failures in the log

    # ---- the chain -----------------------------------------------------------------------
    async def handle(self, request: IncomingRequest) -> tuple[GatewayResponse, DecisionRecord]:
        """Answer one request; returns the response and the decision record."""
        exchange = Exchange(request)
        try:
            response = self._find_api(exchange) or self._find_stage(exchange) or self._choose_and_route(exchange)
            if response is None:
                response = await self._integrate(exchange)
            response = self._wire_safe(exchange, response)
        except Exception as error:  # a bug or a platform failure: API Gateway's 500, never a bare crash
            response = self._internal_error(exchange, error)
        self._finish(exchange, response)
        return response, exchange.record

    def _internal_error(self, exchange: Exchange, error: BaseException, status: int = 500) -> GatewayResponse:
        """One log line with the cause (a traceback in debug mode) and API Gateway's JSON error."""
        failures.report(self._execution_log, f"({exchange.ids.request_id}) request failed", error, self.debug)
        self._log(exchange, f"Method completed with status: {status}")
        exchange.record.error = failures.describe(error)
        kind = "API_CONFIGURATION_ERROR" if status == 500 else "INTEGRATION_FAILURE"
        return responses.internal_server_error(status, kind)

    def _wire_safe(self, exchange: Exchange, response: GatewayResponse) -> GatewayResponse:
        """A function's header that HTTP cannot carry (a name that is not a token, a CR, LF or NUL in a value) is
        a malformed proxy response: 502, as for any other malformed response (reference §4.2)."""
        for name, value in response.headers:
            if not name or not _TOKEN.fullmatch(name) or any(char in value for char in "\r\n\0"):
                self._log(exchange, f"lambda-canary: header {name!r}: {value!r} cannot be sent over HTTP")
                return self._configuration_error(exchange, "Malformed Lambda proxy response", 502)
        return response

    def _find_api(self, exchange: Exchange) -> GatewayResponse | None:
        host = (exchange.request.header("Host") or "").split(":", 1)[0].lower()  # host names are case-insensitive
        match = HOST_PATTERN.match(host)
        apis = self.state.apis
        if match is not None:
            exchange.api = apis.get(match.group("api"))
        elif len(apis) == 1:
            exchange.api = next(iter(apis.values()))
        if exchange.api is None:
            return responses.missing_authentication_token()
        exchange.record.api_id = exchange.api.id
        exchange.domain_name = host if match is not None else f"{exchange.api.id}.execute-api.localhost"
        return None

    def _find_stage(self, exchange: Exchange) -> GatewayResponse | None:
        raw_path = exchange.request.raw_path
        stage_name, slash, rest = raw_path.lstrip("/").partition("/")
        assert exchange.api is not None
        stage = exchange.api.stages.get(stage_name)
        if stage is None:
            return responses.missing_authentication_token()
        exchange.stage, exchange.stage_name = stage, stage_name
        exchange.path = "/" + rest if slash else "/"
        exchange.record.stage, exchange.record.path = stage_name, exchange.path
        return None

    def _choose_and_route(self, exchange: Exchange) -> GatewayResponse | None:
        assert exchange.api is not None and exchange.stage is not None
        variant = choose_variant(exchange.stage, self.rng)
        exchange.variant = variant
        exchange.record.variant, exchange.record.deployment_id = variant.name, variant.deployment_id
        deployment = exchange.api.deployments.get(variant.deployment_id)
        if deployment is None:
            return responses.missing_authentication_token()
        exchange.match = deployment.routes.match(exchange.path, exchange.request.method)
        if exchange.match is None:
            return responses.missing_authentication_token()
        if len(exchange.request.body) > MAX_REQUEST_BODY:
            return responses.request_too_large()
        return None

    async def _integrate(self, exchange: Exchange) -> GatewayResponse:
        assert exchange.match is not None
        integration = exchange.match.method.integration
        if integration is None:
            return self._configuration_error(exchange, "No integration defined for method")
        if integration.type == "AWS_PROXY":
            return await self._lambda_proxy(exchange, integration)
        if integration.type == "HTTP_PROXY":
            return await self._http_proxy(exchange, integration)
        if integration.type == "MOCK":
            return self._mock(exchange, integration)
        return self._configuration_error(exchange, f"Unsupported integration type {integration.type}")

    def _finish(self, exchange: Exchange, response: GatewayResponse) -> None:
        ids = exchange.ids
        response.headers.append(("x-amzn-RequestId", ids.request_id))
        response.headers.append(("x-amz-apigw-id", ids.extended_request_id))
        integration = exchange.match.method.integration if exchange.match else None
        if integration is not None and integration.type == "AWS_PROXY":
            response.headers.append(("X-Amzn-Trace-Id", ids.trace_id))
        record = exchange.record
        record.status = response.status
        record.latency_ms = (time.perf_counter() - exchange.started) * 1000
        if response.error_type and record.error is None:
            record.error = response.error_type
        self.stats.record(record)
        if self._access_log is not None:
            self._access_log(record)
        for observer in self.observers:
            observer(record)

    # ---- integrations --------------------------------------------------------------------
    def _configuration_error(self, exchange: Exchange, detail: str, status: int = 500) -> GatewayResponse:
        self._log(exchange, f"Execution failed due to configuration error: {detail}")
        self._log(exchange, f"Method completed with status: {status}")
        exchange.record.error = detail
        return responses.internal_server_error(status)

    def _log(self, exchange: Exchange, line: str) -> None:
        self._execution_log(f"({exchange.ids.request_id}) {line}")

    def _source_arn(self, exchange: Exchange) -> str:
        assert exchange.api is not None and exchange.match is not None
        method = exchange.match.method.http_method
        return (f"arn:aws:execute-api:{self.state.region}:{self.state.account_id}:{exchange.api.id}/"
                f"{exchange.stage_name}/{method}{exchange.match.resource.path}")

    async def _lambda_proxy(self, exchange: Exchange, integration: Integration) -> GatewayResponse:
        assert exchange.variant is not None and exchange.api is not None and exchange.match is not None
        record = exchange.record
        uri = integration.uri or ""
        resolved_uri, undefined = substitute_or_empty(uri, exchange.variant.variables)
        if undefined:
            # Refused even when the rest of the URI names a function: what remains is not the function meant
            # (reference §1.3 suggests 500).
            for name in undefined:
                self._log(exchange, f"lambda-canary: stage variable {name} is not defined on stage "
                          f"{exchange.stage_name} ({exchange.variant.name})")
            return self._configuration_error(exchange, "Invalid permissions on Lambda function")
        target = parse_lambda_uri(resolved_uri)
        if target is None:
            return self._configuration_error(exchange, "Invalid lambda function ARN in the integration uri")
        record.function, record.qualifier = target.function_name, target.qualifier
        if integration.http_method and integration.http_method.upper() != "POST":
            return self._configuration_error(exchange, "Lambda integrations are invoked with POST only")
        try:
            resolved = self.lambdas.resolve(target.reference)
        except LambdaApiError:
            return self._configuration_error(exchange, "Invalid permissions on Lambda function")
        if not self.lambdas.allows(resolved.record, target.qualifier, APIGATEWAY_PRINCIPAL, self._source_arn(exchange)):
            return self._configuration_error(exchange, "Invalid permissions on Lambda function")
        record.executed_version, record.runtime = resolved.version.version, resolved.version.runtime.name
        event = build_event(exchange.request, exchange.match, path=exchange.path, api_id=exchange.api.id,
                            account_id=self.state.account_id, stage=exchange.stage_name, variant=exchange.variant,
                            ids=exchange.ids, binary_media_types=exchange.api.binary_media_types,
                            domain_name=exchange.domain_name)
        payload = json.dumps(event, separators=(",", ":")).encode()
        invoke = asyncio.ensure_future(self.lambdas.invoke_resolved(resolved, payload, trace_id=exchange.ids.trace_id))
        done, _ = await asyncio.wait({invoke}, timeout=integration.timeout_in_millis / 1000)
        if not done:
            invoke.add_done_callback(_consume)
            self._log(exchange, f"Execution failed due to a timeout error after {integration.timeout_in_millis} ms")
            record.error = "INTEGRATION_TIMEOUT"
            return responses.integration_timeout()
        try:
            result = invoke.result()
        except LambdaApiError as error:
            self._log(exchange, f"Lambda invocation failed with status: {error.status}. Lambda request id: "
                      f"{exchange.ids.request_id}")
            return self._configuration_error(exchange, f"{error.code}: {error.message}")
        except Exception as error:  # the platform failed (backend launch, image, Runtime API): Lambda's 500
            self._log(exchange, f"Lambda invocation failed with status: 500. Lambda request id: "
                      f"{exchange.ids.request_id}")
            return self._internal_error(exchange, error)
        if result.function_error:
            message = (result.error_payload or {}).get("errorMessage", "")
            self._log(exchange, f"Lambda execution failed with status 200 due to customer function error: "
                      f"{message}. Lambda request id: {result.request_id}")
            self._log(exchange, "Method completed with status: 502")
            record.error = f"Lambda Customer Function Error:{message}"
            return responses.internal_server_error(502, "INTEGRATION_FAILURE")
        try:
            return map_proxy_result(result.payload, exchange.api.binary_media_types, exchange.request.header("Accept"))
        except (MalformedProxyResponse, ValueError, TypeError, RecursionError) as malformed:
            # ValueError covers text no encoder takes (a lone surrogate in the body); all are malformed responses
            self._log(exchange, f"lambda-canary: {failures.describe(malformed)}")
            return self._configuration_error(exchange, "Malformed Lambda proxy response", 502)

    async def _http_proxy(self, exchange: Exchange, integration: Integration) -> GatewayResponse:
        assert exchange.variant is not None and exchange.match is not None
        try:
            url = substitute(integration.uri or "", exchange.variant.variables)
        except UndefinedStageVariable:
            return self._configuration_error(exchange, "Invalid endpoint address")
        for name, value in (exchange.match.path_parameters or {}).items():
            url = url.replace(f"{{{name}+}}", value).replace(f"{{{name}}}", value)
        if not url.startswith(("http://", "https://")) or url.split("://", 1)[1].startswith("/"):
            return self._configuration_error(exchange, "Invalid endpoint address")
        if exchange.request.query_string:
            url += ("&" if "?" in url else "?") + exchange.request.query_string
        headers = [(name, value) for name, value in exchange.request.headers if name.lower() not in _HOP_BY_HOP]
        if self._http is None:
            self._http = aiohttp.ClientSession(auto_decompress=False)
        try:
            async with self._http.request(exchange.request.method, url, headers=headers,
                                          data=exchange.request.body or None, allow_redirects=False,
                                          timeout=aiohttp.ClientTimeout(total=integration.timeout_in_millis / 1000)
                                          ) as upstream:
                body = await upstream.read()
                out = [(name, value) for name, value in upstream.headers.items() if name.lower() not in _HOP_BY_HOP]
                return GatewayResponse(upstream.status, body, out)
        except TimeoutError:
            return responses.integration_timeout()
        except (aiohttp.ClientError, ValueError) as error:
            return self._configuration_error(exchange, f"Execution failed: {error}", 502)

    def _mock(self, exchange: Exchange, integration: Integration) -> GatewayResponse:
        assert exchange.variant is not None
        template = integration.request_templates.get("application/json", '{"statusCode": 200}')
        try:
            status = str(json.loads(self._render(template, exchange)).get("statusCode", 200))
        except (ValueError, AttributeError):
            status = "200"
        response = integration.integration_responses.get(status) or integration.integration_responses.get("200")
        body = self._render(response.response_templates.get("application/json", ""), exchange) if response else ""
        return GatewayResponse(int(status), body.encode(), [("Content-Type", "application/json")])

    def _render(self, template: str, exchange: Exchange) -> str:
        """The part of VTL a MOCK template needs: `$stageVariables.x` and `$context.x` references."""
        assert exchange.variant is not None
        context = {"stage": exchange.stage_name, "requestId": exchange.ids.request_id,
                   "isCanaryRequest": "true" if exchange.variant.is_canary else "false",
                   "deploymentId": exchange.variant.deployment_id, "httpMethod": exchange.request.method,
                   "resourcePath": exchange.match.resource.path if exchange.match else ""}

        def value(match: re.Match[str]) -> str:
            source = exchange.variant.variables if match.group(1) == "stageVariables" else context  # type: ignore[union-attr]
            return source.get(match.group(2), "")

        return _VTL_VARIABLE.sub(value, template)

    async def close(self) -> None:
        """Close the HTTP client used by HTTP_PROXY integrations."""
        if self._http is not None:
            await self._http.close()


def _consume(task: asyncio.Future[object]) -> None:
    """Retrieve a late result so asyncio does not warn about it."""
    if not task.cancelled():
        task.exception()
