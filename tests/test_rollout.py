"""`lambda-canary rollout` rehearsed locally on real Node 18 and Node 22, and its gates' false-alarm rates.

Each rollout test runs the command as a user does (`--json`, exit code) on a seeded stack, so the canary choices
are fixed; the failing canaries fail deterministically (every 20th invocation of an environment) or sleep 3x
longer, so what the gates see is far from their thresholds. False-failure probabilities are stated per test.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml
from scipy.stats import binom

from emulator.verify.rollout.gates import GateSettings, Sample, judge_errors, judge_latency
from emulator.verify.rollout.schedule import PREFERENCES, steps_of

REPO = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).resolve().parent / "fixtures" / "rollout"
CLI = [sys.executable, "-m", "emulator.cli"]


def rollout(*args: str) -> tuple[int, dict[str, Any] | None, str]:
    """Run the command; its exit code, its JSON report (when it printed one) and stderr."""
    done = subprocess.run([*CLI, "rollout", *args], capture_output=True, text=True, timeout=600, cwd=REPO)
    report = json.loads(done.stdout) if done.stdout.strip().startswith("{") else None
    return done.returncode, report, done.stderr


@pytest.fixture
def healthy_ping(tmp_path: Path) -> Path:
    """examples/ping as shipped, plus a `rollout:` whose significance bounds the test's false failure."""
    document = yaml.safe_load((REPO / "examples" / "ping" / "canary.yaml").read_text())
    for function in document["functions"].values():
        function["code"] = str(REPO / "examples" / "ping")
    document["rollout"] = {"significance": 1e-8}
    path = tmp_path / "canary.yaml"
    path.write_text(yaml.safe_dump(document))
    return path


def test_a_healthy_canary_passes_every_step_and_is_promoted(healthy_ping: Path) -> None:
    """examples/ping (Node 18 base, Node 22 canary, same handler) through Linear10PercentEvery1Minute: nine
    judged steps, 18 judgements at significance 1e-8, so a false failure has probability <= 1.8e-7 (stated in the
    report as falseAlarmBound) provided Node 22 is not 1.5x slower than Node 18 on the same handler."""
    code, report, stderr = rollout(str(healthy_ping), "--stage", "prod", "--schedule", "Linear10PercentEvery1Minute",
                                   "--traffic", "5/s", "--seed", "11", "--json")
    assert report is not None, stderr
    assert code == 0, json.dumps(report["failed"])
    assert report["outcome"] == "promoted"
    assert report["falseAlarmBound"] <= 1e-6
    assert [step["percent"] for step in report["steps"]] == [10, 20, 30, 40, 50, 60, 70, 80, 90, 100]
    judged = report["steps"][:-1]
    assert all(step["passed"] for step in judged)
    for step in judged:
        assert [gate["metric"] for gate in step["gates"]] == ["errorRate", "latency"]
        assert all(gate["passed"] and gate["pValue"] >= 1e-8 for gate in step["gates"])
        assert step["canary"]["n"] >= 50 and step["base"]["n"] >= 50  # minRequests, reached by extending if short
    assert report["steps"][-1]["gates"] == []  # the 100 % step is the promotion


def test_a_weighted_alias_is_rolled_out_by_its_version_weight(tmp_path: Path) -> None:
    """examples/alias-routing (alias live: version 1 on Node 18, version 2 on Node 22) with --alias ping:live:
    canary and base are told apart by the version that ran; promotion points the alias at version 2. One judged
    step at significance 1e-8: false failure <= 2e-8 for a version 2 no slower than 1.5x version 1."""
    document = yaml.safe_load((REPO / "examples" / "alias-routing" / "canary.yaml").read_text())
    document["functions"]["ping"]["code"] = str(REPO / "examples" / "ping")
    document["rollout"] = {"significance": 1e-8}
    path = tmp_path / "alias.yaml"
    path.write_text(yaml.safe_dump(document))
    code, report, stderr = rollout(str(path), "--alias", "ping:live", "--traffic", "5/s", "--seed", "4", "--json")
    assert report is not None, stderr
    assert code == 0, json.dumps(report["failed"])
    assert report["alias"] == "ping:live" and report["outcome"] == "promoted"
    first = report["steps"][0]
    assert first["canary"]["n"] + first["base"]["n"] == first["requests"] == 1500
    assert 50 <= first["canary"]["n"] <= 300  # ~10 % of 1500 (seeded)


