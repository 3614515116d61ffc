"""lambda-canary beside its peers, in one run: serverless-offline 13 (`--useInProcess` and its default worker-thread
mode) and the bare Node floor, the same ping handler behind each, measured interleaved (floor, peer, us, peer; three
rounds; the median of each) with wrk -t1 at concurrency 1 and 8, and the machine's load at every measurement.

serverless-offline needs the Serverless Framework: v4 asks for a login or a licence key even offline, so v3 (3.x,
which serverless-offline 13 declares as its peer: `"serverless": "^3.2.0"`) is installed through npm into the
lambda-canary cache (`<cache>/peers/serverless-offline`), never into the repository. It runs on the same Node 22 the
floor uses. SAM CLI is measured only where `sam` is installed and its image can be had; otherwise the reason is
printed.

Run: `make bench PEERS=1` (or `BENCH_PEERS=1 .venv/bin/python -m benchmarks.run`), or this module alone.
"""

from __future__ import annotations

import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

from rich.console import Console
from rich.table import Table

from benchmarks.gateway_bench import _free_port, _wait_http, load, wrk
from emulator.paths import cache_dir
from emulator.runtimes.provision import require_node

REPO = Path(__file__).resolve().parent.parent
HANDLER = REPO / "examples" / "ping" / "src" / "handlers" / "ping.js"
PACKAGES = ("serverless@3", "serverless-offline@13")
ROUNDS = 3
DURATION_S = 4
SERVERLESS_YML = """service: bench
frameworkVersion: "3"
plugins:
  - serverless-offline
provider:
  name: aws
  runtime: nodejs20.x
  region: us-east-1
  stage: prod
functions:
  ping:
    handler: handler.handler
    events:
      - http:
          path: ping
          method: get
"""


def peers_dir() -> Path:
    """Where the peers are installed: the lambda-canary cache, never the repository."""
    return cache_dir() / "peers" / "serverless-offline"


def install_serverless(console: Console) -> Path | None:
    """serverless 3 + serverless-offline 13 through npm (once; cached); None, said why, when npm cannot."""
    folder = peers_dir()
    entry = folder / "node_modules" / "serverless" / "bin" / "serverless.js"
    if entry.exists() and (folder / "node_modules" / "serverless-offline").is_dir():
        return entry
    npm = shutil.which("npm")
    if npm is None:
        console.print("serverless-offline skipped: npm is not installed")
        return None
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "package.json").write_text('{"name": "lambda-canary-bench-peers", "private": true}\n')
    console.print(f"installing {' '.join(PACKAGES)} into {folder} (once)…")
    done = subprocess.run([npm, "install", "--no-audit", "--no-fund", "--loglevel=error", *PACKAGES], cwd=folder,
                          capture_output=True, text=True, timeout=900)
    if done.returncode != 0 or not entry.exists():
        console.print(f"serverless-offline skipped: npm install failed: {done.stderr.strip()[-300:]}")
        return None
    return entry


@contextmanager
def _process(command: list[str], cwd: Path, url: str, env: dict[str, str] | None = None,
             timeout: float = 180) -> Iterator[str]:
    """A server in its own process group, until the block ends; yields `url` once it answers."""
    process = subprocess.Popen(command, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                               start_new_session=True)
    try:
        _wait_http(url, timeout=timeout)
        yield url
    finally:
        try:
            os.killpg(process.pid, signal.SIGTERM)
            process.wait(30)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(30)


def _serverless(entry: Path, scratch: Path, in_process: bool) -> tuple[list[str], Path, str, dict[str, str]]:
    service = scratch / ("in-process" if in_process else "default")
    service.mkdir()
    (service / "serverless.yml").write_text(SERVERLESS_YML)
    shutil.copy(HANDLER, service / "handler.js")
    (service / "node_modules").symlink_to(entry.parents[2], target_is_directory=True)
    port, lambda_port = _free_port(), _free_port()
    node = require_node("nodejs22.x")
    command = [str(node), str(entry), "offline", "start", "--host", "127.0.0.1", "--httpPort", str(port),
               "--lambdaPort", str(lambda_port), *(["--useInProcess"] if in_process else [])]
    env = {"PATH": f"{node.parent}:/usr/bin:/bin", "HOME": str(scratch), "SLS_TELEMETRY_DISABLED": "1",
           "SLS_NOTIFICATIONS_MODE": "off", "SLS_DEPRECATION_DISABLE": "*"}  # no host AWS credentials
    return command, service, f"http://127.0.0.1:{port}/prod/ping", env


