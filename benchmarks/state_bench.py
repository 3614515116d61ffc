"""Data-plane latency while the AWS API writes a 1 MB state: `serve examples/ping --state-dir` answering
/prod/ping, alone and then with 100 control-plane writes per second (each one durable before its answer).

The writes come from another process (boto3, update-rest-api on rotating APIs of about 10 KB each), the
latency from 4 keep-alive connections in this one; both figures come from the same run. A third phase runs the
writes alone and reads serve's own CPU time from /proc: the CPU one control-plane write costs the emulator (the
AWS API's request handling, the journal line and its share of the folds), a figure other processes' load on
the machine barely moves, unlike the p99 ratio.

On a machine whose cores are all busy (the writer process, Node, other work), the p99 ratio also measures that
contention: compare the CPU figure with and without --state-dir to see what persisting adds.
"""

from __future__ import annotations

import asyncio
import json
import multiprocessing
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from benchmarks.gateway_bench import _free_port, _wait_http

REPO = Path(__file__).resolve().parent.parent
EXAMPLE = REPO / "examples" / "ping" / "canary.yaml"
STATE_BYTES = 1_000_000
API_DESCRIPTION = 10_000
WRITES_PER_S = 100
SECONDS = 2.0
CONNECTIONS = 4


def _client(url: str) -> Any:
    import boto3
    from botocore.config import Config

    return boto3.client("apigateway", endpoint_url=url, region_name="us-east-1", aws_access_key_id="bench",
                        aws_secret_access_key="bench", config=Config(retries={"total_max_attempts": 1}))


def _fill(url: str, count: int) -> list[str]:
    """`count` REST APIs of about 10 KB each."""
    client = _client(url)
    return [client.create_rest_api(name=f"bench-{index}", description="d" * API_DESCRIPTION)["id"]
            for index in range(count)]


def _write_steadily(url: str, ids: list[str], seconds: float, done: Any) -> None:
    """WRITES_PER_S update-rest-api calls per second, each on schedule from a pool of clients (another process:
    its CPU is not the gateway's). Each call returns once its change is on disk."""
    import threading
    from concurrent.futures import ThreadPoolExecutor

    local = threading.local()

    def write(count: int) -> None:
        if not hasattr(local, "client"):
            local.client = _client(url)
        local.client.update_rest_api(restApiId=ids[count % len(ids)], patchOperations=[
            {"op": "replace", "path": "/description", "value": f"{count:08d}" + "d" * (API_DESCRIPTION - 8)}])

    start = time.monotonic()
    count = 0
    with ThreadPoolExecutor(16) as pool:
        futures = []
        while time.monotonic() - start < seconds:
            due = start + count / WRITES_PER_S
            if due > time.monotonic():
                time.sleep(due - time.monotonic())
            futures.append(pool.submit(write, count))
            count += 1
        for future in futures:
            future.result()
    done.value = count / (time.monotonic() - start)


async def _latencies(url: str, seconds: float, host: str | None = None) -> list[float]:
    import aiohttp

    samples: list[float] = []
    deadline = time.monotonic() + seconds

    async def worker(session: aiohttp.ClientSession) -> None:
        while time.monotonic() < deadline:
            began = time.perf_counter()
            async with session.get(url, headers={"Host": host} if host else None) as response:
                await response.read()
                if response.status != 200:
                    raise RuntimeError(f"{url} answered {response.status}")
            samples.append((time.perf_counter() - began) * 1000)

    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=CONNECTIONS)) as session:
        await asyncio.gather(*(worker(session) for _ in range(CONNECTIONS)))
    return samples


def _figures(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    return {"requests": len(ordered), "p50_ms": statistics.median(ordered),
            "p99_ms": ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]}


