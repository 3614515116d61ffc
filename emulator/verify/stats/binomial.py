"""The binomial distribution and the normal quantile from `scipy.special`, as `scipy.stats` computes them.

`scipy.stats.binom` evaluates Boost's binomial functions, which SciPy ships as ufuncs of `scipy.special`
(`_binom_pmf`, `_binom_cdf`, ...). Importing `scipy.stats` takes about 0.9 s on the machine `make bench` runs on
(most of it parsing docstrings); `scipy.special` about 0.25 s. `split` and the pytest plugin need only these few
functions, so they call the ufuncs directly, with `rv_discrete`'s rules (outside the support, clipped to [0, 1]),
and `two_sided_p_value` and `wilson` follow `scipy.stats.binomtest` line by line (scipy 1.17, `_binomtest.py`).
tests/test_statistics.py checks every function here against `scipy.stats` for equality. Where a SciPy release
lacks the private ufuncs, `scipy.stats.binom` is used instead: slower to import, the same answers.
"""

from __future__ import annotations

import math
from collections.abc import Callable

from scipy.special import ndtri

BinomialFunction = Callable[[float, int, float], float]


def _ufuncs() -> tuple[BinomialFunction, BinomialFunction, BinomialFunction, BinomialFunction, BinomialFunction]:
    try:
        from scipy.special import _ufuncs as boost

        return boost._binom_pmf, boost._binom_cdf, boost._binom_sf, boost._binom_ppf, boost._binom_isf
    except (ImportError, AttributeError):  # pragma: no cover - a SciPy without them
        from scipy.stats import binom

        return binom._pmf, binom._cdf, binom._sf, binom._ppf, binom._isf


_PMF, _CDF, _SF, _PPF, _ISF = _ufuncs()


def _clipped(probability: float) -> float:
    return min(1.0, max(0.0, float(probability)))


def pmf(k: float, n: int, p: float) -> float:
    """P(X = k) for X ~ Binomial(n, p); 0 off the support (`binom.pmf`)."""
    if k != math.floor(k) or not 0 <= k <= n:
        return 0.0
    return _clipped(_PMF(k, n, p))


def cdf(k: float, n: int, p: float) -> float:
    """P(X <= k) (`binom.cdf`)."""
    k = math.floor(k)
    if k < 0:
        return 0.0
    return 1.0 if k >= n else _clipped(_CDF(k, n, p))


def sf(k: float, n: int, p: float) -> float:
    """P(X > k) (`binom.sf`)."""
    k = math.floor(k)
    if k < 0:
        return 1.0
    return 0.0 if k >= n else _clipped(_SF(k, n, p))


def ppf(q: float, n: int, p: float) -> float:
    """The smallest k with P(X <= k) >= q (`binom.ppf`, for 0 < q < 1)."""
    return float(_PPF(q, n, p))


def isf(q: float, n: int, p: float) -> float:
    """The inverse of `sf` (`binom.isf`, for 0 < q < 1)."""
    return float(_ISF(q, n, p))


def normal_isf(q: float) -> float:
    """The standard normal's inverse survival function (`norm.isf`)."""
    return float(-ndtri(q))


def _search(value_at: Callable[[float], float], target: float, lo: float, hi: float) -> float:
    """`_binary_search_for_binom_tst`: the i in [lo, hi] with value_at(i) <= target < value_at(i + 1)."""
    while lo < hi:
        mid = lo + (hi - lo) // 2
        value = value_at(mid)
        if value < target:
            lo = mid + 1
        elif value > target:
            hi = mid - 1
        else:
            return mid
    return lo if value_at(lo) <= target else lo - 1


def two_sided_p_value(k: int, n: int, p: float) -> float:
    """`binomtest(k, n, p, alternative="two-sided").pvalue`: the outcomes no likelier than k, summed."""
    d = pmf(k, n, p)
    rerr = 1 + 1e-7
    if k == p * n:
        return 1.0
    if k < p * n:
        ix = _search(lambda x: -pmf(x, n, p), -d * rerr, math.ceil(p * n), n)
        y = n - ix + int(d * rerr == pmf(ix, n, p))
        value = cdf(k, n, p) + sf(n - y, n, p)
    else:
        ix = _search(lambda x: pmf(x, n, p), d * rerr, 0, math.floor(p * n))
        y = ix + 1
        value = cdf(y - 1, n, p) + sf(k - 1, n, p)
    return min(1.0, value)


def wilson(k: int, n: int, confidence: float) -> tuple[float, float]:
    """`binomtest(k, n).proportion_ci(confidence, method="wilson")`: Wilson's two-sided score interval."""
    share = k / n
    z = float(ndtri(0.5 + 0.5 * confidence))
    denominator = 2 * (n + z**2)
    centre = (2 * n * share + z**2) / denominator
    delta = z / denominator * math.sqrt(4 * n * share * (1 - share) + z**2)
    return (0.0 if k == 0 else centre - delta), (1.0 if k == n else centre + delta)
