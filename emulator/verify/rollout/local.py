"""A rollout rehearsed locally: the emulator serves the config, generated traffic runs on a simulated clock.

Each step sets the stage canary's percentTraffic, sends `traffic * minutes * 60` requests (as fast as the emulator
answers: the clock is simulated, so a 30-minute schedule takes seconds), and judges the step's canary requests
against its base requests (emulator/rollout/gates.py) from the gateway's decision records. A failed gate removes
the canary at once (all traffic back to the base, as `canary rollback` does); after the last step the canary is
promoted as AWS promotes one (its deploymentId and stage-variable overrides copied into the stage, then the canary
removed; reference §2.5). With `--alias FUNCTION:ALIAS` the weight is the alias's additional version's, canary and
base are told apart by the version that ran, and promotion points the alias at the new version. Nothing leaves
the process: the stage and the alias live in the in-process emulator.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp

from emulator.apigateway.observability import DecisionRecord
from emulator.config import HooksConfig, LoadedConfig
from emulator.control_plane.codedeploy_api import CodeDeployApi
from emulator.errors import UserError
from emulator.verify.diff.corpus import DiffRequest, load_any
from emulator.verify.rollout.gates import GateSettings, Judgement, Sample, enough, judge
from emulator.verify.rollout.hooks import POST_TRAFFIC, PRE_TRAFFIC, HookResult, run_hook
from emulator.verify.rollout.schedule import Step, total_minutes

MAX_EXTENSION = 10  # a step short of the minimum sample may send up to 10x its planned requests more
PROMOTED, ROLLED_BACK = "promoted", "rolled back"


@dataclass
class StepReport:
    """What happened at one step."""

    index: int
    percent: float
    minutes: float
    start_minute: float
    requests: int = 0
    extended_minutes: float = 0.0
    canary: dict[str, Any] = field(default_factory=dict)
    base: dict[str, Any] = field(default_factory=dict)
    judgements: list[Judgement] = field(default_factory=list)
    inconclusive: str | None = None

    @property
    def passed(self) -> bool:
        """Every gate passed (a promotion step has none)."""
        return self.inconclusive is None and all(judgement.passed for judgement in self.judgements)

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        return {"step": self.index, "percent": self.percent, "minutes": self.minutes,
                "startMinute": round(self.start_minute, 3), "requests": self.requests,
                "extendedMinutes": round(self.extended_minutes, 3), "canary": self.canary, "base": self.base,
                "gates": [judgement.as_dict() for judgement in self.judgements], "inconclusive": self.inconclusive,
                "passed": self.passed}


@dataclass
class RolloutReport:
    """The whole rollout."""

    config: str
    stage: str
    schedule: str
    steps_planned: tuple[Step, ...]
    traffic: float
    settings: GateSettings
    seed: int | None
    steps: list[StepReport] = field(default_factory=list)
    outcome: str = ""
    alias: str | None = None  # FUNCTION:ALIAS when the rollout moves an alias's weights
    hooks: list[HookResult] = field(default_factory=list)
    deployment_id: str | None = None  # the local CodeDeploy deployment the hooks report to
    corpus: str | None = None  # where the requests came from, when not GETs of one path

    @property
    def hook_failure(self) -> HookResult | None:
        """The hook that stopped the rollout, if one did."""
        return next((hook for hook in self.hooks if not hook.passed), None)

    @property
    def failure(self) -> tuple[StepReport, Judgement | None] | None:
        """The step that stopped the rollout and its failed gate (None: inconclusive)."""
        for step in self.steps:
            if not step.passed:
                failed = [judgement for judgement in step.judgements if not judgement.passed]
                return step, (failed[0] if failed else None)
        return None

    @property
    def false_alarm_bound(self) -> float:
        """P(a healthy canary is rolled back) <= 2 judgements x judged steps x significance (union bound)."""
        judged = sum(1 for step in self.steps_planned if step.gated)
        return min(1.0, 2 * judged * self.settings.significance)

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready (`--json`)."""
        failure = self.failure
        failed: dict[str, Any] | None = None
        hook = self.hook_failure
        if hook is not None:
            failed = {"metric": f"{hook.hook} hook", **hook.as_dict()}
        elif failure is not None:
            step, judgement = failure
            failed = {"step": step.index, "percent": step.percent,
                      **(judgement.as_dict() if judgement else {"metric": "sample", "detail": step.inconclusive})}
        settings = self.settings
        return {"target": "local", "config": self.config, "stage": self.stage, "alias": self.alias,
                "schedule": self.schedule,
                "plan": [{"percent": step.percent, "minutes": step.minutes} for step in self.steps_planned],
                "scheduleMinutes": total_minutes(self.steps_planned), "trafficPerSecond": self.traffic,
                "seed": self.seed,
                "gates": {"significance": settings.significance,
                          "maxErrorRateIncrease": settings.max_error_rate_increase,
                          "maxLatencyRatio": settings.max_latency_ratio, "minRequests": settings.min_requests},
                "falseAlarmBound": self.false_alarm_bound,
                "steps": [step.as_dict() for step in self.steps], "outcome": self.outcome, "failed": failed,
                "deploymentId": self.deployment_id, "hooks": [hook.as_dict() for hook in self.hooks],
                "corpus": self.corpus}

    def lines(self) -> list[str]:
        """The human report: one line per step and gate, then the outcome."""
        subject = f"alias {self.alias} (through stage {self.stage})" if self.alias else f"stage {self.stage}"
        out = [f"rollout of {self.config} {subject}: {self.schedule} "
               f"({total_minutes(self.steps_planned):g} simulated minutes at {self.traffic:g} requests/s); "
               f"false-alarm probability of a healthy canary <= {self.false_alarm_bound:.2g}"]
        for hook in self.hooks:
            if hook.hook == PRE_TRAFFIC:
                out.append(f"{'pass' if hook.passed else 'FAIL'} {hook.hook} hook {hook.function}: {hook.detail}")
        for step in self.steps:
            if not step.judgements and step.inconclusive is None:
                out.append(f"step {step.index}: {step.percent:g}% at minute {step.start_minute:g}: promoted")
                continue
            more = f", {step.extended_minutes:g} min extended" if step.extended_minutes else ""
            out.append(f"step {step.index}: {step.percent:g}% for {step.minutes:g} min from minute "
                       f"{step.start_minute:g}: {step.requests} requests{more} "
                       f"(canary {step.canary.get('n', 0)}, base {step.base.get('n', 0)})")
            for judgement in step.judgements:
                out.append(f"  {'pass' if judgement.passed else 'FAIL'} {judgement.metric}: {judgement.detail}")
            if step.inconclusive:
                out.append(f"  FAIL sample: {step.inconclusive}")
        for hook in self.hooks:
            if hook.hook == POST_TRAFFIC:
                out.append(f"{'pass' if hook.passed else 'FAIL'} {hook.hook} hook {hook.function}: {hook.detail}")
        failure = self.failure
        stopped_by = self.hook_failure
        if stopped_by is not None:
            when = "before any traffic moved" if stopped_by.hook == PRE_TRAFFIC else "after all traffic had moved"
            after = stopped_by.hook == POST_TRAFFIC
            undone = ("the alias points at its previous version again" if self.alias and after
                      else "the alias's weights are cleared" if self.alias
                      else "the stage's previous deployment and variables are back" if after
                      else "the canary is removed")
            out.append(f"rolled back {when}: the {stopped_by.hook} hook {stopped_by.function} failed "
                       f"({stopped_by.detail}); {undone}")
        elif failure is None:
            out.append("promoted: every gate passed; " + (
                "the alias points at the new version now" if self.alias
                else "the canary's deployment and overrides are the stage's now"))
        else:
            step, failed_gate = failure
            what = f"the {failed_gate.metric} gate failed" if failed_gate else "too few requests to judge"
            undone = "the alias's weights are cleared" if self.alias else "the canary is removed"
            out.append(f"rolled back at step {step.index} ({step.percent:g}%): {what}; {undone}")
        return out


