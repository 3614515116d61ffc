r"""pytest plugin (entry point `pytest11`): a lambda-canary stack for a test session, and split assertions.

Use in a test suite:

    # pytest.ini / pyproject: [tool.pytest.ini_options] lambda_canary_config = "canary.yaml"
    def test_split(lambda_canary):
        result = lambda_canary.split("/ping", requests=2000)
        assert_split(result)  # the share the stage's chain gives the canary (percent, overrides, alias weights)

    def test_same_behaviour(lambda_canary):  # `lambda-canary diff` from a test: fails with the table
        lambda_canary.assert_same_behaviour(["/ping"], rules=[r"$.node ~ ^v\d+\."])

Pick the config with `--lambda-canary-config FILE`, the ini option `lambda_canary_config`, or
`@pytest.mark.lambda_canary(config="other.yaml", backend="docker", seed=7)` on a test (a stack of its own).
"""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from rich.console import Console

from emulator.stack import StackOptions
from emulator.testing import StackThread
from emulator.verify.diff.corpus import DiffRequest
from emulator.verify.split import SplitResult, split_url

if TYPE_CHECKING:
    from emulator.verify.diff.report import DiffResult


@dataclass
class HttpResponse:
    """A response from the stack."""

    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> object:
        """The body parsed as JSON."""
        return json.loads(self.body)


class LambdaCanaryClient:
    """What the `lambda_canary` fixture yields: the running stack's URL and helpers."""

    def __init__(self, running: StackThread, stage: str | None) -> None:
        self.running = running
        self.stage = stage or self._only_stage()

    def _only_stage(self) -> str:
        assert self.running.stack is not None
        stages = [name for api in self.running.stack.state.apis.values() for name in api.stages]
        return stages[0] if len(stages) == 1 else ""

    @property
    def url(self) -> str:
        """Base URL, e.g. http://127.0.0.1:PORT."""
        return self.running.url

    def stage_url(self, path: str = "/") -> str:
        """URL of a path on the stage."""
        return f"{self.url}/{self.stage}{path}"

    def get(self, path: str, headers: dict[str, str] | None = None) -> HttpResponse:
        """GET a path on the stage; HTTP errors are returned, not raised."""
        request = urllib.request.Request(self.stage_url(path), headers=headers or {})
        try:
            with urllib.request.urlopen(request, timeout=60) as response:
                return HttpResponse(response.status, dict(response.headers), response.read())
        except urllib.error.HTTPError as error:
            return HttpResponse(error.code, dict(error.headers), error.read())

    def split(self, path: str, requests: int = 1000, concurrency: int = 8, by: str | None = None,
              canary_key: str | None = None) -> SplitResult:
        """Send `requests` GETs and classify each by the gateway's decision. With no `by`, by what differs in the
        stage's chain (the variant, else the runtime, else the alias's version: `emulator.verify.chain.infer_split`),
        with the expected share computed from the canary percent, the overrides and the alias weights."""
        from emulator.verify.chain import chain_routes, find_stage, infer_split

        assert self.running.stack is not None
        api, stage = find_stage(self.running.stack.state, self.stage or None, "lambda_canary")
        plan = infer_split(chain_routes(api, stage, self.running.stack.lambdas, path), by, canary_key)
        result = split_url(self.stage_url(path), requests, concurrency, by=plan.by, classifier=None)
        result.canary_key, result.expected_percent = plan.canary_key, plan.expected_percent
        return result

    def assert_same_behaviour(self, requests: Iterable[str | dict[str, Any] | DiffRequest] | None = None,
                              rules: Iterable[str] = (), runtimes: tuple[str, str] | None = None) -> DiffResult:
        """Send each request to both sides of the stack's migration (`lambda-canary diff`) and fail with the
        table of differences unless the config's `diff:` rules and `rules` allow every one. A request is a path
        (`/ping`, `POST /orders`), a JSON-lines object ({method, path, query, headers, body}) or a DiffRequest;
        with none, one request per resource and method. `runtimes`: one copy of each function per runtime."""
        from emulator.verify.diff.report import render
        from emulator.verify.diff.session import DiffSession

        assert self.running.stack is not None and self.running.stack.loaded is not None
        session = DiffSession.open(self.running.stack.loaded, self.stage or None, runtimes, rules,
                                   self.running.options.backend)
        corpus = session.default_corpus() if requests is None else [_as_request(item) for item in requests]
        result = session.run(corpus)
        if not result.passed:
            console = Console(record=True, width=160, force_terminal=False, highlight=False)
            render(result, console)
            pytest.fail(console.export_text(), pytrace=False)
        return result

    def stats(self) -> object:
        """The admin endpoint's per-variant counters."""
        with urllib.request.urlopen(f"{self.url}/_lambda_canary/stats", timeout=10) as response:
            return json.loads(response.read())


