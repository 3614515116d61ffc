"""Send requests at a stack or a deployed stage and classify each response by variant.

A config file runs in-process and each response is classified from the gateway's decision record; a URL is
classified from the running emulator's decision log, or, on a real stage, from a body field or header.
"""

from __future__ import annotations

import asyncio
import json
import re
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import aiohttp

from emulator import aio
from emulator.errors import UserError
from emulator.verify import fast_get

if TYPE_CHECKING:
    from emulator.verify.chain import SplitPlan

UNKNOWN = "unknown"
DECISION_BATCH = 1000  # resolve a running emulator's decisions every this many responses


@dataclass
class Sample:
    """One request's outcome; `error` is any answer other than 2xx or 3xx."""

    key: str
    status: int
    latency_ms: float
    request_id: str | None = None

    @property
    def error(self) -> bool:
        """Not a success (the split cannot vouch for a failed request)."""
        return self.status >= 400


@dataclass
class SplitResult:
    """Every sample of a run, in the order the requests completed."""

    samples: list[Sample] = field(default_factory=list)
    canary_key: str = "canary"
    expected_percent: float | None = None
    by: str = "variant"

    @property
    def classified(self) -> list[Sample]:
        """Samples whose variant is known (they make up n)."""
        return [sample for sample in self.samples if sample.key != UNKNOWN]

    @property
    def n(self) -> int:
        """Requests whose variant is known."""
        return len(self.classified)

    @property
    def canary_count(self) -> int:
        """Requests classified as the canary key."""
        return sum(1 for sample in self.samples if sample.key == self.canary_key)

    @property
    def errors(self) -> int:
        """Requests answered with a status of 400 or more."""
        return sum(1 for sample in self.samples if sample.error)

    @property
    def unknown(self) -> int:
        """Requests whose variant could not be told."""
        return len(self.samples) - self.n

    def outcomes(self) -> list[bool]:
        """Per classified request: was it the canary?"""
        return [sample.key == self.canary_key for sample in self.classified]

    def groups(self) -> list[str]:
        """Variant keys seen, canary last."""
        seen = sorted({sample.key for sample in self.classified} - {self.canary_key})
        return [*seen, self.canary_key]

    def problems(self) -> list[str]:
        """Why the run cannot vouch for the split, if it cannot (errors, unclassified requests)."""
        found = []
        if self.errors:
            statuses = sorted({sample.status for sample in self.samples if sample.error})
            found.append(f"{self.errors} of {len(self.samples)} requests failed (status {statuses})")
        if self.unknown:
            found.append(f"{self.unknown} of {len(self.samples)} requests could not be classified")
        return found

    def failures(self, allow_errors: bool = False) -> list[str]:
        """Why the run fails apart from the share test: its problems, unless `allow_errors`; even then a run in
        which no request succeeded vouches for nothing."""
        if not allow_errors:
            return self.problems()
        found = []
        if self.samples and all(sample.error for sample in self.samples):
            found.append(f"none of the {len(self.samples)} requests succeeded (--allow-errors allows some failures, "
                         "not a split of failures only)")
        if self.samples and self.n == 0:
            found.append(f"none of the {len(self.samples)} requests could be classified")
        return found


@dataclass(frozen=True)
class Classifier:
    """How a URL target's responses are sorted: a body field or header, and a pattern for the canary."""

    source: str  # "body" or "header"
    name: str
    canary_pattern: re.Pattern[str] | None = None

    def classify(self, headers: dict[str, str], body: bytes) -> str:
        """`canary` or `base` (or the raw value when no pattern is given)."""
        value: Any = None
        if self.source == "header":
            value = headers.get(self.name.lower())
        else:
            try:
                value = json.loads(body)
                for part in self.name.split("."):
                    value = value.get(part) if isinstance(value, dict) else None
            except ValueError:
                value = None
        if value is None:
            return UNKNOWN
        if self.canary_pattern is None:
            return str(value)
        return "canary" if self.canary_pattern.search(str(value)) else "base"


