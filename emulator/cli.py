"""The `lambda-canary` command line."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click
from rich.console import Console

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
    rows = [["runtime", "node", "deprecation", "create blocked", "update blocked", "base image", "OS", "installed"]]
    for spec in catalogue().values():
        found = find_node(spec.name)
        rows.append([spec.name, spec.node, str(spec.deprecation or "-"),
                     f"{spec.block_create or '-'}{' (now)' if spec.blocks_create(today) else ''}",
                     f"{spec.block_update or '-'}{' (now)' if spec.blocks_update(today) else ''}",
                     spec.image, spec.os, f"{found.source}: {found.path}" if found else "no"])
    # Plain aligned columns, never cut: a rich table at 80 columns (or piped) shortened every name to `nodejs…`.
    widths = [max(len(row[column]) for row in rows) for column in range(len(rows[0]) - 1)]
    for row in rows:
        click.echo("  ".join([*(cell.ljust(width) for cell, width in zip(row, widths, strict=False)), row[-1]]))


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
    from emulator.images_cli import parse_bases

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
@click.option("--qualifier", help="Version or alias to invoke (default: $LATEST).")
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
@click.option("--bind", "host", default="127.0.0.1", show_default=True, metavar="ADDRESS",
              help="Address to listen on (loopback by default).")
@click.option("--port", "-p", default=3000, show_default=True, type=click.IntRange(0, 65535),
              help="Port of the data plane and the AWS API (0: any free port).")
@click.option("--seed", type=int, help="Seed the canary and alias choices (unseeded by default, like AWS).")
@backend_options
@click.option("--max-environments", default=64, show_default=True, type=click.IntRange(1, 10_000),
              help="Account concurrency: environments at once; beyond it Lambda answers TooManyRequestsException.")
@click.option("--idle-timeout", default=600.0, show_default=True, type=click.FloatRange(1, 86_400),
              help="Seconds an idle environment is kept warm before it is stopped.")
@click.option("--stage", "-s", "sls_stage", help="serverless.yml's ${opt:stage} (default: provider.stage, else dev).")
@click.option("--state-dir", type=click.Path(file_okay=False, path_type=Path),
              help="Keep the account's state (APIs, functions made through the AWS API) across restarts.")
@click.option("--quiet", "-q", is_flag=True, help="No access-log or function-log lines.")
@click.option("--debug", is_flag=True, help="Log the traceback of an unexpected failure (one line without).")
def serve(config_file: Path | None, host: str, port: int, seed: int | None, backend: str | None,
          docker_base: tuple[str, ...], docker_network: str | None, code_mode: str | None,
          max_environments: int, idle_timeout: float, sls_stage: str | None, state_dir: Path | None,
          quiet: bool, debug: bool) -> None:
    """Serve CONFIG_FILE's APIs at http://ADDRESS:PORT/{stage}/{path}, and the AWS API on the same port."""
    from emulator.serve import serve as run_serve
    from emulator.stack import StackOptions

    options = StackOptions(host=host, port=port, seed=seed, backend=backend, access_log=not quiet,
                           function_logs=not quiet, state_dir=state_dir, max_environments=max_environments,
                           idle_timeout=idle_timeout, debug=debug,
                           docker_options=docker_options(docker_base, docker_network, code_mode))
    aio.run(run_serve(config_file, options, err_console, sls_stage))


# ---- split ----------------------------------------------------------------------------------
class GatewayLog:
    """The in-process gateway's execution log during a split: counted, and only its first lines shown."""

    SHOWN = 3

    def __init__(self) -> None:
        self.first: list[str] = []
        self.count = 0

    def add(self, line: str) -> None:
        """Keep a line (the first few only)."""
        self.count += 1
        if len(self.first) < self.SHOWN:
            self.first.append(line)

    def summarize(self, console: Console) -> None:
        """The first lines and how many there were, on stderr."""
        for line in self.first:
            console.print(f"gateway: {line}", markup=False)
        if self.count > len(self.first):
            console.print(f"gateway: ... {self.count - len(self.first)} more execution-log lines (`serve` shows "
                          "them all)", markup=False)

