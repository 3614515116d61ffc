"""Run the two sides of a migration and send each request to both, deterministically.

Each side is a stack of its own built from the same config. The base side always takes the primary route (the
stage's base variant, the alias's primary version); the canary side always takes the other one (the canary variant
with its overrides, the alias's additional version): their choices are pinned, never drawn. With `runtimes`,
both sides take the primary route and every function runs on the side's runtime (one copy per runtime).
Requests go to each side one at a time, so each function line and REPORT belongs to the request that was in flight.
"""

from __future__ import annotations

import asyncio
import random
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

import aiohttp
from yarl import URL

from emulator.config import LoadedConfig
from emulator.errors import UserError
from emulator.lambda_service.model import InvocationResult
from emulator.lambda_service.service import Resolved
from emulator.runtimes.catalogue import get_runtime
from emulator.stack import Stack, StackOptions
from emulator.verify.chain import Route, chain_routes, find_stage
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
                 docker_options: dict[str, object] | None = None) -> None:
        self.side = side
        self.stage = stage
        self.lines: list[str] = []
        self.invocations: list[tuple[Resolved, InvocationResult]] = []
        options = StackOptions(port=0, backend=backend, access_log=False, function_logs=True,
                               docker_options=docker_options)
        self.stack = Stack(loaded, options, log=self._log)
        if side.runtime is not None:
            _run_everything_on(self.stack, side.runtime)
        draw = 0.0 if side.canary else _ALMOST_ONE
        self.stack.gateway.rng = PinnedChoice(draw)
        self.stack.lambdas._rng = PinnedChoice(draw)  # the weighted alias's draw (LambdaService.resolve)
        self.stack.lambdas.invocation_observers.append(lambda resolved, result: self.invocations.append(
            (resolved, result)))
        self.observations: list[Observation] = []
        self._marks: list[int] = []

    def _log(self, line: str) -> None:
        # function lines come as "[function] line" (Stack._function_log); the rest is the gateway's own log
        if line.startswith("[") and "] " in line:
            self.lines.append(line.split("] ", 1)[1])

    async def run(self, session: aiohttp.ClientSession, requests: list[DiffRequest],
                  progress: Callable[[int], None] | None = None) -> None:
        """Send every request, one at a time, and keep what came back."""
        base = f"{self.stack.url}/{self.stage}"
        for request in requests:
            self._marks.append(len(self.lines))
            invoked = len(self.invocations)
            started = time.perf_counter()
            try:
                async with session.request(request.method, URL(base + request.target(), encoded=True),
                                           headers=list(request.headers), data=request.body or None,
                                           allow_redirects=False) as response:
                    body = await response.read()
                    headers: dict[str, str] = {}
                    for name, value in response.headers.items():
                        key = name.lower()
                        headers[key] = f"{headers[key]}, {value}" if key in headers else value
            except (aiohttp.ClientError, TimeoutError) as error:
                raise UserError(f"{self.side.name} side, {request.describe()}: {type(error).__name__}: "
                                f"{error or 'timed out'}") from None
            observation = Observation(response.status, headers, body, (time.perf_counter() - started) * 1000)
            for resolved, result in self.invocations[invoked:]:
                version = resolved.version
                observation.identity = {"function": version.function_name, "function-arn": version.function_arn,
                                        "version-arn": version.version_arn, "invoked-arn": resolved.invoked_arn}
                payload = result.error_payload
                if payload is not None:
                    observation.error = {"errorType": str(payload.get("errorType", "")),
                                         "errorMessage": str(payload.get("errorMessage", ""))}
            self.observations.append(observation)
            if progress is not None:
                progress(1)

    def attribute_logs(self) -> None:
        """Give each request its lines: a line carrying a Lambda request id (the runtime's console format) goes to
        the request whose START names that id, even when it arrived late; any other line to the request in flight
        when it arrived (from its sending to the next request's)."""
        marks = [*self._marks, len(self.lines)]
        owner = [0] * len(self.lines)
        by_id: dict[str, int] = {}
        for index in range(len(self.observations)):
            for position in range(marks[index], marks[index + 1]):
                owner[position] = index
                start = _START.match(self.lines[position])
                if start is not None:
                    by_id[start.group(1)] = index
        segments: list[list[str]] = [[] for _ in self.observations]
        for position, line in enumerate(self.lines):
            console = _CONSOLE_ID.match(line)
            index = by_id.get(console.group(1), owner[position]) if console else owner[position]
            segments[index].append(line)
        for observation, lines in zip(self.observations, segments, strict=True):
            observation.read_logs(lines)


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
                   progress: Callable[[int], None] | None = None) -> tuple[SideRun, SideRun]:
    """Start both sides, send every request to each (the sides run at the same time), stop them."""
    runners = [SideRunner(side, loaded, stage, backend, docker_options) for side in sides]
    started: list[SideRunner] = []
    try:
        for runner in runners:
            await runner.stack.start()
            started.append(runner)
        timeout = aiohttp.ClientTimeout(total=120)
        async with aiohttp.ClientSession(timeout=timeout, auto_decompress=False) as session:
            await asyncio.gather(*(runner.run(session, requests, progress) for runner in runners))
        await asyncio.sleep(STRAGGLERS_S)
    finally:
        for runner in started:
            await runner.stack.stop()
    for runner in runners:
        runner.attribute_logs()
    return SideRun(sides[0], runners[0].observations), SideRun(sides[1], runners[1].observations)




class LiveSides:
    """Both sides started once on a loop of their own, for callers that choose each request after seeing the last
    (the property-based generator): `observe(request)` sends one request to both and returns what each did."""

    def __init__(self, loaded: LoadedConfig, stage: str, sides: tuple[Side, Side], backend: str | None,
                 docker_options: dict[str, object] | None = None) -> None:
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="lambda-canary-diff", daemon=True)
        self._runners = [SideRunner(side, loaded, stage, backend, docker_options) for side in sides]
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
        await asyncio.gather(*(runner.run(self._session, [request]) for runner in self._runners))
        await asyncio.sleep(0)  # let lines already in the pipes be read
        observed = []
        for runner in self._runners:
            runner.attribute_logs()
            observed.append(runner.observations[-1])
            runner.observations.clear()
            runner.lines.clear()
            runner._marks.clear()
        return observed[0], observed[1]

    def observe(self, request: DiffRequest) -> tuple[Observation, Observation]:
        """Send one request to both sides; what each answered, its function error, logs and figures."""
        return self._call(self._observe(request))