def parse_classifier(spec: str | None, canary_pattern: str | None) -> Classifier | None:
    """`body.node` or `header.X-Version` (with --canary-pattern) into a Classifier."""
    if spec is None:
        if canary_pattern is not None:
            raise UserError("--canary-pattern goes with --variant-from body.FIELD|header.NAME")
        return None
    source, _, name = spec.partition(".")
    if source not in ("body", "header") or not name:
        raise UserError(f"--variant-from {spec!r}: use body.FIELD[.FIELD] or header.NAME")
    try:
        pattern = re.compile(canary_pattern) if canary_pattern else None
    except re.error as error:
        raise UserError(f"--canary-pattern {canary_pattern!r}: not a regular expression ({error})") from None
    return Classifier(source, name, pattern)


def _record_key(record: dict[str, Any] | Any, by: str) -> str:
    get = record.get if isinstance(record, dict) else lambda name: getattr(record, name)
    field_name = {"variant": "variant", "version": "executed_version", "runtime": "runtime", "function": "function"}
    if by not in field_name:
        raise UserError(f"--by {by!r}: use variant, version, runtime or function")
    value = get(field_name[by])
    return UNKNOWN if value is None else str(value)


ResponseCallback = Callable[[int, dict[str, str], bytes, float], Awaitable[None] | None]


def loopback_host(url: str, host: str | None) -> tuple[str, str | None]:
    """A URL whose host is a `*.localhost` name (such as `{apiId}.execute-api.localhost`) goes to 127.0.0.1 with
    that name as its Host header, as RFC 6761 section 6.3 has `.localhost` names resolve to loopback; `--host`
    sets the Host header of any URL. Returns the URL to connect to and the Host header (None: the URL's)."""
    parts = urllib.parse.urlsplit(url)
    name = parts.hostname or ""
    if name == "localhost" or not name.endswith(".localhost"):
        return url, host
    netloc = "127.0.0.1" + (f":{parts.port}" if parts.port else "")
    header = host or (name + (f":{parts.port}" if parts.port else ""))
    return urllib.parse.urlunsplit(parts._replace(netloc=netloc)), header


async def send(url: str, requests: int, concurrency: int, on_response: ResponseCallback,
               progress: Callable[[int], None] | None = None, host: str | None = None,
               headers: dict[str, str] | None = None) -> None:
    """Send `requests` GETs with `concurrency` workers over keep-alive connections, each with `headers` (e.g. the
    Authorization an authorizer wants) and `host` as the Host header when given."""
    url, host = loopback_host(url, host)
    headers = {**(headers or {}), **({"Host": host} if host else {})} or None
    remaining = iter(range(requests))
    connector = aiohttp.TCPConnector(limit=concurrency)
    try:
        async with aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=60)) as session:

            async def worker() -> None:
                for _ in remaining:
                    started = time.perf_counter()
                    async with session.get(url, headers=headers) as response:
                        body = await response.read()
                    latency = (time.perf_counter() - started) * 1000
                    handled = on_response(response.status, {k.lower(): v for k, v in response.headers.items()},
                                          body, latency)
                    if handled is not None:
                        await handled
                    if progress is not None:
                        progress(1)

            await asyncio.gather(*(worker() for _ in range(concurrency)))
    except (aiohttp.ClientError, TimeoutError) as error:
        raise UserError(f"{url}: {type(error).__name__}: {error or 'timed out'}") from None


def parse_headers(values: tuple[str, ...] | list[str]) -> dict[str, str]:
    """`--header 'Name: value'` options as a mapping; raises UserError on one without a colon."""
    headers: dict[str, str] = {}
    for value in values:
        name, colon, text = value.partition(":")
        if not colon or not name.strip():
            raise UserError(f"--header {value!r}: write NAME: VALUE (e.g. --header 'Authorization: allow')")
        headers[name.strip()] = text.strip()
    return headers


