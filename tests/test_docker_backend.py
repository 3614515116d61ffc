"""The docker backend against a real engine, with the offline stand-ins of the Lambda Node.js base images."""

from __future__ import annotations

import asyncio
import contextlib
import io
import itertools
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import textwrap
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path

import docker
import pytest
from click.testing import CliRunner
from docker.errors import DockerException
from requests.exceptions import RequestException
from rich.console import Console

from emulator.cli.images import images
from emulator.errors import UserError
from emulator.lambda_service.backends.docker import (
    LABEL_ENVIRONMENT,
    LABEL_FUNCTION,
    LABEL_OWNER,
    LABEL_OWNER_HOST,
    LABEL_OWNER_PID,
    LABEL_OWNER_STARTED,
    AttachedOutput,
    DockerBackend,
    DockerOptions,
    cleanup_stale,
    owner_labels,
    runtime_api_addresses,
)
from emulator.lambda_service.backends.images import build_function_image
from emulator.lambda_service.backends.standin import build_standins, standin_base_images
from emulator.lambda_service.model import FunctionVersion, InvocationResult
from emulator.lambda_service.service import FunctionRecord, LambdaService, code_sha256, with_revision
from emulator.runtimes.catalogue import get_runtime

pytestmark = pytest.mark.docker

REPO = Path(__file__).resolve().parent.parent
RUNTIMES = ["nodejs18.x", "nodejs22.x"]
QUIET = Console(quiet=True)
HANDLER = textwrap.dedent("""\
    const os = require("os");
    exports.handler = async (event, context) => {
      const started = Date.now();
      console.log("hello from", process.version);
      if (event && event.sleep) await new Promise((resolve) => setTimeout(resolve, event.sleep));
      if (event && event.exit) process.exit(event.exit);
      return {
        version: process.version, host: os.hostname(), started, ended: Date.now(),
        taskRoot: process.env.LAMBDA_TASK_ROOT, runtimeDir: process.env.LAMBDA_RUNTIME_DIR,
        cwd: process.cwd(), path: process.env.PATH, api: process.env.AWS_LAMBDA_RUNTIME_API,
        handler: process.env._HANDLER, marker: require("./marker.json").marker,
      };
    };
""")


# ---- engine and stand-in images ----------------------------------------------------------------
def _engine_answers() -> bool:
    try:
        client = docker.from_env(timeout=5)
    except (DockerException, RequestException):
        return False
    try:
        return bool(client.ping())
    except (DockerException, RequestException):
        return False
    finally:
        client.close()


