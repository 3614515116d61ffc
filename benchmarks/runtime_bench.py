"""Runtime hand-off cost: warm invokes through LambdaService vs the same handler in a bare Node loop.

Per runtime (Node 18 and Node 22, the real releases from the cache):
- warm: p50/p99 of `LambdaService.invoke` on one warm environment (event -> Runtime API `/next` ->
  handler -> `/response` -> result), against p50/p99 of calling the handler in a plain Node loop;
- cold: a new environment's first invoke (process start, runtime client, handler load) and its
  Init Duration, against starting bare `node -e 0`.

Run: `.venv/bin/python -m benchmarks.runtime_bench`. Not a test; figures depend on the machine.
"""

from __future__ import annotations

import json
import math
import subprocess
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from emulator import aio
from emulator.lambda_service.backends.process import ProcessBackend
from emulator.lambda_service.model import FunctionVersion
from emulator.lambda_service.service import FunctionRecord, LambdaService
from emulator.runtimes.catalogue import get_runtime
from emulator.runtimes.provision import require_node

RUNTIMES = ("nodejs18.x", "nodejs22.x")
CODE_DIR = Path(__file__).resolve().parent.parent / "examples" / "ping"
HANDLER = "src/handlers/ping.handler"
EVENT = {"path": "/ping", "httpMethod": "GET", "headers": {"Accept": "application/json"}}
WARMUP = 50
WARM_N = 200
BARE_N = 2000
COLD_N = 3

# Calls the handler N times in one process and prints per-call milliseconds as JSON. The result is
# serialised as the runtime client does, so both sides do the same handler work.
BARE_LOOP = r"""
const [file, exportName, count, warmup] = process.argv.slice(2);
const handler = require(file)[exportName];
const event = JSON.parse(process.env.BENCH_EVENT);
const context = { functionName: "bench", awsRequestId: "bench", getRemainingTimeInMillis: () => 3000 };
(async () => {
  for (let i = 0; i < Number(warmup); i++) JSON.stringify(await handler(event, context));
  const samples = [];
  for (let i = 0; i < Number(count); i++) {
    const started = process.hrtime.bigint();
    JSON.stringify(await handler(event, context));
    samples.push(Number(process.hrtime.bigint() - started) / 1e6);
  }
  process.stdout.write(JSON.stringify({ version: process.version, samples }));
})();
"""


def percentile(samples: Sequence[float], fraction: float) -> float:
    """Nearest-rank percentile."""
    ordered = sorted(samples)
    return ordered[max(0, math.ceil(fraction * len(ordered)) - 1)]


def _version(runtime: str) -> FunctionVersion:
    return FunctionVersion(function_name=f"bench-{runtime.replace('.', '-')}", version="$LATEST",
                           runtime=get_runtime(runtime), handler=HANDLER, code_dir=CODE_DIR, memory_size=128,
                           timeout=30, environment={}, region="us-east-1", account_id="123456789012",
                           code_sha256="bench")


def _discard(_function: str, _line: str) -> None:
    """Log sink that drops every line."""


async def _warm_invokes(runtime: str) -> tuple[list[float], float]:
    """Per-invoke milliseconds on one warm environment, and the cold first invoke."""
    version = _version(runtime)
    service = LambdaService(ProcessBackend(), _discard)
    service.put_function(FunctionRecord(version))
    payload = json.dumps(EVENT).encode()
    try:
        started = time.perf_counter()
        first = await service.invoke(version.function_name, payload)
        cold_ms = (time.perf_counter() - started) * 1000
        assert first.function_error is None, first.payload
        for _ in range(WARMUP):
            await service.invoke(version.function_name, payload)
        samples = []
        for _ in range(WARM_N):
            started = time.perf_counter()
            result = await service.invoke(version.function_name, payload)
            samples.append((time.perf_counter() - started) * 1000)
            assert result.function_error is None and result.init_duration_ms is None
        (pool,) = service.pools()
        assert pool.started == 1, "the warm loop must stay on one environment"
        return samples, cold_ms
    finally:
        await service.close()


async def _cold_starts(runtime: str) -> tuple[list[float], list[float]]:
    """Wall time of a first invoke on a new environment, and its Init Duration, COLD_N times."""
    version = _version(runtime)
    payload = json.dumps(EVENT).encode()
    walls, inits = [], []
    for _ in range(COLD_N):
        service = LambdaService(ProcessBackend(), _discard)
        service.put_function(FunctionRecord(version))
        try:
            started = time.perf_counter()
            result = await service.invoke(version.function_name, payload)
            walls.append((time.perf_counter() - started) * 1000)
            assert result.init_duration_ms is not None and result.function_error is None
            inits.append(result.init_duration_ms)
        finally:
            await service.close()
    return walls, inits


