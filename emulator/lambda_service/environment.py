"""An execution environment: one runtime serving one invocation at a time through its Runtime API."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import secrets
import time
from collections.abc import Mapping, Sequence

from emulator import ids
from emulator.lambda_service import logs, runtime_api
from emulator.lambda_service.backends.base import Backend, LaunchRequest, MemorySample, RunningRuntime
from emulator.lambda_service.model import FunctionVersion, Invocation, InvocationResult, error_json

INIT_TIMEOUT_S = 10.0


def lambda_variables(version: FunctionVersion, runtime_api_address: str, log_stream: str) -> dict[str, str]:
    """The reserved and default variables Lambda sets (reference §6.4), then the function's own."""
    variables = dict(version.environment)
    variables.update({
        "_HANDLER": version.handler,
        "AWS_REGION": version.region,
        "AWS_DEFAULT_REGION": version.region,
        "AWS_EXECUTION_ENV": version.runtime.execution_env,
        "AWS_LAMBDA_FUNCTION_NAME": version.function_name,
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(version.memory_size),
        "AWS_LAMBDA_FUNCTION_VERSION": version.version,
        "AWS_LAMBDA_INITIALIZATION_TYPE": "on-demand",
        "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{version.function_name}",
        "AWS_LAMBDA_LOG_STREAM_NAME": log_stream,
        "AWS_LAMBDA_RUNTIME_API": runtime_api_address,
        "AWS_XRAY_CONTEXT_MISSING": "LOG_ERROR",
        "LANG": "en_US.UTF-8",
        "TZ": ":UTC",
    })
    for name, value in version.environment.items():  # unreserved ones the function may override
        if name in ("LANG", "TZ", "AWS_XRAY_CONTEXT_MISSING"):
            variables[name] = value
    return variables


def new_trace_id() -> str:
    """An X-Ray trace header value."""
    return f"{ids.trace_root()};Parent={ids.hex_token(8)};Sampled=0"


class EnvironmentGone(Exception):
    """The environment's runtime exited before it asked for the invocation: run it on another environment."""


