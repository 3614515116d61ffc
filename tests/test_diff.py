"""`lambda-canary diff`: the same requests to both sides of a migration, every difference reported.

Real stacks on the process backend (Node 18.20.8 and 22.23.3), real HTTP on loopback, the CLI in a subprocess."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from pathlib import Path

import pytest

from emulator.errors import UserError
from emulator.paths import cache_dir
from emulator.verify.diff.compare import Observation, compare, json_differences, log_signature, render_path
from emulator.verify.diff.corpus import DiffRequest, load_har, load_jsonl, load_openapi_examples
from emulator.verify.diff.rules import Rules, parse_rule

pytest_plugins = ["pytester"]

REPO = Path(__file__).resolve().parent.parent
PING = REPO / "examples" / "ping" / "canary.yaml"
MIGRATION = REPO / "examples" / "migration" / "canary.yaml"
CLI = [sys.executable, "-m", "emulator.cli"]
NODE_RULE = r"$.node ~ ^v\d+\."
CACHE = cache_dir()  # read before pytester points HOME at a temporary folder


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*CLI, *args], capture_output=True, text=True, cwd=REPO, timeout=300)


def diff_json(*args: str) -> tuple[int, dict]:  # type: ignore[type-arg]
    result = run("diff", *args, "--json")
    assert result.returncode in (0, 1), result.stdout + result.stderr
    return result.returncode, json.loads(result.stdout)


# ---- acceptance: examples/ping ------------------------------------------------------------------
def test_ping_without_rules_reports_exactly_the_node_field_on_every_request() -> None:
    code, data = diff_json(str(PING), "--requests", "12")
    assert code == 1
    assert [(d["kind"], d["where"], d["count"]) for d in data["differences"]] == [("body", "$.node", 12)]
    only = data["differences"][0]
    assert only["base"] == "v18.20.8" and only["canary"] == "v22.23.3"
    assert only["requests"] == list(range(12)) and only["first_request"] == {"method": "GET", "path": "/ping"}
    assert data["sides"]["base"]["description"] == "base -> ping-stable v$LATEST (nodejs18.x)"
    assert data["sides"]["canary"]["description"] == "canary -> ping-canary v$LATEST (nodejs22.x)"


def test_ping_with_the_node_rule_reports_no_difference_and_passes(tmp_path: Path) -> None:
    html = tmp_path / "report.html"
    result = run("diff", str(PING), "--rule", NODE_RULE, "--requests", "20", "--html", str(html))
    assert result.returncode == 0, result.stdout + result.stderr
    text = " ".join(result.stdout.split())
    assert "PASS: no difference over 20 requests beyond what the rules allow" in text
    assert "allowed by the rules: 20 difference(s)" in text
    assert "Memory" in text and "ratio" in text  # the figures table (its headers wrap at 80 columns)
    assert "PASS" in html.read_text()


def test_a_pattern_one_side_does_not_match_is_still_a_difference() -> None:
    code, data = diff_json(str(PING), "--rule", r"$.node ~ ^v18\.")
    assert code == 1
    assert [(d["where"], d["canary"]) for d in data["differences"]] == [("$.node", "v22.23.3")]


# ---- acceptance: an API missing on Node 18 --------------------------------------------------------
def test_the_migration_example_reports_what_changes_between_node_18_and_22(tmp_path: Path) -> None:
    """examples/migration: toSorted (Node 20+) fails on Node 18 only; punycode warns (DEP0040) on Node 22 only;
    two changed defaults show in the body; the config's own rule allows the `node` field."""
    html = tmp_path / "migration.html"
    saved = tmp_path / "differing.jsonl"
    code, data = diff_json(str(MIGRATION), "--html", str(html), "--save-differing", str(saved))
    assert code == 1
    found = {(d["kind"], d["where"]): d for d in data["differences"]}
    error = found[("error", "TypeError")]
    assert error["base"] == "TypeError: orders.toSorted is not a function" and error["canary"] is None
    assert error["first_request"] == {"method": "GET", "path": "/orders"}
    assert found[("status", "status")]["base"] == "502" and found[("status", "status")]["canary"] == "200"
    deprecation = found[("log", "deprecation")]
    assert deprecation["base"] is None and "[DEP0040]" in deprecation["canary"]
    assert deprecation["first_request"]["path"] == "/domains/1"
    assert (found[("body", "$.keepAlive")]["base"], found[("body", "$.keepAlive")]["canary"]) == ("false", "true")
    assert (found[("body", "$.highWaterMark")]["base"], found[("body", "$.highWaterMark")]["canary"]) == \
        ("16384", "65536")
    assert [d["where"] for d in data["allowed"]] == ["$.node"]
    page = html.read_text()
    assert "orders.toSorted is not a function" in page and "DEP0040" in page
    assert {json.loads(line)["path"] for line in saved.read_text().splitlines()} == \
        {"/orders", "/domains/1", "/defaults"}


