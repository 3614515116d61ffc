"""Data-plane latency while the AWS API writes a 1 MB state: `serve examples/ping --state-dir` answering
/prod/ping alone and beside 100 control-plane writes per second (each one durable before its answer).

The writes are real signed UpdateRestApi calls over HTTP (SigV4 by botocore's signer, prepared before the clock
starts, sent over keep-alive connections by a small asyncio writer in another process: a boto3 call would cost
the writer milliseconds of CPU on the cores serve and Node share), on rotating APIs of about 10 KB each. The
latency comes from 4 keep-alive connections in this process. Phases alternate in ABBA rounds (alone, writes,
writes, alone), so a drift of the machine's load weighs on both; the first and the last unloaded phase of each
round are also compared with each other: that A/A ratio is how far p99 moves with nothing changed.

A last phase runs the writes alone and reads serve's CPU time from /proc: the whole process's per write (the AWS
API's request handling, the journal line and its share of the folds) and its main thread's, the data plane's
event loop: the time a write holds the data plane. Other processes' load barely moves these, unlike the p99.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import multiprocessing
import os
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
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
SECONDS = 1.5  # per condition and serve, in ROUNDS rounds
ROUNDS = 4
SETTLE = 0.1
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


def _signed_writes(url: str, ids: list[str], count: int) -> list[bytes]:
    """`count` UpdateRestApi calls as the bytes of signed HTTP/1.1 requests (SigV4 by botocore's own signer, the
    body a new 10 KB description each), prepared before the clock starts: sending one then costs the writer a
    few microseconds, where a boto3 call costs milliseconds of CPU on the cores serve and Node share."""
    from urllib.parse import urlsplit

    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    signer = SigV4Auth(Credentials("bench", "bench"), "apigateway", "us-east-1")
    host = urlsplit(url).netloc
    prepared = []
    for index in range(count):
        body = json.dumps({"patchOperations": [{"op": "replace", "path": "/description",
                                                "value": f"{index:08d}" + "d" * (API_DESCRIPTION - 8)}]}).encode()
        request = AWSRequest("PATCH", f"{url}/restapis/{ids[index % len(ids)]}", data=body,
                             headers={"Content-Type": "application/json"})
        signer.add_auth(request)
        head = [f"PATCH /restapis/{ids[index % len(ids)]} HTTP/1.1", f"Host: {host}",
                f"Content-Length: {len(body)}", *(f"{name}: {value}" for name, value in request.headers.items())]
        prepared.append(("\r\n".join(head) + "\r\n\r\n").encode() + body)
    return prepared


async def _send_steadily(url: str, prepared: list[bytes], gate: Any, sent: Any) -> None:
    """While `gate` is 1, send WRITES_PER_S of the prepared writes per second (cycling through them), each on
    schedule, over keep-alive connections (one write in flight on each); stop when it is -1. `sent` counts the
    writes answered. Each answer (200, read whole) comes once the change is durable."""
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    idle: asyncio.Queue[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = asyncio.Queue()
    for _ in range(8):
        idle.put_nowait(await asyncio.open_connection(parts.hostname, parts.port))

    async def send(request: bytes) -> None:
        reader, writer = await idle.get()
        writer.write(request)
        head = await reader.readuntil(b"\r\n\r\n")
        status = int(head.split(b" ", 2)[1])
        length = next((int(line.split(b":", 1)[1]) for line in head.split(b"\r\n")
                       if line.lower().startswith(b"content-length:")), 0)
        await reader.readexactly(length)
        if status != 200:
            raise RuntimeError(f"UpdateRestApi answered {status}")
        idle.put_nowait((reader, writer))
        with sent.get_lock():
            sent.value += 1

    sends: list[asyncio.Future[None]] = []
    count = 0
    while gate.value >= 0:
        if gate.value == 0:
            await asyncio.sleep(0.005)
            continue
        start, started = time.monotonic(), count
        while gate.value == 1:
            delay = start + (count - started) / WRITES_PER_S - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            sends.append(asyncio.ensure_future(send(prepared[count % len(prepared)])))
            count += 1
        sends = [future for future in sends if not future.done() or future.result()]
    await asyncio.gather(*sends)
    while not idle.empty():
        idle.get_nowait()[1].close()


def _write_steadily(url: str, ids: list[str], ready: Any, gate: Any, sent: Any) -> None:
    """The writer process: prepare, say so, then write while the gate is open."""
    prepared = _signed_writes(url, ids, 2 * WRITES_PER_S)
    ready.set()
    asyncio.run(_send_steadily(url, prepared, gate, sent))


class _Writer:
    """The writer process, started once per serve; `on()` and `off()` open and close its gate."""

    def __init__(self, url: str, ids: list[str]) -> None:
        context = multiprocessing.get_context("spawn")
        self.gate = context.Value("i", 0)
        self.sent = context.Value("i", 0)
        ready = context.Event()
        self.process = context.Process(target=_write_steadily, args=(url, ids, ready, self.gate, self.sent))
        self.process.start()
        deadline = time.monotonic() + 60
        while not ready.wait(0.1):
            if not self.process.is_alive() or time.monotonic() > deadline:
                raise RuntimeError(f"the writer process did not start (exit {self.process.exitcode})")

    def on(self) -> None:
        self.gate.value = 1

    def off(self) -> None:
        self.gate.value = 0

    def stop(self) -> None:
        self.gate.value = -1
        self.process.join(60)
        if self.process.exitcode != 0:
            raise RuntimeError(f"the writer process failed (exit {self.process.exitcode})")


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


def _thread_times(pid: int) -> dict[str, int]:
    """Each thread's time on a CPU so far, in nanoseconds (Linux /proc/PID/task/TID/schedstat; the clock ticks of
    /proc/PID/stat are 10 ms, too coarse for one thread's share of 200 writes)."""
    times = {}
    for thread in os.listdir(f"/proc/{pid}/task"):
        with contextlib.suppress(OSError, ValueError, IndexError):  # a thread that ended meanwhile
            times[thread] = int(Path(f"/proc/{pid}/task/{thread}/schedstat").read_text().split()[0])
    return times


