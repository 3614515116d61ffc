"""The docker backend: each execution environment is a container of a Lambda Node.js image.

The container runs the image's own /lambda-entrypoint.sh with AWS_LAMBDA_RUNTIME_API pointing at the
environment's Runtime API listener. How a container reaches that listener:

* `network_mode="bridge"` (default, local engine): the container sits on Docker's default bridge and
  dials the bridge gateway (e.g. 172.17.0.1); the listener binds to that gateway address only.
* `network_mode="host"`: the container shares the host's network; listener and address are 127.0.0.1.
* a remote engine (DOCKER_HOST=tcp://... or ssh://...): `runtime_api_host` names this machine as the
  containers reach it (and `runtime_api_bind_host` the local address to listen on, by default the same).

Nothing is ever bound to 0.0.0.0 unless asked for. Containers carry `lambda-canary.*` labels naming
their owner process; `close()` removes this backend's containers and `connect()` removes those of
owners that are gone (`cleanup_stale`).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import ipaddress
import os
import re
import socket
import ssl
import subprocess
import sys
import threading
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlparse

import docker
from docker.errors import APIError, DockerException, ImageNotFound, NotFound
from requests.exceptions import RequestException
from rich.console import Console

from emulator.errors import UserError
from emulator.lambda_service.backends.base import Backend, LaunchRequest, MemorySample, RunningRuntime
from emulator.lambda_service.backends.images import (
    build_function_image,
    engine_platform,
    ensure_base_image,
    image_platform,
    offline_hint,
    pull_problem,
)
from emulator.lambda_service.backends.process import describe_exit
from emulator.lambda_service.logs import LineSplitter
from emulator.lambda_service.model import FunctionVersion
from emulator.owners import owner_alive, process_started
from emulator.runtimes.catalogue import get_runtime

LABEL_OWNER = "lambda-canary.owner"
LABEL_OWNER_HOST = "lambda-canary.owner-host"
LABEL_OWNER_PID = "lambda-canary.owner-pid"
LABEL_OWNER_STARTED = "lambda-canary.owner-started"
LABEL_FUNCTION = "lambda-canary.function"
LABEL_VERSION = "lambda-canary.version"
LABEL_ENVIRONMENT = "lambda-canary.environment"
CODE_MODES = ("build", "mount")
NETWORK_MODES = ("bridge", "host")
TASK_ROOT = "/var/task"
RUNTIME_DIR = "/var/runtime"
_CONTAINER_NAME = re.compile(r"[^a-zA-Z0-9_.-]+")
_LOCAL_HOSTS = ("localhost", "127.0.0.1", "::1", "")
# Names the repository of the base images, `<repository>:<major>` (default: the catalogue's public images, e.g.
# public.ecr.aws/lambda/nodejs:22); `lambda-canary-standin/nodejs` points at the offline stand-ins.
BASE_REPOSITORY_ENV = "LAMBDA_CANARY_BASE_IMAGE_REPOSITORY"
T = TypeVar("T")


# ---- owners and stale containers -------------------------------------------------------------
def owner_labels() -> dict[str, str]:
    """Labels naming this process as the owner of a container."""
    host, pid, started = socket.gethostname(), os.getpid(), process_started(os.getpid())
    return {LABEL_OWNER: f"{host}-{pid}-{started}", LABEL_OWNER_HOST: host, LABEL_OWNER_PID: str(pid),
            LABEL_OWNER_STARTED: started}


def cleanup_stale(client: docker.DockerClient) -> list[str]:
    """Remove our containers whose owner process (on this host) is gone; returns their names."""
    host = socket.gethostname()
    removed = []
    for summary in client.api.containers(all=True, filters={"label": LABEL_OWNER}):
        labels = summary.get("Labels") or {}
        if labels.get(LABEL_OWNER_HOST) != host:
            continue  # another machine's, through a shared engine: not ours to judge
        try:
            pid = int(labels.get(LABEL_OWNER_PID, "0"))
        except ValueError:
            pid = 0
        if owner_alive(pid, labels.get(LABEL_OWNER_STARTED, "")):
            continue
        with contextlib.suppress(NotFound, APIError):
            client.api.remove_container(summary["Id"], force=True)
            removed.append(",".join(name.lstrip("/") for name in summary.get("Names") or [summary["Id"][:12]]))
    return removed


# A separate process that waits for EOF on its stdin (this process closed it, or died, even by SIGKILL),
# then removes every container labelled with this backend's session. Imports docker only then.
_WATCHDOG = """
import sys
if sys.stdin.buffer.read() == b"done":
    sys.exit(0)