def test_a_canary_failing_five_percent_is_rolled_back_at_the_first_step_by_the_error_rate_gate() -> None:
    """Canary10Percent5Minutes at 10/s: ~300 canary requests against a base that never fails. Each canary environment
    fails its every 20th invocation, so the canary's errors are at most n/20 and, with E environments, at least
    (n - 19E)/20: how many environments scale-out starts depends on the machine's load, so the count is bounded by
    the gate itself. Fisher's one-sided p for k of ~300 against 0 of ~2700 is about 0.1**k: the rollback at p < 1e-7
    needs k >= 7, which holds for E <= 8 (the canary runs at 1 or 2 concurrent requests). Choices seeded."""
    code, report, stderr = rollout(str(FIXTURES / "flaky.yaml"), "--stage", "prod", "--seed", "5", "--json")
    assert report is not None, stderr
    assert code == 1
    assert report["outcome"] == "rolled back"
    assert len(report["steps"]) == 1
    failed = report["failed"]
    assert failed["metric"] == "errorRate" and failed["step"] == 1 and failed["percent"] == 10
    assert failed["pValue"] < failed["significance"] == 1e-7
    assert 7 <= failed["canary"]["errors"] <= failed["canary"]["n"] // 20 and failed["base"]["errors"] == 0
    assert failed["canary"]["n"] + failed["base"]["n"] == 3000


def test_a_canary_three_times_slower_is_rolled_back_by_the_latency_gate() -> None:
    """The base answers after 10 ms, the canary after 30 ms: canary/1.5 is still ~1.9x the base, so Mann-Whitney's
    one-sided p over ~300 against ~2700 requests is astronomically small (< 1e-50); seeded choices."""
    code, report, stderr = rollout(str(FIXTURES / "slow.yaml"), "--stage", "prod", "--seed", "5", "--json")
    assert report is not None, stderr
    assert code == 1
    failed = report["failed"]
    assert failed["metric"] == "latency" and failed["step"] == 1
    assert failed["pValue"] < 1e-7
    # the handlers differ by 20 ms of sleep; the gateway's own time adds to both sides alike (more on a loaded
    # machine), so the medians' difference, not their ratio, is what the fixtures fix
    assert failed["canary"]["latencyP50Ms"] - failed["base"]["latencyP50Ms"] > 10
    gates = {gate["metric"]: gate["passed"] for gate in report["steps"][0]["gates"]}
    assert gates == {"errorRate": True, "latency": False}


def test_the_text_report_names_the_metric_both_samples_and_the_p_value_and_plots(tmp_path: Path) -> None:
    plot = tmp_path / "rollout.html"
    done = subprocess.run([*CLI, "rollout", str(FIXTURES / "flaky.yaml"), "--stage", "prod", "--seed", "5",
                           "--plot", str(plot)], capture_output=True, text=True, timeout=600, cwd=REPO)
    assert done.returncode == 1
    page = plot.read_text()
    assert "<svg" in page
    embedded = json.loads(page.split('id="rollout-report">', 1)[1].split("</script>", 1)[0])
    assert embedded["outcome"] == "rolled back" and embedded["failed"]["metric"] == "errorRate"
    fail = [line for line in done.stdout.splitlines() if "FAIL errorRate" in line]
    assert len(fail) == 1
    assert "canary " in fail[0] and "base " in fail[0] and "Fisher exact one-sided p=" in fail[0]
    assert "rolled back at step 1 (10%): the errorRate gate failed" in done.stdout


@pytest.mark.parametrize(("args", "message"), [
    (["--schedule", "Canary50Percent1Minute"], "--schedule 'Canary50Percent1Minute': use one of"),
    (["--traffic", "fast"], "--traffic 'fast': give requests per second"),
])
def test_bad_options_are_one_line_and_exit_2(args: list[str], message: str) -> None:
    code, _, stderr = rollout(str(REPO / "examples" / "ping" / "canary.yaml"), "--stage", "prod", *args)
    assert code == 2
    assert message in stderr and "Traceback" not in stderr


def test_a_bad_rollout_key_names_the_file_and_key(tmp_path: Path) -> None:
    document = yaml.safe_load((FIXTURES / "slow.yaml").read_text())
    document["rollout"] = {"schedule": "Linear50PercentEvery1Minute"}
    for function in document["functions"].values():
        function["code"] = str(FIXTURES)
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(document))
    code, _, stderr = rollout(str(path), "--stage", "prod")
    assert code == 2
    assert "bad.yaml" in stderr and "rollout" in stderr and "Canary10Percent5Minutes" in stderr


def test_sam_schedules_step_as_documented() -> None:
    """AWS SAM's DeploymentPreference types (automating-updates-to-serverless-apps.html)."""
    assert steps_of("Canary10Percent30Minutes") == steps_of("CodeDeployDefault.LambdaCanary10Percent30Minutes")
    assert [(s.percent, s.minutes) for s in steps_of("Canary10Percent15Minutes")] == [(10, 15), (100, 0)]
    linear = steps_of("Linear10PercentEvery3Minutes")
    assert [s.percent for s in linear] == [10, 20, 30, 40, 50, 60, 70, 80, 90, 100]
    assert sum(s.minutes for s in linear) == 27  # nine 3-minute holds, then the last 10 %
    assert [(s.percent, s.minutes) for s in steps_of("AllAtOnce")] == [(100, 0)]
    assert len(PREFERENCES) == 9


