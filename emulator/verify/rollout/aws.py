"""A rollout against AWS (`--target aws`): the stage canary's percentTraffic or the alias's weights moved through
boto3 on the schedule, in real time, each step judged from CloudWatch and the configured alarms.

The plan is built first (after read-only calls that find the API and the stage's canary, or the alias's versions)
and the run executes exactly that plan, stopping at the first failed step with one rollback call; `--dry-run`
prints it. Calls, as AWS documents them:
- a stage canary's weight: UpdateStage `replace /canarySettings/percentTraffic` (API Gateway developer guide,
  update-canary-deployment.html); promotion: UpdateStage `replace /canarySettings/percentTraffic 0.0`, `copy
  /canarySettings/stageVariableOverrides -> /variables` and `copy /canarySettings/deploymentId -> /deploymentId`,
  then UpdateStage `remove /canarySettings` (promote-canary-deployment.html, delete-canary-deployment.html;
  reference §2.5); rollback: UpdateStage `remove /canarySettings`;
- an alias's weight: UpdateAlias RoutingConfig.AdditionalVersionWeights (Lambda developer guide,
  configuring-alias-routing.html); promotion: FunctionVersion := the new version, weights cleared; rollback:
  weights cleared.
Gates, from GetMetricData over each step's window (whole minutes from the step's start to the minute after its end;
counts summed over the periods in it, the p99 the largest period's):
- AWS/Lambda `Invocations`, `Errors` (Sum) and `Duration` (p99) by FunctionName, Resource (`function:alias`) and
  ExecutedVersion (Lambda developer guide, monitoring-metrics.html; the dimension set {ExecutedVersion,
  FunctionName, Resource} is one of those AWS publishes, as aws-cdk-lib's lambda-canned-metrics.generated.d.ts,
  generated from CloudWatch's metric metadata, lists for every Lambda metric);
- AWS/ApiGateway `Count`, `5XXError` (Sum) and `Latency` (p99) by ApiName and Stage, the canary's under Stage
  `<stage>/Canary` — the value AWS gives the canary's log groups; that CloudWatch's canary dimension is spelled
  the same is UNCONFIRMED (emulator/apigateway/metrics.py says the same of the local metrics);
- the error rate by Fisher's exact test on the two counts (as locally); latency by the ratio of the p99s against
  `maxLatencyRatio` (CloudWatch gives no samples, so no rank test); fewer than `minRequests` on either side: no
  metric judgement, the alarms still decide;
- DescribeAlarms of the config's `alarms`: one in state ALARM, or one that does not exist, fails the step.
PreTraffic/PostTraffic hooks are CodeDeploy's on AWS (a SAM deployment runs them); this command does not run them.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from emulator.errors import UserError
from emulator.verify.rollout.gates import GateSettings, Sample, judge_errors
from emulator.verify.rollout.schedule import Step, total_minutes

PROMOTED, ROLLED_BACK = "promoted", "rolled back"
CANARY_STAGE_SUFFIX = "/Canary"  # UNCONFIRMED as a CloudWatch dimension value (see the module's docstring)
Clients = Callable[[str], Any]


@dataclass
class Call:
    """One AWS call of the plan; `StartTime`/`EndTime` of GetMetricData are `<step N start>`-style placeholders
    until the step has run."""

    service: str
    operation: str  # botocore's operation name
    params: dict[str, Any]
    step: int | None = None
    role: str = ""  # read, shift, metrics, alarms, promote, rollback

    @property
    def method(self) -> str:
        """boto3's method name (UpdateStage -> update_stage)."""
        return "".join("_" + char.lower() if char.isupper() else char for char in self.operation).lstrip("_")

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        return {"service": self.service, "operation": self.operation, "params": self.params}

    def line(self) -> str:
        """`apigateway UpdateStage {...}`."""
        return f"{self.service} {self.operation} {json.dumps(self.params, separators=(',', ':'), default=str)}"


@dataclass
class Subject:
    """What moves: a stage canary or an alias's extra version, as read from AWS."""

    kind: str  # stage or alias
    name: str  # prod / ping:live
    reads: list[Call]
    rest_api_id: str = ""
    api_name: str = ""
    stage: str = ""
    overrides: dict[str, str] = field(default_factory=dict)
    function: str = ""
    alias: str = ""
    base_version: str = ""
    new_version: str = ""


