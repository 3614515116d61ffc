"""Requests generated from an OpenAPI schema by schemathesis (Hypothesis strategies per operation), sent to both
sides until one shows a difference the rules do not allow; Hypothesis then shrinks it to the smallest request that
still shows it. Seeded (`seed`) and bounded (`max_examples`), so a run can be repeated exactly."""

from __future__ import annotations

import contextlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from emulator.errors import UserError
from emulator.verify.diff.compare import Difference, Observation, compare
from emulator.verify.diff.corpus import DiffRequest
from emulator.verify.diff.runner import LiveSides


class DifferenceFound(AssertionError):
    """A generated request showed a difference (what Hypothesis shrinks)."""


@dataclass
class Generated:
    """How many requests were tried, and the smallest one that showed a difference (with both sides' answers)."""

    tried: int = 0
    first: DiffRequest | None = None  # the first request that showed a difference, before shrinking
    smallest: DiffRequest | None = None
    observations: tuple[Observation, Observation] | None = None
    differences: list[Difference] = field(default_factory=list)


def _strategy(openapi: Path) -> Any:
    import schemathesis
    from hypothesis import strategies as st
    from schemathesis.core.result import Ok

    try:
        schema = schemathesis.openapi.from_path(str(openapi))
        results = list(schema.get_all_operations())
    except Exception as error:  # schemathesis reports a bad document with its own exception types
        raise UserError(f"{openapi}: not an OpenAPI document schemathesis can read ({error})") from None
    operations = [result.ok() for result in results if isinstance(result, Ok)]
    unreadable = [result.err() for result in results if not isinstance(result, Ok)]
    if unreadable:  # an operation schemathesis cannot build requests for (e.g. a $ref to nothing)
        raise UserError(f"{openapi}: an operation schemathesis cannot read ({unreadable[0]})")
    if not operations:
        raise UserError(f"{openapi}: no operations in it")
    return st.one_of(*(operation.as_strategy() for operation in operations))


def request_from_case(case: Any) -> DiffRequest:
    """A schemathesis Case as a DiffRequest (query values as text, lists repeated, JSON bodies encoded)."""
    query: list[tuple[str, str]] = []
    for name, value in (case.query or {}).items():
        for item in value if isinstance(value, list) else [value]:
            query.append((str(name), _text(item)))
    headers = tuple((str(name), _text(value)) for name, value in (case.headers or {}).items())
    body = b""
    if case.body is not None and type(case.body).__name__ != "NotSet":
        body = case.body if isinstance(case.body, bytes) else json.dumps(case.body).encode()
        headers = (*headers, ("Content-Type", case.media_type or "application/json"))
    return DiffRequest(case.method.upper(), case.formatted_path, tuple(query), headers, body)


def _text(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return value if isinstance(value, str) else json.dumps(value)


def generate(live: LiveSides, openapi: Path, rules: Any, seed: int, max_examples: int) -> Generated:
    """Send generated requests to both sides; on a difference, let Hypothesis shrink it and keep the smallest."""
    from hypothesis import HealthCheck, Phase, Verbosity, given, settings
    from hypothesis import seed as with_seed
    from hypothesis.errors import Flaky

    found = Generated()

    @with_seed(seed)
    @settings(max_examples=max_examples, database=None, deadline=None, derandomize=False, print_blob=False,
              suppress_health_check=list(HealthCheck), phases=(Phase.generate, Phase.shrink),
              verbosity=Verbosity.quiet, report_multiple_bugs=False)
    @given(_strategy(openapi))
    def probe(case: Any) -> None:
        request = request_from_case(case)
        base, canary = live.observe(request)
        found.tried += 1
        differences = [d for d in compare(0, base, canary, rules) if d.allowed_by is None]
        if differences:
            found.first = found.first or request
            found.smallest, found.observations, found.differences = request, (base, canary), differences
            raise DifferenceFound(request.describe())

    # the last failing run is Hypothesis's replay of the smallest example (or, if flaky, the last one seen)
    with contextlib.suppress(DifferenceFound, Flaky):
        probe()
    return found
