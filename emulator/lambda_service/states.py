"""Function states as Lambda has them: `State` (Pending, Active, Failed) and `LastUpdateStatus` (InProgress,
Successful, Failed) of each snapshot, the transitions, and the conflicts AWS answers while a snapshot is not ready.

Sources (AWS-recorded or AWS-written):
- LocalStack's AWS-validated snapshots, localstack/localstack@8b9a79f0, tests/aws/services/lambda_/
  test_lambda_api.snapshot.json: `TestLambdaFunction::test_lambda_concurrent_code_updates` (CreateFunction answers
  `State: Pending`, `StateReason: "The function is being created."`, `StateReasonCode: Creating`, no
  LastUpdateStatus; an update during an update answers 409 ResourceConflictException "The operation cannot be
  performed at this time. An update is in progress for resource: <function ARN>"), `TestLambdaVersions::
  test_version_lifecycle` (an update answers `LastUpdateStatus: InProgress` with reason "The function is being
  created." and code `Creating`, then `Successful` with no reason; every transition issues a new RevisionId;
  PublishVersion of a ready function answers `Active`), `TestLambdaVersions::test_publish_version_on_create`
  (CreateFunction with Publish answers version 1 `Pending`); test_lambda.snapshot.json, `TestLambdaVersions::
  test_lambda_versions_with_code_changes` (UpdateFunctionCode with Publish answers the new version `Pending`).
- AWS Lambda Developer Guide, troubleshooting-invocation.md: Invoke of a Pending function answers
  "ResourceConflictException: The operation cannot be performed at this time. The function is currently in the
  following state: Pending"; functions-states.md: while Pending, invokes and updates fail; a failed update leaves
  the previous code and configuration running.
- An update of a Pending function, as AWS answered it (aws/serverless-application-model#2356): "The operation cannot
  be performed at this time. The resource <ARN> is currently in the following state: 'Pending'. StateReasonCode:
  'Creating'".
- Reason codes: botocore's lambda model, enums StateReasonCode and LastUpdateStatusReasonCode.
"""

from __future__ import annotations

import asyncio
import os
from dataclasses import dataclass, replace
from pathlib import Path

from emulator.errors import UserError
from emulator.lambda_service.errors import LambdaApiError

PENDING, ACTIVE, FAILED = "Pending", "Active", "Failed"
IN_PROGRESS, SUCCESSFUL = "InProgress", "Successful"
CREATING_REASON = "The function is being created."
CREATING_CODE = "Creating"
# A file whose existence holds every preparation before it starts (tests make Pending observable with it; the
# states still come from the real preparation that runs once the file is gone).
HOLD_ENV = "LAMBDA_CANARY_HOLD_PREPARATION"
_HOLD_POLL_SECONDS = 0.05


@dataclass(frozen=True)
class FunctionState:
    """The state fields of one snapshot ($LATEST or a published version)."""

    state: str = ACTIVE
    reason: str | None = None
    reason_code: str | None = None
    last_update: str | None = SUCCESSFUL  # None while the function is being created
    last_update_reason: str | None = None
    last_update_reason_code: str | None = None

    @property
    def invocable(self) -> bool:
        """Can the snapshot be invoked (Active, whatever its last update did)?"""
        return self.state == ACTIVE

    @property
    def updating(self) -> bool:
        """Is an update in progress?"""
        return self.last_update == IN_PROGRESS

    def fields(self) -> dict[str, str]:
        """The FunctionConfiguration members, as AWS includes them (reasons only when there are some)."""
        out = {"State": self.state}
        if self.reason is not None:
            out["StateReason"] = self.reason
        if self.reason_code is not None:
            out["StateReasonCode"] = self.reason_code
        if self.last_update is not None:
            out["LastUpdateStatus"] = self.last_update
        if self.last_update_reason is not None:
            out["LastUpdateStatusReason"] = self.last_update_reason
        if self.last_update_reason_code is not None:
            out["LastUpdateStatusReasonCode"] = self.last_update_reason_code
        return out

    def to_dict(self) -> dict[str, str | None]:
        """JSON-ready form (state files)."""
        return {"state": self.state, "reason": self.reason, "reason_code": self.reason_code,
                "last_update": self.last_update, "last_update_reason": self.last_update_reason,
                "last_update_reason_code": self.last_update_reason_code}

    @classmethod
    def from_dict(cls, data: dict[str, str | None]) -> FunctionState:
        """Back from `to_dict`."""
        return cls(data.get("state") or ACTIVE, data.get("reason"), data.get("reason_code"), data.get("last_update"),
                   data.get("last_update_reason"), data.get("last_update_reason_code"))


