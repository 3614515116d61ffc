"""The integration step shared by Lambda proxy, Lambda non-proxy and Lambda authorizers: resolve the function an
integration URI names (after stage-variable substitution, so the canary's overrides apply), check that API Gateway
may invoke it, invoke it within the integration timeout.

Failures come back as the GatewayResponse AWS sends, with AWS's execution-log lines (reference §1.3, §4.2, §4.3).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from emulator.apigateway import gateway_responses as responses
from emulator.apigateway.exchange import Exchange
from emulator.apigateway.gateway_responses import GatewayResponse
from emulator.apigateway.lambda_uri import LambdaTarget, parse_lambda_uri
from emulator.lambda_service.errors import LambdaApiError
from emulator.lambda_service.loader import APIGATEWAY_PRINCIPAL
from emulator.lambda_service.model import InvocationResult
from emulator.lambda_service.service import LambdaService, Resolved
from emulator.stage_variables import substitute_or_empty

ExecutionLog = Callable[[Exchange, str], None]
InternalError = Callable[[Exchange, BaseException], GatewayResponse]


def configuration_error(exchange: Exchange, log: ExecutionLog, detail: str, status: int = 500) -> GatewayResponse:
    """500 (or 502) `Internal server error` with AWS's `Execution failed due to configuration error` line."""
    log(exchange, f"Execution failed due to configuration error: {detail}")
    log(exchange, f"Method completed with status: {status}")
    exchange.record.error = detail
    return responses.internal_server_error(status)


@dataclass
class Function:
    """A function an integration or authorizer will invoke."""

    target: LambdaTarget
    resolved: Resolved


class LambdaStep:
    """Resolves and invokes Lambda functions for the gateway."""

    def __init__(self, lambdas: LambdaService, log: ExecutionLog, internal_error: InternalError) -> None:
        self.lambdas = lambdas
        self.log = log
        self.internal_error = internal_error

    def resolve(self, exchange: Exchange, uri: str, source_arn: str, http_method: str | None = "POST", *,
                credentials: str | None = None) -> Function | GatewayResponse:
        """The function `uri` names for this request's variant, if API Gateway may invoke it: an integration
        with `credentials` invokes as that role (IAM, which lambda-canary does not model, decides); without them
        the function's resource policy must allow API Gateway (issue 15, point 4)."""
        assert exchange.variant is not None
        resolved_uri, undefined = substitute_or_empty(uri, exchange.variant.variables)
        if undefined:
            # Refused even when the rest of the URI names a function: what remains is not the function meant
            # (reference §1.3 suggests 500).
            for name in undefined:
                self.log(exchange, f"lambda-canary: stage variable {name} is not defined on stage "
                         f"{exchange.stage_name} ({exchange.variant.name})")
            return configuration_error(exchange, self.log, "Invalid permissions on Lambda function")
        target = parse_lambda_uri(resolved_uri)
        if target is None:
            return configuration_error(exchange, self.log, "Invalid lambda function ARN in the integration uri")
        if http_method and http_method.upper() != "POST":
            return configuration_error(exchange, self.log, "Lambda integrations are invoked with POST only")
        try:
            resolved = self.lambdas.resolve(target.reference)
        except LambdaApiError:
            return configuration_error(exchange, self.log, "Invalid permissions on Lambda function")
        if not credentials and not self.lambdas.allows(resolved.record, target.qualifier, APIGATEWAY_PRINCIPAL,
                                                       source_arn):
            return configuration_error(exchange, self.log, "Invalid permissions on Lambda function")
        return Function(target, resolved)

    async def invoke(self, exchange: Exchange, function: Function, payload: bytes,
                     timeout_ms: int, *, client_context: str | None = None) -> InvocationResult | GatewayResponse:
        """Invoke; a timeout answers 504 and an invoke Lambda refuses answers 500."""
        loop = asyncio.get_running_loop()
        invoke = loop.create_task(
            self.lambdas.invoke_resolved(function.resolved, payload, trace_id=exchange.ids.trace_id,
                                         client_context=client_context))
        settled: asyncio.Future[None] = loop.create_future()  # what asyncio.wait does, without its sets and copies
        invoke.add_done_callback(lambda _task: _settle(settled))
        timer = loop.call_later(timeout_ms / 1000, _settle, settled)
        try:
            await settled
        finally:
            timer.cancel()
        if not invoke.done():
            invoke.add_done_callback(_consume)
            self.log(exchange, f"Execution failed due to a timeout error after {timeout_ms} ms")
            exchange.record.error = "INTEGRATION_TIMEOUT"
            return responses.integration_timeout()
        try:
            return invoke.result()
        except LambdaApiError as error:
            return self.refused(exchange, error)
        except Exception as error:  # the platform failed (backend launch, image, Runtime API): Lambda's 500
            self.log(exchange, f"Lambda invocation failed with status: 500. Lambda request id: "
                     f"{exchange.ids.request_id}")
            return self.internal_error(exchange, error)

    def refused(self, exchange: Exchange, error: LambdaApiError) -> GatewayResponse:
        """Lambda refused the Invoke call (4xx/5xx from the Lambda API): API Gateway's 500 with AWS's log lines."""
        self.log(exchange, f"Lambda invocation failed with status: {error.status}. Lambda request id: "
                 f"{exchange.ids.request_id}")
        return configuration_error(exchange, self.log, f"{error.code}: {error.message}")

    def invoke_later(self, exchange: Exchange, function: Function, payload: bytes,
                     client_context: str | None = None) -> None:
        """An `Event` invocation: the function runs in the background; a failure is one log line."""
        self.lambdas.invoke_later(function.resolved, payload, lambda line: self.log(exchange, f"lambda-canary: {line}"),
                                  trace_id=exchange.ids.trace_id, client_context=client_context)


def _settle(settled: asyncio.Future[None]) -> None:
    if not settled.done():
        settled.set_result(None)


def _consume(task: asyncio.Future[Any]) -> None:
    """Retrieve a late result so asyncio does not warn about it."""
    if not task.cancelled():
        task.exception()