def sam_skip_reason() -> str:
    """Why SAM CLI is not measured here."""
    if shutil.which("sam") is None:
        return ("`sam` is not installed; `sam local start-api` also needs the public.ecr.aws/lambda/nodejs images, "
                "and no container registry is reachable from this machine")
    return ("`sam local start-api` needs the public.ecr.aws/lambda/nodejs images, and no container registry is "
            "reachable from this machine")


def run(console: Console) -> dict[str, dict[str, dict[str, float]]]:
    """Start every server once, measure them interleaved, print the ratios; returns medians by setup and c."""
    if shutil.which("wrk") is None:
        raise SystemExit("benchmarks need wrk: apt-get install wrk")
    entry = install_serverless(console)
    node = require_node("nodejs22.x")
    samples: dict[str, dict[int, list[dict[str, float]]]] = {}
    with tempfile.TemporaryDirectory(prefix="lambda-canary-peers-") as scratch_name, ExitStack() as servers:
        scratch = Path(scratch_name)
        urls: dict[str, str] = {}
        port = _free_port()
        urls["bare node (floor)"] = servers.enter_context(_process(
            [str(node), str(REPO / "benchmarks" / "bare_node_server.js"), str(HANDLER), "handler", str(port)],
            REPO, f"http://127.0.0.1:{port}/prod/ping"))
        if entry is not None:
            command, cwd, url, env = _serverless(entry, scratch, in_process=True)
            urls["serverless-offline --useInProcess"] = servers.enter_context(_process(command, cwd, url, env))
        port = _free_port()
        urls["lambda-canary (process, default logs)"] = servers.enter_context(_process(
            [sys.executable, "-m", "emulator.cli", "serve", str(REPO / "examples" / "ping" / "canary.yaml"),
             "--port", str(port), "--seed", "7", "--backend", "process"], REPO, f"http://127.0.0.1:{port}/prod/ping"))
        if entry is not None:
            command, cwd, url, env = _serverless(entry, scratch, in_process=False)
            urls["serverless-offline (worker threads)"] = servers.enter_context(_process(command, cwd, url, env))
        for url in urls.values():
            wrk(url, 8, 2)  # warm: environments, JIT, connection pools
        for connections in (1, 8):
            for _ in range(ROUNDS):
                for name, url in urls.items():
                    figures = wrk(url, connections, DURATION_S)
                    figures["load"] = load()
                    samples.setdefault(name, {}).setdefault(connections, []).append(figures)
    medians = {name: {f"c={c}": {"rps": statistics.median(s["rps"] for s in runs),
                                 "p50_ms": statistics.median(s["p50_ms"] for s in runs),
                                 "non_2xx": sum(s["non_2xx"] for s in runs)}
                      for c, runs in by_c.items()} for name, by_c in samples.items()}
    ours = "lambda-canary (process, default logs)"
    peers = [name for name in samples if name.startswith("serverless")]
    for connections in (1, 8):
        key = f"c={connections}"
        floor = medians["bare node (floor)"][key]["rps"]
        table = Table("setup", "requests/s (median of 3)", "p50 ms", "load at each run", "vs floor",
                      *[f"us vs {peer.split(' ', 1)[1] if ' ' in peer else peer}" for peer in peers],
                      title=f"Peers, examples/ping handler, wrk -t1 -c{connections}, {DURATION_S} s, "
                            f"interleaved {ROUNDS} rounds")
        for name, by_c in medians.items():
            row = by_c[key]
            loads = " ".join(f"{s['load']:.1f}" for s in samples[name][connections])
            ratios = [f"{medians[ours][key]['rps'] / medians[peer][key]['rps']:.2f}x" if name == ours else ""
                      for peer in peers]
            table.add_row(name, f"{row['rps']:.0f}", f"{row['p50_ms']:.3f}", loads, f"{row['rps'] / floor:.3f}",
                          *ratios)
        console.print(table)
    console.print(f"SAM CLI skipped: {sam_skip_reason()}")
    return medians


if __name__ == "__main__":
    run(Console(width=160))