@dataclass
class Plan:
    """Every call the rollout makes when every step passes, plus the one it makes instead on a failure."""

    subject: Subject
    steps: tuple[Step, ...]
    schedule: str
    time_scale: float
    alarms: list[str]
    calls: list[Call]
    rollback: Call

    def waits(self) -> Iterator[tuple[int, Step, float]]:
        """(step number, step, real seconds) of each judged step."""
        for index, step in enumerate(self.steps, 1):
            if step.gated:
                yield index, step, step.minutes * 60 * self.time_scale

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready (`--dry-run --json`)."""
        return {"target": "aws", "subject": f"{self.subject.kind} {self.subject.name}", "schedule": self.schedule,
                "timeScale": self.time_scale, "alarms": self.alarms,
                "steps": [{"percent": step.percent, "minutes": step.minutes,
                           "waitSeconds": step.minutes * 60 * self.time_scale if step.gated else 0}
                          for step in self.steps],
                "calls": [call.as_dict() for call in self.calls], "onFailure": self.rollback.as_dict()}

    def lines(self) -> list[str]:
        """The human plan: each call in order, the waits between them, the rollback."""
        out = [f"plan: {self.schedule} on {self.subject.kind} {self.subject.name} "
               f"({total_minutes(self.steps):g} minutes x time scale {self.time_scale:g})"]
        waits = {index: seconds for index, _, seconds in self.waits()}
        for call in self.calls:
            if call.role == "metrics" and call.step in waits:
                out.append(f"  wait {waits[call.step]:g} s (step {call.step})")
            out.append(f"  {call.line()}")
        out.append(f"on a failed step, instead of the rest: {self.rollback.line()}")
        return out


def resolve_stage(clients: Clients, api_name: str, stage: str) -> Subject:
    """Find the REST API by name and read the stage's canary (read-only calls)."""
    apigateway = clients("apigateway")
    reads = [Call("apigateway", "GetRestApis", {"limit": 500}, role="read")]
    apis = [api for api in apigateway.get_rest_apis(limit=500).get("items", []) if api.get("name") == api_name]
    if len(apis) != 1:
        raise UserError(f"--target aws: {len(apis) or 'no'} REST API named {api_name!r} in this account and region "
                        "(deploy it first with `lambda-canary deploy`)")
    api_id = apis[0]["id"]
    reads.append(Call("apigateway", "GetStage", {"restApiId": api_id, "stageName": stage}, role="read"))
    found = apigateway.get_stage(restApiId=api_id, stageName=stage)
    canary = found.get("canarySettings")
    if not canary:
        raise UserError(f"--target aws: stage {stage} of {api_name} ({api_id}) has no canarySettings; a rollout "
                        "moves an existing canary's traffic (`lambda-canary deploy` creates it from the config)")
    return Subject("stage", stage, reads, rest_api_id=api_id, api_name=api_name, stage=stage,
                   overrides=dict(canary.get("stageVariableOverrides") or {}))


def resolve_alias(clients: Clients, reference: str) -> Subject:
    """Read the alias's version and its one additional version (read-only call)."""
    function, _, alias = reference.partition(":")
    if not function or not alias:
        raise UserError(f"--alias {reference!r}: write FUNCTION:ALIAS")
    reads = [Call("lambda", "GetAlias", {"FunctionName": function, "Name": alias}, role="read")]
    found = clients("lambda").get_alias(FunctionName=function, Name=alias)
    weights = (found.get("RoutingConfig") or {}).get("AdditionalVersionWeights") or {}
    if len(weights) != 1:
        raise UserError(f"--alias {reference}: the alias has {len(weights)} additional versions; a rollout moves "
                        "the weight of exactly one (set it with `lambda-canary canary set --alias` or deploy)")
    return Subject("alias", reference, reads, function=function, alias=alias,
                   base_version=found["FunctionVersion"], new_version=next(iter(weights)))


def _metric(namespace: str, name: str, dimensions: dict[str, str]) -> dict[str, Any]:
    return {"Namespace": namespace, "MetricName": name,
            "Dimensions": [{"Name": key, "Value": value} for key, value in dimensions.items()]}


