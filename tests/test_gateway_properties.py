"""Property tests: the canary choice (reference §2.3, §2.4) and stage-variable rules and substitution (§1.1).

A statistical test states its false-failure probability: the chance that it fails although the code is right, taken
over the seeds it uses as if they were drawn at random (runs are derandomised, so a given checkout either always
passes or always fails). A Hypothesis test splits its 1e-6 over its examples (union bound). Python's Mersenne
Twister is treated as an ideal source; `choose_variant` compares `random() * 100.0` with percentTraffic, and the
rounding of `* 100.0` and of `percent / 100` moves each draw's canary probability off percent/100 by less than
4·2**-53 (a scan of 20,000 percentages found at most 2**-53), so m draws differ from Binomial(m, percent/100) by less
than m·4·2**-53 in total variation; that slack comes off the budget first.
"""

from __future__ import annotations

import math
import random
import re

import numpy as np
from hypothesis import example, given, settings
from hypothesis import strategies as st
from scipy.stats import binom, norm

from emulator.apigateway.canary import choose_variant
from emulator.apigateway.lambda_uri import parse_lambda_uri
from emulator.apigateway.model import CanarySettings, Stage
from emulator.stage_variables import (
    StageVariableError,
    UndefinedStageVariable,
    name_error,
    referenced_names,
    substitute,
    substitute_or_empty,
    validate_variables,
    value_error,
)
from emulator.verify.stats.statistics import binomial_acceptance_bounds, wilson_interval

TEST_FALSE_FAILURE = 1e-6  # per test, at most
DRAW_SLACK = 4 * 2.0**-53  # per draw: |P(choose_variant picks the canary) - percent/100| (module docstring)
NAME_MESSAGE = "Invalid stage variable name: {}.  Please use names with only word characters."
VALUE_MESSAGE = ("Invalid stage variable value: {}.  Please use values with alphanumeric characters and the symbols "
                 "' ', -', '.', '_', ':', '/', '?', '&', '=', and ','.")
LAMBDA_URI = ("arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/arn:aws:lambda:us-east-1:123456789012:"
              "function:{}/invocations")
NAME_CHARS = re.compile(r"[A-Za-z0-9_]+")
VALUE_CHARS = re.compile(r"[A-Za-z0-9\-._~:/?#&=,]+")

valid_names = st.from_regex(r"[A-Za-z0-9_]{1,64}", fullmatch=True)
valid_values = st.from_regex(r"[A-Za-z0-9\-._~:/?#&=,]{1,512}", fullmatch=True)
variable_maps = st.dictionaries(valid_names, valid_values, max_size=8)
percents = st.floats(min_value=0.0, max_value=100.0, allow_nan=False)
seeds = st.integers(min_value=0, max_value=2**64)
# Literal URI text: no `$`, so no `${stageVariables.` can appear except where a test puts one.
literals = st.text(st.characters(codec="utf-8", exclude_characters="$"), max_size=20)
PROPERTY = settings(derandomize=True, deadline=None)

SHARE_EXAMPLES = 100
SHARE_MAX_N = 3000
SHARE_FALSE_FAILURE = (TEST_FALSE_FAILURE - SHARE_EXAMPLES * SHARE_MAX_N * DRAW_SLACK) / SHARE_EXAMPLES  # ≈ 1e-8


def canary_bound(n: int, percent: float, false_failure: float) -> tuple[int, int]:
    """[low, high] for the canary count of n requests at `percent`, by exact binomial quantiles.

    P(X < low) <= false_failure/2 and P(X > high) <= false_failure/2 for X ~ Binomial(n, percent/100)
    (binomial_acceptance_bounds: binom.ppf / binom.isf, checked against cdf / sf), so a correct choice falls outside
    with probability at most false_failure.
    """
    return binomial_acceptance_bounds(n, percent / 100.0, false_failure)


def canary_stage(percent: float, variables: dict[str, str] | None = None,
                 overrides: dict[str, str] | None = None) -> Stage:
    """A stage on deployment `base` whose canary serves deployment `canary`."""
    return Stage("prod", "base", dict(variables or {}), CanarySettings(percent, "canary", overrides))


