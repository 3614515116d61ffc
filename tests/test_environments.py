"""Execution environments, their pool and their Runtime API: failures, recovery, concurrency, logs.

Node-backed tests run real Node processes; the Runtime API contract tests speak HTTP to a real
listener of an ExecutionEnvironment whose backend starts nothing (the test plays the runtime).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

import aiohttp
import pytest
import yarl
from support import APP, with_service, write_config

from emulator import aio
from emulator.lambda_service import logs
from emulator.lambda_service.backends.base import Backend, LaunchRequest, RunningRuntime
from emulator.lambda_service.environment import ExecutionEnvironment
from emulator.lambda_service.model import MAX_SYNC_PAYLOAD, FunctionVersion, Invocation, InvocationResult
from emulator.lambda_service.service import LambdaService
from emulator.runtimes.catalogue import get_runtime

T = TypeVar("T")
LOG_PREFIX = r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z"


# ---- helpers ---------------------------------------------------------------------------------
def ok(result: InvocationResult) -> Any:
    """The JSON payload of a successful invocation."""
    assert result.function_error is None, result.payload[:2000]
    return json.loads(result.payload)


def error_of(result: InvocationResult) -> dict[str, Any]:
    """The error JSON of a failed invocation."""
    assert result.function_error == "Unhandled", result.payload[:2000]
    return json.loads(result.payload)


def pid_alive(pid: int) -> bool:
    """Is a process with this pid still running?"""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def lines_of(lines: list[str], request_id: str) -> list[str]:
    """The log lines that mention a request id."""
    return [line for line in lines if request_id in line]


# ---- init errors, timeouts, crashes ------------------------------------------------------------
def test_init_error_is_reported_then_a_fresh_environment_succeeds(tmp_path: Path, shared_dir: Path) -> None:
    """The module throws at load (first time only): the caller gets /runtime/init/error's error."""
    marker = shared_dir / "init-marker"
    config = write_config(tmp_path, {
        "once": {"runtime": "nodejs22.x", "handler": "init_once.handler", "environment": {"INIT_MARKER": str(marker)}},
        "broken": {"runtime": "nodejs18.x", "handler": "broken.handler"},
    })
    lines: list[str] = []

    async def body(service: LambdaService) -> list[InvocationResult]:
        results = [await service.invoke("once", b"{}"), await service.invoke("once", b"{}"),
                   await service.invoke("broken", b"{}")]
        results.append(await service.invoke("broken", b"{}"))
        assert [pool.started for pool in service.pools()] == [2, 2]
        return results

    first, second, broken, broken_again = with_service(config, body, lines)
    failed_pid = int(marker.read_text())
    error = error_of(first)
    assert error["errorType"] == "Error"
    assert error["errorMessage"] == f"init failed once ({failed_pid})"
    assert error["trace"][0] == error["errorMessage"].join(["Error: ", ""])
    assert first.init_duration_ms is not None
    assert ok(second)["initialised"] is True
    assert ok(second)["pid"] != failed_pid
    for result in (broken, broken_again):
        assert error_of(result)["errorMessage"] == "broken at load"
    reports = [line for line in lines if line.startswith("INIT_REPORT")]
    assert len(reports) == 3
    assert all("Phase: init\tStatus: error\tError Type: Error" in line for line in reports)
    assert any(re.fullmatch(rf"{LOG_PREFIX}\tundefined\tINFO\tloading broken.js", line) for line in lines)


