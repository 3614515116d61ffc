"""The interface every backend implements."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from emulator.lambda_service.model import FunctionVersion


@dataclass(frozen=True)
class LaunchRequest:
    """Everything a backend needs to start one runtime."""

    environment_id: str
    version: FunctionVersion
    runtime_api_address: str  # host:port as the runtime must reach it
    variables: Mapping[str, str]  # Lambda's environment variables plus the function's own
    on_log: Callable[[str], None]


@dataclass(frozen=True)
class MemorySample:
    """A runtime's resident memory: its own pages, and the pages it shares with others of the same binary."""

    private: int
    shared: int = 0
    shared_key: str = ""  # what the shared pages belong to (default: the runtime), counted once per key


class RunningRuntime(ABC):
    """A started runtime (a process or a container)."""

    out_of_memory = False  # set by wait() when it ended because it went over the function's memory
    peer_address: str | None = None  # the address its Runtime API requests come from, when the backend checks it

    @abstractmethod
    async def wait(self) -> str:
        """Wait until it stops; returns how it ended, e.g. `exit status 1` or `signal: killed`."""

    @abstractmethod
    def kill(self) -> None:
        """Stop it now (idempotent)."""

    def drain_logs(self) -> None:  # noqa: B027 - optional hook
        """Hand on every log line already written (called before END/REPORT)."""

    def max_memory_mb(self) -> int:
        """Peak memory so far, in MB (0 when unknown)."""
        return 0

    def memory_sample(self) -> MemorySample | None:
        """Resident memory now, for the warm budget (None when it cannot be measured)."""
        return None


class Backend(ABC):
    """Starts runtimes; tells where their Runtime API must listen."""

    name: str = "backend"
    # How an environment's Runtime API is kept private: "token" = a secret path prefix in
    # AWS_LAMBDA_RUNTIME_API (host:port/<token>), "peer" = only the runtime's own address may call it
    # (RunningRuntime.peer_address), "none" = not kept private (said at start).
    private_runtime_api: str = "token"

    @property
    def runtime_api_bind_host(self) -> str:
        """The local address each environment's Runtime API listens on."""
        return "127.0.0.1"

    def runtime_api_address(self, port: int) -> str:
        """`host:port` of a Runtime API listener, as the runtime sees it."""
        return f"127.0.0.1:{port}"

    def for_runtime(self, runtime: str) -> Backend:
        """The backend that runs `runtime` (itself; `auto` answers the one it chose for that runtime)."""
        return self

    @abstractmethod
    async def launch(self, request: LaunchRequest) -> RunningRuntime:
        """Start a runtime that will poll the Runtime API at `request.runtime_api_address`."""

    async def prepare(self, version: FunctionVersion) -> None:  # noqa: B027 - optional hook
        """Ready whatever a version needs before its first environment (images, binaries)."""

    async def load_errors(self, versions: list[FunctionVersion]) -> dict[int, dict[str, object]]:
        """Load each version's handler as an environment's init would, without invoking it: the init error
        (`errorType`, `errorMessage`) of each that fails, by index. Backends that cannot check cheaply answer
        nothing (the error then comes with the first invoke)."""
        return {}

    async def close(self) -> None:  # noqa: B027 - optional hook
        """Release everything the backend started."""
