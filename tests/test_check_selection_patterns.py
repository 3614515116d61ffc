"""`check` against the errors functions throw in their tests (issue 16, point 4).

"Its tests" are a function's `testEvents` in a lambda-canary config: events as the function receives them (what the
request template renders). `lambda-canary check` invokes the function with each (real Node, the config's backend),
and reports each selectionPattern of a non-proxy integration reaching that function (any stage or canary) that
matches none of the errorMessages thrown. AWS matches the whole errorMessage (Java's String.matches:
https://docs.aws.amazon.com/apigateway/latest/developerguide/handle-errors-in-lambda-integration.html), so
`Not found` does not select `Not found: 0`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from click.testing import CliRunner

from emulator.cli.formats import check_command
from emulator.formats.check import CODES, SELECTION_NOTE, run_check

REPO = Path(__file__).resolve().parent.parent
EXAMPLE = REPO / "examples" / "nonproxy-authorizer" / "canary.yaml"


def _copy(tmp_path: Path, pattern: str | None = None, events: bool = True) -> Path:
    data: dict[str, Any] = yaml.safe_load(EXAMPLE.read_text())
    for function in data["functions"].values():
        function["code"] = str(EXAMPLE.parent)
        if not events:
            function.pop("testEvents", None)
    if pattern is not None:
        responses = data["restApis"]["pets-api"]["resources"]["/pets/{id}"]["GET"]["integration"][
            "integrationResponses"]
        responses["404"]["selectionPattern"] = pattern
    path = tmp_path / "canary.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def test_the_example_s_pattern_matches_what_its_test_events_throw() -> None:
    """examples/nonproxy-authorizer: pets-stable and pets-canary throw `Not found: 0` on their second test event,
    which `Not found.*` selects; check runs the four events and finds nothing."""
    result = CliRunner().invoke(check_command, [str(EXAMPLE)])
    assert result.exit_code == 0, result.output
    assert "ran 4 test event(s) of pets-canary, pets-stable to check selection patterns" in result.output


def test_a_pattern_that_matches_no_thrown_error_is_reported_for_each_function(tmp_path: Path) -> None:
    """`Not found` (no `.*`) matches no whole errorMessage: one finding per function the integration reaches (the
    stage's and the canary's), at the pattern's line, naming the integration, the pattern and what was thrown."""
    path = _copy(tmp_path, "Not found")
    result = CliRunner().invoke(check_command, [str(path)])
    assert result.exit_code == 1, result.output
    lines = [line for line in result.output.splitlines() if "selectionPattern" in line]
    line_number = next(number for number, text in enumerate(path.read_text().splitlines(), 1)
                       if "selectionPattern" in text)
    assert len(lines) == 2, result.output
    for function, line in zip(("pets-stable", "pets-canary"), lines, strict=True):
        assert line.startswith(f"{path}:{line_number}: GET /pets/{{id}}: integration response 404's selectionPattern "
                               f"'Not found' matches none of the errors {function} throws on its testEvents "
                               "('Not found: 0')"), line
        assert "Fix: make the pattern match a whole errorMessage" in line


def test_an_acknowledged_pattern_and_a_config_without_test_events(tmp_path: Path) -> None:
    """The finding is acknowledged by code:subject; without testEvents nothing runs and a note says so."""
    assert "selection-pattern-unmatched" in CODES
    path = _copy(tmp_path, "NotFound.*")
    thrown = {"pets-stable": ["Not found: 0"], "pets-canary": ["Not found: 0"]}
    report = run_check(path, thrown=thrown, acknowledge=(
        "selection-pattern-unmatched:pets-api/GET /pets/{id}/404/pets-stable",))
    assert [finding.subject for finding in report.findings] == ["pets-api/GET /pets/{id}/404/pets-canary"]
    assert [finding.subject for finding in report.acknowledged if finding.code == "selection-pattern-unmatched"] == [
        "pets-api/GET /pets/{id}/404/pets-stable"]
    plain = _copy(tmp_path, "NotFound.*", events=False)
    quiet = run_check(plain)
    assert quiet.findings == [] and SELECTION_NOTE in quiet.notes