def metric_queries(subject: Subject, period: int) -> list[dict[str, Any]]:
    """Six queries: count, errors (Sum) and p99 latency of canary and base."""
    if subject.kind == "alias":
        namespace, names = "AWS/Lambda", ("Invocations", "Errors", "Duration")
        sides = {side: {"FunctionName": subject.function, "Resource": f"{subject.function}:{subject.alias}",
                        "ExecutedVersion": version}
                 for side, version in (("canary", subject.new_version), ("base", subject.base_version))}
    else:
        namespace, names = "AWS/ApiGateway", ("Count", "5XXError", "Latency")
        sides = {side: {"ApiName": subject.api_name, "Stage": stage}
                 for side, stage in (("canary", subject.stage + CANARY_STAGE_SUFFIX), ("base", subject.stage))}
    queries = []
    for side, dimensions in sides.items():
        for key, name, stat in (("n", names[0], "Sum"), ("errors", names[1], "Sum"), ("p99", names[2], "p99")):
            queries.append({"Id": f"{side}_{key}", "ReturnData": True, "MetricStat": {
                "Metric": _metric(namespace, name, dimensions), "Period": period, "Stat": stat}})
    return queries


def period_for(seconds: float) -> int:
    """One CloudWatch period covering a step: whole minutes, at least one."""
    return max(60, math.ceil(seconds / 60) * 60)


def _shift(subject: Subject, percent: float) -> Call:
    if subject.kind == "alias":
        return Call("lambda", "UpdateAlias", {"FunctionName": subject.function, "Name": subject.alias,
                                              "RoutingConfig": {"AdditionalVersionWeights": {
                                                  subject.new_version: round(percent / 100, 6)}}}, role="shift")
    return Call("apigateway", "UpdateStage", {"restApiId": subject.rest_api_id, "stageName": subject.stage,
                                              "patchOperations": [{"op": "replace",
                                                                   "path": "/canarySettings/percentTraffic",
                                                                   "value": f"{percent:.1f}"}]}, role="shift")


def _promotion(subject: Subject) -> list[Call]:
    if subject.kind == "alias":
        return [Call("lambda", "UpdateAlias", {"FunctionName": subject.function, "Name": subject.alias,
                                               "FunctionVersion": subject.new_version,
                                               "RoutingConfig": {"AdditionalVersionWeights": {}}}, role="promote")]
    operations = [{"op": "replace", "path": "/canarySettings/percentTraffic", "value": "0.0"}]
    if subject.overrides:
        operations.append({"op": "copy", "from": "/canarySettings/stageVariableOverrides", "path": "/variables"})
    operations.append({"op": "copy", "from": "/canarySettings/deploymentId", "path": "/deploymentId"})
    where = {"restApiId": subject.rest_api_id, "stageName": subject.stage}
    return [Call("apigateway", "UpdateStage", {**where, "patchOperations": operations}, role="promote"),
            Call("apigateway", "UpdateStage", {**where, "patchOperations": [
                {"op": "remove", "path": "/canarySettings"}]}, role="promote")]


def _rollback(subject: Subject) -> Call:
    if subject.kind == "alias":
        return Call("lambda", "UpdateAlias", {"FunctionName": subject.function, "Name": subject.alias,
                                              "RoutingConfig": {"AdditionalVersionWeights": {}}}, role="rollback")
    return Call("apigateway", "UpdateStage", {"restApiId": subject.rest_api_id, "stageName": subject.stage,
                                              "patchOperations": [{"op": "remove", "path": "/canarySettings"}]},
                role="rollback")


def build_plan(subject: Subject, steps: tuple[Step, ...], schedule: str, alarms: list[str],
               time_scale: float) -> Plan:
    """The reads already made, then per judged step: shift, (wait), GetMetricData, DescribeAlarms; then promote."""
    calls = list(subject.reads)
    plan = Plan(subject, steps, schedule, time_scale, list(alarms), calls, _rollback(subject))
    for index, step in enumerate(steps, 1):
        if not step.gated:
            calls.extend(_promotion(subject))
            break
        calls.append(_shift(subject, step.percent))
        calls[-1].step = index
        seconds = step.minutes * 60 * time_scale
        calls.append(Call("cloudwatch", "GetMetricData", {
            "MetricDataQueries": metric_queries(subject, period_for(seconds)),
            "StartTime": f"<step {index} start>", "EndTime": f"<step {index} end>"}, step=index, role="metrics"))
        if alarms:
            calls.append(Call("cloudwatch", "DescribeAlarms", {"AlarmNames": list(alarms)}, step=index,
                              role="alarms"))
    return plan


