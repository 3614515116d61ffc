"""`lambda-canary rollout FILE --stage S`: a schedule of canary weights with health gates, rehearsed locally."""

from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import Any

import click
from rich.console import Console

from emulator.cli.common import print_result
from emulator.errors import UserError
from emulator.verify.rollout.gates import GateSettings
from emulator.verify.rollout.schedule import DEFAULT, PREFERENCES, Step, custom_steps, preference_name, steps_of

TRAFFIC = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(?:/s)?\s*$")


def parse_traffic(text: str) -> float:
    """`10/s` or `10` -> 10.0 requests per simulated second."""
    match = TRAFFIC.match(text)
    if match is None or float(match.group(1)) <= 0:
        raise UserError(f"--traffic {text!r}: give requests per second, e.g. --traffic 10/s")
    return float(match.group(1))


def choose_schedule(name: str | None, rollout: object | None) -> tuple[str, tuple[Step, ...]]:
    """`--schedule NAME`, else the config's `rollout.steps` or `rollout.schedule`, else SAM's default."""
    if name is not None:
        if preference_name(name) is None:
            raise UserError(f"--schedule {name!r}: use one of {', '.join(PREFERENCES)}")
        return preference_name(name) or name, steps_of(name)
    steps = getattr(rollout, "steps", None)
    if steps:
        return "rollout.steps", custom_steps([(step.percent, step.minutes) for step in steps])
    configured = getattr(rollout, "schedule", None) or DEFAULT
    return preference_name(configured) or configured, steps_of(configured)


def preference_for(config: Any, alias: str | None) -> Any:
    """The function's SAM DeploymentPreference when `--alias FUNCTION:ALIAS` names its AutoPublishAlias."""
    if alias is None:
        return None
    function_name, _, alias_name = alias.partition(":")
    function = config.functions.get(function_name)
    if function is None or function.deployment_preference is None or not function.deployment_preference.enabled:
        return None
    return function.deployment_preference if function.auto_publish_alias == alias_name else None


def gate_settings(rollout: object | None) -> GateSettings:
    """The config's thresholds, or the defaults."""
    if rollout is None:
        return GateSettings()
    return GateSettings(significance=rollout.significance,  # type: ignore[attr-defined]
                        max_error_rate_increase=rollout.max_error_rate_increase,  # type: ignore[attr-defined]
                        max_latency_ratio=rollout.max_latency_ratio,  # type: ignore[attr-defined]
                        min_requests=rollout.min_requests)  # type: ignore[attr-defined]


@click.command("rollout")
@click.argument("config_path", metavar="FILE", type=click.Path(path_type=Path))
@click.option("--stage", "-s", default=None,
              help="The stage whose canary is rolled out (default: the only one).")
@click.option("--alias", "alias", default=None, metavar="FUNCTION:ALIAS",
              help="Roll out a weighted alias's additional version instead of the stage canary.")
@click.option("--schedule", default=None,
              help=f"A SAM DeploymentPreference type ({', '.join(PREFERENCES)}); default: the config's "
                   f"rollout:, else {DEFAULT}.")
@click.option("--traffic", default="10/s", show_default=True, help="Generated requests per simulated second.")
@click.option("--path", "request_path", default=None, help="Path requested (default: the first GET resource).")
@click.option("--corpus", "corpus", default=None, type=click.Path(path_type=Path),
              help="Send these requests in turn instead (a diff corpus: JSON lines, HAR, or OpenAPI examples).")
@click.option("--header", "-H", "headers", multiple=True, help="'Name: value' sent with every request (repeatable).")
@click.option("--concurrency", default=4, show_default=True, type=click.IntRange(1, 256),
              help="Requests in flight at once.")
@click.option("--seed", type=int, default=None, help="Seed the stack's canary choices.")
@click.option("--backend", default=None, help="auto, process or docker (default: the config's, else auto).")
@click.option("--target", "target", type=click.Choice(["local", "aws"]), default="local", show_default=True,
              help="local: rehearse on the emulator serving FILE; aws: move the deployed stage canary or alias "
                   "through boto3 (credentials and endpoint as for deploy).")
@click.option("--dry-run", is_flag=True, help="With --target aws: print the plan of AWS calls and stop.")
@click.option("--time-scale", type=click.FloatRange(min=0, min_open=True), default=1.0, show_default=True,
              help="With --target aws: real seconds per scheduled second (0.01: a 5-minute step waits 3 s).")
@click.option("--profile", default=None, help="With --target aws: AWS profile (default: the default chain).")
@click.option("--region", default=None, help="With --target aws: AWS region (default: the profile's, else the "
                                              "config's).")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@click.option("--plot", "plot_path", default=None, type=click.Path(path_type=Path),
              help="Draw the report (weight over time, each step's metrics and gates) to a .png or .html.")
def rollout_command(config_path: Path, stage: str | None, alias: str | None, schedule: str | None, traffic: str,
                    request_path: str | None, corpus: Path | None, headers: tuple[str, ...], concurrency: int,
                    seed: int | None,
                    backend: str | None, target: str, dry_run: bool, time_scale: float, profile: str | None,
                    region: str | None, as_json: bool, plot_path: Path | None) -> None:
    """Move the stage canary through a schedule, judging canary against base at each step; exit 0 when promoted,
    1 when a gate rolled it back."""
    from emulator.formats.load import load_config
    from emulator.verify.rollout.local import PROMOTED, run_local

    rate = parse_traffic(traffic)
    header_map: dict[str, str] = {}
    for value in headers:
        name, colon, text = value.partition(":")
        if not colon or not name.strip():
            raise UserError(f"--header {value!r}: write NAME: VALUE")
        header_map[name.strip()] = text.strip()
    if request_path is not None and corpus is not None:
        raise UserError("give --path or --corpus, not both")
    if request_path is not None and not request_path.startswith("/"):
        raise UserError(f"--path {request_path!r}: start it with /")
    loaded = load_config(config_path, stage=stage)
    rollout = loaded.config.rollout
    preference = preference_for(loaded.config, alias)
    if preference is not None and schedule is None and not (rollout and rollout.steps):
        schedule = preference.type
    name, steps = choose_schedule(schedule, rollout)
    hooks = preference.hooks if preference is not None else (rollout.hooks if rollout else None)
    err = Console(stderr=True, highlight=False)
    if target == "aws" or dry_run:
        if target != "aws":
            raise UserError("--dry-run plans the AWS calls of --target aws; give --target aws")
        alarms = list(preference.alarms) if preference is not None else (list(rollout.alarms) if rollout else [])
        from emulator.cli.rollout_aws import run_aws

        sys.exit(run_aws(loaded, stage=stage, alias=alias, schedule=name, steps=steps,
                         settings=gate_settings(rollout), alarms=alarms, time_scale=time_scale, dry_run=dry_run,
                         profile=profile, region=region, as_json=as_json, hooks=hooks))
    report = run_local(loaded, stage_name=stage, schedule=name, steps=steps, settings=gate_settings(rollout),
                       traffic=rate, path=request_path, concurrency=concurrency, seed=seed, backend=backend,
                       headers=header_map or None, alias=alias, progress=None if as_json else err.print,
                       hooks=hooks, hook_timeout=rollout.hook_timeout if rollout else 60.0, corpus=corpus)
    if plot_path is not None:
        from emulator.verify.rollout.plot import plot_rollout

        written = plot_rollout(report.as_dict(), plot_path)
        err.print(f"plot: {written}")
    print_result(report.as_dict(), report.lines(), as_json=as_json)
    sys.exit(0 if report.outcome == PROMOTED else 1)
