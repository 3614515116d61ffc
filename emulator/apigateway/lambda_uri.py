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


# PutIntegration's URI checks and messages, as AWS answers them. Recorded against AWS: LocalStack's AWS-validated
# tests/aws/services/apigateway/test_apigateway_lambda.py::test_put_integration_aws_proxy_uri and
# test_apigateway_integrations.py::test_put_integration_validation (localstack/localstack@8b9a79f).
INVALID_ARN = "Invalid ARN specified in the request"
NO_PATH_OR_ACTION = "AWS ARN for integration must contain path or action"
AWS_PROXY_TARGETS = ("Integrations of type 'AWS_PROXY' currently only supports Lambda function and Firehose stream "
                     "invocations.")
INVALID_HTTP_URI = "Invalid HTTP endpoint specified for URI"
_INTEGRATION_ARN = re.compile(r"^arn:[^:]+:apigateway:[^:]*:(?P<service>[^:]+):(?P<kind>[^/]*)/(?P<rest>.*)$")
_LAMBDA_PATH = re.compile(r"^path/2015-03-31/functions/.+/invocations$")
_HTTP_URI = re.compile(r"^https?://[^/\s]+", re.IGNORECASE)


def integration_uri_error(kind: str, uri: str | None) -> str | None:
    """AWS's refusal of an integration URI for an integration type, or None when AWS accepts it.

    A URI still holding `${stageVariables.x}` is checked as AWS checks it: as written.
    """
    if uri is None or kind in ("MOCK",):
        return None
    if kind in ("HTTP", "HTTP_PROXY"):
        return None if _HTTP_URI.match(uri) else INVALID_HTTP_URI
    if kind not in ("AWS", "AWS_PROXY"):
        return None
    if not uri.startswith("arn:"):
        return INVALID_ARN
    match = _INTEGRATION_ARN.match(uri)
    if match is None or match.group("kind") not in ("path", "action"):
        return NO_PATH_OR_ACTION
    if kind == "AWS_PROXY":
        target = f"{match.group('kind')}/{match.group('rest')}"
        if match.group("service") != "lambda" or not _LAMBDA_PATH.match(target):
            return AWS_PROXY_TARGETS
    return None