@cli.command()
@click.argument("target")
@click.option("--path", default="/ping", show_default=True, help="Path on the stage to request.")
@click.option("--stage", "-s", help="Stage (config targets; default: the only one).")
@click.option("--host", metavar="NAME", help="Host header, e.g. {apiId}.execute-api.localhost to pick one of several "
              "APIs (default: the URL's host).")
@click.option("--requests", "-n", default=1000, show_default=True, type=click.IntRange(1, 1_000_000),
              help="How many requests to send.")
@click.option("--concurrency", default=8, show_default=True, type=click.IntRange(1, 256),
              help="Requests in flight at once.")
@click.option("--expect", type=click.FloatRange(0, 100), help="Expected canary percent (default: the config's).")
@click.option("--alpha", default=1e-6, show_default=True, type=click.FloatRange(0, 1, min_open=True, max_open=True),
              help="False-failure probability of the verdict (exact binomial test).")
@click.option("--confidence", default=0.95, show_default=True, type=click.FloatRange(0, 1, min_open=True,
                                                                                      max_open=True),
              help="Confidence of the Wilson intervals in the table.")
@click.option("--by", type=click.Choice(["variant", "version", "runtime", "function"]), default=None,
              help="How responses are grouped (default for a config: what differs in the stage's chain; "
                   "for a URL: variant).")
@click.option("--canary-key", help="The group counted as the canary (default: the one off the primary route).")
@click.option("--variant-from", help="URL targets that are not an emulator: body.FIELD or header.NAME.")
@click.option("--canary-pattern", help="With --variant-from: a regex whose match marks the canary.")
@click.option("--seed", type=int, help="Seed the stack's choices (config targets).")
@click.option("--backend", default=None, help="auto, process or docker (config targets).")
@click.option("--allow-errors", is_flag=True, help="Pass even when some requests fail or cannot be classified "
              "(not when every request fails).")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@click.option("--plot", type=click.Path(dir_okay=False, path_type=Path),
              help="Draw the canary share converging inside its band (.png or .html).")
@click.option("--header", "-H", "header", multiple=True, help="'Name: value' sent with every request (repeatable).")
def split(target: str, path: str, stage: str | None, host: str | None, requests: int, concurrency: int,
          expect: float | None, alpha: float, confidence: float, by: str | None, canary_key: str | None,
          variant_from: str | None, canary_pattern: str | None, seed: int | None, backend: str | None,
          allow_errors: bool, as_json: bool,
          plot: Path | None, header: tuple[str, ...]) -> None:
    """Send requests to TARGET (a config file or a URL) and test the canary share; exit 1 when it fails."""
    from rich.progress import Progress

    from emulator import report
    from emulator import split as splitting

    is_url = target.startswith(("http://", "https://"))
    if is_url and by not in (None, "variant") and canary_key is None:
        raise UserError(f"--by {by}: name the canary's group with --canary-key (e.g. a version number or runtime)")
    if is_url and expect is None:
        raise UserError(f"{target}: give --expect PERCENT (the expected share of a URL target is not known here)")
    if plot is not None and plot.suffix.lower() not in (".png", ".html"):
        raise UserError(f"--plot {plot}: use .png or .html")
    headers = splitting.parse_headers(header)
    console = Console()
    gateway_log = GatewayLog()
    with Progress(console=err_console, transient=True, disable=as_json or requests < 200) as progress:
        task = progress.add_task("requests", total=requests)

        def advance(count: int) -> None:
            progress.advance(task, count)

        if is_url:
            classifier = splitting.parse_classifier(variant_from, canary_pattern)
            url = target.rstrip("/") + path
            result = splitting.split_url(url, requests, concurrency, by=by or "variant", classifier=classifier,
                                         progress=advance, host=host, headers=headers)
            result.canary_key = canary_key or "canary"
            expected, reason = expect, None
        else:
            result, plan = splitting.split_config(Path(target), path, requests, concurrency, stage=stage, by=by,
                                                  seed=seed, backend=backend, canary_key=canary_key,
                                                  progress=advance, headers=headers, host=host,
                                                  gateway_log=gateway_log.add)
            expected = expect if expect is not None else plan.expected_percent
            reason = (f"by {plan.by}, canary group {plan.canary_key}, expected {plan.expected_percent:.4g}% from the "
                      f"chain ({plan.reason})")
    assert expected is not None
    outcome = report.split_verdict(result, expected, alpha) if result.n else None
    if as_json:
        click.echo(json.dumps({**report.as_json(result, outcome, confidence, allow_errors), "plan": reason}, indent=2))
    else:
        if reason is not None:
            console.print(f"split {reason}", markup=False, highlight=False)
        report.render(result, outcome, confidence, console, allow_errors)
    if plot is not None:
        from emulator.stats.plot import plot_convergence

        written = plot_convergence(result.outcomes(), expected, 1 - alpha, plot)
        err_console.print(f"plot: {written}")
    gateway_log.summarize(err_console)
    if not report.passed(result, outcome, allow_errors):
        sys.exit(1)