# ---- transitions ------------------------------------------------------------------------------------------
def creating() -> FunctionState:
    """A new function (or a version published from code still being prepared)."""
    return FunctionState(PENDING, CREATING_REASON, CREATING_CODE, None)


def active() -> FunctionState:
    """Ready: Active, last update Successful, no reasons."""
    return FunctionState()


def updating(current: FunctionState) -> FunctionState:
    """An update of an active function: it stays Active (the previous snapshot serves) while the new one prepares."""
    return replace(current, last_update=IN_PROGRESS, last_update_reason=CREATING_REASON,
                   last_update_reason_code=CREATING_CODE)


def failed(current: FunctionState, code: str, reason: str) -> FunctionState:
    """Preparation failed: a function being created is Failed; an update is Failed and the previous one serves."""
    if current.state == PENDING:
        return FunctionState(FAILED, reason, code, "Failed", reason, code)
    return replace(current, last_update="Failed", last_update_reason=reason, last_update_reason_code=code)


def failure_code(error: BaseException) -> str:
    """The StateReasonCode of a failed preparation (botocore's enum), from what went wrong."""
    code = getattr(error, "reason_code", None)
    if isinstance(code, str):
        return code
    text = str(error)
    if "base image" in text and ("cannot be pulled" in text or "not present" in text):
        return "ImageAccessDenied"
    if "build" in text or "base image" in text:
        return "InvalidImage"
    if "runtime" in text and "not installed" in text:
        return "InvalidRuntime"
    if isinstance(error, UserError):
        return "InvalidConfiguration"
    return "InternalError"


# ---- conflicts ----------------------------------------------------------------------------------------------
def not_invocable(state: FunctionState) -> LambdaApiError:
    """Invoke of a snapshot that is not Active (AWS's troubleshooting-invocation.md)."""
    return LambdaApiError("ResourceConflictException", "The operation cannot be performed at this time. The "
                          f"function is currently in the following state: {state.state}", 409)


def update_in_progress(function_arn: str) -> LambdaApiError:
    """An update or PublishVersion while an update is in progress (AWS-recorded, see the module docstring)."""
    return LambdaApiError("ResourceConflictException", "The operation cannot be performed at this time. An update "
                          f"is in progress for resource: {function_arn}", 409)


def not_ready_for_change(function_arn: str, state: FunctionState) -> LambdaApiError:
    """An update or PublishVersion of a function that is still Pending."""
    return LambdaApiError("ResourceConflictException", "The operation cannot be performed at this time. The "
                          f"resource {function_arn} is currently in the following state: '{state.state}'. "
                          f"StateReasonCode: '{state.reason_code}'", 409)


def check_changeable(function_arn: str, state: FunctionState) -> None:
    """Raise AWS's conflict when an update or a publish cannot start now."""
    if state.state == PENDING:
        raise not_ready_for_change(function_arn, state)
    if state.updating:
        raise update_in_progress(function_arn)


# ---- the test hold ----------------------------------------------------------------------------------------------
async def hold_if_asked() -> None:
    """Wait while the file named by LAMBDA_CANARY_HOLD_PREPARATION exists (tests only; unset, no wait)."""
    hold = os.environ.get(HOLD_ENV)
    if not hold:
        return
    path = Path(hold)
    while path.exists():
        await asyncio.sleep(_HOLD_POLL_SECONDS)
