"""State that survives anything: a damaged state file is one line and exit 2 naming it; what a killed process
leaves is cleaned at the next start; every acknowledged write survives kill -9; the incrementally written file
is exactly the whole state."""

from __future__ import annotations

import io
import itertools
import json
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.request
import zipfile
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config
from support import live_state

from emulator.control_plane import persistence
from emulator.control_plane.wiring import temporary_code_root
from emulator.errors import UserError
from emulator.runtimes.provision import require_node
from emulator.stack import StackOptions
from emulator.testing import StackThread

REPO = Path(__file__).resolve().parent.parent
CREDENTIALS = {"region_name": "us-east-1", "aws_access_key_id": "test", "aws_secret_access_key": "test"}
ONE_TRY = Config(retries={"total_max_attempts": 1}, connect_timeout=5, read_timeout=30)


def _client(service: str, url: str) -> Any:
    return boto3.client(service, endpoint_url=url, config=ONE_TRY, **CREDENTIALS)


def _zip(source: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("index.js", source)
    return buffer.getvalue()


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _serve(state_dir: Path, port: int) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "emulator.cli", "serve", "--port", str(port), "--quiet",
                             "--backend", "process", "--state-dir", str(state_dir)], cwd=REPO,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)


def _wait_up(port: int, process: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"serve ended: {process.stderr.read() if process.stderr else ''}")
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/_lambda_canary/health", timeout=2).read()
            return
        except OSError:
            time.sleep(0.1)
    raise AssertionError("serve did not start")


