"""`make bench`: every benchmark in one run, so the figures sit side by side."""

from __future__ import annotations

import importlib

from rich.console import Console

SUITES = ("benchmarks.runtime_bench", "benchmarks.gateway_bench", "benchmarks.startup_bench", "benchmarks.docker_bench",
          "benchmarks.state_bench", "benchmarks.diff_bench", "benchmarks.http_layer_bench")


def main() -> None:
    """Run each suite that exists; a missing prerequisite is reported, not hidden."""
    console = Console(width=140)  # wide enough for the tables when the output is not a terminal
    for name in SUITES:
        console.rule(name)
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as error:
            console.print(f"skipped: {error}")
            continue
        try:
            module.run(console)
        except SystemExit as missing:  # a suite whose tool is absent (e.g. wrk) says so; the others still run
            console.print(f"skipped: {missing}")


if __name__ == "__main__":
    main()