# ---- canary share -------------------------------------------------------------------------------------------
@settings(PROPERTY, max_examples=SHARE_EXAMPLES)
@given(percent=percents, seed=seeds, n=st.sampled_from([200, 1000, SHARE_MAX_N]))
def test_canary_share_stays_inside_the_binomial_bound(percent: float, seed: int, n: int) -> None:
    """The canary count of n choices lies in the exact binomial bound at e for p = percentTraffic/100.

    e = (1e-6 - 100·3000·4·2**-53) / 100 ≈ 1e-8 per example (e/2 per tail); the rounding slack adds less than
    3000·4·2**-53 per example. At 0 and 100 the bound is exactly [0, 0] and [n, n].
    False-failure probability: <= e + 3000·4·2**-53 per example, <= 1e-6 for the test (100 examples).
    """
    stage = canary_stage(percent)
    rng = random.Random(seed)
    canary = sum(choose_variant(stage, rng).is_canary for _ in range(n))
    low, high = canary_bound(n, percent, SHARE_FALSE_FAILURE)
    assert low <= canary <= high, f"{canary}/{n} canary requests at {percent}% (bound [{low}, {high}])"


@PROPERTY
@given(percent=st.floats(min_value=0.5, max_value=99.5))
def test_the_bound_narrows_as_n_grows(percent: float) -> None:
    """The bound's width as a share of n shrinks strictly from 100 to 400 to 1600 to 6400 requests.

    False-failure probability: 0 (no randomness).
    """
    widths = []
    for n in (100, 400, 1600, 6400):
        low, high = canary_bound(n, percent, SHARE_FALSE_FAILURE)
        assert low <= n * percent / 100 <= high
        widths.append((high - low) / n)
    assert widths == sorted(widths, reverse=True) and len(set(widths)) == len(widths), widths


def test_the_bound_is_exact_at_the_edges() -> None:
    """0 % and 100 % allow no deviation at all."""
    assert canary_bound(1000, 0.0, SHARE_FALSE_FAILURE) == (0, 0)
    assert canary_bound(1000, 100.0, SHARE_FALSE_FAILURE) == (1000, 1000)


# ---- the share converges at Wilson's rate -------------------------------------------------------------------
CONVERGENCE_EXAMPLES = 20
CONVERGENCE_SCALE = 650  # n·p·(1-p) at the smallest size n; the other sizes are 4n and 16n
CONVERGENCE_MAX_DRAWS = 16 * math.ceil(CONVERGENCE_SCALE / (0.01 * 0.99))  # p in (1 %, 99 %): p·(1-p) > 0.0099
CONVERGENCE_BUDGET = (TEST_FALSE_FAILURE - CONVERGENCE_EXAMPLES * CONVERGENCE_MAX_DRAWS * DRAW_SLACK) / (
    CONVERGENCE_EXAMPLES)  # per example, ≈ 5e-8
SHRINK = (1.8, 2.2)  # allowed factor between Wilson's half-widths at m and at 4m
GUARD = 1e-6  # relative: an outcome this close to a check's edge counts as a failure in the exact probabilities
TRUNCATE = 1e-13  # binomial mass left out of a sum on each side (counted as failure)


def wilson_half_widths(counts: np.ndarray, m: int, z: float) -> np.ndarray:
    """Half the width of Wilson's interval at z for `counts` out of m (unclipped: counts far from 0 and m)."""
    return z / (m + z * z) * np.sqrt(counts * (m - counts) / m + z * z / 4)


def wilson_miss_probability(m: int, p: float, z: float) -> float:
    """P(p lies outside Wilson's interval at z) for a count K ~ Binomial(m, p), exactly (up to GUARD).

    Wilson's interval inverts the score test: it holds p iff |K - m·p| <= z·√(m·p·(1-p)). A K within the relative
    GUARD of that edge counts as a miss, so rounding in scipy's interval cannot make the sum too small.
    """
    reach = z * math.sqrt(m * p * (1 - p)) * (1 - GUARD)
    inside_low, inside_high = math.ceil(m * p - reach), math.floor(m * p + reach)
    return float(binom.cdf(inside_low - 1, m, p) + binom.sf(inside_high, m, p))


