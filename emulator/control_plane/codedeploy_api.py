"""A minimal local CodeDeploy: `PutLifecycleEventHookExecutionStatus`, the one call a PreTraffic/PostTraffic hook
function makes to report its verdict (Succeeded or Failed).

Served from botocore's `codedeploy` model (2014-10-06, JSON 1.1 protocol: `POST /` with
`X-Amz-Target: CodeDeploy_20141006.<Operation>`), validated and serialised as the model says, errors as the JSON
protocol shapes them (`__type` and `message`). CodeDeploy invokes a hook with the event
`{"DeploymentId": ..., "LifecycleEventHookExecutionId": ...}` (AWS SAM developer guide, "Deploying serverless
applications gradually", the example hook; CodeDeploy user guide, "AppSpec 'hooks' section for an AWS Lambda
deployment") and waits for the hook to report through this call, failing the deployment after one hour without
one. Here `lambda-canary rollout` opens an execution (`open`), invokes the hook and waits for `verdict`.
"""

from __future__ import annotations

import asyncio
import json
import secrets
import string
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any

from aiohttp import web

from emulator import failures
from emulator.control_plane.protocol import MAX_REQUEST_BYTES, AwsError, Report, internal_failure, service_model

if TYPE_CHECKING:  # botocore loads with the first request for this service, as protocol.py's services load it
    from botocore.model import ServiceModel

# CodeDeploy's JSON-protocol target prefix (botocore's codedeploy model: metadata.targetPrefix), known without
# loading the model; the service checks it against the model when it first serves a request.
TARGET_PREFIX = "CodeDeploy_20141006"

SUCCEEDED, FAILED = "Succeeded", "Failed"
_ID_CHARS = string.ascii_uppercase + string.digits


@dataclass
class HookExecution:
    """One lifecycle-event hook execution waiting for its status."""

    deployment_id: str
    execution_id: str
    status: asyncio.Future[str] = field(default_factory=lambda: asyncio.get_running_loop().create_future())


class CodeDeployApi:
    """The hook executions of the local deployments; the operation the hook functions call."""

    def __init__(self) -> None:
        self.executions: dict[str, HookExecution] = {}
        self.deployments: set[str] = set()

    @staticmethod
    def new_deployment_id() -> str:
        """`d-` and nine upper-case letters or digits, as CodeDeploy's deployment IDs look (d-ABCDEF123)."""
        return "d-" + "".join(secrets.choice(_ID_CHARS) for _ in range(9))

    def open(self, deployment_id: str) -> HookExecution:
        """A new hook execution of `deployment_id` (call on the stack's loop)."""
        self.deployments.add(deployment_id)
        execution = HookExecution(deployment_id, secrets.token_urlsafe(96))
        self.executions[execution.execution_id] = execution
        return execution

    def PutLifecycleEventHookExecutionStatus(self, params: dict[str, Any]) -> dict[str, Any]:
        """Record a hook's verdict; only Succeeded and Failed are accepted (the model's documentation)."""
        deployment_id = params.get("deploymentId")
        if not deployment_id:
            raise AwsError("DeploymentIdRequiredException", "Deployment ID is required")
        if deployment_id not in self.deployments:
            raise AwsError("DeploymentDoesNotExistException", f"Deployment {deployment_id} does not exist")
        execution = self.executions.get(params.get("lifecycleEventHookExecutionId") or "")
        if execution is None or execution.deployment_id != deployment_id:
            raise AwsError("InvalidLifecycleEventHookExecutionIdException",
                           "Lifecycle event hook execution ID is not valid for this deployment")
        status = params.get("status")
        if status not in (SUCCEEDED, FAILED):
            raise AwsError("InvalidLifecycleEventHookExecutionStatusException",
                           f"Status {status} is not valid: report Succeeded or Failed")
        if execution.status.done():
            raise AwsError("LifecycleEventAlreadyCompletedException",
                           "The lifecycle event hook execution is already completed")
        execution.status.set_result(status)
        return {"lifecycleEventHookExecutionId": execution.execution_id}


class JsonTargetService:
    """An AWS JSON-protocol service (`X-Amz-Target: <prefix>.<Operation>`) served from botocore's model; the
    implementation has one method per operation, as RestJsonService's."""

    def __init__(self, service_name: str, implementation: object, target_prefix: str,
                 report: Report | None = None) -> None:
        self.service_name = service_name
        self.implementation = implementation
        self.target_prefix = target_prefix
        self.report: Report = report or (lambda context, error: None)
        self.internal_error = internal_failure  # as RestJsonService's: the stack answers a failed save with it

    @cached_property
    def model(self) -> ServiceModel:
        """botocore's model of the service, loaded on first use."""
        model = service_model(self.service_name)
        assert model.metadata["targetPrefix"] == self.target_prefix, model.metadata["targetPrefix"]
        return model

    @cached_property
    def content_type(self) -> str:
        """`application/x-amz-json-1.1` (the model's jsonVersion)."""
        return f"application/x-amz-json-{self.model.metadata.get('jsonVersion', '1.1')}"

    @cached_property
    def _validator(self) -> Any:
        from botocore.validate import ParamValidator

        return ParamValidator()

    def handles(self, method: str, path: str, query: dict[str, str]) -> bool:
        """Never chosen by path: the router picks it by its credential scope or X-Amz-Target."""
        return False

    def handles_target(self, target: str) -> bool:
        """Is `X-Amz-Target` one of this service's?"""
        return target.partition(".")[0] == self.target_prefix

    def too_large(self, request: web.BaseRequest) -> web.Response:
        """413, as the other services answer a body over the limit."""
        return self.error_response(AwsError("RequestEntityTooLargeException",
                                            f"Request must be smaller than {MAX_REQUEST_BYTES} bytes", 413))

    async def handle(self, request: web.BaseRequest, body: bytes | None = None) -> web.Response:
        """Serve one request; always an AWS-shaped answer."""
        prefix, _, name = request.headers.get("X-Amz-Target", "").partition(".")
        if request.method != "POST" or prefix != self.target_prefix or name not in self.model.operation_names \
                or not hasattr(self.implementation, name):
            return self.error_response(AwsError("UnknownOperationException", "Unknown operation", 400))
        operation = self.model.operation_model(name)
        try:
            raw = await request.read() if body is None else body
            try:
                params = json.loads(raw or b"{}")
            except (ValueError, RecursionError):
                raise AwsError("SerializationException", "The request body is not valid JSON") from None
            if not isinstance(params, dict):
                raise AwsError("SerializationException", "The request body must be a JSON object")
            report = self._validator.validate(params, operation.input_shape)
            if report.has_errors():
                raise AwsError("ValidationException", report.generate_report().replace("\n", " "))
            result = getattr(self.implementation, name)(params) or {}
            return web.Response(body=json.dumps(result).encode(), headers={"Content-Type": self.content_type})
        except AwsError as error:
            return self.error_response(error)
        except Exception as error:  # a bug: InternalFailure, one log line
            self.report(f"{self.model.service_name} {name} failed", error)
            return self.error_response(self.internal_error(failures.describe(error)))

    def error_response(self, error: AwsError) -> web.Response:
        """The JSON protocol's error: `__type` names the error, botocore reads it from there."""
        return web.Response(status=error.status,
                            body=json.dumps({"__type": error.code, "message": error.message}).encode(),
                            headers={"x-amzn-ErrorType": error.code, "Content-Type": self.content_type})