def _cpu_seconds(pid: int) -> float:
    """A process's user + system CPU time so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _state_bytes(state: Path) -> int:
    """The size of the document a start reads (state.json with the journal's changes)."""
    from emulator.control_plane import persistence

    return len(json.dumps(persistence.read_document(state)))


def _measure(state: Path | None) -> tuple[dict[str, float], dict[str, float], float, float, float]:
    """(alone, with writes, writes/s, state bytes, serve's CPU ms per write) for serve with or without a state
    folder."""
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    extra = ["--state-dir", str(state)] if state is not None else []
    serve = subprocess.Popen([sys.executable, "-m", "emulator.cli", "serve", str(EXAMPLE), "--port", str(port),
                              "--quiet", "--seed", "7", "--backend", "process", *extra],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=REPO)
    try:
        _wait_http(f"{url}/prod/ping", timeout=120)
        ping = _client(url).get_rest_apis()["items"][0]["id"]
        host = f"{ping}.execute-api.localhost"  # several APIs now: the Host header picks examples/ping's
        ids = _fill(url, STATE_BYTES // API_DESCRIPTION)
        size = _state_bytes(state) if state is not None else 0.0
        asyncio.run(_latencies(f"{url}/prod/ping", 1.0, host))  # warm
        alone = _figures(asyncio.run(_latencies(f"{url}/prod/ping", SECONDS, host)))
        rate = multiprocessing.get_context("spawn").Value("d", 0.0)
        writer = multiprocessing.get_context("spawn").Process(target=_write_steadily,
                                                              args=(url, ids, SECONDS + 1, rate))
        writer.start()
        time.sleep(0.5)
        loaded = _figures(asyncio.run(_latencies(f"{url}/prod/ping", SECONDS, host)))
        writer.join(60)
        alone_rate = multiprocessing.get_context("spawn").Value("d", 0.0)
        writer = multiprocessing.get_context("spawn").Process(target=_write_steadily,
                                                              args=(url, ids, SECONDS, alone_rate))
        before = _cpu_seconds(serve.pid)
        writer.start()
        writer.join(60)
        cpu_ms = (_cpu_seconds(serve.pid) - before) * 1000 / max(1.0, alone_rate.value * SECONDS)
    finally:
        serve.terminate()
        serve.wait(60)
    return alone, loaded, rate.value, size, cpu_ms


def run(console: Console) -> dict[str, dict[str, float]]:
    """Measure p99 without and with the writes, with a state folder and without one; print the ratios."""
    with tempfile.TemporaryDirectory(prefix="lambda-canary-bench-") as folder:
        alone, loaded, rate, size, cpu_ms = _measure(Path(folder) / "state")
    bare_alone, bare_loaded, bare_rate, _, bare_cpu_ms = _measure(None)
    table = Table("serve", "control-plane writes/s", "requests", "p50 ms", "p99 ms",
                  title=f"/prod/ping beside {STATE_BYTES // API_DESCRIPTION} REST APIs ({CONNECTIONS} connections, "
                        f"{SECONDS:g} s each)")
    label = f"--state-dir ({size / 1e6:.2f} MB state)"
    for name, figures, writes in ((label, alone, 0.0), (label, loaded, rate),
                                  ("no --state-dir", bare_alone, 0.0), ("no --state-dir", bare_loaded, bare_rate)):
        table.add_row(name, f"{writes:.0f}", f"{figures['requests']:.0f}", f"{figures['p50_ms']:.2f}",
                      f"{figures['p99_ms']:.2f}")
    console.print(table)
    console.print(f"p99 ratio with/without {WRITES_PER_S} writes/s: {loaded['p99_ms'] / alone['p99_ms']:.2f} "
                  f"with --state-dir, {bare_loaded['p99_ms'] / bare_alone['p99_ms']:.2f} without (the writes' "
                  "own cost: the AWS API's requests share the event loop and the CPU)")
    console.print(f"serve's CPU per control-plane write (writes alone): {cpu_ms:.2f} ms with --state-dir, "
                  f"{bare_cpu_ms:.2f} ms without; load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    return {"state alone": alone, "state with writes": {**loaded, "writes_per_s": rate, "cpu_ms_per_write": cpu_ms},
            "memory alone": bare_alone,
            "memory with writes": {**bare_loaded, "writes_per_s": bare_rate, "cpu_ms_per_write": bare_cpu_ms}}


if __name__ == "__main__":
    run(Console())
