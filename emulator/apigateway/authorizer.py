"""Lambda authorizers (TOKEN and REQUEST) in front of a method, as API Gateway runs them.

AWS references: "Input to an API Gateway Lambda authorizer" and "Output from an API Gateway Lambda authorizer"
(https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-lambda-authorizer-input.html,
.../api-gateway-lambda-authorizer-output.html), "Configure a Lambda authorizer"
(.../configure-api-gateway-lambda-authorization.html):

- TOKEN: the identity is the header `identitySource` names; missing, or not matching
  `identityValidationExpression`, answers 401 without invoking. Event: `{type, authorizationToken, methodArn}`.
- REQUEST: the identity is every source listed (headers, query strings, stage variables, context); with caching on,
  a missing source answers 401 without invoking. Event: the request's headers, query, path parameters, stage
  variables and requestContext, plus `type` and `methodArn`.
- The function answers `{principalId, policyDocument, context}`; the policy is evaluated against the method ARN
  (`arn:aws:execute-api:REGION:ACCOUNT:API/STAGE/METHOD/PATH`): an explicit Deny wins, then an Allow; nothing
  matching denies. A thrown `Unauthorized` answers 401; any other failure 500 (AUTHORIZER_CONFIGURATION_ERROR).
- Results are cached by identity for `authorizerResultTtlInSeconds` (0 disables); a cached policy is evaluated
  anew against each request's method ARN.

The authorizer function is resolved like an integration: its URI may hold `${stageVariables.x}`, so a canary's
overrides choose another function; each side of a canary (unless it uses the stage cache) has its own cache.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from emulator.apigateway import gateway_responses as responses
from emulator.apigateway.exchange import AuthorizerResult, Exchange
from emulator.apigateway.gateway_responses import GatewayResponse
from emulator.apigateway.integration import ExecutionLog, LambdaStep
from emulator.apigateway.model import Authorizer
from emulator.apigateway.proxy_event import build_event, parse_query
from emulator.lambda_service.service import arn_like

DEFAULT_TIMEOUT_MS = 29000
_CONTEXT_VALUE = (str, int, float, bool)


@dataclass
class Decision:
    """What an authorizer function answered (what the cache keeps)."""

    principal_id: str
    statements: list[dict[str, Any]]
    context: dict[str, Any]
    function: str
    runtime: str | None


@dataclass
class _Entry:
    decision: Decision
    expires: float


@dataclass
class AuthorizerCache:
    """Decisions by (api, stage, side, authorizer, identity), each kept for the authorizer's TTL."""

    clock: Callable[[], float] = time.monotonic
    _entries: dict[tuple[str, ...], _Entry] = field(default_factory=dict)

    def get(self, key: tuple[str, ...]) -> Decision | None:
        """The live decision for `key`, or None."""
        entry = self._entries.get(key)
        if entry is None:
            return None
        if entry.expires <= self.clock():
            del self._entries[key]
            return None
        return entry.decision

    def put(self, key: tuple[str, ...], decision: Decision, ttl_seconds: int) -> None:
        """Keep `decision` for `ttl_seconds`."""
        if len(self._entries) > 10000:
            now = self.clock()
            self._entries = {k: v for k, v in self._entries.items() if v.expires > now}
        self._entries[key] = _Entry(decision, self.clock() + ttl_seconds)


class AuthorizerError(Exception):
    """The authorizer's answer is not what API Gateway accepts (500 AUTHORIZER_CONFIGURATION_ERROR)."""


def method_arn(region: str, account_id: str, exchange: Exchange) -> str:
    """`arn:aws:execute-api:REGION:ACCOUNT:API/STAGE/METHOD/PATH` with the request's own path."""
    assert exchange.api is not None
    return (f"arn:aws:execute-api:{region}:{account_id}:{exchange.api.id}/{exchange.stage_name}/"
            f"{exchange.request.method}/{exchange.path.lstrip('/')}")


def authorizer_arn(region: str, account_id: str, api_id: str, authorizer_id: str) -> str:
    """The source ARN API Gateway invokes an authorizer with (what a permission's SourceArn must cover)."""
    return f"arn:aws:execute-api:{region}:{account_id}:{api_id}/authorizers/{authorizer_id}"


