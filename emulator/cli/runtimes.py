"""`lambda-canary runtimes list|install|use`: the Node releases of the Lambda runtimes."""

from __future__ import annotations

from pathlib import Path

import click

from emulator.cli.common import err_console


@click.group()
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


@runtimes.command("install-client")
@click.argument("client", type=click.Choice(["aws"]))
def runtimes_install_client(client: str) -> None:
    """Build AWS's own Node runtime interface client (npm aws-lambda-ric) for --runtime-client aws."""
    from emulator.runtimes.aws_client import install

    del client  # the only other client, lambda-canary's, ships with lambda-canary
    install(err_console)


@runtimes.command("use")
@click.argument("name")
@click.argument("node", type=click.Path(path_type=Path))
def runtimes_use(name: str, node: Path) -> None:
    """Point a runtime at a node binary you already have (its major must match)."""
    from emulator.runtimes.provision import link_node

    version = link_node(name, node)
    err_console.print(f"{name}: using {node} ({version})")
