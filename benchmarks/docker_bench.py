"""Docker backend vs process backend, in the same run: cold start per runtime, warm invoke latency
(p50/p99, one at a time) and invokes/s at concurrency 8, through LambdaService.invoke.

The docker backend uses the public base images when present, else the offline stand-ins (built here
when missing). Image builds happen before timing starts: a cold start is container (or process)
start + runtime init + the first invoke.
"""

from __future__ import annotations

import asyncio
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from rich.console import Console
from rich.table import Table

from emulator.errors import UserError
from emulator.lambda_service.backends.base import Backend
from emulator.lambda_service.backends.process import ProcessBackend
from emulator.lambda_service.model import FunctionVersion
from emulator.lambda_service.service import FunctionRecord, LambdaService, code_sha256
from emulator.runtimes.catalogue import get_runtime
from emulator.runtimes.provision import install

RUNTIMES = ("nodejs18.x", "nodejs22.x")
COLD_STARTS = 3
WARM_INVOKES = 150
CONCURRENT_INVOKES = 400
CONCURRENCY = 8
HANDLER = "exports.handler = async (event) => ({ statusCode: 200, body: JSON.stringify(event) });\n"


def _version(runtime: str, code: Path, revision: int = 0) -> FunctionVersion:
    return FunctionVersion(function_name=f"bench-{runtime.replace('.', '-')}", version="$LATEST",
                           runtime=get_runtime(runtime), handler="index.handler", code_dir=code, memory_size=256,
                           timeout=10, environment={}, region="us-east-1", account_id="123456789012",
                           code_sha256=code_sha256(code), revision=revision)


def _percentile(samples: list[float], fraction: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


async def _measure(backend: Backend, runtime: str, code: Path) -> dict[str, float]:
    """Cold starts, then warm latency and concurrency-8 throughput of one runtime on one backend."""
    service = LambdaService(backend, lambda _name, _line: None)
    try:
        await backend.prepare(_version(runtime, code))  # image build (docker) or node lookup, untimed
        cold: list[float] = []
        init: list[float] = []
        for revision in range(COLD_STARTS):
            version = _version(runtime, code, revision)  # a new revision: a new pool, a cold start
            service.put_function(FunctionRecord(version))
            started = time.perf_counter()
            result = await service.invoke(version.function_name, b"{}")
            cold.append((time.perf_counter() - started) * 1000)
            init.append(result.init_duration_ms or 0.0)
            if revision < COLD_STARTS - 1:
                await service.retire(version)
        name = _version(runtime, code).function_name
        warm: list[float] = []
        for _ in range(WARM_INVOKES):
            started = time.perf_counter()
            await service.invoke(name, b'{"n":1}')
            warm.append((time.perf_counter() - started) * 1000)
        await asyncio.gather(*(service.invoke(name, b"{}") for _ in range(CONCURRENCY)))  # 8 warm environments
        remaining = CONCURRENT_INVOKES

        async def worker() -> None:
            nonlocal remaining
            while remaining > 0:
                remaining -= 1
                await service.invoke(name, b'{"n":1}')

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(CONCURRENCY)))
        elapsed = time.perf_counter() - started
    finally:
        await service.close()
    return {"cold_ms": statistics.median(cold), "init_ms": statistics.median(init),
            "warm_p50_ms": _percentile(warm, 0.5), "warm_p99_ms": _percentile(warm, 0.99),
            "c8_invokes_per_s": CONCURRENT_INVOKES / elapsed}


def usable_base_images(console: Console, runtimes: list[str]) -> dict[str, str] | None:
    """Base images the docker backend can use here: {} for the public ones, the offline stand-ins (built on
    demand) when those cannot be pulled, None when no engine answers."""
    from emulator.lambda_service.backends.docker import DockerBackend, DockerOptions, open_client
    from emulator.lambda_service.backends.standin import build_standins, standin_base_images

    try:
        client = open_client(DockerOptions())
    except UserError as error:
        console.print(f"docker backend skipped: {error.message}")
        return None
    try:
        usable, reason = DockerBackend.probe(runtimes)
        if usable:
            return {}
        console.print(f"public base images not usable ({reason.split(';')[0]}): using the offline stand-ins")
        build_standins(client, runtimes, console)
        return standin_base_images(runtimes)
    finally:
        client.close()


def _docker_backend_factory(console: Console) -> Callable[[], Backend] | None:
    from emulator.lambda_service.backends.docker import DockerBackend

    base_images = usable_base_images(console, list(RUNTIMES))
    if base_images is None:
        return None
    return lambda: DockerBackend.connect(base_images=base_images, console=console)


def run(console: Console) -> dict[str, dict[str, dict[str, float]]]:
    """Measure both backends for Node 18 and Node 22; print a table and return the figures."""
    install(list(RUNTIMES), console)
    results: dict[str, dict[str, dict[str, float]]] = {"process": {}, "docker": {}}
    factories: dict[str, Callable[[], Backend]] = {"process": ProcessBackend}
    docker_factory = _docker_backend_factory(console)
    if docker_factory is not None:
        factories["docker"] = docker_factory
    with tempfile.TemporaryDirectory(prefix="lambda-canary-bench-") as scratch:
        code = Path(scratch)
        (code / "index.js").write_text(HANDLER)
        for runtime in RUNTIMES:
            for backend_name, factory in factories.items():
                results[backend_name][runtime] = asyncio.run(_measure(factory(), runtime, code))
    table = Table("runtime", "backend", "cold start ms (init ms)", "warm p50 ms", "warm p99 ms",
                  f"invokes/s at c={CONCURRENCY}",
                  title=f"Lambda invoke: docker vs process backend (median of {COLD_STARTS} cold starts, "
                        f"{WARM_INVOKES} sequential warm invokes, {CONCURRENT_INVOKES} invokes at c={CONCURRENCY})")
    for runtime in RUNTIMES:
        for backend_name in factories:
            figures = results[backend_name][runtime]
            table.add_row(runtime, backend_name, f"{figures['cold_ms']:.0f} ({figures['init_ms']:.0f})",
                          f"{figures['warm_p50_ms']:.2f}", f"{figures['warm_p99_ms']:.2f}",
                          f"{figures['c8_invokes_per_s']:.0f}")
    console.print(table)
    return results


if __name__ == "__main__":
    run(Console())