def _unavailable(reason: str) -> None:
    """Skip with the reason; under CI (CI=true) the Docker tests must run, so fail instead."""
    if os.environ.get("CI"):
        pytest.fail(f"CI must run the Docker tests: {reason}", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def docker_engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """An engine that answers: the running one, else a dockerd started here (and stopped at the end)."""
    if _engine_answers():
        yield
        return
    dockerd = shutil.which("dockerd")
    if dockerd is None:
        _unavailable("no Docker engine answers and dockerd is not installed (run .ci/docker-setup.sh)")
    if os.geteuid() != 0:
        _unavailable("no Docker engine answers and starting dockerd needs root")
    log_path = tmp_path_factory.mktemp("dockerd") / "dockerd.log"
    with log_path.open("wb") as log:
        daemon = subprocess.Popen([dockerd], stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    deadline = time.monotonic() + 60
    while not (Path("/var/run/docker.sock").exists() and _engine_answers()):
        if daemon.poll() is not None or time.monotonic() > deadline:
            daemon.kill()
            tail = log_path.read_text(errors="replace").strip().splitlines()[-3:]
            _unavailable(f"dockerd did not come up (exit {daemon.poll()}): {' | '.join(tail)}")
        time.sleep(0.5)
    yield
    daemon.terminate()
    try:
        daemon.wait(30)
    except subprocess.TimeoutExpired:
        daemon.kill()


@pytest.fixture(scope="session")
def client(docker_engine: None) -> Iterator[docker.DockerClient]:
    engine = docker.from_env(timeout=120)
    yield engine
    engine.close()


@pytest.fixture(scope="session")
def base_images(client: docker.DockerClient) -> dict[str, str]:
    """The stand-in base images, built once per session (kept when their content is unchanged)."""
    build_standins(client, RUNTIMES, Console(stderr=True))
    return standin_base_images(RUNTIMES)


def make_code(folder: Path, marker: str = "one") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "index.js").write_text(HANDLER)
    (folder / "marker.json").write_text(json.dumps({"marker": marker}))
    return folder


def make_version(name: str, runtime: str, code: Path, timeout: int = 3, memory: int = 128) -> FunctionVersion:
    return FunctionVersion(function_name=name, version="$LATEST", runtime=get_runtime(runtime),
                           handler="index.handler", code_dir=code, memory_size=memory, timeout=timeout,
                           environment={"GREETING": "hi"}, region="us-east-1", account_id="123456789012",
                           code_sha256=code_sha256(code))


class Stack:
    """A LambdaService on a DockerBackend, with every log line it wrote."""

    def __init__(self, backend: DockerBackend) -> None:
        self.backend = backend
        self.lines: list[tuple[str, str]] = []
        self.service = LambdaService(backend, lambda name, line: self.lines.append((name, line)))

    def add(self, version: FunctionVersion) -> None:
        self.service.put_function(FunctionRecord(version))

    async def invoke(self, name: str, event: object = None) -> tuple[InvocationResult, dict[str, object]]:
        result = await self.service.invoke(name, json.dumps(event or {}).encode())
        return result, json.loads(result.payload)


def our_containers(client: docker.DockerClient, label: str) -> list[dict[str, object]]:
    return list(client.api.containers(all=True, filters={"label": label}))


@pytest.fixture
def connect(base_images: dict[str, str]) -> Callable[..., DockerBackend]:
    def factory(**options: object) -> DockerBackend:
        return DockerBackend.connect(base_images=base_images, console=QUIET, **options)
    return factory


# ---- tests ----------------------------------------------------------------------------------------
def test_node18_and_node22_containers_answer_through_the_lambda_service(
        connect: Callable[..., DockerBackend], client: docker.DockerClient, tmp_path: Path) -> None:
    code = make_code(tmp_path / "code")

    async def scenario() -> None:
        stack = Stack(connect())
        stack.add(make_version("node18fn", "nodejs18.x", code))
        stack.add(make_version("node22fn", "nodejs22.x", code, memory=256))
        try:
            result18, body18 = await stack.invoke("node18fn")
            result22, body22 = await stack.invoke("node22fn")
            assert result18.function_error is None and result22.function_error is None
            assert str(body18["version"]).startswith("v18.") and str(body22["version"]).startswith("v22.")
            assert body22["taskRoot"] == "/var/task" and body22["runtimeDir"] == "/var/runtime"
            assert body22["cwd"] == "/var/task" and body22["handler"] == "index.handler"
            assert str(body22["path"]).startswith("/var/lang/bin:")
            assert str(body22["api"]).startswith(stack.backend.runtime_api_address(0)[:-1])
            assert stack.backend.runtime_api_bind_host != "0.0.0.0"
            containers = {c["Labels"][LABEL_FUNCTION]: c for c in stack.backend.our_containers()}
            assert set(containers) == {"node18fn", "node22fn"}
            inspected = client.api.inspect_container(containers["node22fn"]["Id"])
            assert inspected["HostConfig"]["Memory"] == 256 * 1024 * 1024
            assert inspected["HostConfig"]["ReadonlyRootfs"] is True
            assert inspected["Config"]["Labels"][LABEL_OWNER] == stack.backend.session_id
            assert inspected["Config"]["Entrypoint"] == ["/lambda-entrypoint.sh"]
            env = dict(item.split("=", 1) for item in inspected["Config"]["Env"])
            assert env["GREETING"] == "hi" and env["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"] == "256"
        finally:
            await stack.service.close()
        node22_lines = [line for name, line in stack.lines if name == "node22fn"]
        assert any("INFO\thello from v22." in line for line in node22_lines)
        report = next(line for line in node22_lines if line.startswith("REPORT"))
        assert "Init Duration:" in report and "Memory Size: 256 MB" in report
        if Path("/sys/fs/cgroup/memory/docker").is_dir():  # cgroup v1, cgroupfs driver: read per container
            assert "Max Memory Used: 0 MB" not in report

    asyncio.run(scenario())


def test_host_network_mode_dials_loopback(connect: Callable[..., DockerBackend], tmp_path: Path) -> None:
    code = make_code(tmp_path / "code")

    async def scenario() -> None:
        stack = Stack(connect(network_mode="host", code_mode="mount"))
        stack.add(make_version("hostnetfn", "nodejs22.x", code))
        try:
            _, body = await stack.invoke("hostnetfn")
            assert str(body["api"]).startswith("127.0.0.1:") and stack.backend.runtime_api_bind_host == "127.0.0.1"
        finally:
            await stack.service.close()

    asyncio.run(scenario())


def test_a_remote_engine_needs_the_address_containers_dial(client: docker.DockerClient) -> None:
    remote = DockerOptions.parse({"docker_host": "tcp://192.0.2.123:2375"})
    assert not remote.local_engine
    with pytest.raises(UserError, match="runtime_api_host"):
        runtime_api_addresses(client, remote)
    told = DockerOptions.parse({"docker_host": "tcp://192.0.2.123:2375", "runtime_api_host": "127.0.0.1"})
    assert runtime_api_addresses(client, told) == ("127.0.0.1", "127.0.0.1")
    unbindable = DockerOptions.parse({"runtime_api_host": "203.0.113.9"})
    with pytest.raises(UserError, match="runtime_api_bind_host"):
        runtime_api_addresses(client, unbindable)
    bind, dial = runtime_api_addresses(client, DockerOptions.parse({}))
    assert bind == dial and bind not in ("0.0.0.0", "127.0.0.1")  # the bridge gateway


def test_unchanged_code_is_never_rebuilt(base_images: dict[str, str], client: docker.DockerClient,
                                         tmp_path: Path) -> None:
    code = make_code(tmp_path / "code", marker=uuid.uuid4().hex)  # content no earlier run has built
    version = make_version("rebuildfn", "nodejs22.x", code)
    first = build_function_image(client, version, base_images["nodejs22.x"], QUIET)
    assert first.built
    again = build_function_image(client, version, base_images["nodejs22.x"], QUIET)
    assert again.tag == first.tag and not again.built
    assert client.images.get(first.tag).attrs["Config"]["Cmd"] == ["index.handler"]
    (code / "marker.json").write_text(json.dumps({"marker": uuid.uuid4().hex}))
    changed = build_function_image(client, version, base_images["nodejs22.x"], QUIET)
    assert changed.built and changed.tag != first.tag
    other_handler = build_function_image(client, replace(version, handler="index.other"),
                                         base_images["nodejs22.x"], QUIET)
    assert other_handler.built and other_handler.tag not in (first.tag, changed.tag)
    for image in (first, changed, other_handler):
        client.images.remove(image.tag)


def test_mount_mode_runs_the_code_in_place_and_sees_edits(
        connect: Callable[..., DockerBackend], base_images: dict[str, str], client: docker.DockerClient,
        tmp_path: Path) -> None:
    code = make_code(tmp_path / "code", marker="before")
    version = make_version("mountfn", "nodejs18.x", code)

    async def scenario() -> None:
        stack = Stack(connect(code_mode="mount"))
        stack.add(version)
        try:
            _, body = await stack.invoke("mountfn")
            assert body["marker"] == "before" and str(body["version"]).startswith("v18.")
            summary = stack.backend.our_containers()[0]
            mounts = client.api.inspect_container(summary["Id"])["Mounts"]
            assert [(m["Destination"], m["RW"]) for m in mounts if m["Type"] == "bind"] == [("/var/task", False)]
            assert summary["Image"] == base_images["nodejs18.x"]
            (code / "marker.json").write_text(json.dumps({"marker": "after"}))
            edited = with_revision(version)
            stack.add(edited)
            await stack.service.retire(version)
            _, body = await stack.invoke("mountfn")
            assert body["marker"] == "after"
        finally:
            await stack.service.close()

    asyncio.run(scenario())
    assert not client.images.list(filters={"label": f"{LABEL_FUNCTION}=mountfn"})


def test_concurrency_8_starts_several_containers_each_serving_one_invocation_at_a_time(
        connect: Callable[..., DockerBackend], tmp_path: Path) -> None:
    code = make_code(tmp_path / "code")

    async def scenario() -> None:
        stack = Stack(connect())
        stack.add(make_version("busyfn", "nodejs22.x", code))
        try:
            await stack.invoke("busyfn")  # build the image and warm one environment
            outcomes = await asyncio.gather(*(stack.invoke("busyfn", {"sleep": 200}) for _ in range(8)))
            pool = stack.service.pools()[0]
            assert all(result.function_error is None for result, _ in outcomes)
            hosts: dict[str, list[tuple[int, int]]] = {}
            for _, body in outcomes:
                hosts.setdefault(str(body["host"]), []).append((int(body["started"]), int(body["ended"])))  # type: ignore[call-overload]
            assert len(hosts) >= 4 and pool.started == len(stack.backend.our_containers()) >= 4
            for intervals in hosts.values():
                intervals.sort()
                assert all(later[0] >= earlier[1] for earlier, later in itertools.pairwise(intervals))
        finally:
            await stack.service.close()

    asyncio.run(scenario())


def test_a_timeout_kills_and_replaces_its_container(
        connect: Callable[..., DockerBackend], client: docker.DockerClient, tmp_path: Path) -> None:
    code = make_code(tmp_path / "code")

    async def scenario() -> None:
        stack = Stack(connect())
        stack.add(make_version("slowfn", "nodejs18.x", code, timeout=1))
        try:
            _, first = await stack.invoke("slowfn")
            [before] = stack.backend.our_containers()
            result, body = await stack.invoke("slowfn", {"sleep": 5000})
            assert result.function_error == "Unhandled" and body["errorType"] == "Sandbox.Timedout"
            assert "Task timed out after 1.00 seconds" in str(body["errorMessage"])
            deadline = time.monotonic() + 10
            while stack.backend.our_containers() and time.monotonic() < deadline:
                await asyncio.sleep(0.1)
            assert stack.backend.our_containers() == []  # killed and removed
            _, after = await stack.invoke("slowfn")
            assert after["host"] != first["host"]
            [replacement] = stack.backend.our_containers()
            assert replacement["Id"] != before["Id"]
            assert replacement["Labels"][LABEL_ENVIRONMENT] != before["Labels"][LABEL_ENVIRONMENT]
        finally:
            await stack.service.close()
        assert any("Task timed out after 1.00 seconds" in line for _, line in stack.lines)

    asyncio.run(scenario())


def test_a_crash_reports_the_exit_status_and_the_container_goes(
        connect: Callable[..., DockerBackend], tmp_path: Path) -> None:
    code = make_code(tmp_path / "code")

    async def scenario() -> None:
        stack = Stack(connect(code_mode="mount"))
        stack.add(make_version("crashfn", "nodejs22.x", code))
        try:
            result, body = await stack.invoke("crashfn", {"exit": 3})
            assert result.function_error == "Unhandled" and body["errorType"] == "Runtime.ExitError"
            assert str(body["errorMessage"]).endswith("Runtime exited with error: exit status 3")
            deadline = time.monotonic() + 10
            while stack.backend.our_containers() and time.monotonic() < deadline:
                await asyncio.sleep(0.1)
            assert stack.backend.our_containers() == []
        finally:
            await stack.service.close()

    asyncio.run(scenario())


def test_close_leaves_no_container_of_ours(connect: Callable[..., DockerBackend], client: docker.DockerClient,
                                           tmp_path: Path) -> None:
    code = make_code(tmp_path / "code")

    async def scenario() -> str:
        stack = Stack(connect())
        stack.add(make_version("closefn", "nodejs22.x", code))
        await asyncio.gather(*(stack.invoke("closefn", {"sleep": 100}) for _ in range(3)))
        assert len(stack.backend.our_containers()) >= 2
        await stack.service.close()
        return stack.backend.session_id

    session = asyncio.run(scenario())
    assert our_containers(client, f"{LABEL_OWNER}={session}") == []


def test_stale_containers_of_a_dead_owner_are_removed(base_images: dict[str, str], client: docker.DockerClient) -> None:
    gone = subprocess.Popen(["true"])
    gone.wait()
    host = socket.gethostname()

    def labelled(pid: int, name: str) -> str:
        labels = {LABEL_OWNER: f"{host}-{pid}-test", LABEL_OWNER_HOST: host, LABEL_OWNER_PID: str(pid),
                  LABEL_OWNER_STARTED: "", LABEL_FUNCTION: name}
        container = client.containers.create(base_images["nodejs22.x"], entrypoint=["/bin/sleep"], command=["300"],
                                              labels=labels, name=f"lambda-canary-test-{name}-{os.getpid()}")
        container.start()
        return str(container.id)

    dead = labelled(gone.pid, "stale")
    alive = labelled(os.getpid(), "live")
    try:
        removed = cleanup_stale(client)
        assert any("stale" in name for name in removed)
        remaining = {c["Id"] for c in our_containers(client, LABEL_OWNER)}
        assert dead not in remaining and alive in remaining
    finally:
        for container_id in (dead, alive):
            with contextlib.suppress(DockerException):
                client.api.remove_container(container_id, force=True)


SIGTERM_SCRIPT = textwrap.dedent("""\
    import asyncio, json, sys
    from pathlib import Path
    from rich.console import Console
    from emulator.lambda_service.backends.docker import DockerBackend
    from emulator.lambda_service.model import FunctionVersion
    from emulator.lambda_service.service import FunctionRecord, LambdaService
    from emulator.runtimes.catalogue import get_runtime

    async def main():
        # no watchdog: this test is about the sweep at the next start
        backend = DockerBackend.connect(base_images=json.loads(sys.argv[1]), console=Console(quiet=True),
                                        watchdog=False)
        service = LambdaService(backend, lambda name, line: None)
        version = FunctionVersion(function_name="termfn", version="$LATEST", runtime=get_runtime("nodejs22.x"),
                                  handler="index.handler", code_dir=Path(sys.argv[2]), memory_size=128, timeout=120,
                                  environment={}, region="us-east-1", account_id="123456789012", code_sha256="x")
        service.put_function(FunctionRecord(version))
        await service.invoke("termfn", b"{}")
        print(backend.session_id, flush=True)
        serving = asyncio.ensure_future(service.invoke("termfn", b'{"sleep": 60000}'))
        await asyncio.sleep(0.5)
        print("serving", flush=True)
        await serving

    asyncio.run(main())
""")


def test_a_process_killed_by_sigterm_while_serving_leaves_nothing_after_the_next_start(
        connect: Callable[..., DockerBackend], base_images: dict[str, str], client: docker.DockerClient,
        tmp_path: Path) -> None:
    code = make_code(tmp_path / "code")
    script = tmp_path / "serve_once.py"
    script.write_text(SIGTERM_SCRIPT)
    process = subprocess.Popen([sys.executable, str(script), json.dumps(base_images), str(code)],
                               stdout=subprocess.PIPE, text=True, cwd=REPO)
    try:
        assert process.stdout is not None
        session = process.stdout.readline().strip()
        assert session and process.stdout.readline().strip() == "serving"
        process.send_signal(signal.SIGTERM)
        assert process.wait(30) == -signal.SIGTERM
    finally:
        if process.poll() is None:
            process.kill()
    assert our_containers(client, f"{LABEL_OWNER}={session}"), "SIGTERM left no container: nothing to prove"
    backend = connect()  # a new start cleans up what dead owners left
    try:
        assert our_containers(client, f"{LABEL_OWNER}={session}") == []
    finally:
        asyncio.run(backend.close())


def test_a_function_image_answers_the_rie_invocation_api(base_images: dict[str, str], client: docker.DockerClient,
                                                         tmp_path: Path) -> None:
    code = make_code(tmp_path / "code", marker="rie")
    image = build_function_image(client, make_version("riefn", "nodejs22.x", code), base_images["nodejs22.x"], QUIET)
    container = client.containers.run(image.tag, detach=True, ports={"8080/tcp": ("127.0.0.1", None)},
                                      labels={LABEL_FUNCTION: "riefn"})
    try:
        container.reload()
        port = container.attrs["NetworkSettings"]["Ports"]["8080/tcp"][0]["HostPort"]
        url = f"http://127.0.0.1:{port}/2015-03-31/functions/function/invocations"
        deadline = time.monotonic() + 20
        while True:
            request = urllib.request.Request(url, data=b'{"from": "rie"}', method="POST")
            try:
                with urllib.request.urlopen(request, timeout=10) as response:
                    body = json.loads(response.read())
                break
            except (urllib.error.URLError, ConnectionError):
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
        assert str(body["version"]).startswith("v22.") and body["marker"] == "rie"
        assert body["api"] == "127.0.0.1:9001"  # RIE's own Runtime API inside the container
    finally:
        container.remove(force=True)


def test_the_standin_entrypoint_wants_exactly_one_argument(base_images: dict[str, str],
                                                            client: docker.DockerClient) -> None:
    container = client.containers.run(base_images["nodejs18.x"], command=["a", "b"], detach=True)
    try:
        assert container.wait(timeout=30)["StatusCode"] == 142
        assert b"entrypoint requires the handler name to be the first argument" in container.logs()
    finally:
        container.remove(force=True)
    assert not base_images["nodejs18.x"].startswith("public.ecr.aws/")


def test_probe_and_connect_explain_what_is_missing(base_images: dict[str, str], tmp_path: Path) -> None:
    usable, reason = DockerBackend.probe(RUNTIMES, base_images=base_images)
    assert usable, reason
    usable, reason = DockerBackend.probe(["nodejs18.x"], base_images={"nodejs18.x": "lambda-canary-test/absent:1"})
    assert not usable and "lambda-canary-test/absent:1" in reason and "not present" in reason
    assert "lambda-canary images standin nodejs18.x" in reason
    usable, reason = DockerBackend.probe(RUNTIMES, docker_host="tcp://127.0.0.1:9")
    assert not usable and "no Docker engine answers at tcp://127.0.0.1:9" in reason
    with pytest.raises(UserError, match="no Docker engine answers"):
        DockerBackend.connect(docker_host="tcp://127.0.0.1:9")
    with pytest.raises(UserError, match="code_mode"):
        DockerBackend.connect(code_mode="copy")
    with pytest.raises(UserError, match="remote"):
        DockerBackend.connect(docker_host="tcp://192.0.2.123:2375", code_mode="mount")

    async def missing_base() -> None:
        backend = DockerBackend.connect(base_images={"nodejs22.x": "lambda-canary-test/absent:1"}, console=QUIET)
        try:
            await backend.prepare(make_version("nobase", "nodejs22.x", make_code(tmp_path / "code")))
        finally:
            await backend.close()

    with pytest.raises(UserError, match="not present and cannot be pulled"):
        asyncio.run(missing_base())


def test_images_cli_builds_a_configs_function_images(base_images: dict[str, str], tmp_path: Path) -> None:
    make_code(tmp_path / "src", marker="cli")
    config = tmp_path / "canary.yaml"
    config.write_text(textwrap.dedent("""\
        functions:
          cli-fn:
            runtime: nodejs22.x
            handler: index.handler
            code: src
    """))
    bases = [f"--base={runtime}={image}" for runtime, image in base_images.items()]
    runner = CliRunner()
    first = runner.invoke(images, ["build", str(config), *bases])
    assert first.exit_code == 0, first.output
    second = runner.invoke(images, ["build", str(config), *bases])
    assert second.exit_code == 0 and "up to date" in second.output and "lambda-canary-fn/cli-fn:" in second.output
    bad = runner.invoke(images, ["build", str(config), "--base", "nodejs22"])
    assert isinstance(bad.exception, UserError) and "RUNTIME=IMAGE" in str(bad.exception)
    standin = runner.invoke(images, ["standin", *RUNTIMES])
    assert standin.exit_code == 0, standin.output
    assert "lambda-canary-standin/nodejs:18" in standin.output and "up to date" in standin.output


def _frame(stream: int, payload: bytes) -> bytes:
    return bytes([stream, 0, 0, 0]) + len(payload).to_bytes(4, "big") + payload


def test_attached_output_splits_docker_frames_into_lines_in_order() -> None:
    frames = _frame(1, b"a\nb") + _frame(2, "é\n".encode()) + _frame(1, b"c\n") + _frame(2, b"tail")

    async def over_a_socket() -> list[str]:
        ours, engine = socket.socketpair()
        lines: list[str] = []
        output = AttachedOutput(ours, lines.append)
        engine.sendall(frames[:5])  # half a header: nothing yet
        output.drain()
        engine.sendall(frames[5:])
        engine.close()
        await asyncio.wait_for(output.ended, 5)
        return lines

    async def from_a_thread() -> list[str]:  # TLS and ssh streams are read by a thread
        lines: list[str] = []
        output = AttachedOutput(io.BytesIO(frames), lines.append)
        await asyncio.wait_for(output.ended, 5)
        return lines

    assert asyncio.run(over_a_socket()) == ["a", "é", "bc", "tail"]
    assert asyncio.run(from_a_thread()) == ["a", "é", "bc", "tail"]


def test_examples_ping_served_on_the_docker_backend_splits_between_node18_and_node22_containers(
        base_images: dict[str, str], client: docker.DockerClient) -> None:
    """`serve examples/ping --backend docker` on the stand-in bases: both runtimes answer from containers, and
    the canary share stays inside the two-sided exact binomial quantile bound at false-failure 1e-6."""
    from scipy.stats import binom

    from emulator.stack import StackOptions
    from emulator.testing import StackThread

    requests = 300
    options = StackOptions(port=0, seed=11, backend="docker", access_log=False, function_logs=False,
                           docker_options={"base_images": base_images, "console": QUIET})
    bodies: list[dict[str, object]] = []
    with StackThread(REPO / "examples" / "ping" / "canary.yaml", options) as running:
        assert running.stack is not None
        owner = owner_labels()[LABEL_OWNER]
        for _ in range(requests):
            with urllib.request.urlopen(f"{running.url}/prod/ping", timeout=60) as response:
                bodies.append(json.loads(response.read()))
        serving = our_containers(client, f"{LABEL_OWNER}={owner}")
    canary = sum(1 for body in bodies if str(body["node"]).startswith("v22."))
    assert {body["function"] for body in bodies} == {"ping-stable", "ping-canary"}
    assert all(str(body["node"]).startswith("v18.") == (body["function"] == "ping-stable") for body in bodies)
    low, high = binom.ppf(0.5e-6, requests, 0.10), binom.isf(0.5e-6, requests, 0.10)
    assert low <= canary <= high, (canary, low, high)
    assert len(serving) >= 2, "both functions should run in containers"
    assert our_containers(client, f"{LABEL_OWNER}={owner}") == [], "serve stopped: no container of ours is left"


def test_sigterm_to_serve_on_the_docker_backend_removes_every_container(
        base_images: dict[str, str], client: docker.DockerClient) -> None:
    """A real `lambda-canary serve --backend docker`: containers while it serves, none after SIGTERM."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    bases = [f"--docker-base={runtime}={image}" for runtime, image in base_images.items()]
    serve = subprocess.Popen([sys.executable, "-m", "emulator.cli", "serve", str(REPO / "examples" / "ping" /
                              "canary.yaml"), "--port", str(port), "--quiet", "--backend", "docker", *bases],
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, cwd=REPO)
    mine = f"{LABEL_OWNER_PID}={serve.pid}"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/prod/ping", timeout=30) as response:
                    assert response.status == 200
                break
            except OSError:
                assert serve.poll() is None and time.monotonic() < deadline, serve.stderr.read() if serve.stderr else ""
                time.sleep(0.3)
        for _ in range(40):
            urllib.request.urlopen(f"http://127.0.0.1:{port}/prod/ping", timeout=30).read()
        assert our_containers(client, mine), "serve should run its functions in containers"
        serve.send_signal(signal.SIGTERM)
        assert serve.wait(60) == 0
    finally:
        if serve.poll() is None:
            serve.kill()
    assert our_containers(client, mine) == []


def test_sigkill_to_serve_on_the_docker_backend_leaves_no_container_10_seconds_later(
        base_images: dict[str, str], client: docker.DockerClient) -> None:
    """`serve --backend docker` killed with SIGKILL while a function sleeps: its watchdog removes the containers."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    bases = [f"--docker-base={runtime}={image}" for runtime, image in base_images.items()]
    serve = subprocess.Popen([sys.executable, "-m", "emulator.cli", "serve", str(REPO / "examples" / "ping" /
                              "canary.yaml"), "--port", str(port), "--quiet", "--backend", "docker", *bases],
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, cwd=REPO)
    mine = f"{LABEL_OWNER_PID}={serve.pid}"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/prod/ping", timeout=30) as response:
                    assert response.status == 200
                break
            except OSError:
                assert serve.poll() is None and time.monotonic() < deadline, serve.stderr.read() if serve.stderr else ""
                time.sleep(0.3)
        assert our_containers(client, mine), "serve should run its functions in containers"
        serve.send_signal(signal.SIGKILL)
        serve.wait(10)
    finally:
        if serve.poll() is None:
            serve.kill()
    time.sleep(10)
    assert our_containers(client, mine) == []


# ---- issue 12: memorySize and a private Runtime API per container -------------------------------
HOSTILE = REPO / "tests" / "fixtures" / "handlers" / "hostile"


def hostile_version(name: str, handler: str, code: Path, memory: int = 128) -> FunctionVersion:
    if not code.exists():
        shutil.copytree(HOSTILE, code)
    return replace(make_version(name, "nodejs22.x", code, timeout=30, memory=memory), handler=f"index.{handler}")


def test_a_1gb_allocation_in_a_128mb_container_is_out_of_memory_then_a_fresh_container_answers(
        connect: Callable[..., DockerBackend], tmp_path: Path) -> None:
    """The container's memory limit kills it: Runtime.OutOfMemory (adobe/helix-html2md-service#1001), REPORT
    at the limit, and the next invocation runs in a new container."""
    version = hostile_version("hogfn", "alloc", tmp_path / "code")

    async def scenario() -> None:
        stack = Stack(connect())
        stack.add(version)
        try:
            small, small_body = await stack.invoke("hogfn", {"mb": 8})
            [before] = stack.backend.our_containers()
            hog, hog_body = await stack.invoke("hogfn", {"mb": 1024})
            _, after_body = await stack.invoke("hogfn", {"mb": 8})
            [replacement] = stack.backend.our_containers()
        finally:
            await stack.service.close()
        assert small_body == after_body == {"allocated": 8 * 1024 * 1024}
        assert hog.function_error == "Unhandled"
        assert hog_body == {"errorType": "Runtime.OutOfMemory",
                            "errorMessage": f"RequestId: {hog.request_id} Error: Runtime exited with error: "
                                            "signal: killed"}
        assert replacement["Id"] != before["Id"]
        reports = {line.split("\t")[0].split()[-1]: line for _, line in stack.lines if line.startswith("REPORT")}
        assert "\tMax Memory Used: 128 MB\t" in reports[hog.request_id]
        assert "\tError Type: Runtime.OutOfMemory\t" in reports[hog.request_id]
        if Path("/sys/fs/cgroup/memory/docker").is_dir():  # cgroupfs v1: the container's own peak, read here
            measured = int(reports[small.request_id].split("Max Memory Used: ")[1].split()[0])
            assert 8 <= measured < 128

    asyncio.run(scenario())


def test_a_container_cannot_reach_another_environments_runtime_api(
        connect: Callable[..., DockerBackend], tmp_path: Path) -> None:
    """From another container, the Runtime API of an environment answers 403 to every call: nothing is taken
    or answered; the environment's own container keeps working."""
    code = tmp_path / "code"
    victim, intruder = hostile_version("victimfn", "slow", code), hostile_version("intruderfn", "http", code)

    async def scenario() -> None:
        stack = Stack(connect())
        stack.add(victim)
        stack.add(intruder)
        try:
            _, first = await stack.invoke("victimfn", {"ms": 0})
            host, port = str(first["api"]).rsplit(":", 1)
            slow = asyncio.create_task(stack.invoke("victimfn", {"ms": 2000}))
            while sum(line.startswith("START") for _, line in stack.lines) < 2:
                await asyncio.sleep(0.01)
            request_id = [line for _, line in stack.lines if line.startswith("START")][-1].split()[2]
            answers = {}
            for name, method, path, body in (
                    ("next", "GET", "/2018-06-01/runtime/invocation/next", ""),
                    ("answer", "POST", f"/2018-06-01/runtime/invocation/{request_id}/response", '"forged"')):
                _, seen = await stack.invoke("intruderfn", {"host": host, "port": int(port), "method": method,
                                                            "path": path, "body": body, "timeoutMs": 5000})
                answers[name] = str(seen["data"]).split("\r\n")[0]
            result, answer = await slow
        finally:
            await stack.service.close()
        assert answers == {"next": "HTTP/1.1 403 Forbidden", "answer": "HTTP/1.1 403 Forbidden"}
        assert (result.request_id, result.function_error, answer["answer"]) == (request_id, None, "genuine")

    asyncio.run(scenario())
