"""Statistics layer: Wilson interval, exact binomial test, acceptance bounds, verdicts, plots.

Every test states its false-failure probability: the chance that it fails although the code is right,
taken over the seed a run uses as if that seed were drawn at random (runs are derandomised, so a given
checkout either always passes or always fails). Hypothesis tests split their 1e-6 budget evenly over
their examples (union bound), so each example gets 1e-6 / max_examples. The simulations treat numpy's
PCG64 and Python's Mersenne Twister as ideal random sources.
"""

from __future__ import annotations

import json
import math
import random
import re

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import binom, binomtest, norm

from emulator.errors import UserError
from emulator.verify.stats import (
    SplitVerdict,
    VariantStats,
    binomial,
    binomial_acceptance_bounds,
    exact_binomial_test,
    verdict,
    wilson_band,
    wilson_interval,
)
from emulator.verify.stats.plot import plot_convergence

TEST_FALSE_FAILURE = 1e-6  # per test, at most


def hand_wilson(k: int, n: int, confidence: float) -> tuple[float, float]:
    """Wilson (1927) score interval, written out: (k + z²/2)/(n + z²) ± z/(n + z²)·√(k(n-k)/n + z²/4)."""
    z = norm.isf((1 - confidence) / 2)
    centre = (k + z * z / 2) / (n + z * z)
    half = z / (n + z * z) * math.sqrt(k * (n - k) / n + z * z / 4)
    return max(0.0, centre - half), min(1.0, centre + half)


# --- Wilson coverage, by simulation -------------------------------------------------------------

COVERAGE_EXAMPLES = 30
COVERAGE_DRAWS = 100_000
# Wilson's exact coverage oscillates around the nominal level as n and p vary. Over n in [200, 3000]
# and p in [0.05, 0.95] (so n·min(p, 1-p) >= 10) a dense grid scan gave |coverage - nominal| at most
# 0.48·(1 - confidence) (worst: 99% at n=200, p≈0.95); the test allows 0.6·(1 - confidence) and checks
# the exact coverage of each example before simulating.
WILSON_SLACK = 0.6


@settings(derandomize=True, max_examples=COVERAGE_EXAMPLES, deadline=None, database=None)
@given(
    n=st.integers(200, 3000),
    p=st.floats(0.05, 0.95),
    confidence=st.sampled_from([0.90, 0.95, 0.99]),
    seed=st.integers(0, 2**63 - 1),
)
def test_wilson_interval_covers_p_at_about_the_nominal_rate(n: int, p: float, confidence: float, seed: int) -> None:
    """Simulated coverage of p over 100,000 Binomial(n, p) draws is within nominal ± δ, δ = 0.6·(1-conf).

    First, deterministically: the exact coverage C = sum of pmf(k) over the k whose interval holds p
    (k outside binomial_acceptance_bounds(n, p, 1e-12) neglected, mass <= 1e-12) lies in
    [nominal - δ, nominal + δ]. Then the covered count is Binomial(M, C) with M = 100,000 draws, so
    it is stochastically at least Binomial(M, nominal - δ) and at most Binomial(M, nominal + δ); the
    margins are those distributions' exact quantile bounds at e = 1e-6 / 30, each tail <= e/2.
    False-failure probability: <= e per example, <= 30·e = 1e-6 for the test.
    """
    delta = WILSON_SLACK * (1 - confidence)
    per_example = TEST_FALSE_FAILURE / COVERAGE_EXAMPLES

    def holds(k: int) -> bool:
        low, high = wilson_interval(k, n, confidence)
        return low <= p <= high

    lo_k, hi_k = binomial_acceptance_bounds(n, p, 1e-12)
    table = {k: holds(k) for k in range(lo_k, hi_k + 1)}
    exact = float(binom.pmf([k for k, ok in table.items() if ok], n, p).sum())
    assert confidence - delta <= exact and exact + 1e-12 <= confidence + delta, (
        f"Wilson's exact coverage {exact:.5f} at n={n}, p={p} is outside {confidence} ± {delta:.4f}"
    )

    draws = np.random.default_rng(seed).binomial(n, p, size=COVERAGE_DRAWS)
    values, counts = np.unique(draws, return_counts=True)
    covered = sum(
        int(c) for k, c in zip(values.tolist(), counts, strict=True) if (table[k] if k in table else holds(k))
    )
    lowest = binomial_acceptance_bounds(COVERAGE_DRAWS, confidence - delta, per_example)[0]
    highest = binomial_acceptance_bounds(COVERAGE_DRAWS, confidence + delta, per_example)[1]
    assert lowest <= covered <= highest, (
        f"covered {covered}/{COVERAGE_DRAWS} ({covered / COVERAGE_DRAWS:.4f}), "
        f"expected within [{lowest}, {highest}] for {confidence} ± {delta:.4f}"
    )


