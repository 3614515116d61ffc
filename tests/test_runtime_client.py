"""The Node runtime client (runtimes/nodejs/index.mjs) on the real Node 18 and Node 22 releases.

Every test starts real Node processes through LambdaService and the process backend; the handlers
live in tests/fixtures/handlers/app.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any, TypeVar

import pytest
from support import AS_ROOT, code_path_pattern, with_service, write_config

from emulator.lambda_service.model import InvocationResult
from emulator.lambda_service.service import LambdaService
from emulator.paths import cache_dir
from emulator.runtimes.catalogue import get_runtime

RUNTIMES = ("nodejs18.x", "nodejs22.x")
T = TypeVar("T")


def payload(result: InvocationResult) -> Any:
    """The JSON payload of a successful invocation."""
    assert result.function_error is None, result.payload[:2000]
    return json.loads(result.payload)


def test_same_handler_reports_the_runtimes_node_release(tmp_path: Path) -> None:
    """One handler, two runtimes: process.version is the exact release of each runtime."""
    config = write_config(tmp_path, {name.replace(".", "-"): {"runtime": name, "handler": "index.version"}
                                     for name in RUNTIMES})

    async def body(service: LambdaService) -> dict[str, InvocationResult]:
        return {name: await service.invoke(name.replace(".", "-"), b"{}") for name in RUNTIMES}

    results = with_service(config, body)
    assert payload(results["nodejs18.x"])["node"].startswith("v18.")
    assert payload(results["nodejs22.x"])["node"].startswith("v22.")
    for name, result in results.items():
        assert payload(result)["node"] == f"v{get_runtime(name).node}"
        assert result.runtime == name


MODULE_STYLES = [
    ("index.version", "commonjs"),  # .js, no package.json type
    ("legacy.handler", "commonjs"),  # .cjs
    ("modern.handler", "esm"),  # .mjs
    ("esm/handler.handler", "esm"),  # .js under package.json {"type": "module"}, nested path
    ("nested/deeper/file.run", None),  # nested CommonJS path, callback style
]


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_esm_and_commonjs_handlers_load(tmp_path: Path, runtime: str) -> None:
    """.js, .cjs, .mjs and type=module .js handlers, at top level and in nested folders."""
    functions = {f"f{index}": {"runtime": runtime, "handler": handler}
                 for index, (handler, _) in enumerate(MODULE_STYLES)}
    config = write_config(tmp_path, functions)

    async def body(service: LambdaService) -> list[InvocationResult]:
        return [await service.invoke(name, b'{"k": 1}') for name in functions]

    results = [payload(result) for result in with_service(config, body)]
    for (handler, style), value in zip(MODULE_STYLES, results, strict=True):
        if style is not None:
            assert value["style"] == style, handler
    assert re.fullmatch("file://" + code_path_pattern("modern.mjs"), results[2]["url"])
    assert re.fullmatch("file://" + code_path_pattern("esm/handler.js"), results[3]["url"])
    assert results[3]["event"] == {"k": 1}
    assert results[4]["nested"] is True and set(results[4]) == {"nested", "file"}
    assert re.fullmatch(code_path_pattern("nested/deeper/file.js"), results[4]["file"])


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_callback_style_and_callback_waits_for_empty_event_loop(tmp_path: Path, runtime: str) -> None:
    """With callbackWaitsForEmptyEventLoop the answer waits for the pending timer; without it, it does not."""
    config = write_config(tmp_path, {
        "waits": {"runtime": runtime, "handler": "index.callbackWaits"},
        "nowait": {"runtime": runtime, "handler": "index.callbackNoWait"},
    })
    event = json.dumps({"delayMs": 400}).encode()

    async def body(service: LambdaService) -> tuple[InvocationResult, InvocationResult]:
        return await service.invoke("waits", event), await service.invoke("nowait", event)

    waits, nowait = with_service(config, body)
    assert payload(waits)["timerFired"] is True
    assert payload(waits)["timerMs"] >= 390
    assert waits.duration_ms >= 390
    assert payload(nowait) == {"timerFired": False}
    assert nowait.duration_ms < 300


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_a_plain_return_value_without_callback_answers_null(tmp_path: Path, runtime: str) -> None:
    """A non-async handler that returns a value and never calls back: the invocation answers null."""
    config = write_config(tmp_path, {"sync": {"runtime": runtime, "handler": "index.syncReturn"}})

    async def body(service: LambdaService) -> InvocationResult:
        return await service.invoke("sync", b'{"k": 1}')

    assert payload(with_service(config, body)) is None


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_thrown_and_callback_errors_are_unhandled_function_errors(tmp_path: Path, runtime: str) -> None:
    """A thrown error and callback(error) give {errorType, errorMessage, trace} and `Unhandled`."""
    config = write_config(tmp_path, {
        "thrown": {"runtime": runtime, "handler": "index.thrown"},
        "callback": {"runtime": runtime, "handler": "index.callbackError"},
    })
    lines: list[str] = []

    async def body(service: LambdaService) -> tuple[InvocationResult, InvocationResult]:
        return await service.invoke("thrown", b"{}"), await service.invoke("callback", b"{}")

    thrown, callback = with_service(config, body, lines)
    for result, error_type, message in ((thrown, "TypeError", "the handler failed on purpose"),
                                        (callback, "RangeError", "callback error")):
        assert result.function_error == "Unhandled"
        error = json.loads(result.payload)
        assert set(error) == {"errorType", "errorMessage", "trace"}
        assert error["errorType"] == error_type
        assert error["errorMessage"] == message
        assert error["trace"][0] == f"{error_type}: {message}"
        assert any(re.search(code_path_pattern("index.js"), frame) for frame in error["trace"][1:])
        invoke_error = [line for line in lines if f"\t{result.request_id}\tERROR\tInvoke Error " in line]
        assert len(invoke_error) == 1
        assert json.loads(invoke_error[0].split("\t", 4)[4])["errorType"] == error_type


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_context_and_environment(tmp_path: Path, runtime: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """The context object and Lambda's variables (reference §6.4); the host's credentials stay outside."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAHOSTKEYSHOULDNOTLEAK")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "host-secret-should-not-leak")
    monkeypatch.setenv("AWS_SESSION_TOKEN", "host-token-should-not-leak")
    monkeypatch.setenv("LAMBDA_CANARY_TEST_HOST_ONLY", "host-only")
    config = write_config(tmp_path, {"ctx": {
        "runtime": runtime, "handler": "index.context", "memorySize": 256, "timeout": 5,
        "environment": {"GREETING": "hello", "TZ": "Europe/Paris"},  # reserved keys: refused at load (test_config)
        "versions": {"1": {"description": "first"}},
    }})

    async def body(service: LambdaService) -> tuple[InvocationResult, InvocationResult]:
        return await service.invoke("ctx", b"{}"), await service.invoke("ctx", b"{}", "1")

    latest, version_one = with_service(config, body)
    context = payload(latest)
    env: dict[str, str] = context.pop("env")
    arn = "arn:aws:lambda:us-east-1:123456789012:function:ctx"
    assert context["awsRequestId"] == latest.request_id
    assert context["functionName"] == "ctx"
    assert context["functionVersion"] == "$LATEST"
    assert context["invokedFunctionArn"] == arn
    assert str(context["memoryLimitInMB"]) == "256"
    assert context["logGroupName"] == "/aws/lambda/ctx"
    assert re.fullmatch(r"\d{4}/\d{2}/\d{2}/\[\$LATEST\][0-9a-f]{32}", context["logStreamName"])
    assert 0 < context["remaining"] <= 5000
    assert context["callbackWaitsForEmptyEventLoop"] is True

    assert env["AWS_EXECUTION_ENV"] == f"AWS_Lambda_{runtime}"
    assert env["AWS_LAMBDA_FUNCTION_NAME"] == "ctx"
    assert env["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"] == "256"
    assert env["AWS_LAMBDA_FUNCTION_VERSION"] == "$LATEST"
    assert env["AWS_LAMBDA_INITIALIZATION_TYPE"] == "on-demand"
    assert env["AWS_LAMBDA_LOG_GROUP_NAME"] == "/aws/lambda/ctx"
    assert env["AWS_LAMBDA_LOG_STREAM_NAME"] == context["logStreamName"]
    assert env["AWS_REGION"] == env["AWS_DEFAULT_REGION"] == "us-east-1"
    assert re.fullmatch(r"127\.0\.0\.1:\d+/[A-Za-z0-9_-]{32}", env["AWS_LAMBDA_RUNTIME_API"])  # a private path
    assert env["_HANDLER"] == "index.context"
    assert re.fullmatch(code_path_pattern(""), env["LAMBDA_TASK_ROOT"])
    assert env["LANG"] == "en_US.UTF-8"
    assert env["TZ"] == "Europe/Paris"  # unreserved: the function may set it
    assert env["GREETING"] == "hello"
    assert env["_X_AMZN_TRACE_ID"].startswith("Root=1-")
    node_dir = Path(env["PATH"].split(":")[0])
    if AS_ROOT:  # a root-owned link to lambda-canary's node, in the sandbox folder (gone with the service)
        assert re.fullmatch(r"/[^:]*/lambda-canary-sandbox-[^/]+/node/[0-9a-f]{16}", str(node_dir))
    else:
        assert (node_dir / "node").is_file() and node_dir.is_relative_to(cache_dir())  # never the host's node

    for leaked in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "LAMBDA_CANARY_TEST_HOST_ONLY"):
        assert leaked not in env
    assert not any("should-not-leak" in value or "AKIAHOST" in value for value in env.values())

    published = payload(version_one)
    assert published["functionVersion"] == "1"
    assert published["invokedFunctionArn"] == f"{arn}:1"
    assert "/[1]" in published["logStreamName"]
    assert published["env"]["AWS_LAMBDA_FUNCTION_VERSION"] == "1"
    assert version_one.executed_version == "1"


