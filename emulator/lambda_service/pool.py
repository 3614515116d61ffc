"""Environment pools: warm reuse per function version, scale-out under load, reaping and replacement."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping

from emulator.lambda_service.backends.base import Backend
from emulator.lambda_service.environment import ExecutionEnvironment
from emulator.lambda_service.errors import throttled
from emulator.lambda_service.logs import LogSink, init_report_line
from emulator.lambda_service.model import FunctionVersion, Invocation, InvocationResult


class ConcurrencyLimiter:
    """Account-wide (and per-function reserved) concurrency, as Lambda counts it."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.in_use = 0


class EnvironmentPool:
    """The environments of one function version; each serves one invocation at a time."""

    def __init__(self, version: FunctionVersion, backend: Backend, sink: LogSink | None, account: ConcurrencyLimiter,
                 reserved: int | None = None, extra_variables: Mapping[str, str] | None = None) -> None:
        self.version = version
        self._backend = backend
        self._sink = sink
        self._account = account
        self._reserved = reserved
        self._extra_variables = extra_variables
        self._idle: list[ExecutionEnvironment] = []
        self._all: set[ExecutionEnvironment] = set()
        self._in_flight = 0
        self.started = 0  # environments started so far (cold starts)
        self.peak_memory_mb = 0  # Max Memory Used over the environments seen by `max_memory_mb`
        self._closing = False

    @property
    def size(self) -> int:
        """Environments alive now."""
        return len(self._all)

    def _admit(self) -> None:
        if self._reserved is not None and self._in_flight >= self._reserved:
            raise throttled(reserved=True)
        if self._account.in_use >= self._account.limit:
            raise throttled(reserved=False)
        self._in_flight += 1
        self._account.in_use += 1

    def _release(self) -> None:
        self._in_flight -= 1
        self._account.in_use -= 1

    async def invoke(self, invocation: Invocation) -> InvocationResult:
        """Run on a warm environment if one is idle, else on a new one (a cold start)."""
        self._admit()
        try:
            environment = self._take_idle()
            if environment is None:
                environment = ExecutionEnvironment(self.version, self._backend, self._sink, self._extra_variables)
                self._all.add(environment)
                self.started += 1
                try:
                    init_error = await environment.start()
                except BaseException:
                    self._all.discard(environment)
                    raise
                if init_error is not None:
                    self._all.discard(environment)
                    if self._sink is not None:
                        self._sink(self.version.function_name,
                                   init_report_line(environment.init_duration_ms, init_error))
                    return InvocationResult(invocation.request_id, init_error, self.version.version, "Unhandled",
                                            0.0, environment.init_duration_ms, self.version.runtime.name)
            try:
                return await environment.invoke(invocation)
            finally:
                if environment.alive and not self._closing:
                    self._idle.append(environment)
                else:
                    self._all.discard(environment)
                    asyncio.get_running_loop().create_task(environment.close())
        finally:
            self._release()

    def max_memory_mb(self) -> int:
        """Max Memory Used: the peak of the live environments, and of those seen by earlier calls."""
        for environment in list(self._all):
            self.peak_memory_mb = max(self.peak_memory_mb, environment.max_memory_mb())
        return self.peak_memory_mb

    def _take_idle(self) -> ExecutionEnvironment | None:
        while self._idle:
            environment = self._idle.pop()  # most recently used first, as Lambda does
            if environment.alive:
                return environment
            self._all.discard(environment)
        return None

    async def reap(self, idle_seconds: float) -> int:
        """Stop environments idle for longer than `idle_seconds`; returns how many."""
        cutoff = time.monotonic() - idle_seconds
        stale = [env for env in self._idle if env.last_used < cutoff or not env.alive]
        for environment in stale:
            self._idle.remove(environment)
            self._all.discard(environment)
        await asyncio.gather(*(environment.close() for environment in stale))
        return len(stale)

    async def close(self) -> None:
        """Stop every environment."""
        self._closing = True
        environments = list(self._all)
        self._idle.clear()
        self._all.clear()
        await asyncio.gather(*(environment.close() for environment in environments), return_exceptions=True)
