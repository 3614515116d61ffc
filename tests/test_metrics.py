"""The metrics endpoint on real Node 18 and Node 22: Prometheus text that the Prometheus client's own parser reads,
whose counts equal the access log's, and the same numbers as JSON.

tests/fixtures/rollout/metrics.yaml: a 50 % canary whose function (Node 22) throws on every 5th invocation, so the
run has 2xx, 4xx (an unknown path, 403) and 5xx (502) answers and Lambda Errors. The assertions compare two
records of the same run, whatever the split: no false failure from randomness.
"""

from __future__ import annotations

import json
import re
import urllib.request
from collections import Counter
from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families
from support import call

from emulator.stack import StackOptions
from emulator.testing import StackThread

CONFIG = Path(__file__).resolve().parent / "fixtures" / "rollout" / "metrics.yaml"
LINE = re.compile(r"^[0-9a-f-]{36} GET /prod\S* stage=(?P<stage>\S+) variant=(?P<variant>\S+) \S+ "
                  r"function=(?P<function>\S+)(?: \(v(?P<version>[^)]+)\))? runtime=(?P<runtime>\S+) "
                  r"status=(?P<status>\d+) ")


def _samples(text: str) -> dict[str, list[tuple[dict[str, str], float]]]:
    """Sample name -> [(labels, value)] as prometheus_client's parser reads the exposition."""
    out: dict[str, list[tuple[dict[str, str], float]]] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            out.setdefault(sample.name, []).append((sample.labels, sample.value))
    return out


def _by(samples: list[tuple[dict[str, str], float]], *names: str) -> dict[tuple[str, ...], float]:
    totals: Counter[tuple[str, ...]] = Counter()
    for labels, value in samples:
        totals[tuple(labels[name] for name in names)] += value
    return dict(totals)


def test_metrics_equal_the_access_log_and_parse_as_prometheus() -> None:
    lines: list[str] = []
    with StackThread(CONFIG, StackOptions(port=0, seed=7, function_logs=False), log=lines.append) as running:
        for _ in range(150):
            call(running.url, "GET", "/prod/ping")
        for _ in range(7):
            assert call(running.url, "GET", "/prod/nowhere").status == 403
        with urllib.request.urlopen(running.url + "/_lambda_canary/metrics") as response:
            content_type = response.headers["Content-Type"]
            text = response.read().decode()
        with urllib.request.urlopen(running.url + "/_lambda_canary/metrics.json") as response:
            as_json = json.loads(response.read())
        with urllib.request.urlopen(running.url + "/_lambda_canary/metrics?format=json") as response:
            assert json.loads(response.read()) == as_json
        assert running.stack is not None
        cold_starts = {pool.version.function_name: pool.started for pool in running.stack.lambdas.pools()}

    assert content_type.startswith("text/plain; version=0.0.4")
    log = [match.groupdict() for line in lines if (match := LINE.match(line))]
    assert len(log) == 157
    samples = _samples(text)

    # AWS/ApiGateway: Count, 4XXError, 5XXError per ApiName and Stage (the canary's as prod/Canary).
    stage_of = {"base": "prod", "canary": "prod/Canary"}
    expected = Counter((stage_of[entry["variant"]],) for entry in log)
    assert _by(samples["AWS_ApiGateway_Count_total"], "Stage") == expected
    assert {labels["ApiName"] for labels, _ in samples["AWS_ApiGateway_Count_total"]} == {"multi-runtime-api"}
    for metric, low in (("AWS_ApiGateway_4XXError_total", 400), ("AWS_ApiGateway_5XXError_total", 500)):
        counted = Counter((stage_of[entry["variant"]],) for entry in log if low <= int(entry["status"]) < low + 100)
        assert {key: value for key, value in _by(samples[metric], "Stage").items() if value} == counted
    assert sum(value for _, value in samples["AWS_ApiGateway_4XXError_total"]) == 7
    assert _by(samples["AWS_ApiGateway_Latency_count"], "Stage") == expected
    invoked = Counter((stage_of[entry["variant"]],) for entry in log if entry["function"] != "-")
    assert _by(samples["AWS_ApiGateway_IntegrationLatency_count"], "Stage") == invoked

    # AWS/Lambda: Invocations and Errors per FunctionName, ExecutedVersion and Runtime.
    runs = Counter((entry["function"], entry["version"], entry["runtime"]) for entry in log if entry["function"] != "-")
    assert _by(samples["AWS_Lambda_Invocations_total"], "FunctionName", "ExecutedVersion", "Runtime") == runs
    errors = Counter((entry["function"],) for entry in log if entry["status"] == "502")
    assert errors, "the canary fails every 5th invocation: some 502s are expected"
    assert {key: value for key, value in _by(samples["AWS_Lambda_Errors_total"], "FunctionName").items()
            if value} == errors
    assert set(errors) == {("ping-canary",)}
    assert sum(value for _, value in samples["AWS_Lambda_Throttles_total"]) == 0
    assert all(value == 0 for _, value in samples["AWS_Lambda_ConcurrentExecutions"])
    assert all(value >= 1 for _, value in samples["AWS_Lambda_ConcurrentExecutions_Maximum"])
    assert _by(samples["AWS_Lambda_InitDuration_count"], "FunctionName") == {
        (name,): float(count) for name, count in cold_starts.items()}
    assert {labels["Runtime"] for labels, _ in samples["AWS_Lambda_MaxMemoryUsed"]} == {"nodejs18.x", "nodejs22.x"}
    assert all(value > 0 for _, value in samples["AWS_Lambda_MaxMemoryUsed"])
    durations = _by(samples["AWS_Lambda_Duration_count"], "FunctionName")
    assert durations == Counter((function,) for function, _, _ in runs.elements())
    for labels, _ in samples["AWS_Lambda_Duration_count"]:
        quantiles = {sample[0]["quantile"]: sample[1] for sample in samples["AWS_Lambda_Duration"]
                     if sample[0]["FunctionName"] == labels["FunctionName"]}
        assert set(quantiles) == {"0.5", "0.9", "0.99"}
        assert 0 < quantiles["0.5"] <= quantiles["0.9"] <= quantiles["0.99"]

    # The JSON form carries the same counts.
    gateway = {entry["dimensions"]["Stage"]: entry for entry in as_json["AWS/ApiGateway"]}
    assert {stage: entry["Count"] for stage, entry in gateway.items()} == {key[0]: n for key, n in expected.items()}
    assert sum(entry["4XXError"] for entry in gateway.values()) == 7
    functions = Counter()
    for entry in as_json["AWS/Lambda"]:
        functions[entry["dimensions"]["FunctionName"]] += entry["Errors"]
        assert entry["Duration"]["p50"] <= entry["Duration"]["p90"] <= entry["Duration"]["p99"]
    assert +functions == Counter(name for (name,) in errors.elements())
