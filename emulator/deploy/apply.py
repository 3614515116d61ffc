"""The deploy: plan first (reads only, runtime guard included), then make the planned changes."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from emulator.config import LoadedConfig
from emulator.deploy.changes import PHASES, Plan
from emulator.deploy.errors import DeployFailed
from emulator.deploy.reconcile import Reconciler
from emulator.deploy.session import Target
from emulator.errors import UserError


def deploy(loaded: LoadedConfig, stage: str, target: Target, *, today: dt.date | None = None,
           phases: Iterable[str] = PHASES, role: str | None = None) -> tuple[Plan, Plan]:
    """Deploy `stage` of the config: returns (the plan, what was done).

    The plan runs first and calls nothing that changes the account; a refusal (runtime guard, ownership, version
    numbering) stops the deploy there. With nothing to change, no mutating call is made. A failure midway raises
    DeployFailed listing the completed and the pending changes; running deploy again converges."""
    phases = tuple(phases)
    plan = Reconciler(loaded, stage, target, live=False, today=today, phases=phases, role=role).run()
    if plan.refusals:
        raise UserError(plan.refusals[0].detail)
    if not plan.pending:
        return plan, Plan(plan.target, stage, warnings=list(plan.warnings))
    live = Reconciler(loaded, stage, target, live=True, today=today, phases=phases, role=role)
    try:
        done = live.run()
    except Exception as error:
        explained = target.explain(error)
        reason = explained.message if explained else f"{type(error).__name__}: {error}"
        completed_keys = {change.key for change in live.completed}
        pending = [change.label() for change in plan.pending if change.key not in completed_keys]
        raise DeployFailed(reason, [change.label() for change in live.completed], pending) from error
    done.changes = list(live.completed)
    return plan, done
