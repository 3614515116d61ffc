"""Concurrency as Lambda counts it: account and reserved limits throttle, idle environments are reaped."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path

from support import APP

from emulator import aio
from emulator.formats.load import load_config
from emulator.lambda_service.backends.process import ProcessBackend
from emulator.lambda_service.errors import LambdaApiError
from emulator.lambda_service.loader import records_from_config
from emulator.lambda_service.service import LambdaService


def config_file(tmp_path: Path, reserved: int | None = None) -> Path:
    extra = f"    reservedConcurrency: {reserved}\n" if reserved is not None else ""
    path = tmp_path / "canary.yaml"
    path.write_text(f"functions:\n  sleeper:\n    runtime: nodejs22.x\n    handler: index.sleep\n    code: {APP}\n"
                    f"    timeout: 5\n{extra}")
    return path


def run_concurrently(config: Path, invocations: int, **service_options: object) -> list[object]:
    """Start `invocations` 400 ms invocations at once; each result or the Lambda API error it raised."""

    async def main() -> list[object]:
        service = LambdaService(ProcessBackend(), None, **service_options)  # type: ignore[arg-type]
        for record in records_from_config(load_config(config)):
            service.put_function(record)
        try:
            return await asyncio.gather(*(service.invoke("sleeper", json.dumps({"ms": 400}).encode())
                                          for _ in range(invocations)), return_exceptions=True)
        finally:
            await service.close()

    return aio.run(main())


def test_beyond_the_account_limit_invocations_are_throttled(tmp_path: Path) -> None:
    outcomes = run_concurrently(config_file(tmp_path), 4, max_environments=2)
    throttled = [item for item in outcomes if isinstance(item, LambdaApiError)]
    assert len(throttled) == 2 and len(outcomes) - len(throttled) == 2
    assert {(error.code, error.status, error.message) for error in throttled} == {
        ("TooManyRequestsException", 429, "Rate Exceeded.")}
    assert {error.extra["Reason"] for error in throttled} == {"ConcurrentInvocationLimitExceeded"}


def test_reserved_concurrency_throttles_with_its_own_reason(tmp_path: Path) -> None:
    outcomes = run_concurrently(config_file(tmp_path, reserved=1), 3)
    throttled = [item for item in outcomes if isinstance(item, LambdaApiError)]
    assert len(throttled) == 2
    assert {error.extra["Reason"] for error in throttled} == {"ReservedFunctionConcurrentInvocationLimitExceeded"}


def test_idle_environments_are_reaped(tmp_path: Path) -> None:
    config = config_file(tmp_path)

    async def main() -> tuple[int, int]:
        service = LambdaService(ProcessBackend(), None, idle_timeout=1.0)
        for record in records_from_config(load_config(config)):
            service.put_function(record)
        try:
            await asyncio.gather(*(service.invoke("sleeper", b'{"ms": 200}') for _ in range(3)))
            warm = sum(pool.size for pool in service.pools())
            deadline = time.monotonic() + 10
            while sum(pool.size for pool in service.pools()) and time.monotonic() < deadline:
                await asyncio.sleep(0.2)
            return warm, sum(pool.size for pool in service.pools())
        finally:
            await service.close()

    warm, after = aio.run(main())
    assert warm == 3 and after == 0