class ExecutionEnvironment:
    """One sandbox: its runtime (process or container) and its own Runtime API listener."""

    def __init__(self, version: FunctionVersion, backend: Backend, sink: logs.LogSink | None,
                 extra_variables: Mapping[str, str] | None = None, *,
                 line_observers: Sequence[logs.LineObserver] = (), started_for: str = "") -> None:
        self.id = ids.hex_token(16)
        self._line_observers = line_observers
        self._started_for = started_for
        self.version = version
        self._backend = backend
        self._sink = sink
        self._extra_variables = dict(extra_variables or {})
        self._server: runtime_api.RuntimeApiServer | None = None
        self._runtime: RunningRuntime | None = None
        self._waiter: asyncio.Future[Invocation] | None = None
        self._queued: Invocation | None = None
        self._current: Invocation | None = None
        self._ready: asyncio.Future[bytes | None] | None = None  # None = init ok, bytes = init error
        self._watch: asyncio.Task[None] | None = None
        self._peer: asyncio.Future[str | None] | None = None  # the runtime's address, on "peer" backends
        self._exit_error: tuple[str, str] | None = None  # (errorType, errorMessage) of a runtime exit
        self._polled: asyncio.Future[bool] | None = None  # True once the runtime asks for the next event
        self.alive = False
        self.busy = False
        self.last_used = time.monotonic()
        self.init_duration_ms: float | None = None
        self._cold = True

    # ---- lifecycle -----------------------------------------------------------------------
    async def start(self) -> bytes | None:
        """Start the runtime and wait for it to be ready; returns the init error payload, if any."""
        loop = asyncio.get_running_loop()
        self._ready = loop.create_future()
        privacy = self._backend.private_runtime_api
        secret = secrets.token_urlsafe(24) if privacy == "token" else ""
        admits = None
        if privacy == "peer":
            self._peer = loop.create_future()
            admits = self._admits
        self._server, port = await runtime_api.listen(self, self._backend.runtime_api_bind_host, secret, admits)
        address = self._backend.runtime_api_address(port) + (f"/{secret}" if secret else "")
        today = dt.datetime.now(dt.UTC).strftime("%Y/%m/%d")
        variables = lambda_variables(self.version, address, f"{today}/[{self.version.version}]{self.id}")
        variables.update(self._extra_variables)
        started = time.perf_counter()
        self.alive = True
        try:
            self._runtime = await self._backend.launch(LaunchRequest(
                self.id, self.version, address, variables, self._log))
        except BaseException:
            if self._peer is not None and not self._peer.done():
                self._peer.set_result(None)
            await self.close()
            raise
        if self._peer is not None:
            self._peer.set_result(self._runtime.peer_address)
        self._watch = loop.create_task(self._watch_exit())
        try:
            init_error = await asyncio.wait_for(asyncio.shield(self._ready), INIT_TIMEOUT_S)
        except TimeoutError:
            init_error = error_json("Runtime.InitTimeout",
                                    f"INIT_REPORT Init Duration: {INIT_TIMEOUT_S * 1000:.2f} ms Phase: init "
                                    "Status: timeout")
        self.init_duration_ms = (time.perf_counter() - started) * 1000
        if init_error is not None:
            await self.close()
        return init_error

    async def _watch_exit(self) -> None:
        assert self._runtime is not None
        how = await self._runtime.wait()
        self._runtime.drain_logs()
        self.alive = False
        # Over memorySize: Lambda's Runtime.OutOfMemory, same message as an exit (seen in the wild:
        # adobe/helix-html2md-service#1001 `{"errorType":"Runtime.OutOfMemory","errorMessage":"RequestId: <id>
        # Error: Runtime exited with error: signal: killed"}`; REPORT `Error Type: Runtime.OutOfMemory`,
        # nasa-gcn/gcn.nasa.gov#3628).
        error_type = "Runtime.OutOfMemory" if self._runtime.out_of_memory else "Runtime.ExitError"
        if self._ready is not None and not self._ready.done():
            self._ready.set_result(error_json(error_type, f"Runtime exited with error: {how}"))
        current = self._current
        if current is not None and not current.result.done():
            message = f"RequestId: {current.request_id} Error: Runtime exited with error: {how}"
            self._exit_error = (error_type, message)
            current.finish(error_json(error_type, message), "Unhandled")
        if self._waiter is not None and not self._waiter.done():
            self._waiter.cancel()
        if self._polled is not None and not self._polled.done():
            self._polled.set_result(False)

    async def close(self) -> None:
        """Stop the runtime and the Runtime API listener."""
        self.alive = False
        if self._runtime is not None:
            self._runtime.kill()
        if self._watch is not None:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.shield(self._watch), 10)
        if self._server is not None:
            self._server.close()
            self._server = None

    async def _admits(self, remote: str | None) -> bool:
        """Is a Runtime API request from the runtime's own address (once the backend told it)?"""
        assert self._peer is not None
        expected = await asyncio.shield(self._peer)
        return expected is not None and remote == expected

    def max_memory_mb(self) -> int:
        """The runtime's peak memory so far (0 when unknown or stopped)."""
        return self._runtime.max_memory_mb() if self._runtime is not None and self.alive else 0

    def memory_sample(self) -> MemorySample | None:
        """Resident memory now (None while it starts); its MemorySize where the backend cannot measure."""
        if self._runtime is None or not self.alive:
            return None
        reading = self._runtime.memory_sample()
        return reading if reading is not None else MemorySample(self.version.memory_size * 1024 * 1024)

    def _log(self, line: str) -> None:
        if self._sink is not None:
            self._sink(self.version.function_name, line)
        for observer in self._line_observers:
            observer(self.id, self._started_for, line)

    # ---- invoke --------------------------------------------------------------------------
    async def invoke(self, invocation: Invocation, *, warm: bool = False) -> InvocationResult:
        """Run one invocation; a timeout or a crash ends this environment. `warm` (it answered before): its runtime
        may still be finishing; EnvironmentGone when it exits before asking for the invocation (as a client does
        that posts an error, then exits): Lambda then runs the invocation on a new environment, so the pool does."""
        version = self.version
        waited = 0.0
        if warm and not (self._waiter is not None and not self._waiter.done()):
            if not self.alive:
                raise EnvironmentGone(self.id)
            self._polled = asyncio.get_running_loop().create_future()
            began = time.monotonic()
            try:  # a runtime still busy after its last answer: the function's timeout counts from now
                polled = await asyncio.wait_for(asyncio.shield(self._polled), version.timeout)
            except TimeoutError:
                polled = True
            if not polled:
                raise EnvironmentGone(self.id)
            waited = time.monotonic() - began
        self.busy = True
        self._current = invocation
        invocation.deadline_ms = int(time.time() * 1000) + version.timeout * 1000
        invocation.started_at = time.perf_counter()
        if self._sink is not None or self._line_observers:
            self._log(logs.start_line(invocation.request_id, version.version))
        waiter, self._waiter = self._waiter, None
        if waiter is not None and not waiter.done():
            waiter.set_result(invocation)
        else:
            self._queued = invocation
        loop = asyncio.get_running_loop()
        timer = loop.call_later(max(0.0, version.timeout - waited), self._time_out, invocation)
        try:
            payload, function_error = await invocation.result
        finally:
            timer.cancel()
            self.busy = False
            self._current = None
            self.last_used = time.monotonic()
        duration_ms = (time.perf_counter() - invocation.started_at) * 1000
        init = self.init_duration_ms if self._cold else None
        self._cold = False
        if self._sink is not None or self._line_observers:  # the platform lines, after every line the function wrote
            if self._runtime is not None:
                self._runtime.drain_logs()
            status = invocation.status or (None if self.alive else "error")
            self._log(logs.end_line(invocation.request_id))
            memory = self._runtime.max_memory_mb() if self._runtime is not None else 0
            exit_error = self._exit_error
            self._log(logs.report_line(invocation.request_id, duration_ms, version.memory_size, memory, init, status,
                                       exit_error[0] if exit_error else None))
            if exit_error is not None:  # Lambda then logs the exit and its type (aws/aws-lambda-dotnet#480)
                self._log(exit_error[1])
                self._log(exit_error[0])
        return InvocationResult(invocation.request_id, payload, version.version, function_error,
                                duration_ms, init, version.runtime.name)

    def _time_out(self, invocation: Invocation) -> None:
        if invocation.result.done():
            return
        self._log(logs.timeout_line(invocation.request_id, self.version.timeout))
        message = f"RequestId: {invocation.request_id} Error: Task timed out after {self.version.timeout:.2f} seconds"
        invocation.status = "timeout"
        invocation.finish(error_json("Sandbox.Timedout", message), "Unhandled")
        self.alive = False
        if self._runtime is not None:
            self._runtime.kill()

    # ---- RuntimeApiPeer ------------------------------------------------------------------
    def next_invocation(self) -> asyncio.Future[Invocation]:
        """Called by `GET /next`: marks init done; the future holds the next invocation (cancelled when the
        runtime exits or its connection drops while it waits)."""
        if self._ready is not None and not self._ready.done():
            self._ready.set_result(None)
        waiter: asyncio.Future[Invocation] = asyncio.get_running_loop().create_future()
        if self._polled is not None and not self._polled.done():
            self._polled.set_result(True)
        if self._queued is not None:
            invocation, self._queued = self._queued, None
            waiter.set_result(invocation)
        else:
            self._waiter = waiter
        return waiter

    def current_invocation(self, request_id: str) -> Invocation | None:
        """The invocation in flight, if `request_id` names it."""
        current = self._current
        return current if current is not None and current.request_id == request_id else None

    def report_init_error(self, payload: bytes) -> bool:
        """`POST /runtime/init/error`; False once the init phase is over (the Runtime API answers 403)."""
        if self._ready is None or self._ready.done():
            return False
        self._ready.set_result(payload)
        return True

    def report_response(self, invocation: Invocation, payload: bytes) -> None:
        """`POST /invocation/{id}/response`."""
        invocation.finish(payload)

    def report_error(self, invocation: Invocation, payload: bytes) -> None:
        """`POST /invocation/{id}/error`."""
        invocation.finish(payload, "Unhandled")
