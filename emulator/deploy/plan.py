"""What a deploy would do: read the account, compare with the config, change nothing."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from emulator.config import LoadedConfig
from emulator.deploy.changes import PHASES, Plan
from emulator.deploy.reconcile import Reconciler
from emulator.deploy.session import Target


def compute_plan(loaded: LoadedConfig, stage: str, target: Target, *, today: dt.date | None = None,
                 phases: Iterable[str] = PHASES, role: str | None = None) -> Plan:
    """Read the account's state and compute create/update/unchanged actions, calling nothing that changes it."""
    return Reconciler(loaded, stage, target, live=False, today=today, phases=phases, role=role).run()
