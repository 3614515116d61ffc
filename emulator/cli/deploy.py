"""`lambda-canary plan`, `deploy` and `canary set|promote|rollback|status`: the config on AWS through boto3."""

from __future__ import annotations

import datetime as dt
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import click
from botocore.exceptions import BotoCoreError, ClientError
from rich.console import Console
from rich.table import Table
from rich.text import Text

from emulator.config import LoadedConfig
from emulator.deploy import canary as ops
from emulator.deploy.apply import deploy
from emulator.deploy.changes import Change, Plan
from emulator.deploy.errors import DeployFailed, explain
from emulator.deploy.lifecycle import configured_runtimes, end_of_support_notes, enforcement_lines
from emulator.deploy.plan import compute_plan
from emulator.deploy.session import Target, open_target
from emulator.errors import UserError
from emulator.formats.load import load_config

F = TypeVar("F", bound=Callable[..., Any])
STYLES = {"create": "green", "update": "yellow", "delete": "red", "refused": "bold red", "unchanged": "dim"}


def _console() -> Console:
    return Console(highlight=False, soft_wrap=True, markup=False)


@contextmanager
def aws_errors(target: Target | None = None) -> Iterator[None]:
    """boto3/botocore failures as one-line UserErrors (credentials, permissions, unreachable endpoint)."""
    try:
        yield
    except (ClientError, BotoCoreError) as error:
        explained = target.explain(error) if target else explain(error)
        raise (explained or UserError(str(error))) from None


def _aws_options(function: F) -> F:
    function = click.option("--region", help="AWS region (default: the profile's, AWS_REGION, else the config's).")(
        function)
    return click.option("--profile", help="AWS profile (default: AWS_PROFILE / the default chain).")(function)


def _target(profile: str | None, region: str | None, loaded: LoadedConfig | None) -> Target:
    defaults = {"default_region": loaded.config.region, "default_account": loaded.config.account_id} if loaded else {}
    return open_target(profile, region, **defaults)


def print_preamble(console: Console, loaded: LoadedConfig, today: dt.date) -> None:
    """Before any AWS call: the runtimes past end of support."""
    for note in end_of_support_notes(configured_runtimes(loaded.config), today):
        console.print(f"Note: {note}")


def print_target(console: Console, target: Target, loaded: LoadedConfig, today: dt.date) -> None:
    """The target and what it enforces."""
    console.print(f"Target: {target.describe()}")
    for line in enforcement_lines(configured_runtimes(loaded.config), target.is_aws, today):
        console.print(f"  {line}")


def render_changes(console: Console, changes: list[Change], title: str) -> None:
    """A rich table of changes."""
    table = Table(title=title, title_justify="left")
    table.add_column("action", no_wrap=True)
    table.add_column("kind", no_wrap=True)
    table.add_column("name", overflow="fold")
    table.add_column("detail", overflow="fold")
    for change in changes:
        style = STYLES.get(change.action, "")
        table.add_row(Text(change.action, style=style), change.kind, change.name, change.detail)
    console.print(table)


def render_plan(console: Console, plan: Plan) -> None:
    """The plan's table, its warnings and a summary line (`No changes.` when nothing would change)."""
    render_changes(console, plan.changes, f"Plan for stage {plan.stage}")
    for warning in plan.warnings:
        console.print(warning if warning.startswith("warning:") else f"warning: {warning}")
    for refusal in plan.refusals:
        console.print(f"deploy would refuse: {refusal.detail}")
    if plan.empty:
        console.print("No changes.")
        return
    counts = {action: sum(1 for change in plan.changes if change.action == action)
              for action in ("create", "update", "delete", "unchanged")}
    console.print(", ".join(f"{count} to {action}" if action != "unchanged" else f"{count} unchanged"
                            for action, count in counts.items()))


@click.command("plan")
@click.argument("config_file", type=click.Path(path_type=Path))
@click.option("--stage", "-s", required=True, help="The stage to deploy.")
@_aws_options
def plan_command(config_file: Path, stage: str, profile: str | None, region: str | None) -> None:
    """Show what `deploy` would create, update or leave alone; changes nothing. Exit 1 when deploy would refuse."""
    console, today = _console(), dt.date.today()
    loaded = load_config(config_file, stage=stage)
    print_preamble(console, loaded, today)
    target = _target(profile, region, loaded)
    print_target(console, target, loaded, today)
    with aws_errors(target):
        plan = compute_plan(loaded, stage, target, today=today)
    render_plan(console, plan)
    if plan.refusals:
        sys.exit(1)  # a plan that `deploy` would refuse fails, as a verdict (exit 1), like a failing split


@click.command("deploy")
@click.argument("config_file", type=click.Path(path_type=Path))
@click.option("--stage", "-s", required=True, help="The stage to deploy.")
@click.option("--role", help="Execution role ARN for new functions (default: lambda-canary-execution, made once).")
@_aws_options
def deploy_command(config_file: Path, stage: str, role: str | None, profile: str | None, region: str | None) -> None:
    """Create or update the functions, the REST API, permissions, deployments and the stage."""
    console, today = _console(), dt.date.today()
    loaded = load_config(config_file, stage=stage)
    print_preamble(console, loaded, today)
    target = _target(profile, region, loaded)
    print_target(console, target, loaded, today)
    try:
        with aws_errors(target):
            _plan, done = deploy(loaded, stage, target, today=today, role=role)
    except DeployFailed as failed:
        console.print("Completed before the failure:")
        for line in failed.completed or ["(nothing)"]:
            console.print(f"  done: {line}")
        console.print("Not done:")
        for line in failed.pending:
            console.print(f"  pending: {line}")
        raise
    for warning in done.warnings:
        console.print(warning if warning.startswith("warning:") else f"warning: {warning}")
    if not done.changes:
        console.print("No changes.")
        return
    render_changes(console, done.changes, f"Deployed stage {stage}")
    console.print(f"{len(done.changes)} changes made.")