def shrink_failure_probability(m: int, p: float, z: float) -> float:
    """P(Wilson's half-width at m over the one at 4m lies outside SHRINK), exactly (up to GUARD), for nested draws.

    The count K of the first m draws is Binomial(m, p) and the count J of the next 3m draws Binomial(3m, p),
    independent; the sum runs over K and J inside their exact bounds at 2·TRUNCATE (the mass outside, at most
    4·TRUNCATE, is added as failure), and a ratio within the relative GUARD of SHRINK's ends counts as failure.
    """
    k_low, k_high = binomial_acceptance_bounds(m, p, 2 * TRUNCATE)
    j_low, j_high = binomial_acceptance_bounds(3 * m, p, 2 * TRUNCATE)
    k, j = np.arange(k_low, k_high + 1), np.arange(j_low, j_high + 1)
    ratio = wilson_half_widths(k, m, z)[:, None] / wilson_half_widths(k[:, None] + j[None, :], 4 * m, z)
    fails = ((ratio < SHRINK[0] * (1 + GUARD)) | (ratio > SHRINK[1] * (1 - GUARD))).astype(float)
    return float(binom.pmf(k, m, p) @ fails @ binom.pmf(j, 3 * m, p)) + 4 * TRUNCATE


@settings(PROPERTY, max_examples=CONVERGENCE_EXAMPLES)
@given(percent=st.floats(min_value=1.0, max_value=99.0, exclude_min=True, exclude_max=True), seed=seeds)
def test_the_canary_share_converges_at_the_wilson_rate(percent: float, seed: int) -> None:
    """`choose_variant` over n, 4n and 16n requests (nested, one Random(seed)), n = ⌈650 / (p·(1-p))⌉, p = percent/100.

    At each size m: the canary count lies inside binomial_acceptance_bounds(m, p, e) (the pass/fail decision on the
    share: exact, fails with probability <= e), and p and the observed share lie inside wilson_interval(count, m,
    1 - e). From n to 4n and from 4n to 16n Wilson's half-width shrinks by a factor in [1.8, 2.2].
    Wilson's coverage is not exactly 1 - e and the half-width ratio is random too, so before drawing the test computes
    their chances of failing exactly (wilson_miss_probability: 2.8e to 4e for the three sizes together;
    shrink_failure_probability: at most 0.38e for the two) and asserts the example's total, 3e + the three Wilson
    misses + the two shrink failures (at most 0.74·B), to be at most B = (1e-6 - 20·16·65,657·4·2**-53) / 20 ≈ 5e-8,
    with e = B / 10. That assertion is deterministic.
    False-failure probability: <= B + 16n·4·2**-53 per example, <= 1e-6 for the test (20 examples).
    """
    p = percent / 100.0
    n = math.ceil(CONVERGENCE_SCALE / (p * (1 - p)))
    sizes = (n, 4 * n, 16 * n)
    e = CONVERGENCE_BUDGET / 10
    z = float(norm.isf(e / 2))
    risk = (3 * e + sum(wilson_miss_probability(m, p, z) for m in sizes)
            + sum(shrink_failure_probability(m, p, z) for m in sizes[:2]))
    assert risk <= CONVERGENCE_BUDGET, f"at {percent}% with n={n} the checks could fail by chance with {risk:.3g}"

    stage = canary_stage(percent)
    rng = random.Random(seed)
    counts, canary, drawn = [], 0, 0
    for m in sizes:  # nested, as shrink_failure_probability assumes: the first n draws, the first 4n, all 16n
        canary += sum(choose_variant(stage, rng).is_canary for _ in range(m - drawn))
        counts.append(canary)
        drawn = m
    half_widths = []
    for count, m in zip(counts, sizes, strict=True):
        low, high = binomial_acceptance_bounds(m, p, e)
        assert low <= count <= high, f"{count}/{m} canary requests at {percent}% (exact bound [{low}, {high}])"
        wilson_low, wilson_high = wilson_interval(count, m, 1 - e)
        assert wilson_low <= min(p, count / m) and max(p, count / m) <= wilson_high, (
            f"{count}/{m} at {percent}%: Wilson interval [{wilson_low}, {wilson_high}]")
        half_widths.append((wilson_high - wilson_low) / 2)
    for m, wider, narrower in zip(sizes, half_widths, half_widths[1:], strict=False):
        assert SHRINK[0] <= wider / narrower <= SHRINK[1], (
            f"Wilson half-width {wider:.5f} at {m} requests, {narrower:.5f} at {4 * m}: factor {wider / narrower:.3f}")


