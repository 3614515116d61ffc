"""A request travelling through the gateway's chain, and what each step learned about it."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from emulator.apigateway.canary import Variant
from emulator.apigateway.model import RestApi, Stage
from emulator.apigateway.observability import DecisionRecord
from emulator.apigateway.request import IncomingRequest, RequestIds
from emulator.apigateway.routing import RouteMatch


@dataclass
class AuthorizerResult:
    """What a Lambda authorizer allowed: its principalId and its context (values stringified as AWS does)."""

    principal_id: str
    context: dict[str, Any] = field(default_factory=dict)

    def as_request_context(self) -> dict[str, Any]:
        """`requestContext.authorizer` of the proxy event and `$context.authorizer` of templates."""
        return {**self.context, "principalId": self.principal_id}


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
    authorizer: AuthorizerResult | None = None
    record: DecisionRecord = field(init=False)
    started: float = field(default_factory=time.perf_counter)

    def __post_init__(self) -> None:
        self.ids = RequestIds.for_request(self.request)
        self.record = DecisionRecord(self.ids.request_id, method=self.request.method,
                                     path=self.request.raw_path or "/")
