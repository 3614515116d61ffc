"""A failure at each step of the request chain answers AWS's JSON error, never aiohttp's plain text, and is one
log line (a traceback only with --debug). Failures are injected through real seams: a backend that cannot
launch, a base image that cannot be had, a runtime that speaks broken HTTP to the Runtime API, a function whose
proxy response HTTP cannot carry, a control-plane handler that breaks."""

from __future__ import annotations

import asyncio
import json
import re
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
import yaml
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials
from botocore.exceptions import ClientError
from support import Reply, call

from emulator.errors import UserError
from emulator.lambda_service.backends.base import LaunchRequest, RunningRuntime
from emulator.lambda_service.backends.process import ProcessBackend
from emulator.runtimes.provision import require_node
from emulator.stack import StackOptions
from emulator.testing import StackThread

REPO = Path(__file__).resolve().parent.parent
INTERNAL = b'{"message": "Internal server error"}'
NO_RETRY = Config(retries={"total_max_attempts": 1})
CREDENTIALS = {"region_name": "us-east-1", "aws_access_key_id": "test", "aws_secret_access_key": "test"}

HANDLER = r"""
exports.handler = async (event) => {
  const kind = (event.queryStringParameters || {}).kind;
  if (kind === "surrogate") return { statusCode: 200, body: "lone \ud800 surrogate" };
  if (kind === "newline") return { statusCode: 200, headers: { "x-bad": "a\r\nInjected: yes" }, body: "{}" };
  if (kind === "name") return { statusCode: 200, headers: { "bad name": "v" }, body: "{}" };
  if (kind === "nul") return { statusCode: 200, multiValueHeaders: { "x-nul": ["a\u0000b"] }, body: "{}" };
  return { statusCode: 200, body: JSON.stringify({ ok: true }) };
};
"""


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One function behind /prod/h, in a config of its own."""
    try:
        require_node("nodejs22.x")
    except UserError as error:
        pytest.skip(f"Node 22 not installed: {error}")
    folder = tmp_path_factory.mktemp("hostile")
    (folder / "index.js").write_text(HANDLER)
    uri = ("arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/arn:aws:lambda:us-east-1:123456789012:"
           "function:hostile/invocations")
    config = {"backend": "process",
              "functions": {"hostile": {"runtime": "nodejs22.x", "handler": "index.handler", "code": "."}},
              "restApis": {"api": {"resources": {"/h": {"GET": {"integration": {"type": "AWS_PROXY", "uri": uri}}}},
                                   "deployments": {"d1": {}}, "stages": {"prod": {"deploymentId": "d1"}}}}}
    (folder / "canary.yaml").write_text(yaml.safe_dump(config))
    return folder / "canary.yaml"


@pytest.fixture
def running(project: Path) -> Iterator[tuple[StackThread, list[str]]]:
    lines: list[str] = []
    options = StackOptions(port=0, backend="process", access_log=False, function_logs=False)
    with StackThread(project, options, log=lines.append) as stack:
        yield stack, lines


def assert_api_gateway_error(reply: Reply, status: int) -> None:
    """API Gateway's own JSON error: never aiohttp's text/plain."""
    assert (reply.status, reply.body) == (status, INTERNAL), reply
    assert reply.header("Content-Type") == "application/json"
    assert reply.header("x-amzn-ErrorType") == "InternalServerErrorException"


def one_line_about(lines: list[str], needle: str) -> str:
    """Exactly one log line names the cause, and no traceback was logged."""
    found = [line for line in lines if needle in line]
    assert len(found) == 1, lines
    assert not any("Traceback" in line for line in lines), lines
    return found[0]


def lambda_client(url: str) -> Any:
    return boto3.client("lambda", endpoint_url=url, config=NO_RETRY, **CREDENTIALS)


# ---- backend launch --------------------------------------------------------------------------------------------
class FailingLaunch(ProcessBackend):
    """A backend whose environments never start."""

    async def launch(self, request: LaunchRequest) -> RunningRuntime:
        raise RuntimeError("injected: the backend cannot start anything")


def test_a_backend_that_cannot_launch_answers_500_json_on_both_apis(running: tuple[StackThread, list[str]]) -> None:
    stack, lines = running
    assert stack.stack is not None
    stack.stack.lambdas.backend = FailingLaunch()
    reply = call(stack.url, "GET", "/prod/h")
    assert_api_gateway_error(reply, 500)
    line = one_line_about(lines, "injected: the backend cannot start anything")
    assert "RuntimeError" in line and "--debug" in line

    with pytest.raises(ClientError) as caught:
        lambda_client(stack.url).invoke(FunctionName="hostile", Payload=b"{}")
    error = caught.value.response
    assert error["ResponseMetadata"]["HTTPStatusCode"] == 500
    assert error["Error"]["Code"] == "ServiceException"
    assert "injected: the backend cannot start anything" in error["Error"]["Message"]
    assert error["ResponseMetadata"]["HTTPHeaders"]["content-type"] == "application/json"


def test_with_debug_the_traceback_follows_the_line(project: Path) -> None:
    lines: list[str] = []
    options = StackOptions(port=0, backend="process", access_log=False, function_logs=False, debug=True)
    with StackThread(project, options, log=lines.append) as stack:
        assert stack.stack is not None
        stack.stack.lambdas.backend = FailingLaunch()
        assert_api_gateway_error(call(stack.url, "GET", "/prod/h"), 500)
    assert any(line.startswith("Traceback") for line in lines), lines
    assert any("raise RuntimeError(\"injected" in line for line in lines), lines


# ---- image build (docker) --------------------------------------------------------------------------------------
@pytest.mark.docker
def test_a_base_image_that_cannot_be_had_answers_500_json_not_a_crash(running: tuple[StackThread, list[str]]) -> None:
    """The issue's case: the image build fails inside the request with a UserError."""
    from emulator.lambda_service.backends.docker import DockerBackend

    try:
        backend = DockerBackend.connect(base_images={"nodejs22.x": "127.0.0.1:9/lambda-canary-absent:never"})
    except UserError as error:
        pytest.skip(f"no Docker engine answers: {error}")
    stack, lines = running
    assert stack.stack is not None
    stack.stack.lambdas.backend = backend
    try:
        assert_api_gateway_error(call(stack.url, "GET", "/prod/h"), 500)
        one_line_about(lines, "cannot be pulled")
        with pytest.raises(ClientError) as caught:
            lambda_client(stack.url).invoke(FunctionName="hostile", Payload=b"{}")
        assert caught.value.response["Error"]["Code"] == "ServiceException"
        assert "cannot be pulled" in caught.value.response["Error"]["Message"]
    finally:
        stack.call(backend.close())


