"""Choose canary or base for each request, independently, as API Gateway does (reference §2.3, §2.4)."""

from __future__ import annotations

import random
from dataclasses import dataclass

from emulator.apigateway.model import Stage


@dataclass(frozen=True)
class Variant:
    """Which side of the stage serves a request, with the stage variables it sees."""

    is_canary: bool
    deployment_id: str
    variables: dict[str, str]

    @property
    def name(self) -> str:
        """`canary` or `base`."""
        return "canary" if self.is_canary else "base"


def choose_variant(stage: Stage, rng: random.Random) -> Variant:
    """Canary with probability percentTraffic/100. Canary requests see the stage variables merged with the
    overrides (the overrides win); base requests never see the overrides."""
    canary = stage.canary_settings
    if canary is not None and canary.percent_traffic > 0 and rng.random() * 100.0 < canary.percent_traffic:
        merged = {**stage.variables, **(canary.stage_variable_overrides or {})}
        return Variant(True, canary.deployment_id or stage.deployment_id, merged)
    return Variant(False, stage.deployment_id, stage.variables)
