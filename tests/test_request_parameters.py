"""requestParameters and the template's request/response overrides, over real HTTP through the gateway.

The spec: AWS's "Parameter mapping source reference for REST APIs"
(https://docs.aws.amazon.com/apigateway/latest/developerguide/rest-api-parameter-mapping-sources.html, in
"request-response-data-mappings"): integration.request.header|querystring|path.NAME from method.request.*,
stageVariables.x, context.x and 'static' values, for proxy and non-proxy integrations; "Override your API's request
and response parameters and status codes" (apigateway-override-request-response-parameters.html) for
$context.requestOverride / responseOverride. LocalStack's AWS-validated
tests/aws/services/apigateway/test_apigateway_common.py::test_integration_request_parameters_mapping (a header from
method.request.header.customHeader, another from context.resourceId, reaching the HTTP endpoint) and
test_apigateway_integrations.py::test_integration_mock_with_response_override_in_request_template
(localstack/localstack 8b9a79f0) are the recorded cases the first two tests repeat.

The HTTP endpoint is a real Node server (Node 22 from the runtime cache); the Lambda integrations run real Node
functions (process backend), which see Lambda's client context and, invoked asynchronously, call the endpoint.
"""

from __future__ import annotations

import base64
import json
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from support import call

from emulator.runtimes.provision import find_node
from emulator.stack import StackOptions
from emulator.testing import StackThread

ECHO_SERVER = r"""
const http = require("http");
const seen = [];
const server = http.createServer((request, response) => {
  let body = "";
  request.on("data", (chunk) => { body += chunk; });
  request.on("end", () => {
    if (request.url === "/_seen") {
      response.writeHead(200, {"Content-Type": "application/json"});
      return response.end(JSON.stringify(seen));
    }
    const record = {method: request.method, url: request.url, headers: request.headers, body};
    seen.push(record);
    response.writeHead(200, {"Content-Type": "application/json"});
    response.end(JSON.stringify(record));
  });
});
server.listen(0, "127.0.0.1", () => console.log(server.address().port));
"""

FUNCTION = """
const http = require("http");
exports.handler = async (event, context) => {
  if (event.fail) throw new Error("failed on purpose");
  if (event.call) {  // invoked asynchronously: tell the endpoint, which the test reads back
    await new Promise((resolve, reject) => {
      const request = http.request(process.env.ECHO_URL + "/from-function/" + event.call, {method: "POST"},
                                   (response) => { response.resume(); response.on("end", resolve); });
      request.on("error", reject);
      request.end(JSON.stringify({node: process.version}));
    });
  }
  return {node: process.version, clientContext: context.clientContext || null, event};
};
"""