import docker
url, label = sys.argv[1], sys.argv[2]
client = docker.DockerClient(base_url=url, timeout=60) if url else docker.from_env(timeout=60)
for summary in client.api.containers(all=True, filters={"label": label}):
    try:
        client.api.remove_container(summary["Id"], force=True)
    except Exception:
        pass
"""


def start_watchdog(docker_host: str | None, session_id: str) -> subprocess.Popen[bytes]:
    """The watchdog of one backend's containers (see _WATCHDOG); close its stdin to let it go."""
    return subprocess.Popen([sys.executable, "-c", _WATCHDOG, docker_host or "", f"{LABEL_OWNER}={session_id}"],
                            stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True, close_fds=True)


# ---- the container's output -----------------------------------------------------------------
class AttachedOutput:
    """A container's stdout and stderr from docker's multiplexed attach stream, as lines in order.

    A plain socket (unix or tcp engine) is read without blocking in the event loop, so `drain()` hands
    on whatever has arrived at the moment it is called; TLS and ssh streams are read by a thread.
    """

    def __init__(self, stream: Any, on_line: Callable[[str], None]) -> None:
        self._stream = stream
        self._on_line = on_line
        self._buffer = bytearray()
        self._lines: dict[int, LineSplitter] = {}  # per stream (1 stdout, 2 stderr): bounded, cut as Lambda cuts
        self._loop = asyncio.get_running_loop()
        self.ended: asyncio.Future[None] = self._loop.create_future()
        raw = getattr(stream, "_sock", stream)
        self._socket: socket.socket | None = None
        if isinstance(raw, socket.socket) and not isinstance(raw, ssl.SSLSocket):
            self._socket = raw
            raw.setblocking(False)
            self._loop.add_reader(raw.fileno(), self.drain)
        else:
            threading.Thread(target=self._read_in_thread, name="lambda-canary-attach", daemon=True).start()

    def drain(self) -> None:
        """Read what the socket holds now and hand on every complete line."""
        if self._socket is None or self.ended.done():
            return
        while True:
            try:
                chunk = self._socket.recv(65536)
            except (BlockingIOError, InterruptedError):
                break
            except OSError:
                chunk = b""
            if not chunk:
                self._end()
                return
            self._feed(chunk)

    def _read_in_thread(self) -> None:
        read = getattr(self._stream, "recv", None) or self._stream.read
        while True:
            try:
                chunk = read(65536)
            except (OSError, ValueError):
                chunk = b""
            if not chunk:
                self._loop.call_soon_threadsafe(self._end)
                return
            self._loop.call_soon_threadsafe(self._feed, bytes(chunk))

    def _feed(self, chunk: bytes) -> None:
        if self.ended.done():
            return
        self._buffer += chunk
        while len(self._buffer) >= 8:
            size = int.from_bytes(self._buffer[4:8], "big")
            if len(self._buffer) < 8 + size:
                break
            kind, payload = self._buffer[0], bytes(self._buffer[8:8 + size])
            del self._buffer[:8 + size]
            lines = self._lines.get(kind)
            if lines is None:
                lines = self._lines[kind] = LineSplitter(self._on_line)
            lines.feed(payload)

    def flush(self) -> None:
        """Hand on the unfinished line of each stream (at the end of an invocation)."""
        for lines in self._lines.values():
            lines.flush()

    def _end(self) -> None:
        if self.ended.done():
            return
        self.flush()
        self.close()
        self.ended.set_result(None)

    def close(self) -> None:
        """Stop reading."""
        if self._socket is not None:
            with contextlib.suppress(ValueError, OSError):
                self._loop.remove_reader(self._socket.fileno())
            self._socket.close()
        with contextlib.suppress(OSError):
            self._stream.close()


