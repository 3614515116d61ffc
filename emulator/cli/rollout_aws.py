"""`lambda-canary rollout --target aws`: the session opened as `deploy` opens it, the plan printed or run with a
progress bar over the real waits."""

from __future__ import annotations

import time

from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

from emulator.cli.common import print_result
from emulator.cli.deploy import _target, aws_errors
from emulator.config import HooksConfig, LoadedConfig
from emulator.errors import UserError
from emulator.verify.rollout.aws import (
    PROMOTED,
    InterruptedRollout,
    build_plan,
    resolve_alias,
    resolve_stage,
    run_plan,
)
from emulator.verify.rollout.gates import GateSettings
from emulator.verify.rollout.schedule import Step


def run_aws(loaded: LoadedConfig, *, stage: str | None, alias: str | None, schedule: str, steps: tuple[Step, ...],
            settings: GateSettings, alarms: list[str], time_scale: float, dry_run: bool, profile: str | None,
            region: str | None, as_json: bool, hooks: HooksConfig | None) -> int:
    """Plan (and unless `dry_run`, run) the rollout on AWS; the exit code."""
    err = Console(stderr=True, highlight=False, soft_wrap=True)
    if hooks is not None and (hooks.pre_traffic or hooks.post_traffic):
        err.print("note: PreTraffic/PostTraffic hooks run locally only; on AWS CodeDeploy runs them in a SAM "
                  "deployment", markup=False)
    target = _target(profile, region, loaded)
    with aws_errors(target):
        if alias is not None:
            subject = resolve_alias(target.client, alias)
        else:
            apis = list(loaded.config.rest_apis)
            if len(apis) != 1:
                raise UserError(f"{loaded.path}: --target aws rolls out the stage of exactly one REST API "
                                f"(found {len(apis)}); or give --alias FUNCTION:ALIAS")
            stages = list(loaded.config.rest_apis[apis[0]].stages)
            name = stage or (stages[0] if len(stages) == 1 else None)
            if name is None:
                raise UserError(f"{loaded.path}: pick a stage with --stage ({', '.join(stages) or 'none defined'})")
            subject = resolve_stage(target.client, apis[0], name)
        plan = build_plan(subject, steps, schedule, alarms, time_scale)
        if dry_run:
            print_result(plan.as_dict(), plan.lines(), as_json=as_json)
            return 0
        total = sum(seconds for _, _, seconds in plan.waits())
        with Progress(TextColumn("{task.description}"), BarColumn(), TimeRemainingColumn(), console=err,
                      disable=as_json or total < 1, transient=True) as progress:
            task = progress.add_task(f"{plan.subject.kind} {plan.subject.name}", total=total or 1)

            def waiting(step: int, seconds: float) -> None:
                progress.update(task, description=f"step {step} ({plan.steps[step - 1].percent:g}%)")
                deadline = time.monotonic() + seconds
                while (left := deadline - time.monotonic()) > 0:
                    time.sleep(min(left, 0.5))
                    progress.advance(task, min(left, 0.5))

            try:
                report = run_plan(plan, target.client, settings, waiting)
            except InterruptedRollout as stopped:
                state = ("rolled back (the canary is at 0%)" if stopped.rolled_back
                         else f"NOT rolled back ({stopped.rollback_error}): undo it with `lambda-canary canary "
                              "rollback`")
                err.print(f"lambda-canary: the rollout of {plan.subject.kind} {plan.subject.name} stopped after "
                          f"traffic had shifted; {state}", markup=False)
                raise stopped.cause from None
    print_result(report.as_dict(), report.lines(), as_json=as_json)
    return 0 if report.outcome == PROMOTED else 1
