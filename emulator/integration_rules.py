"""AWS's deploy-time rules for integrations (PutIntegration), shared by the control plane, `check` and the
config loader so all three refuse what AWS refuses, with AWS's message."""

from __future__ import annotations

import re
from collections.abc import Mapping

# CreateStage / UpdateStage naming a canary deployment that does not exist (recorded: LocalStack's AWS-validated
# test_apigateway_canary.py::TestStageCrudCanary::test_create_canary_deployment and
# ::test_update_stage_canary_deployment_validation, localstack/localstack@8b9a79f).
MISSING_CANARY_DEPLOYMENT = "Deployment id does not exist"
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


# requestParameters (AWS: "Parameter mapping source reference for REST APIs",
# https://docs.aws.amazon.com/apigateway/latest/developerguide/rest-api-parameter-mapping-sources.html).
REQUEST_PARAMETER_DESTINATION = re.compile(
    r"^integration\.request\.(?P<kind>header|querystring|path)\.(?P<name>[^.\s]+)$")
REQUEST_PARAMETER_SOURCE = re.compile(
    r"^(?:method\.request\.(?:path|querystring|multivaluequerystring|header|multivalueheader)\.[^\s]+"
    r"|method\.request\.body(?:\.[^\s]+)?|stageVariables\.[A-Za-z0-9_]+|context\.[A-Za-z0-9_.]+|'[^']*')$")
ALLOWED_DESTINATIONS = "integration.request.header.NAME, integration.request.querystring.NAME or " \
    "integration.request.path.NAME"
ALLOWED_SOURCES = ("method.request.path|querystring|multivaluequerystring|header|multivalueheader.NAME, "
                   "method.request.body[.JSONPATH], stageVariables.NAME, context.NAME or a 'static value'")


def mapping_problem(destination: str, source: str) -> str | None:
    """Why one requestParameters entry is not a mapping AWS takes, or None."""
    if not REQUEST_PARAMETER_DESTINATION.match(destination):
        return f"requestParameters key {destination!r} is not {ALLOWED_DESTINATIONS}"
    if not isinstance(source, str) or not REQUEST_PARAMETER_SOURCE.match(source):
        return f"requestParameters {destination}: {source!r} is not {ALLOWED_SOURCES}"
    return None


def method_request_sources(mapping: dict[str, str]) -> dict[str, bool]:
    """The method request parameters a mapping reads (AWS refuses a mapping from an undeclared one), declared as
    not required: `method.request.header.X` -> False; a multi-value source declares its single-value parameter
    (PutMethod takes method.request.path|querystring|header.NAME only)."""
    return {_declared_form(source): False for source in sorted(set(mapping.values()))
            if source.startswith("method.request.") and not source.startswith("method.request.body")}


def _declared_form(source: str) -> str:
    """`method.request.multivaluequerystring.x` -> `method.request.querystring.x` (and headers likewise)."""
    return source.replace(".multivaluequerystring.", ".querystring.", 1).replace(".multivalueheader.", ".header.", 1)


# PutIntegration's (and PutMethod's) refusal of a mapping expression, as AWS words it. Recorded against AWS:
# LocalStack's AWS-validated tests/aws/services/apigateway/test_apigateway_api.py::TestApigatewayIntegration::
# test_put_integration_request_parameter_bool_type, "put-method-request-param-wrong-type" (localstack/localstack
# @8b9a79f): "...errors : [Invalid mapping expression specified: true]" for a key that is no expression. A source
# naming a method request parameter the method does not declare is "[Invalid mapping expression parameter
# specified: method.request.querystring.X-Some-Header-2]", as AWS answered it to hashicorp/terraform-provider-aws
# (internal/service/apigateway/integration.go@0196297b, its comment on updating in two stages).
_MAPPING_REFUSAL = "Invalid mapping expression specified: Validation Result: warnings : [], errors : [{}]"
METHOD_REQUEST_PARAMETER = re.compile(r"^method\.request\.(?:path|querystring|header)\.[^\s]+$")


def _invalid_expression(expression: object) -> str:
    return _MAPPING_REFUSAL.format(f"Invalid mapping expression specified: {expression}")


def method_parameter_error(declared: Mapping[str, object]) -> str | None:
    """PutMethod's refusal of a requestParameters key that is not method.request.path|querystring|header.NAME."""
    for key in declared:
        if not METHOD_REQUEST_PARAMETER.match(str(key)):
            return _invalid_expression(key)
    return None


def integration_parameters_error(mapping: Mapping[str, object], declared: Mapping[str, object]) -> str | None:
    """PutIntegration's refusal of a requestParameters entry, or None: the key must be
    integration.request.header|querystring|path.NAME, the value a source AWS maps from, and a method request
    parameter it reads must be declared on the method (its multi-value form reads the declared single-value one)."""
    for destination, source in mapping.items():
        if not REQUEST_PARAMETER_DESTINATION.match(str(destination)):
            return _invalid_expression(destination)
        if not isinstance(source, str) or not REQUEST_PARAMETER_SOURCE.match(source):
            return _invalid_expression(source)
        if (source.startswith("method.request.") and not source.startswith("method.request.body")
                and source not in declared and _declared_form(source) not in declared):
            return _MAPPING_REFUSAL.format(f"Invalid mapping expression parameter specified: {source}")
    return None