def _bare_loop(runtime: str, script: Path) -> tuple[str, list[float]]:
    """Per-call milliseconds of the handler called directly in a Node loop (the runtime's node)."""
    node = require_node(runtime)
    handler_file = CODE_DIR / (HANDLER.rsplit(".", 1)[0] + ".js")
    completed = subprocess.run(
        [str(node), str(script), str(handler_file), HANDLER.rsplit(".", 1)[1], str(BARE_N), str(WARMUP * 10)],
        capture_output=True, text=True, check=True, timeout=120, env={"BENCH_EVENT": json.dumps(EVENT)})
    answer = json.loads(completed.stdout)
    return answer["version"], answer["samples"]


def _bare_startup(runtime: str) -> list[float]:
    """Milliseconds to start and exit `node -e 0`, COLD_N times."""
    node = require_node(runtime)
    samples = []
    for _ in range(COLD_N):
        started = time.perf_counter()
        subprocess.run([str(node), "-e", "0"], check=True, timeout=60, env={})
        samples.append((time.perf_counter() - started) * 1000)
    return samples


def run(console: Console) -> dict[str, Any]:
    """Measure every runtime, print rich tables, return the figures (milliseconds and ratios)."""
    figures: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as scratch:
        script = Path(scratch) / "bare_loop.cjs"
        script.write_text(BARE_LOOP)
        for runtime in RUNTIMES:
            console.print(f"[dim]measuring {runtime}…[/dim]")
            node_version, bare = _bare_loop(runtime, script)
            warm, first_ms = aio.run(_warm_invokes(runtime))
            walls, inits = aio.run(_cold_starts(runtime))
            startup = _bare_startup(runtime)
            lambda_p50, lambda_p99 = percentile(warm, 0.5), percentile(warm, 0.99)
            bare_p50, bare_p99 = percentile(bare, 0.5), percentile(bare, 0.99)
            cold_p50, startup_p50 = percentile(walls, 0.5), percentile(startup, 0.5)
            figures[runtime] = {
                "node": node_version,
                "warm_n": len(warm),
                "warm_p50_ms": lambda_p50,
                "warm_p99_ms": lambda_p99,
                "bare_n": len(bare),
                "bare_p50_ms": bare_p50,
                "bare_p99_ms": bare_p99,
                "warm_over_bare_p50": lambda_p50 / bare_p50,
                "warm_over_bare_p99": lambda_p99 / bare_p99,
                "handoff_overhead_p50_ms": lambda_p50 - bare_p50,
                "cold_n": len(walls),
                "cold_p50_ms": cold_p50,
                "cold_max_ms": max(walls),
                "init_duration_p50_ms": percentile(inits, 0.5),
                "first_invoke_ms": first_ms,
                "node_startup_p50_ms": startup_p50,
                "cold_over_node_startup": cold_p50 / startup_p50,
                "cold_over_warm_p50": cold_p50 / lambda_p50,
            }

    warm_table = Table(title="Warm invoke: LambdaService (Runtime API hand-off) vs bare Node loop")
    for column in ("runtime", "node", "invoke p50 / p99", "bare p50 / p99", "ratio p50 / p99", "overhead p50"):
        warm_table.add_column(column, justify="left" if column in ("runtime", "node") else "right", no_wrap=True)
    for runtime, row in figures.items():
        warm_table.add_row(runtime, row["node"], f"{row['warm_p50_ms']:.3f} / {row['warm_p99_ms']:.3f} ms",
                           f"{row['bare_p50_ms']:.4f} / {row['bare_p99_ms']:.4f} ms",
                           f"{row['warm_over_bare_p50']:.0f}x / {row['warm_over_bare_p99']:.0f}x",
                           f"{row['handoff_overhead_p50_ms']:.3f} ms")
    cold_table = Table(title=f"Cold start: a new environment's first invoke ({COLD_N} runs each)")
    for column in ("runtime", "cold p50 / max", "Init Duration p50", "node -e 0 p50", "cold / node",
                   "cold / warm"):
        cold_table.add_column(column, justify="left" if column == "runtime" else "right", no_wrap=True)
    for runtime, row in figures.items():
        cold_table.add_row(runtime, f"{row['cold_p50_ms']:.1f} / {row['cold_max_ms']:.1f} ms",
                           f"{row['init_duration_p50_ms']:.1f} ms", f"{row['node_startup_p50_ms']:.1f} ms",
                           f"{row['cold_over_node_startup']:.2f}x", f"{row['cold_over_warm_p50']:.0f}x")
    console.print(warm_table)
    console.print(cold_table)
    console.print(f"[dim]warm: {WARM_N} invokes after {WARMUP} warm-up; bare: {BARE_N} calls; "
                  "ratio = LambdaService latency / bare handler call[/dim]")
    return figures


if __name__ == "__main__":
    run(Console(width=max(Console().width, 120)))