def test_timeout_kills_the_environment_then_a_fresh_one_succeeds(tmp_path: Path) -> None:
    """timeout: 1 -> Sandbox.Timedout "Task timed out after 1.00 seconds"; the process is gone."""
    config = write_config(tmp_path, {"slow": {"runtime": "nodejs22.x", "handler": "index.sleep", "timeout": 1}})
    lines: list[str] = []

    async def body(service: LambdaService) -> tuple[int, InvocationResult, float, InvocationResult]:
        warm_pid = ok(await service.invoke("slow", b'{"ms": 0}'))["pid"]
        started = time.perf_counter()
        timed_out = await service.invoke("slow", b'{"ms": 5000}')  # the warm environment takes it
        elapsed = time.perf_counter() - started
        after = await service.invoke("slow", b'{"ms": 10}')
        return warm_pid, timed_out, elapsed, after

    warm_pid, timed_out, elapsed, after = with_service(config, body, lines)
    error = error_of(timed_out)
    assert error["errorType"] == "Sandbox.Timedout"
    assert error["errorMessage"] == f"RequestId: {timed_out.request_id} Error: Task timed out after 1.00 seconds"
    assert 0.95 <= elapsed < 3
    assert not pid_alive(warm_pid)
    assert ok(after)["pid"] != warm_pid
    assert after.init_duration_ms is not None  # a cold start
    mine = lines_of(lines, timed_out.request_id)
    assert any(line.endswith(f"{timed_out.request_id} Task timed out after 1.00 seconds") for line in mine)
    assert mine[-1].startswith(f"REPORT RequestId: {timed_out.request_id}\t")
    assert "\tStatus: timeout\t" in mine[-1]


@pytest.mark.parametrize("runtime", ["nodejs18.x", "nodejs22.x"])
def test_process_exit_mid_invocation_is_runtime_exit_error(tmp_path: Path, runtime: str) -> None:
    """process.exit(3) in the handler -> Runtime.ExitError "exit status 3"; the next invoke still works."""
    config = write_config(tmp_path, {
        "exit": {"runtime": runtime, "handler": "index.exit"},
    })
    lines: list[str] = []

    async def body(service: LambdaService) -> tuple[InvocationResult, InvocationResult]:
        return await service.invoke("exit", b"{}"), await service.invoke("exit", b"{}")

    first, second = with_service(config, body, lines)
    for result in (first, second):  # each one on a fresh environment
        error = error_of(result)
        assert error["errorType"] == "Runtime.ExitError"
        expected = f"RequestId: {result.request_id} Error: Runtime exited with error: exit status 3"
        assert error["errorMessage"] == expected
        assert result.init_duration_ms is not None
        mine = lines_of(lines, result.request_id)
        assert [line.split(" ")[0].split("\t")[0] for line in (mine[0], mine[-3], mine[-2])] == [
            "START", "END", "REPORT"]
        assert re.fullmatch(rf"{LOG_PREFIX}\t{result.request_id}\tINFO\tabout to exit", mine[1])
        assert "\tStatus: error\tError Type: Runtime.ExitError\t" in mine[-2]
        assert mine[-1] == expected  # then Lambda logs the exit and its type (aws/aws-lambda-dotnet#480)
        assert lines[lines.index(mine[-1]) + 1] == "Runtime.ExitError"


def test_the_same_function_recovers_after_each_failure(tmp_path: Path) -> None:
    """Thrown error: same environment serves on; exit and timeout: the next invoke runs on a fresh one."""
    config = write_config(tmp_path, {"fate": {"runtime": "nodejs22.x", "handler": "index.behave", "timeout": 1}})

    async def body(service: LambdaService) -> list[InvocationResult]:
        results = []
        for action in ("ok", "throw", "ok", "exit", "ok", "hang", "ok"):
            results.append(await service.invoke("fate", json.dumps({"action": action}).encode()))
        return results

    first, thrown, after_throw, exited, after_exit, hung, after_hang = with_service(config, body)
    pid = ok(first)["pid"]
    assert error_of(thrown)["errorMessage"] == "asked to throw"
    assert ok(after_throw)["pid"] == pid and after_throw.init_duration_ms is None
    assert error_of(exited)["errorType"] == "Runtime.ExitError"
    assert ok(after_exit)["pid"] != pid and after_exit.init_duration_ms is not None
    assert error_of(hung)["errorType"] == "Sandbox.Timedout"
    assert ok(after_hang)["pid"] not in (pid, ok(after_exit)["pid"])
    assert after_hang.init_duration_ms is not None


