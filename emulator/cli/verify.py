"""`lambda-canary split` and `compare`: send requests and test the split, or compare with a deployed stage."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click
from rich.console import Console

from emulator.cli.common import err_console, max_memory_option
from emulator.errors import UserError


class GatewayLog:
    """The in-process gateway's execution log during a split: counted, and only its first lines shown."""

    SHOWN = 3

    def __init__(self) -> None:
        self.first: list[str] = []
        self.count = 0

    def add(self, line: str) -> None:
        """Keep a line (the first few only)."""
        self.count += 1
        if len(self.first) < self.SHOWN:
            self.first.append(line)

    def summarize(self, console: Console) -> None:
        """The first lines and how many there were, on stderr."""
        for line in self.first:
            console.print(f"gateway: {line}", markup=False)
        if self.count > len(self.first):
            console.print(f"gateway: ... {self.count - len(self.first)} more execution-log lines (`serve` shows "
                          "them all)", markup=False)

@click.command()
@click.argument("target")
@click.option("--path", default="/ping", show_default=True, help="Path on the stage to request.")
@click.option("--stage", "-s", help="Stage (config targets; default: the only one).")
@click.option("--host", metavar="NAME", help="Host header, e.g. {apiId}.execute-api.localhost to pick one of several "
              "APIs (default: the URL's host).")
@click.option("--requests", "-n", default=1000, show_default=True, type=click.IntRange(1, 1_000_000),
              help="How many requests to send.")
@click.option("--concurrency", default=8, show_default=True, type=click.IntRange(1, 256),
              help="Requests in flight at once.")
@click.option("--expect", type=click.FloatRange(0, 100), help="Expected canary percent (default: the config's).")
@click.option("--alpha", default=1e-6, show_default=True, type=click.FloatRange(0, 1, min_open=True, max_open=True),
              help="False-failure probability of the verdict (exact binomial test).")
@click.option("--confidence", default=0.95, show_default=True, type=click.FloatRange(0, 1, min_open=True,
                                                                                      max_open=True),
              help="Confidence of the Wilson intervals in the table.")
@click.option("--by", type=click.Choice(["variant", "version", "runtime", "function"]), default=None,
              help="How responses are grouped (default for a config: what differs in the stage's chain; "
                   "for a URL: variant).")
@click.option("--canary-key", help="The group counted as the canary (default: the one off the primary route).")
@click.option("--variant-from", help="URL targets that are not an emulator: body.FIELD or header.NAME.")
@click.option("--canary-pattern", help="With --variant-from: a regex whose match marks the canary.")
@click.option("--seed", type=int, help="Seed the stack's choices (config targets).")
@click.option("--backend", default=None, help="auto, process or docker (config targets).")
@click.option("--allow-errors", is_flag=True, help="Pass even when some requests fail or cannot be classified "
              "(not when every request fails).")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@click.option("--plot", type=click.Path(dir_okay=False, path_type=Path),
              help="Draw the canary share converging inside its band (.png or .html).")
