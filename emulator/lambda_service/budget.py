"""The memory budget of warm environments: one for all functions, idle ones evicted least recently used.

What counts is the memory an environment takes from the machine: its runtime's private resident pages
(`RssAnon` + `RssShmem` of the process), plus the resident pages of each runtime binary once, since every
process of the same Node binary shares them (about 39 MB of Node 22's 46 MB when idle). Summing each
process's whole RSS would count that binary once per environment; a MemorySize count (128 MB by default)
overstates an idle Node runtime about threefold. Where a backend cannot measure (a remote Docker engine),
an environment counts as its MemorySize.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING

from emulator.errors import UserError
from emulator.lambda_service.backends.base import MemorySample

if TYPE_CHECKING:
    from emulator.lambda_service.environment import ExecutionEnvironment

MB = 1024 * 1024
DEFAULT_FRACTION = 0.25  # of MemTotal: room for the editor, the browser and the tests beside it
MIN_BUDGET = 256 * MB
SAMPLE_TTL_S = 1.0  # a reading is reused this long: budget checks happen on cold starts, never per request

_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(|m|mb|mib|g|gb|gib)\s*$", re.IGNORECASE)


def parse_memory(text: str, option: str = "--max-memory") -> int:
    """`1536`, `1536MB`, `1.5GB`, `2G` -> bytes (a bare number is MB); anything else is a one-line UserError."""
    match = _SIZE.match(text)
    if match is None:
        raise UserError(f"{option} {text!r}: give a size in MB or GB, e.g. 1536MB or 1.5GB")
    number, unit = float(match.group(1)), match.group(2).lower()
    size = int(number * (1024 if unit.startswith("g") else 1) * MB)
    if size < 64 * MB:
        raise UserError(f"{option} {text!r}: at least 64MB (one Node environment needs about 50 MB)")
    return size


def mem_total(meminfo: Path = Path("/proc/meminfo")) -> int | None:
    """The machine's MemTotal in bytes, when /proc tells."""
    try:
        for line in meminfo.read_text().splitlines():
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        return None
    return None


def default_budget() -> int:
    """A quarter of the machine's memory (at least 256 MB); 2 GB where /proc/meminfo cannot be read."""
    total = mem_total()
    return max(MIN_BUDGET, int(total * DEFAULT_FRACTION)) if total else 2048 * MB


class WarmBudget:
    """Counts every warm environment against one limit and picks the least recently used idle ones to stop."""

    def __init__(self, limit: int | None = None, clock: Callable[[], float] = time.monotonic) -> None:
        self.limit = default_budget() if limit is None else limit
        self._clock = clock
        self._samples: dict[str, tuple[float, MemorySample]] = {}  # by environment id

    def sample(self, environment: ExecutionEnvironment) -> MemorySample:
        """The environment's memory (a reading at most SAMPLE_TTL_S old); the estimate while it starts."""
        now = self._clock()
        cached = self._samples.get(environment.id)
        if cached is not None and now - cached[0] < SAMPLE_TTL_S:
            return cached[1]
        reading = environment.memory_sample()
        if reading is None:
            return MemorySample(self.estimate(environment.version.memory_size))
        self._samples[environment.id] = (now, reading)
        return reading

    def forget(self, environment: ExecutionEnvironment) -> None:
        """Drop the reading of an environment that stopped."""
        self._samples.pop(environment.id, None)

    def used(self, environments: Iterable[ExecutionEnvironment]) -> int:
        """What `environments` take: their private pages, plus each shared binary's pages once."""
        private = 0
        shared: dict[str, int] = {}  # each binary's pages, once
        for environment in environments:
            reading = self.sample(environment)
            private += reading.private
            if reading.shared:
                key = reading.shared_key or environment.version.runtime.name
                shared[key] = max(shared.get(key, 0), reading.shared)
        return private + sum(shared.values())

    def estimate(self, memory_size_mb: int) -> int:
        """What one more environment will add: the mean private memory of the measured ones, else its MemorySize."""
        readings = [cached for _, cached in self._samples.values()]
        if not readings:
            return memory_size_mb * MB
        return sum(reading.private for reading in readings) // len(readings)
