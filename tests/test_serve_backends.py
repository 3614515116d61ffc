"""`lambda-canary serve` as a new user runs it, with a real Docker engine: `auto` picks a backend per runtime that
can run it, says so once, and prepares before serving (issue 13, points 2 and 3).

The base images' repository is pointed (LAMBDA_CANARY_BASE_IMAGE_REPOSITORY) at a name that surely does not exist,
or at the stand-ins these tests build, so no test depends on what other tests pull, tag or remove on the engine.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
import uuid
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from emulator.errors import UserError
from emulator.lambda_service.backends.docker import BASE_REPOSITORY_ENV, LABEL_FUNCTION, LABEL_OWNER_PID
from emulator.runtimes.provision import require_node
from tests.conftest import EXAMPLES, free_port
from tests.test_docker_backend import _engine_answers, _unavailable, base_images, client, docker_engine  # noqa: F401

pytestmark = pytest.mark.docker

BIN = Path(sys.executable).parent
ROLE = "arn:aws:iam::123456789012:role/x"
HANDLER = "exports.handler = async (event) => ({ pong: true, node: process.version, event });\n"
REQUESTS = 200  # ping: 10% canary; P(no canary answer in 200) = 0.9**200 ≈ 7e-10 (and --seed fixes the draw)


@pytest.fixture(autouse=True)
def engine_and_node() -> None:
    """These are the engine-up cases: skip (fail under CI) without an engine; Node 18 and 22 installed."""
    if not _engine_answers():
        _unavailable("no Docker engine answers")
    try:
        require_node("nodejs18.x")
        require_node("nodejs22.x")
    except UserError as error:
        pytest.skip(f"Node runtimes not installed: {error}")


class Served:
    """A `lambda-canary serve` process; its stderr collected into a file."""

    def __init__(self, args: list[str], env: dict[str, str], log: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = log
        with log.open("wb") as sink:
            self.process = subprocess.Popen([str(BIN / "lambda-canary"), "serve", *args, "--port", str(self.port)],
                                            env=env, stdout=sink, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + 240
        while "serving on" not in self.output():
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                pytest.fail(f"serve did not start (exit {self.process.poll()}):\n{self.output()}")
            time.sleep(0.1)

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(60)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


@pytest.fixture
def environment(tmp_path: Path) -> dict[str, str]:
    """No host credentials or config; the aws CLI pointed at nothing until a test says where."""
    return {**{key: value for key, value in os.environ.items() if not key.startswith("AWS_")},
            "AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test", "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_CONFIG_FILE": str(tmp_path / "none"), "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "none"),
            "AWS_PAGER": ""}


@pytest.fixture
def serve(tmp_path: Path) -> Iterator[Any]:
    started: list[Served] = []

    def start(args: list[str], env: dict[str, str]) -> Served:
        served = Served(args, env, tmp_path / f"serve-{len(started)}.log")
        started.append(served)
        return served

    yield start
    for served in started:
        served.stop()


def ping_without_backend(tmp_path: Path) -> Path:
    """examples/ping as a user without `backend:` in the config would have it (auto)."""
    folder = tmp_path / "ping"
    shutil.copytree(EXAMPLES / "ping", folder)
    config = folder / "canary.yaml"
    text = config.read_text()
    assert re.search(r"^backend: process\n", text, re.MULTILINE)
    config.write_text(re.sub(r"^backend: process\n", "", text, flags=re.MULTILINE))
    return config


def ping_nodes(url: str) -> set[str]:
    """GET /prod/ping REQUESTS times; every answer is 200; the Node majors seen."""
    seen = set()
    for _ in range(REQUESTS):
        with urllib.request.urlopen(f"{url}/prod/ping", timeout=30) as response:
            assert response.status == 200
            seen.add(json.loads(response.read())["node"].split(".")[0])
    return seen


def said(output: str, runtime: str) -> list[str]:
    return [line for line in output.splitlines() if line.startswith(f"lambda-canary: {runtime} runs on the ")]


# ---- engine up, no Lambda images -------------------------------------------------------------------------------
def test_serve_no_file_readme_walkthrough_without_lambda_images(serve: Any, environment: dict[str, str],
                                                                tmp_path: Path) -> None:
    """`serve` with no file, then the README's AWS-API walkthrough with the real aws CLI: create, waiter, invoke."""
    absent = f"lambda-canary-test-absent-{uuid.uuid4().hex[:12]}/nodejs"
    served = serve(["--state-dir", str(tmp_path / ".state")], {**environment, BASE_REPOSITORY_ENV: absent})
    bundle = tmp_path / "ping.zip"
    with zipfile.ZipFile(bundle, "w") as archive:
        archive.writestr("index.js", HANDLER)
    env = {**environment, "AWS_ENDPOINT_URL": served.url}

    def aws(*args: str) -> str:
        done = subprocess.run([str(BIN / "aws"), *args], env=env, capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, f"aws {' '.join(args)}: {done.stderr}\n--- serve:\n{served.output()}"
        return done.stdout

    created = json.loads(aws("lambda", "create-function", "--function-name", "ping-canary", "--runtime", "nodejs22.x",
                             "--handler", "index.handler", "--role", ROLE, "--zip-file", f"fileb://{bundle}"))
    assert created["State"] == "Pending"
    aws("lambda", "wait", "function-active-v2", "--function-name", "ping-canary")
    out = tmp_path / "out.json"
    invoked = json.loads(aws("lambda", "invoke", "--function-name", "ping-canary", "--payload", '{"hello": 1}',
                             str(out)))
    assert invoked["StatusCode"] == 200 and "FunctionError" not in invoked
    body = json.loads(out.read_text())
    assert body["pong"] is True and body["node"].startswith("v22.") and body["event"] == {"hello": 1}

    output = served.output()
    lines = said(output, "nodejs22.x")
    assert len(lines) == 1, output  # said once, with the reason
    assert "process backend" in lines[0] and f"{absent}:22" in lines[0] and "not pullable" in lines[0]
    assert "Traceback" not in output and "ServiceException" not in output


def test_serve_ping_without_backend_answers_from_node_18_and_22(serve: Any, environment: dict[str, str],
                                                                 tmp_path: Path) -> None:
    absent = f"lambda-canary-test-absent-{uuid.uuid4().hex[:12]}/nodejs"
    served = serve([str(ping_without_backend(tmp_path)), "--seed", "1", "--quiet"],
                   {**environment, BASE_REPOSITORY_ENV: absent})
    assert ping_nodes(served.url) == {"v18", "v22"}
    output = served.output()
    for runtime in ("nodejs18.x", "nodejs22.x"):
        lines = said(output, runtime)
        assert len(lines) == 1 and "process backend" in lines[0] and "not pullable" in lines[0], output
    # prepared before serving: the choices are said before "serving on"
    assert output.index("runs on the process backend") < output.index("serving on")


def test_serve_the_ping_example_as_shipped(serve: Any, environment: dict[str, str]) -> None:
    """The example exactly as shipped, without --backend."""
    served = serve([str(EXAMPLES / "ping" / "canary.yaml"), "--seed", "1", "--quiet"], environment)
    assert ping_nodes(served.url) == {"v18", "v22"}


# ---- engine up, stand-in images present ------------------------------------------------------------------------------
def test_auto_picks_docker_with_the_standin_images(serve: Any, environment: dict[str, str], tmp_path: Path,
                                                   base_images: dict[str, str], client: Any) -> None:  # noqa: F811
    repository = base_images["nodejs22.x"].rsplit(":", 1)[0]
    assert base_images["nodejs18.x"] == f"{repository}:18"
    served = serve([str(ping_without_backend(tmp_path)), "--seed", "1", "--quiet"],
                   {**environment, BASE_REPOSITORY_ENV: repository})
    output = served.output()
    for runtime, major in (("nodejs18.x", 18), ("nodejs22.x", 22)):
        lines = said(output, runtime)
        assert len(lines) == 1, output
        assert "docker backend" in lines[0] and f"{repository}:{major}" in lines[0], output
    assert ping_nodes(served.url) == {"v18", "v22"}
    containers = client.api.containers(filters={"label": f"{LABEL_OWNER_PID}={served.process.pid}"})
    functions = {summary["Labels"][LABEL_FUNCTION] for summary in containers}
    assert functions == {"ping-stable", "ping-canary"}
    served.stop()
    assert not client.api.containers(all=True, filters={"label": f"{LABEL_OWNER_PID}={served.process.pid}"})