def test_one_function_on_two_runtimes() -> None:
    """--runtimes: both sides take the base route, each running every function on its own runtime."""
    code, data = diff_json(str(MIGRATION), "--runtimes", "nodejs18.x,nodejs22.x", "--requests-file",
                           str(REPO / "tests" / "fixtures" / "diff" / "orders.jsonl"))
    assert code == 1
    assert data["sides"]["base"]["description"] == "base -> orders-stable v$LATEST (nodejs18.x) on nodejs18.x"
    assert data["sides"]["canary"]["description"] == "base -> orders-stable v$LATEST (nodejs18.x) on nodejs22.x"
    assert [(d["kind"], d["where"], d["base"]) for d in data["differences"] if d["kind"] == "error"] == [
        ("error", "TypeError", "TypeError: orders.toSorted is not a function")]


# ---- bad input ---------------------------------------------------------------------------------
def test_a_bad_rule_is_one_line_and_exit_2() -> None:
    result = run("diff", str(PING), "--rule", "$.node ~ (")
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "is not a regular expression" in result.stderr


def test_a_bad_rule_in_the_config_names_the_file_and_key(tmp_path: Path) -> None:
    config = tmp_path / "canary.yaml"
    text = PING.read_text().replace("code: .", f"code: {PING.parent}")
    config.write_text(text + "diff:\n  ignore: ['body.node']\n")
    result = run("diff", str(config))
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "canary.yaml" in result.stderr and "diff" in result.stderr and "use a JSON path" in result.stderr


def test_a_chain_with_nothing_to_compare_asks_for_runtimes(tmp_path: Path) -> None:
    config = tmp_path / "canary.yaml"
    config.write_text(PING.read_text().replace("code: .", f"code: {PING.parent}")
                      .replace("percentTraffic: 10", "percentTraffic: 0"))
    result = run("diff", str(config))
    assert result.returncode == 2 and "--runtimes nodejs18.x,nodejs22.x" in result.stderr


# ---- the comparison itself ----------------------------------------------------------------------
def test_json_differences_name_the_path_of_each() -> None:
    found = json_differences({"a": {"b": [1, 2]}, "c": 1, "d": True}, {"a": {"b": [1, 3]}, "e": 2, "d": 1})
    assert [render_path(key) for key, _, _ in found] == ["$.a.b[1]", "$.c", "$.d", "$.e"]
    assert render_path(("a b", 0)) == '$["a b"][0]'


def test_each_sides_own_names_compare_as_the_same() -> None:
    a = Observation(200, {}, b'{"function": "ping-stable", "x": 1}', 1.0, identity={"function": "ping-stable"})
    b = Observation(200, {}, b'{"function": "ping-canary", "x": 1}', 1.0, identity={"function": "ping-canary"})
    assert compare(0, a, b, Rules()) == []


def test_log_lines_only_one_side_wrote_are_classified() -> None:
    a = Observation(200, {}, b"", 1.0)
    b = Observation(200, {}, b"", 1.0)
    a.read_logs(["START RequestId: x Version: 1", "2024-01-01T00:00:00.000Z\tabc\tINFO\thello",
                 "REPORT RequestId: x\tDuration: 1.50 ms\tBilled Duration: 2 ms\tMemory Size: 128 MB\t"
                 "Max Memory Used: 40 MB\tInit Duration: 20.00 ms\t"])
    b.read_logs(["2024-02-02T00:00:00.000Z\tdef\tINFO\thello",
                 "(node:77) ExperimentalWarning: something", "(node:77) [DEP0040] DeprecationWarning: punycode"])
    assert (a.duration_ms, a.max_memory_mb, a.init_duration_ms) == (1.5, 40, 20.0)
    found = compare(3, a, b, Rules.parse(["log:ExperimentalWarning"]))
    assert sorted((d.where, d.canary, d.allowed_by) for d in found) == [
        ("deprecation", "(node:<pid>) [DEP0040] DeprecationWarning: punycode", None),
        ("experimental", "(node:<pid>) ExperimentalWarning: something", "log:ExperimentalWarning")]
    assert log_signature("2024-01-01T00:00:00.000Z\t1b4e28ba-2fa1-11d2-883f-0016d3cca427\tWARN\tx", {}) == "WARN\tx"


