"""What an invocation runs and what it returns: immutable function versions and invocation records."""

from __future__ import annotations

import asyncio
import base64
import binascii
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from emulator.runtimes.catalogue import RuntimeSpec

MAX_SYNC_PAYLOAD = 6 * 1024 * 1024 + 100  # 6,291,556 bytes (reference §4.5)

CLIENT_CONTEXT_ERROR = "Client context must be a valid Base64-encoded JSON object."


def decode_client_context(value: str) -> str:
    """Invoke's ClientContext (base64 of a JSON object) as the runtime gets it in `Lambda-Runtime-Client-Context`:
    the object re-encoded compact and ASCII-only, so no CR, LF or non-Latin-1 character the caller sent can reach
    that header line. ValueError with Lambda's message when it is not base64 of a JSON object."""
    try:
        parsed = json.loads(base64.b64decode(value, validate=True).decode())
    except (binascii.Error, UnicodeDecodeError, ValueError, RecursionError):
        raise ValueError(CLIENT_CONTEXT_ERROR) from None
    if not isinstance(parsed, dict):
        raise ValueError(CLIENT_CONTEXT_ERROR)
    return json.dumps(parsed, separators=(",", ":"))


@dataclass(frozen=True)
class FunctionVersion:
    """A runnable snapshot of a function: `$LATEST` or a published version. Never mutated."""

    function_name: str
    version: str
    runtime: RuntimeSpec
    handler: str
    code_dir: Path
    memory_size: int
    timeout: int
    environment: Mapping[str, str]
    region: str
    account_id: str
    code_sha256: str
    description: str = ""
    revision: int = 0

    @property
    def function_arn(self) -> str:
        """Unqualified function ARN."""
        return f"arn:aws:lambda:{self.region}:{self.account_id}:function:{self.function_name}"

    @property
    def version_arn(self) -> str:
        """ARN qualified with this version."""
        return f"{self.function_arn}:{self.version}"

    @property
    def pool_key(self) -> tuple[str, str, int]:
        """Environments are shared only by identical snapshots."""
        return (self.function_name, self.version, self.revision)


@dataclass(frozen=True)
class InvocationResult:
    """What Invoke returns: the payload and, for a failed run, `X-Amz-Function-Error`."""

    request_id: str
    payload: bytes
    executed_version: str
    function_error: str | None = None
    duration_ms: float = 0.0
    init_duration_ms: float | None = None
    runtime: str = ""

    @property
    def error_payload(self) -> dict[str, object] | None:
        """The error JSON of a failed invocation."""
        if self.function_error is None:
            return None
        try:
            value = json.loads(self.payload)
        except ValueError:
            return {"errorMessage": self.payload.decode("utf-8", "replace")}
        return value if isinstance(value, dict) else {"errorMessage": str(value)}


@dataclass
class Invocation:
    """One invocation in flight on an environment."""

    request_id: str
    payload: bytes
    invoked_arn: str
    trace_id: str
    deadline_ms: int = 0
    client_context: str | None = None
    started_at: float = 0.0
    status: str | None = None  # "timeout" when Lambda's timeout ended it
    result: asyncio.Future[tuple[bytes, str | None]] = field(
        default_factory=lambda: asyncio.get_running_loop().create_future())

    def finish(self, payload: bytes, function_error: str | None = None) -> bool:
        """Record the outcome once; later outcomes are ignored."""
        if self.result.done():
            return False
        self.result.set_result((payload, function_error))
        return True


def error_json(error_type: str, message: str) -> bytes:
    """A Lambda error payload."""
    return json.dumps({"errorType": error_type, "errorMessage": message}).encode()
