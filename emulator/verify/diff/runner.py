"""Run the two sides of a migration and send each request to both, deterministically.

Each side is a stack of its own built from the same config. The base side always takes the primary route (the
stage's base variant, the alias's primary version); the canary side always takes the other one (the canary variant
with its overrides, the alias's additional version): their choices are pinned, never drawn. With `runtimes`,
both sides take the primary route and every function runs on the side's runtime (one copy per runtime).
Requests go to each side `concurrency` at a time. Each carries an X-Amzn-Trace-Id of its own (the same on both sides),
which API Gateway passes to the invocations it causes, so each invocation is paired with its request whatever the
order; each environment's lines arrive in order and it runs one invocation at a time, so each line goes to the
invocation (hence request) it belongs to. The report keeps the requests' order.
"""

from __future__ import annotations

import asyncio
import random
import re
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

import aiohttp
from yarl import URL

from emulator.config import LoadedConfig
from emulator.errors import UserError
from emulator.lambda_service.model import Invocation, InvocationResult
from emulator.lambda_service.service import Resolved
from emulator.runtimes.catalogue import get_runtime
from emulator.stack import Stack, StackOptions
from emulator.verify.chain import Route, chain_routes, find_stage
from emulator.verify.diff import DEFAULT_CONCURRENCY
from emulator.verify.diff.compare import Observation
from emulator.verify.diff.corpus import DiffRequest

_ALMOST_ONE = 1.0 - 2.0**-53  # the largest value random() returns: no weight or percent below 100 picks it
_START = re.compile(r"^START RequestId: (\S+)")
_CONSOLE_ID = re.compile(r"^\d{4}-\d\d-\d\dT[\d:.]+Z\t([0-9a-f-]{36})\t")
STRAGGLERS_S = 0.05  # time for lines written after the last response to arrive


class PinnedChoice(random.Random):
    """A `random.Random` whose draws are always the same value: 0.0 takes every canary and additional version,
    the largest draw takes none."""

    def __init__(self, value: float) -> None:
        super().__init__(0)
        self.value = value

    def random(self) -> float:
        return self.value


@dataclass(frozen=True)
class Side:
    """One side of the comparison."""

    name: str
    canary: bool = False  # pin the stage's canary and the alias's additional version
    runtime: str | None = None  # run every function on this runtime
    description: str = ""


def plan_sides(loaded: LoadedConfig, stage: str | None, paths: list[str], runtimes: tuple[str, str] | None,
               backend: str | None) -> tuple[str, Side, Side]:
    """The stage and the two sides: `runtimes`, else what differs in the stage's chain for the requests' paths."""
    probe = Stack(loaded, StackOptions(port=0, backend=backend, access_log=False, function_logs=False),
                  log=lambda line: None)
    api, stage_name = find_stage(probe.state, stage, str(loaded.path))
    routes = [route for path in paths for route in chain_routes(api, stage_name, probe.lambdas, path)]
    base_routes = [route for route in routes if route.variant == "base" and not route.extra]
    if runtimes is not None:
        for name in runtimes:
            get_runtime(name)
        described = _describe(base_routes)
        return stage_name, Side(runtimes[0], runtime=runtimes[0], description=f"{described} on {runtimes[0]}"), \
            Side(runtimes[1], runtime=runtimes[1], description=f"{described} on {runtimes[1]}")
    has_canary = any(route.variant == "canary" for route in routes)
    has_extra = any(route.extra for route in routes)
    if not has_canary and not has_extra:
        raise UserError(f"{loaded.path}: stage {stage_name}: nothing differs between requests (no canary, no weighted "
                        f"alias: every request goes to {_describe(routes)}); compare runtimes with "
                        "--runtimes nodejs18.x,nodejs22.x")
    variant = "canary" if has_canary else "base"
    canary_routes = [route for route in routes
                     if route.variant == variant and (route.extra or not route.alias_weighted)]
    return stage_name, Side("base", description=_describe(base_routes)), \
        Side("canary", canary=True, description=_describe(canary_routes))


def _describe(routes: list[Route]) -> str:
    seen = []
    for route in routes:
        if route.function is None:
            text = f"{route.variant}: no Lambda function"
        else:
            target = route.function + (f":{route.qualifier}" if route.qualifier else "")
            version = f" v{route.version}" if route.version and route.version != route.qualifier else ""
            text = f"{route.variant} -> {target}{version} ({route.runtime})"
        if text not in seen:
            seen.append(text)
    return ", ".join(seen) or "-"


