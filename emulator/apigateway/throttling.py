"""Throttling as API Gateway does it, with token buckets (rate per second, burst): the account's limit over every
request of every API (AWS's default quota per account and region: 10,000 requests per second with a burst of
5,000, https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-request-throttling.html), then a
stage's method settings: `*/*` gives every method of the stage its limits; `{resource}/{METHOD}` overrides them
for one method. A stage without method settings has only the account's limit."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

DEFAULT_RATE = 10000.0
DEFAULT_BURST = 5000
ACCOUNT_RATE = 10000.0  # AWS's default account-level quota (per region); raising it is a quota request
ACCOUNT_BURST = 5000


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

    def __init__(self, clock: Callable[[], float] = time.monotonic, *, account_rate: float = ACCOUNT_RATE,
                 account_burst: int = ACCOUNT_BURST) -> None:
        self._clock = clock
        self._buckets: dict[tuple[str, str, str, str], _Bucket] = {}
        self._account = _Bucket(account_rate, account_burst, float(account_burst), clock())

    def allow_account(self) -> bool:
        """May one more request of this account go on (its account-level bucket had a token)?"""
        return self._account.take(self._clock())

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