def _as_request(item: str | dict[str, Any] | DiffRequest) -> DiffRequest:
    from emulator.verify.diff.corpus import request_from

    if isinstance(item, DiffRequest):
        return item
    if isinstance(item, str):
        method, _, path = item.strip().rpartition(" ")
        return request_from({"method": method or "GET", "path": path}, f"request {item!r}")
    return request_from(item, f"request {item!r}")


def assert_split(result: SplitResult, expected_percent: float | None = None, confidence: float = 1 - 1e-6,
                 allow_errors: bool = False) -> None:
    """Fail unless the canary share is consistent with `expected_percent` (by default the share the stage's
    chain gives the canary group: percentTraffic, overrides and alias weights): an exact binomial test whose
    false-failure probability is 1 - `confidence`. Failed or unclassified requests fail it too, unless
    `allow_errors` (a run in which every request failed still fails)."""
    from emulator.verify.stats.statistics import verdict

    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be in (0, 1), got {confidence}")
    expected = expected_percent if expected_percent is not None else result.expected_percent
    if expected is None:
        raise ValueError("assert_split needs expected_percent (the split was not from a config with a canary)")
    problems = result.failures(allow_errors)
    if problems:
        pytest.fail("; ".join(problems), pytrace=False)
    label = "canary" if result.by == "variant" else f"{result.by} {result.canary_key}"
    outcome = verdict(result.canary_count, result.n, expected, 1 - confidence, label)
    if not outcome.passed:
        pytest.fail(outcome.message, pytrace=False)


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("lambda-canary")
    group.addoption("--lambda-canary-config", help="config file for the lambda_canary fixture")
    group.addoption("--lambda-canary-backend", default=None, help="process (default), docker or auto")
    group.addoption("--lambda-canary-seed", type=int, default=None, help="seed the canary choices")
    parser.addini("lambda_canary_config", "config file for the lambda_canary fixture")
    parser.addini("lambda_canary_stage", "stage the lambda_canary client uses")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "lambda_canary(config=None, backend=None, seed=None, stage=None): run this test against a "
        "stack of its own")


def _config_path(config: pytest.Config, marker_value: str | None) -> Path:
    value = marker_value or config.getoption("--lambda-canary-config") or config.getini("lambda_canary_config")
    if not value:
        raise pytest.UsageError("lambda_canary: name a config with --lambda-canary-config, the ini option "
                                "lambda_canary_config or @pytest.mark.lambda_canary(config=...)")
    path = Path(value)
    return path if path.is_absolute() else Path(config.rootpath) / path


def _start(path: Path, backend: str | None, seed: int | None) -> StackThread:
    options = StackOptions(port=0, seed=seed, backend=backend or "process", access_log=False,
                           function_logs=False)
    return StackThread(path, options).__enter__()


@pytest.fixture(scope="session")
def _lambda_canary_session(pytestconfig: pytest.Config) -> Iterator[StackThread]:
    running = _start(_config_path(pytestconfig, None), pytestconfig.getoption("--lambda-canary-backend"),
                     pytestconfig.getoption("--lambda-canary-seed"))
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture
def lambda_canary(request: pytest.FixtureRequest, pytestconfig: pytest.Config) -> Iterator[LambdaCanaryClient]:
    """A client for a running lambda-canary stack (one per session; a marker asks for one of its own)."""
    marker = request.node.get_closest_marker("lambda_canary")
    stage = pytestconfig.getini("lambda_canary_stage") or None
    if marker is None:
        yield LambdaCanaryClient(request.getfixturevalue("_lambda_canary_session"), stage)
        return
    options = marker.kwargs
    running = _start(_config_path(pytestconfig, options.get("config")), options.get("backend"), options.get("seed"))
    try:
        yield LambdaCanaryClient(running, options.get("stage") or stage)
    finally:
        running.stop()
