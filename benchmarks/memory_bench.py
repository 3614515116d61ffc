"""Memory of warm environments: 50 functions at concurrency 8 against one function, on one `serve`.

One stack with 50 functions (the ping handler, nodejs22.x) behind 50 routes. wrk (one thread, 8 connections)
requests a random route per request (a Lua script, seeded), then one route only, in turn (ROUNDS each). After a
50-function run, the Node processes of `serve` are read from /proc: their resident memory summed (RSS: the Node
binary's shared pages counted once per process), what the warm budget counts (private pages, plus each binary
once), and their proportional share (PSS). The rate ratio is the 50-function rate over the one-function rate of
the same server.

Run: `.venv/bin/python -m benchmarks.memory_bench [--max-memory SIZE]`. Not a test; figures depend on the machine.
"""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

import yaml
from rich.console import Console
from rich.table import Table

from benchmarks.gateway_bench import _free_port, _wait_http, load, wrk_script

REPO = Path(__file__).resolve().parent.parent
FUNCTIONS = 50
CONNECTIONS = 8
DURATION_S = 2
WARM_S = 4
ROUNDS = 2
MB = 1024 * 1024


def write_stack(folder: Path, functions: int = FUNCTIONS) -> Path:
    """A config with `functions` copies of the ping function, each behind GET /fNN of stage `prod`."""
    names = [f"f{index:02d}" for index in range(functions)]
    config = {
        "region": "us-east-1", "accountId": "123456789012", "backend": "process",
        "functions": {name: {"runtime": "nodejs22.x", "handler": "src/handlers/ping.handler",
                             "code": str(REPO / "examples" / "ping"), "memorySize": 128, "timeout": 3}
                      for name in names},
        "restApis": {"many": {
            "resources": {f"/{name}": {"GET": {"integration": {
                "type": "AWS_PROXY", "integrationHttpMethod": "POST",
                "uri": "arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/"
                       f"arn:aws:lambda:us-east-1:123456789012:function:{name}/invocations"}}} for name in names},
            "deployments": {"d1": {}},
            "stages": {"prod": {"deploymentId": "d1"}}}},
    }
    path = folder / "canary.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


RANDOM_ROUTES = """
math.randomseed(7)
request = function()
  return wrk.format("GET", string.format("/prod/f%02d", math.random(0, LAST)))
end
"""


def node_memory(parent: int) -> dict[str, int]:
    """The Node processes whose parent is `parent`: count, RSS sum, counted (private + file pages per binary once),
    PSS sum."""
    processes, rss, private, pss = 0, 0, 0, 0
    shared: dict[str, int] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            if int(stat.rsplit(")", 1)[1].split()[1]) != parent:
                continue
            binary = os.readlink(entry / "exe")
            if not binary.endswith("/node"):
                continue
            fields = {line.split(":")[0]: int(line.split()[1]) * 1024
                      for line in (entry / "status").read_text().splitlines() if line.startswith("Rss")}
            rollup = (entry / "smaps_rollup").read_text().splitlines()
        except (OSError, ValueError, IndexError):
            continue
        processes += 1
        rss += fields.get("RssAnon", 0) + fields.get("RssFile", 0) + fields.get("RssShmem", 0)
        private += fields.get("RssAnon", 0) + fields.get("RssShmem", 0)
        shared[binary] = max(shared.get(binary, 0), fields.get("RssFile", 0))
        pss += sum(int(line.split()[1]) * 1024 for line in rollup if line.startswith("Pss:"))
    return {"processes": processes, "rss": rss, "counted": private + sum(shared.values()), "pss": pss}


def measure(extra: list[str]) -> dict[str, float]:
    """One `serve` of 50 functions: every function warmed, then the 50-function and one-function runs interleaved
    (ROUNDS each, medians), the memory read after the last 50-function run."""
    with tempfile.TemporaryDirectory() as scratch:
        config = write_stack(Path(scratch))
        script = Path(scratch) / "random.lua"
        script.write_text(RANDOM_ROUTES.replace("LAST", str(FUNCTIONS - 1)))
        port = _free_port()
        serve = subprocess.Popen([sys.executable, "-m", "emulator.cli", "serve", str(config), "--port", str(port),
                                  "--quiet", "--backend", "process", *extra],
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=REPO)
        many: list[dict[str, float]] = []
        one: list[dict[str, float]] = []
        try:
            base = f"http://127.0.0.1:{port}"
            _wait_http(f"{base}/prod/f00", timeout=120)
            for index in range(FUNCTIONS):  # every function warm once, then the mix
                _wait_http(f"{base}/prod/f{index:02d}")
            wrk_script(base, script, CONNECTIONS, WARM_S)
            wrk_script(f"{base}/prod/f00", None, CONNECTIONS, 1)
            for _ in range(ROUNDS):
                many.append({**wrk_script(base, script, CONNECTIONS, DURATION_S), "load": load()})
                memory = node_memory(serve.pid)
                one.append({**wrk_script(f"{base}/prod/f00", None, CONNECTIONS, DURATION_S), "load": load()})
        finally:
            serve.terminate()
            serve.wait(60)
    many_rps, one_rps = statistics.median(r["rps"] for r in many), statistics.median(r["rps"] for r in one)
    return {"many_rps": many_rps, "many_non_2xx": sum(r["non_2xx"] for r in many),
            "many_load": statistics.mean(r["load"] for r in many), "one_rps": one_rps,
            "one_load": statistics.mean(r["load"] for r in one), "ratio": many_rps / one_rps,
            **{key: float(value) for key, value in memory.items()}}


def run(console: Console, extra: list[str] | None = None) -> dict[str, float]:
    """Measure, print one table, return the figures."""
    if shutil.which("wrk") is None:
        raise SystemExit("benchmarks need wrk: apt-get install wrk")
    figures = measure(extra or [])
    table = Table("setup", "requests/s", "load (mean)", "Node processes", "RSS sum", "counted", "PSS sum",
                  title=f"{FUNCTIONS} functions vs one, serve --quiet, wrk -t1 -c{CONNECTIONS}, {DURATION_S} s, "
                        f"interleaved, median of {ROUNDS} "
                        f"({' '.join(extra or []) or 'default --max-memory'})")
    table.add_row(f"{FUNCTIONS} functions, random route", f"{figures['many_rps']:.0f}", f"{figures['many_load']:.2f}",
                  f"{figures['processes']:.0f}", f"{figures['rss'] / MB:.0f} MB", f"{figures['counted'] / MB:.0f} MB",
                  f"{figures['pss'] / MB:.0f} MB")
    table.add_row("one function (same server)", f"{figures['one_rps']:.0f}", f"{figures['one_load']:.2f}",
                  "", "", "", "")
    console.print(table)
    console.print(f"rate ratio {FUNCTIONS} functions / one: {figures['ratio']:.2f}x "
                  f"(non-2xx: {figures['many_non_2xx']:.0f}); RSS sum {figures['rss'] / MB:.0f} MB; "
                  "counted = what --max-memory counts (private pages, each Node binary's pages once)")
    return figures


if __name__ == "__main__":
    run(Console(width=140), sys.argv[1:])
