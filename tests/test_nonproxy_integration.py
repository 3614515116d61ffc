"""Non-proxy Lambda integrations (`type: AWS`) end to end on real Node: request templates chosen by Content-Type
with passthroughBehavior, the function invoked with the rendered payload, integration responses selected by
`selectionPattern` against the function's errorMessage, response templates and responseParameters.

AWS sources: "Method request behavior for payloads without mapping templates"
(https://docs.aws.amazon.com/apigateway/latest/developerguide/integration-passthrough-behaviors.html),
"Handle Lambda errors in API Gateway"
(https://docs.aws.amazon.com/apigateway/latest/developerguide/handle-errors-in-lambda-integration.html), the PetStore
tutorial (set-up-data-transformations-in-api-gateway.html).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from support import call

from emulator.stack import StackOptions
from emulator.testing import StackThread

CONFIG = Path(__file__).resolve().parent / "fixtures" / "nonproxy" / "nonproxy.yaml"
JSON = [("Content-Type", "application/json")]
INTERNAL = b'{"message": "Internal server error"}'


@pytest.fixture(scope="module")
def stack() -> Iterator[tuple[StackThread, list[str]]]:
    """tests/fixtures/nonproxy/nonproxy.yaml on real Node, with its execution-log lines."""
    lines: list[str] = []
    with StackThread(CONFIG, StackOptions(port=0, seed=5, function_logs=False), log=lines.append) as running:
        yield running, lines


def log_of(lines: list[str], request_id: str | None) -> list[str]:
    """The execution-log lines of one request."""
    assert request_id
    return [line for line in lines if f"({request_id})" in line]


def test_petstore_response_template_on_a_lambda_result(stack: tuple[StackThread, list[str]]) -> None:
    """GET /pets: the request template makes `{"action": "list"}`, the function returns the PetStore array, the
    tutorial's response template turns it into the tutorial's documented output."""
    reply = call(stack[0].url, "GET", "/prod/pets")
    assert reply.status == 200
    assert reply.header("Content-Type") == "application/json"
    assert reply.json() == [
        {"description": "Item 1 is a dog.", "askingPrice": 249.99},
        {"description": "Item 2 is a cat.", "askingPrice": 124.99},
        {"description": "Item 3 is a fish.", "askingPrice": 0.99},
    ]


def test_request_template_renders_params_body_context_and_stage_variables(
        stack: tuple[StackThread, list[str]]) -> None:
    """The function receives exactly what the request template rendered; the default response maps it back."""
    reply = call(stack[0].url, "POST", "/prod/pets/7?q=x", JSON, b'{"name": "rex"}')
    assert reply.status == 200
    assert reply.json() == {"pet": {"id": "7", "name": "rex", "q": "x", "stage": "prod", "canary": False,
                                    "v": "base"}, "node": "v18.20.8"}
    assert reply.header("X-Error") is None


def test_selection_pattern_maps_a_function_error_to_its_status_and_template(
        stack: tuple[StackThread, list[str]]) -> None:
    """Acceptance: the function throws `Not found: 42`; `selectionPattern: "Not found.*"` answers the mapped 404
    with its response template and responseParameters (a literal and a stage variable)."""
    running, lines = stack
    reply = call(running.url, "POST", "/prod/pets/42", JSON, b'{"name": "rex"}')
    assert reply.status == 404
    assert reply.json() == {"error": "Not found: 42", "kind": "Error"}
    assert reply.header("X-Error") == "missing"
    assert reply.header("X-Stage") == "base"
    assert reply.header("x-amzn-ErrorType") is None
    assert any("customer function error: Not found: 42" in line
               for line in log_of(lines, reply.header("x-amzn-RequestId")))


def test_an_unmatched_function_error_falls_to_the_default_response(stack: tuple[StackThread, list[str]]) -> None:
    """Acceptance: an error no pattern matches (`boom`) is served by the default response (200, its template
    applied to the error payload), not by the 404."""
    reply = call(stack[0].url, "POST", "/prod/pets/boom", JSON, b'{"name": "rex"}')
    assert reply.status == 200
    assert reply.header("X-Error") is None
    assert reply.body.startswith(b'{"pet": ')
    assert b"Not found" not in reply.body


def test_no_match_and_no_default_response_is_a_configuration_error(stack: tuple[StackThread, list[str]]) -> None:
    """Without a default response, a result no pattern matches answers 500 with AWS's log line."""
    running, lines = stack
    reply = call(running.url, "POST", "/prod/no-default?id=7", JSON, b"{}")
    assert (reply.status, reply.body) == (500, INTERNAL)
    assert any("No match for output mapping and no default output mapping configured" in line
               for line in log_of(lines, reply.header("x-amzn-RequestId")))


