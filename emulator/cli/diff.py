"""`lambda-canary diff TARGET`: what changes when the handler moves to the other side of the migration."""

from __future__ import annotations

import json
import sys
from itertools import cycle, islice
from pathlib import Path
from typing import TYPE_CHECKING

import click
from rich.console import Console

from emulator.cli.common import runtime_client_option
from emulator.errors import UserError
from emulator.verify.diff import DEFAULT_CONCURRENCY

if TYPE_CHECKING:
    from emulator.verify.diff.session import DiffSession


DEFAULT_SAVED = "lambda-canary-diff-smallest.jsonl"


def _generate(session: DiffSession, openapi: Path, seed: int, max_examples: int, as_json: bool, html: Path | None,
              saved: Path) -> None:
    """`--generate`: generated requests until a difference, shrunk; the smallest is reported and saved."""
    from emulator.verify.diff import corpus as corpora
    from emulator.verify.diff import report
    from emulator.verify.diff.generate import generate
    from emulator.verify.diff.report import DiffResult
    from emulator.verify.diff.runner import LiveSides, SideRun

    try:
        import schemathesis  # noqa: F401
    except ImportError:
        raise UserError("--generate needs schemathesis: pip install 'lambda-canary[generate]'") from None
    with LiveSides(session.loaded, session.stage, session.sides, session.backend, session.docker_options,
                   session.runtime_client) as live:
        found = generate(live, openapi, session.rules, seed, max_examples)
    console = Console(highlight=False)
    summary = f"generated {found.tried} requests from {openapi} (seed {seed}, at most {max_examples})"
    if found.smallest is None or found.observations is None:
        if as_json:
            click.echo(json.dumps({"passed": True, "generated": found.tried, "seed": seed}, indent=2))
        else:
            console.print(f"{summary}: no difference beyond what the rules allow", markup=False)
        sys.exit(0)
    base, canary = found.observations
    result = DiffResult.build(SideRun(session.sides[0], [base]), SideRun(session.sides[1], [canary]),
                              [found.smallest], session.rules)
    corpora.save_jsonl([found.smallest], saved)
    if as_json:
        click.echo(json.dumps({**report.as_json(result), "generated": found.tried, "seed": seed,
                               "smallest": found.smallest.as_json(),
                               "first": found.first.as_json() if found.first else None, "saved": str(saved)}, indent=2))
    else:
        console.print(f"{summary}; the smallest request that shows a difference: {found.smallest.describe()} "
                      f"(saved to {saved})", markup=False)
        report.render(result, console)
    if html is not None:
        report.write_html(result, html)
    sys.exit(1)


def _runtimes(value: str | None) -> tuple[str, str] | None:
    if value is None:
        return None
    names = [name.strip() for name in value.split(",") if name.strip()]
    if len(names) != 2 or names[0] == names[1]:
        raise UserError(f"--runtimes {value!r}: name two different runtimes, e.g. nodejs18.x,nodejs22.x")
    return names[0], names[1]


@click.command("diff")
@click.argument("target", type=click.Path(path_type=Path))
@click.option("--stage", "-s", help="Stage (default: the only one).")
@click.option("--runtimes", help="Run every function once per runtime instead, e.g. nodejs18.x,nodejs22.x.")
@click.option("--rule", "rules", multiple=True, metavar="RULE",
              help="What may differ: '$.path', 'header:NAME' or 'log:REGEX', or '$.path ~ REGEX' / "
                   "'header:NAME ~ REGEX' (both sides must match); adds to the config's diff: section.")
@click.option("--requests-file", type=click.Path(path_type=Path, dir_okay=False),
              help="Requests, one JSON object a line: {method, path, query, headers, body}.")
@click.option("--har", type=click.Path(path_type=Path, dir_okay=False), help="Requests from a HAR file.")
@click.option("--openapi", type=click.Path(path_type=Path, dir_okay=False),
              help="Requests from an OpenAPI document's examples.")
@click.option("--generate", is_flag=True,
              help="With --openapi: generate requests from its schema (schemathesis, Hypothesis) until one shows a "
                   "difference, then shrink it to the smallest.")
@click.option("--seed", default=0, show_default=True, type=int, help="--generate: the Hypothesis seed.")
@click.option("--max-examples", default=100, show_default=True, type=click.IntRange(1, 100_000),
              help="--generate: at most this many generated requests.")
@click.option("--requests", "-n", "count", type=click.IntRange(1, 1_000_000),
              help="Send this many requests, going round the corpus (default: each request once).")
@click.option("--concurrency", default=DEFAULT_CONCURRENCY, show_default=True, type=click.IntRange(1, 256),
              help="Requests in flight per side; each is still paired with its twin, and the report keeps their order.")
@click.option("--backend", default=None, help="auto, process or docker (default: the config's).")
@runtime_client_option
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@click.option("--html", type=click.Path(path_type=Path, dir_okay=False),
              help="Write an HTML report with each differing request side by side.")
@click.option("--save-differing", type=click.Path(path_type=Path, dir_okay=False),
              help="Write the requests that showed a difference as JSON lines.")
def diff_command(target: Path, stage: str | None, runtimes: str | None, rules: tuple[str, ...],
                 requests_file: Path | None, har: Path | None, openapi: Path | None, generate: bool, seed: int,
                 max_examples: int, count: int | None, concurrency: int,
                 backend: str | None, runtime_client: str, as_json: bool, html: Path | None,
                 save_differing: Path | None) -> None:
    """Send the same requests to both sides of TARGET's migration and report every difference; exit 1 when one
    the rules do not allow remains."""
    from rich.progress import Progress

    from emulator.verify.diff import corpus as corpora
    from emulator.verify.diff import report
    from emulator.verify.diff.session import DiffSession

    if sum(source is not None for source in (requests_file, har, openapi)) > 1:
        raise UserError("give one of --requests-file, --har and --openapi")
    session = DiffSession.open(target, stage, _runtimes(runtimes), rules, backend, runtime_client=runtime_client)
    if generate:
        if openapi is None:
            raise UserError("--generate: name the OpenAPI document with --openapi FILE")
        _generate(session, openapi, seed, max_examples, as_json, html,
                  save_differing or Path(DEFAULT_SAVED))
        return
    if requests_file is not None:
        requests = corpora.load_jsonl(requests_file)
    elif har is not None:
        requests = corpora.load_har(har, session.stage)
    elif openapi is not None:
        requests = corpora.load_openapi_examples(openapi)
    else:
        requests = session.default_corpus()
    if count is not None:
        requests = list(islice(cycle(requests), count))
    err_console = Console(stderr=True)
    with Progress(console=err_console, transient=True, disable=as_json or len(requests) < 50) as progress:
        task = progress.add_task("requests", total=2 * len(requests))
        result = session.run(requests, lambda n: progress.advance(task, n), concurrency)
    if as_json:
        click.echo(json.dumps(report.as_json(result), indent=2))
    else:
        report.render(result, Console(highlight=False))
    if html is not None:
        report.write_html(result, html)
        err_console.print(f"html: {html}")
    if save_differing is not None:
        corpora.save_jsonl([requests[index] for index in result.differing_requests()], save_differing)
    sys.exit(0 if result.passed else 1)