class StageCanary:
    """A stage's canary: the weight is its percentTraffic; the gateway's variant tells canary from base."""

    def __init__(self, loaded: LoadedConfig, stack: Any, stage_name: str | None) -> None:
        apis = list(stack.state.apis.values())
        if len(apis) != 1:
            raise UserError(f"{loaded.path}: rollout needs exactly one REST API (found {len(apis)})")
        stages = apis[0].stages
        name = stage_name or (next(iter(stages)) if len(stages) == 1 else None)
        if name is None or name not in stages:
            raise UserError(f"{loaded.path}: pick a stage with --stage ({', '.join(stages) or 'none defined'})")
        stage = stages[name]
        if stage.canary_settings is None:
            raise UserError(f"{loaded.path}: restApis.*.stages.{name}.canarySettings: a rollout moves a stage "
                            "canary's traffic; give the stage a canarySettings (deploymentId and/or "
                            "stageVariableOverrides), or roll out a weighted alias with --alias FUNCTION:ALIAS")
        self.stage_name, self.stage = name, stage

    def set_percent(self, percent: float) -> None:
        """The canary's share of the stage's requests."""
        assert self.stage.canary_settings is not None
        self.stage.canary_settings.percent_traffic = percent

    def promote(self) -> None:
        """As AWS promotes a canary (reference §2.5): its deployment and overrides become the stage's; removed."""
        stage = self.stage
        canary = stage.canary_settings
        assert canary is not None
        self._before = (stage.deployment_id, dict(stage.variables))
        stage.deployment_id = canary.deployment_id or stage.deployment_id
        stage.variables = {**stage.variables, **(canary.stage_variable_overrides or {})}
        stage.canary_settings = None

    def rollback(self) -> None:
        """The canary removed: every request back to the stage's deployment."""
        self.stage.canary_settings = None

    def revert(self) -> None:
        """Undo a promotion (a PostTraffic hook failed): the stage's previous deployment and variables."""
        self.stage.deployment_id, self.stage.variables = self._before

    @staticmethod
    def side(record: DecisionRecord) -> str | None:
        """`canary`, `base`, or None for a request that did not reach a variant."""
        return record.variant if record.variant in ("canary", "base") else None


