"""Lambda's CloudWatch metrics (namespace `AWS/Lambda`), counted as invocations happen.

Names and dimensions as Lambda publishes them (https://docs.aws.amazon.com/lambda/latest/dg/monitoring-metrics.html;
the dimension sets are those of aws-cdk-lib's generated `LambdaMetrics`, aws-lambda/lib/lambda-canned-metrics):
`FunctionName`, `Resource` (the function, `function:version` or `function:alias` invoked) and `ExecutedVersion`
(the version an alias ran). `Runtime` is lambda-canary's own dimension: CloudWatch has none, but a runtime
migration wants each metric per runtime.

The hot path only adds to integers and to one bucket of a fixed histogram: no allocation per invocation.
`Max Memory Used` is read from the live environments when the metrics are read, never during an invocation.
"""

from __future__ import annotations

import bisect
import math
from dataclasses import dataclass, field

from emulator.cpus import ConcurrencyMeter

# Histogram bucket upper bounds in ms: 1.05x apart from 0.01 ms to ~1000 s, so a quantile read from the buckets is
# within 5% of the sample's (linear interpolation inside the bucket).
BOUNDS: tuple[float, ...] = tuple(0.01 * 1.05 ** i for i in range(int(math.log(1e8) / math.log(1.05)) + 2))
QUANTILES = (0.5, 0.9, 0.99)


class Histogram:
    """A fixed log-bucket histogram: count, sum, max and quantiles within 5%."""

    __slots__ = ("buckets", "count", "maximum", "total")

    def __init__(self) -> None:
        self.buckets = [0] * (len(BOUNDS) + 1)
        self.count = 0
        self.total = 0.0
        self.maximum = 0.0

    def observe(self, value: float) -> None:
        """Add one value (ms)."""
        self.buckets[bisect.bisect_left(BOUNDS, value)] += 1
        self.count += 1
        self.total += value
        if value > self.maximum:
            self.maximum = value

    def quantile(self, q: float) -> float:
        """The q-quantile, interpolated inside its bucket (NaN when empty)."""
        if self.count == 0:
            return math.nan
        rank = q * self.count
        seen = 0
        for index, count in enumerate(self.buckets):
            if count and seen + count >= rank:
                low = BOUNDS[index - 1] if index > 0 else 0.0
                high = BOUNDS[index] if index < len(BOUNDS) else self.maximum
                return min(low + (high - low) * max(rank - seen, 0) / count, self.maximum)
            seen += count
        return self.maximum

    def summary(self) -> dict[str, float]:
        """JSON-ready: count, sum, max, p50, p90, p99."""
        out: dict[str, float] = {"count": self.count, "sum": round(self.total, 3), "max": round(self.maximum, 3)}
        for q in QUANTILES:
            value = self.quantile(q)
            out[f"p{round(q * 100)}"] = round(value, 3) if not math.isnan(value) else math.nan
        return out


@dataclass
class FunctionSeries:
    """The metrics of one (FunctionName, Resource, ExecutedVersion, Runtime)."""

    invocations: int = 0
    errors: int = 0
    throttles: int = 0
    concurrent: int = 0
    max_concurrent: int = 0
    duration: Histogram = field(default_factory=Histogram)
    init_duration: Histogram = field(default_factory=Histogram)


SeriesKey = tuple[str, str, str, str]  # FunctionName, Resource, ExecutedVersion, Runtime


class LambdaMetrics:
    """Counters per function, resource, executed version and runtime."""

    def __init__(self) -> None:
        self.series: dict[SeriesKey, FunctionSeries] = {}
        self.in_flight = ConcurrencyMeter()  # every series together, for the CPU placement (emulator.cpus)

    def _series(self, key: SeriesKey) -> FunctionSeries:
        series = self.series.get(key)
        if series is None:
            series = self.series[key] = FunctionSeries()
        return series

    def started(self, key: SeriesKey) -> FunctionSeries:
        """An invocation is admitted and running (ConcurrentExecutions counts it)."""
        self.in_flight.enter()
        series = self._series(key)
        series.concurrent += 1
        if series.concurrent > series.max_concurrent:
            series.max_concurrent = series.concurrent
        return series

    def finished(self, series: FunctionSeries, duration_ms: float, init_ms: float | None, error: bool) -> None:
        """An invocation ended: Invocations, Errors, Duration and (on a cold start) Init Duration."""
        self.in_flight.leave()
        series.concurrent -= 1
        series.invocations += 1
        if error:
            series.errors += 1
        series.duration.observe(duration_ms)
        if init_ms is not None:
            series.init_duration.observe(init_ms)

    def abandoned(self, series: FunctionSeries) -> None:
        """An admitted invocation that raised (a backend failure): no longer running, not counted as run."""
        self.in_flight.leave()
        series.concurrent -= 1

    def throttled(self, key: SeriesKey) -> None:
        """Throttles: an invoke refused for want of concurrency (not counted in Invocations)."""
        self._series(key).throttles += 1

    def reset(self) -> None:
        """Forget every count."""
        self.series.clear()