@dataclass
class AwsStep:
    """One judged step against AWS."""

    index: int
    percent: float
    minutes: float
    canary: dict[str, Any] = field(default_factory=dict)
    base: dict[str, Any] = field(default_factory=dict)
    gates: list[dict[str, Any]] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        """Every gate passed."""
        return all(gate["passed"] for gate in self.gates)


@dataclass
class AwsReport:
    """What the rollout did."""

    plan: Plan
    settings: GateSettings
    steps: list[AwsStep] = field(default_factory=list)
    outcome: str = ""

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready (`--json`)."""
        failed = next(({"step": step.index, "percent": step.percent, **gate} for step in self.steps
                        for gate in step.gates if not gate["passed"]), None)
        return {"target": "aws", "subject": f"{self.plan.subject.kind} {self.plan.subject.name}",
                "schedule": self.plan.schedule, "outcome": self.outcome, "failed": failed,
                "steps": [{"step": step.index, "percent": step.percent, "minutes": step.minutes,
                           "canary": step.canary, "base": step.base, "gates": step.gates, "passed": step.passed}
                          for step in self.steps]}

    def lines(self) -> list[str]:
        """The human report."""
        out = [f"rollout of {self.plan.subject.kind} {self.plan.subject.name} on AWS: {self.plan.schedule}"]
        for step in self.steps:
            out.append(f"step {step.index}: {step.percent:g}% for {step.minutes:g} min: canary "
                       f"{step.canary.get('n', 0):g} requests, base {step.base.get('n', 0):g}")
            out.extend(f"  {'pass' if gate['passed'] else 'FAIL'} {gate['metric']}: {gate['detail']}"
                       for gate in step.gates)
        failed = self.as_dict()["failed"]
        if failed is None:
            out.append("promoted: every step passed")
        else:
            out.append(f"rolled back at step {failed['step']} ({failed['percent']:g}%): the {failed['metric']} "
                       f"gate failed; {self.plan.rollback.line()}")
        return out


def _value(results: dict[str, list[float]], key: str, statistic: str) -> float | None:
    values = results.get(key) or []
    if not values:
        return None
    return float(sum(values)) if statistic == "sum" else float(max(values))


def judge_step(step: AwsStep, metrics: dict[str, Any], alarms: dict[str, Any] | None, alarm_names: list[str],
               settings: GateSettings) -> None:
    """The gates of one step from GetMetricData's and DescribeAlarms' answers."""
    results = {item["Id"]: list(item.get("Values") or []) for item in metrics.get("MetricDataResults", [])}
    for side in ("canary", "base"):
        n = _value(results, f"{side}_n", "sum") or 0.0
        errors = _value(results, f"{side}_errors", "sum") or 0.0
        p99 = _value(results, f"{side}_p99", "max")
        getattr(step, side).update(n=n, errors=errors, latencyP99Ms=p99)
    cn, bn = int(step.canary["n"]), int(step.base["n"])
    if min(cn, bn) >= settings.min_requests:
        canary = Sample(failed=[True] * min(int(step.canary["errors"]), cn) + [False] * max(0, cn - int(
            step.canary["errors"])))
        base = Sample(failed=[True] * min(int(step.base["errors"]), bn) + [False] * max(0, bn - int(
            step.base["errors"])))
        judgement = judge_errors(canary, base, settings)
        step.gates.append({"metric": judgement.metric, "passed": judgement.passed, "pValue": judgement.p_value,
                           "test": judgement.test, "detail": judgement.detail})
        cp, bp = step.canary["latencyP99Ms"], step.base["latencyP99Ms"]
        if cp is not None and bp:
            ratio = cp / bp
            step.gates.append({"metric": "latency", "passed": ratio <= settings.max_latency_ratio, "pValue": None,
                               "test": "p99 ratio (CloudWatch gives no samples for a rank test)",
                               "detail": f"canary p99 {cp:.1f} ms / base p99 {bp:.1f} ms = {ratio:.2f} "
                                         f"(allowed {settings.max_latency_ratio:g})"})
    else:
        step.gates.append({"metric": "sample", "passed": True, "pValue": None, "test": "none",
                           "detail": f"canary {cn}, base {bn} requests: fewer than minRequests="
                                     f"{settings.min_requests} on a side, no metric judgement (alarms still apply)"})
    if alarms is not None:
        states = {alarm["AlarmName"]: alarm.get("StateValue")
                  for alarm in [*alarms.get("MetricAlarms", []), *alarms.get("CompositeAlarms", [])]}
        for name in alarm_names:
            state = states.get(name)
            step.gates.append({"metric": f"alarm {name}", "passed": state in ("OK", "INSUFFICIENT_DATA"),
                               "pValue": None, "test": "DescribeAlarms",
                               "detail": f"state {state}" if state else "no such alarm in this account and region"})


class InterruptedRollout(Exception):
    """A rollout stopped by an error or Ctrl-C after traffic had shifted; `rolled_back` says whether the rollback
    call then succeeded (the canary back to 0%) and, if not, why."""

    def __init__(self, cause: BaseException, rolled_back: bool, rollback_error: str | None = None) -> None:
        super().__init__(str(cause))
        self.cause = cause
        self.rolled_back = rolled_back
        self.rollback_error = rollback_error


def run_plan(plan: Plan, clients: Clients, settings: GateSettings,
             waiting: Callable[[int, float], None] | None = None) -> AwsReport:
    """Execute the plan: each call as planned (metric windows filled in), a failed step -> the rollback call. An
    error or Ctrl-C once traffic has shifted also makes the rollback call (InterruptedRollout says how it went):
    a canary is never left at a step's weight."""
    shifted: list[bool] = []
    try:
        return _run_calls(plan, clients, settings, waiting, shifted)
    except BaseException as error:
        if not shifted:
            raise
        rollback = plan.rollback
        try:
            getattr(clients(rollback.service), rollback.method)(**rollback.params)
        except Exception as failed:
            raise InterruptedRollout(error, False, str(failed)) from error
        raise InterruptedRollout(error, True) from error


