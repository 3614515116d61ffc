"""`lambda-canary invoke`: run one function from a config once."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from emulator.config import LoadedConfig
from emulator.errors import UserError
from emulator.formats.load import load_config
from emulator.lambda_service.backends.select import choose_backend
from emulator.lambda_service.errors import LambdaApiError
from emulator.lambda_service.handler_check import require_handler_file
from emulator.lambda_service.loader import records_from_config
from emulator.lambda_service.model import InvocationResult
from emulator.lambda_service.preflight import setup_mistake
from emulator.lambda_service.service import LambdaService


async def invoke_once(config_path: Path, function: str, payload: bytes, qualifier: str | None,
                      backend_name: str | None, log: Callable[[str], None],
                      docker_options: dict[str, object] | None = None,
                      runtime_client: str = "lambda-canary") -> InvocationResult:
    """Invoke a configured function; setup mistakes are UserErrors naming file and key."""
    loaded = load_config(config_path)
    config = loaded.config
    if function not in config.functions:
        known = ", ".join(config.functions) or "none"
        raise UserError(f"{config_path}: no function {function!r} (functions: {known})")
    where = loaded.document.where(("functions", function, "handler")) if loaded.document else str(config_path)
    require_handler_file(loaded.code_dir(function), config.functions[function].handler, where)
    runtime = config.functions[function].runtime
    choice = backend_name or config.backend
    backend, _reason = choose_backend(choice, [runtime], say=log, runtime_client=runtime_client,
                                      **(docker_options or {}))
    held: list[str] | None = []  # init-phase lines, held until we know the error is not a setup mistake

    def sink(_name: str, line: str) -> None:
        nonlocal held
        if held is not None and line.startswith("START RequestId:"):
            for early in held:
                log(early)
            held = None
        if held is None:
            log(line)
        else:
            held.append(line)

    service = LambdaService(backend, sink, region=config.region, account_id=config.account_id)
    for record in records_from_config(loaded):
        service.put_function(record)
    try:
        resolved = service.resolve(function, qualifier)
        await service.prepare(resolved.version, hold=False)
        result = await service.invoke_resolved(resolved, payload)
    except LambdaApiError as error:
        raise UserError(f"{error.code}: {error.message}") from None
    finally:
        await service.close()
    mistake = setup_mistake(result.error_payload) if result.init_duration_ms is not None else None
    if mistake is not None:
        raise UserError(f"{where}: {mistake}")  # one line: the held logs are dropped
    for line in held or []:
        log(line)
    return result



async def thrown_on_test_events(loaded: LoadedConfig, backend_name: str | None,
                                log: Callable[[str], None]) -> dict[str, list[str]]:
    """Invoke each function that has `testEvents` with each of them (once, in order); the errorMessages thrown, by
    function (an empty list: it threw none). Functions without testEvents are left out."""
    config = loaded.config
    tested = {name: function for name, function in config.functions.items() if function.test_events}
    if not tested:
        return {}
    backend, _reason = choose_backend(backend_name or config.backend,
                                      sorted({function.runtime for function in tested.values()}), say=log)
    service = LambdaService(backend, lambda _name, _line: None, region=config.region, account_id=config.account_id)
    for record in records_from_config(loaded):
        service.put_function(record)
    thrown: dict[str, list[str]] = {}
    try:
        for name, function in sorted(tested.items()):
            where = loaded.document.where(("functions", name, "handler")) if loaded.document else str(loaded.path)
            require_handler_file(loaded.code_dir(name), function.handler, where)
            resolved = service.resolve(name, None)
            await service.prepare(resolved.version, hold=False)
            errors = thrown.setdefault(name, [])
            for event in function.test_events:
                result = await service.invoke_resolved(resolved, json.dumps(event).encode())
                if result.function_error:
                    message = (result.error_payload or {}).get("errorMessage")
                    errors.append(message if isinstance(message, str) else "")
    except LambdaApiError as error:
        raise UserError(f"{error.code}: {error.message}") from None
    finally:
        await service.close()
    return thrown
