"""`lambda-canary check` and `lambda-canary export`."""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

import click

from emulator.errors import UserError


def _fail(error: UserError) -> None:
    click.echo(f"lambda-canary: error: {error.message}", err=True)
    sys.exit(error.exit_code)


def write_atomically(path: Path, text: str) -> None:
    """Write through a temporary file in the same folder and rename it into place."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            stream.write(text)
            stream.flush()
            os.fsync(stream.fileno())
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(temporary, 0o666 & ~umask)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def _thrown_on_test_events(file: Path) -> dict[str, list[str]] | None:
    """A lambda-canary config's functions with `testEvents`, invoked with each: the errors they threw (None for
    other formats, or when no function has testEvents)."""
    import asyncio

    from emulator.formats.load import detect_format, load_config
    from emulator.invoke import thrown_on_test_events

    try:
        if not file.is_file() or detect_format(file) != "lambda-canary":
            return None
        loaded = load_config(file)
    except UserError:
        return None  # check reports what is wrong with the file
    if not any(function.test_events for function in loaded.config.functions.values()):
        return None
    thrown = asyncio.run(thrown_on_test_events(loaded, None, lambda line: click.echo(line, err=True)))
    count = sum(len(function.test_events) for function in loaded.config.functions.values())
    click.echo(f"note: ran {count} test event(s) of {', '.join(sorted(thrown))} to check selection patterns",
               err=True)
    return thrown


@click.command("check")
@click.argument("file", type=click.Path(path_type=Path))
@click.option("--stage", "-s", help="Stage for serverless.yml `${opt:stage}` (default: provider.stage, else dev).")
@click.option("--functions", "functions_file", type=click.Path(path_type=Path),
              help="Companion config with the functions of an OpenAPI document (default: <stem>.functions.yaml).")
@click.option("--ack", "acknowledge", multiple=True, metavar="CODE[:SUBJECT]",
              help="Do not report this finding (repeatable); files can list them too (see docs).")
def check_command(file: Path, stage: str | None, functions_file: Path | None, acknowledge: tuple[str, ...]) -> None:
    """Find what AWS would reject, or silently misroute, in FILE (canary.yaml, serverless.yml, a CloudFormation/SAM
    template, an OpenAPI export, or a shell script of update-stage calls). One line per finding; exit 1 when there
    are findings, 0 when clean, 2 when FILE cannot be read."""
    from emulator.formats.check import run_check

    try:
        thrown = _thrown_on_test_events(file)
        report = run_check(file, stage=stage, functions=functions_file, acknowledge=acknowledge, thrown=thrown)
    except UserError as error:
        _fail(error)
        return
    for finding in report.findings:
        click.echo(finding.format())
    for note in report.notes:
        click.echo(f"note: {note}", err=True)
    if report.acknowledged:
        names = ", ".join(sorted({f"{item.code}:{item.subject}" if item.subject else item.code
                                  for item in report.acknowledged}))
        click.echo(f"acknowledged (not reported): {names}", err=True)
    if report.findings:
        click.echo(f"{file}: {len(report.findings)} finding(s)", err=True)
        sys.exit(1)
    click.echo(f"{file}: no findings", err=True)


@click.command("export")
@click.argument("file", type=click.Path(path_type=Path))
@click.option("--format", "format_", required=True, type=click.Choice(["cloudformation", "openapi"]),
              help="cloudformation: a deployable template; openapi: API Gateway's import format (+ companion).")
@click.option("--output", "-o", type=click.Path(path_type=Path),
              help="Write here (atomically) instead of stdout; openapi also writes <stem>.functions.yaml beside it.")
@click.option("--stage", "-s", help="Stage for serverless.yml `${opt:stage}`.")
@click.option("--functions", "functions_file", type=click.Path(path_type=Path),
              help="Companion config when FILE is an OpenAPI document.")
@click.option("--api", help="Which API to export as OpenAPI when FILE has several.")
def export_command(file: Path, format_: str, output: Path | None, stage: str | None, functions_file: Path | None,
                   api: str | None) -> None:
    """Export FILE (any format `serve` reads) as a CloudFormation template or an OpenAPI 3 document."""
    from emulator.formats.export import export
    from emulator.formats.load import load_any

    try:
        loaded = load_any(file, stage=stage, functions=functions_file)
        base = output.resolve().parent if output else loaded.base_dir
        notes: list[str] = []
        text = export(loaded, format_, relative_to=base, api=api, notes=notes)
        companion = None
        if format_ == "openapi":
            companion = export(loaded, "functions", relative_to=base, api=api, notes=notes)
    except UserError as error:
        _fail(error)
        return
    for item in loaded.unsupported:
        click.echo(f"not carried over from {file.name}: {item}", err=True)
    for note in notes:
        click.echo(f"note: {note}", err=True)
    if output is None:
        sys.stdout.write(text)
        if companion is not None:
            click.echo("note: the functions and stages of an OpenAPI export go in a companion file; use -o to "
                       "write it", err=True)
        return
    write_atomically(output, text)
    click.echo(f"wrote {output}", err=True)
    if companion is not None:
        companion_file = output.with_name(f"{output.stem}.functions.yaml")
        write_atomically(companion_file, companion)
        click.echo(f"wrote {companion_file}", err=True)
