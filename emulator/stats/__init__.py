"""Statistics for verifying canary traffic splits; `emulator.stats.plot` draws convergence plots."""

from emulator.stats.statistics import (
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