def _cpu_ms(before: dict[str, int], after: dict[str, int], thread: str | None = None) -> float:
    """CPU milliseconds between two `_thread_times`: all threads' (those started meanwhile included), or one's."""
    names = [thread] if thread is not None else list(after)
    return sum(after.get(name, 0) - before.get(name, 0) for name in names) / 1e6


def _state_bytes(state: Path) -> int:
    """The size of the document a start reads (state.json with the journal's changes)."""
    from emulator.control_plane import persistence

    return len(json.dumps(persistence.read_document(state)))


@dataclass
class Figures:
    """One serve's phases: the data plane alone (as two interleaved halves too: the A/A noise band), beside the
    writes, and the writes alone."""

    alone: dict[str, float]
    alone_first: dict[str, float]
    alone_last: dict[str, float]
    loaded: dict[str, float]
    writes_per_s: float
    state_bytes: float
    cpu_ms_per_write: float
    loop_ms_per_write: float
    load: float

    @property
    def ratio(self) -> float:
        """p99 beside the writes over p99 alone."""
        return self.loaded["p99_ms"] / self.alone["p99_ms"]

    @property
    def a_a(self) -> float:
        """p99 of each round's last unloaded phase over its first's: how far p99 moves with nothing changed."""
        return self.alone_last["p99_ms"] / self.alone_first["p99_ms"]