class SideRunner:
    """A side's stack, pinned to its route, and what it did for each request."""

    def __init__(self, side: Side, loaded: LoadedConfig, stage: str, backend: str | None,
                 docker_options: dict[str, object] | None = None, runtime_client: str = "lambda-canary") -> None:
        self.side = side
        self.stage = stage
        options = StackOptions(port=0, backend=backend, access_log=False, function_logs=False,
                               docker_options=docker_options, runtime_client=runtime_client)
        self.stack = Stack(loaded, options, log=lambda line: None)
        if side.runtime is not None:
            _run_everything_on(self.stack, side.runtime)
        draw = 0.0 if side.canary else _ALMOST_ONE
        self.stack.gateway.rng = PinnedChoice(draw)
        self.stack.lambdas._rng = PinnedChoice(draw)  # the weighted alias's draw (LambdaService.resolve)
        self.stack.lambdas.invocation_observers.append(self._invoked)
        self.stack.lambdas.line_observers.append(self._line)
        self.observations: list[Observation] = []
        self._traces: dict[str, int] = {}  # trace id -> index of the request that carries it
        self._owners: dict[str, int] = {}  # Lambda request id -> index of the request that caused it
        self._invoked_by: dict[int, list[tuple[Resolved, InvocationResult]]] = {}
        self._lines: dict[str, list[tuple[str, str]]] = {}  # environment id -> (started for, line), in order
        self._in_flight: int | None = None  # the one request in flight, when requests carry their own trace ids

    def _invoked(self, resolved: Resolved, invocation: Invocation, result: InvocationResult) -> None:
        index = self._traces.get(invocation.trace_id, self._in_flight)
        if index is not None:
            self._owners[result.request_id] = index
            self._invoked_by.setdefault(index, []).append((resolved, result))

    def _line(self, environment: str, started_for: str, line: str) -> None:
        self._lines.setdefault(environment, []).append((started_for, line))
        start = _START.match(line)
        if start is not None and self._in_flight is not None:  # no trace ids: the request in flight owns it
            self._owners.setdefault(start.group(1), self._in_flight)

    async def run(self, session: aiohttp.ClientSession, requests: list[DiffRequest], traces: list[str | None],
                  concurrency: int = 1, progress: Callable[[int], None] | None = None) -> None:
        """Send every request, `concurrency` at a time, each with its trace id (which ties the invocations it causes
        to it; None: the request has its own, and requests then go one at a time), and keep what came back in order."""
        offset = len(self.observations)
        results: list[Observation | None] = [None] * len(requests)
        gate = asyncio.Semaphore(concurrency if all(trace is not None for trace in traces) else 1)
        base = f"{self.stack.url}/{self.stage}"

        async def send(position: int, request: DiffRequest, trace: str | None) -> None:
            index = offset + position
            async with gate:
                headers = list(request.headers)
                if trace is not None:
                    self._traces[trace] = index
                    headers.append(("X-Amzn-Trace-Id", trace))
                else:
                    self._in_flight = index
                started = time.perf_counter()
                try:
                    async with session.request(request.method, URL(base + request.target(), encoded=True),
                                               headers=headers, data=request.body or None,
                                               allow_redirects=False) as response:
                        body = await response.read()
                        received: dict[str, str] = {}
                        for name, value in response.headers.items():
                            key = name.lower()
                            received[key] = f"{received[key]}, {value}" if key in received else value
                except (aiohttp.ClientError, TimeoutError) as error:
                    raise UserError(f"{self.side.name} side, {request.describe()}: {type(error).__name__}: "
                                    f"{error or 'timed out'}") from None
                finally:
                    self._in_flight = None
            observation = Observation(response.status, received, body, (time.perf_counter() - started) * 1000)
            for resolved, result in self._invoked_by.get(index, []):
                version = resolved.version
                observation.identity = {"function": version.function_name, "function-arn": version.function_arn,
                                        "version-arn": version.version_arn, "invoked-arn": resolved.invoked_arn}
                payload = result.error_payload
                if payload is not None:
                    observation.error = {"errorType": str(payload.get("errorType", "")),
                                         "errorMessage": str(payload.get("errorMessage", ""))}
            results[position] = observation
            if progress is not None:
                progress(1)

        await asyncio.gather(*(send(position, request, trace)
                               for position, (request, trace) in enumerate(zip(requests, traces, strict=True))))
        self.observations.extend(observation for observation in results if observation is not None)

    def attribute_logs(self) -> None:
        """Give each request its lines. Within an environment, lines are in order and it runs one invocation at a
        time: its init lines go to the invocation that started it, the lines from a START to the next START to the
        invocation that START names; a console line carrying a Lambda request id goes to that invocation's
        request, even when it arrived late."""
        segments: list[list[str]] = [[] for _ in self.observations]
        for lines in self._lines.values():
            owner = self._owners.get(lines[0][0]) if lines else None
            for _started_for, line in lines:
                start = _START.match(line)
                if start is not None:
                    owner = self._owners.get(start.group(1), owner)
                console = _CONSOLE_ID.match(line)
                index = self._owners.get(console.group(1), owner) if console else owner
                if index is not None and index < len(segments):
                    segments[index].append(line)
        for observation, segment in zip(self.observations, segments, strict=True):
            observation.read_logs(segment)

    def reset(self) -> None:
        """Forget every request and line (LiveSides: one request at a time)."""
        self.observations.clear()
        self._traces.clear()
        self._owners.clear()
        self._invoked_by.clear()
        self._lines.clear()


