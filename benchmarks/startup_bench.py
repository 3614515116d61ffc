"""Time to listen and `split --requests 10000` (issue 19, point 4), each beside a floor measured in the same run.

- listen: from starting `lambda-canary serve examples/ping` to its port accepting a connection, against the bare
  Node http server's own start to listening (the floor); median of 3, interleaved. Target: under 0.3 s.
- first answer: from the same start to the answer of a `GET /prod/ping` sent on that first connection (serve
  listens before its gateway is built: the request waits in the backlog, then takes a cold start).
- Our modules' bytecode is compiled first, as an installed package has it (pip compiles it; an editable
  checkout writes it on the first run): with PYTHONDONTWRITEBYTECODE set, each start would otherwise compile
  some 80 modules from source, 0.1-0.2 s that no user pays twice.
- split: `lambda-canary split examples/ping/canary.yaml --requests 10000` end to end (start, 10,000 requests, the
  statistics), against wrk sending 10,000 requests' worth of time to the bare Node server at c=8. Target: under 3 s.
"""

from __future__ import annotations

import os
import socket
import statistics
import subprocess
import sys
import time

from rich.console import Console
from rich.table import Table

from benchmarks.gateway_bench import EXAMPLE, REPO, _BareNode, _free_port, wrk
from emulator.runtimes.provision import require_node

REPEATS = 3
SPLIT_REQUESTS = 10_000


def _until_listening(command: list[str], port: int, path: str = "/prod/ping") -> tuple[float, float]:
    """Seconds from starting `command` until `port` accepts, and until the answer to `GET path` sent on that
    connection; the process is then stopped."""
    started = time.monotonic()
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=REPO)
    try:
        while True:
            try:
                connection = socket.create_connection(("127.0.0.1", port), timeout=30)
            except OSError:
                if process.poll() is not None:
                    raise RuntimeError(f"{command[0]} exited before listening") from None
                time.sleep(0.002)
                continue
            if connection.getsockname() == connection.getpeername():  # TCP's self-connect on a free port
                connection.close()
                continue
            break
        listening = time.monotonic() - started
        with connection:
            connection.sendall(f"GET {path} HTTP/1.1\r\nHost: localhost\r\n\r\n".encode())
            if not connection.recv(65536).startswith(b"HTTP/1.1 200"):
                raise RuntimeError(f"{command[0]}: no 200 answer to GET {path}")
        return listening, time.monotonic() - started
    finally:
        process.terminate()
        process.wait(30)


def run(console: Console) -> dict[str, float]:
    """Listen time and split time with their floors and the load."""
    node = str(require_node("nodejs22.x"))
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(REPO / "emulator")], check=True,
                   stdout=subprocess.DEVNULL, env={**os.environ, "PYTHONDONTWRITEBYTECODE": ""})
    serve_times, node_times = [], []
    for _ in range(REPEATS):
        port = _free_port()
        node_times.append(_until_listening([node, str(REPO / "benchmarks" / "bare_node_server.js"),
                                            str(EXAMPLE / "src" / "handlers" / "ping.js"), "handler", str(port)],
                                           port))
        port = _free_port()
        serve_times.append(_until_listening([sys.executable, "-m", "emulator.cli", "serve",
                                             str(EXAMPLE / "canary.yaml"), "--port", str(port)], port))
    listen_load = os.getloadavg()[0]
    started = time.monotonic()
    subprocess.run([sys.executable, "-m", "emulator.cli", "split", str(EXAMPLE / "canary.yaml"), "--requests",
                    str(SPLIT_REQUESTS), "--seed", "1"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                   cwd=REPO, check=True)
    split_s = time.monotonic() - started
    split_load = os.getloadavg()[0]
    with _BareNode() as bare:
        floor_rps = wrk(bare.url, 8, 2)["rps"]
    floor_s = SPLIT_REQUESTS / floor_rps
    results = {"listen_s": statistics.median(times[0] for times in serve_times),
               "node_listen_s": statistics.median(times[0] for times in node_times),
               "first_answer_s": statistics.median(times[1] for times in serve_times),
               "node_first_answer_s": statistics.median(times[1] for times in node_times),
               "split_s": split_s, "split_floor_s": floor_s}
    table = Table("what", "seconds", "floor (bare Node) s", "vs floor", "load", "target",
                  title="Start-up and split (issue 19, point 4)")
    table.add_row("serve examples/ping: listening (median of 3)", f"{results['listen_s']:.3f}",
                  f"{results['node_listen_s']:.3f}", f"{results['listen_s'] / results['node_listen_s']:.1f}x",
                  f"{listen_load:.1f}", "< 0.3 s")
    table.add_row("serve examples/ping: first answer, on that connection", f"{results['first_answer_s']:.3f}",
                  f"{results['node_first_answer_s']:.3f}",
                  f"{results['first_answer_s'] / results['node_first_answer_s']:.1f}x", f"{listen_load:.1f}", "")
    table.add_row(f"split --requests {SPLIT_REQUESTS} (whole command)", f"{split_s:.2f}", f"{floor_s:.2f}",
                  f"{split_s / floor_s:.1f}x", f"{split_load:.1f}", "< 3 s")
    console.print(table)
    return results


if __name__ == "__main__":
    run(Console())
