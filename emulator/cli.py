"""The `lambda-canary` command line."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click
from rich.console import Console
from rich.table import Table

from emulator import aio
from emulator.errors import UserError

err_console = Console(stderr=True, highlight=False, soft_wrap=True)
DEFAULT_CONFIG = "canary.yaml"


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="lambda-canary")
def cli() -> None:
    """Local API Gateway + Lambda for Node runtime-migration canaries."""


# ---- runtimes -------------------------------------------------------------------------------
@cli.group()
def runtimes() -> None:
    """The Lambda Node.js runtimes and their local Node releases."""


@runtimes.command("list")
def runtimes_list() -> None:
    """Show the runtime catalogue and what is installed."""
    import datetime as dt

    from emulator.runtimes.catalogue import catalogue
    from emulator.runtimes.provision import find_node

    today = dt.date.today()
    table = Table("runtime", "node", "base image", "OS", "deprecation", "create blocked", "update blocked",
                  "installed")
    for spec in catalogue().values():
        found = find_node(spec.name)
        installed = f"{found.source}: {found.path}" if found else "no"
        blocked = "[red]{}[/red]" if spec.blocks_create(today) else "{}"
        table.add_row(spec.name, spec.node, spec.image, spec.os, str(spec.deprecation or "-"),
                      blocked.format(spec.block_create or "-"),
                      ("[red]{}[/red]" if spec.blocks_update(today) else "{}").format(spec.block_update or "-"),
                      installed)
    Console().print(table)


@runtimes.command("install")
@click.argument("names", nargs=-1)
def runtimes_install(names: tuple[str, ...]) -> None:
    """Fetch each runtime's exact Node release through npm (all runtimes when none is named)."""
    from emulator.runtimes.catalogue import catalogue
    from emulator.runtimes.provision import install

    install(list(names) or list(catalogue()), err_console)


@runtimes.command("use")
@click.argument("name")
@click.argument("node", type=click.Path(path_type=Path))
def runtimes_use(name: str, node: Path) -> None:
    """Point a runtime at a node binary you already have (its major must match)."""
    from emulator.runtimes.provision import link_node

    version = link_node(name, node)
    err_console.print(f"{name}: using {node} ({version})")


# ---- backend options ------------------------------------------------------------------------
def docker_options(base: tuple[str, ...], network: str | None, code_mode: str | None) -> dict[str, object]:
    """`--docker-base RUNTIME=IMAGE` (repeatable), `--docker-network`, `--code-mode` as backend options."""
    images: dict[str, str] = {}
    for item in base:
        runtime, sep, image = item.partition("=")
        if not sep or not image:
            raise UserError(f"--docker-base {item!r}: use RUNTIME=IMAGE, e.g. nodejs22.x=my/base:22")
        images[runtime] = image
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


# ---- invoke ---------------------------------------------------------------------------------
def _read_event(event: str | None) -> bytes:
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


@cli.command()
@click.argument("function")
@click.option("--event", "-e", help="Event JSON file, or - for stdin (default: {}).")
@click.option("--config", "-c", "config_path", default=DEFAULT_CONFIG, show_default=True,
              type=click.Path(path_type=Path), help="Config file that defines the function.")
@click.option("--qualifier", "-q", help="Version or alias to invoke.")
@backend_options
def invoke(function: str, event: str | None, config_path: Path, qualifier: str | None, backend: str | None,
           docker_base: tuple[str, ...], docker_network: str | None, code_mode: str | None) -> None:
    """Invoke FUNCTION once: the payload on stdout, the logs on stderr; exit 1 on a function error."""
    from emulator.invoke import invoke_once

    payload = _read_event(event)
    result = aio.run(invoke_once(config_path, function, payload, qualifier, backend,
                                 lambda line: sys.stderr.write(line + "\n"),
                                 docker_options(docker_base, docker_network, code_mode)))
    sys.stdout.buffer.write(result.payload + b"\n")
    sys.stdout.flush()
    if result.function_error:
        sys.exit(1)


# ---- serve ----------------------------------------------------------------------------------
@cli.command()
@click.argument("config_file", required=False, type=click.Path(path_type=Path))
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to bind (loopback by default).")
@click.option("--port", "-p", default=3000, show_default=True, type=int)
@click.option("--seed", type=int, help="Seed the canary and alias choices (unseeded by default, like AWS).")
@backend_options
@click.option("--state-dir", type=click.Path(file_okay=False, path_type=Path),
              help="Keep the account's state (APIs, functions made through the AWS API) across restarts.")
@click.option("--quiet", "-q", is_flag=True, help="No access-log or function-log lines.")
def serve(config_file: Path | None, host: str, port: int, seed: int | None, backend: str | None,
          docker_base: tuple[str, ...], docker_network: str | None, code_mode: str | None,
          state_dir: Path | None, quiet: bool) -> None:
    """Serve CONFIG_FILE's APIs at http://HOST:PORT/{stage}/{path}."""
    from emulator.serve import serve as run_serve
    from emulator.stack import StackOptions

    options = StackOptions(host=host, port=port, seed=seed, backend=backend, access_log=not quiet,
                           function_logs=not quiet, state_dir=state_dir,
                           docker_options=docker_options(docker_base, docker_network, code_mode))
    aio.run(run_serve(config_file, options, err_console))


def _register_commands() -> None:
    """Commands that live in their own modules."""
    from emulator.deploy_cli import canary_group, deploy_command, plan_command
    from emulator.formats_cli import check_command, export_command
    from emulator.images_cli import images

    for command in (images, check_command, export_command, plan_command, deploy_command, canary_group):
        cli.add_command(command)


_register_commands()


def main() -> None:
    """Entry point: user errors are one line on stderr and exit code 2, never a traceback."""
    try:
        cli.main(standalone_mode=False)
    except UserError as error:
        err_console.print(f"lambda-canary: error: {error.message}", markup=False, highlight=False)
        sys.exit(error.exit_code)
    except click.exceptions.Abort:
        err_console.print("Aborted.")
        sys.exit(130)
    except click.ClickException as error:
        error.show()
        sys.exit(error.exit_code)
    except KeyboardInterrupt:
        sys.exit(130)


if __name__ == "__main__":
    main()