# ---- Runtime API -----------------------------------------------------------------------------------------------
class _BrokenRuntime(RunningRuntime):
    """Takes one invocation, answers it with malformed HTTP, then exits."""

    def __init__(self, address: str) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run(address))

    async def _run(self, address: str) -> str:
        authority, _, secret = address.partition("/")  # host:port/<the environment's secret path>
        base = f"/{secret}" if secret else ""
        host, port = authority.rsplit(":", 1)
        reader, writer = await asyncio.open_connection(host, int(port))
        writer.write(f"GET {base}/2018-06-01/runtime/invocation/next HTTP/1.1\r\nHost: runtime\r\n\r\n".encode())
        head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1")
        request_id = re.search(r"Lambda-Runtime-Aws-Request-Id: (\S+)", head, re.I).group(1)  # type: ignore[union-attr]
        writer.close()
        reader, writer = await asyncio.open_connection(host, int(port))
        writer.write(f"POST {base}/2018-06-01/runtime/invocation/{request_id}/response HTTP/1.1\r\nHost: runtime\r\n"
                     "Content-Length: not-a-number\r\n\r\n{}".encode())
        await reader.read()  # aiohttp answers 400 and closes
        writer.close()
        return "exit status 1"

    async def wait(self) -> str:
        return await self._task

    def kill(self) -> None:
        self._task.cancel()


class BrokenRuntimeBackend(ProcessBackend):
    async def launch(self, request: LaunchRequest) -> RunningRuntime:
        return _BrokenRuntime(request.runtime_api_address)


