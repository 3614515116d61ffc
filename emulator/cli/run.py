"""`lambda-canary invoke` and `serve`: run the config's functions, once or behind the local API Gateway."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from emulator import aio
from emulator.cli.common import (
    DEFAULT_CONFIG,
    backend_options,
    docker_options,
    max_memory_option,
    read_event,
    runtime_client_option,
    stderr_console,
)


def _to_stderr(line: str) -> None:
    sys.stderr.write(line + "\n")


@click.command()
@click.argument("function")
@click.option("--event", "-e", help="Event JSON file, or - for stdin (default: {}).")
@click.option("--config", "-c", "config_path", default=DEFAULT_CONFIG, show_default=True,
              type=click.Path(path_type=Path), help="Config file that defines the function.")
@click.option("--qualifier", help="Version or alias to invoke (default: $LATEST).")
@backend_options
@runtime_client_option
def invoke(function: str, event: str | None, config_path: Path, qualifier: str | None, backend: str | None,
           docker_base: tuple[str, ...], docker_network: str | None, code_mode: str | None,
           runtime_client: str) -> None:
    """Invoke FUNCTION once: the payload on stdout, the logs on stderr; exit 1 on a function error."""
    from emulator.invoke import invoke_once

    payload = read_event(event)
    result = aio.run(invoke_once(config_path, function, payload, qualifier, backend,
                                 _to_stderr,
                                 docker_options(docker_base, docker_network, code_mode), runtime_client))
    sys.stdout.buffer.write(result.payload + b"\n")
    sys.stdout.flush()
    if result.function_error:
        sys.exit(1)


@click.command()
@click.argument("config_file", required=False, type=click.Path(path_type=Path))
@click.option("--bind", "host", default="127.0.0.1", show_default=True, metavar="ADDRESS",
              help="Address to listen on (loopback by default).")
@click.option("--port", "-p", default=3000, show_default=True, type=click.IntRange(0, 65535),
              help="Port of the data plane and the AWS API (0: any free port).")
@click.option("--seed", type=int, help="Seed the canary and alias choices (unseeded by default, like AWS).")
@backend_options
@runtime_client_option
@click.option("--max-environments", default=64, show_default=True, type=click.IntRange(1, 10_000),
              help="Account concurrency: environments at once; beyond it Lambda answers TooManyRequestsException.")
@click.option("--idle-timeout", default=600.0, show_default=True, type=click.FloatRange(1, 86_400),
              help="Seconds an idle environment is kept warm before it is stopped.")
@max_memory_option
@click.option("--stage", "-s", "sls_stage", help="serverless.yml's ${opt:stage} (default: provider.stage, else dev).")
@click.option("--state-dir", type=click.Path(file_okay=False, path_type=Path),
              help="Keep the account's state (APIs, functions made through the AWS API) across restarts.")
@click.option("--quiet", "-q", is_flag=True, help="No access-log or function-log lines.")
@click.option("--split-cpus/--no-split-cpus", default=True, show_default=True,
              help="While invocations overlap, run the event loop on one CPU and the functions on the others.")
@click.option("--debug", is_flag=True, help="Log the traceback of an unexpected failure (one line without).")
def serve(config_file: Path | None, host: str, port: int, seed: int | None, backend: str | None,
          docker_base: tuple[str, ...], docker_network: str | None, code_mode: str | None, runtime_client: str,
          max_environments: int, idle_timeout: float, max_memory: int | None, sls_stage: str | None,
          state_dir: Path | None, quiet: bool, split_cpus: bool, debug: bool) -> None:
    """Serve CONFIG_FILE's APIs at http://ADDRESS:PORT/{stage}/{path}, and the AWS API on the same port."""
    from emulator.serve import read_and_listen
    from emulator.serve import serve as run_serve

    docker = docker_options(docker_base, docker_network, code_mode)
    # the port listens before asyncio, pydantic and the stack are imported (issue 19); see emulator/serve.py
    translation, listener = read_and_listen(config_file, sls_stage, host, port, backend)
    try:
        from emulator.stack import StackOptions

        options = StackOptions(host=host, port=port, seed=seed, backend=backend, access_log=not quiet,
                               function_logs=not quiet, state_dir=state_dir, max_environments=max_environments,
                               idle_timeout=idle_timeout, max_memory=max_memory, debug=debug, docker_options=docker,
                               runtime_client=runtime_client, split_cpus=split_cpus, listener=listener)
        aio.run(run_serve(translation, options, stderr_console))
    finally:
        if listener is not None:
            listener.close()  # when the stack did not get to serve it
