"""End to end over HTTP on 127.0.0.1: the ping canary on real Node 18 and Node 22, routing, Host selection,
the admin stats, the access log and HTTP_PROXY with stage variables.

A test whose outcome depends on the split states its false-failure probability (at most 1e-6), taken over the seed
as if it were drawn at random. At 10 % a sample of n requests misses the canary with probability 0.9**n, below 1e-6
from n = 132 on; a test that needs both runtimes sends at least BOTH_RUNTIMES = 150 (0.9**150 + 0.1**150 ≈ 1.4e-7).
"""

from __future__ import annotations

import http.client
import http.server
import json
import re
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from scipy.stats import binom
from support import call

from emulator.config import parse_config
from emulator.stack import StackOptions
from emulator.testing import StackThread
from emulator.yaml_source import parse_yaml

REPO = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).resolve().parent / "fixtures" / "gateway"
PING = REPO / "examples" / "ping" / "canary.yaml"
NODE18, NODE22 = '"node":"v18.', '"node":"v22.'
SEED = 20240611
BOTH_RUNTIMES = 150  # requests at 10 %: P(no Node 22 answer) + P(no Node 18 answer) = 0.9**150 + 0.1**150 < 1.4e-7


# ---- the ping canary ------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def ping10() -> Iterator[tuple[StackThread, list[str]]]:
    """examples/ping as shipped (10 % canary), seeded, with its log lines."""
    lines: list[str] = []
    with StackThread(PING, StackOptions(port=0, seed=SEED), log=lines.append) as running:
        yield running, lines


def runtime_of(body: bytes) -> str:
    """`18` or `22` from a ping body."""
    text = body.decode()
    if NODE18 in text:
        return "18"
    if NODE22 in text:
        return "22"
    raise AssertionError(f"not a ping body: {text}")


def ping_many(running: StackThread, n: int) -> list[str]:
    """Send n GET /prod/ping; the Node major of each answer."""
    runtimes = []
    for _ in range(n):
        reply = call(running.url, "GET", "/prod/ping")
        assert reply.status == 200, reply.body
        runtimes.append(runtime_of(reply.body))
    return runtimes


def test_ten_percent_serves_both_node_18_and_node_22(ping10: tuple[StackThread, list[str]]) -> None:
    """At 10 % both runtimes answer, and the canary share is inside the 1e-6 binomial bound.

    One bounded count; its bound [8, 59] of 300 already demands both runtimes. False-failure probability: <= 1e-6.
    """
    running, _ = ping10
    n = 300
    runtimes = ping_many(running, n)
    canary = runtimes.count("22")
    assert runtimes.count("18") > 0 and canary > 0
    assert binom.ppf(0.5e-6, n, 0.1) <= canary <= binom.isf(0.5e-6, n, 0.1)


def test_ping_bodies_name_the_function_of_each_variant(ping10: tuple[StackThread, list[str]]) -> None:
    """Node 18 answers come from ping-stable, Node 22 answers from ping-canary, with the path without the stage.

    Both must appear in 150 requests. False-failure probability: 0.9**150 + 0.1**150 ≈ 1.4e-7.
    """
    running, _ = ping10
    seen = set()
    for _ in range(BOTH_RUNTIMES):
        body = call(running.url, "GET", "/prod/ping").json()
        seen.add((body["node"].split(".")[0], body["function"], body["path"]))
    assert seen == {("v18", "ping-stable", "/ping"), ("v22", "ping-canary", "/ping")}


def test_stats_count_each_variant(ping10: tuple[StackThread, list[str]]) -> None:
    """GET /_lambda_canary/stats counts requests, functions and runtimes per variant.

    Both variants must appear (a variant without requests has no entry) in 150 requests.
    False-failure probability: 0.9**150 + 0.1**150 ≈ 1.4e-7.
    """
    running, _ = ping10
    assert call(running.url, "DELETE", "/_lambda_canary/stats").status == 200
    runtimes = ping_many(running, BOTH_RUNTIMES)
    reply = call(running.url, "GET", "/_lambda_canary/stats")
    assert reply.status == 200 and reply.header("Content-Type").startswith("application/json")
    (api,) = reply.json()["apis"].values()
    variants = api["prod"]
    base, canary = runtimes.count("18"), runtimes.count("22")
    assert variants["base"] == {"requests": base, "status_2xx": base, "runtime:nodejs18.x": base,
                                "function:ping-stable": base}
    assert variants["canary"] == {"requests": canary, "status_2xx": canary, "runtime:nodejs22.x": canary,
                                  "function:ping-canary": canary}