def test_broken_http_to_the_runtime_api_is_one_line_and_a_502_json(running: tuple[StackThread, list[str]],
                                                                   capfd: pytest.CaptureFixture[str]) -> None:
    stack, _lines = running
    assert stack.stack is not None
    stack.stack.lambdas.backend = BrokenRuntimeBackend()
    assert_api_gateway_error(call(stack.url, "GET", "/prod/h"), 502)
    stderr = capfd.readouterr().err
    runtime_lines = [line for line in stderr.splitlines() if "Runtime API" in line]
    assert len(runtime_lines) == 1 and "Content-Length" in runtime_lines[0], stderr
    assert "Traceback" not in stderr


# ---- response mapping ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("kind", ["surrogate", "newline", "name", "nul"])
def test_a_response_http_cannot_carry_is_a_malformed_proxy_response(running: tuple[StackThread, list[str]],
                                                                    kind: str) -> None:
    """502 as for any malformed proxy response (reference §4.2); the next request is served normally."""
    stack, lines = running
    assert_api_gateway_error(call(stack.url, "GET", f"/prod/h?kind={kind}"), 502)
    assert any("Malformed Lambda proxy response" in line for line in lines), lines
    assert not any("Traceback" in line for line in lines), lines
    assert call(stack.url, "GET", "/prod/h").json() == {"ok": True}


# ---- control-plane handlers ------------------------------------------------------------------------------------
def test_a_lambda_handler_failure_is_service_exception(project: Path, tmp_path: Path) -> None:
    """Code storage fails (the state folder's code/ is a file): ServiceException 500, one log line."""
    state = tmp_path / "state"
    state.mkdir()
    (state / "code").write_text("not a folder")
    lines: list[str] = []
    options = StackOptions(port=0, backend="process", access_log=False, function_logs=False, state_dir=state)
    with StackThread(None, options, log=lines.append) as stack, pytest.raises(ClientError) as caught:
        lambda_client(stack.url).create_function(
            FunctionName="f", Runtime="nodejs22.x", Handler="index.handler", Role="arn:aws:iam::123456789012:role/x",
            Code={"ZipFile": _zip({"index.js": "exports.handler = async () => 1;"})})
    error = caught.value.response
    assert (error["ResponseMetadata"]["HTTPStatusCode"], error["Error"]["Code"]) == (500, "ServiceException")
    assert error["ResponseMetadata"]["HTTPHeaders"]["x-amzn-errortype"] == "ServiceException"
    one_line_about(lines, "lambda CreateFunction failed")


def test_an_apigateway_handler_failure_is_internal_failure(running: tuple[StackThread, list[str]]) -> None:
    stack, lines = running
    assert stack.stack is not None
    service = stack.stack.control_plane.services["apigateway"]

    class Broken(type(service.implementation)):  # type: ignore[misc]
        def GetRestApis(self, params: dict[str, Any]) -> dict[str, Any]:
            raise KeyError("injected")

    service.implementation.__class__ = Broken
    client = boto3.client("apigateway", endpoint_url=stack.url, config=NO_RETRY, **CREDENTIALS)
    with pytest.raises(ClientError) as caught:
        client.get_rest_apis()
    error = caught.value.response
    assert (error["ResponseMetadata"]["HTTPStatusCode"], error["Error"]["Code"]) == (500, "InternalFailure")
    one_line_about(lines, "apigateway GetRestApis failed")


def _zip(files: dict[str, str]) -> bytes:
    import io
    import zipfile

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, text in files.items():
            archive.writestr(name, text)
    return buffer.getvalue()


# ---- bodies the protocol cannot take ---------------------------------------------------------------------------
def signed(url: str, service: str, method: str, path: str, body: bytes) -> Reply:
    """A SigV4-signed request with any body, as the aws CLI would send it."""
    request = AWSRequest(method=method, url=url + path, data=body, headers={"Content-Type": "application/json"})
    SigV4Auth(Credentials("test", "test"), service, "us-east-1").add_auth(request)
    headers = [(name, value) for name, value in request.headers.items()]
    return call(url, method, path, headers, body)


@pytest.mark.parametrize("body", [b"[]", b"null", b'"text"', b"7", b"[" * 100_000 + b"]" * 100_000,
                                  b'{"Name": ' + b"[" * 50_000 + b"]" * 50_000 + b"}", b"{not json"])
