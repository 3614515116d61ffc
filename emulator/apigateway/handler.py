"""The request chain of the local API Gateway: one small step per stage of a request.

api -> stage -> canary choice -> route -> authorizer (Lambda TOKEN/REQUEST) -> method request (request
validator) -> integration (AWS_PROXY, AWS, HTTP_PROXY, MOCK) -> response headers -> decision record. Modelled on
LocalStack's execute_api handler chain.
A non-proxy integration runs integration_request (template choice) -> integration (invoke) ->
integration_response (selection, template, parameters) -> method_response; proxy integrations never touch
the template engine.
"""

from __future__ import annotations

import json
import random
import re
import time
from collections.abc import Callable
from typing import Any

import aiohttp
import orjson

from emulator import failures
from emulator.apigateway import gateway_responses as responses
from emulator.apigateway import method_request
from emulator.apigateway.authorizer import LambdaAuthorizers
from emulator.apigateway.canary import choose_variant
from emulator.apigateway.exchange import Exchange
from emulator.apigateway.gateway_responses import GatewayResponse
from emulator.apigateway.integration import Function, LambdaStep, configuration_error
from emulator.apigateway.integration_request import UnsupportedMediaType, choose_request_template
from emulator.apigateway.integration_response import (
    lambda_selection_value,
    map_parameters,
    response_template,
    select_response,
)
from emulator.apigateway.method_response import method_response
from emulator.apigateway.metrics import GatewayMetrics
from emulator.apigateway.model import ApiGatewayState, Integration
from emulator.apigateway.observability import DecisionRecord, GatewayStats
from emulator.apigateway.proxy_event import build_event, parse_query
from emulator.apigateway.proxy_response import (
    HEADER_NAME,
    UNSENDABLE_IN_VALUE,
    MalformedProxyResponse,
    map_proxy_result,
)
from emulator.apigateway.request import IncomingRequest
from emulator.apigateway.request_parameters import (
    IntegrationParameters,
    MethodRequest,
    endpoint_url,
    fill_uri,
    map_request_parameters,
)
from emulator.apigateway.template_context import context_variables, render_for
from emulator.apigateway.templates import BodyNotJson, TemplateError
from emulator.apigateway.throttling import Throttles
from emulator.lambda_service.errors import LambdaApiError, check_invocation_type
from emulator.lambda_service.model import decode_client_context
from emulator.lambda_service.service import LambdaService
from emulator.stage_variables import UndefinedStageVariable, substitute

MAX_REQUEST_BODY = 10 * 1024 * 1024
HOST_PATTERN = re.compile(r"^(?P<api>[a-z0-9]+)\.execute-api\.")
_HOP_BY_HOP = frozenset({"connection", "keep-alive", "transfer-encoding", "te", "upgrade", "host", "content-length",
                         "proxy-authorization", "proxy-authenticate", "trailer"})


def encode_event(event: dict[str, Any]) -> bytes:
    """The proxy event as compact JSON: orjson (5x faster than json.dumps on an event, 5% of a request's CPU in
    issue 19's profile); json.dumps for the text orjson refuses (a lone surrogate), which it escapes."""
    try:
        return orjson.dumps(event)
    except TypeError:
        return json.dumps(event, separators=(",", ":")).encode()