# --- exact test: false rejections under H0 ------------------------------------------------------

REJECT_EXAMPLES = 40
REJECT_DRAWS = 20_000


@settings(derandomize=True, max_examples=REJECT_EXAMPLES, deadline=None, database=None)
@given(
    n=st.integers(1, 1000),
    p=st.floats(0.0, 1.0),
    alpha=st.sampled_from([0.01, 0.05, 0.1]),
    seed=st.integers(0, 2**63 - 1),
)
def test_exact_test_false_reject_rate_is_at_most_alpha(n: int, p: float, alpha: float, seed: int) -> None:
    """Under H0 (draws from Binomial(n, p), tested against p) the test rejects (p-value < alpha) at most at rate alpha.

    The exact test is valid, so each draw is rejected with probability r <= alpha, and the rejection
    count over M = 20,000 draws is Binomial(M, r), stochastically at most Binomial(M, alpha); its upper
    bound is binomial_acceptance_bounds(M, alpha, 2e)[1], whose upper tail is <= e = 1e-6 / 40.
    False-failure probability: <= e per example, <= 40·e = 1e-6 for the test.
    """
    per_example = TEST_FALSE_FAILURE / REJECT_EXAMPLES
    draws = np.random.default_rng(seed).binomial(n, p, size=REJECT_DRAWS)
    values, counts = np.unique(draws, return_counts=True)
    rejected = sum(int(c) for k, c in zip(values, counts, strict=True) if exact_binomial_test(int(k), n, p) < alpha)
    highest = binomial_acceptance_bounds(REJECT_DRAWS, alpha, 2 * per_example)[1]
    assert rejected <= highest, f"{rejected}/{REJECT_DRAWS} false rejections at alpha={alpha}, bound {highest}"


# --- random.Random draws stay within the acceptance bounds --------------------------------------

SPLIT_EXAMPLES = 100
SPLIT_MAX_N = 20_000
# random() returns j/2**53, so `random() < p` is Bernoulli(p') with 0 <= p' - p < 2**-53: n draws differ
# from Binomial(n, p) by less than n·2**-53 in total variation. That slack comes off the budget first.
PRNG_SLACK = SPLIT_EXAMPLES * SPLIT_MAX_N * 2.0**-53
SPLIT_FALSE_FAILURE = (TEST_FALSE_FAILURE - PRNG_SLACK) / SPLIT_EXAMPLES


@settings(derandomize=True, max_examples=SPLIT_EXAMPLES, deadline=None, database=None)
@given(n=st.integers(1, SPLIT_MAX_N), p=st.floats(0.0, 1.0), seed=st.integers(0, 2**63 - 1))
def test_canary_picks_from_random_stay_within_acceptance_bounds(n: int, p: float, seed: int) -> None:
    """The canary count of n `Random(seed).random() < p` draws is within binomial_acceptance_bounds(n, p, e).

    e = (1e-6 - 100·20,000·2**-53) / 100 ≈ 1e-8: by the bound's definition a Binomial(n, p) count falls
    outside with probability <= e, and the PRNG's 2**-53 granularity adds < n·2**-53.
    False-failure probability: <= e + 20,000·2**-53 per example, <= 1e-6 for the test.
    """
    rng = random.Random(seed)
    picks = sum(rng.random() < p for _ in range(n))
    lo, hi = binomial_acceptance_bounds(n, p, SPLIT_FALSE_FAILURE)
    assert lo <= picks <= hi, f"{picks} canary picks of {n} at p={p}: outside [{lo}, {hi}]"
    if p in (0.0, 1.0):
        assert lo == hi == picks == round(p * n)


