"""Render a split's result: the per-variant table, the verdict and the JSON form."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.table import Table

from emulator.verify.split import SplitResult
from emulator.verify.stats.statistics import SplitVerdict, VariantStats, verdict, wilson_interval


def variant_stats(result: SplitResult) -> dict[str, VariantStats]:
    """Per-variant counts, errors and latencies, canary last."""
    stats = {key: VariantStats(key) for key in result.groups()}
    for sample in result.classified:
        stats[sample.key].record(sample.latency_ms, sample.error)
    return stats


def split_verdict(result: SplitResult, expected_percent: float, alpha: float) -> SplitVerdict:
    """The exact binomial test of the canary count against the expected percent."""
    label = "canary" if result.by == "variant" else f"{result.by} {result.canary_key}"
    return verdict(result.canary_count, result.n, expected_percent, alpha, label)


def passed(result: SplitResult, outcome: SplitVerdict | None, allow_errors: bool = False) -> bool:
    """The run's one verdict: the share test passed (or was not asked for) and nothing else fails the run."""
    return (outcome is None or outcome.passed) and not result.failures(allow_errors)


def render(result: SplitResult, outcome: SplitVerdict | None, confidence: float, console: Console,
           allow_errors: bool = False) -> None:
    """The table per variant, then the verdict: a PASS line only when the whole run passes (exit 0), FAIL lines
    for each reason it fails."""
    table = Table("variant" if result.by == "variant" else result.by, "count", "share",
                  f"{confidence:.0%} Wilson interval", "p50 ms", "p99 ms", "errors",
                  title=f"{result.n} requests, classified by {result.by}")
    for key, stats in variant_stats(result).items():
        low, high = wilson_interval(stats.count, result.n, confidence) if result.n else (0.0, 0.0)
        marker = " (canary)" if key == result.canary_key and result.by != "variant" else ""
        table.add_row(f"{key}{marker}", str(stats.count), f"{stats.share(result.n):.2%}",
                      f"{low:.2%} - {high:.2%}", _ms(stats.p50), _ms(stats.p99), str(stats.errors))
    console.print(table)
    failures = result.failures(allow_errors)
    for problem in result.problems():
        if problem not in failures:
            console.print(f"[yellow]allowed[/yellow] (--allow-errors): {problem}", highlight=False)
    for failure in failures:
        console.print(f"[red]FAIL[/red]: {failure}", highlight=False)
    if outcome is None:
        return
    if not outcome.passed:
        console.print(f"[red]FAIL[/red]: {outcome.message}", highlight=False)
    elif failures:
        console.print(f"share test alone: {outcome.message}; the run fails for the reasons above", highlight=False)
    else:
        console.print(f"[green]PASS[/green]: {outcome.message}", highlight=False)


def as_json(result: SplitResult, outcome: SplitVerdict | None, confidence: float,
            allow_errors: bool = False) -> dict[str, Any]:
    """The result as JSON-ready data."""
    variants = {}
    for key, stats in variant_stats(result).items():
        low, high = wilson_interval(stats.count, result.n, confidence) if result.n else (0.0, 0.0)
        variants[key] = {"count": stats.count, "share": stats.share(result.n), "interval": [low, high],
                         "confidence": confidence, "p50_ms": stats.p50, "p99_ms": stats.p99, "errors": stats.errors}
    data: dict[str, Any] = {"requests": len(result.samples), "classified": result.n, "by": result.by,
                            "canary_key": result.canary_key, "variants": variants, "errors": result.errors,
                            "unclassified": result.unknown, "problems": result.problems(),
                            "failures": result.failures(allow_errors),
                            "passed": passed(result, outcome, allow_errors)}
    if outcome is not None:
        data["verdict"] = {"passed": outcome.passed, "expected_share": outcome.expected_share,
                           "observed_share": outcome.observed_share, "p_value": outcome.p_value,
                           "alpha": outcome.alpha, "message": outcome.message}
    return data


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"
