"""`lambda-canary rollout --target aws` against AWS stand-ins: the emulator's own AWS API (stage and alias
rollouts; CloudWatch from moto's server through AWS_ENDPOINT_URL_CLOUDWATCH, since the emulator serves no CloudWatch)
and moto's server (alias rollouts, its CloudWatch). Each test records every call boto3 makes (botocore's
`before-parameter-build` and `before-call` events) and compares them with the plan `--dry-run --json` printed.
Waits are scaled down (`--time-scale` / time_scale=1e-4: a 5-minute step waits 0.03 s). Nothing is statistical:
the metrics are put by the test."""

from __future__ import annotations

import datetime as dt
import io
import json
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
import yaml
from click.testing import CliRunner
from moto.server import ThreadedMotoServer

from emulator.cli.rollout import rollout_command
from emulator.errors import UserError
from emulator.stack import StackOptions
from emulator.testing import StackThread
from emulator.verify.rollout.aws import InterruptedRollout, build_plan, resolve_alias, resolve_stage, run_plan
from emulator.verify.rollout.gates import GateSettings
from emulator.verify.rollout.schedule import steps_of

REPO = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).resolve().parent / "fixtures" / "rollout"
SCALE = 1e-4


@pytest.fixture(scope="module")
def moto() -> Iterator[str]:
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


class Recorder:
    """A boto3 session whose every call (operation and the caller's parameters) is recorded."""

    def __init__(self) -> None:
        self.session = boto3.Session(region_name="us-east-1")
        self.calls: list[dict[str, Any]] = []
        self._params: dict[str, Any] = {}
        self._clients: dict[str, Any] = {}
        self.session.events.register("before-parameter-build.*.*", self._keep)
        self.session.events.register("before-call.*.*", self._call)

    def _keep(self, params: dict[str, Any], **_: Any) -> None:
        self._params = json.loads(json.dumps(params, default=lambda value: value.isoformat()))

    def _call(self, model: Any = None, **_: Any) -> None:
        self.calls.append({"service": model.service_model.service_name, "operation": model.name,
                           "params": self._params})

    def client(self, service: str) -> Any:
        if service not in self._clients:
            self._clients[service] = self.session.client(service)
        return self._clients[service]

    def normalised(self) -> list[dict[str, Any]]:
        """The calls with GetMetricData's windows as the plan's placeholders (checked to be real, ordered)."""
        out, step = [], 0
        for call in self.calls:
            params = dict(call["params"])
            if call["operation"] == "GetMetricData":
                step += 1
                start = dt.datetime.fromisoformat(params["StartTime"])
                assert start < dt.datetime.fromisoformat(params["EndTime"])
                params["StartTime"], params["EndTime"] = f"<step {step} start>", f"<step {step} end>"
            out.append({**call, "params": params})
        return out


def dry_run(config: Path, *args: str) -> dict[str, Any]:
    result = CliRunner().invoke(rollout_command, [str(config), "--target", "aws", "--dry-run", "--json", *args])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def gated_steps(plan: dict[str, Any]) -> int:
    return sum(1 for step in plan["steps"] if step["percent"] < 100)


def stage_config(tmp_path: Path) -> Path:
    document = yaml.safe_load((FIXTURES / "hooks.yaml").read_text())
    for function in document["functions"].values():
        function["code"] = str(FIXTURES)
    document["rollout"] = {"schedule": "Linear10PercentEvery1Minute", "alarms": ["canary-5xx"]}
    path = tmp_path / "stage.yaml"
    path.write_text(yaml.safe_dump(document))
    return path


def alias_config(tmp_path: Path) -> Path:
    document = yaml.safe_load((REPO / "examples" / "alias-routing" / "canary.yaml").read_text())
    document["functions"]["ping"]["code"] = str(REPO / "examples" / "ping")
    document["rollout"] = {"schedule": "Canary10Percent5Minutes", "alarms": ["ping-errors"]}
    path = tmp_path / "alias.yaml"
    path.write_text(yaml.safe_dump(document))
    return path


def put_alarm(cloudwatch: Any, name: str) -> None:
    cloudwatch.put_metric_alarm(AlarmName=name, Namespace="AWS/Lambda", MetricName="Errors", Statistic="Sum",
                                Period=60, EvaluationPeriods=1, Threshold=1, ComparisonOperator="GreaterThanThreshold")