# ---- canary ---------------------------------------------------------------------------------
def _canary_options(function: F) -> F:
    function = _aws_options(function)
    function = click.option("--stage", "-s", help="The stage (with --api or --config).")(function)
    function = click.option("--alias", "alias", help="A weighted Lambda alias instead: FUNCTION:ALIAS.")(function)
    function = click.option("--config", "-c", "config_file", type=click.Path(path_type=Path),
                            help="Config file naming the API (and the canary's deployment and overrides).")(function)
    return click.option("--api", "api_name", help="REST API name.")(function)


class Subject:
    """What a canary command acts on: a stage, or a weighted alias."""

    def __init__(self, api_name: str | None, config_file: Path | None, alias: str | None, stage: str | None,
                 profile: str | None, region: str | None) -> None:
        self.loaded = load_config(config_file) if config_file else None
        self.target = _target(profile, region, self.loaded)
        self.alias = ops.AliasRef.parse(alias) if alias else None
        self.stage: ops.StageRef | None = None
        if self.alias is None:
            if not stage:
                raise UserError("--stage NAME is needed with --api or --config")
            with aws_errors(self.target):
                self.stage = ops.resolve_stage(self.target, stage, api_name, self.loaded)


@click.group("canary")
def canary_group() -> None:
    """Shift traffic on a deployed stage's canary (or a weighted alias): set, promote, roll back, status."""


@canary_group.command("set")
@click.argument("percent", type=float)
@click.option("--version", "version", help="With --alias: the extra version (default: the alias's or config's).")
@_canary_options
def canary_set(percent: float, version: str | None, **options: Any) -> None:
    """Send PERCENT of requests to the canary (0..100)."""
    subject = Subject(**options)
    console = _console()
    with aws_errors(subject.target):
        if subject.alias:
            ops.set_alias_weight(subject.target, subject.alias, percent, version, subject.loaded)
            console.print(f"{subject.alias.function}:{subject.alias.alias}: {percent:g}% to the extra version")
            return
        assert subject.stage is not None
        for note in ops.set_percent(subject.target, subject.stage, percent, subject.loaded):
            console.print(f"note: {note}")
    console.print(f"{subject.stage.api_name} {subject.stage.stage}: canary at {percent:g}%")


@canary_group.command("promote")
@_canary_options
def canary_promote(**options: Any) -> None:
    """Make the canary the stage's deployment and variables (then remove it); with --alias, the extra version."""
    subject = Subject(**options)
    console = _console()
    with aws_errors(subject.target):
        if subject.alias:
            result = ops.promote_alias(subject.target, subject.alias)
            console.print(f"{subject.alias.function}:{subject.alias.alias} now on version {result['FunctionVersion']}; "
                          "`canary rollback` restores the previous version and weights")
            return
        assert subject.stage is not None
        stage = ops.promote(subject.target, subject.stage)
    console.print(f"{subject.stage.api_name} {subject.stage.stage}: promoted; deployment {stage['deploymentId']}, "
                  f"variables {stage.get('variables') or {}}; `canary rollback` restores the previous ones")


@canary_group.command("rollback")
@_canary_options
def canary_rollback(**options: Any) -> None:
    """Remove a live canary (or clear an alias's weights); after a promotion, restore the previous deployment and
    variables (or the alias's previous version and weights)."""
    subject = Subject(**options)
    console = _console()
    with aws_errors(subject.target):
        if subject.alias:
            message = ops.rollback_alias(subject.target, subject.alias)
            console.print(f"{subject.alias.function}:{subject.alias.alias}: {message}")
            return
        assert subject.stage is not None
        message = ops.rollback(subject.target, subject.stage)
    console.print(f"{subject.stage.api_name} {subject.stage.stage}: {message}")


def pairs(values: dict[str, str]) -> str:
    """`a=1, b=2`, or `-` when empty."""
    return ", ".join(f"{key}={value}" for key, value in sorted(values.items())) or "-"


@canary_group.command("status")
@_canary_options
def canary_status(**options: Any) -> None:
    """Base deployment, variables, canary share and overrides, and what functions each side resolves to."""
    subject = Subject(**options)
    console = _console()
    with aws_errors(subject.target):
        if subject.alias:
            table = Table("version", "share", "runtime", title=f"alias {subject.alias.function}:{subject.alias.alias}",
                          title_justify="left")
            for version, percent, runtime in ops.alias_status(subject.target, subject.alias):
                table.add_row(version, f"{percent:g}%", runtime)
            console.print(table)
            return
        assert subject.stage is not None
        sides = ops.stage_status(subject.target, subject.stage)
    table = Table("", *(side.name for side in sides), title=f"{subject.stage.api_name} {subject.stage.stage} "
                  f"({subject.stage.api_id})", title_justify="left")
    table.add_row("share", *(f"{side.percent:g}%" for side in sides))
    table.add_row("deployment", *(f"{side.deployment_id} {side.deployment}".strip() for side in sides))
    table.add_row("variables (merged)" if len(sides) > 1 else "variables", *(pairs(side.variables) for side in sides))
    if len(sides) > 1:
        table.add_row("overrides", "-", pairs(sides[1].overrides))
    for label in sides[0].targets:
        table.add_row(label, *(side.targets[label] for side in sides))
    for column in table.columns:
        column.overflow = "fold"
    console.print(table)
    if len(sides) == 1:
        console.print("no canary: every request goes to the stable side")