def origin(url: str) -> str:
    """`scheme://host:port` of a URL."""
    match = re.match(r"^(https?://[^/]+)", url)
    if match is None:
        raise UserError(f"{url}: not an http(s) URL")
    return match.group(1)


def _fetch_json(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=10) as response:
        return json.loads(response.read())


def is_emulator(url: str) -> bool:
    """Does a lambda-canary emulator answer at this URL's origin? A server that cannot be reached at all is a
    UserError naming the cause (connection refused, unknown host, timeout), not a "no"."""
    health = loopback_host(origin(url), None)[0] + "/_lambda_canary/health"
    try:
        return _fetch_json(health).get("status") == "ok"
    except urllib.error.HTTPError:
        return False
    except urllib.error.URLError as error:
        reason = error.reason
        cause = reason.strerror if isinstance(reason, OSError) and reason.strerror else str(reason)
        raise UserError(f"{origin(url)}: cannot connect: {cause.lower()} (is the emulator or stage running "
                        "there?)") from None
    except (OSError, ValueError):
        return False


class DecisionLog:
    """Matches responses to a running emulator's decisions by request id, a batch at a time."""

    def __init__(self, url: str, by: str, result: SplitResult) -> None:
        self.endpoint = loopback_host(origin(url), None)[0] + "/_lambda_canary/decisions"
        self.by = by
        self.result = result
        self.pending: list[tuple[int, float, str | None]] = []
        self._lock = asyncio.Lock()

    async def add(self, status: int, headers: dict[str, str], _body: bytes, latency: float) -> None:
        """Hold a response; resolve the held ones when a batch is full."""
        self.pending.append((status, latency, headers.get("x-amzn-requestid")))
        if len(self.pending) >= DECISION_BATCH:
            await self.resolve()

    async def resolve(self) -> None:
        """Fetch the latest decisions and classify every held response."""
        async with self._lock:
            held, self.pending = self.pending, []
            if not held:
                return
            async with aiohttp.ClientSession() as session, \
                    session.get(self.endpoint, params={"last": str(len(held) * 2 + 100)}) as response:
                decisions = (await response.json())["decisions"]
            by_id = {record["request_id"]: record for record in decisions}
            for status, latency, request_id in held:
                record = by_id.get(request_id or "")
                key = _record_key(record, self.by) if record else UNKNOWN
                self.result.samples.append(Sample(key, status, latency, request_id))


def split_url(url: str, requests: int, concurrency: int, *, by: str = "variant", classifier: Classifier | None,
              progress: Callable[[int], None] | None = None, host: str | None = None,
              headers: dict[str, str] | None = None) -> SplitResult:
    """Run a split against a URL: a running emulator (decision log) or a real stage (classifier)."""
    result = SplitResult(by=by)
    if classifier is not None:

        def classify(status: int, headers: dict[str, str], body: bytes, latency: float) -> None:
            result.samples.append(Sample(classifier.classify(headers, body), status, latency,
                                         headers.get("x-amzn-requestid")))

        asyncio.run(send(url, requests, concurrency, classify, progress, host=host, headers=headers))
        return result
    if not is_emulator(url):
        raise UserError(f"{url} is not a lambda-canary emulator; name how to tell the variants apart with "
                        "--variant-from body.FIELD|header.NAME and --canary-pattern REGEX")
    log = DecisionLog(url, by, result)

    async def run() -> None:
        await send(url, requests, concurrency, log.add, progress, host=host, headers=headers)
        await log.resolve()

    asyncio.run(run())
    return result


