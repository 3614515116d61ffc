"""One-line UserErrors for what goes wrong talking to AWS: credentials, permissions, unknown names."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from botocore.exceptions import (
    ClientError,
    EndpointConnectionError,
    NoCredentialsError,
    NoRegionError,
    PartialCredentialsError,
    ProfileNotFound,
    TokenRetrievalError,
)

from emulator.errors import UserError

ACCESS_DENIED = {"AccessDenied", "AccessDeniedException", "UnauthorizedOperation", "UnauthorizedException"}
BAD_CREDENTIALS = {"UnrecognizedClientException", "InvalidSignatureException", "ExpiredTokenException",
                   "ExpiredToken", "InvalidClientTokenId", "SignatureDoesNotMatch", "IncompleteSignature"}
# What botocore's standard retry mode treats as throttling (retried with exponential backoff).
THROTTLED = {"Throttling", "ThrottlingException", "ThrottledException", "RequestThrottledException",
             "TooManyRequestsException", "ProvisionedThroughputExceededException", "RequestLimitExceeded",
             "BandwidthLimitExceeded", "LimitExceededException", "RequestThrottled", "SlowDown"}
_PERFORM = re.compile(r"perform:\s*(?P<action>[\w-]+:[\w*-]+)(?:\s+on resource:\s*(?P<resource>\S+))?")
# IAM action names that differ from the Lambda operation names.
LAMBDA_ACTIONS = {"Invoke": "InvokeFunction", "ListVersionsByFunction": "ListVersionsByFunction"}

NO_CREDENTIALS = ("no AWS credentials found: set AWS_PROFILE (or pass --profile), or AWS_ACCESS_KEY_ID and "
                  "AWS_SECRET_ACCESS_KEY, or run `aws configure` / `aws sso login`")


@dataclass(frozen=True)
class Call:
    """The AWS operation a client was making: service (signing name), operation, HTTP method."""

    service: str
    operation: str
    http_method: str

    @property
    def permission(self) -> str:
        """The IAM action the call needs (API Gateway's actions are HTTP verbs)."""
        if self.service == "apigateway":
            return f"apigateway:{self.http_method}"
        if self.service == "lambda":
            return f"lambda:{LAMBDA_ACTIONS.get(self.operation, self.operation)}"
        return f"{self.service}:{self.operation}"


def explain(error: BaseException, call: Call | None = None) -> UserError | None:
    """The one-line UserError for a boto3/botocore failure, or None when it is not one we can explain."""
    if isinstance(error, UserError):
        return error
    if isinstance(error, NoCredentialsError | PartialCredentialsError):
        return UserError(NO_CREDENTIALS)
    if isinstance(error, TokenRetrievalError):
        return UserError(f"AWS credentials could not be refreshed ({error}); run `aws sso login` and retry")
    if isinstance(error, ProfileNotFound):
        return UserError(f"{error}; check --profile / AWS_PROFILE against `aws configure list-profiles`")
    if isinstance(error, NoRegionError):
        return UserError("no AWS region: pass --region, set AWS_REGION, or set `region` in the config")
    if isinstance(error, EndpointConnectionError):
        return UserError(f"cannot reach {error.kwargs.get('endpoint_url', 'the endpoint')}: is the endpoint right "
                         "(AWS_ENDPOINT_URL) and the service running?")
    if not isinstance(error, ClientError):
        return None
    info = error.response.get("Error", {})
    code = str(info.get("Code", ""))
    message = " ".join(str(info.get("Message", "") or error.response.get("message", "")).split())
    operation = error.operation_name
    status = error.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
    service = call.service if call and call.operation == operation else "AWS"
    if code in THROTTLED or (status == 429 and code not in BAD_CREDENTIALS):
        attempts = int(error.response.get("ResponseMetadata", {}).get("RetryAttempts", 0)) + 1
        return UserError(f"{service} {operation} was throttled ({code or 'HTTP 429'}: {message or 'rate exceeded'}) "
                         f"{attempts} time{'s' if attempts > 1 else ''}, retried with backoff; wait a minute and run "
                         "the command again (the account's request rate is shared by every caller in the region)")
    if code in ACCESS_DENIED or (status == 403 and code not in BAD_CREDENTIALS):
        found = _PERFORM.search(message)
        permission = found.group("action") if found else (call.permission if call else f"the {operation} action")
        resource = f" on {found.group('resource')}" if found and found.group("resource") else ""
        return UserError(f"access denied: {operation} needs the IAM permission {permission}{resource}; "
                         "grant it to the caller (or use a profile that has it)")
    if code in BAD_CREDENTIALS:
        return UserError(f"AWS rejected the credentials ({code}: {message}); check AWS_PROFILE / the access keys")
    return UserError(f"{service} {operation} failed: {code}: {message}".rstrip(": "))


def unknown_api(name: str, region: str, known: Iterable[str]) -> UserError:
    """No REST API of that name."""
    names = ", ".join(sorted(set(known))) or "none"
    return UserError(f"no REST API named {name!r} in {region} (APIs there: {names})")


def unknown_stage(api: str, stage: str, known: Iterable[str]) -> UserError:
    """No stage of that name on the API."""
    names = ", ".join(sorted(known)) or "none"
    return UserError(f"REST API {api!r} has no stage {stage!r} (stages: {names})")


class DeployFailed(UserError):
    """A deploy that stopped midway: what was done, what was not, and why."""

    def __init__(self, reason: str, completed: list[str], pending: list[str]) -> None:
        super().__init__(f"deploy stopped after {len(completed)} of {len(completed) + len(pending)} changes: "
                         f"{reason}; run deploy again to finish (it picks up where it stopped)")
        self.reason = reason
        self.completed = completed
        self.pending = pending
