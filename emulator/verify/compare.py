"""`lambda-canary compare FILE URL`: the same requests to the local emulator and to a deployed stage; report
differences in status, headers, body shape and split."""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from scipy.stats import fisher_exact

from emulator.errors import UserError
from emulator.verify.split import Classifier, choose_api, is_emulator, loopback_host, origin, send

# Headers that differ on every response, or by server, and say nothing about behaviour.
VOLATILE_HEADERS = frozenset({"date", "x-amzn-requestid", "x-amz-apigw-id", "x-amzn-trace-id", "content-length",
                              "server", "connection", "keep-alive", "via", "x-cache", "x-amz-cf-pop", "x-amz-cf-id"})


def shape(value: Any) -> Any:
    """The JSON shape of a value: keys and types, not the values themselves."""
    if isinstance(value, dict):
        return {key: shape(item) for key, item in sorted(value.items())}
    if isinstance(value, list):
        return [shape(value[0])] if value else []
    return type(value).__name__


def body_shape(body: bytes) -> str:
    """A canonical text for a body's shape (`text` when it is not JSON)."""
    try:
        return json.dumps(shape(json.loads(body)), sort_keys=True)
    except ValueError:
        return "text"


@dataclass
class SideSummary:
    """What one side answered."""

    name: str
    statuses: Counter[int] = field(default_factory=Counter)
    header_names: Counter[frozenset[str]] = field(default_factory=Counter)
    shapes: Counter[str] = field(default_factory=Counter)
    canary: int = 0
    total: int = 0

    def add(self, status: int, headers: dict[str, str], body: bytes, is_canary: bool) -> None:
        """Count one response."""
        self.total += 1
        self.statuses[status] += 1
        self.header_names[frozenset(name.lower() for name in headers) - VOLATILE_HEADERS] += 1
        self.shapes[body_shape(body)] += 1
        self.canary += int(is_canary)


def differences(local: SideSummary, remote: SideSummary, alpha: float) -> list[str]:
    """Human-readable differences; empty when the two sides behave alike."""
    found: list[str] = []
    if set(local.statuses) != set(remote.statuses):
        found.append(f"status codes: {local.name} {dict(local.statuses)} vs {remote.name} {dict(remote.statuses)}")
    local_headers = set().union(*local.header_names) if local.header_names else set()
    remote_headers = set().union(*remote.header_names) if remote.header_names else set()
    if local_headers != remote_headers:
        only_local, only_remote = sorted(local_headers - remote_headers), sorted(remote_headers - local_headers)
        found.append(f"headers: only {local.name}: {only_local or '-'}; only {remote.name}: {only_remote or '-'}")
    if set(local.shapes) != set(remote.shapes):
        only_local = sorted(set(local.shapes) - set(remote.shapes))
        only_remote = sorted(set(remote.shapes) - set(local.shapes))
        found.append(f"body shape: only {local.name}: {only_local or '-'}; only {remote.name}: {only_remote or '-'}")
    table = [[local.canary, local.total - local.canary], [remote.canary, remote.total - remote.canary]]
    p_value = float(fisher_exact(table).pvalue) if local.total and remote.total else 1.0
    if p_value < alpha:
        found.append(f"split: canary {local.canary}/{local.total} on {local.name} vs {remote.canary}/{remote.total} "
                     f"on {remote.name} (Fisher exact p={p_value:.2g} < alpha={alpha:g})")
    return found


def compare(config: Path, url: str, path: str, requests: int, concurrency: int, *, stage: str | None,
            classifier: Classifier | None, seed: int | None, alpha: float,
            host: str | None = None, max_memory: int | None = None) -> tuple[SideSummary, SideSummary]:
    """Run the config locally and send the same requests to both sides (`host`: the Host header that picks the
    API, `{apiId}.execute-api.localhost`, on both)."""
    from emulator.stack import StackOptions
    from emulator.testing import StackThread

    remote_is_emulator = classifier is None and is_emulator(url)
    if classifier is None and not remote_is_emulator:
        raise UserError(f"{url} is not a lambda-canary emulator; name how to tell its variants apart with "
                        "--variant-from body.FIELD|header.NAME and --canary-pattern REGEX")
    local, remote = SideSummary("local"), SideSummary(url)
    options = StackOptions(port=0, seed=seed, access_log=False, function_logs=False, max_memory=max_memory)
    with StackThread(config, options, log=_drop) as running:
        assert running.stack is not None
        api, stage_name = choose_api(list(running.stack.state.apis.values()), stage, host, str(config))
        local_host = f"{api.id}.execute-api.localhost" if host is not None or len(running.stack.state.apis) > 1 \
            else None
        variants: dict[str, str] = {}
        running.stack.gateway.observers.append(lambda record: variants.__setitem__(record.request_id, record.variant))

        def on_local(status: int, headers: dict[str, str], body: bytes, _latency: float) -> None:
            local.add(status, headers, body, variants.get(headers.get("x-amzn-requestid", "")) == "canary")

        asyncio.run(send(f"{running.url}/{stage_name}{path}", requests, concurrency, on_local, host=local_host))
    remote_url = url.rstrip("/") + path
    remote_ids: list[tuple[int, dict[str, str], bytes]] = []

    def on_remote(status: int, headers: dict[str, str], body: bytes, _latency: float) -> None:
        if classifier is not None:
            remote.add(status, headers, body, classifier.classify(headers, body) == "canary")
        else:
            remote_ids.append((status, headers, body))

    asyncio.run(send(remote_url, requests, concurrency, on_remote, host=host))
    if classifier is None:
        decided = _emulator_decisions(url, requests) if remote_is_emulator else {}
        for status, headers, body in remote_ids:
            remote.add(status, headers, body, decided.get(headers.get("x-amzn-requestid", "")) == "canary")
    return local, remote


def _drop(_line: str) -> None:
    """The local side's gateway log is not shown: the differences say what differs."""


def _emulator_decisions(url: str, requests: int) -> dict[str, str]:
    import urllib.request

    endpoint = loopback_host(origin(url), None)[0]
    with urllib.request.urlopen(f"{endpoint}/_lambda_canary/decisions?last={requests * 2}", timeout=10) as response:
        return {record["request_id"]: record["variant"] for record in json.loads(response.read())["decisions"]}