def _measure(state: Path | None) -> Figures:
    """Figures for serve with or without a state folder: ROUNDS rounds of alone, writes, writes, alone, then the
    writes alone for serve's CPU."""
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    extra = ["--state-dir", str(state)] if state is not None else []
    serve = subprocess.Popen([sys.executable, "-m", "emulator.cli", "serve", str(EXAMPLE), "--port", str(port),
                              "--quiet", "--seed", "7", "--backend", "process", *extra],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=REPO)
    writer: _Writer | None = None
    try:
        _wait_http(f"{url}/prod/ping", timeout=120)
        ping = _client(url).get_rest_apis()["items"][0]["id"]
        host = f"{ping}.execute-api.localhost"  # several APIs now: the Host header picks examples/ping's
        ids = _fill(url, STATE_BYTES // API_DESCRIPTION)
        size = _state_bytes(state) if state is not None else 0.0
        ping_url = f"{url}/prod/ping"
        writer = _Writer(url, ids)
        writer.on()
        asyncio.run(_latencies(ping_url, 1.0, host))  # warm, the writes' path too
        writer.off()
        phase = SECONDS / ROUNDS / 2
        first: list[float] = []
        last: list[float] = []
        loaded: list[float] = []
        written = 0
        loaded_time = 0.0
        for _ in range(ROUNDS):
            time.sleep(SETTLE)
            first += asyncio.run(_latencies(ping_url, phase, host))
            writer.on()
            time.sleep(SETTLE)
            before, began = writer.sent.value, time.monotonic()
            loaded += asyncio.run(_latencies(ping_url, 2 * phase, host))
            written, loaded_time = written + writer.sent.value - before, loaded_time + time.monotonic() - began
            writer.off()
            time.sleep(SETTLE)
            last += asyncio.run(_latencies(ping_url, phase, host))
        before_sent, before = writer.sent.value, _thread_times(serve.pid)
        writer.on()
        time.sleep(SECONDS)
        writer.off()
        time.sleep(0.2)  # the last answers
        count = max(1, writer.sent.value - before_sent)
        after = _thread_times(serve.pid)
        cpu_ms = _cpu_ms(before, after) / count
        loop_ms = _cpu_ms(before, after, str(serve.pid)) / count  # the main thread runs the event loop
        writer.stop()
        writer = None
    finally:
        if writer is not None:
            writer.process.kill()
        serve.terminate()
        serve.wait(60)
    return Figures(_figures(first + last), _figures(first), _figures(last), _figures(loaded),
                   written / max(loaded_time, 1e-9), size, cpu_ms, loop_ms, os.getloadavg()[0])


def run(console: Console) -> dict[str, dict[str, float]]:
    """Measure p99 alone and beside the writes, with a state folder and without one."""
    with tempfile.TemporaryDirectory(prefix="lambda-canary-bench-") as folder:
        state = _measure(Path(folder) / "state")
    bare = _measure(None)
    table = Table("serve", "phase", "writes/s", "requests", "p50 ms", "p99 ms", "p99 ratio", "CPU ms/write",
                  "loop ms/write", "load",
                  title=f"/prod/ping beside {STATE_BYTES // API_DESCRIPTION} REST APIs ({CONNECTIONS} connections, "
                        f"{SECONDS:g} s per phase in {ROUNDS} ABBA rounds; ratio: to p99 alone; A/A: the rounds' "
                        "last unloaded phases over their first)")
    for name, figures in ((f"--state-dir ({state.state_bytes / 1e6:.2f} MB state)", state), ("no --state-dir", bare)):
        rows = (("alone", figures.alone, 0.0, f"A/A {figures.a_a:.2f}"),
                ("writes", figures.loaded, figures.writes_per_s, f"{figures.ratio:.2f}"))
        for phase, sample, writes, ratio in rows:
            table.add_row(name if phase == "alone" else "", phase, f"{writes:.0f}", f"{sample['requests']:.0f}",
                          f"{sample['p50_ms']:.2f}", f"{sample['p99_ms']:.2f}", ratio,
                          f"{figures.cpu_ms_per_write:.2f}" if phase == "writes" else "",
                          f"{figures.loop_ms_per_write:.3f}" if phase == "writes" else "",
                          f"{figures.load:.1f}" if phase == "alone" else "")
    console.print(table)
    console.print(f"p99 ratio beside {WRITES_PER_S} writes/s: {state.ratio:.2f} with --state-dir "
                  f"(A/A {state.a_a:.2f}), {bare.ratio:.2f} without (A/A {bare.a_a:.2f}); per write (writes alone), "
                  f"serve's CPU {state.cpu_ms_per_write:.2f} ms with --state-dir and {bare.cpu_ms_per_write:.2f} ms "
                  f"without, of which the data plane's loop {state.loop_ms_per_write:.3f} and "
                  f"{bare.loop_ms_per_write:.3f} ms; load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")

    def summary(figures: Figures) -> dict[str, float]:
        return {"p99_alone_ms": figures.alone["p99_ms"], "p99_writes_ms": figures.loaded["p99_ms"],
                "ratio": figures.ratio, "a_a": figures.a_a, "writes_per_s": figures.writes_per_s,
                "cpu_ms_per_write": figures.cpu_ms_per_write, "loop_ms_per_write": figures.loop_ms_per_write,
                "load": figures.load}

    return {"state": summary(state), "memory": summary(bare)}


if __name__ == "__main__":
    run(Console(width=140))
