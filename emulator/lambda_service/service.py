"""The Lambda service: functions, published versions, aliases, resource policies and Invoke."""

from __future__ import annotations

import asyncio
import contextlib
import fnmatch
import hashlib
import random
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

from emulator import ids
from emulator.lambda_service.backends.base import Backend
from emulator.lambda_service.budget import WarmBudget
from emulator.lambda_service.environment import new_trace_id
from emulator.lambda_service.errors import LambdaApiError, function_not_found
from emulator.lambda_service.logs import LineObserver, LogSink
from emulator.lambda_service.metrics import LambdaMetrics
from emulator.lambda_service.model import FunctionVersion, Invocation, InvocationResult
from emulator.lambda_service.pool import ConcurrencyLimiter, EnvironmentPool, PoolSet
from emulator.lambda_service.states import FunctionState, hold_if_asked, not_invocable

LATEST = "$LATEST"
ANY_QUALIFIER = "*"  # a statement lambda-canary grants config functions: every version and alias


def code_sha256(code_dir: Path) -> str:
    """A digest of a code folder's files (names and contents), stable across machines."""
    digest = hashlib.sha256()
    if code_dir.is_dir():
        for path in sorted(p for p in code_dir.rglob("*") if p.is_file()):
            digest.update(path.relative_to(code_dir).as_posix().encode() + b"\0")
            digest.update(path.read_bytes())
    return digest.hexdigest()


@dataclass
class Alias:
    """A named pointer to a version, optionally splitting traffic with one more version."""

    name: str
    function_version: str
    additional_version_weights: dict[str, float] = field(default_factory=dict)
    description: str = ""
    revision_id: str = field(default_factory=lambda: str(uuid.uuid4()))


@dataclass
class PolicyStatement:
    """One statement of a function's resource policy (AddPermission)."""

    sid: str
    principal: str
    action: str
    source_arn: str | None = None
    qualifier: str | None = None  # None: the unqualified function only, as AWS scopes permissions
    conditions: dict[str, str] | None = None  # SourceAccount, EventSourceToken, ...: shown, not checked


@dataclass
class FunctionRecord:
    """A function as the Lambda service holds it."""

    latest: FunctionVersion
    versions: dict[str, FunctionVersion] = field(default_factory=dict)
    aliases: dict[str, Alias] = field(default_factory=dict)
    policy: list[PolicyStatement] = field(default_factory=list)
    reserved_concurrency: int | None = None
    from_config: bool = False
    tags: dict[str, str] = field(default_factory=dict)
    states: dict[str, FunctionState] = field(default_factory=dict)  # by version key; absent: Active
    serving: FunctionVersion | None = None  # the $LATEST that still runs while an update of it prepares or failed

    @property
    def name(self) -> str:
        """The function name."""
        return self.latest.function_name

    def state(self, version: str) -> FunctionState:
        """The state of `$LATEST` or a published version."""
        return self.states.get(version) or FunctionState()

    @property
    def running_latest(self) -> FunctionVersion:
        """What an invoke of $LATEST runs: during (or after a failed) update, the previous snapshot."""
        return self.serving or self.latest


@dataclass(frozen=True)
class Resolved:
    """What an invoke of a function reference runs."""

    record: FunctionRecord
    version: FunctionVersion
    invoked_arn: str
    qualifier: str | None


def arn_like(pattern: str, value: str) -> bool:
    """IAM `ArnLike`: `*` matches any run of characters (including `/`), `?` one character."""
    return fnmatch.fnmatchcase(value, pattern.replace("[", "[[]"))


# A synchronous invoke's request (the response may be 100 bytes longer, MAX_SYNC_PAYLOAD). AWS's answer to a longer
# one, as the aws CLI printed it: "An error occurred (RequestEntityTooLargeException) when calling the Invoke
# operation: Request must be smaller than 6291456 bytes for the InvokeFunction operation"
# (https://zaccharles.medium.com/deep-dive-lambdas-request-payload-size-limit-2-2-6350c1ae5577).
MAX_INVOKE_REQUEST = 6 * 1024 * 1024


