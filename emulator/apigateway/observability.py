"""Decision records, the access-log line and per-variant counters; none of it touches the response."""

from __future__ import annotations

from collections import Counter, defaultdict, deque
from dataclasses import asdict, dataclass
from typing import Any


@dataclass
class DecisionRecord:
    """What the gateway decided for one request."""

    request_id: str
    api_id: str = "-"
    stage: str = "-"
    variant: str = "-"
    deployment_id: str = "-"
    method: str = "-"
    path: str = "-"  # within the stage; the request's whole path when no stage matched
    function: str | None = None
    qualifier: str | None = None
    executed_version: str | None = None
    runtime: str | None = None
    authorizer: str | None = None  # the authorizer function that decided (None: no authorizer)
    authorizer_cached: bool = False
    status: int = 0
    latency_ms: float = 0.0
    integration_latency_ms: float | None = None  # the integration's own time (None: no integration was called)
    error: str | None = None

    def access_log_line(self) -> str:
        """One line per request: id, stage, variant, deployment, function, runtime, status, latency."""
        target = self.function or "-"
        if self.qualifier:
            target += f":{self.qualifier}"
        if self.executed_version and self.executed_version != self.qualifier:
            target += f" (v{self.executed_version})"
        error = f" error={self.error}" if self.error else ""
        where = f"/{self.stage}{self.path}" if self.stage != "-" else self.path  # no stage: the request's path
        return (f"{self.request_id} {self.method} {where} stage={self.stage} "
                f"variant={self.variant} deployment={self.deployment_id} function={target} "
                f"runtime={self.runtime or '-'} status={self.status} latency={self.latency_ms:.2f}ms{error}")

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        return asdict(self)


class GatewayStats:
    """Per-variant counters and the most recent decisions."""

    def __init__(self, keep_recent: int = 10000) -> None:
        self._counts: dict[tuple[str, str, str], Counter[str]] = defaultdict(Counter)
        self.recent: deque[DecisionRecord] = deque(maxlen=keep_recent)

    def record(self, decision: DecisionRecord) -> None:
        """Count one request."""
        counts = self._counts[(decision.api_id, decision.stage, decision.variant)]
        counts["requests"] += 1
        counts[f"status_{decision.status // 100}xx"] += 1
        if decision.runtime:
            counts[f"runtime:{decision.runtime}"] += 1
        if decision.function:
            counts[f"function:{decision.function}"] += 1
        self.recent.append(decision)

    def snapshot(self) -> dict[str, Any]:
        """Counters as nested JSON: api -> stage -> variant -> counters."""
        tree: dict[str, Any] = {}
        for (api_id, stage, variant), counts in sorted(self._counts.items()):
            tree.setdefault(api_id, {}).setdefault(stage, {})[variant] = dict(counts)
        return {"apis": tree}

    def reset(self) -> None:
        """Forget every count and decision."""
        self._counts.clear()
        self.recent.clear()
