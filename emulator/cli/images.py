"""`lambda-canary images`: build function images ahead of time, and offline stand-ins of the base images.
"""

from __future__ import annotations

from pathlib import Path

import click
from rich.console import Console

from emulator.errors import UserError

DEFAULT_CONFIG = "canary.yaml"
_console = Console(stderr=True, highlight=False, soft_wrap=True)
_stdout = Console(highlight=False, soft_wrap=True)


def parse_bases(values: tuple[str, ...] | list[str]) -> dict[str, str]:
    """`RUNTIME=IMAGE` pairs -> {runtime: image}; the runtime must be in the catalogue."""
    from emulator.runtimes.catalogue import get_runtime

    bases: dict[str, str] = {}
    for value in values:
        runtime, equals, image = value.partition("=")
        if not equals or not runtime or not image:
            raise UserError(f"--docker-base {value!r}: expected RUNTIME=IMAGE, "
                            "e.g. nodejs18.x=lambda-canary-standin/nodejs:18")
        get_runtime(runtime)
        bases[runtime] = image
    return bases


images = click.Group("images", help="Container images for the docker backend.")


@images.command("build")
@click.argument("config_file", required=False, default=DEFAULT_CONFIG, type=click.Path(path_type=Path))
@click.option("--docker-base", "--base", "bases", multiple=True, metavar="RUNTIME=IMAGE",
              help="Base image of a runtime instead of public.ecr.aws/lambda/nodejs (repeatable).")
@click.option("--function", "-f", "functions", multiple=True, help="Only this function (repeatable).")
def images_build(config_file: Path, bases: tuple[str, ...], functions: tuple[str, ...]) -> None:
    """Build the function images of every function (and version) in CONFIG_FILE; unchanged ones are kept."""
    from emulator.formats.load import load_config
    from emulator.lambda_service.backends.docker import DockerOptions, open_client
    from emulator.lambda_service.backends.images import build_function_image, engine_platform
    from emulator.lambda_service.handler_check import require_handler_file
    from emulator.lambda_service.loader import records_from_config

    loaded = load_config(config_file)
    unknown = [name for name in functions if name not in loaded.config.functions]
    if unknown:
        raise UserError(f"{config_file}: no function {unknown[0]!r} (functions: {', '.join(loaded.config.functions)})")
    options = DockerOptions.parse({"base_images": parse_bases(bases)})
    client = open_client(options)
    try:
        platform = engine_platform(client)
        for record in records_from_config(loaded):
            if functions and record.name not in functions:
                continue
            for version in [record.latest, *record.versions.values()]:
                require_handler_file(version.code_dir, version.handler, f"{config_file}: {record.name}")
                base = options.base_image(version.runtime.name)
                image = build_function_image(client, version, base, _console, platform)
                state = f"built in {image.seconds:.1f} s" if image.built else "up to date"
                _stdout.print(f"{record.name} {version.version} ({version.runtime.name} on {base}): {image.tag} "
                              f"[{state}]", markup=False)
    finally:
        client.close()


@images.command("standin")
@click.argument("runtimes", nargs=-1)
@click.option("--force", is_flag=True, help="Rebuild even when the image's content is unchanged.")
def images_standin(runtimes: tuple[str, ...], force: bool) -> None:
    """Build offline stand-ins of public.ecr.aws/lambda/nodejs for RUNTIMES (default: all)."""
    from emulator.lambda_service.backends.docker import DockerOptions, open_client
    from emulator.lambda_service.backends.standin import build_standins
    from emulator.runtimes.catalogue import catalogue, get_runtime

    names = list(runtimes) or list(catalogue())
    for name in names:
        get_runtime(name)
    client = open_client(DockerOptions())
    try:
        built = build_standins(client, names, _console, force=force)
    finally:
        client.close()
    for image in built:
        state = f"built in {image.seconds:.1f} s" if image.built else "up to date"
        _stdout.print(f"{image.runtime}: {image.tag} (Node {image.node}, stands in for "
                      f"{get_runtime(image.runtime).image}) [{state}]", markup=False)
    flags = " ".join(f"--docker-base {image.runtime}={image.tag}" for image in built)
    _console.print(f"use them with: lambda-canary serve FILE --backend docker {flags} (or images build {flags})")