def identity_values(authorizer: Authorizer, exchange: Exchange) -> list[str | None]:
    """The value of each identity source (None where the request lacks it)."""
    assert exchange.variant is not None
    sources = [part.strip() for part in (authorizer.identity_source or "").split(",") if part.strip()]
    query, _ = parse_query(exchange.request.query_string)
    values: list[str | None] = []
    for source in sources:
        value: str | None = None
        if source.startswith("method.request.header."):
            value = exchange.request.header(source[len("method.request.header."):])
        elif source.startswith("method.request.querystring."):
            value = (query or {}).get(source[len("method.request.querystring."):])
        elif source.startswith("stageVariables."):
            value = exchange.variant.variables.get(source[len("stageVariables."):])
        elif source.startswith("context."):
            value = _context_value(exchange, source[len("context."):])
        values.append(value or None)
    return values


def _context_value(exchange: Exchange, name: str) -> str | None:
    assert exchange.api is not None
    known = {"stage": exchange.stage_name, "requestId": exchange.ids.request_id, "apiId": exchange.api.id,
             "httpMethod": exchange.request.method, "domainName": exchange.domain_name,
             "identity.sourceIp": exchange.request.source_ip,
             "identity.userAgent": exchange.request.header("User-Agent"),
             "resourcePath": exchange.match.resource.path if exchange.match else None,
             "path": f"/{exchange.stage_name}{exchange.path}"}
    return known.get(name)


def evaluate_policy(statements: list[dict[str, Any]], arn: str) -> bool | None:
    """True (an Allow covers `arn`), False (an explicit Deny covers it) or None (nothing covers it)."""
    allowed = False
    for statement in statements:
        actions = _as_list(statement.get("Action"))
        if not any(arn_like(str(action), "execute-api:Invoke") for action in actions):
            continue
        if not any(arn_like(str(resource), arn) for resource in _as_list(statement.get("Resource"))):
            continue
        effect = str(statement.get("Effect", "")).capitalize()
        if effect == "Deny":
            return False
        if effect == "Allow":
            allowed = True
    return True if allowed else None


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def parse_decision(payload: bytes, function: str, runtime: str | None) -> Decision:
    """Check an authorizer's answer as API Gateway does; raises AuthorizerError."""
    try:
        answer = json.loads(payload)
    except ValueError:
        raise AuthorizerError("the authorizer's answer is not JSON") from None
    if not isinstance(answer, dict):
        raise AuthorizerError("the authorizer's answer is not a JSON object")
    principal = answer.get("principalId")
    if principal is None or isinstance(principal, dict | list):
        raise AuthorizerError("the authorizer's answer has no principalId")
    document = answer.get("policyDocument")
    if not isinstance(document, dict):
        raise AuthorizerError("the authorizer's answer has no policyDocument")
    statements = _as_list(document.get("Statement"))
    if not statements or not all(isinstance(statement, dict) for statement in statements):
        raise AuthorizerError("the policyDocument has no Statement")
    context = answer.get("context") or {}
    if not isinstance(context, dict):
        raise AuthorizerError("the authorizer's context is not a map")
    for key, value in context.items():
        if not isinstance(value, _CONTEXT_VALUE):
            raise AuthorizerError(f"the authorizer's context value {key!r} is not a string, number or boolean")
    return Decision(str(principal), statements, dict(context), function, runtime)


