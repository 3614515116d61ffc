"""`diff` of 300 requests on examples/ping against `split` of 600 (the same number of invocations).

Both run in-process as the commands do: `diff` starts its two pinned stacks and sends each request to both,
DEFAULT_CONCURRENCY (8) at a time per side, and also one at a time (`-c 1`, as before --concurrency); `split` starts
one stack and sends its requests 8 at a time. Wall time includes the stacks' start and stop.
"""

from __future__ import annotations

import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

from emulator.verify.diff import DEFAULT_CONCURRENCY
from emulator.verify.diff.corpus import DiffRequest
from emulator.verify.diff.session import DiffSession
from emulator.verify.split import split_config

PING = Path(__file__).resolve().parent.parent / "examples" / "ping" / "canary.yaml"
DIFF_REQUESTS = 300
SPLIT_REQUESTS = 2 * DIFF_REQUESTS


def run(console: Console) -> None:
    """Time both and print them with their ratio."""
    timings = {}
    for concurrency in (DEFAULT_CONCURRENCY, 1):
        started = time.perf_counter()
        session = DiffSession.open(PING, None, None, [r"$.node ~ ^v\d+\."], "process")
        result = session.run([DiffRequest("GET", "/ping")] * DIFF_REQUESTS, concurrency=concurrency)
        timings[concurrency] = time.perf_counter() - started
        assert result.passed, "examples/ping with the node rule should show no difference"
    diff_s = timings[DEFAULT_CONCURRENCY]
    started = time.perf_counter()
    split, _ = split_config(PING, "/ping", SPLIT_REQUESTS, 8, stage=None, by=None, seed=1, backend="process")
    split_s = time.perf_counter() - started
    assert split.n == SPLIT_REQUESTS
    table = Table("command", "requests", "invocations", "wall s", "invocations/s",
                  title="diff vs split on examples/ping (process backend)")
    for concurrency, seconds in timings.items():
        table.add_row(f"diff -c {concurrency}", str(DIFF_REQUESTS), str(2 * DIFF_REQUESTS), f"{seconds:.2f}",
                      f"{2 * DIFF_REQUESTS / seconds:.0f}")
    table.add_row("split -c 8", str(SPLIT_REQUESTS), str(SPLIT_REQUESTS), f"{split_s:.2f}",
                  f"{SPLIT_REQUESTS / split_s:.0f}")
    console.print(table)
    console.print(f"diff (-c {DEFAULT_CONCURRENCY}) / split wall time: {diff_s / split_s:.2f}x; "
                  f"diff -c 1 / split: {timings[1] / split_s:.2f}x")


if __name__ == "__main__":
    run(Console(width=140))