@pytest.fixture(scope="module")
def saved_state(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A real state file: one REST API and one function made through the AWS API."""
    try:
        require_node("nodejs22.x")
    except UserError as error:
        pytest.skip(f"Node 22 not installed: {error}")
    state = tmp_path_factory.mktemp("state")
    with StackThread(None, StackOptions(port=0, backend="process", access_log=False, function_logs=False,
                                        state_dir=state)) as stack:
        _client("apigateway", stack.url).create_rest_api(name="kept")
        _client("lambda", stack.url).create_function(
            FunctionName="kept", Runtime="nodejs22.x", Handler="index.handler", Role="arn:aws:iam::123456789012:role/x",
            Code={"ZipFile": _zip("exports.handler = async () => 1;")})
    return persistence.state_file(state).read_text()


def _damaged(text: str, how: str) -> str:
    document = json.loads(text)
    if how == "truncated":
        return text[: len(text) // 2]
    if how == "empty":
        return ""
    if how == "list":
        return "[]"
    if how == "null":
        return "null"
    if how == "deep":
        return "[" * 100_000 + "]" * 100_000
    if how == "format-a-string":
        document["format"] = "1"
    elif how == "apigateway-a-list":
        document["apigateway"] = []
    elif how == "api-wrong-type":
        next(iter(document["apigateway"]["apis"].values()))["name"] = 42
    elif how == "lambda-a-string":
        document["lambda"] = "functions"
    elif how == "memory-a-string":
        document["lambda"]["functions"]["kept"]["latest"]["memory_size"] = "big"
    elif how == "function-missing-latest":
        del document["lambda"]["functions"]["kept"]["latest"]
    elif how == "not-utf8":
        return "\udcff"
    return json.dumps(document)


WHAT_IS_SAID = {
    "truncated": "not JSON", "empty": "empty", "list": "list", "null": "null", "deep": "nested too deeply",
    "format-a-string": "format", "apigateway-a-list": "apigateway", "api-wrong-type": "name",
    "lambda-a-string": "lambda", "memory-a-string": "memory_size", "function-missing-latest": "latest",
    "not-utf8": "not JSON",
}


@pytest.mark.parametrize("how", list(WHAT_IS_SAID))
def test_a_damaged_state_file_is_one_line_naming_it_and_exit_2(saved_state: str, tmp_path: Path, how: str) -> None:
    state = tmp_path / "state"
    state.mkdir()
    path = persistence.state_file(state)
    if how == "not-utf8":
        path.write_bytes(b"\xff\xfe{")
    else:
        path.write_text(_damaged(saved_state, how))
    result = subprocess.run([sys.executable, "-m", "emulator.cli", "serve", "--port", "0", "--backend", "process",
                             "--state-dir", str(state)], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert result.returncode == 2, result
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert str(path) in lines[0] and WHAT_IS_SAID[how] in lines[0], lines[0]


def test_kill_9_during_1000_writes_loses_no_acknowledged_write(tmp_path: Path) -> None:
    """Four clients create REST APIs (1,000 planned); serve is killed with SIGKILL half way. After a restart every
    acknowledged API is there, and no temporary file (nor unused code folder) remains."""
    state = tmp_path / "state"
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    process = _serve(state, port)
    acknowledged: list[str] = []
    stop = threading.Event()

    def writer(number: int) -> None:
        client = _client("apigateway", url)
        for index in range(250):
            if stop.is_set():
                return
            name = f"w{number}-{index}"
            try:
                client.create_rest_api(name=name, description="x" * 500)
            except Exception:  # the server is gone: this write was not acknowledged
                return
            acknowledged.append(name)

    try:
        _wait_up(port, process)
        threads = [threading.Thread(target=writer, args=(number,)) for number in range(4)]
        for thread in threads:
            thread.start()
        deadline = time.monotonic() + 300
        while len(acknowledged) < 500 and time.monotonic() < deadline and any(t.is_alive() for t in threads):
            time.sleep(0.01)
        process.send_signal(signal.SIGKILL)
        process.wait(30)
        stop.set()
        for thread in threads:
            thread.join(60)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(30)
    assert 400 <= len(acknowledged) < 1000, len(acknowledged)

    (state / f"{persistence.TEMP_PREFIX}planted{persistence.TEMP_SUFFIX}").write_text("{")
    orphan = state / persistence.CODE_FOLDER / "ghost" / ("0" * 64)
    orphan.mkdir(parents=True)
    (orphan / "index.js").write_text("left by a killed CreateFunction")

    process = _serve(state, port)
    try:
        _wait_up(port, process)
        client = _client("apigateway", url)
        names: set[str] = set()
        for page in client.get_paginator("get_rest_apis").paginate(limit=500):
            names.update(item["name"] for item in page["items"])
    finally:
        process.terminate()
        process.wait(30)
    assert set(acknowledged) <= names, sorted(set(acknowledged) - names)[:10]
    assert not list(state.glob(f"{persistence.TEMP_PREFIX}*"))
    assert not orphan.exists() and not orphan.parent.exists()


def test_code_folders_of_a_killed_process_are_removed_from_the_temp_dir(tmp_path: Path) -> None:
    finished = subprocess.Popen(["true"])
    finished.wait()  # a process id that is gone
    import tempfile

    left = Path(tempfile.gettempdir()) / f"lambda-canary-code-{finished.pid}-testleft"
    (left / "f" / "sha").mkdir(parents=True)
    mine = temporary_code_root()
    assert not left.exists()
    assert mine.is_dir() and f"-{os.getpid()}-" in mine.name


def test_the_incrementally_written_file_is_exactly_the_whole_state(tmp_path: Path) -> None:
    """Each change re-encodes only what it touched; after a varied run, the file equals a full dump."""
    try:
        require_node("nodejs22.x")
    except UserError as error:
        pytest.skip(f"Node 22 not installed: {error}")
    state = tmp_path / "state"
    options = StackOptions(port=0, backend="process", access_log=False, function_logs=False, state_dir=state)
    with StackThread(REPO / "examples" / "ping" / "canary.yaml", options) as stack:
        apigateway, lambdas = _client("apigateway", stack.url), _client("lambda", stack.url)
        ping = apigateway.get_rest_apis()["items"][0]["id"]
        apigateway.update_stage(restApiId=ping, stageName="prod", patchOperations=[
            {"op": "replace", "path": "/canarySettings/percentTraffic", "value": "30"}])
        api = apigateway.create_rest_api(name="second")["id"]
        root = apigateway.get_resources(restApiId=api)["items"][0]["id"]
        resource = apigateway.create_resource(restApiId=api, parentId=root, pathPart="x")["id"]
        apigateway.put_method(restApiId=api, resourceId=resource, httpMethod="GET", authorizationType="NONE")
        apigateway.put_integration(restApiId=api, resourceId=resource, httpMethod="GET", type="MOCK")
        apigateway.create_deployment(restApiId=api, stageName="dev")
        doomed = apigateway.create_rest_api(name="doomed")["id"]
        lambdas.create_function(FunctionName="fresh", Runtime="nodejs22.x", Handler="index.handler",
                                Role="arn:aws:iam::123456789012:role/x",
                                Code={"ZipFile": _zip("exports.handler = () => 1;")})
        lambdas.publish_version(FunctionName="fresh")
        lambdas.create_alias(FunctionName="fresh", Name="live", FunctionVersion="1")
        arn = "arn:aws:lambda:us-east-1:123456789012:function:fresh"
        lambdas.tag_resource(Resource=arn, Tags={"team": "a"})
        lambdas.add_permission(FunctionName=f"{arn}:live", StatementId="s", Action="lambda:InvokeFunction",
                               Principal="apigateway.amazonaws.com")
        lambdas.update_function_configuration(FunctionName="fresh", MemorySize=256)
        lambdas.create_function(FunctionName="gone", Runtime="nodejs22.x", Handler="index.handler",
                                Role="arn:aws:iam::123456789012:role/x",
                                Code={"ZipFile": _zip("exports.handler = () => 2;")})
        lambdas.delete_function(FunctionName="gone")
        apigateway.delete_rest_api(restApiId=doomed)
        expected = live_state(stack)
        written = persistence.read_document(state)  # state.json and the journal's changes, as the next start reads
        assert persistence.journal_file(state).stat().st_size > 0  # the changes after the run's first went there
    assert written == expected
    assert set(written["lambda"]["functions"]) == {"fresh"}
    assert {api["name"] for api in written["apigateway"]["apis"].values()} >= {"second"}
    # a clean stop folds the journal in: the run's second fold (its first write was the first)
    assert json.loads(persistence.state_file(state).read_text()) == {"fold": 2, **expected}
    assert persistence.journal_file(state).stat().st_size == 0


def test_the_journal_is_folded_into_the_state_file_when_it_outgrows_it(tmp_path: Path,
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    """Each change appends one line of what it touched; past the limit the journal is folded into state.json and
    emptied, so it never grows without bound; what the next start reads is the whole state throughout."""
    monkeypatch.setattr(persistence, "JOURNAL_MIN_BYTES", 20_000)
    state = tmp_path / "state"
    options = StackOptions(port=0, backend="process", access_log=False, function_logs=False, state_dir=state)
    with StackThread(None, options) as stack:
        client = _client("apigateway", stack.url)
        ids = [client.create_rest_api(name=f"api-{index}", description="d" * 2_000)["id"] for index in range(3)]
        sizes = []
        for index in range(40):
            client.update_rest_api(restApiId=ids[index % 3], patchOperations=[
                {"op": "replace", "path": "/description", "value": f"{index:04d}" + "d" * 2_000}])
            sizes.append(persistence.journal_file(state).stat().st_size)
            if index in (0, 39):
                assert persistence.read_document(state) == live_state(stack)
        client.delete_rest_api(restApiId=ids[0])
        assert persistence.read_document(state) == live_state(stack)
    # one API's line, 3.2 KB with AWS's default models Empty and Error (all three APIs would be 9.5 KB)
    assert max(sizes) <= 20_000 and 0 < sizes[1] - sizes[0] < 4_000
    assert any(after < before for before, after in itertools.pairwise(sizes))  # folded at least once


def test_a_kill_between_a_fold_and_the_journal_emptying_brings_back_no_older_value(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A fold writes state.json, then empties the journal; killed in between, the journal still holds lines the new
    file took in, older than it: the next start must skip them (applied again, an API would get its older name
    back beside another API's newer state: half of one change)."""
    state = tmp_path / "state"
    options = StackOptions(port=0, backend="process", access_log=False, function_logs=False, state_dir=state)
    with StackThread(None, options) as stack:
        client = _client("apigateway", stack.url)
        first = client.create_rest_api(name="v0")["id"]  # the run's first write folds
        client.update_rest_api(restApiId=first, patchOperations=[{"op": "replace", "path": "/name", "value": "v1"}])
        assert persistence.journal_file(state).stat().st_size > 0  # v1 is a journal line
        monkeypatch.setattr(persistence, "JOURNAL_MIN_BYTES", 0)  # the next write folds...
        monkeypatch.setattr(persistence, "JOURNAL_RATIO", 0)
        monkeypatch.setattr(persistence, "empty_journal", lambda _state_dir: None)  # ...and is killed before this
        client.update_rest_api(restApiId=first, patchOperations=[{"op": "replace", "path": "/name", "value": "v2"}])
        assert b'"v1"' in persistence.journal_file(state).read_bytes()
        assert persistence.read_document(state) == live_state(stack)
    assert persistence.read_document(state)["apigateway"]["apis"][first]["name"] == "v2"


def test_a_journal_line_cut_short_by_a_kill_is_left_out_and_a_damaged_one_is_exit_2(tmp_path: Path) -> None:
    """A kill during an append leaves part of a line that was never acknowledged: the start leaves it out. Lines
    already folded into state.json (a kill between the rename and the emptying) apply again harmlessly. A damaged
    line followed by good ones is one line naming the journal and the line, exit 2."""
    state = tmp_path / "state"
    options = StackOptions(port=0, backend="process", access_log=False, function_logs=False, state_dir=state)
    with StackThread(None, options) as stack:
        client = _client("apigateway", stack.url)
        api = client.create_rest_api(name="first")["id"]
        client.update_rest_api(restApiId=api, patchOperations=[{"op": "replace", "path": "/name", "value": "second"}])
        client.create_rest_api(name="third")
        lines = persistence.journal_file(state).read_bytes().splitlines(keepends=True)
        expected = live_state(stack)
    assert len(lines) == 2 and json.loads(persistence.state_file(state).read_text()) == {"fold": 2, **expected}
    journal = persistence.journal_file(state)
    journal.write_bytes(b"".join(lines) + lines[0][: len(lines[0]) // 2])  # already folded, then cut short
    assert persistence.read_document(state) == expected
    journal.write_bytes(lines[0] + b'{"apis": {"x": \n' + lines[1])
    result = subprocess.run([sys.executable, "-m", "emulator.cli", "serve", "--port", "0", "--backend", "process",
                             "--state-dir", str(state)], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert result.returncode == 2, result
    assert result.stderr.strip().splitlines() == [
        f"lambda-canary: error: {journal}:2: unreadable state journal line; fix it, or move the state folder "
        "away to start empty"]
