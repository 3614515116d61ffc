"""A diff run's result: differences grouped by kind, per-side figures with ratios, as a table, JSON and HTML."""

from __future__ import annotations

import html
import json
import statistics
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from emulator.verify.diff.compare import Difference, Observation, compare
from emulator.verify.diff.corpus import DiffRequest
from emulator.verify.diff.rules import Rules
from emulator.verify.diff.runner import SideRun

KIND_ORDER = ("status", "error", "body", "header", "log")
HTML_REQUESTS = 50  # differing requests shown side by side in the HTML report


@dataclass
class DiffGroup:
    """Differences of one kind at one place with the same values, on one or more requests."""

    kind: str
    where: str
    base: str | None
    canary: str | None
    requests: list[int] = field(default_factory=list)
    allowed_by: str | None = None


@dataclass
class DiffResult:
    """Both sides' observations of every request and what differed."""

    base: SideRun
    canary: SideRun
    requests: list[DiffRequest]
    rules: Rules
    differences: list[Difference] = field(default_factory=list)

    @classmethod
    def build(cls, base: SideRun, canary: SideRun, requests: list[DiffRequest], rules: Rules) -> DiffResult:
        """Compare every request's two observations under the rules."""
        result = cls(base, canary, requests, rules)
        for index, (a, b) in enumerate(zip(base.observations, canary.observations, strict=True)):
            result.differences.extend(compare(index, a, b, rules))
        return result

    def groups(self, allowed: bool = False) -> list[DiffGroup]:
        """Disallowed (or, with `allowed`, allowed) differences grouped, by kind then by first request."""
        grouped: dict[tuple[str, str, str | None, str | None], DiffGroup] = {}
        for difference in self.differences:
            if (difference.allowed_by is not None) != allowed:
                continue
            key = difference.group_key()
            group = grouped.setdefault(key, DiffGroup(*key, allowed_by=difference.allowed_by))
            if difference.request not in group.requests:
                group.requests.append(difference.request)
        return sorted(grouped.values(), key=lambda g: (KIND_ORDER.index(g.kind), g.requests[0], g.where))

    @property
    def passed(self) -> bool:
        """No difference the rules do not allow."""
        return all(difference.allowed_by is not None for difference in self.differences)

    def differing_requests(self) -> list[int]:
        """Indexes of the requests with a disallowed difference."""
        return sorted({d.request for d in self.differences if d.allowed_by is None})

    def metrics(self) -> dict[str, dict[str, float | None]]:
        """Per side: latency p50/p99, function duration p50, first Init Duration, Max Memory Used; and ratios."""
        figures = {"base": _figures(self.base.observations), "canary": _figures(self.canary.observations)}
        canary = figures["canary"]
        figures["ratio"] = {name: (ratio / value if value and (ratio := canary[name]) is not None else None)
                            for name, value in figures["base"].items()}
        return figures


def _percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[round(q * 100) - 1]


def _figures(observations: list[Observation]) -> dict[str, float | None]:
    latencies = [o.latency_ms for o in observations]
    durations = [o.duration_ms for o in observations if o.duration_ms is not None]
    inits = [o.init_duration_ms for o in observations if o.init_duration_ms is not None]
    memory = [o.max_memory_mb for o in observations if o.max_memory_mb is not None]
    return {"latency_p50_ms": _percentile(latencies, 0.5), "latency_p99_ms": _percentile(latencies, 0.99),
            "duration_p50_ms": _percentile(durations, 0.5), "init_duration_ms": inits[0] if inits else None,
            "max_memory_used_mb": float(max(memory)) if memory else None}


def _short(value: str | None, width: int = 60) -> str:
    if value is None:
        return "(none)"
    return value if len(value) <= width else value[:width - 1] + "\N{HORIZONTAL ELLIPSIS}"


def render(result: DiffResult, console: Console) -> None:
    """The sides, the differences grouped by kind, the allowed ones counted, the figures and the verdict."""
    total = len(result.requests)
    console.print(f"base:   {result.base.side.description}", highlight=False, markup=False)
    console.print(f"canary: {result.canary.side.description}", highlight=False, markup=False)
    groups = result.groups()
    if groups:
        table = Table("kind", "where", f"base ({result.base.side.name})", f"canary ({result.canary.side.name})",
                      "requests", "first request", title=f"differences over {total} requests")
        for group in groups:
            first = result.requests[group.requests[0]].describe()
            table.add_row(group.kind, group.where, _short(group.base), _short(group.canary),
                          f"{len(group.requests)} of {total}", first)
        console.print(table)
    allowed = result.groups(allowed=True)
    if allowed:
        rules = sorted({group.allowed_by or "" for group in allowed})
        count = sum(len(group.requests) for group in allowed)
        console.print(f"allowed by the rules: {count} difference(s) ({'; '.join(rules)})", highlight=False,
                      markup=False)
    figures = result.metrics()
    table = Table("per side", "latency p50 ms", "latency p99 ms", "duration p50 ms", "Init Duration ms",
                  "Max Memory Used MB", title="figures")
    for side, label in (("base", result.base.side.name), ("canary", result.canary.side.name), ("ratio", "ratio")):
        values = figures[side]
        fmt = "{:.2f}x" if side == "ratio" else "{:.2f}"
        table.add_row(label, *(("-" if v is None else fmt.format(v)) for v in values.values()))
    console.print(table)
    if result.passed:
        console.print(f"[green]PASS[/green]: no difference over {total} requests beyond what the rules allow",
                      highlight=False)
    else:
        console.print(f"[red]FAIL[/red]: {len(groups)} difference(s) on {len(result.differing_requests())} of "
                      f"{total} requests", highlight=False)


