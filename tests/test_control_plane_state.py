"""One state model: a config's stack changed through the AWS API, state kept across restarts, exact refusals,
and the exported OpenAPI imported back through ImportRestApi."""

from __future__ import annotations

import io
import json
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest

from emulator.stack import StackOptions
from emulator.testing import StackThread

REPO = Path(__file__).resolve().parent.parent
PING = REPO / "examples" / "ping" / "canary.yaml"
REGION, ACCOUNT = "us-east-1", "123456789012"


def client(service: str, url: str) -> Any:
    return boto3.client(service, endpoint_url=url, region_name=REGION, aws_access_key_id="test",
                        aws_secret_access_key="test")


def get(url: str, host: str | None = None) -> tuple[int, dict[str, str], bytes]:
    request = urllib.request.Request(url, headers={"Host": host} if host else {})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


def handler_zip(body: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("src/handlers/ping.js", f"exports.handler = async () => ({body});\n")
    return buffer.getvalue()


@pytest.fixture
def ping() -> Iterator[StackThread]:
    with StackThread(PING, StackOptions(port=0, seed=2, access_log=False, function_logs=False)) as running:
        yield running


def test_a_config_stack_changed_through_the_aws_api_serves_the_change_on_the_next_request(ping: StackThread) -> None:
    apigateway, lambdas = client("apigateway", ping.url), client("lambda", ping.url)
    api = apigateway.get_rest_apis()["items"][0]["id"]
    apigateway.update_stage(restApiId=api, stageName="prod", patchOperations=[
        {"op": "replace", "path": "/canarySettings/percentTraffic", "value": "100"}])
    bodies = [json.loads(get(f"{ping.url}/prod/ping")[2]) for _ in range(20)]
    assert {body["function"] for body in bodies} == {"ping-canary"}

    apigateway.update_stage(restApiId=api, stageName="prod", patchOperations=[{"op": "remove",
                                                                               "path": "/canarySettings"}])
    lambdas.update_function_code(FunctionName="ping-stable", ZipFile=handler_zip(
        '{statusCode: 200, body: JSON.stringify({replaced: true, node: process.version})}'))
    assert json.loads(get(f"{ping.url}/prod/ping")[2])["replaced"] is True

    lambdas.update_function_configuration(FunctionName="ping-stable", Runtime="nodejs22.x")
    lambdas.get_waiter("function_updated_v2").wait(FunctionName="ping-stable")
    body = json.loads(get(f"{ping.url}/prod/ping")[2])
    assert body["replaced"] is True and body["node"].startswith("v22.")


def test_a_function_without_permission_gets_exactly_aws_500_until_add_permission(ping: StackThread) -> None:
    apigateway, lambdas = client("apigateway", ping.url), client("lambda", ping.url)
    lambdas.create_function(FunctionName="ping-fresh", Runtime="nodejs22.x", Handler="src/handlers/ping.handler",
                            Role=f"arn:aws:iam::{ACCOUNT}:role/x", Code={"ZipFile": handler_zip(
                                '{statusCode: 200, body: "fresh"}')})
    api = apigateway.get_rest_apis()["items"][0]["id"]
    apigateway.update_stage(restApiId=api, stageName="prod", patchOperations=[
        {"op": "replace", "path": "/variables/lambdaAlias", "value": "fresh"},
        {"op": "remove", "path": "/canarySettings"}])
    status, headers, body = get(f"{ping.url}/prod/ping")
    assert (status, body) == (500, b'{"message": "Internal server error"}')
    assert headers["x-amzn-ErrorType"] == "InternalServerErrorException"
    lambdas.add_permission(FunctionName="ping-fresh", StatementId="apigw", Action="lambda:InvokeFunction",
                           Principal="apigateway.amazonaws.com",
                           SourceArn=f"arn:aws:execute-api:{REGION}:{ACCOUNT}:{api}/*/GET/ping")
    assert get(f"{ping.url}/prod/ping")[:3:2] == (200, b"fresh")


def test_the_exported_openapi_imports_back_and_serves_the_same_route(ping: StackThread, tmp_path: Path) -> None:
    exported = tmp_path / "ping.openapi.json"
    result = subprocess.run([sys.executable, "-m", "emulator.cli", "export", str(PING), "--format", "openapi",
                             "-o", str(exported)], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    apigateway = client("apigateway", ping.url)
    imported = apigateway.import_rest_api(body=exported.read_bytes())["id"]
    apigateway.create_deployment(restApiId=imported, stageName="copy", variables={"lambdaAlias": "canary"})
    host = f"{imported}.execute-api.localhost"
    assert get(f"{ping.url}/copy/ping", host=host)[0] == 500, "the new API has no permission on ping-canary yet"
    client("lambda", ping.url).add_permission(
        FunctionName="ping-canary", StatementId="imported", Action="lambda:InvokeFunction",
        Principal="apigateway.amazonaws.com", SourceArn=f"arn:aws:execute-api:{REGION}:{ACCOUNT}:{imported}/*/GET/ping")
    status, _, body = get(f"{ping.url}/copy/ping", host=host)
    assert status == 200 and json.loads(body)["node"].startswith("v22.")


def _serve(state_dir: Path, port: int) -> subprocess.Popen[str]:
    process = subprocess.Popen([sys.executable, "-m", "emulator.cli", "serve", "--port", str(port), "--quiet",
                                "--backend", "process", "--state-dir", str(state_dir)],
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/_lambda_canary/health", timeout=2).read()
            return process
        except OSError:
            time.sleep(0.2)
    process.kill()
    raise AssertionError(f"serve did not start: {process.stderr.read() if process.stderr else ''}")


def test_state_dir_keeps_the_account_across_restarts(tmp_path: Path) -> None:
    from conftest import free_port

    port, state = free_port(), tmp_path / "state"
    url = f"http://127.0.0.1:{port}"
    first = _serve(state, port)
    try:
        lambdas, apigateway = client("lambda", url), client("apigateway", url)
        lambdas.create_function(FunctionName="kept", Runtime="nodejs22.x", Handler="src/handlers/ping.handler",
                                Role=f"arn:aws:iam::{ACCOUNT}:role/x",
                                Code={"ZipFile": handler_zip("{kept: process.version}")})
        lambdas.publish_version(FunctionName="kept")
        api = apigateway.create_rest_api(name="kept-api", tags={"team": "x"})["id"]
    finally:
        first.send_signal(signal.SIGTERM)
        assert first.wait(30) == 0
    assert (state / "state.json").exists() and not list(state.glob(".state-*.tmp"))
    second = _serve(state, port)
    try:
        lambdas, apigateway = client("lambda", url), client("apigateway", url)
        payload = json.loads(lambdas.invoke(FunctionName="kept", Qualifier="1")["Payload"].read())
        assert payload["kept"].startswith("v22.")
        assert [item["id"] for item in apigateway.get_rest_apis()["items"]] == [api]
        assert apigateway.get_rest_api(restApiId=api)["tags"] == {"team": "x"}
    finally:
        second.send_signal(signal.SIGTERM)
        second.wait(30)
