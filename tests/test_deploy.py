"""`plan`, `deploy` and `canary` through the real boto3: against the emulator's AWS API (an empty account, the data
plane's split checked after each canary step) and against moto's server (an AWS-like target: the Lambda calls,
the Node 18 guard)."""

from __future__ import annotations

import datetime as dt
import http.client
import io
import json
import shutil
import subprocess
import sys
import threading
import time
import urllib.request
import zipfile
from collections import Counter
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import boto3
import click
import pytest
import yaml
from botocore.exceptions import ClientError
from botocore.retries.standard import ExponentialBackoff
from click.testing import CliRunner, Result
from moto.server import ThreadedMotoServer
from scipy.stats import binom

from emulator.cli import deploy as deploy_cli
from emulator.config import LoadedConfig, stable_api_id
from emulator.deploy import canary as canary_ops
from emulator.deploy.apply import deploy
from emulator.deploy.desired import MANAGED_TAG
from emulator.deploy.errors import Call, DeployFailed, explain
from emulator.deploy.package import package_dir
from emulator.deploy.plan import compute_plan
from emulator.deploy.session import Target, is_mutating, open_target
from emulator.errors import UserError
from emulator.formats.load import load_config
from emulator.stack import StackOptions
from emulator.testing import StackThread

REPO = Path(__file__).resolve().parent.parent
PING_DIR = REPO / "examples" / "ping"
PING = PING_DIR / "canary.yaml"
SEED = 20240611
BEFORE_BLOCKS = dt.date(2026, 1, 1)  # before AWS blocked creating nodejs18.x functions
API = "multi-runtime-api"
TEST_FALSE_FAILURE = 1e-6  # per test, at most: a test with k random bounded checks gives each 1e-6 / k


# ---- fixtures -----------------------------------------------------------------------------------------------
def _control_plane(stack: Any) -> Any:
    try:
        from emulator.control_plane.wiring import build_control_plane
    except ModuleNotFoundError:  # before the Lambda control plane existed: API Gateway only
        from emulator.control_plane.apigateway_api import ApiGatewayApi
        from emulator.control_plane.protocol import RestJsonService
        from emulator.control_plane.router import ControlPlane

        return ControlPlane({"apigateway": RestJsonService("apigateway", ApiGatewayApi(stack.state),
                                                           validation_error="BadRequestException")})
    return build_control_plane(stack.lambdas, stack.state, stack.log)


@pytest.fixture
def emulator(aws_env: None, monkeypatch: pytest.MonkeyPatch) -> Iterator[StackThread]:
    """An empty, seeded emulator account serving the AWS API; AWS_ENDPOINT_URL points at it."""
    options = StackOptions(port=0, seed=SEED, backend="process", access_log=False, function_logs=False)
    with StackThread(None, options) as running:
        assert running.stack is not None
        running.stack.server.control_plane = _control_plane(running.stack)
        monkeypatch.setenv("AWS_ENDPOINT_URL", running.url)
        yield running