class AliasWeights:
    """A weighted alias (`--alias FUNCTION:ALIAS`): the weight is its extra version's; the executed version tells
    canary (the extra version) from base (the alias's FunctionVersion)."""

    def __init__(self, loaded: LoadedConfig, stack: Any, reference: str) -> None:
        function_name, _, alias_name = reference.partition(":")
        record = stack.lambdas.functions.get(function_name)
        alias = record.aliases.get(alias_name) if record is not None and alias_name else None
        if alias is None:
            raise UserError(f"--alias {reference!r}: no such FUNCTION:ALIAS in {loaded.path}")
        if len(alias.additional_version_weights) != 1:
            raise UserError(f"{loaded.path}: functions.{function_name}.aliases.{alias_name}.routingConfig: a rollout "
                            "moves the weight of the alias's one additional version; give it one")
        self.function_name, self.alias = function_name, alias
        self.extra = next(iter(alias.additional_version_weights))

    def set_percent(self, percent: float) -> None:
        """The extra version's weight."""
        self.alias.additional_version_weights = {self.extra: percent / 100}

    def promote(self) -> None:
        """FunctionVersion := the extra version, weights cleared (as `canary promote --alias`)."""
        self._before = self.alias.function_version
        self.alias.function_version = self.extra
        self.alias.additional_version_weights = {}

    def revert(self) -> None:
        """Undo a promotion (a PostTraffic hook failed): the alias's previous FunctionVersion again."""
        self.alias.function_version = self._before

    def rollback(self) -> None:
        """Weights cleared: every invocation back to the alias's FunctionVersion."""
        self.alias.additional_version_weights = {}

    def side(self, record: DecisionRecord) -> str | None:
        """By the version that ran, for invocations through this alias only."""
        if record.function != self.function_name or record.qualifier != self.alias.name:
            return None
        return "canary" if record.executed_version == self.extra else "base"


def default_path(loaded: LoadedConfig) -> str:
    """The first GET (or ANY) resource without path parameters."""
    for api in loaded.config.rest_apis.values():
        for path, methods in api.resources.items():
            if "{" not in path and ("GET" in methods or "ANY" in methods):
                return path
    raise UserError(f"{loaded.path}: no GET resource without path parameters to send traffic to; give --path")


async def _send(url: str, requests: int, concurrency: int, headers: dict[str, str] | None,
                corpus: list[DiffRequest] | None = None) -> None:
    """`requests` requests over keep-alive connections: GETs of `url`, or the corpus's requests in turn (each
    relative to the stage at `url`); the gateway's decision records carry the outcomes."""
    remaining = iter(range(requests))
    connector = aiohttp.TCPConnector(limit=concurrency)
    try:
        async with aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=60)) as session:

            async def worker() -> None:
                for number in remaining:
                    if corpus:
                        request = corpus[number % len(corpus)]
                        async with session.request(request.method, url + request.target(),
                                                   headers={**dict(request.headers), **(headers or {})},
                                                   data=request.body or None) as response:
                            await response.read()
                        continue
                    async with session.get(url, headers=headers) as response:
                        await response.read()

            await asyncio.gather(*(worker() for _ in range(concurrency)))
    except (aiohttp.ClientError, TimeoutError) as error:
        raise UserError(f"{url}: {type(error).__name__}: {error or 'timed out'}") from None


def _samples(records: list[DecisionRecord], target: StageCanary | AliasWeights) -> tuple[Sample, Sample]:
    canary, base = Sample(), Sample()
    for record in records:
        side = target.side(record)
        if side is not None:
            (canary if side == "canary" else base).add(record.status >= 500, record.latency_ms)
    return canary, base