class LambdaAuthorizers:
    """Runs the authorizer of a method with `authorizationType: CUSTOM`."""

    def __init__(self, lambdas: LambdaStep, log: ExecutionLog, region: Callable[[], str],
                 account_id: Callable[[], str], cache: AuthorizerCache | None = None) -> None:
        self.step = lambdas
        self.log = log
        self.region = region
        self.account_id = account_id
        self.cache = cache or AuthorizerCache()

    async def authorize(self, exchange: Exchange, authorizer: Authorizer) -> GatewayResponse | None:
        """None when the request may proceed (exchange.authorizer is then set), else AWS's answer."""
        assert exchange.api is not None and exchange.variant is not None and exchange.stage is not None
        record = exchange.record
        kind = authorizer.type.upper()
        values = identity_values(authorizer, exchange)
        ttl = authorizer.result_ttl_in_seconds
        if kind == "TOKEN":
            token = values[0] if values else None
            if token is None:
                return self._unauthorized(exchange, "the identity source is missing")
            if authorizer.identity_validation_expression and not _full_match(
                    authorizer.identity_validation_expression, token):
                return self._unauthorized(exchange, "the token does not match the identityValidationExpression")
        elif ttl > 0 and (not values or any(value is None for value in values)):
            return self._unauthorized(exchange, "an identity source is missing")
        arn = method_arn(self.region(), self.account_id(), exchange)
        canary = exchange.stage.canary_settings
        side = "base" if not exchange.variant.is_canary or (canary and canary.use_stage_cache) else "canary"
        key = (exchange.api.id, exchange.stage_name, side, authorizer.id, *[value or "" for value in values])
        decision = self.cache.get(key) if ttl > 0 else None
        if decision is not None:
            record.authorizer, record.authorizer_cached = decision.function, True
        else:
            outcome = await self._invoke(exchange, authorizer, arn, values)
            if isinstance(outcome, GatewayResponse):
                return outcome
            decision = outcome
            record.authorizer = decision.function
            if ttl > 0:
                self.cache.put(key, decision, ttl)
        allowed = evaluate_policy(decision.statements, arn)
        if not allowed:
            detail = "with an explicit deny" if allowed is False else "(no statement allows it)"
            self.log(exchange, f"User is not authorized to access this resource {detail}: {arn}")
            record.error = "ACCESS_DENIED"
            return responses.access_denied(explicit=allowed is False)
        exchange.authorizer = AuthorizerResult(decision.principal_id, dict(decision.context))
        return None

    async def _invoke(self, exchange: Exchange, authorizer: Authorizer, arn: str,
                      values: list[str | None]) -> Decision | GatewayResponse:
        assert exchange.api is not None
        source = authorizer_arn(self.region(), self.account_id(), exchange.api.id, authorizer.id)
        function = self.step.resolve(exchange, authorizer.authorizer_uri or "", source, http_method=None)
        if isinstance(function, GatewayResponse):
            return self._configuration_error(exchange, "the authorizer function cannot be invoked")
        payload = json.dumps(self._event(exchange, authorizer, arn, values), separators=(",", ":")).encode()
        result = await self.step.invoke(exchange, function, payload, DEFAULT_TIMEOUT_MS)
        exchange.record.authorizer = function.target.function_name
        if isinstance(result, GatewayResponse):
            return self._configuration_error(exchange, "the authorizer function did not answer")
        if result.function_error:
            message = (result.error_payload or {}).get("errorMessage", "")
            if message == "Unauthorized":
                return self._unauthorized(exchange, "the authorizer answered Unauthorized")
            self.log(exchange, f"Authorizer error: {message}")
            return self._configuration_error(exchange, f"the authorizer failed: {message}")
        try:
            decision = parse_decision(result.payload, function.target.function_name,
                                      function.resolved.version.runtime.name)
        except AuthorizerError as error:
            return self._configuration_error(exchange, str(error))
        return decision

    def _event(self, exchange: Exchange, authorizer: Authorizer, arn: str,
               values: list[str | None]) -> dict[str, Any]:
        assert exchange.api is not None and exchange.match is not None and exchange.variant is not None
        if authorizer.type.upper() == "TOKEN":
            return {"type": "TOKEN", "methodArn": arn, "authorizationToken": values[0]}
        event = build_event(exchange.request, exchange.match, path=exchange.path, api_id=exchange.api.id,
                            account_id=self.account_id(), stage=exchange.stage_name, variant=exchange.variant,
                            ids=exchange.ids, binary_media_types=exchange.api.binary_media_types,
                            domain_name=exchange.domain_name)
        event.pop("body", None)
        event.pop("isBase64Encoded", None)
        return {"type": "REQUEST", "methodArn": arn, **event}

    def _unauthorized(self, exchange: Exchange, detail: str) -> GatewayResponse:
        self.log(exchange, f"Unauthorized request: {exchange.ids.request_id} ({detail})")
        exchange.record.error = "UNAUTHORIZED"
        return responses.unauthorized()

    def _configuration_error(self, exchange: Exchange, detail: str) -> GatewayResponse:
        self.log(exchange, f"Execution failed due to configuration error: Authorizer error ({detail})")
        exchange.record.error = "AUTHORIZER_CONFIGURATION_ERROR"
        return responses.authorizer_configuration_error()


def _full_match(pattern: str, value: str) -> bool:
    try:
        return re.fullmatch(pattern, value) is not None
    except re.error:
        return False