@pytest.fixture(scope="module")
def echo() -> Iterator[str]:
    """A Node HTTP server that answers each request with what it received and lists them at /_seen."""
    binary = find_node("nodejs22.x")
    if binary is None:
        pytest.skip("Node 22 is not installed (lambda-canary runtimes install nodejs22.x)")
    process = subprocess.Popen([str(binary.path), "-e", ECHO_SERVER], stdout=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        port = int(process.stdout.readline())
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(timeout=10)


def _integration(uri: str, kind: str = "HTTP", **extra: Any) -> dict[str, Any]:
    return {"integration": {"type": kind, "uri": uri, "integrationHttpMethod": "POST", **extra}}


LAMBDA_URI = ("arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/arn:aws:lambda:us-east-1:123456789012:"
              "function:echo/invocations")


@pytest.fixture(scope="module")
def stack(echo: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[StackThread]:
    folder = tmp_path_factory.mktemp("request-parameters")
    (folder / "index.js").write_text(FUNCTION)
    json_template = {"application/json": '{"from": "template"}'}
    echoed = {"200": {"responseTemplates": {"application/json": "$input.body"}}}
    resources = {
        "/mapped/{id}": {"GET": _integration(
            f"{echo}/items/{{item}}", requestTemplates=json_template, integrationResponses=echoed,
            requestParameters={
                "integration.request.path.item": "method.request.path.id",
                "integration.request.querystring.q": "method.request.querystring.search",
                "integration.request.querystring.all": "method.request.multivaluequerystring.m",
                "integration.request.header.X-Stage": "stageVariables.env",
                "integration.request.header.X-Resource": "context.resourcePath",
                "integration.request.header.X-Static": "'fixed value'",
                "integration.request.header.testHeader": "method.request.header.customHeader",
                "integration.request.header.X-Missing": "method.request.header.NotSent"})},
        "/escape": {"GET": _integration(
            f"{echo}/items/{{item}}/end", integrationResponses=echoed, requestTemplates=json_template,
            requestParameters={"integration.request.path.item": "method.request.querystring.to"})},
        "/overridden/{id}": {"POST": _integration(
            f"{echo}/items/{{item}}", integrationResponses=echoed,
            requestTemplates={"application/json": (
                "#set($context.requestOverride.header.X-Stage = \"from-override\")\n"
                "#set($context.requestOverride.querystring.extra = $input.path('$.extra'))\n"
                "#set($context.requestOverride.path.item = \"override-$input.params('id')\")\n"
                '{"from": "template"}')},
            requestParameters={"integration.request.path.item": "method.request.path.id",
                               "integration.request.header.X-Stage": "stageVariables.env",
                               "integration.request.header.X-Kept": "'kept'"})},
        "/proxy/{proxy+}": {"ANY": _integration(
            f"{echo}/behind/{{rest}}", "HTTP_PROXY",
            requestParameters={"integration.request.path.rest": "method.request.path.proxy",
                               "integration.request.header.X-Added": "'static'",
                               "integration.request.header.X-Replaced": "'by the mapping'",
                               "integration.request.querystring.v": "stageVariables.env"})},
        "/lambda": {"POST": _integration(
            LAMBDA_URI, "AWS", integrationResponses=echoed,
            requestTemplates={"application/json": "$input.body"},
            requestParameters={"integration.request.header.X-Amz-Client-Context": "method.request.header.X-Client",
                               "integration.request.header.X-Amz-Invocation-Type":
                                   "method.request.header.InvocationType"})},
        "/lambda-async": {"POST": _integration(
            LAMBDA_URI, "AWS", integrationResponses={
                "200": {"responseTemplates": {"application/json": '{"node": "$input.path(\'$.node\')"}'}}},
            requestTemplates={"application/json": (
                "#set($context.requestOverride.header.X-Amz-Invocation-Type = \"Event\")\n$input.body")})},
        "/teapot": {"GET": _integration(
            LAMBDA_URI, "AWS", integrationResponses={"200": {"responseTemplates": {"application/json": (
                "#set($context.responseOverride.status = 418)\n"
                "#set($context.responseOverride.header.X-Teapot = \"$input.path('$.event.kind')\")\n"
                '{"short": "and stout"}')}}},
            requestTemplates={"application/json": '{"kind": "teapot"}'})},
    }
    config = {"region": "us-east-1", "accountId": "123456789012", "backend": "process",
              "functions": {"echo": {"runtime": "nodejs22.x", "handler": "index.handler", "code": str(folder),
                                     "environment": {"ECHO_URL": echo}}},
              "restApis": {"params-api": {"resources": resources,
                                          "stages": {"prod": {"variables": {"env": "production"}}}}}}
    path = folder / "canary.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    with StackThread(path, StackOptions(port=0, seed=1, function_logs=False), log=LOG.append) as running:
        yield running


LOG: list[str] = []  # the stack's log lines (execution log included), for the tests that read them


def _lower(headers: dict[str, str]) -> dict[str, str]:
    return {name.lower(): value for name, value in headers.items()}


def test_http_integration_gets_every_kind_of_mapped_parameter(stack: StackThread) -> None:
    """Path, query (single and multi-value), header from the method request, a stage variable, a context variable
    and a static value reach the endpoint; a source the request lacks maps nothing; the method request's other
    headers and query parameters are not passed to a non-proxy endpoint."""
    reply = call(stack.url, "GET", "/prod/mapped/42?search=rex&m=a&m=b&unmapped=1",
                 [("customHeader", "test"), ("X-Not-Mapped", "no")])
    assert reply.status == 200, reply.body
    seen = reply.json()
    assert seen["method"] == "POST" and seen["body"] == '{"from": "template"}'
    path, _, query = seen["url"].partition("?")
    assert path == "/items/42"
    assert sorted(query.split("&")) == ["all=a", "all=b", "q=rex"]
    headers = _lower(seen["headers"])
    assert headers["x-stage"] == "production"
    assert headers["x-resource"] == "/mapped/{id}"
    assert headers["x-static"] == "fixed value"
    assert headers["testheader"] == "test"  # LocalStack's recorded case: customHeader -> testHeader
    assert "x-missing" not in headers and "x-not-mapped" not in headers and "customheader" not in headers


def test_a_mapped_path_value_is_percent_encoded_into_its_segment(stack: StackThread) -> None:
    """A value mapped into `{item}` from the query string (decoded) cannot add a query or a fragment to the
    integration URI, nor change its host: `?`, `#`, `@`, `=` and the like are percent-encoded, and sent so (the
    gateway's HTTP client does not re-normalize the URL)."""
    reply = call(stack.url, "GET", "/prod/escape?to=a%2Fb%3Frole%3Droot%23x%40evil")
    assert reply.status == 200, reply.body
    assert reply.json()["url"] == "/items/a/b%3Frole%3Droot%23x%40evil/end"


@pytest.mark.parametrize(("target", "reached"), [
    ("/prod/escape?to=../admin", "/items/%2E%2E/admin/end"),
    ("/prod/escape?to=..", "/items/%2E%2E/end"),
    ("/prod/escape?to=%2E%2E%2F.%2Fx", "/items/%2E%2E/%2E/x/end"),
    ("/prod/escape?to=..%252F..", "/items/..%2F../end"),
    ("/prod/mapped/..", "/items/%2E%2E"),
    ("/prod/mapped/%2E%2E", "/items/%2E%2E"),
    ("/prod/mapped/..%2F..%2Fadmin", "/items/..%2F..%2Fadmin"),
    ("/prod/proxy/a/%2E%2E/%2e%2E/admin", "/behind/a/%2E%2E/%2E%2E/admin"),
])
def test_a_mapped_path_value_cannot_climb_out_of_the_integration_uri(stack: StackThread, target: str,
                                                                      reached: str) -> None:
    """A value mapped into the integration URI's path (from the query string, a path parameter or a greedy proxy
    path) whose segment is `.` or `..`, spelled plainly or with `%2E`, reaches the endpoint as `%2E`s inside the
    URI's path, never as a step up (before, the gateway's HTTP client removed them: `/items/../admin/end` went to
    `/admin/end`); an escaped `/` stays escaped, inside its segment."""
    reply = call(stack.url, "GET", target)
    assert reply.status == 200, reply.body
    assert reply.json()["url"].partition("?")[0] == reached


def test_request_override_in_the_template_replaces_mapped_parameters(stack: StackThread) -> None:
    """$context.requestOverride.header/querystring/path, set by the request template, win over requestParameters
    (X-Stage, the path) and add what they name (the query parameter); mappings they do not name stay."""
    reply = call(stack.url, "POST", "/prod/overridden/9", [("Content-Type", "application/json")],
                 b'{"extra": "from-body"}')
    assert reply.status == 200, reply.body
    seen = reply.json()
    assert seen["url"] == "/items/override-9?extra=from-body"
    headers = _lower(seen["headers"])
    assert (headers["x-stage"], headers["x-kept"]) == ("from-override", "kept")


def test_http_proxy_applies_request_parameters_on_top_of_the_passed_request(stack: StackThread) -> None:
    """HTTP_PROXY passes the method request through; requestParameters fill the URI's {rest} from the greedy path
    parameter, add a header and a query parameter, and a mapped header replaces the client's of that name."""
    reply = call(stack.url, "PUT", "/prod/proxy/a/b?x=1", [("X-Client", "kept"), ("X-Replaced", "by the client")],
                 b"payload")
    assert reply.status == 200, reply.body
    seen = reply.json()
    assert (seen["method"], seen["url"], seen["body"]) == ("PUT", "/behind/a/b?x=1&v=production", "payload")
    headers = _lower(seen["headers"])
    assert (headers["x-client"], headers["x-added"], headers["x-replaced"]) == ("kept", "static", "by the mapping")


def test_a_mapped_client_context_reaches_the_node_function(stack: StackThread) -> None:
    """integration.request.header.X-Amz-Client-Context (Lambda Invoke's base64 client context) from a method
    request header: the Node function's context.clientContext is the decoded object."""
    client = {"client": {"installation_id": "abc"}, "custom": {"who": "test"}, "env": {}}
    reply = call(stack.url, "POST", "/prod/lambda",
                 [("Content-Type", "application/json"),
                  ("X-Client", base64.b64encode(json.dumps(client).encode()).decode())], b"{}")
    assert reply.status == 200, reply.body
    answer = reply.json()
    assert answer["node"].startswith("v22.")
    assert answer["clientContext"]["custom"] == {"who": "test"}, answer
    plain = call(stack.url, "POST", "/prod/lambda", [("Content-Type", "application/json")], b"{}")
    assert plain.json()["clientContext"] is None


def test_a_client_context_with_line_breaks_and_any_character_cannot_break_the_runtime_api_reply(
        stack: StackThread) -> None:
    """JSON may hold CR and LF as whitespace, and characters Latin-1 cannot carry: the runtime gets the object
    re-encoded (compact, ASCII) in its Lambda-Runtime-Client-Context header, never a line break that would end
    the header nor a character the header cannot hold; what is not base64 of a JSON object is Lambda's error."""
    text = '{\r\n"custom": {"who": "\u20ac \u4e2d"},\r\n"env": {}\r\n}'
    reply = call(stack.url, "POST", "/prod/lambda",
                 [("Content-Type", "application/json"),
                  ("X-Client", base64.b64encode(text.encode()).decode())], b"{}")
    assert reply.status == 200, reply.body
    assert reply.json()["clientContext"]["custom"] == {"who": "\u20ac \u4e2d"}
    for bad in (b"not json", b"[1, 2]"):
        refused = call(stack.url, "POST", "/prod/lambda",
                       [("Content-Type", "application/json"), ("X-Client", base64.b64encode(bad).decode())], b"{}")
        assert refused.status == 500 and refused.json() == {"message": "Internal server error"}


def _wait_for_call(echo_url: str, name: str) -> dict[str, Any]:
    """The endpoint's record of the function's call `name` (the function runs in the background: poll for it)."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        reply = call(echo_url, "GET", "/_seen")
        found = [item for item in reply.json() if item["url"] == f"/from-function/{name}"]
        if found:
            return dict(found[0])
        time.sleep(0.05)
    raise AssertionError(f"the function never called the endpoint for {name}")


def test_invocation_type_event_runs_the_function_in_the_background(stack: StackThread, echo: str) -> None:
    """X-Amz-Invocation-Type: Event (mapped from a method request header, or set by the template's requestOverride)
    invokes asynchronously (AWS: set-up-lambda-integration-async.html): the response is the default integration
    response rendered over an empty payload, and the function still runs (it calls the endpoint)."""
    synchronous = call(stack.url, "POST", "/prod/lambda", [("Content-Type", "application/json")], b'{"call": "sync"}')
    assert synchronous.json()["node"].startswith("v22.")
    mapped = call(stack.url, "POST", "/prod/lambda", [("Content-Type", "application/json"),
                                                      ("InvocationType", "Event")], b'{"call": "mapped"}')
    assert (mapped.status, mapped.body) == (200, b"")  # `$input.body` of Lambda's empty asynchronous answer
    overridden = call(stack.url, "POST", "/prod/lambda-async", [("Content-Type", "application/json")],
                      b'{"call": "override"}')
    assert (overridden.status, overridden.json()) == (200, {"node": ""})
    for name in ("mapped", "override"):
        assert json.loads(_wait_for_call(echo, name)["body"])["node"].startswith("v22.")


def test_invocation_type_is_lambdas_own_header_dry_run_runs_nothing_and_an_unknown_type_is_a_500(
        stack: StackThread, echo: str) -> None:
    """The mapped X-Amz-Invocation-Type is Lambda Invoke's header, so only Invoke's enum runs (botocore lambda
    2015-03-31 Invoke: InvocationType in [Event, RequestResponse, DryRun], case-sensitive): RequestResponse runs
    synchronously; DryRun answers 204 without running the function, which the gateway maps as an empty answer;
    anything else is Lambda's 400 ValidationException, which API Gateway answers with its 500 (a failed Lambda
    invoke call; reference §4.3) instead of running the function synchronously."""
    explicit = call(stack.url, "POST", "/prod/lambda", [("Content-Type", "application/json"),
                                                        ("InvocationType", "RequestResponse")], b"{}")
    assert (explicit.status, explicit.json()["node"][:4]) == (200, "v22."), explicit.body
    dry = call(stack.url, "POST", "/prod/lambda", [("Content-Type", "application/json"),
                                                   ("InvocationType", "DryRun")], b'{"call": "dry"}')
    assert (dry.status, dry.body) == (200, b"")
    for unknown in ("garbage", "event", "Event,Event"):
        refused = call(stack.url, "POST", "/prod/lambda", [("Content-Type", "application/json"),
                                                           ("InvocationType", unknown)], b'{"call": "unknown"}')
        assert (refused.status, refused.json()) == (500, {"message": "Internal server error"}), (unknown, refused)
    assert any("Lambda invocation failed with status: 400" in line for line in LOG)
    assert any("Execution failed due to configuration error: ValidationException: 1 validation error detected: "
               "Value 'garbage' at 'invocationType'" in line for line in LOG)
    # Had the DryRun or a refused call run the function, it would have called the endpoint before this later Event
    # call's function does: the endpoint has the later call and neither of theirs.
    call(stack.url, "POST", "/prod/lambda", [("Content-Type", "application/json"), ("InvocationType", "Event")],
         b'{"call": "after-dry"}')
    _wait_for_call(echo, "after-dry")
    urls = {item["url"] for item in call(echo, "GET", "/_seen").json()}
    assert not urls & {"/from-function/dry", "/from-function/unknown"}, urls


def test_an_event_invocation_that_fails_is_one_log_line(stack: StackThread) -> None:
    """Nobody waits for an Event invocation's answer: its function error is one line of the stack's log (the rule
    the Lambda API's Event invoke shares, LambdaService.invoke_later), and the client had its empty answer."""
    reply = call(stack.url, "POST", "/prod/lambda", [("Content-Type", "application/json"),
                                                     ("InvocationType", "Event")], b'{"fail": true}')
    assert (reply.status, reply.body) == (200, b"")
    deadline = time.monotonic() + 60
    wanted = "lambda-canary: asynchronous invoke of arn:aws:lambda:us-east-1:123456789012:function:echo ended in a " \
             "function error"
    while not any(wanted in line for line in LOG) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert any(wanted in line for line in LOG), LOG[-5:]


def test_response_override_sets_the_status_and_a_header(stack: StackThread) -> None:
    """$context.responseOverride.status and .header.X in the response template (LocalStack's recorded
    test_integration_mock_with_response_override_in_request_template does it in a MOCK's)."""
    reply = call(stack.url, "GET", "/prod/teapot")
    assert (reply.status, reply.json(), reply.header("X-Teapot")) == (418, {"short": "and stout"}, "teapot")


def test_config_refuses_a_mapping_aws_does_not_take(tmp_path: Path) -> None:
    """One line naming the key and what is allowed."""
    from emulator.errors import UserError
    from emulator.formats.load import load_config

    for destination, source, expected in (
            ("integration.request.body.x", "'v'", "is not integration.request.header.NAME"),
            ("integration.request.header.X", "method.request.cookie.c", "is not method.request.path|querystring")):
        path = tmp_path / "canary.yaml"
        path.write_text(yaml.safe_dump({"restApis": {"a": {"resources": {"/x": {"GET": {"integration": {
            "type": "HTTP", "uri": "http://127.0.0.1:1/x", "requestParameters": {destination: source}}}}}}}}))
        with pytest.raises(UserError) as refused:
            load_config(path)
        assert expected in str(refused.value) and "requestParameters" in str(refused.value), refused.value
        assert "\n" not in str(refused.value).strip()


def test_a_config_method_declares_the_parameters_its_mapping_reads(stack: StackThread) -> None:
    """As `deploy` declares them on AWS, where PutIntegration refuses a mapping from an undeclared method request
    parameter: GetMethod shows them (a multi-value source as its single-value parameter)."""
    import boto3

    apigateway = boto3.client("apigateway", endpoint_url=stack.url, region_name="us-east-1",
                              aws_access_key_id="x", aws_secret_access_key="y")
    api = next(item["id"] for item in apigateway.get_rest_apis()["items"] if item["name"] == "params-api")
    resource = next(item["id"] for item in apigateway.get_resources(restApiId=api)["items"]
                    if item["path"] == "/mapped/{id}")
    method = apigateway.get_method(restApiId=api, resourceId=resource, httpMethod="GET")
    assert method["requestParameters"] == {
        "method.request.path.id": False, "method.request.querystring.search": False,
        "method.request.querystring.m": False, "method.request.header.customHeader": False,
        "method.request.header.NotSent": False}
