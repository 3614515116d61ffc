"""`lambda-canary serve`: run the stack until SIGINT or SIGTERM, then stop every environment."""

from __future__ import annotations

import asyncio
import os
import signal
from pathlib import Path

from rich.console import Console

from emulator import failures
from emulator.errors import UserError
from emulator.stack import Stack, StackOptions


def check_aws_profile() -> None:
    """An AWS_PROFILE that names no profile is one line and exit 2: the aws CLI and boto3 pointed at the emulator
    would fail on it with every call (the emulator itself reads no profile). Without a profile named and without
    AWS configuration files there is nothing to check, and botocore (0.1 s to import) is not loaded."""
    if not any(os.environ.get(name) for name in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_CONFIG_FILE",
                                                 "AWS_SHARED_CREDENTIALS_FILE")) and \
            not any((Path.home() / ".aws" / name).exists() for name in ("config", "credentials")):
        return
    import botocore.exceptions
    import botocore.session

    try:
        botocore.session.Session().get_scoped_config()
    except botocore.exceptions.ProfileNotFound as error:
        name = error.kwargs.get("profile", "?")
        raise UserError(f"AWS_PROFILE names the profile {name!r}, which is in neither ~/.aws/config nor "
                        f"~/.aws/credentials: unset AWS_PROFILE, or create it with `aws configure --profile {name}` "
                        "(any keys do for the emulator)") from None
    except botocore.exceptions.BotoCoreError as error:  # e.g. a config file that does not parse
        raise UserError(f"AWS configuration: {error}; fix the file, or point AWS_CONFIG_FILE elsewhere") from None


async def serve(config_path: Path | None, options: StackOptions, console: Console, stage: str | None = None) -> None:
    """Serve until a signal arrives; always cleans up what it started."""
    check_aws_profile()
    stack = Stack.from_file(config_path, options, stage)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()

    def background_failure(_loop: asyncio.AbstractEventLoop, context: dict[str, object]) -> None:
        """A background task's failure is one line too (asyncio would print a traceback)."""
        error = context.get("exception")
        message = str(context.get("message") or "background task failed")
        if isinstance(error, BaseException):
            failures.report(stack.log, message, error, options.debug)
        else:
            stack.log(f"lambda-canary: {message}")

    loop.set_exception_handler(background_failure)
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
