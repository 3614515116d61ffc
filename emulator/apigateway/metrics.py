"""API Gateway's and Lambda's CloudWatch metrics, served as Prometheus text and as JSON.

`AWS/ApiGateway` (https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-metrics-and-dimensions.html):
Count, 4XXError, 5XXError, Latency (request in to response out) and IntegrationLatency (request relayed to the
backend until its response), by the dimensions `ApiName` and `Stage`. A stage's canary requests get their own
metrics (canary-release.html: "the canary release has its own logs and metrics generated for all canary
requests"); their `Stage` value here is `<stage>/Canary`, the suffix AWS gives the canary's log groups
(reference §2.7). That the CloudWatch dimension value is the same is UNCONFIRMED. Each request counts once:
base requests under `<stage>`, canary requests under `<stage>/Canary`.

`AWS/Lambda` comes from `emulator.lambda_service.metrics`. The exposition uses the Prometheus client library
(`prometheus_client`): each family is named `AWS_<Service>_<Metric>`, times are milliseconds as CloudWatch's,
durations are summaries with the p50, p90 and p99 quantiles.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from emulator.apigateway.model import ApiGatewayState
from emulator.apigateway.observability import DecisionRecord
from emulator.lambda_service.metrics import QUANTILES, Histogram
from emulator.lambda_service.service import LambdaService

if TYPE_CHECKING:  # prometheus_client is imported on the first scrape, not to start a stack
    from prometheus_client.core import Metric, SummaryMetricFamily

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
CANARY_SUFFIX = "/Canary"
GATEWAY_LABELS = ["ApiName", "Stage"]
LAMBDA_LABELS = ["FunctionName", "Resource", "ExecutedVersion", "Runtime"]


@dataclass
class StageSeries:
    """The metrics of one (api, stage, variant)."""

    count: int = 0
    errors_4xx: int = 0
    errors_5xx: int = 0
    latency: Histogram = field(default_factory=Histogram)
    integration_latency: Histogram = field(default_factory=Histogram)


class GatewayMetrics:
    """Counts every answered request; reads Lambda's counters when asked."""

    def __init__(self, state: Callable[[], ApiGatewayState], lambdas: LambdaService) -> None:
        self.state = state  # the gateway's current state (for API names)
        self.lambdas = lambdas
        self.series: dict[tuple[str, str, str], StageSeries] = {}
        self._registry: Any = None  # prometheus_client's, made (and the library imported) on the first scrape

    def record(self, record: DecisionRecord) -> None:
        """Count one request (called once per request, after its response is built)."""
        key = (record.api_id, record.stage, record.variant)
        series = self.series.get(key)
        if series is None:
            series = self.series[key] = StageSeries()
        series.count += 1
        status = record.status
        if 400 <= status < 500:
            series.errors_4xx += 1
        elif status >= 500:
            series.errors_5xx += 1
        series.latency.observe(record.latency_ms)
        if record.integration_latency_ms is not None:
            series.integration_latency.observe(record.integration_latency_ms)

    def reset(self) -> None:
        """Forget every count (gateway and Lambda)."""
        self.series.clear()
        self.lambdas.metrics.reset()

    # ---- reading ---------------------------------------------------------------------------
    def _gateway_rows(self) -> Iterator[tuple[list[str], StageSeries]]:
        for (api_id, stage, variant), series in sorted(self.series.items()):
            api = self.state().apis.get(api_id)
            name = api.name if api is not None else api_id
            yield [name, stage + CANARY_SUFFIX if variant == "canary" else stage], series

    def _lambda_rows(self) -> Iterator[tuple[list[str], Any]]:
        for key, series in sorted(self.lambdas.metrics.series.items()):
            yield list(key), series

    def _memory_rows(self) -> Iterator[tuple[list[str], int]]:
        peaks: dict[tuple[str, str, str], int] = {}
        for pool in self.lambdas.pools():
            version = pool.version
            key = (version.function_name, version.version, version.runtime.name)
            peaks[key] = max(peaks.get(key, 0), pool.max_memory_mb())
        for key, peak in sorted(peaks.items()):
            yield list(key), peak

    def collect(self) -> Iterator[Metric]:
        """The Prometheus collector protocol: every family, built when scraped."""
        from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, SummaryMetricFamily

        count = CounterMetricFamily("AWS_ApiGateway_Count", "API requests (Count)", labels=GATEWAY_LABELS)
        e4 = CounterMetricFamily("AWS_ApiGateway_4XXError", "Client-side errors (4XXError)", labels=GATEWAY_LABELS)
        e5 = CounterMetricFamily("AWS_ApiGateway_5XXError", "Server-side errors (5XXError)", labels=GATEWAY_LABELS)
        latency = SummaryMetricFamily("AWS_ApiGateway_Latency", "Latency, ms", labels=GATEWAY_LABELS)
        integration = SummaryMetricFamily("AWS_ApiGateway_IntegrationLatency", "IntegrationLatency, ms",
                                          labels=GATEWAY_LABELS)
        for labels, series in self._gateway_rows():
            count.add_metric(labels, series.count)
            e4.add_metric(labels, series.errors_4xx)
            e5.add_metric(labels, series.errors_5xx)
            _summary(latency, GATEWAY_LABELS, labels, series.latency)
            _summary(integration, GATEWAY_LABELS, labels, series.integration_latency)
        yield from (count, e4, e5, latency, integration)

        invocations = CounterMetricFamily("AWS_Lambda_Invocations", "Invocations", labels=LAMBDA_LABELS)
        errors = CounterMetricFamily("AWS_Lambda_Errors", "Invocations that ended in a function error",
                                     labels=LAMBDA_LABELS)
        throttles = CounterMetricFamily("AWS_Lambda_Throttles", "Invokes refused for want of concurrency",
                                        labels=LAMBDA_LABELS)
        concurrent = GaugeMetricFamily("AWS_Lambda_ConcurrentExecutions", "Invocations running now",
                                       labels=LAMBDA_LABELS)
        peak = GaugeMetricFamily("AWS_Lambda_ConcurrentExecutions_Maximum",
                                 "ConcurrentExecutions, Maximum statistic since the start", labels=LAMBDA_LABELS)
        duration = SummaryMetricFamily("AWS_Lambda_Duration", "Duration, ms", labels=LAMBDA_LABELS)
        init = SummaryMetricFamily("AWS_Lambda_InitDuration", "Init Duration of cold starts (REPORT line), ms",
                                   labels=LAMBDA_LABELS)
        for labels, series in self._lambda_rows():
            invocations.add_metric(labels, series.invocations)
            errors.add_metric(labels, series.errors)
            throttles.add_metric(labels, series.throttles)
            concurrent.add_metric(labels, series.concurrent)
            peak.add_metric(labels, series.max_concurrent)
            _summary(duration, LAMBDA_LABELS, labels, series.duration)
            _summary(init, LAMBDA_LABELS, labels, series.init_duration)
        memory = GaugeMetricFamily("AWS_Lambda_MaxMemoryUsed", "Max Memory Used (REPORT line), MB",
                                   labels=["FunctionName", "ExecutedVersion", "Runtime"])
        for labels, value in self._memory_rows():
            memory.add_metric(labels, value)
        yield from (invocations, errors, throttles, concurrent, peak, duration, init, memory)

    def prometheus(self) -> bytes:
        """The Prometheus text exposition."""
        from prometheus_client import CollectorRegistry, generate_latest

        if self._registry is None:
            self._registry = CollectorRegistry(auto_describe=False)
            self._registry.register(self)  # a custom collector: anything with collect()
        return generate_latest(self._registry)

    def as_json(self) -> dict[str, Any]:
        """The same metrics as JSON, under CloudWatch's namespaces, one entry per dimension set."""
        gateway = [{"dimensions": dict(zip(GATEWAY_LABELS, labels, strict=True)), "Count": series.count,
                    "4XXError": series.errors_4xx, "5XXError": series.errors_5xx,
                    "Latency": _finite(series.latency.summary()),
                    "IntegrationLatency": _finite(series.integration_latency.summary())}
                   for labels, series in self._gateway_rows()]
        lambdas = [{"dimensions": dict(zip(LAMBDA_LABELS, labels, strict=True)), "Invocations": series.invocations,
                    "Errors": series.errors, "Throttles": series.throttles,
                    "ConcurrentExecutions": series.concurrent, "ConcurrentExecutionsMaximum": series.max_concurrent,
                    "Duration": _finite(series.duration.summary()),
                    "InitDuration": _finite(series.init_duration.summary())}
                   for labels, series in self._lambda_rows()]
        memory = [{"dimensions": dict(zip(["FunctionName", "ExecutedVersion", "Runtime"], labels, strict=True)),
                   "MaxMemoryUsed": value} for labels, value in self._memory_rows()]
        return {"AWS/ApiGateway": gateway, "AWS/Lambda": lambdas, "AWS/Lambda MaxMemoryUsed": memory}


def _summary(family: SummaryMetricFamily, names: list[str], labels: list[str], histogram: Histogram) -> None:
    """A summary sample set: quantiles (when there is data), _count and _sum."""
    if histogram.count:
        for q in QUANTILES:
            family.add_sample(family.name, {**dict(zip(names, labels, strict=True)), "quantile": str(q)},
                              histogram.quantile(q))
    family.add_metric(labels, histogram.count, histogram.total)


def _finite(summary: dict[str, float]) -> dict[str, float | None]:
    """JSON has no NaN: an empty histogram's quantiles are null."""
    return {key: (None if isinstance(value, float) and math.isnan(value) else value) for key, value in summary.items()}