class LambdaService:
    """Holds functions and runs invocations on environment pools of one backend."""

    def __init__(self, backend: Backend, sink: LogSink | None, *, region: str = "us-east-1",
                 account_id: str = "123456789012", max_environments: int = 64,
                 idle_timeout: float = 600.0, rng: random.Random | None = None,
                 max_memory: int | None = None) -> None:
        """`max_memory`: bytes all warm environments may take (default: a share of the machine's memory)."""
        self.backend = backend
        self.region = region
        self.account_id = account_id
        self.functions: dict[str, FunctionRecord] = {}
        self._sink = sink
        self._pools: dict[tuple[str, str, int], EnvironmentPool] = {}
        self._account = ConcurrencyLimiter(max_environments)
        self.budget = WarmBudget(max_memory)
        self._pool_set = PoolSet(self.budget)
        self._idle_timeout = idle_timeout
        self._rng = rng or random.Random()
        self._reaper: asyncio.Task[None] | None = None
        # e.g. `diff`: each invocation (with its trace id, which ties it to the request that caused it) and each line
        self.invocation_observers: list[Callable[[Resolved, Invocation, InvocationResult], None]] = []
        self.line_observers: list[LineObserver] = []
        self.metrics = LambdaMetrics()
        # variables added to one function's environments started from now on (e.g. a rollout's hook functions
        # get the local AWS endpoint and placeholder credentials); never the host's own credentials
        self.function_variables: dict[str, dict[str, str]] = {}
        self._background: set[asyncio.Future[None]] = set()  # Event invocations still running

    # ---- functions ---------------------------------------------------------------------
    def put_function(self, record: FunctionRecord) -> None:
        """Add or replace a function."""
        self.functions[record.name] = record

    def function(self, name: str) -> FunctionRecord:
        """A function by name, or ResourceNotFoundException."""
        record = self.functions.get(name)
        if record is None:
            raise function_not_found(f"arn:aws:lambda:{self.region}:{self.account_id}:function:{name}")
        return record

    def split_reference(self, reference: str, qualifier: str | None = None) -> tuple[str, str | None]:
        """`name`, `name:qualifier`, a partial or full ARN -> (name, qualifier)."""
        if reference.startswith("arn:"):
            parts = reference.split(":")
            if len(parts) < 7 or parts[2] != "lambda" or parts[5] != "function":
                raise LambdaApiError("ValidationException", f"1 validation error detected: Value '{reference}' "
                                     "at 'functionName' failed to satisfy constraint")
            name, embedded = parts[6], (parts[7] if len(parts) > 7 else None)
        elif reference.count(":") == 2 and reference.split(":")[1] == "function":
            _, _, name = reference.split(":")
            embedded = None
        else:
            name, _, embedded_text = reference.partition(":")
            embedded = embedded_text or None
        if embedded and qualifier and embedded != qualifier:
            raise LambdaApiError("InvalidParameterValueException",
                                 "The derived qualifier from the function name does not match the specified qualifier.")
        return name, embedded or qualifier

    def resolve(self, reference: str, qualifier: str | None = None) -> Resolved:
        """Find what an invoke runs; a weighted alias picks its version now, at random."""
        name, qualifier = self.split_reference(reference, qualifier)
        record = self.function(name)
        base_arn = record.latest.function_arn
        invoked_arn = f"{base_arn}:{qualifier}" if qualifier else base_arn
        if qualifier is None or qualifier == LATEST:
            return Resolved(record, record.running_latest, invoked_arn, qualifier)
        if qualifier.isdigit():
            version = record.versions.get(qualifier)
            if version is None:
                raise function_not_found(invoked_arn)
            return Resolved(record, version, invoked_arn, qualifier)
        alias = record.aliases.get(qualifier)
        if alias is None:
            raise function_not_found(invoked_arn)
        chosen = alias.function_version
        for extra, weight in alias.additional_version_weights.items():
            if self._rng.random() < weight:
                chosen = extra
        version = record.running_latest if chosen == LATEST else record.versions[chosen]
        return Resolved(record, version, invoked_arn, qualifier)

    def allows(self, record: FunctionRecord, qualifier: str | None, principal: str, source_arn: str) -> bool:
        """Does the function's resource policy let `principal` from `source_arn` invoke it?"""
        for statement in record.policy:
            if statement.principal != principal or statement.action not in ("lambda:InvokeFunction", "lambda:*"):
                continue
            if statement.qualifier != ANY_QUALIFIER and statement.qualifier != qualifier:
                continue
            if statement.source_arn is None or arn_like(statement.source_arn, source_arn):
                return True
        return False

    # ---- invoke ------------------------------------------------------------------------
    async def invoke(self, reference: str, payload: bytes, qualifier: str | None = None, *,
                     trace_id: str | None = None, client_context: str | None = None) -> InvocationResult:
        """Synchronous (RequestResponse) invoke."""
        return await self.invoke_resolved(self.resolve(reference, qualifier), payload,
                                          trace_id=trace_id, client_context=client_context)

    async def invoke_resolved(self, resolved: Resolved, payload: bytes, *, trace_id: str | None = None,
                              client_context: str | None = None) -> InvocationResult:
        """Invoke what `resolve` chose; a snapshot that is not Active answers AWS's conflict."""
        self.check_invocable(resolved)
        if len(payload) > MAX_INVOKE_REQUEST:
            raise LambdaApiError("RequestEntityTooLargeException",
                                 f"Request must be smaller than {MAX_INVOKE_REQUEST} bytes for the InvokeFunction "
                                 "operation", 413)
        invocation = Invocation(request_id=ids.uuid4(), payload=payload, invoked_arn=resolved.invoked_arn,
                                trace_id=trace_id or new_trace_id(), client_context=client_context)
        version = resolved.version
        resource = f"{version.function_name}:{resolved.qualifier}" if resolved.qualifier else version.function_name
        key = (version.function_name, resource, version.version, version.runtime.name)
        series = self.metrics.started(key)
        try:
            result = await self.pool_for(version, resolved.record.reserved_concurrency).invoke(invocation)
        except LambdaApiError as error:
            self.metrics.abandoned(series)
            if error.code == "TooManyRequestsException":
                self.metrics.throttled(key)
            raise
        except BaseException:
            self.metrics.abandoned(series)
            raise
        self.metrics.finished(series, result.duration_ms, result.init_duration_ms, result.function_error is not None)
        for observer in self.invocation_observers:
            observer(resolved, invocation, result)
        return result

    def invoke_later(self, resolved: Resolved, payload: bytes, report: Callable[[str], None], *,
                     trace_id: str | None = None, client_context: str | None = None) -> None:
        """An Event invocation (Invoke's, or an API Gateway integration's): the function runs in the background and
        nobody waits for its answer, so a failure or a function error is one `report` line, never a traceback."""
        async def run() -> None:
            try:
                result = await self.invoke_resolved(resolved, payload, trace_id=trace_id,
                                                    client_context=client_context)
            except Exception as error:
                report(f"asynchronous invoke of {resolved.invoked_arn} failed: {error}")
                return
            if result.function_error:
                report(f"asynchronous invoke of {resolved.invoked_arn} ended in a function error (request "
                       f"{result.request_id}); Lambda would retry it twice, lambda-canary does not")

        task = asyncio.ensure_future(run())
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    @staticmethod
    def check_invocable(resolved: Resolved) -> None:
        """ResourceConflictException when what `resolve` chose is not Active (Pending, Failed)."""
        state = resolved.record.states.get(resolved.version.version)  # absent: Active (no object made per invoke)
        if state is not None and not state.invocable:
            raise not_invocable(state)

    def pool_for(self, version: FunctionVersion, reserved: int | None = None) -> EnvironmentPool:
        """The pool of a version, created on first use."""
        pool = self._pools.get(version.pool_key)
        if pool is None:
            backend = self.backend.for_runtime(version.runtime.name)
            pool = EnvironmentPool(version, backend, self._sink, self._account, reserved,
                                   self.function_variables.get(version.function_name), pools=self._pool_set,
                                   line_observers=self.line_observers)
            self._pools[version.pool_key] = pool
            self._start_reaper()
        return pool

    async def prepare(self, version: FunctionVersion, *, hold: bool = True) -> None:
        """Ready what a snapshot needs before its first environment (image pull or build, runtime check); the
        only place preparation happens, never inside an invoke. `hold`: honour the tests' preparation hold."""
        if hold:
            await hold_if_asked()
        await self.backend.prepare(version)

    def pools(self) -> list[EnvironmentPool]:
        """Every pool, for stats and tests."""
        return list(self._pools.values())

    def _start_reaper(self) -> None:
        if self._reaper is None:
            self._reaper = asyncio.get_running_loop().create_task(self._reap_forever())

    async def _reap_forever(self) -> None:
        while True:
            await asyncio.sleep(min(30.0, self._idle_timeout))
            for pool in list(self._pools.values()):
                await pool.reap(self._idle_timeout)
            self._pool_set.trim()

    async def retire(self, version: FunctionVersion) -> None:
        """Stop the environments of a snapshot that changed (new code or configuration)."""
        pool = self._pools.pop(version.pool_key, None)
        if pool is not None:
            await pool.close()

    async def close(self) -> None:
        """Stop every environment and the backend."""
        if self._reaper is not None:
            self._reaper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reaper
        await asyncio.gather(*(pool.close() for pool in self._pools.values()), return_exceptions=True)
        self._pools.clear()
        await self.backend.close()


def with_revision(version: FunctionVersion, **changes: object) -> FunctionVersion:
    """A new $LATEST snapshot after an update; environments of the old one are not reused."""
    return replace(version, revision=version.revision + 1, **changes)  # type: ignore[arg-type]