# ---- concurrency --------------------------------------------------------------------------------
def test_concurrent_invocations_each_get_their_own_environment(tmp_path: Path, shared_dir: Path) -> None:
    """20 invocations at once: several environments, and never two invocations in one process at once."""
    config = write_config(tmp_path, {"busy": {"runtime": "nodejs22.x", "handler": "index.inflight"}})
    event = json.dumps({"dir": str(shared_dir), "ms": 100}).encode()

    async def body(service: LambdaService) -> tuple[list[InvocationResult], list[InvocationResult], int, int]:
        first = await asyncio.gather(*(service.invoke("busy", event) for _ in range(20)))
        (pool,) = service.pools()
        started = pool.started
        second = await asyncio.gather(*(service.invoke("busy", event) for _ in range(20)))
        return list(first), list(second), started, pool.started

    first, second, started_first, started_total = with_service(config, body)
    first_pids = [ok(result)["pid"] for result in first]
    second_pids = [ok(result)["pid"] for result in second]
    assert not any(ok(result)["overlap"] for result in first + second)
    assert len(set(first_pids)) > 1
    assert len(set(first_pids)) == started_first  # every environment is one process
    assert set(second_pids) <= set(first_pids)  # the second wave runs warm
    assert started_total == started_first
    assert sum(1 for result in second if result.init_duration_ms is not None) == 0
    recorded = (shared_dir / "pids.log").read_text().split()
    assert len(recorded) == 40
    assert not list(shared_dir.glob("busy-*"))


# ---- logs ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("runtime", ["nodejs18.x", "nodejs22.x"])
def test_cold_and_warm_invocations_log_start_end_report(tmp_path: Path, runtime: str) -> None:
    """START, the function's prefixed lines, END, REPORT; Init Duration on the cold start only."""
    config = write_config(tmp_path, {"logger": {"runtime": runtime, "handler": "index.log"}})
    lines: list[str] = []

    async def body(service: LambdaService) -> tuple[InvocationResult, InvocationResult]:
        return await service.invoke("logger", b"{}"), await service.invoke("logger", b"{}")

    cold, warm = with_service(config, body, lines)
    assert cold.init_duration_ms is not None and cold.init_duration_ms > 0
    assert warm.init_duration_ms is None
    for result, is_cold in ((cold, True), (warm, False)):
        rid = result.request_id
        start = lines.index(f"START RequestId: {rid} Version: $LATEST")
        end = lines.index(f"END RequestId: {rid}")
        report = lines[end + 1]
        assert start < end
        body_lines = lines[start + 1:end]
        assert len(body_lines) == 3
        for line, level, text in zip(body_lines, ("INFO", "WARN", "ERROR"),
                                     ("hello from the handler { n: 1 }", "a warning", "an error line"), strict=True):
            assert re.fullmatch(rf"{LOG_PREFIX}\t{rid}\t{level}\t{re.escape(text)}", line), line
        fields = report.split("\t")
        assert fields[0] == f"REPORT RequestId: {rid}"
        assert re.fullmatch(r"Duration: \d+\.\d\d ms", fields[1])
        assert re.fullmatch(r"Billed Duration: \d+ ms", fields[2])
        assert fields[3] == "Memory Size: 128 MB"
        assert re.fullmatch(r"Max Memory Used: [1-9]\d* MB", fields[4])
        assert any(field.startswith("Init Duration: ") for field in fields) is is_cold
        if is_cold:
            assert re.fullmatch(r"Init Duration: \d+\.\d\d ms", fields[5])
    assert lines.index(f"END RequestId: {cold.request_id}") < lines.index(f"START RequestId: {warm.request_id} "
                                                                           "Version: $LATEST")


# ---- response size through a real runtime -------------------------------------------------------
def test_large_responses_through_the_node_runtime(tmp_path: Path) -> None:
    """A 2 MB answer arrives whole; one over 6,291,556 bytes is Function.ResponseSizeTooLarge."""
    config = write_config(tmp_path, {"big": {"runtime": "nodejs22.x", "handler": "index.big"}})

    async def body(service: LambdaService) -> list[InvocationResult]:
        sizes = (2_000_000, MAX_SYNC_PAYLOAD - 2, MAX_SYNC_PAYLOAD, 10)
        return [await service.invoke("big", json.dumps({"size": size}).encode()) for size in sizes]

    two_mb, at_limit, over, small = with_service(config, body)
    assert len(two_mb.payload) == 2_000_002 and two_mb.function_error is None
    assert len(at_limit.payload) == MAX_SYNC_PAYLOAD and at_limit.function_error is None
    assert error_of(over) == {
        "errorMessage": "Response payload size exceeded maximum allowed payload size (6291556 bytes).",
        "errorType": "Function.ResponseSizeTooLarge"}
    assert ok(small) == "x" * 10
    assert small.init_duration_ms is None  # the runtime took the 413 and kept serving


