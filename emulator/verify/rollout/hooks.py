"""PreTraffic and PostTraffic hooks run locally as CodeDeploy runs them.

CodeDeploy invokes the hook function with `{"DeploymentId": ..., "LifecycleEventHookExecutionId": ...}` and waits
for the function to report `Succeeded` or `Failed` through `PutLifecycleEventHookExecutionStatus`; a hook that never
reports fails the deployment when the hook's one-hour timeout ends (CodeDeploy user guide, "AppSpec 'hooks' section
for an AWS Lambda deployment"; AWS SAM developer guide, "Deploying serverless applications gradually").

Here the stack serves that operation (emulator/control_plane/codedeploy_api.py) and the hook function's
environments get `AWS_ENDPOINT_URL` (the stack's AWS API) and placeholder credentials, so the AWS SDK in the
function (or a plain signed request) reaches it; the host's credentials are never passed. The verdict:
- the status reported (Succeeded or Failed), whenever it arrives while the hook runs or within the timeout;
- a hook that throws (or times out, or cannot start) without reporting: Failed at once, with its error — on AWS
  the deployment would fail only after the hour;
- a hook that returns without reporting: Failed at once — the call is the verdict on AWS, a return value is not
  read, and a returned Lambda function is frozen, so nothing could report later. Hooks are held to AWS's contract.
- no report within `hookTimeout` seconds (`rollout.hookTimeout`, default 60; AWS: one hour): Failed.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from typing import Any

from emulator.control_plane.codedeploy_api import FAILED, SUCCEEDED, CodeDeployApi

PRE_TRAFFIC, POST_TRAFFIC = "PreTraffic", "PostTraffic"
# Placeholders: the local endpoint does not check signatures, and the host's credentials never reach a function.
PLACEHOLDER_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "lambda-canary-local", "AWS_SECRET_ACCESS_KEY": "lambda-canary-local"}


@dataclass
class HookResult:
    """One hook's run."""

    hook: str  # PreTraffic or PostTraffic
    function: str
    status: str  # Succeeded or Failed
    detail: str
    deployment_id: str
    execution_id: str

    @property
    def passed(self) -> bool:
        """Did the hook report Succeeded?"""
        return self.status == SUCCEEDED

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        return {"hook": self.hook, "function": self.function, "status": self.status, "detail": self.detail,
                "deploymentId": self.deployment_id}


def endpoint_variables(stack: Any) -> dict[str, str]:
    """What a hook function needs to reach the stack's AWS API: the endpoint (as the runtime sees the host) and
    placeholder credentials."""
    address = stack.lambdas.backend.runtime_api_address(stack.server.port)
    return {"AWS_ENDPOINT_URL": f"http://{address}", **PLACEHOLDER_CREDENTIALS}


async def run_hook(stack: Any, hook: str, function: str, deployment_id: str, timeout: float) -> HookResult:
    """Invoke `function` as CodeDeploy invokes a `hook` and wait for its verdict (on the stack's loop)."""
    codedeploy: CodeDeployApi = stack.control_plane.services["codedeploy"].implementation
    stack.lambdas.function_variables[function] = endpoint_variables(stack)
    execution = codedeploy.open(deployment_id)
    event = {"DeploymentId": deployment_id, "LifecycleEventHookExecutionId": execution.execution_id}
    invoke = asyncio.ensure_future(stack.lambdas.invoke(function, json.dumps(event).encode()))

    def result(status: str, detail: str) -> HookResult:
        return HookResult(hook, function, status, detail, deployment_id, execution.execution_id)

    try:
        await asyncio.wait({invoke, execution.status}, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
        if execution.status.done():
            status = execution.status.result()
            return result(status, f"reported {status} through PutLifecycleEventHookExecutionStatus")
        if not invoke.done():
            return result(FAILED, f"did not report a status within {timeout:g} s (rollout.hookTimeout; "
                                  "CodeDeploy waits one hour, then fails the deployment)")
        error = invoke.exception()
        if error is not None:
            return result(FAILED, f"could not be invoked: {getattr(error, 'message', None) or error}")
        answer = invoke.result()
        if answer.function_error is not None:
            return result(FAILED, f"failed without reporting a status: {_error_text(answer.payload)}")
        return result(FAILED, "returned without calling PutLifecycleEventHookExecutionStatus; CodeDeploy takes "
                              "the verdict from that call only (and would fail the deployment after one hour)")
    finally:
        if not invoke.done():
            invoke.cancel()
        if not execution.status.done():
            execution.status.cancel()


def _error_text(payload: bytes) -> str:
    """`errorType: errorMessage` of a function error's payload."""
    try:
        error = json.loads(payload)
    except ValueError:
        return payload[:200].decode("utf-8", "replace")
    if isinstance(error, dict):
        return f"{error.get('errorType', 'Error')}: {error.get('errorMessage', '')}"[:300]
    return str(error)[:300]
