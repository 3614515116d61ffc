"""The warm-environment memory budget (`--max-memory`): idle environments stopped least recently used first, busy
ones never, an evicted function still answering (a cold start again, Init Duration in its REPORT), scale-out
while there is room, and waiting for a busy environment when there is none.

Real Node processes on the process backend; what the budget counts is their measured memory, so the limits are
set from readings taken in the test (half an environment of slack either way).
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

import pytest
from support import hold_config, until, with_service

from emulator.errors import UserError
from emulator.lambda_service.budget import MB, default_budget, mem_total, parse_memory
from emulator.lambda_service.model import InvocationResult
from emulator.lambda_service.pool import EnvironmentPool
from emulator.lambda_service.service import LambdaService

T = TypeVar("T")

@pytest.fixture(scope="module")
def config(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return hold_config(tmp_path_factory.mktemp("budget"), {"a": "pid", "b": "pid", "c": "pid", "w": "hold"})


def run(config: Path, body: Callable[[LambdaService], Awaitable[T]], lines: list[str]) -> T:
    return with_service(config, body, lines, max_memory=4096 * MB)


def pool(service: LambdaService, name: str) -> EnvironmentPool:
    return next(pool for pool in service.pools() if pool.version.function_name == name)


def pid(result: InvocationResult) -> int:
    assert result.function_error is None, result.payload
    return int(json.loads(result.payload)["pid"])


def report_of(lines: list[str], result: InvocationResult) -> str:
    (line,) = [line for line in lines if line.startswith(f"REPORT RequestId: {result.request_id}")]
    return line


def test_idle_environments_are_evicted_least_recently_used_and_an_evicted_function_answers_cold(
        config: Path) -> None:
    lines: list[str] = []

    async def body(service: LambdaService) -> dict[str, Any]:
        first_a, first_b = await service.invoke("a", b"{}"), await service.invoke("b", b"{}")
        warm_a = await service.invoke("a", b"{}")  # now b is the least recently used
        budget = service.budget
        one = budget.estimate(128)
        budget.limit = budget.used(env for p in service.pools() for env in p.environments) + one // 2
        first_c = await service.invoke("c", b"{}")  # room for one more only by stopping b
        after_c = {name: pool(service, name).size for name in "abc"}
        again_b = await service.invoke("b", b"{}")  # b answers, cold; a is now the least recently used
        after_b = {name: pool(service, name).size for name in "abc"}
        return {"first_a": first_a, "first_b": first_b, "warm_a": warm_a, "first_c": first_c, "again_b": again_b,
                "after_c": after_c, "after_b": after_b, "evicted": {n: pool(service, n).evicted for n in "abc"}}

    seen = run(config, body, lines)
    assert pid(seen["warm_a"]) == pid(seen["first_a"]) and seen["warm_a"].init_duration_ms is None
    assert seen["after_c"] == {"a": 1, "b": 0, "c": 1}
    assert seen["after_b"] == {"a": 0, "b": 1, "c": 1}
    assert seen["evicted"] == {"a": 1, "b": 1, "c": 0}
    again = seen["again_b"]
    assert pid(again) != pid(seen["first_b"]) and again.init_duration_ms is not None
    assert "Init Duration: " in report_of(lines, again)
    assert "Init Duration: " not in report_of(lines, seen["warm_a"])


def test_a_busy_environment_is_never_evicted(config: Path, shared_dir: Path) -> None:
    lines: list[str] = []
    event = json.dumps({"started": str(shared_dir / "started"), "release": str(shared_dir / "release")}).encode()

    async def body(service: LambdaService) -> dict[str, Any]:
        idle_a = pid(await service.invoke("a", b"{}"))
        held = asyncio.ensure_future(service.invoke("w", event))
        await until(lambda: any(shared_dir.glob("started-*")))
        service.budget.limit = 1  # over the budget with anything warm
        b = await service.invoke("b", b"{}")  # no environment: starts one, stopping every idle one (a), not w's
        sizes = {name: pool(service, name).size for name in "abw"}
        (shared_dir / "release").touch()
        w = await held
        return {"idle_a": idle_a, "b": b, "w": w, "sizes": sizes, "busy_evicted": pool(service, "w").evicted,
                "started_w": [int(path.name.split("-")[1]) for path in shared_dir.glob("started-*")]}

    seen = run(config, body, lines)
    assert seen["sizes"] == {"a": 0, "b": 1, "w": 1}
    assert seen["busy_evicted"] == 0
    assert pid(seen["w"]) == seen["started_w"][0] and seen["w"].function_error is None
    assert pid(seen["b"]) != seen["idle_a"]


def test_concurrency_scales_out_while_requests_would_wait(config: Path, shared_dir: Path) -> None:
    """Two requests at once with room in the budget: two environments, each serving one."""
    event = json.dumps({"started": str(shared_dir / "started"), "release": str(shared_dir / "release")}).encode()

    async def body(service: LambdaService) -> tuple[list[InvocationResult], int]:
        both = asyncio.gather(service.invoke("w", event), service.invoke("w", event))
        await until(lambda: len(list(shared_dir.glob("started-*"))) == 2)  # both in flight at once
        (shared_dir / "release").touch()
        return list(await both), pool(service, "w").started

    results, started = run(config, body, [])
    assert started == 2 and len({pid(result) for result in results}) == 2


def test_over_the_budget_a_request_waits_for_its_functions_busy_environment(config: Path, shared_dir: Path) -> None:
    """No room: the second request runs on the first one's environment once it frees, never two at once."""
    event = json.dumps({"started": str(shared_dir / "started"), "release": str(shared_dir / "release")}).encode()

    async def body(service: LambdaService) -> tuple[list[InvocationResult], int, int]:
        first = asyncio.ensure_future(service.invoke("w", event))
        await until(lambda: any(shared_dir.glob("started-*")))
        service.budget.limit = 1
        second = asyncio.ensure_future(service.invoke("w", event))
        await until(lambda: pool(service, "w").waiting == 1)  # waiting, not starting a second environment
        waiting_started = pool(service, "w").started
        (shared_dir / "release").touch()
        return [await first, await second], waiting_started, pool(service, "w").started

    results, waiting_started, started = run(config, body, [])
    assert waiting_started == started == 1
    assert pid(results[0]) == pid(results[1]) and results[1].init_duration_ms is None


