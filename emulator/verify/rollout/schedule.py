"""Rollout schedules: SAM's DeploymentPreference types, or steps from the config.

SAM's types and what they do, from the AWS SAM developer guide ("Deploying serverless applications gradually",
https://docs.aws.amazon.com/serverless-application-model/latest/developerguide/automating-updates-to-serverless-apps.html):
CanaryNPercentMMinutes shifts N % of the traffic, and the rest M minutes later; LinearNPercentEveryMMinute(s) shifts
N % more every M minutes until all traffic is shifted; AllAtOnce shifts everything at once. CodeDeploy's own names
carry the prefix `CodeDeployDefault.Lambda` (CodeDeployDefault.LambdaCanary10Percent5Minutes); both are accepted.
"""

from __future__ import annotations

from dataclasses import dataclass

DEFAULT = "Canary10Percent5Minutes"
CODEDEPLOY_PREFIX = "CodeDeployDefault.Lambda"


@dataclass(frozen=True)
class Step:
    """Hold the canary at `percent` for `minutes`, then judge it (a 100 % step is the promotion: no judgement)."""

    percent: float
    minutes: float

    @property
    def gated(self) -> bool:
        """Is the canary judged at the end of this step?"""
        return self.percent < 100


def _canary(percent: int, minutes: int) -> tuple[Step, ...]:
    return (Step(percent, minutes), Step(100, 0))


def _linear(percent: int, minutes: int) -> tuple[Step, ...]:
    return (*(Step(p, minutes) for p in range(percent, 100, percent)), Step(100, 0))


PREFERENCES: dict[str, tuple[Step, ...]] = {
    "Canary10Percent5Minutes": _canary(10, 5),
    "Canary10Percent10Minutes": _canary(10, 10),
    "Canary10Percent15Minutes": _canary(10, 15),
    "Canary10Percent30Minutes": _canary(10, 30),
    "Linear10PercentEvery1Minute": _linear(10, 1),
    "Linear10PercentEvery2Minutes": _linear(10, 2),
    "Linear10PercentEvery3Minutes": _linear(10, 3),
    "Linear10PercentEvery10Minutes": _linear(10, 10),
    "AllAtOnce": (Step(100, 0),),
}


def preference_name(name: str) -> str | None:
    """SAM's name for `name` (with or without CodeDeploy's prefix), or None when it is not a SAM type."""
    bare = name.removeprefix(CODEDEPLOY_PREFIX)
    return bare if bare in PREFERENCES else None


def steps_of(name: str) -> tuple[Step, ...]:
    """The steps of a SAM type; KeyError naming the allowed types otherwise."""
    known = preference_name(name)
    if known is None:
        raise KeyError(f"{name!r} is not a SAM DeploymentPreference type; use one of {', '.join(PREFERENCES)}")
    return PREFERENCES[known]


def custom_steps(steps: list[tuple[float, float]]) -> tuple[Step, ...]:
    """Steps from a config (percent, minutes); a final 100 % step is added when missing."""
    out = [Step(percent, minutes) for percent, minutes in steps]
    if not out or out[-1].percent < 100:
        out.append(Step(100, 0))
    return tuple(out)


def total_minutes(steps: tuple[Step, ...]) -> float:
    """The schedule's length on the clock."""
    return sum(step.minutes for step in steps)
