"""`make bench`: every benchmark in one run, so the figures sit side by side.

`make bench PEERS=1` (BENCH_PEERS=1) adds benchmarks/peers_bench.py: serverless-offline and SAM CLI beside
lambda-canary; it installs the peers into the cache on first use and takes longer. Without it `make bench` stays
under 2 minutes.
"""

from __future__ import annotations

import importlib
import os
import time

from rich.console import Console

SUITES = ("benchmarks.runtime_bench", "benchmarks.gateway_bench", "benchmarks.startup_bench",
          "benchmarks.memory_bench", "benchmarks.docker_bench", "benchmarks.state_bench", "benchmarks.diff_bench",
          "benchmarks.http_layer_bench")
PEER_SUITES = ("benchmarks.peers_bench",)


def main() -> None:
    """Run each suite that exists; a missing prerequisite is reported, not hidden."""
    console = Console(width=140)  # wide enough for the tables when the output is not a terminal
    suites = SUITES + (PEER_SUITES if os.environ.get("BENCH_PEERS", "") not in ("", "0") else ())
    began = time.monotonic()
    for name in suites:
        console.rule(name)
        started = time.monotonic()
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as error:
            console.print(f"skipped: {error}")
            continue
        try:
            module.run(console)
        except SystemExit as missing:  # a suite whose tool is absent (e.g. wrk) says so; the others still run
            console.print(f"skipped: {missing}")
        console.print(f"[dim]{name}: {time.monotonic() - started:.0f} s, load {os.getloadavg()[0]:.2f}[/dim]")
    console.print(f"make bench: {time.monotonic() - began:.0f} s in all"
                  + ("" if PEER_SUITES[0] in suites else " (without the peers: make bench PEERS=1 adds them)"))


if __name__ == "__main__":
    main()
