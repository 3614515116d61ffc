"""Issue 12: what a function can do on the process backend. Memory limits, a private Runtime API per
environment, a uid of its own, and nothing that outlives the emulator. Real Node processes throughout."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import boto3
import pytest
import yaml
from botocore.config import Config
from botocore.exceptions import BotoCoreError
from conftest import free_port
from support import with_service, write_config

from emulator.lambda_service.backends import containment
from emulator.lambda_service.backends.containment import UID_BASE, UID_COUNT, Containment
from emulator.lambda_service.backends.process import ProcessBackend
from emulator.lambda_service.model import InvocationResult
from emulator.lambda_service.service import LambdaService

HOSTILE = Path(__file__).resolve().parent / "fixtures" / "handlers" / "hostile"
AS_ROOT = os.geteuid() == 0


def body_of(result: InvocationResult) -> Any:
    return json.loads(result.payload)


def hostile(handler: str, **settings: Any) -> dict[str, Any]:
    return {"runtime": "nodejs22.x", "handler": f"index.{handler}", "code": str(HOSTILE), **settings}


def memory_modes() -> list[str]:
    """The machine's own choice, and the resident-memory watch (always available) when that is not it."""
    probe = Containment()
    try:
        return ["auto"] if probe.memory == "watch" else ["auto", "watch"]
    finally:
        probe.close()