# ---- one container ---------------------------------------------------------------------------
class Container(RunningRuntime):
    """A running container of one execution environment."""

    def __init__(self, backend: DockerBackend, container_id: str, output: AttachedOutput, memory_mb: int,
                 peer_address: str | None) -> None:
        self.backend = backend
        self.id = container_id
        self._output = output
        self._killed = False
        self._memory_mb = memory_mb
        self._memory_fd: int | None = None
        self._memory_looked = False
        self._peak_mb = 0
        self.peer_address = peer_address

    async def wait(self) -> str:
        await asyncio.shield(self._output.ended)
        api = self.backend.client.api
        try:
            status = await self.backend.call(api.wait, self.id)
            code = int(status.get("StatusCode", -1))
            oom = code == 137 and bool(
                (await self.backend.call(api.inspect_container, self.id))["State"].get("OOMKilled"))
        except (DockerException, RequestException, RuntimeError):
            code, oom = -1, False
        self.max_memory_mb()  # the last reading, before the container (and its cgroup) goes
        self._close_memory()
        self.out_of_memory = oom
        await self.backend.remove(self.id)
        if self._killed or oom or code == 137:
            return "signal: killed"
        return describe_exit(code) if code >= 0 else "signal: killed"

    def kill(self) -> None:
        if self._killed:
            return
        self._killed = True
        self.backend.submit(self.backend.client.api.kill, self.id)

    def drain_logs(self) -> None:
        self._output.drain()
        self._output.flush()

    def _close_memory(self) -> None:
        if self._memory_fd is not None:
            with contextlib.suppress(OSError):
                os.close(self._memory_fd)
            self._memory_fd = None

    def memory_sample(self) -> MemorySample | None:
        """The container cgroup's usage now, where the engine is local and its cgroup files are visible."""
        if not self.backend.local_engine:
            return None
        for candidate in (f"/sys/fs/cgroup/system.slice/docker-{self.id}.scope/memory.current",
                          f"/sys/fs/cgroup/docker/{self.id}/memory.current",
                          f"/sys/fs/cgroup/memory/docker/{self.id}/memory.usage_in_bytes"):
            with contextlib.suppress(OSError, ValueError):
                return MemorySample(int(Path(candidate).read_text()))
        return None

    def max_memory_mb(self) -> int:
        """The container cgroup's peak (one pread of an open file per call); the limit after an OOM kill."""
        if self.out_of_memory:
            return self._memory_mb
        if not self._memory_looked and self.backend.local_engine:
            self._memory_looked = True
            candidates = (f"/sys/fs/cgroup/memory/docker/{self.id}/memory.max_usage_in_bytes",
                          f"/sys/fs/cgroup/system.slice/docker-{self.id}.scope/memory.peak",
                          f"/sys/fs/cgroup/docker/{self.id}/memory.peak")
            for candidate in candidates:
                with contextlib.suppress(OSError):
                    self._memory_fd = os.open(candidate, os.O_RDONLY)
                    break
        if self._memory_fd is not None:
            try:
                self._peak_mb = min(int(os.pread(self._memory_fd, 32, 0)) // (1024 * 1024), self._memory_mb)
            except (OSError, ValueError):
                self._close_memory()
        return self._peak_mb


# ---- options ---------------------------------------------------------------------------------
@dataclass
class DockerOptions:
    """What `--backend docker` can be told (keyword options of connect() and probe())."""

    base_images: Mapping[str, str] = field(default_factory=dict)  # runtime -> image, e.g. a stand-in
    code_mode: str = "build"  # build: a function image per code; mount: base image + code at /var/task:ro
    network_mode: str = "bridge"  # bridge or host (see the module docstring)
    runtime_api_host: str | None = None  # the address containers dial to reach this machine
    runtime_api_bind_host: str | None = None  # the local address to listen on (default: runtime_api_host)
    docker_host: str | None = None  # engine URL; default DOCKER_HOST, else the local socket
    console: Console | None = None  # where build and pull progress goes (default: stderr)
    clean_stale: bool = True  # remove containers of owners that are gone, at connect
    base_repository: str | None = None  # `<repository>:<major>` base images (default: $BASE_REPOSITORY_ENV)
    watchdog: bool = True  # a process that removes this backend's containers when this process dies (even SIGKILL)

    @classmethod
    def parse(cls, options: Mapping[str, object]) -> DockerOptions:
        """Options from keywords; unknown ones and bad values are UserErrors."""
        known = {item.name for item in fields(cls)}
        unknown = sorted(set(options) - known)
        if unknown:
            raise UserError(f"docker backend: unknown option(s) {', '.join(unknown)}; "
                            f"known: {', '.join(sorted(known))}")
        parsed = cls(**{key: value for key, value in options.items() if value is not None})  # type: ignore[arg-type]
        if parsed.code_mode not in CODE_MODES:
            raise UserError(f"docker backend: code_mode {parsed.code_mode!r}; allowed: {', '.join(CODE_MODES)}")
        if parsed.network_mode not in NETWORK_MODES:
            raise UserError(f"docker backend: network_mode {parsed.network_mode!r}; allowed: "
                            f"{', '.join(NETWORK_MODES)}")
        parsed.base_images = dict(parsed.base_images)
        for runtime in parsed.base_images:
            get_runtime(runtime)
        return parsed

    @property
    def engine_url(self) -> str:
        """The engine this talks to."""
        return self.docker_host or os.environ.get("DOCKER_HOST") or "unix:///var/run/docker.sock"

    @property
    def local_engine(self) -> bool:
        """Does the engine run on this machine (so it sees our files and our addresses)?"""
        url = urlparse(self.engine_url)
        return url.scheme in ("unix", "npipe") or (url.scheme in ("tcp", "http", "https")
                                                   and (url.hostname or "") in _LOCAL_HOSTS)

    def base_image(self, runtime: str) -> str:
        """The base image of a runtime: the override, else `<base repository>:<major>`, else the public image
        from the catalogue."""
        if runtime in self.base_images:
            return self.base_images[runtime]
        repository = self.base_repository or os.environ.get(BASE_REPOSITORY_ENV)
        spec = get_runtime(runtime)
        return f"{repository}:{spec.major}" if repository else spec.image


def open_client(options: DockerOptions, timeout: int = 120) -> docker.DockerClient:
    """A client of an engine that answers, or a UserError saying how to get one."""
    try:
        if options.docker_host:
            client = docker.DockerClient(base_url=options.docker_host, timeout=timeout, max_pool_size=64)
        else:
            client = docker.from_env(timeout=timeout, max_pool_size=64)
        client.ping()
    except (DockerException, RequestException, OSError) as error:
        reason = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise UserError(f"no Docker engine answers at {options.engine_url} ({reason[:200]}); start one "
                        "(as root: `dockerd > /tmp/dockerd.log 2>&1 &`) or use --backend process") from None
    return client


def _bindable(address: str) -> bool:
    family = socket.AF_INET6 if ":" in address else socket.AF_INET
    try:
        with socket.socket(family, socket.SOCK_STREAM) as probe:
            probe.bind((address, 0))
    except OSError:
        return False
    return True


def bridge_gateway(client: docker.DockerClient) -> str:
    """The IPv4 gateway of Docker's default bridge network (its first address when not recorded)."""
    configs = (client.api.inspect_network("bridge").get("IPAM") or {}).get("Config") or []
    for config in configs:
        if config.get("Gateway") and ":" not in config["Gateway"]:
            return str(config["Gateway"]).split("/")[0]
        subnet = config.get("Subnet")
        if subnet and ":" not in subnet:
            return str(next(ipaddress.ip_network(subnet, strict=False).hosts()))
    raise UserError("docker backend: the default bridge network has no IPv4 subnet; use network_mode='host'")


def runtime_api_addresses(client: docker.DockerClient, options: DockerOptions) -> tuple[str, str]:
    """(bind address, address the containers dial) for Runtime API listeners; UserError when none works."""
    if options.runtime_api_host:
        bind = options.runtime_api_bind_host or options.runtime_api_host
        if not _bindable(bind):
            raise UserError(f"docker backend: cannot listen on {bind} (not an address of this machine); set "
                            "runtime_api_bind_host to the local address the containers' traffic arrives on")
        return bind, options.runtime_api_host
    if not options.local_engine:
        raise UserError(f"docker backend: the engine {options.engine_url} is remote, so its containers cannot "
                        "dial this machine's loopback; set runtime_api_host to this machine's address as the "
                        "containers reach it")
    if options.network_mode == "host":
        return "127.0.0.1", "127.0.0.1"
    gateway = bridge_gateway(client)
    if not _bindable(gateway):
        raise UserError(f"docker backend: the bridge gateway {gateway} is not an address of this machine "
                        "(Docker Desktop or a VM?); use network_mode='host', or runtime_api_host and "
                        "runtime_api_bind_host")
    return gateway, gateway


def container_variables(variables: Mapping[str, str]) -> dict[str, str]:
    """Lambda's variables as a container sees them: paths inside the image, the image's own PATH."""
    translated = dict(variables)
    translated["LAMBDA_TASK_ROOT"] = TASK_ROOT
    translated["LAMBDA_RUNTIME_DIR"] = RUNTIME_DIR
    return translated


def base_image_problem(client: docker.DockerClient, options: DockerOptions, runtime: str,
                       platform: str) -> tuple[str, str | None]:
    """(the base image as found; why it cannot be had, or None): present with the engine's platform, or
    pullable (the registry serves its manifest)."""
    image = options.base_image(runtime)
    try:
        found = client.images.get(image)
    except ImageNotFound:
        problem = pull_problem(client, image)
        if problem:
            return image, (f"base image {image} for {runtime} is not present and not pullable ({problem[:160]}); "
                           f"{offline_hint(runtime)}")
        return f"{image} (pullable)", None
    if image_platform(found) != platform:
        return image, f"base image {image} is {image_platform(found)}, the engine runs {platform}"
    return image, None


# ---- the backend -----------------------------------------------------------------------------
@dataclass(frozen=True)
class ContainerSpec:
    """What a version's containers run: the image, the command (None: the image's CMD), the mounts."""

    image: str
    command: list[str] | None
    binds: dict[str, dict[str, str]] | None


class DockerBackend(Backend):
    """Runs each execution environment as a container of the function's image (or of its base image
    with the code mounted read-only at /var/task)."""

    name = "docker"

    def __init__(self, client: docker.DockerClient, options: DockerOptions, bind_host: str, dial_host: str) -> None:
        self.client = client
        self.options = options
        self.local_engine = options.local_engine
        self.console = options.console or Console(stderr=True)
        self.labels = owner_labels()
        self.session_id = self.labels[LABEL_OWNER]
        self.platform = engine_platform(client)
        self._bind_host = bind_host
        self._dial_host = dial_host
        self._executor = ThreadPoolExecutor(max_workers=16, thread_name_prefix="lambda-canary-docker")
        self._specs: dict[tuple[object, ...], ContainerSpec] = {}
        self._spec_locks: dict[tuple[object, ...], asyncio.Lock] = {}
        self._closed = False
        self._watchdog = start_watchdog(options.docker_host, self.session_id) if options.watchdog else None

    # ---- construction --------------------------------------------------------------------
    @classmethod
    def connect(cls, **options: object) -> DockerBackend:
        """A backend on an engine that answers; UserError (one actionable line) otherwise."""
        parsed = DockerOptions.parse(options)
        if parsed.code_mode == "mount" and not parsed.local_engine:
            raise UserError(f"docker backend: code_mode='mount' needs a local engine ({parsed.engine_url} is "
                            "remote and cannot see this machine's files); use code_mode='build'")
        client = open_client(parsed)
        try:
            bind_host, dial_host = runtime_api_addresses(client, parsed)
            if parsed.clean_stale:
                cleanup_stale(client)
        except BaseException:
            client.close()
            raise
        return cls(client, parsed, bind_host, dial_host)

    @classmethod
    def probe(cls, runtimes: list[str], **options: object) -> tuple[bool, str]:
        """(usable, why): an engine answers and each runtime's base image is present or pullable."""
        try:
            parsed = DockerOptions.parse(options)
            client = open_client(parsed, timeout=10)
        except UserError as error:
            return False, error.message
        try:
            runtime_api_addresses(client, parsed)
            platform = engine_platform(client)
            ready = []
            for runtime in runtimes:
                image, problem = base_image_problem(client, parsed, runtime, platform)
                if problem:
                    return False, problem
                ready.append(image)
            return True, "Docker engine answers" + (f"; base images: {', '.join(ready)}" if ready else "")
        except UserError as error:
            return False, error.message
        except (DockerException, RequestException) as error:
            return False, f"Docker engine at {parsed.engine_url}: {error}"
        finally:
            client.close()

    def base_image_problem(self, runtime: str) -> tuple[str, str | None]:
        """(the base image as found, e.g. `IMAGE (pullable)`; why it cannot be had, or None) for one runtime."""
        try:
            return base_image_problem(self.client, self.options, runtime, self.platform)
        except (DockerException, RequestException) as error:
            return self.options.base_image(runtime), f"Docker engine at {self.options.engine_url}: {error}"

    def describe(self) -> str:
        """One line for the start: how containers are contained."""
        api = ("each Runtime API answers only its own container's address" if self.private_runtime_api == "peer"
               else "Runtime APIs are not private between containers (host network or remote engine)")
        return (f"isolation: memory limits by the engine (--memory, no swap); {api}; "
                f"containers removed by a watchdog if this process dies" if self._watchdog is not None
                else f"isolation: memory limits by the engine (--memory, no swap); {api}")

    # ---- Runtime API addresses --------------------------------------------------------------
    @property
    def private_runtime_api(self) -> str:  # type: ignore[override]
        """On a local engine's bridge each listener answers only its container's address; else "none"."""
        return "peer" if self.local_engine and self.options.network_mode == "bridge" else "none"

    @property
    def runtime_api_bind_host(self) -> str:
        return self._bind_host

    def runtime_api_address(self, port: int) -> str:
        host = f"[{self._dial_host}]" if ":" in self._dial_host else self._dial_host
        return f"{host}:{port}"

    # ---- engine calls off the event loop -------------------------------------------------------
    async def call(self, function: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run a blocking SDK call on the backend's threads."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, functools.partial(function, *args, **kwargs))

    def submit(self, function: Callable[..., object], *args: Any) -> None:
        """Fire and forget an SDK call (errors ignored: used to kill what may be gone already)."""

        def quietly() -> None:
            with contextlib.suppress(DockerException, RequestException, OSError):
                function(*args)

        with contextlib.suppress(RuntimeError):  # executor shut down: the container goes at close()
            self._executor.submit(quietly)

    async def remove(self, container_id: str) -> None:
        """Remove a container, running or not (gone already is fine)."""
        with contextlib.suppress(DockerException, RequestException, RuntimeError):
            await self.call(self.client.api.remove_container, container_id, force=True)

    # ---- images --------------------------------------------------------------------------------
    async def prepare(self, version: FunctionVersion) -> None:
        await self.container_spec(version)

    async def container_spec(self, version: FunctionVersion) -> ContainerSpec:
        """The image (built once per code, config and base) and mounts a version's containers use."""
        base_image = self.options.base_image(version.runtime.name)
        key = (version.pool_key, version.code_sha256, version.handler, base_image, str(version.code_dir))
        lock = self._spec_locks.setdefault(key, asyncio.Lock())
        async with lock:
            spec = self._specs.get(key)
            if spec is None:
                if self.options.code_mode == "mount":
                    await self.call(ensure_base_image, self.client, base_image, version.runtime.name,
                                    self.console, self.platform)
                    binds = {str(version.code_dir.resolve()): {"bind": TASK_ROOT, "mode": "ro"}}
                    spec = ContainerSpec(base_image, [version.handler], binds)
                else:
                    image = await self.call(build_function_image, self.client, version, base_image,
                                            self.console, self.platform)
                    spec = ContainerSpec(image.tag, None, None)
                self._specs[key] = spec
        return spec

    # ---- environments ---------------------------------------------------------------------------
    async def launch(self, request: LaunchRequest) -> RunningRuntime:
        if self._closed:
            raise RuntimeError("the docker backend is closed")
        version = request.version
        spec = await self.container_spec(version)
        labels = {**self.labels, LABEL_FUNCTION: version.function_name, LABEL_VERSION: version.version,
                  LABEL_ENVIRONMENT: request.environment_id}
        name = f"lambda-canary-{_CONTAINER_NAME.sub('-', version.function_name)}-{request.environment_id[:12]}"
        api = self.client.api
        host_config = api.create_host_config(
            mem_limit=f"{version.memory_size}m", memswap_limit=f"{version.memory_size}m",
            network_mode="host" if self.options.network_mode == "host" else "bridge",
            binds=spec.binds, read_only=True, tmpfs={"/tmp": "rw,size=512m"},
            cap_drop=["NET_RAW"])  # no raw sockets: a container cannot forge another's address (Runtime API)
        bridge = self.private_runtime_api == "peer"

        def create_and_start() -> tuple[str, Any, str | None]:
            created = api.create_container(
                spec.image, command=spec.command, environment=container_variables(request.variables),
                labels=labels, name=name, host_config=host_config, detach=True, tty=False, stdin_open=False)
            container_id = str(created["Id"])
            try:
                stream = api.attach_socket(container_id, params={"stdout": 1, "stderr": 1, "stream": 1})
                api.start(container_id)
                address = api.inspect_container(container_id)["NetworkSettings"].get("IPAddress") if bridge else None
            except BaseException:
                with contextlib.suppress(DockerException, RequestException):
                    api.remove_container(container_id, force=True)
                raise
            return container_id, stream, address or None

        try:
            container_id, stream, address = await self.call(create_and_start)
        except (APIError, RequestException) as error:
            explanation = getattr(error, "explanation", None) or str(error)
            raise UserError(f"cannot start a container of {spec.image} for {version.function_name}: "
                            f"{explanation}") from None
        return Container(self, container_id, AttachedOutput(stream, request.on_log), version.memory_size, address)

    def our_containers(self) -> list[dict[str, Any]]:
        """Every container this backend labelled, running or not (summaries from the engine)."""
        return list(self.client.api.containers(all=True, filters={"label": f"{LABEL_OWNER}={self.session_id}"}))

    async def close(self) -> None:
        """Remove every container of this backend, then let go of the engine."""
        if self._closed:
            return
        self._closed = True
        try:
            leftovers = await self.call(self.our_containers)
            await asyncio.gather(*(self.remove(summary["Id"]) for summary in leftovers))
        except (DockerException, RequestException):
            pass
        finally:
            self._executor.shutdown(wait=False)
            self.client.close()
            if self._watchdog is not None:  # nothing of ours is left: let it go
                with contextlib.suppress(OSError):
                    assert self._watchdog.stdin is not None
                    self._watchdog.stdin.write(b"done")
                    self._watchdog.stdin.close()
                self._watchdog = None
