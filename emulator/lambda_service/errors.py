"""Errors the Lambda API itself answers (not function errors): AWS's types, messages and status codes."""

from __future__ import annotations


class LambdaApiError(Exception):
    """An error response of the Lambda API, e.g. ResourceNotFoundException (404)."""

    def __init__(self, code: str, message: str, status: int = 400, **extra: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status
        self.extra = extra

    def body(self) -> dict[str, str]:
        """The JSON body AWS sends with this error."""
        return {"Type": "User", "Message": self.message, **self.extra}


def function_not_found(arn: str) -> LambdaApiError:
    """ResourceNotFoundException for a function, version or alias that does not exist."""
    return LambdaApiError("ResourceNotFoundException", f"Function not found: {arn}", 404)


def throttled(reserved: bool) -> LambdaApiError:
    """TooManyRequestsException as Lambda answers when concurrency runs out."""
    reason = "ReservedFunctionConcurrentInvocationLimitExceeded" if reserved else "ConcurrentInvocationLimitExceeded"
    return LambdaApiError("TooManyRequestsException", "Rate Exceeded.", 429, Reason=reason)


def validation_error(value: object, member: str, constraint: str) -> LambdaApiError:
    """ValidationException as Lambda words a request member outside its model's constraint."""
    return LambdaApiError("ValidationException", f"1 validation error detected: Value '{value}' at '{member}' failed "
                          f"to satisfy constraint: {constraint}")


INVOCATION_TYPES = ("Event", "RequestResponse", "DryRun")


def check_invocation_type(value: str | None) -> str:
    """Invoke's InvocationType (the X-Amz-Invocation-Type header): RequestResponse when absent or empty; a value
    outside botocore's enum (lambda 2015-03-31 InvocationType: Event, RequestResponse, DryRun, case-sensitive) is
    Lambda's 400 ValidationException."""
    kind = (value or "").strip() or "RequestResponse"
    if kind not in INVOCATION_TYPES:
        raise validation_error(kind, "invocationType",
                               f"Member must satisfy enum value set: [{', '.join(INVOCATION_TYPES)}]")
    return kind
