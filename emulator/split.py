"""Send requests at a stack or a deployed stage and classify each response by variant.

A config file runs in-process and each response is classified from the gateway's decision record; a URL is
classified from the running emulator's decision log, or, on a real stage, from a body field or header.
"""

from __future__ import annotations

import asyncio
import json
import re
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp

from emulator.errors import UserError


@dataclass
class Sample:
    """One request's outcome."""

    key: str
    status: int
    latency_ms: float
    request_id: str | None = None
    error: bool = False


@dataclass
class SplitResult:
    """Every sample of a run, in the order the requests completed."""

    samples: list[Sample] = field(default_factory=list)
    canary_key: str = "canary"
    expected_percent: float | None = None
    by: str = "variant"

    @property
    def n(self) -> int:
        """Requests sent."""
        return len(self.samples)

    @property
    def canary_count(self) -> int:
        """Requests classified as the canary key."""
        return sum(1 for sample in self.samples if sample.key == self.canary_key)

    def outcomes(self) -> list[bool]:
        """Per request: was it the canary?"""
        return [sample.key == self.canary_key for sample in self.samples]

    def groups(self) -> list[str]:
        """Variant keys seen, canary last."""
        seen = sorted({sample.key for sample in self.samples} - {self.canary_key})
        return [*seen, self.canary_key]


@dataclass(frozen=True)
class Classifier:
    """How a URL target's responses are sorted: a body field or header, and a pattern for the canary."""

    source: str  # "decisions", "body", "header"
    name: str = ""
    canary_pattern: str = ""

    def classify(self, status: int, headers: dict[str, str], body: bytes) -> str:
        """`canary` or `base` (or the raw value when no pattern is given)."""
        value: Any = None
        if self.source == "header":
            value = headers.get(self.name.lower())
        elif self.source == "body":
            try:
                value = json.loads(body)
                for part in self.name.split("."):
                    value = value.get(part) if isinstance(value, dict) else None
            except ValueError:
                value = None
        text = "" if value is None else str(value)
        if not self.canary_pattern:
            return text or "unknown"
        return "canary" if re.search(self.canary_pattern, text) else "base"


def parse_classifier(spec: str | None, canary_pattern: str | None) -> Classifier | None:
    """`body.node` or `header.X-Version` (with --canary-pattern) into a Classifier."""
    if spec is None:
        return None
    source, _, name = spec.partition(".")
    if source not in ("body", "header") or not name:
        raise UserError(f"--variant-from {spec!r}: use body.FIELD[.FIELD] or header.NAME")
    return Classifier(source, name, canary_pattern or "")


def _record_key(record: dict[str, Any] | Any, by: str) -> str:
    get = record.get if isinstance(record, dict) else lambda name: getattr(record, name)
    if by == "variant":
        return str(get("variant"))
    if by == "version":
        return str(get("executed_version"))
    if by == "runtime":
        return str(get("runtime"))
    if by == "function":
        return str(get("function"))
    raise UserError(f"--by {by!r}: use variant, version, runtime or function")


ResponseCallback = Callable[[int, dict[str, str], bytes, float], None]


async def send(url: str, requests: int, concurrency: int, on_response: ResponseCallback,
               progress: Callable[[int], None] | None = None) -> None:
    """Send `requests` GETs with `concurrency` workers over keep-alive connections."""
    remaining = iter(range(requests))
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector) as session:

        async def worker() -> None:
            for _ in remaining:
                started = time.perf_counter()
                async with session.get(url) as response:
                    body = await response.read()
                latency = (time.perf_counter() - started) * 1000
                on_response(response.status, {k.lower(): v for k, v in response.headers.items()}, body, latency)
                if progress is not None:
                    progress(1)

        await asyncio.gather(*(worker() for _ in range(concurrency)))


def _fetch_json(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=10) as response:
        return json.loads(response.read())


def origin(url: str) -> str:
    """`scheme://host:port` of a URL."""
    match = re.match(r"^(https?://[^/]+)", url)
    if match is None:
        raise UserError(f"{url}: not an http(s) URL")
    return match.group(1)


def is_emulator(url: str) -> bool:
    """Does a lambda-canary emulator answer at this URL's origin?"""
    try:
        return _fetch_json(origin(url) + "/_lambda_canary/health").get("status") == "ok"
    except (OSError, ValueError):
        return False


def split_url(url: str, requests: int, concurrency: int, *, by: str = "variant", classifier: Classifier | None,
              progress: Callable[[int], None] | None = None) -> SplitResult:
    """Run a split against a URL: a running emulator (decision log) or a real stage (classifier)."""
    base = origin(url)
    result = SplitResult(by=by)
    pending: list[tuple[int, float, str | None]] = []
    use_decisions = classifier is None
    if use_decisions and not is_emulator(base):
        raise UserError(f"{url} is not a lambda-canary emulator; name how to tell the variants apart with "
                        "--variant-from body.FIELD|header.NAME and --canary-pattern REGEX")

    def on_response(status: int, headers: dict[str, str], body: bytes, latency: float) -> None:
        if use_decisions:
            pending.append((status, latency, headers.get("x-amzn-requestid")))
        else:
            assert classifier is not None
            result.samples.append(Sample(classifier.classify(status, headers, body), status, latency,
                                         headers.get("x-amzn-requestid"), status >= 500))

    asyncio.run(send(url, requests, concurrency, on_response, progress))
    if use_decisions:
        decisions = _fetch_json(f"{base}/_lambda_canary/decisions?last={max(requests * 2, 100)}")["decisions"]
        by_id = {record["request_id"]: record for record in decisions}
        for status, latency, request_id in pending:
            record = by_id.get(request_id or "")
            key = _record_key(record, by) if record else "unknown"
            result.samples.append(Sample(key, status, latency, request_id, status >= 500))
    return result


def split_config(config: Path, path: str, requests: int, concurrency: int, *, stage: str | None, by: str,
                 seed: int | None, backend: str | None,
                 progress: Callable[[int], None] | None = None) -> tuple[SplitResult, float | None]:
    """Run the config's stack in-process and split against it; returns the result and the configured percent."""
    from emulator.config import load_config
    from emulator.stack import StackOptions
    from emulator.testing import StackThread

    options = StackOptions(port=0, seed=seed, backend=backend, access_log=False, function_logs=False)
    with StackThread(load_config(config, stage=stage), options) as running:
        assert running.stack is not None
        apis = list(running.stack.state.apis.values())
        if len(apis) != 1:
            raise UserError(f"{config}: split needs exactly one REST API (found {len(apis)})")
        stages = apis[0].stages
        stage_name = stage or (next(iter(stages)) if len(stages) == 1 else None)
        if stage_name is None or stage_name not in stages:
            raise UserError(f"{config}: pick a stage with --stage ({', '.join(stages) or 'none defined'})")
        canary = stages[stage_name].canary_settings
        configured = canary.percent_traffic if canary is not None else 0.0
        records: dict[str, Any] = {}
        running.stack.gateway.observers.append(lambda record: records.__setitem__(record.request_id, record))
        result = SplitResult(by=by)
        pending: list[tuple[int, float, str | None]] = []

        def on_response(status: int, headers: dict[str, str], body: bytes, latency: float) -> None:
            pending.append((status, latency, headers.get("x-amzn-requestid")))

        asyncio.run(send(f"{running.url}/{stage_name}{path}", requests, concurrency, on_response, progress))
        for status, latency, request_id in pending:
            record = records.get(request_id or "")
            key = _record_key(record, by) if record is not None else "unknown"
            result.samples.append(Sample(key, status, latency, request_id, status >= 500))
    return result, configured if by == "variant" else None
