"""The conformance suite: every response AWS gave in the recorded sequences, asked again of a real
`lambda-canary serve` over boto3 and compared placeholder-aware (see snapshot.py and the README's
"Conformance" section). One pytest item per recorded response."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from conformance.harness import REGISTRY, Outcome, Recorded, recorded_keys, run_case, served
from conformance.known import KNOWN_DIFFERENCES, TIMING
from conformance.third_party import sequences_apigateway, sequences_lambda  # noqa: F401 - they register the cases

CASES: list[tuple[Recorded, str]] = [(case, key) for case in REGISTRY for key in recorded_keys(case)]


def _param(case: Recorded, key: str) -> object:
    reason = KNOWN_DIFFERENCES.get((case.case_id, key))
    marks = [pytest.mark.xfail(reason=reason, strict=True)] if reason else []
    if (case.case_id, key) in TIMING:
        marks.append(pytest.mark.skip(reason=TIMING[(case.case_id, key)]))
    return pytest.param(case, key, id=f"{case.case_id}::{key}", marks=marks)


@pytest.fixture(scope="module")
def endpoint(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    log = Path(tmp_path_factory.mktemp("conformance")) / "serve.log"
    with served(log) as url:
        yield url


_OUTCOMES: dict[str, Outcome] = {}


@pytest.mark.parametrize(("case", "key"), [_param(case, key) for case, key in CASES])
def test_recorded_response(case: Recorded, key: str, endpoint: str) -> None:
    outcome = _OUTCOMES.get(case.case_id)
    if outcome is None:
        outcome = _OUTCOMES[case.case_id] = run_case(case, endpoint)
    problems = outcome.problems[key]
    assert not problems, f"{case.case_id} [{key}] differs from AWS's recorded response:\n  " + "\n  ".join(problems)


def test_at_least_200_recorded_cases() -> None:
    assert len(CASES) >= 200, len(CASES)