@pytest.mark.parametrize("text", ["node", "$.", "header:", "log:(", "$.a ~ "])
def test_rule_grammar_refuses(text: str) -> None:
    with pytest.raises(ValueError, match="rule"):
        parse_rule(text)


def test_headers_by_pattern_and_the_ids_every_request_gets_are_ignored() -> None:
    a = Observation(200, {"x-amzn-requestid": "1", "server": "n18", "date": "d1"}, b"", 1.0)
    b = Observation(200, {"x-amzn-requestid": "2", "server": "n22", "date": "d2"}, b"", 1.0)
    assert [d.allowed_by for d in compare(0, a, b, Rules.parse([r"header:Server ~ ^n\d+$"]))] == [
        r"header:Server ~ ^n\d+$"]


# ---- corpora -----------------------------------------------------------------------------------
def test_corpora_from_json_lines_har_and_openapi_examples(tmp_path: Path) -> None:
    lines = tmp_path / "requests.jsonl"
    lines.write_text('{"path": "/orders", "query": {"sort": "id"}}\n\n{"method": "post", "path": "/x", '
                     '"body": {"a": 1}, "headers": {"X-A": "1"}}\n')
    assert load_jsonl(lines) == [DiffRequest("GET", "/orders", (("sort", "id"),)),
                                 DiffRequest("POST", "/x", (), (("X-A", "1"),), b'{"a": 1}')]
    har = tmp_path / "browser.har"
    har.write_text(json.dumps({"log": {"entries": [{"request": {
        "method": "GET", "url": "https://abc.execute-api.us-east-1.amazonaws.com/prod/domains/b%C3%BCcher?x=1",
        "headers": [{"name": "Accept", "value": "application/json"}, {"name": "Host", "value": "abc"}]}}]}}))
    assert load_har(har, "prod") == [DiffRequest("GET", "/domains/bücher", (("x", "1"),),
                                                 (("Accept", "application/json"),))]
    requests = load_openapi_examples(REPO / "tests" / "fixtures" / "diff" / "orders-openapi.yaml")
    assert [request.describe() for request in requests] == ["GET /domains/bücher", "GET /orders?limit=5"]
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"path": "/a"}\nnot json\n')
    with pytest.raises(UserError, match=r"bad.jsonl:2: not JSON"):
        load_jsonl(bad)


