"""A running stack: the Lambda service, the API Gateway and its HTTP server, built from one config."""

from __future__ import annotations

import asyncio
import atexit
import random
import socket
import sys
import threading
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from emulator import cpus, failures
from emulator.apigateway.limits import BODY_TIMEOUT, HEADER_TIMEOUT, KEEPALIVE_TIMEOUT
from emulator.errors import UserError
from emulator.failures import describe

if TYPE_CHECKING:
    from aiohttp import web

    from emulator.apigateway.observability import DecisionRecord
    from emulator.config import LoadedConfig
    from emulator.control_plane import persistence
    from emulator.lambda_service.backends.base import Backend
    from emulator.lambda_service.backends.process import LoadCheck
    from emulator.lambda_service.model import FunctionVersion

# The gateway, the control plane and the Lambda service are imported where the stack is built, not here: `serve`
# loads its config and listens before it imports them (issue 19: most of its start-up was imports), and the
# config's handler check runs while they load. A state folder's modules are imported only with --state-dir.

class StderrLines:
    """A stack's log on stderr: the lines of one request go out in one write when it is answered (the stack
    flushes after each request), other lines within FLUSH_AFTER_S.

    A request logs START, END, REPORT and its access-log line (and the function's own lines); written one by one
    they were four system calls per request, 7% of the loop's time under load (issue 19's profile). Written at the
    end of the loop's turn, START still went out alone (the request then waits for its function): two writes per
    request. Now a timer writes what no answered request took along, at most once per FLUSH_AFTER_S, and more than
    FLUSH_ABOVE characters pending are written at once (a function printing fast keeps no more). Outside a
    running loop a line is written at once; `flush()` writes what is pending (the stack calls it when it stops,
    and whatever is left is written at exit). Each stack has its own (one loop each); a lock keeps lines logged
    from other threads.
    """

    FLUSH_AFTER_S = 0.01
    FLUSH_ABOVE = 1 << 20

    def __init__(self) -> None:
        self._lines: list[str] = []
        self._pending = 0  # characters in _lines
        self._armed_on: asyncio.AbstractEventLoop | None = None  # the loop whose timer will flush
        self._lock = threading.Lock()
        _WRITERS.add(self)

    def __call__(self, line: str) -> None:
        try:
            loop: asyncio.AbstractEventLoop | None = asyncio.get_running_loop()
        except RuntimeError:
            loop = None
        with self._lock:
            self._lines.append(line)
            self._pending += len(line)
            if loop is None or self._armed_on is loop:
                arm = False
            else:
                self._armed_on, arm = loop, True
        if loop is None or self._pending > self.FLUSH_ABOVE:
            self.flush()
        elif arm:
            loop.call_later(self.FLUSH_AFTER_S, self._flush_later)

    def _flush_later(self) -> None:
        with self._lock:
            self._armed_on = None
        self.flush()

    def flush(self) -> None:
        """Write every pending line."""
        with self._lock:
            lines, self._lines, self._pending = self._lines, [], 0
        if lines:
            sys.stderr.write("\n".join(lines) + "\n")


_WRITERS: weakref.WeakSet[StderrLines] = weakref.WeakSet()


@atexit.register
def _flush_all() -> None:
    for writer in list(_WRITERS):
        writer.flush()


@dataclass
class StackOptions:
    """How to run a stack."""

    host: str = "127.0.0.1"
    port: int = 3000
    seed: int | None = None
    backend: str | None = None
    access_log: bool = True
    function_logs: bool = True
    max_environments: int = 64
    idle_timeout: float = 600.0
    max_memory: int | None = None  # bytes all warm environments may take (None: a share of the machine's memory)
    docker_options: dict[str, object] | None = None
    runtime_client: str = "lambda-canary"  # "aws": AWS's aws-lambda-ric on the process backend
    state_dir: Path | None = None
    debug: bool = False  # tracebacks of unexpected failures in the log
    header_timeout: float = HEADER_TIMEOUT  # seconds for a request header to arrive whole
    body_timeout: float = BODY_TIMEOUT  # seconds without a byte of a request body
    keepalive_timeout: float = KEEPALIVE_TIMEOUT  # seconds an idle kept-alive connection stays open
    listener: socket.socket | None = None  # a socket already listening to serve (serve binds it early)
    split_cpus: bool = False  # while invocations overlap, the loop on one CPU, functions on the others (cpus.py)