# ---- the Runtime API, spoken to directly ---------------------------------------------------------
class IdleRuntime(RunningRuntime):
    """A runtime that runs nothing: the test itself speaks the Runtime API."""

    def __init__(self) -> None:
        self._stopped = asyncio.Event()

    async def wait(self) -> str:
        await self._stopped.wait()
        return "signal: killed"

    def kill(self) -> None:
        self._stopped.set()


class HandOffBackend(Backend):
    """A backend whose launch() starts nothing and hands the Runtime API address to the test."""

    name = "test"

    def __init__(self) -> None:
        self.launched: asyncio.Future[LaunchRequest] = asyncio.get_running_loop().create_future()

    async def launch(self, request: LaunchRequest) -> RunningRuntime:
        self.launched.set_result(request)
        return IdleRuntime()


def bare_version(timeout: int = 3) -> FunctionVersion:
    """A function version for environments that never start Node."""
    return FunctionVersion(function_name="api", version="$LATEST", runtime=get_runtime("nodejs22.x"),
                           handler="index.handler", code_dir=APP, memory_size=128, timeout=timeout,
                           environment={}, region="us-east-1", account_id="123456789012", code_sha256="0")


class RuntimeApiSession:
    """One environment with its real Runtime API listener, and an HTTP client playing the runtime."""

    def __init__(self, http: aiohttp.ClientSession, environment: ExecutionEnvironment, base: str) -> None:
        self.http = http
        self.environment = environment
        self.base = base
        self.pending_next: asyncio.Task[tuple[dict[str, str], bytes]] | None = None

    async def next(self) -> tuple[dict[str, str], bytes]:
        """`GET /next`: blocks until there is an invocation."""
        async with self.http.get(self.base + "/invocation/next") as response:
            assert response.status == 200
            return dict(response.headers), await response.read()

    async def post(self, path: str, body: bytes = b"", **headers: str) -> tuple[int, bytes]:
        """POST to the Runtime API; returns status and body."""
        async with self.http.post(self.base + path, data=body, headers=headers) as response:
            return response.status, await response.read()

    async def invoke(self, payload: bytes) -> tuple[asyncio.Task[InvocationResult], dict[str, str], bytes]:
        """Start an invocation and take it with `GET /next`, as a runtime does."""
        invocation = Invocation(request_id=str(uuid.uuid4()), payload=payload,
                                invoked_arn="arn:aws:lambda:us-east-1:123456789012:function:api:live",
                                trace_id="Root=1-00000000-000000000000000000000000;Sampled=0")
        task = asyncio.create_task(self.environment.invoke(invocation))
        waiting, self.pending_next = self.pending_next, None
        headers, body = await (waiting or self.next())  # the runtime polled before, or polls now
        return task, headers, body


def with_runtime_api(body: Callable[[RuntimeApiSession], Awaitable[T]], init_error: bytes | None = None) -> T:
    """Start an ExecutionEnvironment on the hand-off backend; the first `GET /next` ends its init."""

    async def main() -> T:
        backend = HandOffBackend()
        lines: list[str] = []
        environment = ExecutionEnvironment(bare_version(), backend, lambda _name, line: lines.append(line))
        starting = asyncio.create_task(environment.start())
        request = await backend.launched
        base = f"http://{request.runtime_api_address}/2018-06-01/runtime"
        async with aiohttp.ClientSession() as http:
            session = RuntimeApiSession(http, environment, base)
            try:
                if init_error is not None:
                    status, answer = await session.post("/init/error", init_error,
                                                        **{"Lambda-Runtime-Function-Error-Type": "Runtime.Test"})
                    assert (status, answer) == (202, b'{"status":"OK"}')
                    assert await starting == init_error
                    return await asyncio.wait_for(body(session), 30)
                session.pending_next = asyncio.create_task(session.next())
                assert await starting is None  # the first /next marks init as done
                return await asyncio.wait_for(body(session), 30)
            finally:
                await environment.close()

    return aio.run(main())