# ---- the pytest plugin -------------------------------------------------------------------------
def test_the_plugin_asserts_same_behaviour_and_fails_with_the_table(pytester: pytest.Pytester,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """A user's project: the session stack serves examples/ping (the node rule makes it pass); a marked test runs
    examples/migration and fails with the table naming the Node 18 error; split infers the alias's runtime share."""
    monkeypatch.setenv("LAMBDA_CANARY_CACHE", str(CACHE))
    pytester.makeini(f"[pytest]\nlambda_canary_config = {PING}\n")
    pytester.makepyfile(test_user=f"""
        import pytest
        from emulator.verify.pytest_plugin import assert_split

        def test_ping_same(lambda_canary):
            result = lambda_canary.assert_same_behaviour(["/ping", "GET /ping"], rules=[{NODE_RULE!r}])
            assert len(result.requests) == 2 and result.passed

        def test_ping_differs_without_the_rule(lambda_canary):
            lambda_canary.assert_same_behaviour([{{"path": "/ping"}}])

        @pytest.mark.lambda_canary(config={str(MIGRATION)!r})
        def test_migration(lambda_canary):
            lambda_canary.assert_same_behaviour(["/orders"])

        @pytest.mark.lambda_canary(config={str(REPO / "examples" / "alias-routing" / "canary.yaml")!r}, seed=3)
        def test_alias_split_inferred(lambda_canary):
            result = lambda_canary.split("/ping", requests=1500)
            assert (result.by, result.canary_key, result.expected_percent) == ("runtime", "nodejs22.x", 10.0)
            assert_split(result)  # exact test, false failure at most 1e-6
    """)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", timeout=300)
    result.assert_outcomes(passed=2, failed=2)
    result.stdout.fnmatch_lines(["*test_ping_differs_without_the_rule*", "*$.node*v18.20.8*v22.23.3*1 of 1*"])
    result.stdout.fnmatch_lines(["*error*TypeError*orders.toSorted is not a function*(none)*GET /orders*"])


# ---- generated requests ------------------------------------------------------------------------
PLANTED = REPO / "tests" / "fixtures" / "diff" / "planted"


def test_generated_requests_find_the_difference_behind_one_query_value_and_save_it_shrunk(tmp_path: Path) -> None:
    """schemathesis generates requests from the OpenAPI schema (Hypothesis, seed 7); the handler differs only for
    ?mode=legacy (toSorted, missing on Node 18). The saved request is Hypothesis's shrunk example: mode=legacy and
    nothing else beyond minimal values; replayed, it shows the difference, and with another mode it does not."""
    saved = tmp_path / "smallest.jsonl"
    result = run("diff", str(PLANTED / "canary.yaml"), "--openapi", str(PLANTED / "openapi.yaml"), "--generate",
                 "--seed", "7", "--max-examples", "200", "--save-differing", str(saved), "--json")
    assert result.returncode == 1, result.stdout + result.stderr
    data = json.loads(result.stdout)
    [line] = saved.read_text().splitlines()
    smallest = json.loads(line)
    assert smallest == data["smallest"]
    query = dict(smallest.get("query", []))
    assert query.get("mode") == "legacy" and query.get("q", "") == "" and query.get("limit", "1") == "1"
    assert len(json.dumps(smallest)) <= len(json.dumps(data["first"]))
    assert [(d["kind"], d["base"]) for d in data["differences"] if d["kind"] == "error"] == [
        ("error", "TypeError: items.toSorted is not a function")]
    replay = run("diff", str(PLANTED / "canary.yaml"), "--requests-file", str(saved), "--json")
    assert replay.returncode == 1
    other = tmp_path / "other.jsonl"
    other.write_text(line.replace('"legacy"', '"fast"') + "\n")
    assert run("diff", str(PLANTED / "canary.yaml"), "--requests-file", str(other)).returncode == 0


def test_an_operation_schemathesis_cannot_read_is_one_line_naming_the_file(tmp_path: Path) -> None:
    broken = tmp_path / "openapi.yaml"
    broken.write_text((PLANTED / "openapi.yaml").read_text().replace(
        "      parameters:\n", "      parameters:\n        - {$ref: '#/components/parameters/nowhere'}\n", 1))
    result = run("diff", str(PLANTED / "canary.yaml"), "--openapi", str(broken), "--generate", "--max-examples", "5")
    assert result.returncode == 2, result.stdout + result.stderr
    assert f"{broken}: an operation schemathesis cannot read" in result.stderr
    assert "Traceback" not in result.stderr and "has no attribute" not in result.stderr


def test_generate_needs_an_openapi_document() -> None:
    result = run("diff", str(PING), "--generate")
    assert result.returncode == 2 and "--openapi FILE" in result.stderr


def test_the_migration_example_passes_its_own_check() -> None:
    result = run("check", str(MIGRATION))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no findings" in result.stdout + result.stderr


def test_concurrent_requests_keep_their_pairing_and_order() -> None:
    """--concurrency 8: answers come back out of order, yet each request keeps its own answer, function error and
    lines (a raw line without a request id included) on both sides, and the report keeps the requests' order."""
    from emulator.verify.diff.runner import run_both
    from emulator.verify.diff.session import DiffSession

    session = DiffSession.open(REPO / "tests" / "fixtures" / "diff" / "concurrent" / "canary.yaml", None,
                               ("nodejs18.x", "nodejs22.x"), (), "process")
    requests = [DiffRequest("GET", "/n", (("n", str(n)),)) for n in range(40)]
    sides = asyncio.run(run_both(session.loaded, session.stage, session.sides, requests, "process", concurrency=8))
    for side in sides:
        assert len(side.observations) == len(requests)
        for n, observation in enumerate(side.observations):
            assert json.loads(observation.body) == {"n": n}
            assert [line.rsplit("\t", 1)[-1] if "\t" in line else line for line in observation.logs] == [
                f"console line {n}", f"raw line {n}"], observation.logs
            assert observation.duration_ms is not None
    result = session.run(requests, concurrency=8)
    assert result.passed
