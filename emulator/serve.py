"""`lambda-canary serve`: run the stack until SIGINT or SIGTERM, then stop every environment.

Its start is in two steps, so that the port listens early (issue 19): `read_and_listen` reads the config file and,
for the process backend, listens, with no more imported than that takes (no asyncio, pydantic or gateway); `serve`
then validates the config and builds and runs the stack while connections wait in the socket's backlog.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from emulator.backend_rules import requested_backend
from emulator.errors import UserError

if TYPE_CHECKING:
    from rich.console import Console

    from emulator.formats.translation import Translation
    from emulator.stack import StackOptions


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


def listen_early(host: str, port: int) -> socket.socket | None:
    """A listening socket for `host:port`, made before the stack is built: connections made from here on wait in
    its backlog until the stack serves them (then answered as any other), instead of being refused. None when the
    address names several (e.g. localhost as IPv4 and IPv6): the stack then listens when ready, as before."""
    try:
        addresses = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except OSError:
        return None  # the stack's own listen reports it
    if len({address[4] for address in addresses}) != 1:
        return None
    family, kind, protocol, _, address = addresses[0]
    listener = socket.socket(family, kind, protocol)
    try:
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the stack's own listen does
        if family == socket.AF_INET6:
            listener.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
        listener.bind(address)
        listener.listen(1024)
        listener.setblocking(False)
    except OSError as error:
        listener.close()
        raise UserError(f"cannot listen on {host}:{port}: {error.strerror or error}; choose another --port or "
                        "--bind") from None
    return listener


def read_and_listen(config_path: Path | None, stage: str | None, host: str, port: int,
                    backend: str | None) -> tuple[Translation | None, socket.socket | None]:
    """The config file read and translated (not yet validated) and, when its functions run on the process backend
    (`backend`, else the file's own `backend` key), a socket listening on `host:port` (see listen_early); the
    caller closes it. A file that cannot be read is a UserError before anything listens."""
    check_aws_profile()
    translation = None
    if config_path is not None:
        from emulator.formats.read import translate

        translation = translate(config_path, stage=stage)
    data = translation.data if translation is not None else None
    declared = data.get("backend") if isinstance(data, dict) else None
    # a value the config model refuses is not "process": that file listens (as before) only once it is valid
    return translation, listen_early(host, port) if requested_backend(backend, declared) == "process" else None


async def serve(translation: Translation | None, options: StackOptions, console: Callable[[], Console]) -> None:
    """Validate the config `read_and_listen` read, then serve until a signal arrives; always cleans up what it
    started. `console` makes the console the lines after the start go to (rich is imported once the stack
    listens). `options.listener` is the socket read_and_listen made, if any: the caller closes it.

    With the process backend the port listens as soon as the config file is read: the config's validation, the
    gateway's imports and the handler check (most of the start-up) happen while connections wait in the backlog,
    so a client that connects at once waits for its answer instead of being refused (issue 19). A config that is
    not valid, or a handler that cannot load, still stops it with one line, exit 2, before anything is answered
    (the socket is then closed: what waited is reset). With docker (or auto) the port listens when every image is
    ready, which can take minutes: a refused connection says "not yet" better than a wait."""
    import asyncio
    import signal

    from emulator import failures
    from emulator.formats.load import validate
    from emulator.stack import Stack

    loaded = validate(translation) if translation is not None else None
    stack = Stack.from_loaded(loaded, options)
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
    out: Console | None = None
    try:
        await stack.start()  # every function prepared (images pulled or built, with progress bars on stderr)
        out = console()
        if not getattr(stack.lambdas.backend, "choices", dict)():  # auto says its choices per runtime as it makes them
            out.print(f"lambda-canary: {stack.backend_reason}")
        out.print(f"lambda-canary: serving on {stack.url}  (Ctrl-C to stop)")
        out.print(f"lambda-canary: AWS API (apigateway, lambda): export AWS_ENDPOINT_URL={stack.url}  "
                  "(any credentials and region are accepted)")
        if options.state_dir is not None:
            out.print(f"lambda-canary: state kept in {options.state_dir}")
        for api in stack.state.apis.values():
            for stage_name, stage in api.stages.items():
                canary = stage.canary_settings
                split = (f"canary {canary.percent_traffic:g}% -> deployment {canary.deployment_id}, "
                         f"overrides {canary.stage_variable_overrides or {}}") if canary else "no canary"
                out.print(f"  stage {stage_name} (api {api.id}): deployment {stage.deployment_id}, "
                          f"variables {stage.variables or {}}; {split}")
        for line in stack.routes():
            out.print(f"  {line}")
        out.print(f"  stats: {stack.url}/_lambda_canary/stats")
        await stop.wait()
    finally:
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(signum)
        await stack.stop()
        (out or console()).print("lambda-canary: stopped; all environments removed")
