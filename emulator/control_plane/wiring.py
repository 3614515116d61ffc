"""Build the control plane (the AWS APIs a stack serves to boto3 and the aws CLI) for a stack."""

from __future__ import annotations

import atexit
import shutil
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from emulator.control_plane.lambda_api import LambdaApi
from emulator.control_plane.protocol import RestJsonService
from emulator.control_plane.router import ControlPlane

if TYPE_CHECKING:
    from emulator.stack import Stack

_APIGATEWAY_MODULE = "emulator.control_plane.apigateway_api"


def build_control_plane(stack: Stack, code_root: Path | None = None) -> ControlPlane:
    """Lambda (2015-03-31) always; API Gateway (2015-07-09) when its module is present.

    Attach with `stack.server.control_plane = build_control_plane(stack)`. Uploaded function code goes to
    `code_root` (a temporary folder, removed at exit, when not given). The LambdaApi (for `to_dict` /
    `from_dict`) is `control_plane.services["lambda"].implementation`.
    """
    if code_root is None:
        code_root = Path(tempfile.mkdtemp(prefix="lambda-canary-code-"))
        atexit.register(shutil.rmtree, code_root, True)

    def warn(message: str) -> None:
        stack.log(f"warning: {message}")

    services = {"lambda": RestJsonService("lambda", LambdaApi(stack.lambdas, code_root, warn),
                                          validation_error="ValidationException")}
    try:
        from emulator.control_plane.apigateway_api import ApiGatewayApi  # type: ignore[import-not-found,unused-ignore]
    except ModuleNotFoundError as error:
        if error.name != _APIGATEWAY_MODULE:
            raise
    else:
        services["apigateway"] = RestJsonService("apigateway", ApiGatewayApi(stack.state, stack.lambdas),
                                                 validation_error="BadRequestException")
    return ControlPlane(services)
