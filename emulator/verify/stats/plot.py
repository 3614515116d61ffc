"""Convergence plot: the running canary share as requests accumulate, with its Wilson band."""

from __future__ import annotations

import html
import io
import json
import re
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from emulator.errors import UserError
from emulator.verify.stats.statistics import wilson_band

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = ["plot_convergence"]

MAX_POINTS = 1500  # points drawn; longer runs are sampled on a log scale (the x axis is logarithmic)
_SVG_PROLOGUE = re.compile(r"^.*?(?=<svg\b)", re.DOTALL)
_SVG_METADATA = re.compile(r"<metadata>.*?</metadata>\s*", re.DOTALL)


def _sample_indices(total: int) -> np.ndarray:
    """Request counts (1-based) to draw: all of them, or MAX_POINTS log-spaced ones ending at `total`."""
    if total <= MAX_POINTS:
        return np.arange(1, total + 1)
    return np.unique(np.geomspace(1, total, MAX_POINTS).round().astype(np.int64))


def _figure(
    n: np.ndarray, share: np.ndarray, low: np.ndarray, high: np.ndarray, expected: float, confidence: float, title: str
) -> Figure:
    from matplotlib.figure import Figure  # optional dependency; no pyplot, so no global backend state

    fig = Figure(figsize=(8, 4.5), dpi=100, layout="constrained")
    ax = fig.add_subplot()
    ax.fill_between(
        n,
        low * 100,
        high * 100,
        color="tab:blue",
        alpha=0.2,
        linewidth=0,
        label=f"Wilson {confidence * 100:.10g}% interval",
    )
    ax.plot(n, share * 100, color="tab:blue", linewidth=1.2, label="running canary share")
    ax.axhline(expected * 100, color="tab:red", linestyle="--", linewidth=1, label=f"expected {expected:.1%}")
    ax.set_xscale("log")
    ax.set_xlim(1, max(int(n[-1]), 2))
    ax.set_ylim(-2, 102)
    ax.set_xlabel("requests")
    ax.set_ylabel("canary share (%)")
    ax.set_title(title)
    ax.grid(True, which="major", alpha=0.3)
    ax.legend(loc="upper right")
    return fig


def _html(fig: Figure, title: str, summary: str, data: dict[str, object]) -> str:
    buffer = io.StringIO()
    fig.savefig(buffer, format="svg", metadata={"Date": None})
    svg = _SVG_METADATA.sub("", _SVG_PROLOGUE.sub("", buffer.getvalue(), count=1), count=1)
    payload = json.dumps(data, separators=(",", ":")).replace("</", "<\\/")
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        f"<title>{html.escape(title)}</title>\n"
        "<style>body{font-family:sans-serif;max-width:60em;margin:2em auto}svg{max-width:100%;height:auto}"
        "</style>\n</head>\n<body>\n"
        f"<h1>{html.escape(title)}</h1>\n<p>{html.escape(summary)}</p>\n{svg}\n"
        f'<script type="application/json" id="convergence-data">{payload}</script>\n'
        "</body>\n</html>\n"
    )


def plot_convergence(outcomes: list[bool], expected_percent: float, confidence: float, path: str | Path) -> Path:
    """Draw the running canary share of `outcomes` (True = canary) with its Wilson band and the expected share.

    Writes a `.png` (matplotlib, Agg) or a self-contained `.html` (inline SVG plus the plotted data as
    JSON; no scripts or styles are fetched). Returns the path written.
    """
    path = Path(path)
    kind = path.suffix.lower()
    if kind not in (".png", ".html"):
        raise UserError("--plot FILE: use .png or .html")
    if not outcomes:
        raise UserError("--plot FILE: no requests to plot")
    if not 0.0 <= expected_percent <= 100.0:
        raise ValueError(f"expected_percent must be in [0, 100], got {expected_percent}")
    try:
        import matplotlib  # noqa: F401
    except ImportError as error:
        raise UserError("--plot FILE: needs matplotlib; pip install 'lambda-canary[plot]'") from error

    picks = np.cumsum(np.asarray(outcomes, dtype=np.int64))
    n = _sample_indices(len(outcomes))
    successes = picks[n - 1]
    share = successes / n
    low, high = wilson_band(successes, n, confidence)
    expected = expected_percent / 100.0
    total, final = len(outcomes), int(picks[-1])
    title = f"Canary share over {total:,} requests"
    summary = (
        f"{final:,} of {total:,} requests went to the canary ({final / total:.2%}); "
        f"expected {expected:.2%}. Band: Wilson {confidence * 100:.10g}% interval."
    )
    fig = _figure(n, share, low, high, expected, confidence, title)

    try:
        if kind == ".png":
            fig.savefig(path, format="png")
        else:
            data = {
                "expected_share": expected,
                "confidence": confidence,
                "requests": n.tolist(),
                "canary": successes.tolist(),
                "share": share.round(6).tolist(),
                "wilson_low": low.round(6).tolist(),
                "wilson_high": high.round(6).tolist(),
            }
            path.write_text(_html(fig, title, summary, data), encoding="utf-8")
    except OSError as error:
        raise UserError(f"--plot {path}: {error.strerror or error}") from error
    return path
