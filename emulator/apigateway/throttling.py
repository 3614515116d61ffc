"""Stage and method throttling from a stage's method settings: a token bucket per method (rate per second,
burst), as API Gateway throttles. `*/*` gives every method of the stage its limits; `{resource}/{METHOD}`
overrides them for one method. A stage without method settings is not throttled (AWS's account-level limits
are not modelled)."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

DEFAULT_RATE = 10000.0
DEFAULT_BURST = 5000


@dataclass
class _Bucket:
    rate: float
    burst: int
    tokens: float
    updated: float

    def take(self, now: float) -> bool:
        self.tokens = min(float(self.burst), self.tokens + (now - self.updated) * self.rate)
        self.updated = now
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            return True
        return False


def setting_key(settings: dict[str, dict[str, Any]], resource_path: str, method: str) -> str | None:
    """The method-settings entry that governs a method: its own (`pets/{id}/GET`), else `*/*`."""
    own = f"{resource_path.lstrip('/')}/{method}"
    if own in settings:
        return own
    return "*/*" if "*/*" in settings else None


class Throttles:
    """The buckets of every throttled method; limits read from the stage on each request."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._buckets: dict[tuple[str, str, str, str], _Bucket] = {}

    def allow(self, api_id: str, stage: str, settings: dict[str, dict[str, Any]], resource_path: str,
              method: str) -> bool:
        """May this request go on (a token was left)?"""
        key = setting_key(settings, resource_path, method)
        if key is None:
            return True
        setting = settings[key]
        rate = float(setting.get("throttlingRateLimit", DEFAULT_RATE))
        burst = int(setting.get("throttlingBurstLimit", DEFAULT_BURST))
        now = self._clock()
        slot = (api_id, stage, resource_path, method)
        bucket = self._buckets.get(slot)
        if bucket is None or (bucket.rate, bucket.burst) != (rate, burst):
            bucket = self._buckets[slot] = _Bucket(rate, burst, float(burst), now)
        return bucket.take(now)
