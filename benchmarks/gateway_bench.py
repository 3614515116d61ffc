"""Gateway throughput and latency: `serve` on examples/ping against a bare Node http server (the floor).

Load comes from wrk (one thread) in its own process; each figure is from the same run, side by side.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from rich.console import Console
from rich.table import Table

from emulator.runtimes.provision import require_node

REPO = Path(__file__).resolve().parent.parent
EXAMPLE = REPO / "examples" / "ping"
DURATION_S = 5


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_http(url: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(url, timeout=2).read()
            return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"{url} did not answer")


def _unit_ms(value: str) -> float:
    number, unit = re.match(r"([\d.]+)(\w+)", value).groups()  # type: ignore[union-attr]
    return float(number) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


def wrk(url: str, connections: int, seconds: int = DURATION_S) -> dict[str, float]:
    """Requests/s and p50/p99 latency (ms) from one wrk run."""
    output = subprocess.run(["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--latency", url],
                            capture_output=True, text=True, check=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))  # type: ignore[union-attr]
    p50 = _unit_ms(re.search(r"\s50%\s+(\S+)", output).group(1))  # type: ignore[union-attr]
    p99 = _unit_ms(re.search(r"\s99%\s+(\S+)", output).group(1))  # type: ignore[union-attr]
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    return {"rps": rps, "p50_ms": p50, "p99_ms": p99, "non_2xx": float(errors.group(1)) if errors else 0.0}


def _serve(extra: list[str], connections: tuple[int, ...]) -> dict[str, dict[str, float]]:
    """wrk figures for `lambda-canary serve examples/ping` with extra arguments, warm."""
    port = _free_port()
    serve = subprocess.Popen([sys.executable, "-m", "emulator.cli", "serve", str(EXAMPLE / "canary.yaml"),
                              "--port", str(port), "--quiet", "--seed", "7", *extra],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=REPO)
    figures = {}
    try:
        url = f"http://127.0.0.1:{port}/prod/ping"
        _wait_http(url, timeout=120)
        wrk(url, max(connections), 3)  # warm: enough environments for the highest concurrency
        for count in connections:
            figures[f"c={count}"] = wrk(url, count)
    finally:
        serve.terminate()
        serve.wait(60)
    return figures


def _docker_arguments(console: Console) -> list[str] | None:
    """`--backend docker` plus stand-in bases when the public images cannot be pulled; None without an engine."""
    from benchmarks.docker_bench import usable_base_images

    images = usable_base_images(console, ["nodejs18.x", "nodejs22.x"])
    if images is None:
        return None
    return ["--backend", "docker", *[f"--docker-base={runtime}={image}" for runtime, image in images.items()]]


def run(console: Console) -> dict[str, dict[str, float]]:
    """Measure serve (process backend, and docker when an engine answers) and the bare Node floor."""
    if shutil.which("wrk") is None:
        raise SystemExit("benchmarks need wrk: apt-get install wrk")
    results: dict[str, dict[str, float]] = {}
    for name, figures in _serve(["--backend", "process"], (1, 8)).items():
        results[f"serve {name}"] = figures
    docker = _docker_arguments(console)
    if docker is not None:
        results["serve docker c=8"] = _serve(docker, (8,))["c=8"]
    node = require_node("nodejs22.x")
    port = _free_port()
    bare = subprocess.Popen([str(node), str(REPO / "benchmarks" / "bare_node_server.js"),
                             str(EXAMPLE / "src" / "handlers" / "ping.js"), "handler", str(port)],
                            stdout=subprocess.PIPE, text=True)
    try:
        assert bare.stdout is not None
        bare.stdout.readline()
        url = f"http://127.0.0.1:{port}/prod/ping"
        wrk(url, 8, 1)
        for connections in (1, 8):
            results[f"bare node c={connections}"] = wrk(url, connections)
    finally:
        bare.terminate()
        bare.wait(30)
    table = Table("setup", "requests/s", "p50 ms", "p99 ms", "non-2xx", "rps vs bare node",
                  title="API Gateway data plane (examples/ping, 10% canary, wrk -t1, 5 s)")
    for name, figures in results.items():
        floor = results["bare node c=8" if name.endswith("c=8") else "bare node c=1"]
        table.add_row(name, f"{figures['rps']:.0f}", f"{figures['p50_ms']:.3f}", f"{figures['p99_ms']:.3f}",
                      f"{figures['non_2xx']:.0f}", f"{figures['rps'] / floor['rps']:.3f}")
    console.print(table)
    return results


if __name__ == "__main__":
    run(Console())
