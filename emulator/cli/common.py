"""What several commands share: the stderr console, the default config name, the backend options, the event reader."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

import click

from emulator.errors import UserError

if TYPE_CHECKING:
    from rich.console import Console

    err_console: Console

DEFAULT_CONFIG = "canary.yaml"
_consoles: dict[str, Console] = {}


def stderr_console() -> Console:
    """The stderr console, made on first use: rich takes 40 ms to import, which `serve` spends only once it
    listens (issue 19)."""
    console = _consoles.get("stderr")
    if console is None:
        from rich.console import Console

        console = _consoles["stderr"] = Console(stderr=True, highlight=False, soft_wrap=True)
    return console


def __getattr__(name: str) -> object:
    """`err_console`: the stderr console, made when first imported (stderr_console())."""
    if name == "err_console":
        return stderr_console()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


# ---- backend options ------------------------------------------------------------------------
def docker_options(base: tuple[str, ...], network: str | None, code_mode: str | None) -> dict[str, object]:
    """`--docker-base RUNTIME=IMAGE` (repeatable), `--docker-network`, `--code-mode` as backend options."""
    images: dict[str, str] = {}
    if base:
        from emulator.cli.images import parse_bases  # with rich: only when given

        images = parse_bases(base)
    options: dict[str, object] = {"base_images": images} if images else {}
    if network:
        options["network_mode"] = network
    if code_mode:
        options["code_mode"] = code_mode
    return options


def backend_options(function: click.decorators.FC) -> click.decorators.FC:
    """The options every command that runs functions takes."""
    for decorator in reversed((
        click.option("--backend", default=None, help="auto, process or docker (default: the config's, else auto)."),
        click.option("--docker-base", "docker_base", multiple=True, metavar="RUNTIME=IMAGE",
                     help="Base image for a runtime on the docker backend (default: the public Lambda image)."),
        click.option("--docker-network", type=click.Choice(["bridge", "host"]), default=None,
                     help="How containers reach the Runtime API (default: bridge)."),
        click.option("--code-mode", type=click.Choice(["build", "mount"]), default=None,
                     help="docker: build an image per code (default) or mount the code read-only."),
    )):
        function = decorator(function)
    return function


def _max_memory(_context: click.Context, _parameter: click.Parameter, value: str | None) -> int | None:
    if value is None:  # the budget module (with the Lambda model and pydantic) only when given: serve listens first
        return None
    from emulator.lambda_service.budget import parse_memory

    return parse_memory(value)


def max_memory_option(function: click.decorators.FC) -> click.decorators.FC:
    """`--max-memory SIZE`: the memory budget of all warm environments, in bytes (None: the default)."""
    return click.option(
        "--max-memory", "max_memory", metavar="SIZE", callback=_max_memory, expose_value=True,
        help="Memory all warm environments may take together, e.g. 1536MB or 1.5GB (default: a quarter of the "
             "machine's); beyond it idle ones stop, least recently used first.")(function)


def runtime_client_option(function: click.decorators.FC) -> click.decorators.FC:
    """`--runtime-client`: lambda-canary's Node runtime client, or AWS's aws-lambda-ric (process backend)."""
    from emulator.runtimes.aws_client import CLIENTS

    return click.option("--runtime-client", "runtime_client", type=click.Choice(CLIENTS),
                        default="lambda-canary", show_default=True,
                        help="Node runtime client: ours, or AWS's aws-lambda-ric (process backend; build it with "
                             "`lambda-canary runtimes install-client aws`).")(function)


def read_event(event: str | None) -> bytes:
    """`--event`: a file, or stdin for `-`, or `{}` when absent; unreadable or malformed JSON is a UserError."""
    if event is None:
        return b"{}"
    source = "<stdin>" if event == "-" else event
    try:
        data = sys.stdin.buffer.read() if event == "-" else Path(event).read_bytes()
    except OSError as error:
        raise UserError(f"{source}: cannot read event: {error.strerror}") from None
    try:
        json.loads(data or b"null")
    except ValueError as error:
        raise UserError(f"{source}: malformed event JSON: {error}") from None
    return data


def print_result(data: object, lines: Iterable[str], *, as_json: bool) -> None:
    """A command's result on stdout: `data` as JSON with --json, else `lines` as written (no rich markup)."""
    if as_json:
        sys.stdout.write(json.dumps(data, indent=2) + "\n")
        return
    from rich.console import Console

    console = Console(highlight=False, soft_wrap=True)
    for line in lines:
        console.print(line, markup=False)