@pytest.mark.parametrize(("text", "megabytes"), [("1536", 1536), ("1536MB", 1536), ("1.5GB", 1536), ("2g", 2048),
                                                 ("512 MiB", 512), ("64M", 64)])
def test_max_memory_sizes(text: str, megabytes: int) -> None:
    assert parse_memory(text) == megabytes * MB


@pytest.mark.parametrize("text", ["", "lots", "-1GB", "10KB", "1.5TB", "32MB", "0"])
def test_bad_max_memory_is_one_line(text: str) -> None:
    with pytest.raises(UserError, match=r"^--max-memory '.*': (give a size in MB or GB|at least 64MB)"):
        parse_memory(text)


def test_serve_refuses_a_bad_max_memory_in_one_line_exit_2() -> None:
    done = subprocess.run([sys.executable, "-m", "emulator.cli", "serve", "--max-memory", "12XB", "--port", "0"],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert done.stderr.strip() == ("lambda-canary: error: --max-memory '12XB': give a size in MB or GB, "
                                   "e.g. 1536MB or 1.5GB")


def test_the_default_budget_is_a_quarter_of_memtotal(tmp_path: Path) -> None:
    meminfo = tmp_path / "meminfo"
    meminfo.write_text("MemTotal:       16318504 kB\nMemFree:         1000 kB\n")
    assert mem_total(meminfo) == 16318504 * 1024
    assert default_budget() == max(256 * MB, int((mem_total() or 0) * 0.25))