@pytest.fixture
def emulator_stage(aws_env: None, moto: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    config = stage_config(tmp_path)
    with StackThread(config, StackOptions(port=0, seed=3, access_log=False, function_logs=False)) as running:
        monkeypatch.setenv("AWS_ENDPOINT_URL", running.url)
        monkeypatch.setenv("AWS_ENDPOINT_URL_CLOUDWATCH", moto)
        put_alarm(boto3.client("cloudwatch"), "canary-5xx")
        yield config


def test_a_stage_rollout_on_the_emulators_aws_api_makes_exactly_the_planned_calls(emulator_stage: Path) -> None:
    plan = dry_run(emulator_stage, "--time-scale", str(SCALE))
    assert gated_steps(plan) == 9
    operations = [call["operation"] for call in plan["calls"]]
    assert operations[:2] == ["GetRestApis", "GetStage"]
    assert operations[2:6] == ["UpdateStage", "GetMetricData", "DescribeAlarms", "UpdateStage"]
    assert operations.count("GetMetricData") == 9 and operations[-2:] == ["UpdateStage", "UpdateStage"]
    promote = plan["calls"][-2]["params"]["patchOperations"]
    assert promote == [{"op": "replace", "path": "/canarySettings/percentTraffic", "value": "0.0"},
                       {"op": "copy", "from": "/canarySettings/stageVariableOverrides", "path": "/variables"},
                       {"op": "copy", "from": "/canarySettings/deploymentId", "path": "/deploymentId"}]
    canary_dimensions = plan["calls"][3]["params"]["MetricDataQueries"][0]["MetricStat"]["Metric"]["Dimensions"]
    assert canary_dimensions == [{"Name": "ApiName", "Value": "multi-runtime-api"},
                                 {"Name": "Stage", "Value": "prod/Canary"}]

    recorder = Recorder()
    subject = resolve_stage(recorder.client, "multi-runtime-api", "prod")
    report = run_plan(build_plan(subject, steps_of("Linear10PercentEvery1Minute"), "Linear10PercentEvery1Minute",
                                 ["canary-5xx"], SCALE), recorder.client, GateSettings())
    assert report.outcome == "promoted"
    assert recorder.normalised() == plan["calls"]
    stage = boto3.client("apigateway").get_stage(restApiId=subject.rest_api_id, stageName="prod")
    assert "canarySettings" not in stage
    assert stage["deploymentId"] != "d1" and stage["variables"]["lambdaAlias"] == "canary"


def test_an_alias_rollout_on_the_emulators_aws_api_makes_exactly_the_planned_calls(
        aws_env: None, moto: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = alias_config(tmp_path)
    with StackThread(config, StackOptions(port=0, seed=3, access_log=False, function_logs=False)) as running:
        monkeypatch.setenv("AWS_ENDPOINT_URL", running.url)
        monkeypatch.setenv("AWS_ENDPOINT_URL_CLOUDWATCH", moto)
        put_alarm(boto3.client("cloudwatch"), "ping-errors")
        plan = dry_run(config, "--alias", "ping:live", "--time-scale", str(SCALE))
        assert [call["operation"] for call in plan["calls"]] == [
            "GetAlias", "UpdateAlias", "GetMetricData", "DescribeAlarms", "UpdateAlias"]
        assert plan["calls"][1]["params"]["RoutingConfig"] == {"AdditionalVersionWeights": {"2": 0.1}}
        dimensions = plan["calls"][2]["params"]["MetricDataQueries"][0]["MetricStat"]["Metric"]["Dimensions"]
        assert dimensions == [{"Name": "FunctionName", "Value": "ping"}, {"Name": "Resource", "Value": "ping:live"},
                              {"Name": "ExecutedVersion", "Value": "2"}]
        recorder = Recorder()
        report = run_plan(build_plan(resolve_alias(recorder.client, "ping:live"), steps_of("Canary10Percent5Minutes"),
                                     "Canary10Percent5Minutes", ["ping-errors"], SCALE), recorder.client,
                          GateSettings())
        assert report.outcome == "promoted"
        assert recorder.normalised() == plan["calls"]
        alias = boto3.client("lambda").get_alias(FunctionName="ping", Name="live")
        assert alias["FunctionVersion"] == "2" and not (alias.get("RoutingConfig") or {}).get(
            "AdditionalVersionWeights")


@pytest.fixture
def moto_alias(aws_env: None, moto: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A function with versions 1 and 2 and alias `live` (90/10) in moto; AWS_ENDPOINT_URL points at moto."""
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto)
    name = f"ping-{dt.datetime.now().strftime('%H%M%S%f')}"
    role = boto3.client("iam").create_role(RoleName=name, AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as bundle:
        bundle.writestr("index.js", "exports.handler = async () => ({statusCode: 200});")
    lambdas = boto3.client("lambda")
    lambdas.create_function(FunctionName=name, Runtime="nodejs22.x", Role=role, Handler="index.handler",
                            Code={"ZipFile": archive.getvalue()})
    for description in ("one", "two"):
        lambdas.update_function_configuration(FunctionName=name, Description=description)
        lambdas.publish_version(FunctionName=name)
    lambdas.create_alias(FunctionName=name, Name="live", FunctionVersion="1",
                         RoutingConfig={"AdditionalVersionWeights": {"2": 0.1}})
    put_alarm(boto3.client("cloudwatch"), f"{name}-errors")
    yield name


def test_an_alias_rollout_on_moto_makes_exactly_the_planned_calls(moto_alias: str, tmp_path: Path) -> None:
    config = alias_config(tmp_path)
    document = yaml.safe_load(config.read_text())
    document["functions"][moto_alias] = document["functions"].pop("ping")
    document["rollout"] = {"schedule": "Linear10PercentEvery1Minute", "alarms": [f"{moto_alias}-errors"]}
    document["restApis"] = {}
    config.write_text(yaml.safe_dump(document))
    plan = dry_run(config, "--alias", f"{moto_alias}:live", "--time-scale", str(SCALE))
    assert gated_steps(plan) == 9 and plan["calls"][0]["operation"] == "GetAlias"
    recorder = Recorder()
    report = run_plan(build_plan(resolve_alias(recorder.client, f"{moto_alias}:live"),
                                 steps_of("Linear10PercentEvery1Minute"), "Linear10PercentEvery1Minute",
                                 [f"{moto_alias}-errors"], SCALE), recorder.client, GateSettings())
    assert report.outcome == "promoted", report.lines()
    assert recorder.normalised() == plan["calls"]
    assert boto3.client("lambda").get_alias(FunctionName=moto_alias, Name="live")["FunctionVersion"] == "2"


def test_an_alarm_in_state_alarm_rolls_the_alias_back_at_the_first_step(moto_alias: str) -> None:
    boto3.client("cloudwatch").set_alarm_state(AlarmName=f"{moto_alias}-errors", StateValue="ALARM",
                                               StateReason="test")
    recorder = Recorder()
    plan = build_plan(resolve_alias(recorder.client, f"{moto_alias}:live"), steps_of("Canary10Percent5Minutes"),
                      "Canary10Percent5Minutes", [f"{moto_alias}-errors"], SCALE)
    report = run_plan(plan, recorder.client, GateSettings())
    assert report.outcome == "rolled back"
    assert report.as_dict()["failed"]["metric"] == f"alarm {moto_alias}-errors"
    planned = [call.as_dict() for call in plan.calls]
    assert recorder.normalised() == [*planned[:4], plan.rollback.as_dict()]  # GetAlias, shift, metrics, alarms
    alias = boto3.client("lambda").get_alias(FunctionName=moto_alias, Name="live")
    assert alias["FunctionVersion"] == "1" and not (alias.get("RoutingConfig") or {}).get("AdditionalVersionWeights")


def test_ctrl_c_after_the_first_shift_rolls_the_alias_back_before_it_stops(moto_alias: str) -> None:
    """An interruption (Ctrl-C here, an AWS error alike) once traffic has shifted never leaves the canary at that
    step's weight: the rollback call is made, then the interruption goes on."""
    def interrupted(step: int, seconds: float) -> None:
        raise KeyboardInterrupt

    recorder = Recorder()
    plan = build_plan(resolve_alias(recorder.client, f"{moto_alias}:live"), steps_of("Canary10Percent5Minutes"),
                      "Canary10Percent5Minutes", [], SCALE)
    with pytest.raises(InterruptedRollout) as stopped:
        run_plan(plan, recorder.client, GateSettings(), interrupted)
    assert stopped.value.rolled_back and isinstance(stopped.value.cause, KeyboardInterrupt)
    planned = [call.as_dict() for call in plan.calls]
    assert recorder.normalised() == [*planned[:2], plan.rollback.as_dict()]  # GetAlias, the shift, the rollback
    alias = boto3.client("lambda").get_alias(FunctionName=moto_alias, Name="live")
    assert alias["FunctionVersion"] == "1" and not (alias.get("RoutingConfig") or {}).get("AdditionalVersionWeights")


def test_canary_errors_in_cloudwatch_fail_the_error_rate_gate(moto_alias: str) -> None:
    """During the step (the wait), the test puts what Lambda would report: the canary (version 2) 40 errors in
    200 invocations, the base 0 in 1800. Fisher's one-sided p is far below 1e-3 (about 1e-40)."""
    cloudwatch = boto3.client("cloudwatch")

    def traffic(step: int, seconds: float) -> None:
        for version, invocations, errors in (("2", 200, 40), ("1", 1800, 0)):
            dimensions = [{"Name": "FunctionName", "Value": moto_alias},
                          {"Name": "Resource", "Value": f"{moto_alias}:live"},
                          {"Name": "ExecutedVersion", "Value": version}]
            cloudwatch.put_metric_data(Namespace="AWS/Lambda", MetricData=[
                {"MetricName": "Invocations", "Dimensions": dimensions, "Value": invocations},
                {"MetricName": "Errors", "Dimensions": dimensions, "Value": errors}])
            # no Duration: moto answers a p99 statistic with None and fails to serialise it (moto 5.2.6)

    recorder = Recorder()
    plan = build_plan(resolve_alias(recorder.client, f"{moto_alias}:live"), steps_of("Canary10Percent5Minutes"),
                      "Canary10Percent5Minutes", [], SCALE)
    report = run_plan(plan, recorder.client, GateSettings(), traffic)
    failed = report.as_dict()["failed"]
    assert report.outcome == "rolled back" and failed["metric"] == "errorRate" and failed["pValue"] < 1e-10
    assert report.steps[0].canary["n"] == 200 and report.steps[0].base["errors"] == 0


def test_the_human_dry_run_lists_calls_waits_and_the_rollback(emulator_stage: Path) -> None:
    result = CliRunner().invoke(rollout_command, [str(emulator_stage), "--target", "aws", "--dry-run",
                                        "--schedule", "Canary10Percent5Minutes", "--time-scale", "0.5"])
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0].startswith("plan: Canary10Percent5Minutes on stage prod")
    assert "  wait 150 s (step 1)" in lines
    assert lines[-1].startswith('on a failed step, instead of the rest: apigateway UpdateStage {"restApiId"')
    assert '"op":"remove","path":"/canarySettings"' in lines[-1]


def test_the_command_runs_the_stage_rollout_and_reports_it(emulator_stage: Path) -> None:
    """Through the command line, as a user runs it: a real (scaled) wait per step, the JSON report, exit 0."""
    result = CliRunner().invoke(rollout_command, [str(emulator_stage), "--target", "aws", "--schedule",
                                                  "Canary10Percent5Minutes", "--time-scale", str(SCALE), "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["outcome"] == "promoted" and report["subject"] == "stage prod"
    gates = report["steps"][0]["gates"]
    assert [gate["metric"] for gate in gates] == ["sample", "alarm canary-5xx"]  # no metrics: only the alarm judged
    assert gates[1]["passed"] and gates[1]["detail"] in ("state OK", "state INSUFFICIENT_DATA")  # moto: OK


def test_dry_run_without_target_aws_is_a_user_error(tmp_path: Path) -> None:
    result = CliRunner().invoke(rollout_command, [str(stage_config(tmp_path)), "--dry-run"])
    assert isinstance(result.exception, UserError)  # the command line prints it on one line and exits 2
    assert result.exception.message == "--dry-run plans the AWS calls of --target aws; give --target aws"