def _run_everything_on(stack: Stack, runtime: str) -> None:
    spec = get_runtime(runtime)
    for record in stack.lambdas.functions.values():
        record.latest = replace(record.latest, runtime=spec)
        record.versions = {number: replace(version, runtime=spec) for number, version in record.versions.items()}
        if record.serving is not None:
            record.serving = replace(record.serving, runtime=spec)


@dataclass
class SideRun:
    """What one side did: its description and an observation per request."""

    side: Side
    observations: list[Observation] = field(default_factory=list)


async def run_both(loaded: LoadedConfig, stage: str, sides: tuple[Side, Side], requests: list[DiffRequest],
                   backend: str | None, docker_options: dict[str, object] | None = None,
                   progress: Callable[[int], None] | None = None, concurrency: int = DEFAULT_CONCURRENCY,
                   runtime_client: str = "lambda-canary") -> tuple[SideRun, SideRun]:
    """Start both sides, send every request to each (the sides run at the same time, each `concurrency` requests
    at a time), stop them."""
    runners = [SideRunner(side, loaded, stage, backend, docker_options, runtime_client) for side in sides]
    traces = trace_ids(requests)
    started: list[SideRunner] = []
    try:
        for runner in runners:
            await runner.stack.start()
            started.append(runner)
        timeout = aiohttp.ClientTimeout(total=120)
        async with aiohttp.ClientSession(timeout=timeout, auto_decompress=False,
                                         connector=aiohttp.TCPConnector(limit=0)) as session:
            await asyncio.gather(*(runner.run(session, requests, traces, concurrency, progress) for runner in runners))
        await asyncio.sleep(STRAGGLERS_S)
    finally:
        for runner in started:
            await runner.stack.stop()
    for runner in runners:
        runner.attribute_logs()
    return SideRun(sides[0], runners[0].observations), SideRun(sides[1], runners[1].observations)


def trace_ids(requests: list[DiffRequest], first: int = 0) -> list[str | None]:
    """One X-Amzn-Trace-Id per request, the same on both sides (so what a function echoes of it agrees); None for
    a request that brings its own (API Gateway keeps a client's), then requests go one at a time."""
    run = secrets.token_hex(4)
    epoch = f"{int(time.time()):08x}"
    return [None if any(name.lower() == "x-amzn-trace-id" for name, _ in request.headers)
            else f"Root=1-{epoch}-{run}{first + index:016x}" for index, request in enumerate(requests)]


class LiveSides:
    """Both sides started once on a loop of their own, for callers that choose each request after seeing the last
    (the property-based generator): `observe(request)` sends one request to both and returns what each did."""

    def __init__(self, loaded: LoadedConfig, stage: str, sides: tuple[Side, Side], backend: str | None,
                 docker_options: dict[str, object] | None = None, runtime_client: str = "lambda-canary") -> None:
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="lambda-canary-diff", daemon=True)
        self._runners = [SideRunner(side, loaded, stage, backend, docker_options, runtime_client) for side in sides]
        self._session: aiohttp.ClientSession | None = None

    def __enter__(self) -> LiveSides:
        self._thread.start()
        self._call(self._start())
        return self

    def __exit__(self, *exc: object) -> None:
        self._call(self._stop())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=30)
        self._loop.close()

    def _call(self, coroutine: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result(timeout=300)

    async def _start(self) -> None:
        for runner in self._runners:
            await runner.stack.start()
        self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=120), auto_decompress=False)

    async def _stop(self) -> None:
        if self._session is not None:
            await self._session.close()
        for runner in self._runners:
            await runner.stack.stop()

    async def _observe(self, request: DiffRequest) -> tuple[Observation, Observation]:
        assert self._session is not None
        traces = trace_ids([request])
        await asyncio.gather(*(runner.run(self._session, [request], traces) for runner in self._runners))
        await asyncio.sleep(0)  # let lines already in the pipes be read
        observed = []
        for runner in self._runners:
            runner.attribute_logs()
            observed.append(runner.observations[-1])
            runner.reset()
        return observed[0], observed[1]

    def observe(self, request: DiffRequest) -> tuple[Observation, Observation]:
        """Send one request to both sides; what each answered, its function error, logs and figures."""
        return self._call(self._observe(request))