def test_access_log_line_carries_the_decision(ping10: tuple[StackThread, list[str]]) -> None:
    """One access-log line per request: request id, stage, variant, deployment, function, runtime, status, latency."""
    running, lines = ping10
    pattern = re.compile(
        r"^(?P<id>[0-9a-f-]{36}) GET /prod/ping stage=prod variant=(?P<variant>base|canary) deployment=d1 "
        r"function=ping-(?P<alias>stable|canary) \(v\$LATEST\) runtime=nodejs(?P<node>18|22)\.x status=200 "
        r"latency=\d+\.\d\dms$")
    expected = {"18": ("base", "stable"), "22": ("canary", "canary")}
    for _ in range(40):
        reply = call(running.url, "GET", "/prod/ping")
        request_id = reply.header("x-amzn-RequestId")
        (line,) = [line for line in lines if line.startswith(f"{request_id} ")]
        match = pattern.match(line)
        assert match, line
        assert match["node"] == runtime_of(reply.body)
        assert (match["variant"], match["alias"]) == expected[match["node"]]


def test_the_same_seed_gives_the_same_split() -> None:
    """Two stacks with one seed choose the same variants for the same request sequence.

    The sequence must hold a Node 22 answer (so the comparison covers canary choices) in 150 requests.
    False-failure probability: 0.9**150 ≈ 1.4e-7.
    """
    sequences = []
    for _ in range(2):
        with StackThread(PING, StackOptions(port=0, seed=SEED, access_log=False, function_logs=False)) as running:
            sequences.append(ping_many(running, BOTH_RUNTIMES))
    assert sequences[0] == sequences[1]
    assert "22" in sequences[0]


@pytest.mark.parametrize(("config", "node"), [("ping-0.yaml", "18"), ("ping-100.yaml", "22")])
def test_zero_and_hundred_percent_go_one_way(config: str, node: str) -> None:
    """percentTraffic 0: every request on Node 18 (base); 100: every request on Node 22 (canary).

    False-failure probability: 0 (no randomness at 0 % and 100 %).
    """
    options = StackOptions(port=0, seed=SEED, access_log=False, function_logs=False)
    with StackThread(FIXTURES / config, options) as running:
        assert set(ping_many(running, 60)) == {node}
        (api,) = call(running.url, "GET", "/_lambda_canary/stats").json()["apis"].values()
        assert list(api["prod"]) == ["base" if node == "18" else "canary"]


# ---- routing, Host selection and HTTP_PROXY -------------------------------------------------------------------
class _Upstream(http.server.BaseHTTPRequestHandler):
    """Answers every request with what it received."""

    def _answer(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length).decode() if length else ""
        payload = json.dumps({"method": self.command, "path": self.path, "body": body,
                              "headers": {name.lower(): value for name, value in self.headers.items()}}).encode()
        self.send_response(207)
        self.send_header("Content-Type", "application/json")
        self.send_header("X-Upstream", "yes")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    do_GET = do_POST = do_PUT = do_DELETE = _answer

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet."""


@pytest.fixture(scope="module")
def upstream() -> Iterator[int]:
    """An HTTP server on 127.0.0.1 for the HTTP_PROXY integration; yields its port."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Upstream)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1]
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def routing(upstream: int) -> Iterator[tuple[StackThread, list[str]]]:
    """tests/fixtures/gateway/routing.yaml (two APIs) pointed at the upstream, with its log lines."""
    path = FIXTURES / "routing.yaml"
    text = path.read_text().replace("__UPSTREAM_PORT__", str(upstream))
    lines: list[str] = []
    with StackThread(parse_config(parse_yaml(text, path)), StackOptions(port=0, seed=SEED),
                     log=lines.append) as running:
        yield running, lines


FIRST = [("Host", "routeone01.execute-api.localhost")]


@pytest.mark.parametrize(("path", "resource"), [
    ("/prod/items/special", "/items/special"),
    ("/prod/items/42", "/items/{id}"),
    ("/prod/items/special/deeper", "/{proxy+}"),
    ("/prod/elsewhere", "/{proxy+}"),
    ("/prod/items/42/deeper/still", "/{proxy+}"),
])
def test_most_specific_resource_wins(routing: tuple[StackThread, list[str]], path: str, resource: str) -> None:
    """A literal segment beats `{id}`, which beats `{proxy+}`."""
    reply = call(routing[0].url, "GET", path, FIRST)
    assert reply.status == 200, reply.body
    assert reply.json() == {"api": "first", "resource": resource, "method": "GET"}


