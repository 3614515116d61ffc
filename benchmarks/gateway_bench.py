"""Gateway throughput and latency: `serve` on examples/ping against a bare Node http server (the floor).

Beside them, the relay floor (benchmarks/relay_floor.py): a bare Python relay to the same Node runtime client,
doing none of the gateway's work: how far `serve` is from what this design can do at all.

Load comes from wrk (one thread) in its own process; each figure is from the same run, side by side.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
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
DURATION_S = 2


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


def load() -> float:
    """The machine's 1-minute load average now (what `uptime` shows first)."""
    return os.getloadavg()[0]


def wrk(url: str, connections: int, seconds: int = DURATION_S) -> dict[str, float]:
    """Requests/s and p50/p99 latency (ms) from one wrk run."""
    return wrk_script(url, None, connections, seconds)


def wrk_script(url: str, script: Path | None, connections: int, seconds: int = DURATION_S) -> dict[str, float]:
    """`wrk` with an optional Lua script (e.g. one that picks each request's path)."""
    output = subprocess.run(["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--latency",
                             *(["-s", str(script)] if script is not None else []), url],
                            capture_output=True, text=True, check=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))  # type: ignore[union-attr]
    p50 = _unit_ms(re.search(r"\s50%\s+(\S+)", output).group(1))  # type: ignore[union-attr]
    p99 = _unit_ms(re.search(r"\s99%\s+(\S+)", output).group(1))  # type: ignore[union-attr]
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    return {"rps": rps, "p50_ms": p50, "p99_ms": p99, "non_2xx": float(errors.group(1)) if errors else 0.0}


class _Serve:
    """`lambda-canary serve examples/ping` with default logging (the lines go to /dev/null), warm."""

    def __init__(self, extra: list[str]) -> None:
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}/prod/ping"
        self.process = subprocess.Popen([sys.executable, "-m", "emulator.cli", "serve", str(EXAMPLE / "canary.yaml"),
                                         "--port", str(self.port), "--seed", "7", *extra],
                                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=REPO)

    def __enter__(self) -> _Serve:
        _wait_http(self.url, timeout=120)
        wrk(self.url, 8, 1)  # warm: enough environments for the highest concurrency
        return self

    def __exit__(self, *exc: object) -> None:
        self.process.terminate()
        self.process.wait(60)


class _RelayFloor:
    """The architecture's floor (benchmarks/relay_floor.py): a bare Python relay to real Node runtime clients."""

    def __enter__(self) -> _RelayFloor:
        port = _free_port()
        self.url = f"http://127.0.0.1:{port}/prod/ping"
        self.process = subprocess.Popen([sys.executable, "-m", "benchmarks.relay_floor", str(port), "8"],
                                        stdout=subprocess.PIPE, text=True, cwd=REPO, start_new_session=True)
        assert self.process.stdout is not None
        self.process.stdout.readline()
        _wait_http(self.url, timeout=60)
        wrk(self.url, 8, 1)
        return self

    def __exit__(self, *exc: object) -> None:
        os.killpg(self.process.pid, signal.SIGKILL)  # the relay and its Node processes
        self.process.wait(30)


class _BareNode:
    """The floor: a bare Node http server calling the same handler."""

    def __enter__(self) -> _BareNode:
        port = _free_port()
        self.url = f"http://127.0.0.1:{port}/prod/ping"
        server = REPO / "benchmarks" / "bare_node_server.js"
        self.process = subprocess.Popen([str(require_node("nodejs22.x")), str(server),
                                         str(EXAMPLE / "src" / "handlers" / "ping.js"), "handler", str(port)],
                                        stdout=subprocess.PIPE, text=True)
        assert self.process.stdout is not None
        self.process.stdout.readline()
        wrk(self.url, 8, 1)
        return self

    def __exit__(self, *exc: object) -> None:
        self.process.terminate()
        self.process.wait(30)


def _docker_arguments(console: Console) -> list[str] | None:
    """`--backend docker` plus stand-in bases when the public images cannot be pulled; None without an engine."""
    from benchmarks.docker_bench import usable_base_images

    images = usable_base_images(console, ["nodejs18.x", "nodejs22.x"])
    if images is None:
        return None
    return ["--backend", "docker", *[f"--docker-base={runtime}={image}" for runtime, image in images.items()]]


def _interleaved(serves: dict[str, _Serve | _RelayFloor], bare: _BareNode,
                 results: dict[str, dict[str, float]], concurrencies: tuple[int, ...] = (1, 8)) -> None:
    """Each concurrency: the floor, then each serve, back to back (the machine is shared: only ratios are fair)."""
    first = next(iter(serves))
    for connections in concurrencies:
        floor = wrk(bare.url, connections)
        floor["load"] = os.getloadavg()[0]
        results[f"bare node c={connections} (beside {first})"] = floor
        for name, serve in serves.items():
            figures = wrk(serve.url, connections)
            figures["load"] = os.getloadavg()[0]
            figures["floor_rps"] = floor["rps"]
            results[f"{name if name == 'relay floor' else 'serve ' + name} c={connections}"] = figures


def run(console: Console) -> dict[str, dict[str, float]]:
    """Measure serve (process backend, and docker when an engine answers), default logging, each beside the bare
    Node floor in the same minute; issue 19's targets are printed beside the figures."""
    if shutil.which("wrk") is None:
        raise SystemExit("benchmarks need wrk: apt-get install wrk")
    results: dict[str, dict[str, float]] = {}
    with _BareNode() as bare:
        # beside the relay floor: how far serve is from what its design can do at all
        with _Serve(["--backend", "process"]) as serve, _RelayFloor() as relay:
            _interleaved({"process": serve, "relay floor": relay}, bare, results)
        docker = _docker_arguments(console)
        if docker is not None:
            with _Serve(docker) as serve:
                _interleaved({"docker": serve}, bare, results, (8,))  # issue 19's docker target is at c=8
    targets = {"serve process c=8": ">= 5,000 req/s", "serve process c=1": "p50 <= 0.25 ms",
               "serve docker c=8": ">= 4,000 req/s"}
    table = Table("setup", "requests/s", "p50 ms", "p99 ms", "non-2xx", "rps vs bare node", "load", "target",
                  title=f"API Gateway data plane (examples/ping, 10% canary, default logging, wrk -t1, {DURATION_S} s)")
    for name, figures in results.items():
        ratio = f"{figures['rps'] / figures['floor_rps']:.3f}" if "floor_rps" in figures else ""
        table.add_row(name, f"{figures['rps']:.0f}", f"{figures['p50_ms']:.3f}", f"{figures['p99_ms']:.3f}",
                      f"{figures['non_2xx']:.0f}", ratio, f"{figures['load']:.1f}", targets.get(name, ""))
    console.print(table)
    return results


if __name__ == "__main__":
    run(Console())