def run_local(loaded: LoadedConfig, *, stage_name: str | None, schedule: str, steps: tuple[Step, ...],
              settings: GateSettings, traffic: float, path: str | None = None, concurrency: int = 4,
              seed: int | None = None, backend: str | None = None, headers: dict[str, str] | None = None,
              alias: str | None = None, progress: Callable[[str], None] | None = None,
              hooks: HooksConfig | None = None, hook_timeout: float = 60.0,
              corpus: Path | None = None) -> RolloutReport:
    """Run the schedule against the config's stack in-process; the report says promoted or rolled back."""
    from emulator.stack import StackOptions
    from emulator.testing import StackThread

    say = progress or (lambda line: None)
    report = RolloutReport(str(loaded.path), stage_name or "", schedule, steps, traffic, settings, seed)
    options = StackOptions(port=0, seed=seed, backend=backend, access_log=False, function_logs=False)
    with StackThread(loaded, options) as running:
        assert running.stack is not None
        target: StageCanary | AliasWeights
        if alias is not None:
            target = AliasWeights(loaded, running.stack, alias)
            stages = [stage for api in running.stack.state.apis.values() for stage in api.stages]
            name = stage_name or (stages[0] if len(stages) == 1 else None)
            if name is None:
                raise UserError(f"{loaded.path}: pick the stage whose requests reach the alias with --stage")
            report.alias = alias
        else:
            target = StageCanary(loaded, running.stack, stage_name)
            name = target.stage_name
        report.stage = name
        requests = load_any(corpus, name) if corpus is not None else None
        url = f"{running.url}/{name}" + ("" if requests else (path or default_path(loaded)))
        if requests:
            report.corpus = f"{corpus} ({len(requests)} requests)"
        window: list[DecisionRecord] = []
        running.stack.gateway.observers.append(window.append)
        per_minute = max(1, round(traffic * 60))
        clock = 0.0
        stack = running.stack
        if hooks is not None and (hooks.pre_traffic or hooks.post_traffic):
            report.deployment_id = CodeDeployApi.new_deployment_id()

        def hook_passes(hook: str, function: str | None) -> bool:
            if function is None:
                return True
            assert report.deployment_id is not None
            result = running.call(run_hook(stack, hook, function, report.deployment_id, hook_timeout),
                                  timeout=hook_timeout + 60)
            report.hooks.append(result)
            say(f"{hook} hook {function}: {result.status}")
            return result.passed

        if hooks is not None and hooks.pre_traffic:  # before any traffic moves: the canary's weight is 0
            running.call(_call(target.set_percent, 0.0))
            if not hook_passes(PRE_TRAFFIC, hooks.pre_traffic):
                running.call(_call(target.rollback))
                report.outcome = ROLLED_BACK
                return report
        for index, step in enumerate(steps, 1):
            record = StepReport(index, step.percent, step.minutes, clock)
            report.steps.append(record)
            if not step.gated:
                running.call(_call(target.promote))
                report.outcome = PROMOTED
                say(f"step {index}: 100% at minute {clock:g}: promoted")
                if hooks is not None and not hook_passes(POST_TRAFFIC, hooks.post_traffic):
                    running.call(_call(target.revert))
                    report.outcome = ROLLED_BACK
                break
            running.call(_call(target.set_percent, step.percent))
            window.clear()
            planned = round(traffic * step.minutes * 60)
            started = time.perf_counter()
            asyncio.run(_send(url, planned, concurrency, headers, requests))
            sent = planned
            canary, base = _samples(window, target)
            limit = max(planned, per_minute) * MAX_EXTENSION
            while not enough(canary, base, settings) and sent - planned < limit:
                asyncio.run(_send(url, per_minute, concurrency, headers, requests))
                sent += per_minute
                canary, base = _samples(window, target)
            record.requests = sent
            record.extended_minutes = (sent - planned) / (traffic * 60)
            record.canary, record.base = canary.describe(), base.describe()
            clock += step.minutes + record.extended_minutes
            if not enough(canary, base, settings):
                record.inconclusive = (f"after {sent} requests the canary had {canary.n} and the base {base.n}; "
                                       f"each needs minRequests={settings.min_requests}")
            else:
                record.judgements = judge(canary, base, settings)
            say(f"step {index}: {step.percent:g}% for {step.minutes:g} simulated min: {sent} requests in "
                f"{time.perf_counter() - started:.1f} s, {'pass' if record.passed else 'FAIL'}")
            if not record.passed:
                running.call(_call(target.rollback))
                report.outcome = ROLLED_BACK
                break
    return report


async def _call(function: Callable[..., None], *args: Any) -> None:
    """Change the stage on the stack's own loop, between requests."""
    function(*args)