# ---- memorySize -------------------------------------------------------------------------------------
def test_the_watch_reports_an_invocations_peak_that_came_between_its_samples(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Where memory is watched by sampling, REPORT's Max Memory Used still holds what the invocation touched: the
    watch samples once more when the invocation ends (a cold start used to end before the next sample, so REPORT
    gave the few MB the process had at launch)."""
    monkeypatch.setattr(containment, "_WATCH_INTERVAL_S", 3600.0)  # one sample at launch, none after it
    config = write_config(tmp_path, {"hog": hostile("alloc", memory_size=128)})
    lines: list[str] = []

    async def body(service: LambdaService) -> InvocationResult:
        return await service.invoke("hog", b'{"mb": 16}')

    result = with_service(config, body, lines, ProcessBackend(memory="watch"))
    assert body_of(result) == {"allocated": 16 * 1024 * 1024}
    [report] = [line for line in lines if line.startswith("REPORT")]
    assert 16 <= int(report.split("Max Memory Used: ")[1].split()[0]) < 128


@pytest.mark.parametrize("memory", memory_modes())
def test_a_1gb_allocation_on_a_128mb_function_is_out_of_memory_then_a_fresh_environment_answers(
        tmp_path: Path, memory: str) -> None:
    """Buffer.alloc(1 GB) touching every page, memorySize 128: Runtime.OutOfMemory as Lambda reports it,
    REPORT at the limit, then a new environment answers the next invocation."""
    config = write_config(tmp_path, {"hog": hostile("alloc", memory_size=128)})
    lines: list[str] = []
    backend = ProcessBackend(memory=None if memory == "auto" else memory)

    async def body(service: LambdaService) -> tuple[InvocationResult, InvocationResult, InvocationResult, int]:
        small = await service.invoke("hog", b'{"mb": 8}')
        hog = await service.invoke("hog", b'{"mb": 1024}')
        after = await service.invoke("hog", b'{"mb": 8}')
        (pool,) = service.pools()
        return small, hog, after, pool.started

    small, hog, after, started = with_service(config, body, lines, backend)
    assert body_of(small) == {"allocated": 8 * 1024 * 1024}
    assert hog.function_error == "Unhandled"
    # adobe/helix-html2md-service#1001: what Lambda answered for a Node function over its memory.
    assert body_of(hog) == {"errorType": "Runtime.OutOfMemory",
                            "errorMessage": f"RequestId: {hog.request_id} Error: Runtime exited with error: "
                                            "signal: killed"}
    assert body_of(after) == {"allocated": 8 * 1024 * 1024}
    assert started == 2  # the killed environment was replaced
    reports = {line.split("\t")[0].split()[-1]: line for line in lines if line.startswith("REPORT")}
    assert "\tMax Memory Used: 128 MB\t" in reports[hog.request_id]
    assert "\tStatus: error\tError Type: Runtime.OutOfMemory\t" in reports[hog.request_id]
    measured = int(reports[small.request_id].split("Max Memory Used: ")[1].split()[0])
    assert 8 <= measured < 128  # measured for real: at least the 8 MB the handler touched
    assert lines[lines.index(reports[hog.request_id]) + 1:][:2] == [
        f"RequestId: {hog.request_id} Error: Runtime exited with error: signal: killed", "Runtime.OutOfMemory"]


# ---- a private Runtime API -------------------------------------------------------------------------
INTRUDER = r"""
import http.client, json, sys
port, request_id = int(sys.argv[1]), sys.argv[2]
answers = {}
for name, method, path, body in (
        ("next", "GET", "/2018-06-01/runtime/invocation/next", None),
        ("answer", "POST", f"/2018-06-01/runtime/invocation/{request_id}/response", b'"forged"'),
        ("error", "POST", f"/2018-06-01/runtime/invocation/{request_id}/error", b'{"errorType":"Forged"}')):
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        connection.request(method, path, body=body)
        answers[name] = connection.getresponse().status
    except OSError as error:
        answers[name] = repr(error)
    finally:
        connection.close()
print(json.dumps(answers))
"""


def test_a_second_process_polling_the_runtime_api_gets_nothing_and_cannot_answer(tmp_path: Path) -> None:
    """Another local process that knows the port, and the request id in flight, neither takes nor answers it."""
    config = write_config(tmp_path, {"slow": hostile("slow")})
    lines: list[str] = []

    async def body(service: LambdaService) -> tuple[dict[str, Any], InvocationResult, str, dict[str, Any]]:
        first = body_of(await service.invoke("slow", b'{"ms": 0}'))
        port = int(first["api"].split("/")[0].rsplit(":", 1)[1])
        task = asyncio.create_task(service.invoke("slow", b'{"ms": 1500}'))
        while sum(line.startswith("START") for line in lines) < 2:
            await asyncio.sleep(0.01)
        request_id = [line for line in lines if line.startswith("START")][-1].split()[2]
        intruder = await asyncio.create_subprocess_exec(sys.executable, "-c", INTRUDER, str(port), request_id,
                                                        stdout=asyncio.subprocess.PIPE)
        output, _ = await intruder.communicate()
        return first, await task, request_id, json.loads(output)

    first, second, request_id, answers = with_service(config, body, lines)
    assert first["api"].count("/") == 1 and len(first["api"].split("/")[1]) == 32  # host:port/<secret>
    assert answers == {"next": 404, "answer": 404, "error": 404}
    assert second.request_id == request_id
    assert (second.function_error, body_of(second)["answer"]) == (None, "genuine")


# ---- users, code and variables ---------------------------------------------------------------------
@pytest.mark.skipif(not AS_ROOT, reason="per-function users need root (CI runs as root); see README, Isolation")
def test_a_function_cannot_read_the_emulators_environment_or_another_functions_code(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LAMBDA_CANARY_EMULATOR_SECRET", "emulator-secret-must-not-leak")
    config = write_config(tmp_path, {
        "probe": hostile("read"), "lister": hostile("list"), "who": hostile("identity"),
        "other": hostile("identity", environment={"OTHER_SECRET": "other-secret"}),
    })

    async def body(service: LambdaService) -> dict[str, Any]:
        seen: dict[str, Any] = {"other": body_of(await service.invoke("other", b"{}")),
                                "who": body_of(await service.invoke("who", b"{}"))}
        other = seen["other"]

        async def read(path: str) -> Any:
            return body_of(await service.invoke("probe", json.dumps({"path": path}).encode()))

        seen["emulator_environ"] = await read(f"/proc/{seen['who']['ppid']}/environ")
        seen["other_code"] = await read(f"{other['cwd']}/index.js")
        seen["other_environ"] = await read(f"/proc/{other['pid']}/environ")  # warm: still running
        seen["own_code"] = await read("index.js")
        seen["other_listing"] = body_of(await service.invoke("lister", json.dumps({"path": other["cwd"]}).encode()))
        return seen

    seen = with_service(config, body)
    who, other = seen["who"], seen["other"]
    assert who["ppid"] == os.getpid()  # the emulator is this process
    for identity in (who, other):
        assert UID_BASE <= identity["uid"] < UID_BASE + UID_COUNT and identity["gid"] == identity["uid"]
        assert set(identity["groups"]) <= {identity["gid"]}  # no supplementary groups
    assert who["uid"] != other["uid"]
    assert seen["emulator_environ"] == {"ok": False, "code": "EACCES"}
    assert seen["other_code"] == {"ok": False, "code": "EACCES"}
    assert seen["other_environ"] == {"ok": False, "code": "EACCES"}
    assert seen["other_listing"] == {"ok": False, "code": "EACCES"}
    assert seen["own_code"]["ok"] is True and "exports.read" in seen["own_code"]["text"]  # the probe itself works


# ---- nothing outlives the emulator -----------------------------------------------------------------
def _tracking_available() -> bool:
    probe = Containment()
    try:
        return probe.track_root is not None
    finally:
        probe.close()


def _processes_of(serve_pid: int) -> set[int]:
    """Processes in the cgroups of that serve's environments."""
    marker = f"/lambda-canary/{serve_pid}-"
    found = set()
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            try:
                if marker in Path(f"/proc/{entry.name}/cgroup").read_text() and not _zombie(int(entry.name)):
                    found.add(int(entry.name))
            except OSError:
                continue
    return found


def _zombie(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] in ("Z", "X")
    except (OSError, IndexError):
        return True  # gone


def _invoke(port: int, function: str, event: dict[str, Any], timeout: float) -> bytes:
    """Lambda's Invoke through the emulator's AWS API (boto3, test credentials that are never checked)."""
    lambdas = boto3.client("lambda", endpoint_url=f"http://127.0.0.1:{port}", region_name="us-east-1",
                           aws_access_key_id="test", aws_secret_access_key="test",
                           config=Config(read_timeout=timeout, connect_timeout=5, retries={"max_attempts": 0}))
    return bytes(lambdas.invoke(FunctionName=function, Payload=json.dumps(event))["Payload"].read())


@pytest.mark.skipif(not _tracking_available(),
                    reason="no writable cgroup v2 here: detached children may outlive a SIGKILL (README, Isolation)")
def test_serve_killed_with_sigkill_leaves_no_function_process(tmp_path: Path) -> None:
    """Functions spinning, waiting on a timer and with a detached child: 10 s after SIGKILL, none is left."""
    config = tmp_path / "canary.yaml"
    config.write_text(yaml.safe_dump({"backend": "process", "functions": {
        "spin": hostile("spin", timeout=300), "timer": hostile("timer", timeout=300), "detach": hostile("detach"),
    }}))
    port = free_port()
    serve = subprocess.Popen([sys.executable, "-m", "emulator.cli", "serve", str(config), "--port", str(port),
                              "--quiet", "--backend", "process"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                detached = json.loads(_invoke(port, "detach", {}, 30))
                break
            except (OSError, ValueError, BotoCoreError):
                if serve.poll() is not None or time.monotonic() > deadline:
                    problem = serve.stderr.read() if serve.stderr else ""
                    raise AssertionError(f"serve did not answer: {problem}") from None
                time.sleep(0.3)
        for function in ("spin", "timer"):
            threading.Thread(target=lambda name=function: _swallow(port, name), daemon=True).start()
        deadline = time.monotonic() + 30
        while len(before := _processes_of(serve.pid)) < 4 and time.monotonic() < deadline:
            time.sleep(0.1)
        assert "child" in detached, detached
        assert detached["child"] in before and detached["self"] in before
        assert len(before) >= 4, before  # detach's node and its child, the spinner, the timer
        serve.send_signal(signal.SIGKILL)
        serve.wait(10)
        time.sleep(10)
        assert [pid for pid in before if not _zombie(pid)] == []
        assert _processes_of(serve.pid) == set()
    finally:
        if serve.poll() is None:
            serve.kill()
            serve.wait(10)
        if serve.stderr:
            serve.stderr.close()


def _swallow(port: int, function: str) -> None:
    with contextlib.suppress(OSError, BotoCoreError):  # the answer never comes: serve is killed
        _invoke(port, function, {}, 60)