@settings(derandomize=True, max_examples=200, deadline=None, database=None)
@given(p=st.floats(0.001, 0.999), scale=st.floats(25.0, 1e5))
def test_acceptance_width_narrows_like_one_over_sqrt_n(p: float, scale: float) -> None:
    """(hi - lo)/n at 4n is half of (hi - lo)/n at n, within ±0.05, once n·p·(1-p) >= 25.

    The width is 2·z·√(n·p·(1-p)) up to integer rounding and a kurtosis term, both O(1); at
    n·p·(1-p) >= 25 a scan over n up to 2e5 found the ratio within 0.5 ± 0.016.
    False-failure probability: 0 (no randomness).
    """
    n = math.ceil(scale / (p * (1 - p)))
    lo, hi = binomial_acceptance_bounds(n, p, 1e-6)
    lo4, hi4 = binomial_acceptance_bounds(4 * n, p, 1e-6)
    ratio = ((hi4 - lo4) / (4 * n)) / ((hi - lo) / n)
    assert ratio == pytest.approx(0.5, abs=0.05), f"n={n}, p={p}: [{lo}, {hi}] vs [{lo4}, {hi4}]"


@settings(derandomize=True, max_examples=200, deadline=None, database=None)
@given(
    n=st.integers(0, 1_000_000),
    p=st.floats(0.0, 1.0),
    false_failure=st.floats(1e-12, 0.5),
)
def test_acceptance_bounds_are_the_tightest_equal_tailed_interval(n: int, p: float, false_failure: float) -> None:
    """P(X < lo) <= ff/2 and P(X > hi) <= ff/2, and moving either end inwards breaks its tail's budget.

    False-failure probability: 0 (no randomness).
    """
    lo, hi = binomial_acceptance_bounds(n, p, false_failure)
    assert 0 <= lo <= hi <= n
    if n == 0 or p == 0.0:
        assert (lo, hi) == (0, 0)
        return
    if p == 1.0:
        assert (lo, hi) == (n, n)
        return
    tail = false_failure / 2
    assert binom.cdf(lo - 1, n, p) <= tail
    assert binom.sf(hi, n, p) <= tail
    assert binom.cdf(lo, n, p) + binom.sf(hi, n, p) <= 1  # sanity
    assert lo == n or binom.cdf(lo, n, p) > tail  # lo + 1 would leave more than ff/2 below
    assert hi == 0 or binom.sf(hi - 1, n, p) > tail  # hi - 1 would leave more than ff/2 above


# --- the same numbers as scipy.stats, without importing it ---------------------------------------


@settings(max_examples=400, deadline=None, derandomize=True)
@given(n=st.integers(1, 200_000), data=st.data(),
       p=st.one_of(st.sampled_from([0.0, 0.001, 0.05, 0.1, 0.5, 0.9, 1.0]), st.floats(0, 1)),
       confidence=st.floats(0.5, 1 - 1e-9))
def test_the_binomial_functions_are_scipy_stats_own(n: int, data: st.DataObject, p: float,
                                                     confidence: float) -> None:
    """`binomial` answers exactly what scipy.stats answers: pmf, cdf, sf (also off the support), ppf, isf, the
    two-sided exact test's p-value, Wilson's interval and the normal quantile. False-failure: 0 (no randomness)."""
    k = data.draw(st.integers(0, n))
    q = data.draw(st.floats(1e-12, 1 - 1e-12))
    for x in (k, k - 1, k + 1, -1, n, n + 1):
        assert binomial.pmf(x, n, p) == binom.pmf(x, n, p)
        assert binomial.cdf(x, n, p) == binom.cdf(x, n, p)
        assert binomial.sf(x, n, p) == binom.sf(x, n, p)
    if 0 < p < 1:
        assert binomial.ppf(q, n, p) == binom.ppf(q, n, p)
        assert binomial.isf(q, n, p) == binom.isf(q, n, p)
    assert binomial.two_sided_p_value(k, n, p) == binomtest(k, n, p).pvalue
    interval = binomtest(k, n).proportion_ci(confidence_level=confidence, method="wilson")
    assert binomial.wilson(k, n, confidence) == (interval.low, interval.high)
    assert binomial.normal_isf(q) == norm.isf(q)


def test_the_split_verdict_does_not_import_scipy_stats() -> None:
    """`split` and the pytest plugin judge a split without scipy.stats, whose import takes about 0.9 s (issue 19:
    `split` starting). False-failure: 0."""
    import subprocess
    import sys

    code = ("import sys; from emulator.verify import report; report.split_verdict; "
            "from emulator.verify.stats import verdict; verdict(102, 1000, 10.0, 1e-6); "
            "print(sorted(name for name in sys.modules if name.startswith('scipy.stats')))")
    imported = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert imported.strip() == "[]"


