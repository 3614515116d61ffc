"""`lambda-canary split` and `compare` as a user runs them, and the pytest plugin from a separate project."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from emulator.paths import cache_dir
from emulator.stack import StackOptions
from emulator.testing import StackThread

pytest_plugins = ["pytester"]

REPO = Path(__file__).resolve().parent.parent
PING = REPO / "examples" / "ping" / "canary.yaml"
CLI = [sys.executable, "-m", "emulator.cli"]
CACHE = cache_dir()  # read before pytester points HOME at a temporary folder


def run(*args: str, cwd: Path = REPO) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*CLI, *args], capture_output=True, text=True, cwd=cwd, timeout=300)


def test_split_on_examples_ping_at_10_percent_passes() -> None:
    """Seeded, 2000 requests; the exact test at alpha 1e-6 (false failure at most 1e-6)."""
    result = run("split", str(PING), "--requests", "2000", "--seed", "21", "--json")
    assert result.returncode == 0, result.stdout + result.stderr
    data = json.loads(result.stdout)
    assert data["requests"] == 2000 and data["verdict"]["passed"] is True
    assert data["verdict"]["expected_share"] == pytest.approx(0.10)
    assert set(data["variants"]) == {"base", "canary"}


def test_split_expecting_30_percent_fails_saying_by_how_much_and_how_sure() -> None:
    result = run("split", str(PING), "--requests", "2000", "--seed", "21", "--expect", "30")
    assert result.returncode == 1, result.stdout + result.stderr
    assert "FAIL" in result.stdout
    verdict = " ".join(result.stdout.split())
    assert "points below the expected 30.0%" in verdict and "alpha=1e-06" in verdict and "99.9999% CI" in verdict


@pytest.mark.parametrize("suffix", [".png", ".html"])
def test_split_plots_the_convergence(tmp_path: Path, suffix: str) -> None:
    plot = tmp_path / f"split{suffix}"
    result = run("split", str(PING), "--requests", "300", "--seed", "2", "--plot", str(plot))
    assert result.returncode == 0, result.stdout + result.stderr
    assert plot.stat().st_size > 1000
    if suffix == ".png":
        assert plot.read_bytes().startswith(b"\x89PNG")
    else:
        assert "<svg" in plot.read_text() or "<img" in plot.read_text()


def test_split_by_executed_version_through_a_weighted_alias() -> None:
    config = REPO / "examples" / "alias-routing" / "canary.yaml"
    result = run("split", str(config), "--by", "version", "--canary-key", "2", "--expect", "10",
                 "--requests", "1500", "--seed", "5", "--json")
    assert result.returncode == 0, result.stdout + result.stderr
    assert set(json.loads(result.stdout)["variants"]) == {"1", "2"}


def test_split_infers_a_weighted_alias_tests_its_runtime_share() -> None:
    """examples/alias-routing with no --by: 10% on nodejs22.x from the alias weight (exact test, alpha 1e-6)."""
    config = REPO / "examples" / "alias-routing" / "canary.yaml"
    result = run("split", str(config), "--requests", "2000", "--seed", "4", "--json")
    assert result.returncode == 0, result.stdout + result.stderr
    data = json.loads(result.stdout)
    assert (data["by"], data["canary_key"]) == ("runtime", "nodejs22.x")
    assert data["verdict"]["passed"] is True and data["verdict"]["expected_share"] == pytest.approx(0.10)
    assert set(data["variants"]) == {"nodejs18.x", "nodejs22.x"}
    wrong = run("split", str(config), "--requests", "2000", "--seed", "4", "--expect", "30")
    assert wrong.returncode == 1, wrong.stdout + wrong.stderr
    assert "FAIL: runtime nodejs22.x share" in " ".join(wrong.stdout.split())


def test_split_by_version_takes_the_expected_share_from_the_alias() -> None:
    """`--by version --canary-key 2` used to print `no verdict` and exit 0; now it tests 10%."""
    config = REPO / "examples" / "alias-routing" / "canary.yaml"
    result = run("split", str(config), "--by", "version", "--canary-key", "2", "--requests", "1500", "--seed", "5",
                 "--json")
    assert result.returncode == 0, result.stdout + result.stderr
    assert json.loads(result.stdout)["verdict"]["expected_share"] == pytest.approx(0.10)


def test_split_of_a_url_without_an_expectation_is_refused_before_sending() -> None:
    result = run("split", "http://127.0.0.1:9/prod")
    assert result.returncode == 2, result.stdout + result.stderr
    assert "give --expect PERCENT" in result.stderr and "Traceback" not in result.stderr


def test_split_against_a_running_emulator_url() -> None:
    with StackThread(PING, StackOptions(port=0, seed=8, access_log=False, function_logs=False)) as running:
        result = run("split", f"{running.url}/prod", "--requests", "800", "--expect", "10", "--json")
    assert result.returncode == 0, result.stdout + result.stderr
    assert json.loads(result.stdout)["variants"]["canary"]["count"] > 0


@pytest.fixture
def served_ping() -> Iterator[StackThread]:
    with StackThread(PING, StackOptions(port=0, seed=12, access_log=False, function_logs=False)) as running:
        yield running


def test_compare_two_emulators_on_the_same_config_reports_no_difference(served_ping: StackThread) -> None:
    result = run("compare", str(PING), f"{served_ping.url}/prod", "--requests", "300", "--seed", "4")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "No differences." in result.stdout


def test_compare_reports_a_changed_handler(served_ping: StackThread, tmp_path: Path) -> None:
    copy = tmp_path / "ping"
    shutil.copytree(PING.parent, copy)
    handler = copy / "src" / "handlers" / "ping.js"
    handler.write_text(handler.read_text().replace('message: "pong",', 'message: "pong", extra: 1,'))
    result = run("compare", str(copy / "canary.yaml"), f"{served_ping.url}/prod", "--requests", "100", "--seed", "4")
    assert result.returncode == 1, result.stdout + result.stderr
    assert "difference: body shape" in result.stdout and '"extra": "int"' in result.stdout


def test_the_plugin_from_a_separate_project(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    """A user's repository: ini option naming the config, the fixture, assert_split; run in a subprocess."""
    monkeypatch.setenv("LAMBDA_CANARY_CACHE", str(CACHE))
    pytester.makeini(f"[pytest]\nlambda_canary_config = {PING}\n")
    pytester.makepyfile(test_user=(REPO / "examples" / "pytest-plugin" / "test_canary_split.py").read_text())
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "--lambda-canary-seed", "3", timeout=300)
    result.assert_outcomes(passed=3)