INVALID_REQUEST_ID = b'{"errorMessage":"Invalid request ID","errorType":"InvalidRequestID"}'


def test_runtime_api_next_carries_the_invocation() -> None:
    """`GET /next`: the event as body, request id, deadline, invoked ARN and trace headers."""

    async def body(api: RuntimeApiSession) -> None:
        before = int(time.time() * 1000)
        task, headers, event = await api.invoke(b'{"hello": "world"}')
        assert event == b'{"hello": "world"}'
        assert headers["Content-Type"] == "application/json"
        assert before + 2900 <= int(headers["Lambda-Runtime-Deadline-Ms"]) <= int(time.time() * 1000) + 3000
        assert headers["Lambda-Runtime-Invoked-Function-Arn"].endswith(":function:api:live")
        assert headers["Lambda-Runtime-Trace-Id"].startswith("Root=1-")
        assert "Lambda-Runtime-Client-Context" not in headers
        request_id = headers["Lambda-Runtime-Aws-Request-Id"]
        assert await api.post(f"/invocation/{request_id}/response", b'{"answer": 42}') == (202, b'{"status":"OK"}')
        result = await task
        assert (result.payload, result.function_error) == (b'{"answer": 42}', None)
        assert result.request_id == request_id

    with_runtime_api(body)


def test_runtime_api_reads_the_path_of_a_url_with_a_query_or_escapes() -> None:
    """A plain path is taken as it comes; one with a query or percent-escapes is still read as its decoded path."""

    async def body(api: RuntimeApiSession) -> None:
        task, headers, _ = await api.invoke(b"{}")
        escaped = headers["Lambda-Runtime-Aws-Request-Id"].replace("-", "%2D")
        url = yarl.URL(f"{api.base}/invocation/{escaped}/response?via=test", encoded=True)
        async with api.http.post(url, data=b'"ok"') as response:
            assert response.status == 202
        assert (await task).payload == b'"ok"'

    with_runtime_api(body)


def test_runtime_api_rejects_unknown_and_answered_request_ids() -> None:
    """/response or /error for a request id that is not in flight: 400 InvalidRequestID."""

    async def body(api: RuntimeApiSession) -> None:
        assert await api.post(f"/invocation/{uuid.uuid4()}/response", b"{}") == (400, INVALID_REQUEST_ID)
        task, headers, _ = await api.invoke(b"{}")
        request_id = headers["Lambda-Runtime-Aws-Request-Id"]
        assert await api.post(f"/invocation/{uuid.uuid4()}/error", b"{}") == (400, INVALID_REQUEST_ID)
        assert await api.post(f"/invocation/{request_id}/response", b'"first"') == (202, b'{"status":"OK"}')
        assert (await task).payload == b'"first"'
        assert await api.post(f"/invocation/{request_id}/response", b'"second"') == (400, INVALID_REQUEST_ID)
        status, _ = await api.post("/invocation/next/whatever")
        assert status == 404

    with_runtime_api(body)


