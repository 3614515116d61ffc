"""Build the control plane (the AWS APIs a stack serves to boto3 and the aws CLI) over a Lambda service and an
API Gateway state; it knows nothing of the stack that holds them."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from emulator import failures
from emulator.control_plane.codedeploy_api import TARGET_PREFIX, CodeDeployApi, JsonTargetService
from emulator.control_plane.lambda_api import LambdaApi
from emulator.control_plane.protocol import AwsError, RestJsonService
from emulator.control_plane.router import ControlPlane
from emulator.owners import owned_temp_dir

if TYPE_CHECKING:
    from emulator.apigateway.model import ApiGatewayState
    from emulator.lambda_service.service import LambdaService

_APIGATEWAY_MODULE = "emulator.control_plane.apigateway_api"
# Invoke's own request limit and the name AWS's 413 message gives the operation (see lambda_service.service).
_LAMBDA_LIMITS = {"Invoke": (6 * 1024 * 1024, "InvokeFunction")}


def lambda_service_exception(message: str) -> AwsError:
    """Lambda's 500 `ServiceException` ("The Lambda service encountered an internal error", botocore's lambda
    model: members Type and Message). Type `Service` mirrors the `User` of Lambda's sender faults."""
    return AwsError("ServiceException", message, 500, body={"Type": "Service", "Message": message})


def temporary_code_root() -> Path:
    """A temporary folder for uploaded code, removed at exit; those of killed processes are removed now."""
    return owned_temp_dir("lambda-canary-code-")


def build_control_plane(lambdas: LambdaService, state: ApiGatewayState, log: Callable[[str], None], *,
                        debug: bool = False, code_root: Path | None = None) -> ControlPlane:
    """Lambda (2015-03-31) and CodeDeploy's PutLifecycleEventHookExecutionStatus (for rollout hooks) always;
    API Gateway (2015-07-09) when its module is present, over a stack's Lambda service and API Gateway state;
    warnings and failures go to `log` (with tracebacks when `debug`).

    Attach with `server.control_plane = build_control_plane(lambdas, state, log)`. Uploaded function code goes to
    `code_root` (a temporary folder, removed at exit, when not given). The LambdaApi (for `to_dict` /
    `from_dict`) is `control_plane.services["lambda"].implementation`.
    """
    if code_root is None:
        code_root = temporary_code_root()

    def warn(message: str) -> None:
        log(f"warning: {message}")

    def report(context: str, error: BaseException) -> None:
        failures.report(log, context, error, debug)

    services: dict[str, RestJsonService | JsonTargetService] = {
        "lambda": RestJsonService("lambda", LambdaApi(lambdas, code_root, warn), validation_error="ValidationException",
                                  internal_error=lambda_service_exception, request_limits=_LAMBDA_LIMITS,
                                  report=report)}
    try:
        from emulator.control_plane.apigateway_api import ApiGatewayApi  # type: ignore[import-not-found,unused-ignore]
    except ModuleNotFoundError as error:
        if error.name != _APIGATEWAY_MODULE:
            raise
    else:
        services["apigateway"] = RestJsonService("apigateway", ApiGatewayApi(state, lambdas),
                                                 validation_error="BadRequestException", report=report,
                                                 booleans_are_not_strings=True)
    services["codedeploy"] = JsonTargetService("codedeploy", CodeDeployApi(), TARGET_PREFIX, report=report)
    return ControlPlane(services)