def choose_api(apis: list[Any], stage: str | None, host: str | None, source: str) -> tuple[Any, str]:
    """The REST API and stage a config target's requests go to: by `--host {apiId}.execute-api.localhost` when
    several APIs are served, and by `--stage` when the API has several stages."""
    if host is not None:
        match = re.match(r"^([a-z0-9]+)\.execute-api\.", host.lower())
        chosen = [api for api in apis if match is not None and api.id == match.group(1)]
        if not chosen:
            raise UserError(f"--host {host}: no REST API of {source} has that id; use "
                            f"{' or '.join(f'{api.id}.execute-api.localhost ({api.name})' for api in apis)}")
        apis = chosen
    if stage is not None:
        having = [api for api in apis if stage in api.stages]
        if not having:
            known = sorted({name for api in apis for name in api.stages})
            raise UserError(f"{source}: no stage {stage!r} (stages: {', '.join(known) or 'none defined'})")
        apis = having
    if len(apis) != 1:
        choices = ", ".join(f"--host {api.id}.execute-api.localhost ({api.name})" for api in apis)
        what = f"stage {stage!r}" if stage else "a stage"
        raise UserError(f"{source}: {len(apis)} REST APIs have {what}; pick one with {choices}")
    stages = apis[0].stages
    if stage is None:
        if len(stages) != 1:
            raise UserError(f"{source}: {apis[0].name} has {len(stages) or 'no'} stages; pick one with --stage "
                            f"({', '.join(stages) or 'none defined'})")
        stage = next(iter(stages))
    return apis[0], stage


def split_config(config: Path, path: str, requests: int, concurrency: int, *, stage: str | None, by: str | None,
                 seed: int | None, backend: str | None, canary_key: str | None = None,
                 progress: Callable[[int], None] | None = None, headers: dict[str, str] | None = None,
                 host: str | None = None, gateway_log: Callable[[str], None] | None = None,
                 max_memory: int | None = None) -> tuple[SplitResult, SplitPlan]:
    """Run the config's stack in-process and split against it. With no `by`, classify by what differs in the
    stage's chain (chain.infer_split); returns the result and the plan (grouping, canary group, expected share).
    The gateway's execution-log lines go to `gateway_log` (dropped when None)."""
    from emulator.formats.load import load_config
    from emulator.stack import StackOptions
    from emulator.testing import StackThread
    from emulator.verify.chain import chain_routes, infer_split

    options = StackOptions(port=0, seed=seed, backend=backend, access_log=False, function_logs=False,
                           max_memory=max_memory)
    with StackThread(load_config(config, stage=stage), options, log=gateway_log or _drop) as running:
        assert running.stack is not None
        api, stage_name = choose_api(list(running.stack.state.apis.values()), stage, host, str(config))
        try:
            plan = infer_split(chain_routes(api, stage_name, running.stack.lambdas, path), by, canary_key)
        except UserError as error:
            raise UserError(f"{config}: stage {stage_name}, GET {path}: {error.message}") from None
        records: dict[str, Any] = {}
        running.stack.gateway.observers.append(lambda record: records.__setitem__(record.request_id, record))
        result = SplitResult(by=plan.by, canary_key=plan.canary_key, expected_percent=plan.expected_percent)
        held: list[tuple[int, float, str | None]] = []

        def hold(status: int, headers: dict[str, str], _body: bytes, latency: float) -> None:
            held.append((status, latency, headers.get("x-amzn-requestid")))

        api_host = f"{api.id}.execute-api.localhost" if host is not None or len(running.stack.state.apis) > 1 \
            else None
        # The client on its own thread and loop, not on the stack's: each side's system calls release the GIL to
        # the other, so the two use both cores (measured 2-4x the rate of one loop serving both).
        aio.run(fast_get.send(f"{running.url}/{stage_name}{path}", requests, concurrency, hold, progress,
                              host=api_host, headers=headers))
        for status, latency, request_id in held:
            record = records.get(request_id or "")
            key = _record_key(record, plan.by) if record is not None else UNKNOWN
            result.samples.append(Sample(key, status, latency, request_id))
    return result, plan


def _drop(_line: str) -> None:
    """A log sink that keeps nothing."""