# ---- the gates' false-alarm rates, measured on seeded simulations -------------------------------------------------
TRIALS = 400
ALPHA = 0.05


def _limit() -> int:
    """Most rejections of TRIALS healthy judgements at ALPHA that are plausible: exceeded with probability
    <= 1e-6 when each rejects with probability <= ALPHA (binomial tail)."""
    return int(binom.isf(1e-6, TRIALS, ALPHA))


def test_the_error_gate_rejects_a_healthy_canary_at_most_at_its_significance() -> None:
    """Both sides fail 3 % of requests (the worst case for Fisher's test is equal rates); the gate's false-alarm
    rate must be <= ALPHA. Seeded; the test's false-failure probability is <= 1e-6 by the binomial bound."""
    rng = np.random.default_rng(20261206)
    settings = GateSettings(significance=ALPHA, max_error_rate_increase=0.0)
    alarms = 0
    for _ in range(TRIALS):
        canary = Sample(list(rng.random(300) < 0.03), [1.0] * 300)
        base = Sample(list(rng.random(2700) < 0.03), [1.0] * 2700)
        alarms += not judge_errors(canary, base, settings).passed
    assert alarms <= _limit()


def test_the_latency_gate_rejects_a_canary_exactly_at_the_ratio_at_most_at_its_significance() -> None:
    """The canary's latencies are exactly maxLatencyRatio x the base's distribution (log-normal), the boundary of
    the healthy hypothesis. False-alarm rate <= ALPHA; the test's false failure <= 1e-6 (binomial bound)."""
    rng = np.random.default_rng(20261207)
    settings = GateSettings(significance=ALPHA, max_latency_ratio=1.5)
    alarms = 0
    for _ in range(TRIALS):
        canary = Sample([False] * 300, list(1.5 * rng.lognormal(1.0, 0.5, 300)))
        base = Sample([False] * 2700, list(rng.lognormal(1.0, 0.5, 2700)))
        alarms += not judge_latency(canary, base, settings).passed
    assert alarms <= _limit()


def test_the_gates_catch_what_they_are_for() -> None:
    """Power on fixed inputs: a 5 % error rate against 0 %, and 3x the latency, at significance 1e-7."""
    settings = GateSettings(significance=1e-7)
    canary = Sample([i % 20 == 0 for i in range(300)], [3.0] * 300)
    base = Sample([False] * 2700, [1.0 + (i % 7) / 10 for i in range(2700)])
    assert not judge_errors(canary, base, settings).passed
    canary = Sample([False] * 300, [3.0 * (1.0 + (i % 7) / 10) for i in range(300)])
    assert not judge_latency(canary, base, settings).passed


def test_a_diff_corpus_is_the_rollouts_traffic(tmp_path: Path) -> None:
    """`--corpus` (a diff corpus, JSON lines here) sends its requests in turn: the flaky canary of flaky.yaml is
    still rolled back by the error-rate gate (same seed and numbers as the test above), and the requests that
    reach no integration (404, a missing route) are counted but belong to neither side's errors."""
    corpus = tmp_path / "traffic.jsonl"
    corpus.write_text('{"method": "GET", "path": "/ping", "query": {"from": "corpus"}}\n'
                      '{"method": "GET", "path": "/ping", "headers": {"x-source": "corpus"}}\n')
    code, report, stderr = rollout(str(FIXTURES / "flaky.yaml"), "--stage", "prod", "--seed", "5",
                                   "--corpus", str(corpus), "--json")
    assert report is not None, stderr
    assert code == 1 and report["failed"]["metric"] == "errorRate"
    assert report["corpus"] == f"{corpus} (2 requests)"
    assert report["steps"][0]["canary"]["n"] + report["steps"][0]["base"]["n"] == 3000


def test_corpus_forms_are_told_apart_by_name_and_content(tmp_path: Path) -> None:
    from emulator.verify.diff.corpus import load_any

    har = tmp_path / "capture.json"
    har.write_text(json.dumps({"log": {"entries": [{"request": {"method": "POST", "url": "http://h/prod/orders?a=1",
                                                                "postData": {"text": "{}"}}}]}}))
    openapi = tmp_path / "api.json"
    openapi.write_text(json.dumps({"openapi": "3.0.1", "paths": {"/items/{id}": {"get": {
        "parameters": [{"name": "id", "in": "path", "example": "7"}]}}}}))
    lines = tmp_path / "requests.txt"
    lines.write_text('{"path": "/ping"}\n')
    assert [r.describe() for r in load_any(har, "prod")] == ["POST /orders?a=1"]
    assert [r.describe() for r in load_any(openapi, "prod")] == ["GET /items/7"]
    assert [r.describe() for r in load_any(lines, "prod")] == ["GET /ping"]