def test_nodejs24_refuses_callback_handlers_at_init_as_aws_does(tmp_path: Path,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    """AWS removed callback-based handlers from nodejs24.x: an init error naming Runtime.CallbackHandlerDeprecated;
    an async handler still runs there. Node 24 goes into a cache of the test's own, never the user's."""
    monkeypatch.setenv("LAMBDA_CANARY_CACHE", str(tmp_path / "cache"))
    install = subprocess.run([sys.executable, "-m", "emulator.cli", "runtimes", "install", "nodejs24.x"],
                             capture_output=True, text=True, timeout=300)
    assert install.returncode == 0, install.stderr
    config = write_config(tmp_path, {
        "callback": {"runtime": "nodejs24.x", "handler": "index.callbackNoWait"},
        "modern": {"runtime": "nodejs24.x", "handler": "index.version"},
    })

    async def body(service: LambdaService) -> tuple[InvocationResult, InvocationResult]:
        return await service.invoke("callback", b"{}"), await service.invoke("modern", b"{}")

    refused, modern = with_service(config, body)
    assert refused.function_error == "Unhandled"
    error = json.loads(refused.payload)
    assert error["errorType"] == "Runtime.CallbackHandlerDeprecated"
    assert error["errorMessage"].startswith("ERROR: AWS Lambda has removed support for callback-based function "
                                            "handlers starting with Node.js 24.")
    assert str(payload(modern)["node"]).startswith("v24.")