@pytest.mark.parametrize("method", ["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"])
def test_any_matches_every_method(routing: tuple[StackThread, list[str]], method: str) -> None:
    """An `ANY` method answers every HTTP method, and the context names the client's method."""
    reply = call(routing[0].url, method, "/prod/any", FIRST)
    assert reply.status == 200, reply.body
    assert reply.json() == {"api": "first", "resource": "/any", "method": method}


def test_a_method_the_resource_lacks_is_403(routing: tuple[StackThread, list[str]]) -> None:
    """POST on a GET-only resource does not fall back to a less specific one."""
    reply = call(routing[0].url, "POST", "/prod/items/special", FIRST)
    assert (reply.status, reply.body) == (403, b'{"message":"Missing Authentication Token"}')


@pytest.mark.parametrize(("host", "api"), [
    ("routeone01.execute-api.localhost", "first"),
    ("routetwo02.execute-api.localhost", "second"),
    ("routetwo02.execute-api.localhost:8080", "second"),
    ("RouteTwo02.Execute-API.localhost", "second"),  # host names are case-insensitive
])
def test_host_selects_the_api(routing: tuple[StackThread, list[str]], host: str, api: str) -> None:
    """`Host: {apiId}.execute-api.localhost` picks one of two APIs."""
    reply = call(routing[0].url, "GET", "/prod/items/special", [("Host", host)])
    assert reply.status == 200, reply.body
    assert reply.json()["api"] == api


@pytest.mark.parametrize("host", ["127.0.0.1", "unknown0001.execute-api.localhost"])
def test_without_a_known_api_host_two_apis_give_403(routing: tuple[StackThread, list[str]], host: str) -> None:
    """With two APIs, a Host that names none of them matches nothing."""
    reply = call(routing[0].url, "GET", "/prod/items/special", [("Host", host)])
    assert reply.status == 403
    assert reply.header("x-amzn-ErrorType") == "MissingAuthenticationTokenException"


def test_http_proxy_substitutes_stage_variables_and_the_proxy_path(routing: tuple[StackThread, list[str]]) -> None:
    """`http://127.0.0.1:PORT/${stageVariables.backendPath}/{proxy}` reaches /v1/<proxy> with the query and body."""
    reply = call(routing[0].url, "POST", "/prod/upstream/a/b?x=1&x=2", [*FIRST, ("X-Custom", "kept")], b"hello")
    assert reply.status == 207
    assert reply.header("X-Upstream") == "yes"
    seen = reply.json()
    assert (seen["method"], seen["path"], seen["body"]) == ("POST", "/v1/a/b?x=1&x=2", "hello")
    assert seen["headers"]["x-custom"] == "kept"
    assert reply.header("x-amzn-RequestId") and reply.header("x-amz-apigw-id")


def test_http_proxy_with_an_undefined_variable_is_500(routing: tuple[StackThread, list[str]]) -> None:
    """An undefined variable in an HTTP_PROXY URI: 500 and `Invalid endpoint address` in the execution log."""
    running, lines = routing
    reply = call(running.url, "GET", "/prod/broken/a", FIRST)
    assert (reply.status, reply.body) == (500, b'{"message": "Internal server error"}')
    assert reply.header("x-amzn-ErrorType") == "InternalServerErrorException"
    request_id = reply.header("x-amzn-RequestId")
    assert (f"({request_id}) Execution failed due to configuration error: Invalid endpoint address") in lines
    assert f"({request_id}) Method completed with status: 500" in lines


def test_access_log_of_an_unknown_stage_keeps_the_path(ping10: tuple[StackThread, list[str]]) -> None:
    """A request to a stage that does not exist: 403, and its access-log line still names the path."""
    running, lines = ping10
    reply = call(running.url, "GET", "/nostage/ping")
    assert reply.status == 403
    (line,) = [line for line in lines if line.startswith(f"{reply.header('x-amzn-RequestId')} ")]
    assert " GET /nostage/ping stage=- " in line, line


def test_two_apis_without_a_host_say_how_to_pick_one(routing: tuple[StackThread, list[str]]) -> None:
    """Both APIs have stage prod: the 403 is AWS's, and the access log says which Host header picks each."""
    running, lines = routing
    reply = call(running.url, "GET", "/prod/items/special", [("Host", "127.0.0.1")])
    assert (reply.status, reply.body) == (403, b'{"message":"Missing Authentication Token"}')
    request_id = reply.header("x-amzn-RequestId")
    (line,) = [line for line in lines if line.startswith(f"{request_id} ")]
    assert "error=2 REST APIs have stage 'prod'; pick one with the Host header {apiId}.execute-api.localhost" in line
    assert "routeone01" in line and "routetwo02" in line