# --- known values ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("k", "n", "confidence"),
    [(0, 10, 0.95), (10, 10, 0.95), (3, 10, 0.95), (30, 100, 0.95), (81, 263, 0.99), (1020, 10000, 0.999999)],
)
def test_wilson_interval_matches_the_hand_formula(k: int, n: int, confidence: float) -> None:
    """scipy's Wilson interval and the vectorised band equal the written-out formula. False-failure: 0."""
    expected = hand_wilson(k, n, confidence)
    assert wilson_interval(k, n, confidence) == pytest.approx(expected, abs=1e-12)
    low, high = wilson_band([k], [n], confidence)
    assert (float(low[0]), float(high[0])) == pytest.approx(expected, abs=1e-12)


def test_wilson_interval_known_values_and_edges() -> None:
    """Published values and the k = 0 / k = n edges. False-failure: 0."""
    assert wilson_interval(0, 10, 0.95) == pytest.approx((0.0, 0.27753), abs=1e-5)
    assert wilson_interval(10, 10, 0.95) == pytest.approx((0.72247, 1.0), abs=1e-5)
    low, high = wilson_interval(50, 100, 0.95)
    assert (low, high) == pytest.approx((0.40383, 0.59617), abs=1e-5)
    with pytest.raises(ValueError):
        wilson_interval(1, 0, 0.95)
    with pytest.raises(ValueError):
        wilson_interval(11, 10, 0.95)
    with pytest.raises(ValueError):
        wilson_interval(1, 10, 1.0)


def test_exact_binomial_test_known_values_and_edges() -> None:
    """7 of 10 at 1/2: two-sided p = 2·176/1024; p = 0 and p = 1 are decided exactly. False-failure: 0."""
    assert exact_binomial_test(7, 10, 0.5) == pytest.approx(0.34375, rel=1e-12)
    assert exact_binomial_test(5, 10, 0.5) == 1.0
    assert exact_binomial_test(0, 10, 0.0) == 1.0
    assert exact_binomial_test(1, 10, 0.0) == 0.0
    assert exact_binomial_test(10, 10, 1.0) == 1.0
    assert exact_binomial_test(9, 10, 1.0) == 0.0
    with pytest.raises(ValueError):
        exact_binomial_test(5, 10, 1.5)


def test_acceptance_bounds_edges_and_a_known_value() -> None:
    """p = 0 and p = 1 collapse; Binomial(1000, 0.3) at 1e-6 is [231, 372] (checked tail by tail). False-failure: 0."""
    assert binomial_acceptance_bounds(1000, 0.0, 1e-6) == (0, 0)
    assert binomial_acceptance_bounds(1000, 1.0, 1e-6) == (1000, 1000)
    assert binomial_acceptance_bounds(0, 0.3, 1e-6) == (0, 0)
    lo, hi = binomial_acceptance_bounds(1000, 0.3, 1e-6)
    assert (lo, hi) == (231, 372)
    assert binom.cdf(230, 1000, 0.3) <= 5e-7 < binom.cdf(231, 1000, 0.3)
    assert binom.sf(372, 1000, 0.3) <= 5e-7 < binom.sf(371, 1000, 0.3)
    with pytest.raises(ValueError):
        binomial_acceptance_bounds(10, 0.5, 0.0)


def test_verdict_fail_message_says_how_far_and_how_sure() -> None:
    """A 10.2% share against 30% is rejected, 19.8 points below. False-failure: 0."""
    result = verdict(1020, 10000, 30.0, 1e-6)
    assert isinstance(result, SplitVerdict)
    assert not result.passed
    assert result.observed_share == 0.102
    assert result.expected_share == 0.3
    assert result.alpha == 1e-6
    assert result.confidence == pytest.approx(0.999999)
    assert (result.ci_low, result.ci_high) == pytest.approx(hand_wilson(1020, 10000, 0.999999), abs=1e-12)
    assert result.message == (
        "canary share 10.2% (99.9999% CI 8.8\N{EN DASH}11.8%) is 19.8 points below the expected 30.0%: "
        "rejected at alpha=1e-06 (p<1e-300)"
    )