def test_the_plugin_fails_a_wrong_expectation_with_the_verdict(pytester: pytest.Pytester,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LAMBDA_CANARY_CACHE", str(CACHE))
    pytester.makeini(f"[pytest]\nlambda_canary_config = {PING}\n")
    pytester.makepyfile(test_wrong="""
        from emulator.verify.pytest_plugin import assert_split

        def test_thirty(lambda_canary):
            assert_split(lambda_canary.split("/ping", requests=1000), expected_percent=30)
    """)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "--lambda-canary-seed", "3", timeout=300)
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*points below the expected 30.0%*rejected at alpha=1e-06*"])


def test_the_plugin_marker_gives_a_test_its_own_stack_even_through_a_weighted_alias(
        pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    """The session stack serves examples/ping; a marked test runs examples/alias-routing and splits by the
    executed version (exact test at 1 - confidence = 1e-6)."""
    monkeypatch.setenv("LAMBDA_CANARY_CACHE", str(CACHE))
    alias = REPO / "examples" / "alias-routing" / "canary.yaml"
    pytester.makeini(f"[pytest]\nlambda_canary_config = {PING}\n")
    pytester.makepyfile(test_marked=f"""
        import pytest
        from emulator.verify.pytest_plugin import assert_split

        @pytest.mark.lambda_canary(config={str(alias)!r}, seed=9)
        def test_alias(lambda_canary):
            result = lambda_canary.split("/ping", requests=1500, by="version", canary_key="2")
            assert {{sample.key for sample in result.samples}} == {{"1", "2"}}
            assert_split(result, expected_percent=10, confidence=1 - 1e-6)

        def test_session(lambda_canary):
            assert lambda_canary.get("/ping").json()["function"] in ("ping-stable", "ping-canary")
    """)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", timeout=300)
    result.assert_outcomes(passed=2)


# ---- verdicts, exit codes and messages a newcomer meets ----------------------------------------------------------
APP = REPO / "tests" / "fixtures" / "handlers" / "app"
URI = ("arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/arn:aws:lambda:us-east-1:123456789012:"
       "function:ping-${stageVariables.lambdaAlias}/invocations")


def canary_config(directory: Path, handler: str, code: Path, api_ids: tuple[str, ...] = ("pingone0001",)) -> Path:
    """ping-stable / ping-canary behind a 10% stage canary, in one REST API per id."""
    import yaml

    functions = {name: {"runtime": "nodejs22.x", "handler": handler, "code": str(code)}
                 for name in ("ping-stable", "ping-canary")}
    api = {"resources": {"/ping": {"GET": {"integration": {"type": "AWS_PROXY", "uri": URI}}}},
           "deployments": {"d1": {}},
           "stages": {"prod": {"deploymentId": "d1", "variables": {"lambdaAlias": "stable"},
                               "canarySettings": {"percentTraffic": 10, "deploymentId": "d1",
                                                  "stageVariableOverrides": {"lambdaAlias": "canary"}}}}}
    apis = {f"api-{index}": {"id": api_id, **api} for index, api_id in enumerate(api_ids)}
    path = directory / "canary.yaml"
    path.write_text(yaml.safe_dump({"backend": "process", "functions": functions, "restApis": apis}))
    return path


@pytest.mark.parametrize("allow_errors", [False, True])
def test_a_split_whose_every_request_fails_never_says_pass(tmp_path: Path, allow_errors: bool) -> None:
    """Every request answers 502: exit 1, FAIL lines and no PASS, with or without --allow-errors; and the gateway's
    execution log does not flood stderr (its first lines and a count)."""
    config = canary_config(tmp_path, "index.thrown", APP)
    flags = ["--allow-errors"] if allow_errors else []
    result = run("split", str(config), "-n", "50", "--seed", "3", *flags)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "FAIL" in result.stdout and "PASS" not in result.stdout
    gateway = [line for line in result.stderr.splitlines() if line.startswith("gateway: ")]
    assert 1 < len(gateway) <= 4 and "more execution-log lines" in gateway[-1], result.stderr
    assert len(result.stderr.splitlines()) <= 6, result.stderr
    as_json = run("split", str(config), "-n", "50", "--seed", "3", "--json", *flags)
    assert as_json.returncode == 1
    data = json.loads(as_json.stdout)
    assert data["passed"] is False and data["failures"]


def test_split_on_a_dead_port_says_connection_refused() -> None:
    from conftest import free_port

    result = run("split", f"http://127.0.0.1:{free_port()}/prod", "--expect", "10")
    assert result.returncode == 2
    assert "connection refused" in result.stderr.lower() and "not a lambda-canary emulator" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_split_with_an_unknown_stage_names_it_and_the_known_ones() -> None:
    result = run("split", str(PING), "-n", "5", "--stage", "staging")
    assert result.returncode == 2
    assert result.stderr.strip() == f"lambda-canary: error: {PING}: no stage 'staging' (stages: prod)"


def test_split_and_compare_pick_one_of_two_apis_with_host(tmp_path: Path) -> None:
    """Two APIs with stage prod: without --host the error names the Host headers to use; with --host (or a
    `{apiId}.execute-api.localhost` URL, which goes to loopback) the split passes (alpha 1e-6)."""
    config = canary_config(tmp_path, "src/handlers/ping.handler", PING.parent, ("pingone0001", "pingtwo0002"))
    unpicked = run("split", str(config), "-n", "10")
    assert unpicked.returncode == 2
    assert "2 REST APIs have a stage; pick one with --host pingone0001.execute-api.localhost" in unpicked.stderr
    picked = run("split", str(config), "-n", "400", "--seed", "5", "--host", "pingtwo0002.execute-api.localhost")
    assert picked.returncode == 0, picked.stdout + picked.stderr
    with StackThread(config, StackOptions(port=0, seed=6, access_log=False, function_logs=False)) as running:
        port = running.url.rsplit(":", 1)[1]
        by_name = run("split", f"http://pingone0001.execute-api.localhost:{port}/prod", "-n", "400", "--expect", "10")
        assert by_name.returncode == 0, by_name.stdout + by_name.stderr
        by_option = run("split", f"{running.url}/prod", "--host", "pingtwo0002.execute-api.localhost", "-n", "400",
                        "--expect", "10")
        assert by_option.returncode == 0, by_option.stdout + by_option.stderr
        compared = run("compare", str(config), f"{running.url}/prod", "--host", "pingone0001.execute-api.localhost",
                       "-n", "200", "--seed", "4")
        assert compared.returncode == 0, compared.stdout + compared.stderr
        assert "No differences." in compared.stdout
