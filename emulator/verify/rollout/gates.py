"""Health gates: is the canary as healthy as the base over one step? Two one-sided tests, as Kayenta judges.

- Error rate: Fisher's exact test of two proportions (scipy.stats.fisher_exact, alternative "greater": the canary's
  odds of an error exceed the base's). The gate fails when p < significance AND the observed increase of the
  error rate exceeds `maxErrorRateIncrease` (statistically and practically significant).
- Latency: the Mann-Whitney U rank test (scipy.stats.mannwhitneyu, alternative "greater") of the canary's latencies
  divided by `maxLatencyRatio` against the base's: it fails when the canary is stochastically slower than
  `maxLatencyRatio` times the base, at the stated significance.

False alarms: when the canary is healthy (its error rate no higher than the base's; its latency no more than
`maxLatencyRatio` times the base's, stochastically), each test rejects with probability at most `significance`
(Fisher's test is exact and conservative; Mann-Whitney's normal approximation is accurate at the minimum samples
allowed here), so a rollout of k judged steps raises a false alarm with probability at most 2·k·significance
(union bound). Fewer than `minRequests` on either side is no judgement: the step gathers more traffic first.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy.stats import fisher_exact, mannwhitneyu

ERROR_RATE = "errorRate"
LATENCY = "latency"


@dataclass(frozen=True)
class GateSettings:
    """Thresholds and the tests' significance (config `rollout:`)."""

    significance: float = 0.001
    max_error_rate_increase: float = 0.01
    max_latency_ratio: float = 1.5
    min_requests: int = 50


@dataclass
class Sample:
    """One side's requests during a step: whether each failed (5xx) and its latency (ms)."""

    failed: list[bool] = field(default_factory=list)
    latency_ms: list[float] = field(default_factory=list)

    def add(self, failed: bool, latency_ms: float) -> None:
        """One request."""
        self.failed.append(failed)
        self.latency_ms.append(latency_ms)

    @property
    def n(self) -> int:
        """Requests."""
        return len(self.failed)

    @property
    def errors(self) -> int:
        """Failed requests."""
        return sum(self.failed)

    def describe(self) -> dict[str, Any]:
        """JSON-ready: n, errors, error rate, latency p50/p90/p99."""
        out: dict[str, Any] = {"n": self.n, "errors": self.errors,
                               "errorRate": round(self.errors / self.n, 6) if self.n else None}
        if self.latency_ms:
            p50, p90, p99 = np.percentile(self.latency_ms, [50, 90, 99])
            out.update(latencyP50Ms=round(float(p50), 3), latencyP90Ms=round(float(p90), 3),
                       latencyP99Ms=round(float(p99), 3))
        return out


@dataclass
class Judgement:
    """One gate's verdict over one step."""

    metric: str
    passed: bool
    p_value: float
    significance: float
    test: str
    canary: dict[str, Any]
    base: dict[str, Any]
    detail: str

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        return {"metric": self.metric, "passed": self.passed, "pValue": self.p_value,
                "significance": self.significance, "test": self.test, "canary": self.canary, "base": self.base,
                "detail": self.detail}


def judge_errors(canary: Sample, base: Sample, settings: GateSettings) -> Judgement:
    """The error-rate gate."""
    ce, cn, be, bn = canary.errors, canary.n, base.errors, base.n
    p_value = float(fisher_exact([[ce, cn - ce], [be, bn - be]], alternative="greater").pvalue)
    increase = ce / cn - be / bn
    failed = p_value < settings.significance and increase > settings.max_error_rate_increase
    detail = (f"canary {ce}/{cn} errors ({ce / cn:.2%}), base {be}/{bn} ({be / bn:.2%}): increase {increase:+.2%} "
              f"(allowed {settings.max_error_rate_increase:.2%}); Fisher exact one-sided p={p_value:.3g} "
              f"{'<' if p_value < settings.significance else '>='} {settings.significance:g}")
    return Judgement(ERROR_RATE, not failed, p_value, settings.significance, "Fisher exact, one-sided (greater)",
                     canary.describe(), base.describe(), detail)


def judge_latency(canary: Sample, base: Sample, settings: GateSettings) -> Judgement:
    """The latency gate."""
    ratio = settings.max_latency_ratio
    scaled = np.asarray(canary.latency_ms) / ratio
    p_value = float(mannwhitneyu(scaled, np.asarray(base.latency_ms), alternative="greater").pvalue)
    failed = p_value < settings.significance
    c, b = canary.describe(), base.describe()
    detail = (f"canary p50/p90/p99 {c['latencyP50Ms']:.2f}/{c['latencyP90Ms']:.2f}/{c['latencyP99Ms']:.2f} ms "
              f"(n={canary.n}), base {b['latencyP50Ms']:.2f}/{b['latencyP90Ms']:.2f}/{b['latencyP99Ms']:.2f} ms "
              f"(n={base.n}); Mann-Whitney U one-sided, canary/{ratio:g} slower than base: p={p_value:.3g} "
              f"{'<' if failed else '>='} {settings.significance:g}")
    return Judgement(LATENCY, not failed, p_value, settings.significance,
                     f"Mann-Whitney U, one-sided (canary/{ratio:g} greater)", c, b, detail)


def judge(canary: Sample, base: Sample, settings: GateSettings) -> list[Judgement]:
    """Both gates, error rate first."""
    return [judge_errors(canary, base, settings), judge_latency(canary, base, settings)]


def enough(canary: Sample, base: Sample, settings: GateSettings) -> bool:
    """Both sides reached the minimum sample."""
    return canary.n >= settings.min_requests and base.n >= settings.min_requests