def as_json(result: DiffResult) -> dict[str, Any]:
    """The result as JSON-ready data."""

    def group_data(group: DiffGroup) -> dict[str, Any]:
        return {"kind": group.kind, "where": group.where, "base": group.base, "canary": group.canary,
                "requests": group.requests, "count": len(group.requests),
                "first_request": result.requests[group.requests[0]].as_json(), "allowed_by": group.allowed_by}

    return {"passed": result.passed, "requests": len(result.requests),
            "sides": {"base": {"name": result.base.side.name, "description": result.base.side.description},
                      "canary": {"name": result.canary.side.name, "description": result.canary.side.description}},
            "rules": result.rules.texts(),
            "differences": [group_data(group) for group in result.groups()],
            "allowed": [group_data(group) for group in result.groups(allowed=True)],
            "metrics": result.metrics()}


def write_html(result: DiffResult, path: Path) -> None:
    """A page: the summary and each differing request (up to HTML_REQUESTS) with both sides side by side."""
    escape = html.escape
    rows = "".join(
        f"<tr><td>{escape(g.kind)}</td><td><code>{escape(g.where)}</code></td><td>{escape(_short(g.base, 200))}</td>"
        f"<td>{escape(_short(g.canary, 200))}</td><td>{len(g.requests)}</td>"
        f"<td><a href='#r{g.requests[0]}'>#{g.requests[0]}</a></td></tr>" for g in result.groups())
    sections = []
    for index in result.differing_requests()[:HTML_REQUESTS]:
        notes = "".join(f"<li>{escape(d.kind)} <code>{escape(d.where)}</code></li>" for d in result.differences
                        if d.request == index and d.allowed_by is None)
        cells = "".join(f"<td><h3>{escape(run.side.name)}</h3><pre>{escape(_observation_text(run.observations[index]))}"
                        "</pre></td>" for run in (result.base, result.canary))
        sections.append(f"<section id='r{index}'><h2>#{index} {escape(result.requests[index].describe())}</h2>"
                        f"<ul>{notes}</ul><table class='sides'><tr>{cells}</tr></table></section>")
    verdict = "PASS: no difference beyond the rules" if result.passed else "FAIL: differences remain"
    page = f"""<!doctype html><html><head><meta charset="utf-8"><title>lambda-canary diff</title><style>
body{{font-family:sans-serif;margin:2em}} table{{border-collapse:collapse}} td,th{{border:1px solid #ccc;padding:4px;
vertical-align:top}} .sides td{{width:50%}} pre{{white-space:pre-wrap;word-break:break-all;font-size:12px}}</style>
</head><body><h1>lambda-canary diff</h1><p><b>{escape(verdict)}</b> over {len(result.requests)} requests</p>
<p>base: {escape(result.base.side.description)}<br>canary: {escape(result.canary.side.description)}</p>
<p>rules: {escape('; '.join(result.rules.texts()) or 'none')}</p>
<table><tr><th>kind</th><th>where</th><th>base</th><th>canary</th><th>requests</th><th>first</th></tr>{rows}</table>
<pre>{escape(json.dumps(result.metrics(), indent=2))}</pre>{''.join(sections)}</body></html>"""
    path.write_text(page)


def _observation_text(observation: Observation) -> str:
    lines = [f"status {observation.status}"]
    lines += [f"{name}: {value}" for name, value in sorted(observation.headers.items())]
    body = observation.json_body()
    lines += ["", observation.body_text() if not isinstance(body, dict | list) else json.dumps(body, indent=2)]
    if observation.error:
        lines += ["", f"function error: {observation.error['errorType']}: {observation.error['errorMessage']}"]
    if observation.logs:
        lines += ["", "logs:", *observation.logs]
    return "\n".join(lines)


def grouped_by_kind(result: DiffResult) -> dict[str, list[DiffGroup]]:
    """Disallowed differences by kind (for callers that print their own report)."""
    kinds: dict[str, list[DiffGroup]] = defaultdict(list)
    for group in result.groups():
        kinds[group.kind].append(group)
    return dict(kinds)
