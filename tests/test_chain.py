"""What a config's request chain does (emulator.verify.chain): its routes, their probabilities and the split to test."""

from __future__ import annotations

from pathlib import Path

import pytest

from emulator.errors import UserError
from emulator.formats.load import load_config
from emulator.stack import Stack, StackOptions
from emulator.verify.chain import chain_routes, find_stage, infer_split

REPO = Path(__file__).resolve().parent.parent


def routes_of(config: Path, path: str = "/ping"):  # type: ignore[no-untyped-def]
    stack = Stack(load_config(config), StackOptions(port=0, backend="process", access_log=False, function_logs=False))
    api, stage = find_stage(stack.state, None, str(config))
    return chain_routes(api, stage, stack.lambdas, path)


def test_two_functions_behind_a_stage_canary_split_by_variant() -> None:
    routes = routes_of(REPO / "examples" / "ping" / "canary.yaml")
    assert {(r.variant, r.function, r.runtime, round(r.probability, 9)) for r in routes} == {
        ("base", "ping-stable", "nodejs18.x", 0.9), ("canary", "ping-canary", "nodejs22.x", 0.1)}
    plan = infer_split(routes)
    assert (plan.by, plan.canary_key, plan.expected_percent) == ("variant", "canary", pytest.approx(10))


def test_a_weighted_alias_splits_by_runtime_at_its_weight() -> None:
    plan = infer_split(routes_of(REPO / "examples" / "alias-routing" / "canary.yaml"))
    assert (plan.by, plan.canary_key, plan.expected_percent) == ("runtime", "nodejs22.x", pytest.approx(10))


def test_a_named_grouping_gets_its_expected_share_from_the_chain() -> None:
    routes = routes_of(REPO / "examples" / "alias-routing" / "canary.yaml")
    assert infer_split(routes, "version", "2").expected_percent == pytest.approx(10)
    assert infer_split(routes, "version").canary_key == "2"  # the version off the alias's primary
    assert infer_split(routes, "version", "1").expected_percent == pytest.approx(90)


def test_canary_percent_times_alias_weight() -> None:
    """50% canary whose override names a 20% alias: version 2 on Node 22 gets 10% of all requests."""
    routes = routes_of(REPO / "tests" / "fixtures" / "alias" / "combined.yaml")
    plan = infer_split(routes)
    assert (plan.by, plan.canary_key, plan.expected_percent) == ("runtime", "nodejs22.x", pytest.approx(10))
    assert infer_split(routes, "variant").expected_percent == pytest.approx(50)


def test_a_chain_without_chance_is_a_clear_error(tmp_path: Path) -> None:
    text = (REPO / "examples" / "ping" / "canary.yaml").read_text().replace("percentTraffic: 10", "percentTraffic: 0")
    config = tmp_path / "canary.yaml"
    config.write_text(text.replace("code: .", f"code: {REPO / 'examples' / 'ping'}"))
    with pytest.raises(UserError, match="nothing to split: every request goes to base -> ping-stable"):
        infer_split(routes_of(config))