# ---- stage-variable overrides -------------------------------------------------------------------------------
@PROPERTY
@given(variables=variable_maps, overrides=variable_maps, percent=percents, seed=seeds)
def test_overrides_reach_canary_requests_only(variables: dict[str, str], overrides: dict[str, str],
                                              percent: float, seed: int) -> None:
    """Base requests see the stage's variables only; canary requests see them merged with the overrides winning."""
    stage = canary_stage(percent, variables, overrides)
    rng = random.Random(seed)
    for _ in range(50):
        variant = choose_variant(stage, rng)
        if variant.is_canary:
            assert variant.variables == {**variables, **overrides}
            assert variant.deployment_id == "canary"
        else:
            assert variant.variables == variables
            assert not set(variant.variables) & (set(overrides) - set(variables))
            assert variant.deployment_id == "base"
    assert stage.variables == variables, "choosing a variant changed the stage's variables"


@PROPERTY
@given(variables=variable_maps, overrides=variable_maps, seed=seeds)
def test_every_request_goes_one_way_at_0_and_100(variables: dict[str, str], overrides: dict[str, str],
                                                 seed: int) -> None:
    """percentTraffic 0 sends every request to the base, 100 every request to the canary (reference §2.3)."""
    rng = random.Random(seed)
    base, canary = canary_stage(0.0, variables, overrides), canary_stage(100.0, variables, overrides)
    assert not any(choose_variant(base, rng).is_canary for _ in range(200))
    assert all(choose_variant(canary, rng).variables == {**variables, **overrides} for _ in range(200))


def test_a_stage_without_canary_is_always_base() -> None:
    """No canarySettings: the stage's deployment and variables."""
    stage = Stage("prod", "d1", {"a": "b"})
    for seed in range(50):
        variant = choose_variant(stage, random.Random(seed))
        assert (variant.is_canary, variant.deployment_id, variant.variables) == (False, "d1", {"a": "b"})


# ---- names and values ---------------------------------------------------------------------------------------
@PROPERTY
@given(variables=st.dictionaries(valid_names, valid_values, max_size=100))
def test_valid_names_and_values_are_accepted(variables: dict[str, str]) -> None:
    """Letters, digits and `_` (at most 64) for names; the documented value set (at most 512) for values."""
    for name, value in variables.items():
        assert name_error(name) is None
        assert value_error(value) is None
    validate_variables(variables)


@PROPERTY
@given(name=st.text(max_size=70).filter(lambda text: not NAME_CHARS.fullmatch(text)))
@example(name="trailing_newline\n")  # `^...$` matching would let this through
def test_invalid_names_are_refused_with_aws_message(name: str) -> None:
    """A name with any other character (or empty) gets AWS's exact message, two spaces after the full stop."""
    assert name_error(name) == NAME_MESSAGE.format(name)
    try:
        validate_variables({name: "value"})
    except StageVariableError as error:
        assert str(error) == NAME_MESSAGE.format(name)
    else:
        raise AssertionError(f"{name!r} was accepted")


