"""The rollout report as a plot: the canary's weight over the simulated clock, and per step the error rate and the
latency (p50, p99) of canary and base, each failed gate marked. A `.png` (matplotlib, no pyplot) or a
self-contained `.html` (inline SVG plus the report as JSON; nothing fetched)."""

from __future__ import annotations

import html
import io
import json
import re
from pathlib import Path
from typing import Any

from emulator.errors import UserError

_SVG_PROLOGUE = re.compile(r"^.*?(?=<svg\b)", re.DOTALL)


def plot_rollout(report: dict[str, Any], path: str | Path) -> Path:
    """Draw `report` (RolloutReport.as_dict()) to `path`; returns the path written."""
    path = Path(path)
    kind = path.suffix.lower()
    if kind not in (".png", ".html"):
        raise UserError(f"--plot {path}: use .png or .html")
    try:
        from matplotlib.figure import Figure
    except ImportError as error:
        raise UserError("--plot FILE: needs matplotlib; pip install 'lambda-canary[plot]'") from error

    steps = report["steps"]
    times, weights = [0.0], [0.0]
    for step in steps:
        start = step["startMinute"]
        times += [start, start + step["minutes"] + step["extendedMinutes"]]
        weights += [step["percent"], step["percent"]]
    if report["outcome"] != "promoted" and steps:
        times.append(times[-1])
        weights.append(0.0)
    judged = [step for step in steps if step["gates"]]
    labels = [f"{step['percent']:g}%" for step in judged]

    fig = Figure(figsize=(9, 8), dpi=100, layout="constrained")
    weight_ax, error_ax, latency_ax = fig.subplots(3, 1)
    weight_ax.plot(times, weights, color="tab:blue", drawstyle="default")
    weight_ax.set_ylabel("canary weight (%)")
    weight_ax.set_xlabel("simulated minutes")
    weight_ax.set_ylim(-2, 102)
    weight_ax.set_title(f"{report['schedule']} on stage {report['stage']}: {report['outcome']}")
    weight_ax.grid(True, alpha=0.3)
    positions = list(range(len(judged)))
    width = 0.38
    for offset, side, colour in ((-width / 2, "base", "tab:gray"), (width / 2, "canary", "tab:orange")):
        error_ax.bar([p + offset for p in positions], [100 * (step[side].get("errorRate") or 0) for step in judged],
                     width, label=side, color=colour)
        latency_ax.bar([p + offset for p in positions], [step[side].get("latencyP50Ms", 0) for step in judged],
                       width, label=f"{side} p50", color=colour)
        latency_ax.scatter([p + offset for p in positions], [step[side].get("latencyP99Ms", 0) for step in judged],
                           marker="_", s=300, color="black")
    for index, step in enumerate(judged):
        for gate in step["gates"]:
            if not gate["passed"]:
                axis = error_ax if gate["metric"] == "errorRate" else latency_ax
                axis.annotate(f"FAIL p={gate['pValue']:.2g}", (index, axis.get_ylim()[1] * 0.9), ha="center",
                              color="tab:red")
    error_ax.set_ylabel("error rate (%)")
    latency_ax.set_ylabel("latency (ms; - = p99)")
    for axis in (error_ax, latency_ax):
        axis.set_xticks(positions, labels)
        axis.set_xlabel("step (canary weight)")
        axis.legend(loc="upper left")
        axis.grid(True, axis="y", alpha=0.3)
    try:
        if kind == ".png":
            fig.savefig(path, format="png")
        else:
            buffer = io.StringIO()
            fig.savefig(buffer, format="svg", metadata={"Date": None})
            svg = _SVG_PROLOGUE.sub("", buffer.getvalue(), count=1)
            title = html.escape(f"Rollout of {report['config']} stage {report['stage']}")
            payload = json.dumps(report, separators=(",", ":")).replace("</", "<\\/")
            path.write_text(f'<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n<title>{title}'
                            "</title>\n<style>body{font-family:sans-serif;max-width:60em;margin:2em auto}"
                            "svg{max-width:100%;height:auto}</style>\n</head>\n<body>\n"
                            f"<h1>{title}</h1>\n{svg}\n"
                            f'<script type="application/json" id="rollout-report">{payload}</script>\n'
                            "</body>\n</html>\n", encoding="utf-8")
    except OSError as error:
        raise UserError(f"--plot {path}: {error.strerror or error}") from error
    return path
