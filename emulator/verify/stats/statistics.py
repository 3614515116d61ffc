"""Statistics for verifying a canary traffic split.

Each request goes to the canary independently with probability p = percentTraffic / 100, so the
number of canary picks among n requests is Binomial(n, p). These pure functions test an observed
count against that model (scipy's exact binomial test and Wilson interval, computed as `binomial` says,
without importing scipy.stats) and give the acceptance bounds a test harness can assert against.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from emulator.verify.stats import binomial

__all__ = [
    "SplitVerdict",
    "VariantStats",
    "binomial_acceptance_bounds",
    "exact_binomial_test",
    "verdict",
    "wilson_band",
    "wilson_interval",
]


def _check_count(successes: int, n: int) -> None:
    if n < 1:
        raise ValueError(f"n must be at least 1, got {n}")
    if not 0 <= successes <= n:
        raise ValueError(f"successes must be in [0, n={n}], got {successes}")


def _check_probability(name: str, value: float, *, open_interval: bool = False) -> None:
    ok = 0.0 < value < 1.0 if open_interval else 0.0 <= value <= 1.0
    if not ok:
        bounds = "(0, 1)" if open_interval else "[0, 1]"
        raise ValueError(f"{name} must be in {bounds}, got {value}")


def wilson_interval(successes: int, n: int, confidence: float) -> tuple[float, float]:
    """Wilson score interval for a binomial proportion at the given two-sided confidence."""
    _check_count(successes, n)
    _check_probability("confidence", confidence, open_interval=True)
    return binomial.wilson(successes, n, confidence)


def wilson_band(
    successes: Sequence[int] | np.ndarray, n: Sequence[int] | np.ndarray, confidence: float
) -> tuple[np.ndarray, np.ndarray]:
    """Vectorised `wilson_interval` (same formula, scipy's Wilson without continuity correction)."""
    _check_probability("confidence", confidence, open_interval=True)
    k = np.asarray(successes, dtype=float)
    m = np.asarray(n, dtype=float)
    if np.any(m < 1) or np.any(k < 0) or np.any(k > m):
        raise ValueError("need 1 <= n and 0 <= successes <= n elementwise")
    z2 = binomial.normal_isf((1.0 - confidence) / 2.0) ** 2
    centre = (k + z2 / 2.0) / (m + z2)
    half = math.sqrt(z2) / (m + z2) * np.sqrt(k * (m - k) / m + z2 / 4.0)
    return np.clip(centre - half, 0.0, 1.0), np.clip(centre + half, 0.0, 1.0)


def exact_binomial_test(successes: int, n: int, expected_p: float) -> float:
    """Two-sided exact binomial test of H0: p = expected_p; returns the p-value."""
    _check_count(successes, n)
    _check_probability("expected_p", expected_p)
    return binomial.two_sided_p_value(successes, n, expected_p)


@dataclass(frozen=True)
class SplitVerdict:
    """Outcome of testing an observed canary count against the configured share."""

    successes: int
    n: int
    observed_share: float
    expected_share: float
    p_value: float
    alpha: float
    passed: bool
    ci_low: float
    ci_high: float
    message: str

    @property
    def confidence(self) -> float:
        """Confidence level of the interval: 1 - alpha."""
        return 1.0 - self.alpha


def _percent(share: float) -> str:
    """A share as a percentage: one decimal, more when that would print a nonzero value as 0.0."""
    value = share * 100.0
    if value == 0.0 or abs(value) >= 0.05:
        return f"{value:.1f}"
    return f"{value:.2g}"


def _p_label(p_value: float, expected: float) -> str:
    if p_value == 0.0 and 0.0 < expected < 1.0:
        return "p<1e-300"  # underflow: the exact p-value is positive but below double precision
    return f"p={p_value:.2g}"


def _confidence_label(alpha: float) -> str:
    return f"{(1.0 - alpha) * 100.0:.10g}%"


def verdict(successes: int, n: int, expected_percent: float, alpha: float, label: str = "canary") -> SplitVerdict:
    """Test `successes` canary picks out of `n` against `expected_percent`; pass when p-value >= alpha.
    `label` names the canary group in the message (e.g. `nodejs22.x`).

    The interval reported is Wilson's at confidence 1 - alpha.
    """
    if not 0.0 <= expected_percent <= 100.0:
        raise ValueError(f"expected_percent must be in [0, 100], got {expected_percent}")
    _check_probability("alpha", alpha, open_interval=True)
    expected = expected_percent / 100.0
    p_value = exact_binomial_test(successes, n, expected)
    low, high = wilson_interval(successes, n, 1.0 - alpha)
    observed = successes / n
    passed = p_value >= alpha

    diff = observed - expected
    if diff == 0.0:
        relation = f"equals the expected {_percent(expected)}%"
    else:
        direction = "above" if diff > 0 else "below"
        relation = f"is {_percent(abs(diff))} points {direction} the expected {_percent(expected)}%"
    outcome = "consistent" if passed else "rejected"
    message = (
        f"{label} share {_percent(observed)}% ({_confidence_label(alpha)} CI "
        f"{_percent(low)}\N{EN DASH}{_percent(high)}%) {relation}: "
        f"{outcome} at alpha={alpha:g} ({_p_label(p_value, expected)})"
    )
    return SplitVerdict(
        successes=successes,
        n=n,
        observed_share=observed,
        expected_share=expected,
        p_value=p_value,
        alpha=alpha,
        passed=passed,
        ci_low=low,
        ci_high=high,
        message=message,
    )


def binomial_acceptance_bounds(n: int, p: float, false_failure: float) -> tuple[int, int]:
    """Two-sided exact binomial quantile bound: the acceptance interval [lo, hi] for X ~ Binomial(n, p).

    `lo` is the largest integer with P(X < lo) <= false_failure / 2 and `hi` the smallest with
    P(X > hi) <= false_failure / 2 (scipy's `binom.ppf` / `binom.isf`, checked against `cdf` / `sf`),
    so P(X < lo) + P(X > hi) <= false_failure: a correct sampler lands outside [lo, hi] with
    probability at most `false_failure`. This is the tightest equal-tailed such interval; it is
    exact (no normal approximation). p = 0 gives (0, 0) and p = 1 gives (n, n).
    """
    if n < 0:
        raise ValueError(f"n must be non-negative, got {n}")
    _check_probability("p", p)
    _check_probability("false_failure", false_failure, open_interval=True)
    if n == 0 or p == 0.0:
        return 0, 0
    if p == 1.0:
        return n, n
    tail = false_failure / 2.0

    lo = int(binomial.ppf(tail, n, p))
    while lo > 0 and binomial.cdf(lo - 1, n, p) > tail:  # P(X < lo) must not exceed the tail budget
        lo -= 1
    while lo < n and binomial.cdf(lo, n, p) <= tail:  # ... and lo as large as the budget allows
        lo += 1

    hi = int(binomial.isf(tail, n, p))
    while hi < n and binomial.sf(hi, n, p) > tail:  # P(X > hi) must not exceed the tail budget
        hi += 1
    while hi > 0 and binomial.sf(hi - 1, n, p) <= tail:  # ... and hi as small as the budget allows
        hi -= 1
    return lo, hi


@dataclass
class VariantStats:
    """Running totals for one variant (stable or canary): requests, errors, latencies."""

    name: str
    count: int = 0
    errors: int = 0
    latencies_ms: list[float] = field(default_factory=list)

    def record(self, latency_ms: float, error: bool = False) -> None:
        """Add one request."""
        self.count += 1
        self.errors += int(error)
        self.latencies_ms.append(float(latency_ms))

    @property
    def error_rate(self) -> float:
        """Errors / requests (0.0 before any request)."""
        return self.errors / self.count if self.count else 0.0

    def percentile(self, q: float) -> float | None:
        """The q-th latency percentile in ms (numpy's linear interpolation); None without samples."""
        if not self.latencies_ms:
            return None
        return float(np.percentile(self.latencies_ms, q))

    @property
    def p50(self) -> float | None:
        """Median latency in ms."""
        return self.percentile(50)

    @property
    def p99(self) -> float | None:
        """99th-percentile latency in ms."""
        return self.percentile(99)

    def share(self, total: int) -> float:
        """This variant's share of `total` requests (0.0 when total is 0)."""
        return self.count / total if total else 0.0