def _run_calls(plan: Plan, clients: Clients, settings: GateSettings, waiting: Callable[[int, float], None] | None,
               shifted: list[bool]) -> AwsReport:
    report = AwsReport(plan, settings)
    started: dict[int, dt.datetime] = {}
    current: AwsStep | None = None
    metrics: dict[str, Any] = {}
    wait = waiting or (lambda step, seconds: time.sleep(seconds))
    steps = {index: (step, seconds) for index, step, seconds in plan.waits()}
    calls = [call for call in plan.calls if call.role != "read"]  # the reads were made while planning
    for position, call in enumerate(calls):
        params = dict(call.params)
        if call.role == "metrics":
            assert call.step is not None
            wait(call.step, steps[call.step][1])
            # whole minutes, as CloudWatch aligns them: from the step's minute to the next minute after now
            start = started[call.step].replace(second=0, microsecond=0)
            params["StartTime"] = start
            params["EndTime"] = max(dt.datetime.now(dt.UTC).replace(second=0, microsecond=0),
                                    start) + dt.timedelta(minutes=1)
        if call.role == "shift":
            shifted.append(True)  # from here an error rolls back (the call may have reached AWS before failing)
        answer = getattr(clients(call.service), call.method)(**params)
        if call.role == "shift":
            assert call.step is not None
            started[call.step] = dt.datetime.now(dt.UTC)
            planned = steps[call.step][0]
            current = AwsStep(call.step, planned.percent, planned.minutes)
            report.steps.append(current)
        elif call.role == "metrics":
            metrics = answer
        if current is not None and call.role in ("metrics", "alarms"):
            following = calls[position + 1] if position + 1 < len(calls) else None
            if following is None or following.step != current.index:  # the step's last read: judge it
                judge_step(current, metrics, answer if call.role == "alarms" else None, plan.alarms, settings)
                if not current.passed:
                    rollback = plan.rollback
                    getattr(clients(rollback.service), rollback.method)(**rollback.params)
                    report.outcome = ROLLED_BACK
                    return report
    report.outcome = PROMOTED
    return report
