"""Parse a Lambda integration URI (after stage-variable substitution) into a function and qualifier."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

_URI = re.compile(
    r"^arn:aws:apigateway:(?P<region>[^:]+):lambda:path/2015-03-31/functions/(?P<function>.+)/invocations$")
_FUNCTION_ARN = re.compile(
    r"^arn:aws:lambda:(?P<region>[^:]*):(?P<account>[^:]*):function:(?P<name>[^:]*)(?::(?P<qualifier>.*))?$")


@dataclass(frozen=True)
class LambdaTarget:
    """The function an integration invokes."""

    region: str
    account_id: str
    function_name: str
    qualifier: str | None

    @property
    def reference(self) -> str:
        """`name` or `name:qualifier`."""
        return f"{self.function_name}:{self.qualifier}" if self.qualifier else self.function_name


@lru_cache(maxsize=4096)
def parse_lambda_uri(uri: str) -> LambdaTarget | None:
    """The target of `arn:aws:apigateway:REGION:lambda:path/2015-03-31/functions/ARN/invocations`, or None."""
    match = _URI.match(uri)
    if match is None:
        return None
    function = _FUNCTION_ARN.match(match.group("function"))
    if function is None:
        return None
    return LambdaTarget(function.group("region"), function.group("account"), function.group("name"),
                        function.group("qualifier") or None)