def test_verdict_fail_message_with_a_representable_p_value() -> None:
    """28.5% of 10,000 against 30%: p ≈ 0.00102, rejected at 0.05, consistent at 0.001. False-failure: 0."""
    rejected = verdict(2850, 10000, 30.0, 0.05)
    assert not rejected.passed
    assert rejected.p_value == pytest.approx(0.0010223, rel=1e-4)
    assert rejected.message == (
        "canary share 28.5% (95% CI 27.6\N{EN DASH}29.4%) is 1.5 points below the expected 30.0%: "
        "rejected at alpha=0.05 (p=0.001)"
    )
    assert verdict(2850, 10000, 30.0, 0.001).passed


def test_verdict_pass_message() -> None:
    """29.8% against 30% passes at 1e-6; an exact match says so. False-failure: 0."""
    result = verdict(2980, 10000, 30.0, 1e-6)
    assert result.passed
    assert result.p_value == pytest.approx(exact_binomial_test(2980, 10000, 0.3))
    assert result.message == (
        "canary share 29.8% (99.9999% CI 27.6\N{EN DASH}32.1%) is 0.2 points below the expected 30.0%: "
        "consistent at alpha=1e-06 (p=0.67)"
    )
    assert verdict(300, 1000, 30.0, 0.05).message.endswith("equals the expected 30.0%: consistent at alpha=0.05 (p=1)")


def test_verdict_edges() -> None:
    """0% and 100% canaries: any stray pick is impossible, hence p = 0. False-failure: 0."""
    assert verdict(0, 500, 0.0, 1e-6).passed
    assert verdict(500, 500, 100.0, 1e-6).passed
    stray = verdict(1, 500, 0.0, 1e-6)
    assert not stray.passed
    assert stray.message.endswith("is 0.2 points above the expected 0.0%: rejected at alpha=1e-06 (p=0)")
    with pytest.raises(ValueError):
        verdict(1, 500, 101.0, 0.05)
    with pytest.raises(ValueError):
        verdict(1, 500, 10.0, 0.0)


def test_variant_stats_accumulates() -> None:
    """Counts, errors, share and numpy percentiles. False-failure: 0."""
    canary = VariantStats("canary")
    assert (canary.p50, canary.p99, canary.error_rate, canary.share(0)) == (None, None, 0.0, 0.0)
    for latency in range(1, 101):
        canary.record(float(latency), error=latency % 10 == 0)
    assert canary.count == 100
    assert canary.errors == 10
    assert canary.error_rate == 0.1
    assert canary.p50 == pytest.approx(50.5)
    assert canary.p99 == pytest.approx(99.01)
    assert canary.share(400) == 0.25


# --- plots -------------------------------------------------------------------------------------


def _outcomes(n: int, p: float, seed: int) -> list[bool]:
    rng = random.Random(seed)
    return [rng.random() < p for _ in range(n)]


def test_plot_png(tmp_path) -> None:
    """A PNG is written. False-failure: 0."""
    path = plot_convergence(_outcomes(5000, 0.3, 1), 30.0, 0.95, tmp_path / "split.png")
    assert path.read_bytes().startswith(b"\x89PNG\r\n\x1a\n")


def test_plot_html_is_self_contained(tmp_path) -> None:
    """The HTML has the SVG inline, the plotted data as JSON, and fetches nothing. False-failure: 0."""
    outcomes = _outcomes(20_000, 0.1, 2)
    page = plot_convergence(outcomes, 10.0, 0.99, tmp_path / "split.HTML").read_text(encoding="utf-8")
    assert "<svg" in page
    assert not re.search(r"\b(src|href)\s*=\s*[\"'](?!#)", page), "external reference in the page"
    assert set(re.findall(r"https?://[^\"'\s>]+", page)) <= {
        "http://www.w3.org/2000/svg",
        "http://www.w3.org/1999/xlink",
    }
    data = json.loads(re.search(r'<script type="application/json" id="convergence-data">(.*?)</script>', page)[1])
    assert data["requests"][-1] == 20_000
    assert data["canary"][-1] == sum(outcomes)
    assert all(lo <= s <= hi for lo, s, hi in zip(data["wilson_low"], data["share"], data["wilson_high"], strict=True))


def test_plot_rejects_other_extensions(tmp_path) -> None:
    """--plot with .svg or no extension is a UserError naming the choices. False-failure: 0."""
    for name in ("split.svg", "split"):
        with pytest.raises(UserError, match=r"^--plot FILE: use \.png or \.html$"):
            plot_convergence([True, False], 50.0, 0.95, tmp_path / name)
    with pytest.raises(UserError):
        plot_convergence([], 50.0, 0.95, tmp_path / "split.png")