@PROPERTY
@given(value=st.text(max_size=70).filter(lambda text: not VALUE_CHARS.fullmatch(text)))
@example(value="stable\n")
def test_invalid_values_are_refused_with_aws_message(value: str) -> None:
    """A value outside the documented set (including the empty value and `$LATEST`) gets AWS's exact message."""
    assert value_error(value) == VALUE_MESSAGE.format(value)
    try:
        validate_variables({"name": value})
    except StageVariableError as error:
        assert str(error) == VALUE_MESSAGE.format(value)
    else:
        raise AssertionError(f"{value!r} was accepted")


def test_documented_examples_of_bad_names_and_values() -> None:
    """The examples of reference §1.1, verbatim."""
    assert name_error("owner:application-name") == ("Invalid stage variable name: owner:application-name.  "
                                                     "Please use names with only word characters.")
    assert value_error("") == ("Invalid stage variable value: .  Please use values with alphanumeric characters and "
                               "the symbols ' ', -', '.', '_', ':', '/', '?', '&', '=', and ','.")
    assert value_error("$LATEST") is not None
    assert name_error("x" * 64) is None and name_error("x" * 65) is not None
    assert value_error("v" * 512) is None and value_error("v" * 513) is not None


def test_more_than_100_variables_are_refused() -> None:
    """At most 100 stage variables per stage."""
    validate_variables({f"v{index}": "x" for index in range(100)})
    try:
        validate_variables({f"v{index}": "x" for index in range(101)})
    except StageVariableError:
        return
    raise AssertionError("101 variables were accepted")


# ---- substitution -------------------------------------------------------------------------------------------
@PROPERTY
@given(variables=variable_maps.filter(bool), data=st.data())
def test_defined_variables_substitute(variables: dict[str, str], data: st.DataObject) -> None:
    """Each `${stageVariables.name}` becomes its value; the text around it stays as written."""
    names = data.draw(st.lists(st.sampled_from(sorted(variables)), min_size=1, max_size=5))
    texts = data.draw(st.lists(literals, min_size=len(names) + 1, max_size=len(names) + 1))
    template = texts[0] + "".join(f"${{stageVariables.{name}}}{text}" for name, text in zip(names, texts[1:],
                                                                                          strict=True))
    expected = texts[0] + "".join(variables[name] + text for name, text in zip(names, texts[1:], strict=True))
    assert referenced_names(template) == names
    assert substitute(template, variables) == expected
    assert substitute_or_empty(template, variables) == (expected, [])


@PROPERTY
@given(variables=variable_maps, missing=valid_names, before=literals, after=literals)
def test_undefined_variables_are_reported(variables: dict[str, str], missing: str, before: str, after: str) -> None:
    """`substitute` raises for an undefined variable; `substitute_or_empty` makes it "" and names it."""
    variables.pop(missing, None)
    template = f"{before}${{stageVariables.{missing}}}{after}"
    try:
        substitute(template, variables)
    except UndefinedStageVariable as error:
        assert error.name == missing
    else:
        raise AssertionError("an undefined stage variable was substituted")
    assert substitute_or_empty(template, variables) == (before + after, [missing])


@PROPERTY
@given(uri=st.text(max_size=200).filter(lambda text: "${stageVariables." not in text), variables=variable_maps)
def test_uris_without_variables_stay_unchanged(uri: str, variables: dict[str, str]) -> None:
    """No reference, no change: the same string comes back, with or without variables."""
    assert substitute(uri, variables) is uri
    assert substitute(uri, None) is uri
    assert substitute_or_empty(uri, variables) == (uri, [])


@PROPERTY
@given(function=st.from_regex(r"[A-Za-z0-9_-]{1,64}", fullmatch=True),
       qualifier=st.none() | st.from_regex(r"[A-Za-z0-9_]{1,20}", fullmatch=True))
def test_a_substituted_lambda_uri_names_the_function(function: str, qualifier: str | None) -> None:
    """`function:${stageVariables.fn}` with `fn` = `name` or `name:alias` invokes that function (and alias)."""
    value = f"{function}:{qualifier}" if qualifier else function
    target = parse_lambda_uri(substitute(LAMBDA_URI.format("${stageVariables.fn}"), {"fn": value}))
    assert target is not None
    assert (target.function_name, target.qualifier) == (function, qualifier)
