"""Statistics for verifying canary traffic splits; `emulator.verify.stats.plot` draws convergence plots."""

from emulator.verify.stats.statistics import (
    SplitVerdict,
    VariantStats,
    binomial_acceptance_bounds,
    exact_binomial_test,
    verdict,
    wilson_band,
    wilson_interval,
)

__all__ = [
    "SplitVerdict",
    "VariantStats",
    "binomial_acceptance_bounds",
    "exact_binomial_test",
    "verdict",
    "wilson_band",
    "wilson_interval",
]