@pytest.mark.parametrize(("service", "path"), [("lambda", "/2015-03-31/functions"), ("apigateway", "/restapis")])
def test_a_body_that_is_not_a_json_object_is_serialization_exception(running: tuple[StackThread, list[str]],
                                                                     service: str, path: str, body: bytes) -> None:
    stack, lines = running
    reply = signed(stack.url, service, "POST", path, body)
    assert reply.status == 400, reply
    assert reply.header("x-amzn-ErrorType") == "SerializationException"
    assert reply.header("Content-Type") == "application/json"
    assert reply.json()["message"]
    assert not any("Traceback" in line for line in lines)


def test_a_control_plane_body_over_its_limit_is_413_json(running: tuple[StackThread, list[str]]) -> None:
    """413 with AWS's recorded message, refused from Content-Length alone (no 70 MB upload)."""
    stack, _lines = running
    port = int(stack.url.rsplit(":", 1)[1])
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        sock.sendall(b"POST /2015-03-31/functions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                     b"Authorization: AWS4-HMAC-SHA256 Credential=test/20260101/us-east-1/lambda/aws4_request, "
                     b"SignedHeaders=host, Signature=0\r\nContent-Length: 70167211\r\n\r\n{")
        answer = _read_response(sock)
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 413"), answer[:300]
    assert b"x-amzn-ErrorType: RequestEntityTooLargeException" in head
    assert json.loads(body) == {"message": "Request must be smaller than 70167211 bytes for the CreateFunction "
                                           "operation"}


def test_an_invoke_over_six_mb_is_request_entity_too_large(running: tuple[StackThread, list[str]]) -> None:
    stack, _lines = running
    with pytest.raises(ClientError) as caught:
        lambda_client(stack.url).invoke(FunctionName="hostile", Payload=b'"' + b"x" * 6_300_000 + b'"')
    error = caught.value.response
    assert (error["ResponseMetadata"]["HTTPStatusCode"], error["Error"]["Code"]) == (413,
                                                                                  "RequestEntityTooLargeException")
    assert error["Error"]["Message"] == "Request must be smaller than 6291456 bytes for the InvokeFunction operation"


def test_a_data_plane_body_declared_huge_is_api_gateways_413(running: tuple[StackThread, list[str]]) -> None:
    """Content-Length 200 MB: the gateway reads 10 MB + 1 byte and answers its JSON 413, never aiohttp's text."""
    stack, _lines = running
    port = int(stack.url.rsplit(":", 1)[1])
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        sock.sendall(b"GET /prod/h HTTP/1.1\r\nHost: x\r\nContent-Length: 200000000\r\n\r\n")
        sock.sendall(b"x" * (10 * 1024 * 1024 + 1024))
        answer = _read_response(sock)
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 413"), answer[:300]
    assert b"application/json" in head and body == b'{"message":"Request Too Long"}', answer[:300]


def _read_response(sock: socket.socket) -> bytes:
    """One response: the head, then Content-Length bytes of body."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            return data
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = int(re.search(rb"Content-Length: (\d+)", head, re.I).group(1))  # type: ignore[union-attr]
    while len(body) < length:
        chunk = sock.recv(65536)
        if not chunk:
            break
        body += chunk
    return head + b"\r\n\r\n" + body


# ---- profiles --------------------------------------------------------------------------------------------------
def test_serve_with_a_missing_aws_profile_is_one_line_and_exit_2(tmp_path: Path) -> None:
    environment = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "AWS_PROFILE": "no-such-profile"}
    result = subprocess.run([sys.executable, "-m", "emulator.cli", "serve", "--port", "0"], cwd=REPO,
                            env=environment, capture_output=True, text=True, timeout=60)
    assert result.returncode == 2, result
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "no-such-profile" in lines[0] and "aws configure --profile" in lines[0], lines


@pytest.mark.parametrize("command", [["plan", "examples/ping/canary.yaml", "--stage", "prod"],
                                     ["deploy", "examples/ping/canary.yaml", "--stage", "prod"]])
def test_plan_and_deploy_name_the_missing_profile_and_the_fix(tmp_path: Path, command: list[str]) -> None:
    environment = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "AWS_PROFILE": "no-such-profile"}
    result = subprocess.run([sys.executable, "-m", "emulator.cli", *command], cwd=REPO, env=environment,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 2, result
    error = [line for line in result.stderr.splitlines() if line.startswith("lambda-canary: error:")]
    assert len(error) == 1 and "no-such-profile" in error[0] and "AWS_PROFILE" in error[0], result.stderr
    assert "Traceback" not in result.stderr
