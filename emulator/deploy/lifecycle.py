"""The runtime guard: AWS refuses creating or updating functions on a blocked runtime; the emulator warns."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from emulator.config import CanaryConfig
from emulator.errors import UserError
from emulator.runtimes.catalogue import RuntimeSpec, get_runtime


def configured_runtimes(config: CanaryConfig) -> list[str]:
    """Every runtime the config's functions and versions use."""
    found = set()
    for function in config.functions.values():
        found.add(function.runtime)
        found.update(version.runtime for version in function.versions.values() if version.runtime)
    return sorted(found)


def _blocks(spec: RuntimeSpec) -> str:
    return (f"AWS refuses creating {spec.name} functions since {spec.block_create} and updating them since "
            f"{spec.block_update}")


def end_of_support_notes(runtimes: Iterable[str], today: dt.date) -> list[str]:
    """Plain warnings for runtimes past AWS's end of support (deprecation date)."""
    notes = []
    for name in runtimes:
        spec = get_runtime(name)
        if spec.deprecation and today >= spec.deprecation:
            notes.append(f"{name} (Node {spec.major}) is past end of support since {spec.deprecation}: "
                         f"{_blocks(spec)}.")
    return notes


def enforcement_lines(runtimes: Iterable[str], is_aws: bool, today: dt.date) -> list[str]:
    """What the target does with each blocked runtime the config uses."""
    lines = []
    for name in runtimes:
        spec = get_runtime(name)
        if not (spec.blocks_create(today) or spec.blocks_update(today)):
            continue
        if is_aws:
            lines.append(f"{name}: this target enforces AWS's blocks: {_blocks(spec)}; existing, unchanged "
                         f"{name} functions are left alone and keep serving.")
        else:
            lines.append(f"{name}: the emulator allows creating and updating it, with a warning; it stands for a "
                         f"function created before AWS's block ({_blocks(spec)}).")
    return lines


def guard(action: str, function: str, runtime: str, is_aws: bool, today: dt.date,
          current_runtime: str | None = None) -> str | None:
    """Check one create/update of `function` to `runtime`: raise a UserError where AWS would refuse it, or return
    the warning the emulator gives instead (None when nothing is blocked).

    Moving a function off a blocked runtime is allowed, as AWS allows it (only staying on, or returning to, a
    blocked runtime is refused)."""
    spec = get_runtime(runtime)
    blocked = spec.blocks_create(today) if action == "create" else spec.blocks_update(today)
    if not blocked:
        return None
    since = spec.block_create if action == "create" else spec.block_update
    verb, other = ("creating", "updating") if action == "create" else ("updating", "creating")
    other_since = spec.block_update if action == "create" else spec.block_create
    was = f" (now on {current_runtime})" if current_runtime and current_runtime != runtime else ""
    what = f"{action} function {function} on {runtime}{was}"
    if is_aws:
        raise UserError(f"refusing to {what}: AWS blocks {verb} {runtime} functions since {since} (and {other} them "
                        f"since {other_since}); move it to a supported runtime such as nodejs22.x, or leave its code "
                        "and configuration as deployed")
    return (f"warning: {what}: AWS has blocked {verb} {runtime} functions since {since}; the emulator allows it, "
            "standing for a function created before the block")