@pytest.fixture
def moto_url(aws_env: None, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """moto's server (AWS-like: it has no /_lambda_canary/health); AWS_ENDPOINT_URL points at it."""
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    url = f"http://{host}:{port}"
    monkeypatch.setenv("AWS_ENDPOINT_URL", url)
    try:
        yield url
    finally:
        server.stop()


class CallLog:
    """Every AWS operation a target's clients make (a `before-call.*.*` hook), optionally failing one."""

    def __init__(self, target: Target, fail_after: int | None = None) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []  # (operation, the caller's parameters)
        self.fail_after = fail_after
        self._params: dict[str, Any] = {}
        target.session.events.register("before-parameter-build.*.*", self._keep_params)
        target.session.events.register("before-call.*.*", self)

    def _keep_params(self, params: dict[str, Any], **_: Any) -> None:
        self._params = dict(params)

    def __call__(self, model: Any = None, **_: Any) -> None:
        if self.fail_after is not None and is_mutating(model.name) and len(self.mutating) >= self.fail_after:
            raise ConnectionError(f"injected failure before {model.name}")
        self.calls.append((model.name, self._params))

    @property
    def mutating(self) -> list[str]:
        """Names of the mutating calls made."""
        return [name for name, _ in self.calls if is_mutating(name)]


def fresh_target(config: LoadedConfig) -> Target:
    """A target from the environment, as the CLI opens it."""
    return open_target(default_region=config.config.region, default_account=config.config.account_id)


def cli() -> click.Group:
    """The deploy commands under a group, as emulator/cli/__init__.py registers them."""
    group = click.Group("lambda-canary")
    group.add_command(deploy_cli.plan_command)
    group.add_command(deploy_cli.deploy_command)
    group.add_command(deploy_cli.canary_group)
    return group


def run_cli(*args: str, ok: bool = True) -> Result:
    """Invoke the CLI in-process; with ok, fail the test on any exception."""
    result = CliRunner(env={"COLUMNS": "250"}).invoke(cli(), list(args), catch_exceptions=True)
    if ok:
        assert result.exit_code == 0 and result.exception is None, (result.output, result.exception)
    return result


def write_config(tmp_path: Path, name: str, edit: Callable[[dict[str, Any]], None]) -> Path:
    """A copy of examples/ping/canary.yaml (code path made absolute) changed by `edit`."""
    data = yaml.safe_load(PING.read_text())
    for function in data["functions"].values():
        function["code"] = str(PING_DIR)
    edit(data)
    path = tmp_path / f"{name}.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def without_canary(data: dict[str, Any]) -> None:
    """Stable only: the stage has no canary."""
    del data["restApis"][API]["stages"]["prod"]["canarySettings"]


# ---- the data plane's split ------------------------------------------------------------------------------------
def node_majors(url: str, n: int) -> Counter[str]:
    """GET /prod/ping n times; count the Node major of each answer."""
    counts: Counter[str] = Counter()
    for _ in range(n):
        with urllib.request.urlopen(f"{url}/prod/ping", timeout=30) as response:
            counts[json.loads(response.read())["node"].split(".")[0]] += 1
    return counts


def assert_share(counts: Counter[str], percent: float, false_failure: float) -> None:
    """The Node 22 (canary) count is inside the two-sided exact binomial bound [binom.ppf(ff/2), binom.isf(ff/2)] for
    `percent`, which a correct split misses with probability at most `false_failure`. At 0 % and 100 % the bound is
    [0, 0] or [n, n] and every request goes one way: such a check cannot fail by chance."""
    n = sum(counts.values())
    assert set(counts) <= {"v18", "v22"}, counts
    p = percent / 100.0
    low, high = binom.ppf(false_failure / 2, n, p), binom.isf(false_failure / 2, n, p)
    assert low <= counts["v22"] <= high, f"{counts} outside [{low}, {high}] for {percent}%"


# ---- plan and deploy against the emulator ------------------------------------------------------------------------
def test_plan_on_an_empty_account_lists_every_resource_and_changes_nothing(emulator: StackThread) -> None:
    result = run_cli("plan", str(PING), "--stage", "prod")
    out = result.output
    lines = out.splitlines()
    note = next(index for index, line in enumerate(lines) if "nodejs18.x (Node 18) is past end of support" in line)
    where = next(index for index, line in enumerate(lines) if line.startswith("Target: lambda-canary emulator"))
    assert note < where, "the end-of-support note comes before any AWS call"
    assert "the emulator allows creating and updating it, with a warning" in out
    for kind, name in [("function", "ping-stable"), ("function", "ping-canary"), ("rest api", API),
                       ("resource", "/ping"), ("method", "GET /ping"), ("permission", "ping-stable"),
                       ("permission", "ping-canary"), ("deployment", "d1"), ("stage", "prod")]:
        assert any("create" in line and kind in line and name in line for line in lines), (kind, name, out)
    assert "No changes." not in out
    loaded = load_config(PING)
    target = fresh_target(loaded)
    log = CallLog(target)
    assert len(compute_plan(loaded, "prod", target).pending) == 9
    assert log.mutating == [] and log.calls
    account = boto3.client("apigateway"), boto3.client("lambda")
    assert account[0].get_rest_apis()["items"] == []
    assert account[1].list_functions()["Functions"] == []


def test_deploy_then_plan_shows_no_changes_and_a_second_deploy_makes_no_mutating_call(
        emulator: StackThread) -> None:
    first = run_cli("deploy", str(PING), "--stage", "prod")
    assert "create" in first.output and "changes made" in first.output
    assert "No changes." in run_cli("plan", str(PING), "--stage", "prod").output.splitlines()
    loaded = load_config(PING)
    target = fresh_target(loaded)
    log = CallLog(target)
    _plan, done = deploy(loaded, "prod", target)
    assert log.mutating == [] and done.changes == []
    assert {name for name, _ in log.calls} >= {"GetFunction", "GetRestApis", "GetResources", "GetPolicy",
                                               "GetDeployments", "GetStage"}
    assert "No changes." in run_cli("deploy", str(PING), "--stage", "prod").output.splitlines()
    apis = boto3.client("apigateway").get_rest_apis()["items"]
    assert len(apis) == 1 and apis[0]["tags"] == {MANAGED_TAG: "true", "lambda-canary:config": "canary"}
    assert boto3.client("lambda").list_tags(
        Resource="arn:aws:lambda:us-east-1:123456789012:function:ping-stable")["Tags"][MANAGED_TAG] == "true"


def test_the_seed_flow_stable_10_50_promote_rollback(emulator: StackThread, tmp_path: Path) -> None:
    """Stable only, canary at 10 %, 50 %, promote, roll back: the data plane's split after each step.

    Six shares are checked; four are certain (0 % or 100 %), two are random (10 % and 50 %) and each of those is
    checked at 1e-6 / 2. False-failure probability: <= 2 · 0.5e-6 = 1e-6.
    """
    per_check = TEST_FALSE_FAILURE / 2
    stable = write_config(tmp_path, "stable", without_canary)
    run_cli("deploy", str(stable), "--stage", "prod")
    n = 300
    assert_share(node_majors(emulator.url, n), 0.0, per_check)

    set10 = run_cli("canary", "set", "10", "--config", str(PING), "--stage", "prod")
    assert "canary at 10%" in set10.output
    assert_share(node_majors(emulator.url, n), 10.0, per_check)

    run_cli("canary", "set", "50", "--api", API, "--stage", "prod")
    assert_share(node_majors(emulator.url, n), 50.0, per_check)
    status = run_cli("canary", "status", "--api", API, "--stage", "prod").output
    assert "ping-stable (nodejs18.x" in status and "ping-canary (nodejs22.x" in status and "50%" in status

    loaded = load_config(PING)
    target = fresh_target(loaded)
    log = CallLog(target)
    ref = canary_ops.resolve_stage(target, "prod", API)
    canary_ops.promote(target, ref)
    updates = [params["patchOperations"] for name, params in log.calls if name == "UpdateStage"]
    assert updates == [canary_ops.PROMOTE_OPERATIONS, [{"op": "remove", "path": "/canarySettings"}]]
    assert updates[0] == [  # reference §2.5, exactly
        {"op": "replace", "path": "/canarySettings/percentTraffic", "value": "0.0"},
        {"op": "copy", "from": "/canarySettings/stageVariableOverrides", "path": "/variables"},
        {"op": "copy", "from": "/canarySettings/deploymentId", "path": "/deploymentId"}]
    assert_share(node_majors(emulator.url, n), 100.0, per_check)
    assert "no canary" in run_cli("canary", "status", "--api", API, "--stage", "prod").output

    rolled = run_cli("canary", "rollback", "--api", API, "--stage", "prod")
    assert "promotion undone" in rolled.output
    assert_share(node_majors(emulator.url, n), 0.0, per_check)
    again = run_cli("canary", "rollback", "--api", API, "--stage", "prod", ok=False)
    assert isinstance(again.exception, UserError) and "no promotion to undo" in str(again.exception)

    run_cli("canary", "set", "30", "--config", str(PING), "--stage", "prod")
    assert "canary removed" in run_cli("canary", "rollback", "--config", str(PING), "--stage", "prod").output
    assert_share(node_majors(emulator.url, n), 0.0, per_check)


def test_a_deploy_interrupted_midway_reports_and_converges(emulator: StackThread) -> None:
    """Four interrupted deploys, then one that converges; the split at 10 % is one bounded check.

    False-failure probability: <= 1e-6.
    """
    loaded = load_config(PING)
    reports = []
    for fail_after in (2, 2, 1, 3):  # the third run stops between PutMethod and PutIntegration
        target = fresh_target(loaded)
        CallLog(target, fail_after=fail_after)
        with pytest.raises(DeployFailed) as failed:
            deploy(loaded, "prod", target)
        assert failed.value.pending
        assert "injected failure" in failed.value.reason and "run deploy again" in str(failed.value)
        reports.append(failed.value)
    assert [line.split(" (")[0] for line in reports[0].completed] == ["create function ping-canary",
                                                                      "create function ping-stable"]
    assert any(line.startswith("create rest api") for line in reports[0].pending)
    assert any(line.startswith("update method") for line in reports[3].completed)  # the half-made method
    target = fresh_target(loaded)
    deploy(loaded, "prod", target)
    assert compute_plan(loaded, "prod", fresh_target(loaded)).empty
    apis = boto3.client("apigateway").get_rest_apis()["items"]
    assert len(apis) == 1
    deployments = boto3.client("apigateway").get_deployments(restApiId=apis[0]["id"])["items"]
    assert len(deployments) == 1
    policy = json.loads(boto3.client("lambda").get_policy(FunctionName="ping-canary")["Policy"])
    assert len(policy["Statement"]) == 1
    assert_share(node_majors(emulator.url, 200), 10.0, TEST_FALSE_FAILURE)


def test_cli_reports_completed_and_pending_steps(emulator: StackThread, monkeypatch: pytest.MonkeyPatch) -> None:
    opened = deploy_cli._target

    def failing(*args: Any) -> Target:
        target = opened(*args)
        CallLog(target, fail_after=3)
        return target

    monkeypatch.setattr(deploy_cli, "_target", failing)
    result = run_cli("deploy", str(PING), "--stage", "prod", ok=False)
    assert isinstance(result.exception, DeployFailed)
    assert result.output.count("  done: ") == 3 and "  pending: " in result.output
    monkeypatch.setattr(deploy_cli, "_target", opened)
    run_cli("deploy", str(PING), "--stage", "prod")
    assert "No changes." in run_cli("plan", str(PING), "--stage", "prod").output


def more_integrations(data: dict[str, Any]) -> None:
    """Add a MOCK method, an ANY method on a path parameter (AWS_PROXY) and an HTTP_PROXY method."""
    api = data["restApis"][API]
    uri = api["resources"]["/ping"]["GET"]["integration"]["uri"]
    api["resources"]["/mock"] = {"GET": {"integration": {
        "type": "MOCK", "requestTemplates": {"application/json": '{"statusCode": 200}'},
        "integrationResponses": {"200": {"responseTemplates": {"application/json": '{"mock": true}'}}}}}}
    api["resources"]["/items/{id}"] = {"ANY": {"integration": {"type": "AWS_PROXY", "uri": uri}}}
    api["resources"]["/proxy"] = {"GET": {"integration": {
        "type": "HTTP_PROXY", "integrationHttpMethod": "GET", "uri": "http://${stageVariables.upstream}/x"}}}
    api["stages"]["prod"]["variables"]["upstream"] = "127.0.0.1:9"


def test_mock_http_proxy_and_path_parameters_deploy_once(emulator: StackThread, tmp_path: Path) -> None:
    path = write_config(tmp_path, "more", more_integrations)
    run_cli("deploy", str(path), "--stage", "prod")
    assert "No changes." in run_cli("plan", str(path), "--stage", "prod").output.splitlines()
    with urllib.request.urlopen(f"{emulator.url}/prod/mock", timeout=30) as response:
        assert json.loads(response.read()) == {"mock": True}
    with urllib.request.urlopen(f"{emulator.url}/prod/items/42", timeout=30) as response:
        assert json.loads(response.read())["path"] == "/items/42"
    api_id = boto3.client("apigateway").get_rest_apis()["items"][0]["id"]
    statements = json.loads(boto3.client("lambda").get_policy(FunctionName="ping-stable")["Policy"])["Statement"]
    assert sorted(s["Condition"]["ArnLike"]["AWS:SourceArn"].split(":")[-1] for s in statements) == [
        f"{api_id}/*/*/items/*", f"{api_id}/*/GET/ping"]


def test_updates_touch_only_what_differs(emulator: StackThread, tmp_path: Path) -> None:
    code = tmp_path / "code"
    (code / "src" / "handlers").mkdir(parents=True)
    (code / "src" / "handlers" / "ping.js").write_text((PING_DIR / "src/handlers/ping.js").read_text())

    def own_code(data: dict[str, Any]) -> None:
        data["functions"]["ping-canary"]["code"] = str(code)

    path = write_config(tmp_path, "canary", own_code)
    run_cli("deploy", str(path), "--stage", "prod")
    def more_memory(data: dict[str, Any]) -> None:
        own_code(data)
        data["functions"]["ping-canary"]["memorySize"] = 256

    bigger = write_config(tmp_path, "canary", more_memory)
    loaded = load_config(bigger)
    plan = compute_plan(loaded, "prod", fresh_target(loaded))
    assert [change.label() for change in plan.pending] == [
        "update function configuration ping-canary (MemorySize 128 -> 256)"]
    target = fresh_target(loaded)
    log = CallLog(target)
    deploy(loaded, "prod", target)
    assert log.mutating == ["UpdateFunctionConfiguration"]
    (code / "src" / "handlers" / "ping.js").write_text((PING_DIR / "src/handlers/ping.js").read_text() + "\n// v2\n")
    target = fresh_target(loaded)
    log = CallLog(target)
    deploy(loaded, "prod", target)
    assert log.mutating == ["UpdateFunctionCode"]
    assert compute_plan(loaded, "prod", fresh_target(loaded)).empty


def test_nothing_the_config_does_not_own_is_changed(emulator: StackThread) -> None:
    apigw, lam = boto3.client("apigateway"), boto3.client("lambda")
    foreign = apigw.create_rest_api(name=API)
    loaded = load_config(PING)
    target = fresh_target(loaded)
    log = CallLog(target)
    with pytest.raises(UserError, match=f"REST API '{API}' .* is not managed by lambda-canary"):
        deploy(loaded, "prod", target)
    assert log.mutating == []
    apigw.delete_rest_api(restApiId=foreign["id"])
    lam.create_function(FunctionName="ping-canary", Runtime="nodejs22.x", Handler="src/handlers/ping.handler",
                        Role="arn:aws:iam::123456789012:role/theirs", Code={"ZipFile": package_dir(PING_DIR).data},
                        MemorySize=512, Timeout=3)
    planned = run_cli("plan", str(PING), "--stage", "prod", ok=False)
    assert planned.exit_code == 1, planned.output  # deploy would refuse: the plan fails
    plan = planned.output
    assert "deploy would refuse: function ping-canary exists but is not managed by lambda-canary" in plan
    refused = run_cli("deploy", str(PING), "--stage", "prod", ok=False)
    assert isinstance(refused.exception, UserError) and "not managed" in str(refused.exception)
    assert lam.get_function(FunctionName="ping-canary")["Configuration"]["MemorySize"] == 512
    assert apigw.get_rest_apis()["items"] == []


# ---- the Lambda side against moto -------------------------------------------------------------------------------
def weighted(data: dict[str, Any]) -> None:
    """One function `ping` with version 1 on Node 18, version 2 on Node 22, alias live (1, with 2 at 10 %) and
    alias next (2); the stage picks the alias through ${stageVariables.alias}."""
    code = data["functions"]["ping-stable"]["code"]
    data["functions"] = {"ping": {
        "runtime": "nodejs22.x", "handler": "src/handlers/ping.handler", "code": code,
        "versions": {"1": {"runtime": "nodejs18.x"}, "2": {"runtime": "nodejs22.x"}},
        "aliases": {"live": {"functionVersion": "1", "routingConfig": {"additionalVersionWeights": {"2": 0.1}}},
                    "next": {"functionVersion": "2"}}}}
    api = data["restApis"][API]
    api["resources"]["/ping"]["GET"]["integration"]["uri"] = (
        "arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/arn:aws:lambda:us-east-1:123456789012:"
        "function:ping:${stageVariables.alias}/invocations")
    api["stages"]["prod"]["variables"] = {"alias": "live"}
    api["stages"]["prod"]["canarySettings"]["stageVariableOverrides"] = {"alias": "next"}


def test_lambda_calls_against_moto(moto_url: str, tmp_path: Path) -> None:
    loaded = load_config(write_config(tmp_path, "weighted", weighted))
    target = fresh_target(loaded)
    assert target.is_aws and "treated as AWS" in target.describe()
    log = CallLog(target)
    deploy(loaded, "prod", target, today=BEFORE_BLOCKS, phases=("functions", "permissions"))
    lambda_calls = [(name, params) for name, params in log.calls
                    if is_mutating(name) and name not in ("CreateRole", "PutRolePolicy")]
    assert [name for name, _ in lambda_calls] == [
        "CreateFunction", "UpdateFunctionConfiguration", "PublishVersion", "UpdateFunctionConfiguration",
        "PublishVersion", "CreateAlias", "CreateAlias", "AddPermission", "AddPermission"]
    runtimes = [params.get("Runtime") for name, params in lambda_calls if name.endswith("Configuration")]
    assert runtimes == ["nodejs18.x", "nodejs22.x"]
    assert lambda_calls[0][1]["Tags"] == {MANAGED_TAG: "true", "lambda-canary:config": "weighted"}
    lam = boto3.client("lambda")
    versions = {v["Version"]: v["Runtime"] for v in lam.list_versions_by_function(FunctionName="ping")["Versions"]}
    assert versions == {"$LATEST": "nodejs22.x", "1": "nodejs18.x", "2": "nodejs22.x"}
    assert lam.get_alias(FunctionName="ping", Name="live")["RoutingConfig"] == {"AdditionalVersionWeights": {"2": 0.1}}
    api_id = loaded.api_id(API)
    for alias in ("live", "next"):
        statements = json.loads(lam.get_policy(FunctionName="ping", Qualifier=alias)["Policy"])["Statement"]
        ours = [s for s in statements if s["Resource"].endswith(f":ping:{alias}")]
        assert [s["Condition"]["ArnLike"]["AWS:SourceArn"] for s in ours] == [
            f"arn:aws:execute-api:us-east-1:123456789012:{api_id}/*/GET/ping"]
    again = CallLog(target := fresh_target(loaded))
    deploy(loaded, "prod", target, today=BEFORE_BLOCKS, phases=("functions", "permissions"))
    assert again.mutating == []

    assert_alias_promotion_is_undone()


def test_alias_promotion_is_undone_on_the_emulator(emulator: StackThread, tmp_path: Path) -> None:
    loaded = load_config(write_config(tmp_path, "weighted", weighted))
    deploy(loaded, "prod", fresh_target(loaded), phases=("functions", "permissions"))
    assert_alias_promotion_is_undone()


def assert_alias_promotion_is_undone() -> None:
    """On ping:live (version 1, 2 at 10 %): set 30, promote, rollback restores version 1 with 2 at 30 %; the next
    rollback clears the weights, the one after is refused; a promotion the alias moved away from is refused."""
    lam = boto3.client("lambda")
    arn = "arn:aws:lambda:us-east-1:123456789012:function:ping"
    memory = "lambda-canary:rollback-alias-live"

    def live() -> tuple[str, dict[str, float]]:
        alias = lam.get_alias(FunctionName="ping", Name="live")
        return alias["FunctionVersion"], (alias.get("RoutingConfig") or {}).get("AdditionalVersionWeights", {})

    def refused() -> str:
        result = run_cli("canary", "rollback", "--alias", "ping:live", ok=False)
        assert isinstance(result.exception, UserError), (result.output, result.exception)
        return str(result.exception)

    assert live() == ("1", {"2": 0.1})
    run_cli("canary", "set", "30", "--alias", "ping:live")
    assert live() == ("1", {"2": 0.3})
    promoted = run_cli("canary", "promote", "--alias", "ping:live").output
    assert "ping:live now on version 2" in promoted and "`canary rollback` restores" in promoted
    assert live() == ("2", {})
    assert lam.list_tags(Resource=arn)["Tags"][memory] == "previous=1 weights=2:0.3 promoted=2"
    status = run_cli("canary", "status", "--alias", "ping:live").output
    assert "nodejs22.x" in status and "100%" in status

    rolled = run_cli("canary", "rollback", "--alias", "ping:live").output
    assert "ping:live: promotion undone: version 1, 30% to version 2" in rolled
    assert live() == ("1", {"2": 0.3})
    assert memory not in lam.list_tags(Resource=arn)["Tags"]
    cleared = run_cli("canary", "rollback", "--alias", "ping:live").output
    assert "weights cleared: the 30% of version 2 go back to version 1" in cleared
    assert live() == ("1", {})
    message = refused()
    assert "ping:live has no extra version, and no promotion to undo" in message and "\n" not in message
    assert live() == ("1", {})

    run_cli("canary", "set", "20", "--alias", "ping:live", "--version", "2")
    run_cli("canary", "promote", "--alias", "ping:live")
    lam.update_alias(FunctionName="ping", Name="live", FunctionVersion="1")  # moved since the promotion
    assert "no promotion to undo" in refused()
    assert live() == ("1", {})


def test_node18_guard_refuses_a_new_function_and_leaves_an_existing_one(moto_url: str, tmp_path: Path) -> None:
    loaded = load_config(PING)
    target = fresh_target(loaded)
    log = CallLog(target)
    with pytest.raises(UserError) as refused:
        deploy(loaded, "prod", target, today=dt.date(2026, 11, 26), phases=("functions", "permissions"))
    message = str(refused.value)
    assert "ping-stable" in message and "nodejs18.x" in message
    assert "2026-02-03" in message and "2026-03-09" in message
    assert log.mutating == [], "the guard runs before any mutating call"
    planned = run_cli("plan", str(PING), "--stage", "prod", ok=False)
    assert planned.exit_code == 1, planned.output  # deploy would refuse: the plan fails
    plan = planned.output
    assert "this target enforces AWS's blocks" in plan and "deploy would refuse" in plan
    planned_for = [line for line in plan.splitlines() if "permission" in line and "ping-stable" in line]
    assert planned_for == [], "no permission is planned for a function deploy refuses to create"
    assert any("permission" in line and "ping-canary" in line for line in plan.splitlines())

    # ping-stable created before the block (by an earlier deploy): referenced, never updated.
    lam = boto3.client("lambda")
    role = boto3.client("iam").create_role(RoleName="r", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    lam.create_function(FunctionName="ping-stable", Runtime="nodejs18.x", Handler="src/handlers/ping.handler",
                        Role=role, Code={"ZipFile": package_dir(PING_DIR).data}, MemorySize=128, Timeout=3,
                        Tags={MANAGED_TAG: "true"})
    target = fresh_target(loaded)
    log = CallLog(target)
    plan_obj, _ = deploy(loaded, "prod", target, phases=("functions", "permissions"))
    assert any(c.action == "unchanged" and c.kind == "function" and c.name == "ping-stable" for c in plan_obj.changes)
    touched = [params.get("FunctionName") for name, params in log.calls
               if name.startswith(("UpdateFunction", "CreateFunction", "PublishVersion"))]
    assert touched == ["ping-canary"]
    granted = [params for name, params in log.calls if name == "AddPermission"]
    assert {params["FunctionName"] for params in granted} == {"ping-stable", "ping-canary"}

    bigger = load_config(write_config(tmp_path, "bigger", lambda d: d["functions"]["ping-stable"].update(
        memorySize=256)))
    with pytest.raises(UserError, match=r"refusing to update function ping-stable on nodejs18.x.*2026-03-09"):
        deploy(bigger, "prod", fresh_target(bigger), phases=("functions",))


# ---- throttling: botocore's standard retries ------------------------------------------------------------------------
class ThrottlingProxy:
    """A real HTTP server on 127.0.0.1 that answers the first `times` requests of one operation (method and path)
    with HTTP 429 and AWS's error shape, and forwards every other request to `upstream`."""

    HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "content-length", "host"}

    def __init__(self, upstream: str, method: str, path: str, code: str, body: dict[str, str], times: int) -> None:
        self.upstream = urlsplit(upstream)
        self.operation = (method, path)
        self.code, self.body, self.times = code, json.dumps(body).encode(), times
        self.attempts: list[float] = []  # monotonic arrival times of the operation's requests
        self.statuses: list[int] = []
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> ThrottlingProxy:
        self.thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.server.shutdown()
        self.server.server_close()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *_: Any) -> None:
                pass

            def handle_one(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                if (self.command, urlsplit(self.path).path) == proxy.operation:
                    proxy.attempts.append(time.monotonic())
                    if len(proxy.attempts) <= proxy.times:
                        proxy.statuses.append(429)
                        self.send_response(429)
                        self.send_header("x-amzn-ErrorType", proxy.code)
                        self.send_header("Content-Type", "application/json")
                        self.send_header("Content-Length", str(len(proxy.body)))
                        self.end_headers()
                        self.wfile.write(proxy.body)
                        return
                connection = http.client.HTTPConnection(proxy.upstream.hostname, proxy.upstream.port, timeout=60)
                headers = {key: value for key, value in self.headers.items() if key.lower() not in proxy.HOP_BY_HOP}
                connection.request(self.command, self.path, body=body or None, headers=headers)
                response = connection.getresponse()
                data = response.read()
                connection.close()
                if (self.command, urlsplit(self.path).path) == proxy.operation:
                    proxy.statuses.append(response.status)
                self.send_response(response.status)
                for key, value in response.getheaders():
                    if key.lower() not in proxy.HOP_BY_HOP:
                        self.send_header(key, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = handle_one

        return Handler


THROTTLED_READS = {  # a real throttling answer of each service, on a read that `plan` makes once, and its answer
    "lambda": (("GetFunction", "ping-stable"), "GET", "/2015-03-31/functions/ping-stable", "TooManyRequestsException",
               {"Type": "User", "message": "Rate exceeded", "Reason": "CallerRateLimitExceeded"}, 404),
    "apigateway": (("GetRestApis", None), "GET", "/restapis", "TooManyRequestsException",
                   {"message": "Too Many Requests"}, 200),
}


def fixed_jitter(monkeypatch: pytest.MonkeyPatch, value: float) -> None:
    """Standard retry mode sleeps rand(0, 1) * min(scale * 2 ** i, 20) seconds before retry i (scale 1 s for
    throttling, 0.05 s otherwise): fix rand at `value`."""
    original = ExponentialBackoff.__init__

    def init(self: ExponentialBackoff, *args: Any, **kwargs: Any) -> None:
        original(self, *args, **{**kwargs, "random": lambda: value})

    monkeypatch.setattr(ExponentialBackoff, "__init__", init)


@pytest.mark.parametrize("service", sorted(THROTTLED_READS))
def test_a_throttled_read_is_retried_with_backoff_and_then_succeeds(
        emulator: StackThread, monkeypatch: pytest.MonkeyPatch, service: str) -> None:
    call, method, path, code, body, answer = THROTTLED_READS[service]
    throttled = 2
    fixed_jitter(monkeypatch, 0.5)
    with ThrottlingProxy(emulator.url, method, path, code, body, times=throttled) as proxy:
        monkeypatch.setenv("AWS_ENDPOINT_URL", proxy.url)
        loaded = load_config(PING)
        target = fresh_target(loaded)
        assert target.kind == "emulator"  # the health probe went through the proxy
        log = CallLog(target)
        plan = compute_plan(loaded, "prod", target)
        assert len(plan.pending) == 9  # as without throttling
        assert [(name, params.get("FunctionName")) for name, params in log.calls].count(call) == 1
        assert len(proxy.attempts) == throttled + 1 and proxy.statuses == [429, 429, answer]  # 404: not yet created
        gaps = [later - earlier for earlier, later in zip(proxy.attempts, proxy.attempts[1:], strict=False)]
        assert gaps[0] >= 0.5 and gaps[1] >= 1.0, gaps  # 0.5 * 1 s * 2 ** i: the throttling backoff, doubling


def test_throttling_that_outlasts_the_retries_is_a_one_line_error(
        emulator: StackThread, monkeypatch: pytest.MonkeyPatch) -> None:
    _call, method, path, code, body, _answer = THROTTLED_READS["lambda"]
    fixed_jitter(monkeypatch, 0.0)
    with ThrottlingProxy(emulator.url, method, path, code, body, times=100) as proxy:
        monkeypatch.setenv("AWS_ENDPOINT_URL", proxy.url)
        result = run_cli("plan", str(PING), "--stage", "prod", ok=False)
    assert isinstance(result.exception, UserError), (result.output, result.exception)
    message = str(result.exception)
    assert message == ("lambda GetFunction was throttled (TooManyRequestsException: Rate exceeded) 7 times, retried "
                       "with backoff; wait a minute and run the command again (the account's request rate is shared "
                       "by every caller in the region)")
    assert len(proxy.attempts) == 7  # RETRY_CONFIG's max_attempts (6) counts the retries after the first attempt


# ---- errors, packaging, imports -------------------------------------------------------------------------------------
def test_errors_are_one_line_user_errors(aws_env: None, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    with pytest.raises(UserError, match="no AWS credentials found"):
        open_target()
    denied = ClientError({"Error": {"Code": "AccessDeniedException", "Message": (
        "User: arn:aws:iam::123456789012:user/ci is not authorized to perform: lambda:CreateFunction on resource: "
        "arn:aws:lambda:us-east-1:123456789012:function:ping-stable")}, "ResponseMetadata": {"HTTPStatusCode": 403}},
        "CreateFunction")
    assert "needs the IAM permission lambda:CreateFunction on arn:aws:lambda" in str(explain(denied))
    bare = ClientError({"Error": {"Code": "AccessDeniedException", "Message": "Forbidden"},
                        "ResponseMetadata": {"HTTPStatusCode": 403}}, "CreateRestApi")
    assert "apigateway:POST" in str(explain(bare, Call("apigateway", "CreateRestApi", "POST")))
    assert "lambda:AddPermission" in str(explain(bare, Call("lambda", "AddPermission", "POST")))


def test_unknown_api_and_stage(emulator: StackThread) -> None:
    missing = run_cli("canary", "status", "--api", "nope", "--stage", "prod", ok=False)
    assert isinstance(missing.exception, UserError) and "no REST API named 'nope'" in str(missing.exception)
    run_cli("deploy", str(PING), "--stage", "prod")
    stage = run_cli("canary", "set", "5", "--api", API, "--stage", "beta", ok=False)
    assert isinstance(stage.exception, UserError) and "has no stage 'beta' (stages: prod)" in str(stage.exception)
    plan = run_cli("plan", str(PING), "--stage", "beta", ok=False)
    assert isinstance(plan.exception, UserError) and "no REST API has a stage 'beta'" in str(plan.exception)


def test_package_is_deterministic(tmp_path: Path) -> None:
    code = tmp_path / "code"
    (code / "lib").mkdir(parents=True)
    (code / "index.js").write_text("exports.handler = async () => 1;\n")
    (code / "lib" / "run.sh").write_text("#!/bin/sh\n")
    (code / "lib" / "run.sh").chmod(0o755)
    (code / "__pycache__").mkdir()
    (code / "__pycache__" / "x.pyc").write_bytes(b"\0")
    first = package_dir(code)
    (code / "index.js").touch()
    assert package_dir(code) == first
    (tmp_path / "first.zip").write_bytes(first.data)
    with zipfile.ZipFile(tmp_path / "first.zip") as archive:
        infos = archive.infolist()
    assert [info.filename for info in infos] == ["index.js", "lib/run.sh"]
    assert {info.date_time for info in infos} == {(1980, 1, 1, 0, 0, 0)}
    assert [(info.external_attr >> 16) & 0o777 for info in infos] == [0o644, 0o755]
    (code / "index.js").write_text("exports.handler = async () => 2;\n")
    assert package_dir(code).code_sha256 != first.code_sha256


def test_deploy_never_imports_the_data_plane() -> None:
    code = ("import sys, emulator.cli.deploy, emulator.deploy.apply, emulator.deploy.canary; "
            "print('\\n'.join(sorted(m for m in sys.modules if m.startswith('emulator'))))")
    loaded = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True).stdout.split()
    data_plane = [name for name in loaded if name.startswith(("emulator.lambda_service", "emulator.apigateway"))]
    assert data_plane == [], data_plane


# ---- non-proxy integrations and authorizers (issue 16) ---------------------------------------------------------
def non_proxy(data: dict[str, Any]) -> None:
    """POST /pets/{id}: the ping function behind a non-proxy (AWS) integration with templates, passthroughBehavior
    NEVER and a response selected by pattern."""
    api = data["restApis"][API]
    uri = api["resources"]["/ping"]["GET"]["integration"]["uri"]
    api["resources"]["/pets/{id}"] = {"POST": {"integration": {
        "type": "AWS", "uri": uri, "passthroughBehavior": "NEVER",
        "requestTemplates": {"application/json": '{"id": "$input.params(\'id\')"}'},
        "integrationResponses": {
            "200": {"responseTemplates": {"application/json": "$util.parseJson($input.path('$.body')).message"}},
            "502": {"selectionPattern": "Task timed out.*", "responseTemplates": {"application/json": "late"}}}}}}
    del data["restApis"][API]["stages"]["prod"]["canarySettings"]


def test_a_non_proxy_integration_deploys_once_and_serves(emulator: StackThread, tmp_path: Path) -> None:
    """Templates, passthroughBehavior and selectionPattern reach the API (a second plan has nothing to change), and
    the deployed method answers through them; the integration's function got its permission."""
    path = write_config(tmp_path, "nonproxy", non_proxy)
    run_cli("deploy", str(path), "--stage", "prod")
    assert "No changes." in run_cli("plan", str(path), "--stage", "prod").output.splitlines()
    request = urllib.request.Request(f"{emulator.url}/prod/pets/7", data=b"{}", method="POST",
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as response:
        assert response.read() == b"pong"
    refused = urllib.request.Request(f"{emulator.url}/prod/pets/7", data=b"x", method="POST",
                                     headers={"Content-Type": "text/plain"})
    with pytest.raises(urllib.error.HTTPError) as unsupported:
        urllib.request.urlopen(refused, timeout=30)
    assert unsupported.value.code == 415


def mapped(data: dict[str, Any]) -> None:
    """non_proxy, plus requestParameters (a header, a query parameter, a stage variable, a static value) and a
    responseParameters header."""
    non_proxy(data)
    integration = data["restApis"][API]["resources"]["/pets/{id}"]["POST"]["integration"]
    integration["requestParameters"] = {
        "integration.request.header.X-Amz-Client-Context": "method.request.header.X-Context",
        "integration.request.querystring.q": "method.request.querystring.search",
        "integration.request.header.X-Alias": "stageVariables.lambdaAlias",
        "integration.request.header.X-Static": "'fixed'"}
    integration["integrationResponses"]["200"]["responseParameters"] = {"method.response.header.X-Served-By":
                                                                        "'lambda-canary'"}


def test_request_parameters_and_mapped_headers_deploy_once(emulator: StackThread, tmp_path: Path) -> None:
    """requestParameters reach PutIntegration, the method request parameters they read are declared on the method
    and the headers responseParameters map on the method response (AWS refuses undeclared ones); a second plan
    has nothing to change, and the deployed method answers with the mapped header."""
    path = write_config(tmp_path, "mapped", mapped)
    run_cli("deploy", str(path), "--stage", "prod")
    assert "No changes." in run_cli("plan", str(path), "--stage", "prod").output.splitlines()
    apigw = boto3.client("apigateway")
    api_id = apigw.get_rest_apis()["items"][0]["id"]
    resource = next(item for item in apigw.get_resources(restApiId=api_id)["items"] if item["path"] == "/pets/{id}")
    method = apigw.get_method(restApiId=api_id, resourceId=resource["id"], httpMethod="POST")
    assert method["requestParameters"] == {"method.request.header.X-Context": False,
                                           "method.request.querystring.search": False}
    assert method["methodIntegration"]["requestParameters"]["integration.request.header.X-Static"] == "'fixed'"
    assert method["methodResponses"]["200"]["responseParameters"] == {"method.response.header.X-Served-By": False}
    request = urllib.request.Request(f"{emulator.url}/prod/pets/7", data=b"{}", method="POST",
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as response:
        assert (response.read(), response.headers["X-Served-By"]) == (b"pong", "lambda-canary")


AUTHORIZED = REPO / "examples" / "nonproxy-authorizer" / "canary.yaml"
AUTHORIZER_URI = ("arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/arn:aws:lambda:us-east-1:123456789012:"
                  "function:authorizer-${stageVariables.alias}/invocations")


def pets(url: str, token: str | None, pet: str = "7") -> tuple[int, dict[str, Any]]:
    """GET /prod/pets/{pet} with `Authorization: token` (none when None): the status and the JSON body."""
    request = urllib.request.Request(f"{url}/prod/pets/{pet}", headers={"Authorization": token} if token else {})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def authorized_copy(tmp_path: Path, edit: Callable[[dict[str, Any]], None]) -> Path:
    """examples/nonproxy-authorizer/canary.yaml (code path made absolute) changed by `edit`."""
    data = yaml.safe_load(AUTHORIZED.read_text())
    for function in data["functions"].values():
        function["code"] = str(AUTHORIZED.parent)
    edit(data)
    path = tmp_path / "authorized.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def test_a_lambda_authorizer_deploys_with_its_permissions_once_and_guards_the_method(emulator: StackThread,
                                                                                      tmp_path: Path) -> None:
    """examples/nonproxy-authorizer through plan and deploy: the TOKEN authorizer (stage-variable URI, identity
    source, TTL), the method CUSTOM with its authorizerId, lambda:InvokeFunction for API Gateway on both authorizer
    functions (every stage and canary variable set) with SourceArn API_ID/authorizers/AUTHORIZER_ID; a second plan
    has nothing to change, and the deployed API answers as the authorizer decides (200, 403, 401, the pattern's
    404)."""
    assert "create │ authorizer │ pets-api token" in run_cli("plan", str(AUTHORIZED), "--stage", "prod").output
    loaded = load_config(AUTHORIZED)
    labels = [change.label() for change in compute_plan(loaded, "prod", fresh_target(loaded)).pending]
    assert f"create authorizer pets-api token (TOKEN {AUTHORIZER_URI}, identity method.request.header.Authorization, " \
           "ttl 300s)" in labels, labels
    assert f"create method pets-api GET /pets/{{id}} (AWS {AUTHORIZER_URI.replace('authorizer-', 'pets-')}, " \
           "authorizer token)" in labels, labels
    for function in ("authorizer-stable", "authorizer-canary"):
        assert f"create permission {function} from authorizer token (arn:aws:execute-api:us-east-1:123456789012:" \
               "<new>/authorizers/<new token>)" in labels, labels
    for function in ("pets-stable", "pets-canary"):
        assert f"create permission {function} from GET /pets/{{id}} (arn:aws:execute-api:us-east-1:123456789012:" \
               "<new>/*/GET/pets/*)" in labels, labels
    first = [label.split(" (")[0] for label in labels]
    assert first.index("create authorizer pets-api token") < first.index("create method pets-api GET /pets/{id}")
    run_cli("deploy", str(AUTHORIZED), "--stage", "prod")
    again = run_cli("plan", str(AUTHORIZED), "--stage", "prod").output
    assert "No changes." in again.splitlines(), again

    apigw, lam = boto3.client("apigateway"), boto3.client("lambda")
    api_id = apigw.get_rest_apis()["items"][0]["id"]
    [authorizer] = apigw.get_authorizers(restApiId=api_id)["items"]
    assert {key: authorizer.get(key) for key in ("name", "type", "authorizerUri", "identitySource",
                                                 "authorizerResultTtlInSeconds")} == {
        "name": "token", "type": "TOKEN", "authorizerUri": AUTHORIZER_URI,
        "identitySource": "method.request.header.Authorization", "authorizerResultTtlInSeconds": 300}
    resource = next(item for item in apigw.get_resources(restApiId=api_id)["items"] if item["path"] == "/pets/{id}")
    method = apigw.get_method(restApiId=api_id, resourceId=resource["id"], httpMethod="GET")
    assert (method["authorizationType"], method["authorizerId"]) == ("CUSTOM", authorizer["id"])
    assert set(method["methodResponses"]) == {"200", "404"}
    for function in ("authorizer-stable", "authorizer-canary"):
        statements = json.loads(lam.get_policy(FunctionName=function)["Policy"])["Statement"]
        assert [statement["Condition"]["ArnLike"]["AWS:SourceArn"] for statement in statements] == [
            f"arn:aws:execute-api:us-east-1:123456789012:{api_id}/authorizers/{authorizer['id']}"], statements

    status, body = pets(emulator.url, "allow")
    assert status == 200 and body["caller"] == "example-user" and body["id"] == "7", body
    assert pets(emulator.url, "deny") == (403, {"Message": "User is not authorized to access this resource with an "
                                                "explicit deny"})
    assert pets(emulator.url, None) == (401, {"message": "Unauthorized"})
    assert pets(emulator.url, "allow", "0") == (404, {"message": "Not found: 0"})


def test_an_authorizer_change_updates_it_and_redeploys_and_its_removal_deletes_it(emulator: StackThread,
                                                                                   tmp_path: Path) -> None:
    """A changed TTL and validation expression are one UpdateAuthorizer (and a new deployment, as AWS needs for an
    authorizer change to take effect); the authorizer taken off the method and the config is deleted after the
    method no longer names it, with the permissions granted for it."""
    run_cli("deploy", str(AUTHORIZED), "--stage", "prod")

    def shorter(data: dict[str, Any]) -> None:
        token = data["restApis"]["pets-api"]["authorizers"]["token"]
        token["authorizerResultTtlInSeconds"] = 0
        token["identityValidationExpression"] = "^(allow|deny)$"

    changed = authorized_copy(tmp_path, shorter)
    pending = compute_plan(load_config(changed), "prod", fresh_target(load_config(changed))).pending
    assert [(change.action, change.kind) for change in pending] == [("update", "authorizer"),
                                                                    ("create", "deployment"),
                                                                    ("update", "stage")], pending
    assert "/authorizerResultTtlInSeconds" in pending[0].detail and "/identityValidationExpression" in pending[0].detail
    run_cli("deploy", str(changed), "--stage", "prod")
    assert "No changes." in run_cli("plan", str(changed), "--stage", "prod").output.splitlines()
    api_id = boto3.client("apigateway").get_rest_apis()["items"][0]["id"]
    [authorizer] = boto3.client("apigateway").get_authorizers(restApiId=api_id)["items"]
    assert (authorizer["authorizerResultTtlInSeconds"], authorizer["identityValidationExpression"]) == (
        0, "^(allow|deny)$")
    assert pets(emulator.url, "nobody") == (401, {"message": "Unauthorized"})  # refused by the expression

    def open_again(data: dict[str, Any]) -> None:
        api = data["restApis"]["pets-api"]
        del api["authorizers"]
        del api["resources"]["/pets/{id}"]["GET"]["authorizer"]

    opened = authorized_copy(tmp_path, open_again)
    loaded = load_config(opened)
    _plan, done = deploy(loaded, "prod", fresh_target(loaded))
    made = [(change.action, change.kind, change.name.split(" lambda-canary-")[0]) for change in done.changes]
    assert made == [("update", "method", "pets-api GET /pets/{id}"), ("delete", "authorizer", "pets-api token"),
                    ("delete", "permission", "authorizer-canary"), ("delete", "permission", "authorizer-stable"),
                    ("create", "deployment", "pets-api d1"), ("update", "stage", "pets-api prod")], made
    assert boto3.client("apigateway").get_authorizers(restApiId=api_id)["items"] == []
    assert "No changes." in run_cli("plan", str(opened), "--stage", "prod").output.splitlines()
    status, body = pets(emulator.url, None)
    assert status == 200 and body["caller"] == "", body


def test_gateway_responses_deploy_does_not_put_are_named_in_a_warning(emulator: StackThread, tmp_path: Path) -> None:
    """deploy does not put gateway responses yet: the plan says so (the API still deploys; AWS then answers its
    errors with its defaults) rather than dropping them in silence."""
    def with_response(data: dict[str, Any]) -> None:
        data["restApis"][API]["gatewayResponses"] = {"DEFAULT_4XX": {"statusCode": "400"}}

    path = write_config(tmp_path, "responses", with_response)
    output = run_cli("plan", str(path), "--stage", "prod").output
    assert "does not put gateway responses yet (DEFAULT_4XX)" in " ".join(output.split()), output


def test_package_holds_the_code_not_the_configs_beside_it(tmp_path: Path) -> None:
    """examples/ping uses `code: .`: its zip holds the handler only, not canary.yaml, template.yaml or the OpenAPI
    files; a JSON or YAML file the code reads (not a lambda-canary config) stays in."""
    with zipfile.ZipFile(io.BytesIO(package_dir(PING_DIR).data)) as archive:
        assert archive.namelist() == ["src/handlers/ping.js"]
    code = tmp_path / "code"
    shutil.copytree(PING_DIR, code)
    (code / "package.json").write_text('{"name": "ping", "type": "commonjs"}\n')
    (code / "settings.yaml").write_text("greeting: hello\n")
    with zipfile.ZipFile(io.BytesIO(package_dir(code).data)) as archive:
        assert archive.namelist() == ["package.json", "settings.yaml", "src/handlers/ping.js"]


# ---- models and request validators --------------------------------------------------------------------------------
def validated(data: dict[str, Any]) -> None:
    """Stable only, plus POST /orders: a MOCK method whose request validator checks a required header and the body
    against the model Order."""
    without_canary(data)
    api = data["restApis"][API]
    api["models"] = {"Order": {"schema": {"type": "object", "required": ["item"],
                                          "properties": {"item": {"type": "string"}}},
                               "description": "an order"}}
    api["requestValidators"] = {"all": {"validateRequestBody": True, "validateRequestParameters": True}}
    api["resources"]["/orders"] = {"POST": {
        "requestValidator": "all", "requestModels": {"application/json": "Order"},
        "requestParameters": {"method.request.header.x-shop": True},
        "integration": {"type": "MOCK", "requestTemplates": {"application/json": '{"statusCode": 200}'},
                        "integrationResponses": {"200": {"responseTemplates": {"application/json": '{"ok": 1}'}}}}}}


def order(url: str, body: dict[str, Any], shop: str | None = "s1") -> tuple[int, Any]:
    request = urllib.request.Request(f"{url}/prod/orders", data=json.dumps(body).encode(), method="POST",
                                     headers={"Content-Type": "application/json", **({"x-shop": shop} if shop else {})})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def test_a_model_referring_to_another_deploys_referring_to_the_deployed_api(emulator: StackThread,
                                                                            tmp_path: Path) -> None:
    """A model refers to another by a URL holding its API's id; the config's refs name the emulator's id, so deploy
    writes them with the deployed API's (else AWS would follow them to another API or to none), and a second plan
    has nothing to change. The deployed method validates through the ref: an order list whose items are not Orders
    is refused, a good one passes (a ref left naming the local id resolves to nothing and refuses both)."""
    local_id = stable_api_id(API)  # the emulator's id of a config API without an `id`

    def orders(data: dict[str, Any]) -> None:
        validated(data)
        api = data["restApis"][API]
        api["models"]["Orders"] = {"schema": {"type": "array", "items": {
            "$ref": f"https://apigateway.amazonaws.com/restapis/{local_id}/models/Order"}}}
        api["resources"]["/orders"]["POST"]["requestModels"] = {"application/json": "Orders"}

    path = write_config(tmp_path, "orders", orders)
    assert load_config(path).api_id(API) == local_id
    run_cli("deploy", str(path), "--stage", "prod")
    assert "No changes." in run_cli("plan", str(path), "--stage", "prod").output.splitlines()
    apigw = boto3.client("apigateway")
    api_id = apigw.get_rest_apis()["items"][0]["id"]
    assert api_id != local_id
    schema = json.loads(apigw.get_model(restApiId=api_id, modelName="Orders")["schema"])
    assert schema["items"]["$ref"] == f"https://apigateway.amazonaws.com/restapis/{api_id}/models/Order"
    assert order(emulator.url, [{"item": "tea"}]) == (200, {"ok": 1})  # type: ignore[arg-type]
    assert order(emulator.url, [{"item": 7}]) == (400, {"message": "Invalid request body"})  # type: ignore[arg-type]


def test_models_and_request_validators_deploy_once_and_validate(emulator: StackThread, tmp_path: Path) -> None:
    """`models`, `requestValidators` and a method's requestValidator, requestModels and requestParameters reach the
    API (a second plan has nothing to change) and the deployed method validates; a changed schema updates the
    model and makes a new deployment; what the config drops is deleted, AWS's Empty and Error stay."""
    path = write_config(tmp_path, "validated", validated)
    run_cli("deploy", str(path), "--stage", "prod")
    assert "No changes." in run_cli("plan", str(path), "--stage", "prod").output.splitlines()
    apigw = boto3.client("apigateway")
    api_id = apigw.get_rest_apis()["items"][0]["id"]
    (validator,) = apigw.get_request_validators(restApiId=api_id)["items"]
    assert (validator["name"], validator["validateRequestBody"], validator["validateRequestParameters"]) == (
        "all", True, True)
    models = {model["name"]: model for model in apigw.get_models(restApiId=api_id)["items"]}
    assert sorted(models) == ["Empty", "Error", "Order"]
    assert (json.loads(models["Order"]["schema"])["required"], models["Order"]["description"]) == (["item"],
                                                                                                   "an order")
    resource = next(item for item in apigw.get_resources(restApiId=api_id)["items"] if item["path"] == "/orders")
    method = apigw.get_method(restApiId=api_id, resourceId=resource["id"], httpMethod="POST")
    assert (method["requestValidatorId"], method["requestModels"], method["requestParameters"]) == (
        validator["id"], {"application/json": "Order"}, {"method.request.header.x-shop": True})
    assert order(emulator.url, {"item": "tea"}) == (200, {"ok": 1})
    assert order(emulator.url, {"item": 7}) == (400, {"message": "Invalid request body"})
    assert order(emulator.url, {"item": "tea"}, shop=None) == (
        400, {"message": "Missing required request parameters: [x-shop]"})

    def quantity_too(data: dict[str, Any]) -> None:
        validated(data)
        data["restApis"][API]["models"]["Order"]["schema"]["required"].append("quantity")

    changed = write_config(tmp_path, "validated", quantity_too)
    labels = [change.label() for change in compute_plan(load_config(changed), "prod",
                                                         fresh_target(load_config(changed))).pending]
    assert labels[0] == f"update model {API} Order ({models['Order']['id']}: /schema)"
    assert any(label.startswith("create deployment") for label in labels), labels
    run_cli("deploy", str(changed), "--stage", "prod")
    assert "No changes." in run_cli("plan", str(changed), "--stage", "prod").output.splitlines()
    assert order(emulator.url, {"item": "tea"}) == (400, {"message": "Invalid request body"})
    assert order(emulator.url, {"item": "tea", "quantity": 2}) == (200, {"ok": 1})

    run_cli("deploy", str(write_config(tmp_path, "plain", without_canary)), "--stage", "prod")
    assert apigw.get_request_validators(restApiId=api_id)["items"] == []
    assert sorted(model["name"] for model in apigw.get_models(restApiId=api_id)["items"]) == ["Empty", "Error"]
