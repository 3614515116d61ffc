"""CPU placement (emulator/cpus.py, `serve --split-cpus`): while invocations overlap, the event loop's thread runs on
one CPU and every thread of every function process on the others; while they come one at a time, both may use every
CPU. Real Node processes on the process backend; placements read back from the kernel (/proc/PID/task/TID/status).
"""

from __future__ import annotations

import asyncio
import json
import os
import time
from pathlib import Path

import pytest
from support import hold_config, until, with_service

from emulator import cpus
from emulator.lambda_service.service import LambdaService

pytestmark = pytest.mark.skipif(len(cpus.MACHINE_CPUS) < 2,
                                reason="placement needs 2 CPUs or more; this machine offers one")

@pytest.fixture(scope="module")
def config(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return hold_config(tmp_path_factory.mktemp("placement"), {"a": "pid", "w": "hold"})


def allowed(pid: int) -> set[frozenset[int]]:
    """The distinct CPU sets of a process's threads, as the kernel reports them."""
    return {frozenset(os.sched_getaffinity(int(thread))) for thread in os.listdir(f"/proc/{pid}/task")}


def test_the_meter_averages_the_invocations_in_flight() -> None:
    meter = cpus.ConcurrencyMeter()
    meter.enter()
    meter.enter()
    meter.take()
    assert meter.take() == pytest.approx(2.0)  # two in flight the whole period
    meter.leave()
    meter.leave()
    meter.take()
    assert meter.take() == 0.0


def test_overlapping_invocations_move_the_functions_off_the_loop_cpu_and_back(config: Path, shared_dir: Path) -> None:
    placement = cpus.CpuPlacement()
    event = json.dumps({"started": str(shared_dir / "started"), "release": str(shared_dir / "release")}).encode()

    async def body(service: LambdaService) -> dict[str, object]:
        cpus.activate(placement)
        placement.watch(service.metrics.in_flight)
        try:
            shared_pid = json.loads((await service.invoke("a", b"{}")).payload)["pid"]  # started shared
            held = asyncio.gather(service.invoke("w", event), service.invoke("w", event))
            await until(lambda: len(list(shared_dir.glob("started-*"))) == 2)
            await until(lambda: placement.split)
            held_pids = [int(path.name.split("-")[1]) for path in shared_dir.glob("started-*")]
            split = {"loop": frozenset(os.sched_getaffinity(0)), "held": [allowed(pid) for pid in held_pids],
                     "a": allowed(shared_pid)}
            # a process started while split gets the function CPUs between fork and exec
            (shared_dir / "release").touch()
            await held
            (shared_dir / "release").unlink()
            again = asyncio.gather(service.invoke("w", event), service.invoke("w", event),
                                   service.invoke("w", event))
            await until(lambda: len(list(shared_dir.glob("started-*"))) == 3)
            new_pid = next(int(path.name.split("-")[1]) for path in shared_dir.glob("started-*")
                           if int(path.name.split("-")[1]) not in held_pids)
            split["new"] = allowed(new_pid)
            (shared_dir / "release").touch()
            await again
            await until(lambda: not placement.split)  # quiet again: shared
            shared = {"loop": frozenset(os.sched_getaffinity(0)), "held": [allowed(pid) for pid in held_pids],
                      "new": allowed(new_pid)}
            return {"split": split, "shared": shared}
        finally:
            placement.stop()
            cpus.activate(None)

    seen = with_service(config, body)
    loop_cpu = frozenset({placement.loop_cpu})
    others = placement.function_cpus
    split, shared = seen["split"], seen["shared"]
    assert split["loop"] == loop_cpu  # type: ignore[index]
    assert split["held"] == [{others}, {others}]  # type: ignore[index]  # every thread of each process
    assert split["a"] == {others}  # type: ignore[index]  # an idle process moves too
    assert split["new"] == {others}  # type: ignore[index]
    assert shared["loop"] == cpus.MACHINE_CPUS  # type: ignore[index]
    assert shared["held"] == [{cpus.MACHINE_CPUS}, {cpus.MACHINE_CPUS}]  # type: ignore[index]
    assert shared["new"] == {cpus.MACHINE_CPUS}  # type: ignore[index]
    assert os.sched_getaffinity(0) == cpus.MACHINE_CPUS  # stop() gave the thread its CPUs back


def test_requests_one_at_a_time_keep_the_shared_placement(config: Path) -> None:
    """Sequential invocations never overlap: the meter never reads over 1, over several of its sample periods."""
    placement = cpus.CpuPlacement()

    async def body(service: LambdaService) -> tuple[int, int]:
        cpus.activate(placement)
        placement.watch(service.metrics.in_flight)
        try:
            count = 0
            finish = time.monotonic() + 4 * cpus.SAMPLE_S
            while time.monotonic() < finish:
                await service.invoke("a", b"{}")
                count += 1
            return count, placement.switches
        finally:
            placement.stop()
            cpus.activate(None)

    count, switches = with_service(config, body)
    assert count > 1 and switches == 0
