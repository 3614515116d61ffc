"""One function, two published versions on two runtimes, a weighted alias; alone and behind an API canary."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.request
from pathlib import Path

import boto3
import pytest
from scipy.stats import binom

from emulator.errors import UserError
from emulator.formats.load import load_config
from emulator.stack import StackOptions
from emulator.testing import StackThread

REPO = Path(__file__).resolve().parent.parent
ALIAS_EXAMPLE = REPO / "examples" / "alias-routing" / "canary.yaml"
COMBINED = REPO / "tests" / "fixtures" / "alias" / "combined.yaml"
TEST_FALSE_FAILURE = 1e-6  # per test, at most: a test with k bounded counts gives each 1e-6 / k


def within(count: int, n: int, p: float, false_failure: float) -> bool:
    """Is `count` inside [ppf(ff/2), isf(ff/2)] of Binomial(n, p)? A correct split is outside with probability at most
    `false_failure` (two-sided exact binomial quantile bound)."""
    return binom.ppf(false_failure / 2, n, p) <= count <= binom.isf(false_failure / 2, n, p)


def sample(running: StackThread, requests: int) -> list[tuple[dict[str, object], str]]:
    """(body, variant) for each request, the variant from the gateway's decision record."""
    assert running.stack is not None
    variants: dict[str, str] = {}
    running.stack.gateway.observers.append(lambda record: variants.__setitem__(record.request_id, record.variant))
    out = []
    for _ in range(requests):
        with urllib.request.urlopen(f"{running.url}/prod/ping", timeout=30) as response:
            out.append((json.loads(response.read()), variants[response.headers["x-amzn-RequestId"]]))
    return out


def test_the_alias_example_serves_both_runtimes_in_its_weights() -> None:
    """One bounded count (version 2 at 10 %; its lower bound, 27, already demands a version 2 answer).

    False-failure probability: <= 1e-6.
    """
    requests = 600
    with StackThread(ALIAS_EXAMPLE, StackOptions(port=0, seed=31, access_log=False, function_logs=False)) as running:
        bodies = [body for body, _ in sample(running, requests)]
    assert all((body["version"], str(body["node"])[:4]) in {("1", "v18."), ("2", "v22.")} for body in bodies)
    v2 = sum(body["version"] == "2" for body in bodies)
    assert v2 > 0 and within(v2, requests, 0.10, TEST_FALSE_FAILURE), v2


def test_an_api_canary_over_a_weighted_alias_multiplies_the_shares() -> None:
    """Three bounded counts, each at 1e-6 / 3: canary requests at 50 %, version 2 among the canary requests at 20 %
    (given their number, a Binomial(canary, 0.2)), and Node 22 among all requests at 50 % · 20 % = 10 %.

    False-failure probability: <= 3 · 1e-6 / 3 = 1e-6.
    """
    per_check = TEST_FALSE_FAILURE / 3
    requests = 800
    with StackThread(COMBINED, StackOptions(port=0, seed=32, access_log=False, function_logs=False)) as running:
        results = sample(running, requests)
    canary = [body for body, variant in results if variant == "canary"]
    base = [body for body, variant in results if variant == "base"]
    assert within(len(canary), requests, 0.5, per_check)
    assert all(body["version"] == "1" for body in base), "base requests use alias stable: version 1 only"
    assert within(sum(body["version"] == "2" for body in canary), len(canary), 0.2, per_check)
    assert within(sum(str(body["node"]).startswith("v22.") for body, _ in results), requests, 0.5 * 0.2, per_check)


@pytest.mark.parametrize(("alias", "message"), [
    ('{functionVersion: "1", routingConfig: {additionalVersionWeights: {"2": 1.5}}}', "outside [0.0, 1.0]"),
    ('{functionVersion: "1", routingConfig: {additionalVersionWeights: {"2": 0.1, "3": 0.1}}}',
     "at most one additional version"),
    ('{functionVersion: "1", routingConfig: {additionalVersionWeights: {"1": 0.5}}}', "the alias's own version"),
    ('{functionVersion: "1", routingConfig: {additionalVersionWeights: {"7": 0.5}}}', "not a published version"),
    ('{functionVersion: "$LATEST", routingConfig: {additionalVersionWeights: {"2": 0.5}}}', "cannot point to $LATEST"),
])
def test_aliases_aws_refuses_are_config_errors(tmp_path: Path, alias: str, message: str) -> None:
    text = ALIAS_EXAMPLE.read_text()
    start = text.index("      live:")
    end = text.index("restApis:")
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "ping.js").write_text("exports.handler = async () => ({});\n")
    broken = tmp_path / "canary.yaml"
    broken.write_text(text[:start] + f"      live: {alias}\n\n" + text[end:])
    with pytest.raises(UserError) as caught:
        load_config(broken)
    assert message in str(caught.value) and f"{broken}:" in str(caught.value) and "functions.ping" in str(caught.value)


def test_deploying_the_alias_example_to_the_emulator_gives_the_same_versions_runtimes_and_weights(
        tmp_path: Path) -> None:
    """One bounded count (Node 22 at 10 % of 400; its lower bound, 14, already demands a Node 22 answer).

    False-failure probability: <= 1e-6.
    """
    options = StackOptions(port=0, seed=33, backend="process", access_log=False, function_logs=False)
    with StackThread(None, options) as account:
        env = {**os.environ, "AWS_ENDPOINT_URL": account.url, "AWS_ACCESS_KEY_ID": "test",
               "AWS_SECRET_ACCESS_KEY": "test", "AWS_DEFAULT_REGION": "us-east-1", "AWS_CONFIG_FILE": "/dev/null",
               "AWS_SHARED_CREDENTIALS_FILE": "/dev/null"}
        deploy = subprocess.run([sys.executable, "-m", "emulator.cli", "deploy", str(ALIAS_EXAMPLE), "--stage", "prod"],
                                env=env, capture_output=True, text=True, timeout=300)
        assert deploy.returncode == 0, deploy.stdout + deploy.stderr
        client = boto3.client("lambda", endpoint_url=account.url, region_name="us-east-1",
                              aws_access_key_id="x", aws_secret_access_key="y")
        config = load_config(ALIAS_EXAMPLE).config.functions["ping"]
        for number, version in config.versions.items():
            deployed = client.get_function_configuration(FunctionName="ping", Qualifier=number)
            assert deployed["Runtime"] == version.runtime and deployed["Version"] == number
        alias = client.get_alias(FunctionName="ping", Name="live")
        assert alias["FunctionVersion"] == "1"
        assert alias["RoutingConfig"]["AdditionalVersionWeights"] == {"2": pytest.approx(0.1)}
        api = boto3.client("apigateway", endpoint_url=account.url, region_name="us-east-1",
                           aws_access_key_id="x", aws_secret_access_key="y").get_rest_apis()["items"][0]["id"]
        requests, v22 = 400, 0
        for _ in range(requests):
            request = urllib.request.Request(f"{account.url}/prod/ping",
                                             headers={"Host": f"{api}.execute-api.localhost"})
            with urllib.request.urlopen(request, timeout=30) as response:
                v22 += json.loads(response.read())["node"].startswith("v22.")
        assert v22 > 0 and within(v22, requests, 0.10, TEST_FALSE_FAILURE)
