"""Environment pools: warm reuse per function version, scale-out under load, reaping and replacement, and the
memory budget all pools share (idle environments stopped least recently used first)."""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Mapping, Sequence

from emulator.lambda_service.backends.base import Backend
from emulator.lambda_service.budget import WarmBudget
from emulator.lambda_service.environment import EnvironmentGone, ExecutionEnvironment
from emulator.lambda_service.errors import throttled
from emulator.lambda_service.logs import LineObserver, LogSink, init_report_line
from emulator.lambda_service.model import FunctionVersion, Invocation, InvocationResult


class ConcurrencyLimiter:
    """Account-wide (and per-function reserved) concurrency, as Lambda counts it."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.in_use = 0


HOT_S = 2.0  # an idle environment used this recently is not stopped for another function's scale-out
SCALE_OUT_AFTER_S = 0.03  # with room in the budget, how long a request waits for a busy environment to finish


def _expire(waiter: asyncio.Future[ExecutionEnvironment | None]) -> None:
    if not waiter.done():
        waiter.set_result(None)


class PoolSet:
    """Every pool of a service under one memory budget."""

    def __init__(self, budget: WarmBudget | None) -> None:
        self.budget = budget
        self.pools: set[EnvironmentPool] = set()

    def environments(self) -> list[ExecutionEnvironment]:
        """Every live (idle, busy or starting) environment."""
        return [environment for pool in self.pools for environment in pool.environments]

    def admit(self, pool: EnvironmentPool) -> bool:
        """May `pool` start one more environment? Over the budget, idle environments of any function are stopped
        least recently used first. A function with environments (all busy) stops none that ran in the last HOT_S
        seconds: its request waits for its own (False) rather than take another function's warm one. A function
        with none always gets one, over the budget if every other environment is busy."""
        budget = self.budget
        if budget is None:
            return True
        needed = budget.used(self.environments()) + budget.estimate(pool.version.memory_size) - budget.limit
        if needed <= 0:
            return True
        cutoff = time.monotonic() - HOT_S if pool.size else None
        idle = sorted(((environment.last_used, id(environment), environment, owner) for owner in self.pools
                       for environment in owner.idle_environments
                       if cutoff is None or environment.last_used < cutoff), key=lambda entry: entry[:2])
        for _, _, environment, owner in idle:
            if needed <= 0:
                break
            needed -= budget.sample(environment).private
            owner.evict(environment)
        return needed <= 0 or not pool.size

    def trim(self) -> int:
        """Stop idle environments, least recently used first, until the warm ones fit the budget."""
        budget = self.budget
        if budget is None:
            return 0
        over = budget.used(self.environments()) - budget.limit
        stopped = 0
        idle = sorted((environment.last_used, id(environment), environment, owner) for owner in self.pools
                      for environment in owner.idle_environments)
        for _, _, environment, owner in idle:
            if over <= 0:
                break
            over -= budget.sample(environment).private
            owner.evict(environment)
            stopped += 1
        return stopped


class EnvironmentPool:
    """The environments of one function version; each serves one invocation at a time."""

    def __init__(self, version: FunctionVersion, backend: Backend, sink: LogSink | None, account: ConcurrencyLimiter,
                 reserved: int | None = None, extra_variables: Mapping[str, str] | None = None,
                 pools: PoolSet | None = None, *, line_observers: Sequence[LineObserver] = ()) -> None:
        self.version = version
        self._line_observers = line_observers
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
        self._waiters: deque[asyncio.Future[ExecutionEnvironment | None]] = deque()  # requests waiting (budget)
        self._pools = pools
        self.evicted = 0  # environments stopped to keep the warm ones under the memory budget
        if pools is not None:
            pools.pools.add(self)

    @property
    def size(self) -> int:
        """Environments alive now."""
        return len(self._all)

    @property
    def waiting(self) -> int:
        """Requests queued behind a busy environment of this pool (rather than starting another)."""
        return sum(not waiter.done() for waiter in self._waiters)

    @property
    def environments(self) -> list[ExecutionEnvironment]:
        """Environments alive now (idle, busy or starting)."""
        return list(self._all)

    @property
    def idle_environments(self) -> list[ExecutionEnvironment]:
        """Warm environments waiting for an invocation."""
        return list(self._idle)

    def evict(self, environment: ExecutionEnvironment) -> None:
        """Stop an idle environment to make room (never a busy one: those are not in the idle list)."""
        self._idle.remove(environment)
        self._all.discard(environment)
        self.evicted += 1
        self._stop(environment)

    def _forget(self, environment: ExecutionEnvironment) -> None:
        if self._pools is not None and self._pools.budget is not None:
            self._pools.budget.forget(environment)

    def _stop(self, environment: ExecutionEnvironment) -> None:
        self._forget(environment)
        asyncio.get_running_loop().create_task(environment.close())

    async def _environment(self) -> ExecutionEnvironment | None:
        """An idle environment, or one a finishing request hands over; None: start a new one (scale out).

        A request that finds every environment of its function busy waits for one to finish, while the budget has
        room, only when fewer requests wait than the function has environments, and for at most SCALE_OUT_AFTER_S;
        otherwise it scales out, as Lambda would at once (a warm environment usually frees in well under a
        millisecond, a new one costs a cold start and its memory). With no room, it waits as long as it takes."""
        loop = asyncio.get_running_loop()
        waited = False
        while True:
            environment = self._take_idle()
            if environment is not None:
                return environment
            if not self._all or self._closing:  # nothing to wait for: the first environment always starts
                if self._pools is not None:
                    self._pools.admit(self)
                return None
            room = self._pools is None or self._pools.admit(self)
            if room and (waited or self.waiting >= len(self._all)):
                return None
            waiter: asyncio.Future[ExecutionEnvironment | None] = loop.create_future()
            self._waiters.append(waiter)
            timer = loop.call_later(SCALE_OUT_AFTER_S, _expire, waiter) if room else None
            try:
                environment = await waiter
            except asyncio.CancelledError:
                if waiter.done() and not waiter.cancelled() and waiter.result() is not None:
                    self._give_back(waiter.result())  # type: ignore[arg-type]
                raise
            finally:
                if timer is not None:
                    timer.cancel()
                if waiter in self._waiters:
                    self._waiters.remove(waiter)
            if environment is not None and environment.alive:
                return environment
            waited = True

    def _give_back(self, environment: ExecutionEnvironment) -> None:
        """A finished environment: to the first waiting request, else to the idle list; a dead one is stopped."""
        if environment.alive and not self._closing:
            while self._waiters:
                waiter = self._waiters.popleft()
                if not waiter.done():
                    waiter.set_result(environment)
                    return
            self._idle.append(environment)
            return
        self._drop(environment)
        self._stop(environment)

    def _drop(self, environment: ExecutionEnvironment) -> None:
        """Forget an environment that ended; a waiting request then starts its own (or waits for the next)."""
        self._all.discard(environment)
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)
                return

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
        """Run on a warm environment if one is idle, else on a new one (a cold start); a warm one whose runtime
        exited after its last answer gives way to another."""
        self._admit()
        try:
            while True:
                try:
                    return await self._invoke_once(invocation)
                except EnvironmentGone:
                    continue
        finally:
            self._release()

    async def _invoke_once(self, invocation: Invocation) -> InvocationResult:
        environment = self._take_idle() or await self._environment()  # a warm one at hand: no coroutine to run
        warm = environment is not None
        if environment is None:
            environment = ExecutionEnvironment(self.version, self._backend, self._sink, self._extra_variables,
                                               line_observers=self._line_observers, started_for=invocation.request_id)
            self._all.add(environment)
            self.started += 1
            try:
                init_error = await environment.start()
            except BaseException:
                self._drop(environment)
                raise
            if init_error is not None:
                self._drop(environment)
                line = init_report_line(environment.init_duration_ms, init_error)
                if self._sink is not None:
                    self._sink(self.version.function_name, line)
                for observer in self._line_observers:
                    observer(environment.id, invocation.request_id, line)
                return InvocationResult(invocation.request_id, init_error, self.version.version, "Unhandled",
                                        0.0, environment.init_duration_ms, self.version.runtime.name)
        try:
            return await environment.invoke(invocation, warm=warm)
        finally:
            self._give_back(environment)

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
            self._forget(environment)
        return None

    async def reap(self, idle_seconds: float) -> int:
        """Stop environments idle for longer than `idle_seconds`; returns how many."""
        cutoff = time.monotonic() - idle_seconds
        stale = [env for env in self._idle if env.last_used < cutoff or not env.alive]
        for environment in stale:
            self._idle.remove(environment)
            self._all.discard(environment)
            self._forget(environment)
        await asyncio.gather(*(environment.close() for environment in stale))
        return len(stale)

    async def close(self) -> None:
        """Stop every environment."""
        self._closing = True
        if self._pools is not None:
            self._pools.pools.discard(self)
        for waiter in self._waiters:
            if not waiter.done():
                waiter.set_result(None)
        environments = list(self._all)
        for environment in environments:
            self._forget(environment)
        self._idle.clear()
        self._all.clear()
        await asyncio.gather(*(environment.close() for environment in environments), return_exceptions=True)