@pytest.mark.parametrize(("path", "content_type", "status", "got"), [
    # NEVER: 415 whenever no template matches the Content-Type
    ("/prod/never", "text/plain", 415, None),
    ("/prod/never", "application/json", 200, {"id": "never"}),
    # WHEN_NO_TEMPLATES: the integration has a template, so an unmapped Content-Type is 415
    ("/prod/when-no-templates", "text/plain", 415, None),
    ("/prod/when-no-templates", "application/json; charset=utf-8", 200, {"id": "templated"}),
    # WHEN_NO_MATCH: an unmapped Content-Type passes the body through untransformed
    ("/prod/when-no-match", "text/plain", 200, {"id": "raw"}),
    ("/prod/when-no-match", None, 200, {"id": "templated"}),  # no Content-Type is application/json
])
def test_passthrough_behavior(stack: tuple[StackThread, list[str]], path: str, content_type: str | None,
                              status: int, got: dict[str, str] | None) -> None:
    """passthroughBehavior as AWS documents it; 415 answers `{"message":"Unsupported Media Type"}`."""
    headers = [("Content-Type", content_type)] if content_type else []
    reply = call(stack[0].url, "POST", path, headers, b'{"id": "raw"}')
    assert reply.status == status
    if status == 415:
        assert reply.body == b'{"message":"Unsupported Media Type"}'
    else:
        assert reply.json()["got"] == got


def test_a_template_failing_at_render_answers_500_and_logs_its_line(stack: tuple[StackThread, list[str]]) -> None:
    """`$util.parseJson("not json")` on line 3 of the request template: 500, and the log names line 3."""
    running, lines = stack
    reply = call(running.url, "GET", "/prod/bad-template")
    assert (reply.status, reply.body) == (500, INTERNAL)
    log = log_of(lines, reply.header("x-amzn-RequestId"))
    assert any("request template for application/json, line 3:" in line for line in log), log
    assert any("Execution failed due to configuration error: Unable to transform request" in line for line in log)


def test_input_json_of_a_body_that_is_not_json_is_400(stack: tuple[StackThread, list[str]]) -> None:
    """A template reading `$input.json` of a body that is not JSON: 400 BAD_REQUEST_BODY, function not invoked."""
    reply = call(stack[0].url, "POST", "/prod/pets/7", JSON, b"not json")
    assert reply.status == 400
    assert reply.json()["message"].startswith("Could not parse request body into json: ")
    assert reply.header("x-amzn-ErrorType") == "BadRequestException"


def test_canary_requests_see_the_overrides_in_templates(stack: tuple[StackThread, list[str]]) -> None:
    """On a 50 % canary, `$context.isCanaryRequest` and `$stageVariables.v` follow the side that served."""
    seen = set()
    for _ in range(40):
        pet = call(stack[0].url, "POST", "/canary50/pets/1", JSON, b'{"name": "a"}').json()["pet"]
        seen.add((pet["canary"], pet["v"]))
    # P(one side never chosen in 40 fair draws) = 2 * 0.5**40 < 2e-12
    assert seen == {(True, "canary"), (False, "base")}


def test_mock_integration_uses_the_same_engine(stack: tuple[StackThread, list[str]]) -> None:
    """MOCK: the request template (with #if on a query parameter) gives the statusCode, which selects the
    integration response by its selectionPattern; the response template runs $util and $input."""
    assert call(stack[0].url, "GET", "/prod/mocked?q=y").json() == {"q": "y"}
    reply = call(stack[0].url, "GET", "/prod/mocked?q=x%20y")
    assert (reply.status, reply.json()) == (404, {"missing": "x+y"})
