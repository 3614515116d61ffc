"""`lambda-canary serve`: run the stack until SIGINT or SIGTERM, then stop every environment."""

from __future__ import annotations

import asyncio
import signal
from pathlib import Path

from rich.console import Console

from emulator.stack import Stack, StackOptions


async def serve(config_path: Path | None, options: StackOptions, console: Console, stage: str | None = None) -> None:
    """Serve until a signal arrives; always cleans up what it started."""
    stack = Stack.from_file(config_path, options, stage)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    try:
        await stack.start()  # every function prepared (images pulled or built, with progress bars on stderr)
        if not getattr(stack.lambdas.backend, "choices", dict)():  # auto says its choices per runtime as it makes them
            console.print(f"lambda-canary: {stack.backend_reason}")
        console.print(f"lambda-canary: serving on {stack.url}  (Ctrl-C to stop)")
        console.print(f"lambda-canary: AWS API (apigateway, lambda): export AWS_ENDPOINT_URL={stack.url}  "
                      "(any credentials and region are accepted)")
        if options.state_dir is not None:
            console.print(f"lambda-canary: state kept in {options.state_dir}")
        for api in stack.state.apis.values():
            for stage_name, stage in api.stages.items():
                canary = stage.canary_settings
                split = (f"canary {canary.percent_traffic:g}% -> deployment {canary.deployment_id}, "
                         f"overrides {canary.stage_variable_overrides or {}}") if canary else "no canary"
                console.print(f"  stage {stage_name} (api {api.id}): deployment {stage.deployment_id}, "
                              f"variables {stage.variables or {}}; {split}")
        for line in stack.routes():
            console.print(f"  {line}")
        console.print(f"  stats: {stack.url}/_lambda_canary/stats")
        await stop.wait()
    finally:
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(signum)
        await stack.stop()
        console.print("lambda-canary: stopped; all environments removed")
