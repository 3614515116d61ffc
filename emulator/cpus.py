"""Where the work runs: while invocations overlap, the gateway's event loop on one CPU and the functions on the others.

One Python event loop answers every request, and every request also runs a function in another process. Measured on
2 cores (issue 19; figures in the README's design notes):
- While requests come one at a time, the loop waits for the function and the function for the loop: the scheduler
  runs the woken one on the CPU just left, a cheap hand-off. Keeping them on different CPUs makes every hand-off a
  cross-CPU wake-up, costly in a virtual machine, and cost 28% of the requests per second at 1 connection.
- While invocations overlap, a woken function lands on the busy loop's CPU and preempts it while the other CPU
  idles: at 8 connections the loop was busy only 70% of the time. With the loop on one CPU and the functions on the
  rest, the same machine serves 1.2-1.45x the requests.
So `CpuPlacement` watches the average number of invocations in flight (`ConcurrencyMeter`) and moves the functions'
processes (every thread of each) off the loop's CPU, and the loop onto it, only while invocations overlap; with one
CPU there is nothing to place. Processes started meanwhile get the current placement between fork and exec.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
from pathlib import Path

MACHINE_CPUS: frozenset[int] = frozenset(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else frozenset()
SAMPLE_S = 0.1  # how often the meter is read
SPLIT_ABOVE = 1.2  # average invocations in flight over a sample that moves the functions off the loop's CPU
SHARE_BELOW = 1.05  # ... and at or under which, for SHARE_AFTER samples in a row, they may use it again
SHARE_AFTER = 10


class ConcurrencyMeter:
    """The average number of invocations in flight between two reads (the area under the in-flight count)."""

    def __init__(self) -> None:
        self.in_flight = 0
        self._since = self._last = time.monotonic()
        self._area = 0.0

    def enter(self) -> None:
        """An invocation started."""
        now = time.monotonic()
        self._area += self.in_flight * (now - self._last)
        self._last = now
        self.in_flight += 1

    def leave(self) -> None:
        """An invocation ended."""
        now = time.monotonic()
        self._area += self.in_flight * (now - self._last)
        self._last = now
        self.in_flight -= 1

    def take(self) -> float:
        """The average since the previous take, and start a new period."""
        now = time.monotonic()
        area = self._area + self.in_flight * (now - self._last)
        elapsed = now - self._since
        self._area, self._last, self._since = 0.0, now, now
        return area / elapsed if elapsed > 0 else float(self.in_flight)


class CpuPlacement:
    """Moves the event loop and the functions' processes between a shared and a split placement (see the module)."""

    def __init__(self, cpus: frozenset[int] = MACHINE_CPUS) -> None:
        self.cpus = cpus
        self.loop_cpu = min(cpus) if cpus else 0
        self.function_cpus = cpus - {self.loop_cpu}
        self.split = False
        self.switches = 0
        self._pids: set[int] = set()
        self._task: asyncio.Task[None] | None = None

    @property
    def usable(self) -> bool:
        """Two CPUs or more, and a system that can place threads."""
        return len(self.cpus) >= 2 and hasattr(os, "sched_setaffinity")

    def for_new_process(self) -> frozenset[int] | None:
        """The CPUs a process started now must be given (None: the starting thread's, all of them, will do)."""
        return self.function_cpus if self.split else None

    def track(self, pid: int, started_split: bool) -> None:
        """A function's process, started with `for_new_process()` as it was when `started_split` was read."""
        self._pids.add(pid)
        if started_split != self.split:
            self._place(pid)

    def forget(self, pid: int) -> None:
        """A function's process ended."""
        self._pids.discard(pid)

    def set_split(self, split: bool) -> None:
        """Move to the split (True) or shared placement; call it on the event loop's thread."""
        if split == self.split or not self.usable:
            return
        self.split = split
        self.switches += 1
        if split:  # the CPU the loop runs on now: the scheduler's choice, so several servers spread out
            self.loop_cpu = _current_cpu(self.loop_cpu)
            self.function_cpus = self.cpus - {self.loop_cpu}
        with contextlib.suppress(OSError):  # a CPU taken away meanwhile (a container's cpuset changed)
            os.sched_setaffinity(0, {self.loop_cpu} if split else self.cpus)
        for pid in list(self._pids):
            self._place(pid)

    def _place(self, pid: int) -> None:
        target = self.function_cpus if self.split else self.cpus
        with contextlib.suppress(OSError):  # a process or thread that just ended
            for thread in os.listdir(f"/proc/{pid}/task"):
                with contextlib.suppress(OSError):
                    os.sched_setaffinity(int(thread), target)

    def watch(self, meter: ConcurrencyMeter) -> None:
        """Follow `meter` from the running loop until `stop()`."""
        if self.usable and self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._follow(meter))

    async def _follow(self, meter: ConcurrencyMeter) -> None:
        quiet = 0
        meter.take()
        while True:
            await asyncio.sleep(SAMPLE_S)
            concurrency = meter.take()
            if concurrency > SPLIT_ABOVE:
                quiet = 0
                self.set_split(True)
            elif concurrency <= SHARE_BELOW and self.split:
                quiet += 1
                if quiet >= SHARE_AFTER:
                    self.set_split(False)

    def stop(self) -> None:
        """Stop following and give the loop's thread every CPU back."""
        if self._task is not None:
            self._task.cancel()
            self._task = None
        self.set_split(False)


def _current_cpu(default: int) -> int:
    """The CPU the calling thread last ran on (/proc/thread-self/stat's `processor`), else `default`."""
    try:
        stat = Path("/proc/thread-self/stat").read_text()
        return int(stat[stat.rindex(")") + 2:].split()[36])
    except (OSError, ValueError, IndexError):
        return default


_active: CpuPlacement | None = None


def activate(placement: CpuPlacement | None) -> None:
    """The placement function processes started from now on follow (None: none)."""
    global _active
    _active = placement


def active() -> CpuPlacement | None:
    """The placement in force, if any."""
    return _active
