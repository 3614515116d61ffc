"""AWS's deploy-time rules for integrations (PutIntegration), shared by the control plane, `check` and the
config loader so all three refuse what AWS refuses, with AWS's message."""

from __future__ import annotations

import re

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