class Stack:
    """Everything `serve` runs; also used in-process by `split` and the pytest plugin."""

    def __init__(self, loaded: LoadedConfig | None, options: StackOptions,
                 log: Callable[[str], None] | None = None, *, begin_checks: bool = False) -> None:
        """Build the stack. `begin_checks` (for a stack started right away) starts the config's handler check
        now, so that it runs while the gateway is imported and built; `start()` waits for it."""
        from emulator.apigateway.loader import state_from_config
        from emulator.apigateway.model import ApiGatewayState
        from emulator.backend_rules import requested_backend
        from emulator.lambda_service.backends.select import choose_backend
        from emulator.lambda_service.loader import records_from_config
        from emulator.lambda_service.service import LambdaService

        self.loaded = loaded
        self.options = options
        log = log or StderrLines()
        self.log = log
        config = loaded.config if loaded else None
        saved = None
        if options.state_dir:  # first: a bad file stops at once
            from emulator.control_plane import persistence

            saved = persistence.load(options.state_dir)
        runtimes = sorted({function.runtime for function in config.functions.values()}) if config else []
        backend, self.backend_reason = choose_backend(
            requested_backend(options.backend, config.backend if config else None), runtimes, say=log,
            runtime_client=options.runtime_client, **(options.docker_options or {}))
        rng = random.Random(options.seed)
        region = config.region if config else "us-east-1"
        account = config.account_id if config else "123456789012"
        sink = self._function_log if options.function_logs else None
        self.lambdas = LambdaService(backend, sink, region=region, account_id=account,
                                     max_environments=options.max_environments, idle_timeout=options.idle_timeout,
                                     max_memory=options.max_memory,
                                     rng=random.Random(rng.random()))
        self.state = state_from_config(loaded) if loaded else ApiGatewayState(region, account)
        if loaded is not None:
            self._check_handlers(loaded)
            for record in records_from_config(loaded):
                self.lambdas.put_function(record)
        # (not with a state folder: what it restores may add versions to the config's functions)
        self._load_check = self._begin_load_check() if begin_checks and saved is None else None
        if saved is not None:
            self.state = saved[0]
            if loaded is not None and loaded.config.rest_apis:
                log(f"lambda-canary: the REST APIs saved in {options.state_dir} replace those of {loaded.path} "
                    "(functions still come from the file); use an empty --state-dir to start from the file")
        from emulator.apigateway.handler import ApiGateway
        from emulator.apigateway.server import GatewayServer
        from emulator.control_plane.wiring import build_control_plane

        self.gateway = ApiGateway(self.state, self.lambdas, rng=rng, execution_log=log,
                                  access_log=self._access_log if options.access_log else None)
        self.gateway.debug = options.debug
        if isinstance(log, StderrLines):  # a request's lines (START, END, REPORT, access log) in one write, out
            self.gateway.observers.append(lambda _record: log.flush())  # before its response
        self.server = GatewayServer(self.gateway, log=log, debug=options.debug, header_timeout=options.header_timeout,
                                    body_timeout=options.body_timeout, keepalive_timeout=options.keepalive_timeout)
        self.control_plane = build_control_plane(
            self.lambdas, self.state, log, debug=options.debug,
            code_root=options.state_dir / persistence.CODE_FOLDER if options.state_dir else None)
        self.control_plane.body_timeout = options.body_timeout
        self._lambda_api = self.control_plane.services["lambda"].implementation
        if saved is not None and options.state_dir is not None:
            self._restore_functions(options.state_dir, saved[1])
        self._document: persistence.StateDocument | None = None
        self._writer: persistence.StateWriter | None = None
        if options.state_dir is not None:
            code_dirs = [version.code_dir for record in self.lambdas.functions.values()
                         for version in [record.latest, *record.versions.values()]]
            for leftover in persistence.clean(options.state_dir, code_dirs):
                log(f"lambda-canary: removed {leftover}, left by a process that was killed")
            self._document = persistence.StateDocument()
            self._writer = persistence.StateWriter(options.state_dir)
        self._saving: set[asyncio.Task[None]] = set()
        if self._writer is not None:
            self._lambda_api.on_change = self._save_in_background  # type: ignore[attr-defined]
        self.server.control_plane = self._serve_control_plane
        self._placement = cpus.CpuPlacement()

    def _restore_functions(self, state_dir: Path, saved: dict[str, object]) -> None:
        """Put back the saved functions; a document that does not fit is one error naming the file."""
        from emulator.control_plane import persistence

        try:
            self._lambda_api.from_dict(saved)  # type: ignore[attr-defined]
        except UserError as error:
            raise UserError(f"{persistence.state_file(state_dir)}: {error.message}") from None
        except (KeyError, TypeError, ValueError, AttributeError) as error:
            raise UserError(f"{persistence.state_file(state_dir)}: unreadable state: lambda: {describe(error)}; "
                            "fix it, or move it away to start empty") from None

    async def _serve_control_plane(self, request: web.BaseRequest) -> web.StreamResponse:
        """The AWS API; with a state folder, every successful change is on disk before the answer."""
        response = await self.control_plane(request)
        if (self._writer is not None and request.method in ("POST", "PUT", "PATCH", "DELETE")
                and response.status < 300 and not request.path.endswith("/invocations")):
            from emulator.control_plane import persistence

            try:
                await self.persist(persistence.touched_by(request.path))
            except Exception as error:  # the change is made but not saved: not acknowledged
                service = self.control_plane.service_for(request)
                context = f"saving the state in {self.options.state_dir} failed"
                if service is None:
                    raise
                service.report(context, error)
                return service.error_response(service.internal_error(f"{context}: {describe(error)}"))
        return response

    def _save_in_background(self) -> None:
        """A function's state changed on its own (Pending -> Active): save the functions, off the loop."""
        from emulator.control_plane import persistence

        task = asyncio.get_running_loop().create_task(self.persist(persistence.Touched(apis=set(), functions=None)))
        self._saving.add(task)
        task.add_done_callback(self._saved)

    def _saved(self, task: asyncio.Task[None]) -> None:
        self._saving.discard(task)
        error = None if task.cancelled() else task.exception()
        if error is not None:
            failures.report(self.log, f"saving the state in {self.options.state_dir} failed", error,
                            self.options.debug)

    async def persist(self, touched: persistence.Touched | None = None) -> None:
        """Write the state to the state folder; returns once it is on disk (the writing runs off the loop)."""
        if self._writer is None:
            return
        from emulator.control_plane import persistence

        await self._writer.write(self._render(touched or persistence.Touched.everything()))

    def _render(self, touched: persistence.Touched) -> persistence.Rendered:
        assert self._document is not None
        return self._document.render(self.state, self._lambda_api.saved_functions(),  # type: ignore[attr-defined]
                                     touched)

    def save_state(self) -> None:
        """Write the account's state to the state folder now, synchronously (outside a running loop)."""
        if self.options.state_dir is not None:
            from emulator.control_plane import persistence

            persistence.save(self.options.state_dir, self.state, self._lambda_api.to_dict())  # type: ignore[attr-defined]

    @classmethod
    def from_file(cls, path: Path | str | None, options: StackOptions, stage: str | None = None) -> Stack:
        """Load a config (or none, for an empty account) and build the stack (see from_loaded)."""
        from emulator.formats.load import load_config

        return cls.from_loaded(load_config(path, stage=stage) if path else None, options)

    @classmethod
    def from_loaded(cls, loaded: LoadedConfig | None, options: StackOptions) -> Stack:
        """Build a stack to start right away (its handler check begins now); the translation's warnings (what a
        serverless.yml, template or OpenAPI file holds that lambda-canary does not run) are logged."""
        stack = cls(loaded, options, begin_checks=True)
        for item in getattr(loaded, "unsupported", []):
            stack.log(f"lambda-canary: not supported, ignored: {item}")
        return stack

    def _check_handlers(self, loaded: LoadedConfig) -> None:
        from emulator.lambda_service.handler_check import require_handler_file

        for name, function in loaded.config.functions.items():
            where = loaded.document.where(("functions", name, "handler")) if loaded.document else str(loaded.path)
            require_handler_file(loaded.code_dir(name), function.handler, where)

    def _function_log(self, function_name: str, line: str) -> None:
        if self.options.function_logs:
            self.log(f"[{function_name}] {line}")

    def _access_log(self, record: DecisionRecord) -> None:
        self.log(record.access_log_line())

    @property
    def url(self) -> str:
        """Base URL of the data plane."""
        return f"http://{self.options.host}:{self.server.port}"

    async def start(self) -> None:
        """Prepare every function (base images pulled or built, runtimes checked), then listen: no pull or build
        ever happens inside a request. A config function that cannot be prepared stops the start; one created
        through the API (put back from --state-dir) becomes Failed, as on AWS."""
        if self.options.split_cpus and self._placement.usable:
            cpus.activate(self._placement)
            self._placement.watch(self.lambdas.metrics.in_flight)
        for record in list(self.lambdas.functions.values()):
            if record.from_config:
                for version in [record.latest, *record.versions.values()]:
                    await self.lambdas.prepare(version, hold=False)
            else:
                await self._lambda_api.prepare_restored(record)  # type: ignore[attr-defined]
        await self._check_loading()
        await self.server.start(self.options.host, self.options.port, sock=self.options.listener)

    def _config_versions(self) -> list[tuple[str, str, FunctionVersion]]:
        """(function, version key, version) of every config function's $LATEST and versions."""
        return [(record.name, key, version) for record in self.lambdas.functions.values() if record.from_config
                for key, version in [("$LATEST", record.latest), *record.versions.items()]]

    def _begin_load_check(self) -> tuple[list[tuple[str, str, FunctionVersion]], LoadCheck] | None:
        """Start the handler check of the config's functions now when the process backend runs them all (it needs
        nothing prepared first but the Node binary): its Node processes then run while the gateway is imported
        and built. Returns the versions checked (what a state folder restores later is not among them) and the
        check; None when it cannot start (start() then checks as before and reports what is wrong, such as a
        runtime that is not installed)."""
        begin = getattr(self.lambdas.backend, "begin_load_check", None)
        versions = self._config_versions()
        if self.loaded is None or begin is None or not versions:
            return None
        try:
            check: LoadCheck = begin([version for _, _, version in versions])
        except Exception:  # start() checks again and reports it in its own order
            return None
        return versions, check

    async def _check_loading(self) -> None:
        """Refuse a config function whose handler cannot load (a missing export, a module that does not parse):
        one line naming the file, function and handler, as `invoke` exits 2 on the same setup mistakes. Each
        backend checks what it can cheaply (the process backend: one Node process per runtime)."""
        from emulator.lambda_service.preflight import setup_mistake

        early, self._load_check = self._load_check, None
        if self.loaded is None:
            return
        found: dict[int, dict[str, object]] = {}
        if early is not None:  # begun when the stack was built
            versions, check = early
            found = await check.result()
        else:
            versions = self._config_versions()
            by_backend: dict[int, tuple[Backend, list[int]]] = {}
            for index, (_, _, version) in enumerate(versions):
                backend = self.lambdas.backend.for_runtime(version.runtime.name)
                by_backend.setdefault(id(backend), (backend, []))[1].append(index)
            for backend, indexes in by_backend.values():
                errors = await backend.load_errors([versions[index][2] for index in indexes])
                found.update((indexes[position], error) for position, error in errors.items())
        problems: list[str] = []
        for index, error in sorted(found.items()):
            name, key, version = versions[index]
            mistake = setup_mistake(error)
            if mistake is not None:
                problems.append(f"{self._handler_where(name, key)}: function {name}"
                                f"{'' if key == '$LATEST' else f' version {key}'}: handler "
                                f"{version.handler!r} cannot load: {mistake}")
        if problems:
            more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
            raise UserError(problems[0] + more)

    def _handler_where(self, name: str, version: str) -> str:
        """`file:line` of a config function's handler (a version's own, when it has one)."""
        assert self.loaded is not None
        document = self.loaded.document
        if document is None:
            return str(self.loaded.path)
        spec = self.loaded.config.functions[name].versions.get(version)
        if spec is not None and spec.handler is not None:
            return document.where(("functions", name, "versions", version, "handler"))
        return document.where(("functions", name, "handler"))

    async def stop(self) -> None:
        """Stop listening and stop every environment."""
        await self.server.stop()
        await self._lambda_api.close()  # type: ignore[attr-defined]
        if self._writer is not None:
            await asyncio.gather(*self._saving, return_exceptions=True)
            from emulator.control_plane import persistence

            await self._writer.close(self._render(persistence.Touched(apis=set(), functions=set())))
        await self.gateway.close()
        await self.lambdas.close()
        if cpus.active() is self._placement:
            self._placement.stop()
            cpus.activate(None)
        if isinstance(self.log, StderrLines):
            self.log.flush()

    async def __aenter__(self) -> Stack:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    def routes(self) -> list[str]:
        """`GET http://.../stage/path` lines for every stage and method."""
        lines = []
        for api in self.state.apis.values():
            for stage_name, stage in api.stages.items():
                deployment = api.deployments.get(stage.deployment_id)
                if deployment is None:
                    continue
                for resource in sorted(deployment.resources.values(), key=lambda item: item.path):
                    for method in resource.methods:
                        path = resource.path if resource.path != "/" else ""
                        lines.append(f"{method:7} {self.url}/{stage_name}{path}  (api {api.id})")
        return lines