class ApiGateway:
    """Serves the data plane of every REST API in `state`, invoking functions of `lambdas`."""

    def __init__(self, state: ApiGatewayState, lambdas: LambdaService, *, rng: random.Random | None = None,
                 execution_log: Callable[[str], None] | None = None,
                 access_log: Callable[[DecisionRecord], None] | None = None) -> None:
        self.state = state
        self.lambdas = lambdas
        self.rng = rng or random.Random()
        self.stats = GatewayStats()
        self.metrics = GatewayMetrics(lambda: self.state, lambdas)
        self._execution_log = execution_log or (lambda line: None)
        self._access_log = access_log
        self.observers: list[Callable[[DecisionRecord], None]] = []
        self._http: aiohttp.ClientSession | None = None
        self.debug = False  # tracebacks of unexpected failures in the log
        self.lambda_step = LambdaStep(lambdas, self._log_for, self._internal_error)
        self.authorizers = LambdaAuthorizers(self.lambda_step, self._log_for, lambda: self.state.region,
                                             lambda: self.state.account_id)
        self.throttles = Throttles()

    # ---- the chain -----------------------------------------------------------------------
    async def handle(self, request: IncomingRequest) -> tuple[GatewayResponse, DecisionRecord]:
        """Answer one request; returns the response and the decision record."""
        exchange = Exchange(request)
        try:
            response = self._find_api(exchange) or self._find_stage(exchange) or self._choose_and_route(exchange)
            if response is None and exchange.match is not None and \
                    exchange.match.method.authorization_type == "CUSTOM":
                response = await self._authorize(exchange)
            if response is None and exchange.match is not None and exchange.match.method.request_validator_id:
                response = self._validate(exchange)
            if response is None:
                response = await self._integrate(exchange)
            response = self._wire_safe(exchange, response)
            response = self._gateway_response(exchange, response)
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
        """A function's header that HTTP cannot carry (a name that is not a token, a control character in a value) is
        a malformed proxy response: 502, as for any other malformed response (reference §4.2)."""
        for name, value in response.headers:
            if not HEADER_NAME.fullmatch(name) or UNSENDABLE_IN_VALUE.search(value):
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
            if match is None and len(apis) > 1:
                exchange.record.error = self._host_hint(exchange)
            return responses.missing_authentication_token()
        exchange.record.api_id = exchange.api.id
        exchange.domain_name = host if match is not None else f"{exchange.api.id}.execute-api.localhost"
        return None

    def _host_hint(self, exchange: Exchange) -> str:
        """Why a request without an API's Host matched nothing when several APIs are served, and what to send."""
        stage_name = exchange.request.raw_path.lstrip("/").partition("/")[0]
        having = [api.id for api in self.state.apis.values() if stage_name in api.stages]
        ids = having if len(having) > 1 else list(self.state.apis)
        which = f"{len(having)} REST APIs have stage {stage_name!r}" if len(having) > 1 else \
            f"{len(self.state.apis)} REST APIs are served"
        return (f"{which}; pick one with the Host header {{apiId}}.execute-api.localhost "
                f"(apiId: {', '.join(ids)}; split/compare: --host)")

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
        if not self.throttles.allow_account() or (exchange.stage.method_settings and not self.throttles.allow(
                exchange.api.id, exchange.stage_name, exchange.stage.method_settings, exchange.match.resource.path,
                exchange.match.method.http_method)):
            exchange.record.error = "THROTTLED"
            return responses.throttled()
        if len(exchange.request.body) > MAX_REQUEST_BODY:
            return responses.request_too_large()
        return None

    async def _integrate(self, exchange: Exchange) -> GatewayResponse:
        assert exchange.match is not None
        integration = exchange.match.method.integration
        if integration is None:
            return self._configuration_error(exchange, "No integration defined for method")
        started = time.perf_counter()
        try:
            if integration.type == "AWS_PROXY":
                return await self._lambda_proxy(exchange, integration)
            if integration.type == "HTTP_PROXY":
                return await self._http_proxy(exchange, integration)
            if integration.type == "AWS":
                return await self._lambda_non_proxy(exchange, integration)
            if integration.type == "HTTP":
                return await self._http_non_proxy(exchange, integration)
            if integration.type == "MOCK":
                return self._mock(exchange, integration)
            return self._configuration_error(exchange, f"Unsupported integration type {integration.type}")
        finally:  # IntegrationLatency (the metrics): the integration's own time
            exchange.record.integration_latency_ms = (time.perf_counter() - started) * 1000

    async def _authorize(self, exchange: Exchange) -> GatewayResponse | None:
        assert exchange.api is not None and exchange.match is not None
        authorizer_id = exchange.match.method.authorizer_id
        authorizer = exchange.api.authorizers.get(authorizer_id or "")
        if authorizer is None:
            self._log(exchange, f"lambda-canary: the method's authorizer {authorizer_id} does not exist")
            exchange.record.error = "AUTHORIZER_CONFIGURATION_ERROR"
            return responses.authorizer_configuration_error()
        return await self.authorizers.authorize(exchange, authorizer)

    def _validate(self, exchange: Exchange) -> GatewayResponse | None:
        """The method's request validator, as the serving deployment captured it (method_request.py)."""
        assert exchange.api is not None and exchange.variant is not None
        deployment = exchange.api.deployments[exchange.variant.deployment_id]
        return method_request.validate(exchange, deployment, lambda line: self._log(exchange, line))

    def _gateway_response(self, exchange: Exchange, response: GatewayResponse) -> GatewayResponse:
        """An error API Gateway generated, as the deployment's gateway responses shape it."""
        if not response.error_type or exchange.api is None or exchange.variant is None:
            return response
        deployment = exchange.api.deployments.get(exchange.variant.deployment_id)
        if deployment is None or not deployment.gateway_responses:
            return response
        query, _ = parse_query(exchange.request.query_string)
        match = exchange.match
        context = {"stage": exchange.stage_name, "requestId": exchange.ids.request_id,
                   "extendedRequestId": exchange.ids.extended_request_id, "httpMethod": exchange.request.method,
                   "apiId": exchange.api.id, "domainName": exchange.domain_name,
                   "path": f"/{exchange.stage_name}{exchange.path}",
                   "resourcePath": match.resource.path if match else "",
                   "resourceId": match.resource.id if match else ""}
        path_parameters = dict(match.path_parameters or {}) if match else {}
        request = responses.ErrorContext(exchange.request.header, query or {}, path_parameters,
                                         dict(exchange.variant.variables), context)
        return responses.customize(response, deployment.gateway_responses, request)

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
        self.metrics.record(record)
        if self._access_log is not None:
            self._access_log(record)
        for observer in self.observers:
            observer(record)

    # ---- integrations --------------------------------------------------------------------
    def _configuration_error(self, exchange: Exchange, detail: str, status: int = 500) -> GatewayResponse:
        return configuration_error(exchange, self._log_for, detail, status)

    def _log(self, exchange: Exchange, line: str) -> None:
        self._execution_log(f"({exchange.ids.request_id}) {line}")

    def _log_for(self, exchange: Exchange, line: str) -> None:
        self._log(exchange, line)

    def _source_arn(self, exchange: Exchange) -> str:
        assert exchange.api is not None and exchange.match is not None
        method = exchange.match.method.http_method
        return (f"arn:aws:execute-api:{self.state.region}:{self.state.account_id}:{exchange.api.id}/"
                f"{exchange.stage_name}/{method}{exchange.match.resource.path}")

    def _integration_function(self, exchange: Exchange, integration: Integration) -> Function | GatewayResponse:
        """The function a Lambda integration invokes for this request, recorded in the decision record."""
        function = self.lambda_step.resolve(exchange, integration.uri or "", self._source_arn(exchange),
                                            integration.http_method, credentials=integration.credentials)
        if not isinstance(function, GatewayResponse):
            record, version = exchange.record, function.resolved.version
            record.function, record.qualifier = function.target.function_name, function.target.qualifier
            record.executed_version, record.runtime = version.version, version.runtime.name
        return function

    async def _lambda_proxy(self, exchange: Exchange, integration: Integration) -> GatewayResponse:
        assert exchange.variant is not None and exchange.api is not None and exchange.match is not None
        record = exchange.record
        function = self._integration_function(exchange, integration)
        if isinstance(function, GatewayResponse):
            return function
        event = build_event(exchange.request, exchange.match, path=exchange.path, api_id=exchange.api.id,
                            account_id=self.state.account_id, stage=exchange.stage_name, variant=exchange.variant,
                            ids=exchange.ids, binary_media_types=exchange.api.binary_media_types,
                            domain_name=exchange.domain_name,
                            authorizer=exchange.authorizer.as_request_context() if exchange.authorizer else None)
        payload = encode_event(event)
        result = await self.lambda_step.invoke(exchange, function, payload, integration.timeout_in_millis)
        if isinstance(result, GatewayResponse):
            return result
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

    async def _lambda_non_proxy(self, exchange: Exchange, integration: Integration) -> GatewayResponse:
        """`type: AWS` with a Lambda URI: request template -> invoke -> integration response -> method response."""
        assert exchange.variant is not None and exchange.api is not None
        record = exchange.record
        context = context_variables(exchange, self.state.account_id)
        payload = self._integration_request(exchange, integration, context)
        if isinstance(payload, GatewayResponse):
            return payload
        function = self._integration_function(exchange, integration)
        if isinstance(function, GatewayResponse):
            return function
        parameters = self._integration_parameters(exchange, integration, context)
        # The Lambda Invoke request's own headers, as API Gateway sends the mapped ones (AWS: "Set up asynchronous
        # invocation of the backend Lambda function", set-up-lambda-integration-async.html; Lambda Invoke's
        # X-Amz-Client-Context): Event runs the function in the background and answers with an empty payload.
        client_context = parameters.header_value("X-Amz-Client-Context")
        if client_context:
            try:
                client_context = decode_client_context(client_context)
            except ValueError as error:
                return self._configuration_error(exchange, str(error))
        # Any other value is sent to Lambda as it is: DryRun answers 204 without running the function (selected as
        # an empty answer, as Event's 202 is); a value outside Invoke's enum is Lambda's 400 ValidationException,
        # which the gateway answers with its 500 (botocore lambda Invoke: InvocationType enum).
        try:
            invocation_type = check_invocation_type(parameters.header_value("X-Amz-Invocation-Type"))
        except LambdaApiError as error:
            return self.lambda_step.refused(exchange, error)
        if invocation_type != "RequestResponse":
            if invocation_type == "Event":
                self.lambda_step.invoke_later(exchange, function, payload.encode() or b"{}", client_context)
            return self._integration_response(exchange, integration, "200", "", {}, context)
        result = await self.lambda_step.invoke(exchange, function, payload.encode() or b"{}",
                                               integration.timeout_in_millis, client_context=client_context)
        if isinstance(result, GatewayResponse):
            return result
        selection = lambda_selection_value(result.payload, result.function_error)
        if result.function_error:
            self._log(exchange, f"Lambda execution failed with status 200 due to customer function error: "
                      f"{selection}. Lambda request id: {result.request_id}")
            record.error = f"Lambda Customer Function Error:{selection}"
        return self._integration_response(exchange, integration, selection,
                                          result.payload.decode("utf-8", "replace"), {}, context)

    def _integration_parameters(self, exchange: Exchange, integration: Integration,
                                context: dict[str, Any]) -> IntegrationParameters:
        """The integration request's headers, query and path parameters: requestParameters, then the template's
        `$context.requestOverride`."""
        assert exchange.variant is not None
        request = exchange.request
        _, query = parse_query(request.query_string)
        method_request = MethodRequest(
            dict(exchange.match.path_parameters or {}) if exchange.match else {}, query or {},
            lambda name: [value for key, value in request.headers if key.lower() == name.lower()],
            request.body.decode("utf-8", "replace"))
        return map_request_parameters(integration.request_parameters, method_request,
                                      stage_variables=exchange.variant.variables, context=context)

    def _integration_request(self, exchange: Exchange, integration: Integration,
                             context: dict[str, Any]) -> str | GatewayResponse:
        """The rendered request template, the body passed through, or AWS's 415/400/500."""
        body = exchange.request.body.decode("utf-8", "replace")
        try:
            chosen = choose_request_template(integration, exchange.request.header("Content-Type"))
        except UnsupportedMediaType as unsupported:
            self._log(exchange, f"Execution failed: no mapping template for content type {unsupported} and "
                      f"passthroughBehavior {integration.passthrough_behavior}")
            exchange.record.error = "UNSUPPORTED_MEDIA_TYPE"
            return responses.unsupported_media_type()
        if chosen.template is None:
            return body
        try:
            rendered = render_for(exchange, chosen.template, body, context)
        except BodyNotJson as error:
            exchange.record.error = "BAD_REQUEST_BODY"
            return responses.bad_request_body(str(error))
        except TemplateError as error:
            self._log(exchange, f"lambda-canary: request template for {chosen.content_type}, {error}")
            return self._configuration_error(exchange, "Unable to transform request")
        return rendered

    def _integration_response(self, exchange: Exchange, integration: Integration, selection: str, body: str,
                              headers: dict[str, str], context: dict[str, Any]) -> GatewayResponse:
        """Select the integration response, render its template, map its parameters, build the method response."""
        assert exchange.variant is not None
        response = select_response(integration.integration_responses, selection)
        if response is None:
            return self._configuration_error(
                exchange, f"No match for output mapping and no default output mapping configured. "
                f"Endpoint Response Status Code: {selection if selection.isdigit() else 200}")
        template, content_type = response_template(response, exchange.request.header("Accept"))
        if template is not None:
            try:
                body = render_for(exchange, template, body, context)
            except (TemplateError, BodyNotJson) as error:
                self._log(exchange, f"lambda-canary: response template for {content_type} of status "
                          f"{response.status_code}, {error}")
                return self._configuration_error(exchange, "Unable to transform response")
        mapped = map_parameters(response.response_parameters, body=body, headers=headers, context=context,
                                stage_variables=exchange.variant.variables)
        return method_response(response.status_code, body, content_type, mapped, context)
    def _endpoint(self, exchange: Exchange, integration: Integration,
                  parameters: IntegrationParameters | None = None) -> str | GatewayResponse:
        """An HTTP integration's URL: stage variables substituted, `{name}` filled from the mapped path parameters
        (integration.request.path.NAME), else from the method's path parameter of that name."""
        assert exchange.variant is not None and exchange.match is not None
        try:
            url = substitute(integration.uri or "", exchange.variant.variables)
        except UndefinedStageVariable:
            return self._configuration_error(exchange, "Invalid endpoint address")
        url = fill_uri(url, {**(exchange.match.path_parameters or {}), **(parameters.path if parameters else {})})
        if not url.startswith(("http://", "https://")) or url.split("://", 1)[1].startswith("/"):
            return self._configuration_error(exchange, "Invalid endpoint address")
        return url

    async def _http_proxy(self, exchange: Exchange, integration: Integration) -> GatewayResponse:
        """HTTP_PROXY: the method request passed through, with requestParameters applied on top (a mapped header
        replaces the client's of that name, a mapped query parameter is added, `{name}` in the URI filled)."""
        parameters = None
        if integration.request_parameters:
            parameters = self._integration_parameters(exchange, integration,
                                                      context_variables(exchange, self.state.account_id))
        url = self._endpoint(exchange, integration, parameters)
        if isinstance(url, GatewayResponse):
            return url
        query = exchange.request.query_string
        if parameters is not None and parameters.querystring:
            query = "&".join(part for part in (query, parameters.query_string()) if part)
        if query:
            url += ("&" if "?" in url else "?") + query
        headers = [(name, value) for name, value in exchange.request.headers if name.lower() not in _HOP_BY_HOP]
        if parameters is not None and parameters.header:
            mapped = {name.lower() for name in parameters.header}
            headers = [(name, value) for name, value in headers if name.lower() not in mapped]
            headers += [(name, value) for name, value in parameters.header.items()
                        if name.lower() not in _HOP_BY_HOP]
        if self._http is None:
            self._http = aiohttp.ClientSession(auto_decompress=False)
        try:
            async with self._http.request(exchange.request.method, endpoint_url(url), headers=headers,
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

    async def _http_non_proxy(self, exchange: Exchange, integration: Integration) -> GatewayResponse:
        """`type: HTTP`: the request template's result is sent to the endpoint (with integrationHttpMethod); the
        upstream status selects the integration response (patterns match the status code), whose template and
        parameters (`integration.response.header.X` included) answer. Of the rest of the request only what
        requestParameters map (and the template's `$context.requestOverride`) is passed on."""
        context = context_variables(exchange, self.state.account_id)
        payload = self._integration_request(exchange, integration, context)
        if isinstance(payload, GatewayResponse):
            return payload
        parameters = self._integration_parameters(exchange, integration, context)
        url = self._endpoint(exchange, integration, parameters)
        if isinstance(url, GatewayResponse):
            return url
        if parameters.querystring:
            url += ("&" if "?" in url else "?") + parameters.query_string()
        if self._http is None:
            self._http = aiohttp.ClientSession(auto_decompress=False)
        content_type = exchange.request.header("Content-Type") or "application/json"
        headers = [("Content-Type", content_type)] if parameters.header_value("Content-Type") is None else []
        headers += [(name, value) for name, value in parameters.header.items() if name.lower() not in _HOP_BY_HOP]
        try:
            async with self._http.request((integration.http_method or exchange.request.method).upper(),
                                          endpoint_url(url),
                                          headers=headers, data=payload.encode() or None,
                                          allow_redirects=False,
                                          timeout=aiohttp.ClientTimeout(total=integration.timeout_in_millis / 1000)
                                          ) as upstream:
                body = (await upstream.read()).decode("utf-8", "replace")
                answered = {name: value for name, value in upstream.headers.items()}
                status = upstream.status
        except TimeoutError:
            return responses.integration_timeout()
        except (aiohttp.ClientError, ValueError) as error:
            return self._configuration_error(exchange, f"Execution failed: {error}", 502)
        return self._integration_response(exchange, integration, str(status), body, answered, context)

    def _mock(self, exchange: Exchange, integration: Integration) -> GatewayResponse:
        """MOCK: the request template's `statusCode` selects the integration response, whose template answers."""
        context = context_variables(exchange, self.state.account_id)
        if not integration.request_templates:
            integration_request: str | GatewayResponse = '{"statusCode": 200}'
        else:
            integration_request = self._integration_request(exchange, integration, context)
        if isinstance(integration_request, GatewayResponse):
            return integration_request
        try:
            status = str(int(json.loads(integration_request).get("statusCode", 200)))
        except (ValueError, TypeError, AttributeError):
            status = "200"
        by_status = integration.integration_responses.get(status)
        if by_status is not None and not by_status.selection_pattern:
            # The config file names MOCK responses by status code; otherwise patterns select, as on AWS.
            integration = Integration("MOCK", integration_responses={status: by_status})
        return self._integration_response(exchange, integration, status, "", {}, context)

    async def close(self) -> None:
        """Close the HTTP client used by HTTP_PROXY integrations."""
        if self._http is not None:
            await self._http.close()

