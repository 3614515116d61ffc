"""`lambda-canary top [URL]`: a running emulator's metrics per stage variant and per function, live.

Reads `/_lambda_canary/metrics.json` (emulator/apigateway/metrics.py) every `--interval` seconds and redraws two
rich tables: API Gateway by ApiName and Stage (the canary as `<stage>/Canary`), with the request rate since the
last refresh, and Lambda by function, version and runtime.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from typing import Any

import click
from rich.console import Console, Group
from rich.live import Live
from rich.table import Table

from emulator.errors import UserError


def fetch(base_url: str) -> dict[str, Any]:
    """The metrics as JSON; a UserError when nothing (or not an emulator) answers."""
    url = base_url.rstrip("/") + "/_lambda_canary/metrics.json"
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return json.loads(response.read())  # type: ignore[no-any-return]
    except (urllib.error.URLError, OSError, ValueError) as error:
        raise UserError(f"{url}: no lambda-canary metrics there ({error}); is `lambda-canary serve` running?") from None


def _ms(summary: dict[str, Any], key: str) -> str:
    value = summary.get(key)
    return "-" if value is None else f"{value:.1f}"


def tables(metrics: dict[str, Any], previous: dict[str, Any] | None, seconds: float) -> Group:
    """The two tables; rates are per second since `previous` (blank on the first draw)."""
    before = {(e["dimensions"]["ApiName"], e["dimensions"]["Stage"]): e["Count"]
              for e in (previous or {}).get("AWS/ApiGateway", [])}
    gateway = Table("ApiName", "Stage", "Count", "req/s", "4XXError", "5XXError", "Latency p50", "p90", "p99",
                    "IntegrationLatency p50", title="AWS/ApiGateway (ms)")
    for entry in metrics.get("AWS/ApiGateway", []):
        dims, latency = entry["dimensions"], entry["Latency"]
        key = (dims["ApiName"], dims["Stage"])
        rate = f"{(entry['Count'] - before[key]) / seconds:.1f}" if previous is not None and key in before \
            and seconds > 0 else ""
        gateway.add_row(dims["ApiName"], dims["Stage"], str(entry["Count"]), rate, str(entry["4XXError"]),
                        str(entry["5XXError"]), _ms(latency, "p50"), _ms(latency, "p90"), _ms(latency, "p99"),
                        _ms(entry["IntegrationLatency"], "p50"))
    memory = {(e["dimensions"]["FunctionName"], e["dimensions"]["ExecutedVersion"]): e["MaxMemoryUsed"]
              for e in metrics.get("AWS/Lambda MaxMemoryUsed", [])}
    functions = Table("FunctionName", "Resource", "Version", "Runtime", "Invocations", "Errors", "Throttles",
                      "Concurrent", "Duration p50", "p90", "p99", "cold starts", "Init p50", "Max MB",
                      title="AWS/Lambda (ms)")
    for entry in metrics.get("AWS/Lambda", []):
        dims, duration, init = entry["dimensions"], entry["Duration"], entry["InitDuration"]
        functions.add_row(dims["FunctionName"], dims["Resource"], dims["ExecutedVersion"], dims["Runtime"],
                          str(entry["Invocations"]), str(entry["Errors"]), str(entry["Throttles"]),
                          str(entry["ConcurrentExecutions"]), _ms(duration, "p50"), _ms(duration, "p90"),
                          _ms(duration, "p99"), str(init["count"]), _ms(init, "p50"),
                          str(memory.get((dims["FunctionName"], dims["ExecutedVersion"]), "-")))
    return Group(gateway, functions)


@click.command("top")
@click.argument("url", default="http://127.0.0.1:3000")
@click.option("--interval", default=2.0, show_default=True, type=click.FloatRange(0.1, 3600),
              help="Seconds between refreshes.")
@click.option("--once", is_flag=True, help="Print one snapshot and exit (for scripts).")
def top_command(url: str, interval: float, once: bool) -> None:
    """Live metrics of a running emulator, per stage variant and per function version and runtime."""
    console = Console()
    metrics = fetch(url)
    if once:
        console.print(tables(metrics, None, 0.0))
        return
    previous, then = metrics, time.monotonic()
    with Live(tables(metrics, None, 0.0), console=console, refresh_per_second=4) as live:
        try:
            while True:
                time.sleep(interval)
                metrics, now = fetch(url), time.monotonic()
                live.update(tables(metrics, previous, now - then))
                previous, then = metrics, now
        except KeyboardInterrupt:
            pass