def test_runtime_api_payload_size_limit() -> None:
    """Over 6,291,556 bytes: 413 and the invocation fails; a 5 MB answer is accepted whole."""

    async def body(api: RuntimeApiSession) -> None:
        task, headers, _ = await api.invoke(b"{}")
        request_id = headers["Lambda-Runtime-Aws-Request-Id"]
        status, answer = await api.post(f"/invocation/{request_id}/response", b"x" * (MAX_SYNC_PAYLOAD + 1))
        assert status == 413
        assert answer == (b'{"errorMessage":"Exceeded maximum allowed payload size (6291556 bytes).",'
                          b'"errorType":"RequestEntityTooLarge"}')
        result = await task
        assert result.function_error == "Unhandled"
        assert json.loads(result.payload) == {
            "errorMessage": "Response payload size exceeded maximum allowed payload size (6291556 bytes).",
            "errorType": "Function.ResponseSizeTooLarge"}

        task, headers, _ = await api.invoke(b"{}")
        request_id = headers["Lambda-Runtime-Aws-Request-Id"]
        large = b'"' + b"y" * (5 * 1024 * 1024) + b'"'
        assert await api.post(f"/invocation/{request_id}/response", large) == (202, b'{"status":"OK"}')
        result = await task
        assert (result.payload, result.function_error) == (large, None)

        task, headers, _ = await api.invoke(b"{}")
        request_id = headers["Lambda-Runtime-Aws-Request-Id"]
        exact = b"z" * MAX_SYNC_PAYLOAD
        assert await api.post(f"/invocation/{request_id}/response", exact) == (202, b'{"status":"OK"}')
        assert (await task).payload == exact

    with_runtime_api(body)


def test_runtime_api_error_reports() -> None:
    """`/error` passes the error JSON through, or builds it from the error-type header."""

    async def body(api: RuntimeApiSession) -> None:
        task, headers, _ = await api.invoke(b"{}")
        error = b'{"errorType":"Custom","errorMessage":"bad","trace":["Custom: bad"]}'
        status, answer = await api.post(f"/invocation/{headers['Lambda-Runtime-Aws-Request-Id']}/error", error,
                                        **{"Lambda-Runtime-Function-Error-Type": "Custom"})
        assert (status, answer) == (202, b'{"status":"OK"}')
        result = await task
        assert (result.payload, result.function_error) == (error, "Unhandled")

        task, headers, _ = await api.invoke(b"{}")
        status, _ = await api.post(f"/invocation/{headers['Lambda-Runtime-Aws-Request-Id']}/error", b"",
                                   **{"Lambda-Runtime-Function-Error-Type": "Runtime.NoSuchHandler"})
        assert status == 202
        result = await task
        assert json.loads(result.payload) == {"errorType": "Runtime.NoSuchHandler",
                                              "errorMessage": "Runtime.NoSuchHandler"}
        assert result.function_error == "Unhandled"

        task, headers, _ = await api.invoke(b"{}")
        request_id = headers["Lambda-Runtime-Aws-Request-Id"]
        status, answer = await api.post(f"/invocation/{request_id}/response", b"{}",
                                        **{"Lambda-Runtime-Function-Response-Mode": "buffered-ish"})
        assert (status, answer) == (
            400, b'{"errorMessage":"Invalid function response mode","errorType":"InvalidFunctionResponseMode"}')
        assert await api.post(f"/invocation/{request_id}/response", b'"fine"') == (202, b'{"status":"OK"}')
        assert (await task).payload == b'"fine"'

    with_runtime_api(body)


def test_runtime_api_init_error_is_returned_by_start() -> None:
    """`POST /runtime/init/error` -> 202, and the environment's start() returns that error."""
    reported = b'{"errorType":"Runtime.Test","errorMessage":"init went wrong","trace":[]}'

    async def body(api: RuntimeApiSession) -> None:
        assert api.environment.alive is False  # start() closed it
        assert api.environment.init_duration_ms is not None

    with_runtime_api(body, init_error=reported)


def test_runtime_api_init_error_after_init_is_refused_with_403() -> None:
    """Once the first `GET /next` ended init, `POST /runtime/init/error` is a wrong state: 403."""

    async def body(api: RuntimeApiSession) -> None:
        status, answer = await api.post("/init/error", b'{"errorType":"Late","errorMessage":"too late"}')
        assert status == 403 and b'"errorType":"InvalidStateTransition"' in answer
        task, headers, _ = await api.invoke(b"{}")
        request_id = headers["Lambda-Runtime-Aws-Request-Id"]
        assert await api.post(f"/invocation/{request_id}/response", b'"ok"') == (202, b'{"status":"OK"}')
        assert (await task).payload == b'"ok"'

    with_runtime_api(body)