@cli.command()
@click.argument("config_file", type=click.Path(path_type=Path))
@click.argument("url")
@click.option("--path", default="/ping", show_default=True, help="Path on the stage to request, on both sides.")
@click.option("--stage", "-s", help="Local stage (default: the only one).")
@click.option("--host", metavar="NAME", help="Host header on both sides, e.g. {apiId}.execute-api.localhost to pick "
              "one of several APIs.")
@click.option("--requests", "-n", default=500, show_default=True, type=click.IntRange(1, 4000),
              help="How many requests to send to each side.")
@click.option("--concurrency", default=4, show_default=True, type=click.IntRange(1, 64),
              help="Requests in flight at once, per side.")
@click.option("--variant-from", help="Classify the remote side by body.FIELD or header.NAME (not an emulator).")
@click.option("--canary-pattern", help="With --variant-from: a regex whose match marks the canary.")
@click.option("--seed", type=int, help="Seed the local stack's choices (unseeded by default).")
@click.option("--alpha", default=1e-6, show_default=True, type=click.FloatRange(0, 1, min_open=True, max_open=True),
              help="False-failure probability of the split difference test (Fisher exact).")
def compare(config_file: Path, url: str, path: str, stage: str | None, host: str | None, requests: int,
            concurrency: int, variant_from: str | None, canary_pattern: str | None, seed: int | None,
            alpha: float) -> None:
    """Send the same requests to CONFIG_FILE run locally and to URL (a stage); exit 1 on any difference."""
    from emulator import compare as comparing
    from emulator.split import parse_classifier

    local, remote = comparing.compare(config_file, url, path, requests, concurrency, stage=stage,
                                      classifier=parse_classifier(variant_from, canary_pattern), seed=seed,
                                      alpha=alpha, host=host)
    found = comparing.differences(local, remote, alpha)
    console = Console(highlight=False)
    console.print(f"local: {local.total} responses, canary {local.canary}; {url}: {remote.total} responses, "
                  f"canary {remote.canary}")
    for line in found:
        console.print(f"difference: {line}")
    if not found:
        console.print("No differences.")
    sys.exit(1 if found else 0)


def _register_commands() -> None:
    """Commands that live in their own modules."""
    from emulator.deploy_cli import canary_group, deploy_command, plan_command
    from emulator.diff.cli import diff_command
    from emulator.formats_cli import check_command, export_command
    from emulator.images_cli import images
    from emulator.rollout.command import rollout_command
    from emulator.top import top_command

    for command in (images, check_command, export_command, plan_command, deploy_command, canary_group, diff_command,
                    rollout_command, top_command):
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