@click.option("--header", "-H", "header", multiple=True, help="'Name: value' sent with every request (repeatable).")
@max_memory_option
def split(target: str, path: str, stage: str | None, host: str | None, requests: int, concurrency: int,
          expect: float | None, alpha: float, confidence: float, by: str | None, canary_key: str | None,
          variant_from: str | None, canary_pattern: str | None, seed: int | None, backend: str | None,
          allow_errors: bool, as_json: bool,
          plot: Path | None, header: tuple[str, ...], max_memory: int | None) -> None:
    """Send requests to TARGET (a config file or a URL) and test the canary share; exit 1 when it fails."""
    from rich.progress import Progress

    from emulator.verify import report
    from emulator.verify import split as splitting

    is_url = target.startswith(("http://", "https://"))
    if is_url and by not in (None, "variant") and canary_key is None:
        raise UserError(f"--by {by}: name the canary's group with --canary-key (e.g. a version number or runtime)")
    if is_url and expect is None:
        raise UserError(f"{target}: give --expect PERCENT (the expected share of a URL target is not known here)")
    if plot is not None and plot.suffix.lower() not in (".png", ".html"):
        raise UserError(f"--plot {plot}: use .png or .html")
    headers = splitting.parse_headers(header)
    console = Console()
    gateway_log = GatewayLog()
    with Progress(console=err_console, transient=True, disable=as_json or requests < 200) as progress:
        task = progress.add_task("requests", total=requests)

        def advance(count: int) -> None:
            progress.advance(task, count)

        if is_url:
            classifier = splitting.parse_classifier(variant_from, canary_pattern)
            url = target.rstrip("/") + path
            result = splitting.split_url(url, requests, concurrency, by=by or "variant", classifier=classifier,
                                         progress=advance, host=host, headers=headers)
            result.canary_key = canary_key or "canary"
            expected, reason = expect, None
        else:
            result, plan = splitting.split_config(Path(target), path, requests, concurrency, stage=stage, by=by,
                                                  seed=seed, backend=backend, canary_key=canary_key,
                                                  progress=advance, headers=headers, host=host,
                                                  gateway_log=gateway_log.add, max_memory=max_memory)
            expected = expect if expect is not None else plan.expected_percent
            reason = (f"by {plan.by}, canary group {plan.canary_key}, expected {plan.expected_percent:.4g}% from the "
                      f"chain ({plan.reason})")
    assert expected is not None
    outcome = report.split_verdict(result, expected, alpha) if result.n else None
    if as_json:
        click.echo(json.dumps({**report.as_json(result, outcome, confidence, allow_errors), "plan": reason}, indent=2))
    else:
        if reason is not None:
            console.print(f"split {reason}", markup=False, highlight=False)
        report.render(result, outcome, confidence, console, allow_errors)
    if plot is not None:
        from emulator.verify.stats.plot import plot_convergence

        written = plot_convergence(result.outcomes(), expected, 1 - alpha, plot)
        err_console.print(f"plot: {written}")
    gateway_log.summarize(err_console)
    if not report.passed(result, outcome, allow_errors):
        sys.exit(1)


@click.command()
@click.argument("config_file", type=click.Path(path_type=Path))
@click.argument("url")
@click.option("--path", default="/ping", show_default=True, help="Path on the stage to request, on both sides.")
@click.option("--stage", "-s", help="Local stage (default: the only one).")
@click.option("--host", metavar="NAME", help="Host header on both sides, e.g. {apiId}.execute-api.localhost to pick "
              "one of several APIs.")
@click.option("--requests", "-n", default=500, show_default=True, type=click.IntRange(1, 4000),
              help="How many requests to send to each side.")
@click.option("--concurrency", default=4, show_default=True, type=click.IntRange(1, 64),
              help="Requests in flight at once, per side.")
@click.option("--variant-from", help="Classify the remote side by body.FIELD or header.NAME (not an emulator).")
@click.option("--canary-pattern", help="With --variant-from: a regex whose match marks the canary.")
@click.option("--seed", type=int, help="Seed the local stack's choices (unseeded by default).")
@click.option("--alpha", default=1e-6, show_default=True, type=click.FloatRange(0, 1, min_open=True, max_open=True),
              help="False-failure probability of the split difference test (Fisher exact).")
@max_memory_option
def compare(config_file: Path, url: str, path: str, stage: str | None, host: str | None, requests: int,
            concurrency: int, variant_from: str | None, canary_pattern: str | None, seed: int | None,
            alpha: float, max_memory: int | None) -> None:
    """Send the same requests to CONFIG_FILE run locally and to URL (a stage); exit 1 on any difference."""
    from emulator.verify import compare as comparing
    from emulator.verify.split import parse_classifier

    local, remote = comparing.compare(config_file, url, path, requests, concurrency, stage=stage,
                                      classifier=parse_classifier(variant_from, canary_pattern), seed=seed,
                                      alpha=alpha, host=host, max_memory=max_memory)
    found = comparing.differences(local, remote, alpha)
    console = Console(highlight=False)
    console.print(f"local: {local.total} responses, canary {local.canary}; {url}: {remote.total} responses, "
                  f"canary {remote.canary}")
    for line in found:
        console.print(f"difference: {line}")
    if not found:
        console.print("No differences.")
    sys.exit(1 if found else 0)