def test_runtime_api_answers_a_pipelined_poll_with_the_held_202_in_one_write() -> None:
    """A runtime that sends its invocation's answer and its next `GET /next` in one write (HTTP/1.1 pipelining, as
    lambda-canary's Node client does) gets both answers in order: the 202, held until the next invocation exists,
    then that invocation, in one write (one wake-up of the runtime instead of two)."""

    async def body(api: RuntimeApiSession) -> None:
        task, headers, _ = await api.invoke(b'{"n": 1}')
        prefix = api.base.split("/", 3)[3]
        host, port = api.base.split("/")[2].rsplit(":", 1)
        reader, writer = await asyncio.open_connection(host, int(port))
        answer = b'{"answer": 1}'
        writer.write(f"POST /{prefix}/invocation/{headers['Lambda-Runtime-Aws-Request-Id']}/response HTTP/1.1\r\n"
                     f"Host: runtime\r\nContent-Length: {len(answer)}\r\n\r\n".encode() + answer +
                     f"GET /{prefix}/invocation/next HTTP/1.1\r\nHost: runtime\r\n\r\n".encode())
        assert (await task).payload == answer  # the answer counts at once
        with pytest.raises(TimeoutError):  # nothing is written while the poll waits
            await asyncio.wait_for(reader.read(1), 0.2)
        second = asyncio.create_task(api.environment.invoke(Invocation(
            request_id=str(uuid.uuid4()), payload=b'{"n": 2}', invoked_arn="arn:aws:lambda:us-east-1:123456789012:"
            "function:api", trace_id="Root=1-00000000-000000000000000000000000;Sampled=0")))
        received = await asyncio.wait_for(reader.read(65536), 10)
        accepted, _, rest = received.partition(b"\r\n\r\n")
        assert accepted.startswith(b"HTTP/1.1 202 Accepted\r\n")
        assert rest.startswith(b'{"status":"OK"}HTTP/1.1 200 OK\r\n') and rest.endswith(b'\r\n\r\n{"n": 2}')
        request_id = next(line.split(b": ", 1)[1].decode() for line in rest.split(b"\r\n")
                          if line.lower().startswith(b"lambda-runtime-aws-request-id:"))
        assert await api.post(f"/invocation/{request_id}/response", b'"two"') == (202, b'{"status":"OK"}')
        assert (await second).payload == b'"two"'
        writer.close()

    with_runtime_api(body)


def test_report_line_format() -> None:
    """REPORT fields are tab-separated, with a trailing tab, as Lambda writes them."""
    line = logs.report_line("rid", 12.345, 128, 60, 101.5)
    assert line == ("REPORT RequestId: rid\tDuration: 12.35 ms\tBilled Duration: 13 ms\tMemory Size: 128 MB\t"
                    "Max Memory Used: 60 MB\tInit Duration: 101.50 ms\t")
    assert "Init Duration" not in logs.report_line("rid", 1.0, 128, 60, None)


def test_runtime_api_closes_a_request_whose_headers_never_end() -> None:
    """A runtime streaming one endless header: 400 and the connection closed once past 64 KiB (serve's memory stays
    bounded), and the environment still answers on a new connection."""

    async def body(api: RuntimeApiSession) -> None:
        host, port = api.base.split("/")[2].rsplit(":", 1)
        reader, writer = await asyncio.open_connection(host, int(port))
        writer.write(b"POST /2018-06-01/runtime/init/error HTTP/1.1\r\nHost: x\r\nX-Endless: ")
        sent = 0
        with contextlib.suppress(ConnectionError):
            while sent < 1 << 20:  # 1 MiB at most: the listener must stop it well before
                writer.write(b"a" * 4096)
                await writer.drain()
                sent += 4096
        try:  # the 400, or a reset when the listener closed with our unread bytes still queued
            answer = await asyncio.wait_for(reader.read(), 10)
        except ConnectionResetError:
            answer = b""
        assert answer == b"" or answer.startswith(b"HTTP/1.1 400 Bad Request\r\n")
        writer.close()
        task, headers, _ = await api.invoke(b"{}")
        assert await api.post(f"/invocation/{headers['Lambda-Runtime-Aws-Request-Id']}/response", b'"ok"') == (
            202, b'{"status":"OK"}')
        assert (await task).payload == b'"ok"'

    with_runtime_api(body)
