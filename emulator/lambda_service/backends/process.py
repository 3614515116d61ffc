"""The process backend: each environment is a real Node process of the runtime's exact release."""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import json
import os
import secrets
import signal
import subprocess
import threading
from collections.abc import Callable
from typing import Any

from emulator import cpus
from emulator.lambda_service.backends.base import Backend, LaunchRequest, MemorySample, RunningRuntime
from emulator.lambda_service.backends.containment import Containment, EnvironmentCgroups, ResidentWatch
from emulator.lambda_service.logs import LogPump
from emulator.lambda_service.model import FunctionVersion
from emulator.runtimes.aws_client import AWS_RIC_VERSION, runtime_dir_for
from emulator.runtimes.provision import require_node

_MB = 1024 * 1024
CHECK_TIMEOUT_S = 5.0  # for one handler's module to load at serve's start-up check
# Lambda's runtime exits are worded as Go's os.ProcessState.String() words them (syscall's signal table).
_SIGNAL_NAMES = {signal.SIGKILL: "killed", signal.SIGTERM: "terminated", signal.SIGSEGV: "segmentation fault",
                 signal.SIGABRT: "aborted", signal.SIGBUS: "bus error", signal.SIGILL: "illegal instruction",
                 signal.SIGFPE: "floating point exception", signal.SIGHUP: "hangup", signal.SIGINT: "interrupt",
                 signal.SIGQUIT: "quit", signal.SIGPIPE: "broken pipe", signal.SIGTRAP: "trace/breakpoint trap",
                 signal.SIGUSR1: "user defined signal 1", signal.SIGUSR2: "user defined signal 2"}


def describe_exit(returncode: int) -> str:
    """Lambda's wording: `exit status 1`, `signal: killed`."""
    if returncode < 0:
        number = -returncode
        name = _SIGNAL_NAMES.get(signal.Signals(number), signal.Signals(number).name.lower())
        return f"signal: {name}"
    return f"exit status {returncode}"


def process_memory(pid: int) -> MemorySample | None:
    """RssAnon + RssShmem (private) and RssFile (shared with other processes of the binary) from /proc/PID/status."""
    fields: dict[str, int] = {}
    try:
        with open(f"/proc/{pid}/status", "rb") as status:
            for line in status:
                if line.startswith(b"Rss"):
                    name, value = line.split(b":", 1)
                    fields[name.decode()] = int(value.split()[0]) * 1024
    except (OSError, ValueError, IndexError):
        return None
    if "RssAnon" not in fields:
        return None
    return MemorySample(fields["RssAnon"] + fields.get("RssShmem", 0), fields.get("RssFile", 0))


def _check_answers(output: bytes, marker: str, indexes: list[int]) -> dict[int, dict[str, object]]:
    """The init errors a check process printed (lines `marker<TAB>position<TAB>json`), by version index; lines
    without the marker (what a module printed itself) are ignored."""
    found: dict[int, dict[str, object]] = {}
    for line in output.decode("utf-8", "replace").splitlines():
        parts = line.split("\t", 2)
        if len(parts) == 3 and parts[0] == marker and parts[1].isdigit() and int(parts[1]) < len(indexes):
            with contextlib.suppress(ValueError):
                result = json.loads(parts[2])
                if isinstance(result, dict) and isinstance(result.get("error"), dict):
                    found[indexes[int(parts[1])]] = result["error"]
    return found


class LoadCheck:
    """Handler checks running in the background (`ProcessBackend.begin_load_check`)."""

    def __init__(self) -> None:
        self._answers: list[concurrent.futures.Future[dict[int, dict[str, object]]]] = []

    def add(self, answer: concurrent.futures.Future[dict[int, dict[str, object]]]) -> None:
        """One check process's answer, to come."""
        self._answers.append(answer)

    async def result(self) -> dict[int, dict[str, object]]:
        """Every init error found, by version index, once all the check processes have ended."""
        found: dict[int, dict[str, object]] = {}
        for answer in self._answers:
            errors: dict[int, dict[str, object]] = await asyncio.wrap_future(answer)
            found.update(errors)
        return found


class NodeProcess(RunningRuntime):
    """A node process running the lambda-canary runtime client, in its own cgroup (when the machine has one)."""

    def __init__(self, process: asyncio.subprocess.Process, pump: LogPump, memory_mb: int,
                 cgroups: EnvironmentCgroups | None, on_end: Callable[[], None]) -> None:
        self._process = process
        self._pump = pump
        self._memory_mb = memory_mb
        self._cgroups = cgroups
        self._on_end = on_end
        self._watch: ResidentWatch | None = None
        if cgroups is None or not cgroups.limits_memory:
            self._watch = ResidentWatch(process.pid, memory_mb * _MB, self.kill)

    async def wait(self) -> str:
        returncode = await self._process.wait()
        self._pump.drain()
        self._pump.close()
        if self._watch is not None:
            self._watch.stop()
            self.out_of_memory = self._watch.exceeded
        if self._cgroups is not None:
            self.out_of_memory = self.out_of_memory or self._cgroups.out_of_memory()
            await self._cgroups.remove()  # kills what the function left behind (detached children too)
        else:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self._process.pid, signal.SIGKILL)
        self._on_end()
        return describe_exit(returncode)

    def kill(self) -> None:
        if self._cgroups is not None:
            self._cgroups.kill()
        if self._process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self._process.pid, signal.SIGKILL)

    def drain_logs(self) -> None:
        self._pump.drain()

    def max_memory_mb(self) -> int:
        if self.out_of_memory:
            return self._memory_mb
        if self._watch is not None:
            self._watch.sample()  # the invocation's own peak: it may have ended before the watch's next sample
            peak = self._watch.peak
        else:
            assert self._cgroups is not None
            peak = self._cgroups.peak_bytes()
        return min(peak // _MB, self._memory_mb)

    def memory_sample(self) -> MemorySample | None:
        """The node process's private resident pages (RssAnon + RssShmem) and its file pages (the shared binary)."""
        return process_memory(self._process.pid)


class ProcessBackend(Backend):
    """Runs each environment as a local Node process; never the host's `node`."""

    name = "process"

    def __init__(self, *, memory: str | None = None, users: bool | None = None,
                 runtime_client: str = "lambda-canary") -> None:
        """`memory` ("cgroup2", "cgroup1", "watch") and `users` force a containment choice (tests);
        `runtime_client` "aws" runs AWS's aws-lambda-ric (built by `runtimes install-client aws`) instead of ours."""
        self.runtime_client = runtime_client
        self.runtime_dir = runtime_dir_for(runtime_client)
        self._options: dict[str, Any] = {"memory": memory, "users": users}
        self._containment: Containment | None = None

    @property
    def containment(self) -> Containment:
        """What this machine lets the backend enforce (probed once, on first use)."""
        if self._containment is None:
            self._containment = Containment(**self._options)
        return self._containment

    def describe(self) -> str:
        """One line for the start: how environments are contained here (and AWS's runtime client, if chosen)."""
        client = f"; runtime client: AWS's aws-lambda-ric {AWS_RIC_VERSION}" if self.runtime_client == "aws" else ""
        return self.containment.summary() + client

    async def prepare(self, version) -> None:  # type: ignore[no-untyped-def]
        require_node(version.runtime.name)

    async def launch(self, request: LaunchRequest) -> RunningRuntime:
        version = request.version
        containment = self.containment
        node = require_node(version.runtime.name)
        code_dir, runtime_dir, uid = version.code_dir, self.runtime_dir, None
        if containment.users:
            uid, code_dir = containment.user_for(version)
            node = containment.node_for_users(node)
            runtime_dir = containment.runtime_for_users(self.runtime_dir)
        home = containment.private_tmp(request.environment_id, uid)
        variables = dict(request.variables)
        variables.update({
            "LAMBDA_TASK_ROOT": str(code_dir),
            "LAMBDA_RUNTIME_DIR": str(runtime_dir),
            "PATH": f"{node.parent}:/usr/local/bin:/usr/bin:/bin",
            "NODE_PATH": str(runtime_dir / "node_modules"),
            "HOME": str(home),  # never the host's home: no ~/.aws credentials reach functions
        })
        heap = version.memory_size * 90 // 100
        cgroups = containment.environment_cgroups(request.environment_id, version.memory_size)
        placement = cpus.active()
        started_split = placement is not None and placement.split
        read_end, write_end = os.pipe()
        try:
            process = await asyncio.create_subprocess_exec(
                str(node), "--max-http-header-size", "81920", f"--max-old-space-size={heap}",
                str(runtime_dir / "index.mjs"),
                stdin=asyncio.subprocess.DEVNULL, stdout=write_end, stderr=write_end,
                cwd=str(code_dir), env=variables, start_new_session=True,
                preexec_fn=containment.preexec(cgroups, uid, placement.for_new_process() if placement else None))
        except BaseException:
            os.close(read_end)
            if cgroups is not None:
                await cgroups.remove()
            containment.remove_tmp(request.environment_id)
            raise
        finally:
            os.close(write_end)
        if placement is not None:
            placement.track(process.pid, started_split)

        def ended() -> None:
            containment.remove_tmp(request.environment_id)
            if placement is not None:
                placement.forget(process.pid)

        return NodeProcess(process, LogPump(read_end, request.on_log), version.memory_size, cgroups, ended)

    async def load_errors(self, versions: list[FunctionVersion]) -> dict[int, dict[str, object]]:
        """One short-lived Node process per runtime (per function version when each has a uid of its own) loads
        every handler through the runtime client's own loader, contained as an environment is (its uid and copy
        of the code, no host variables, killed with the emulator). A handler whose loading does not finish within
        CHECK_TIMEOUT_S, or a process that ends early, is not reported. With AWS's client (--runtime-client aws),
        which has no such mode, nothing is checked ahead: its init reports what does not load."""
        return await self.begin_load_check(versions).result()

    def begin_load_check(self, versions: list[FunctionVersion]) -> LoadCheck:
        """`load_errors` started now: its Node processes are spawned before this returns and run while the caller
        goes on (a stack imports and builds its gateway meanwhile); `await check.result()` answers what
        `load_errors` would. Call it from the thread that runs the event loop: a check process is killed when
        the thread that started it ends (PR_SET_PDEATHSIG)."""
        check = LoadCheck()
        if self.runtime_client != "lambda-canary":
            return check
        groups: dict[tuple[str, object], list[int]] = {}
        for index, version in enumerate(versions):
            key = (version.runtime.name, version.pool_key if self.containment.users else "")
            groups.setdefault(key, []).append(index)
        for indexes in groups.values():
            check.add(self._spawn_check(versions, indexes))
        return check

    def _spawn_check(self, versions: list[FunctionVersion], indexes: list[int]) -> concurrent.futures.Future[
            dict[int, dict[str, object]]]:
        """Start one check process; a thread feeds it, waits for it (killed past its time) and reads its answers."""
        containment, first = self.containment, versions[indexes[0]]
        node, runtime_dir, uid = require_node(first.runtime.name), self.runtime_dir, None
        roots = [str(versions[index].code_dir) for index in indexes]
        if containment.users:
            uid, code_dir = containment.user_for(first)
            node, runtime_dir = containment.node_for_users(node), containment.runtime_for_users(self.runtime_dir)
            roots = [str(code_dir)] * len(indexes)  # one snapshot: the versions of a group share its copy
        environment_id = f"check-{secrets.token_hex(6)}"
        home = containment.private_tmp(environment_id, uid)
        marker = secrets.token_hex(16)
        request = json.dumps({"marker": marker, "timeoutMs": int(CHECK_TIMEOUT_S * 1000), "handlers": [
            {"root": root, "handler": versions[index].handler} for root, index in zip(roots, indexes, strict=True)]})
        variables = {"LAMBDA_CANARY_CHECK_HANDLERS": "1", "LAMBDA_RUNTIME_DIR": str(runtime_dir),
                     "PATH": f"{node.parent}:/usr/local/bin:/usr/bin:/bin", "HOME": str(home), "TMPDIR": str(home),
                     "NODE_PATH": str(runtime_dir / "node_modules"),
                     "AWS_EXECUTION_ENV": f"AWS_Lambda_{first.runtime.name}"}
        try:
            process = subprocess.Popen(
                [str(node), str(runtime_dir / "index.mjs")], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL, cwd=roots[0], env=variables, start_new_session=True,
                preexec_fn=containment.preexec(None, uid))
        except BaseException:
            containment.remove_tmp(environment_id)
            raise
        answer: concurrent.futures.Future[dict[int, dict[str, object]]] = concurrent.futures.Future()

        def wait() -> None:
            try:
                try:
                    output, _ = process.communicate(request.encode(), CHECK_TIMEOUT_S * len(indexes) + 5)
                except subprocess.TimeoutExpired:
                    output = None
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGKILL)  # what a module left running (or one past its time)
                process.wait()
                if output is None:
                    for pipe in (process.stdin, process.stdout):
                        if pipe is not None:
                            pipe.close()
                    output = b""
            except BaseException as error:
                answer.set_exception(error)
                return
            finally:
                containment.remove_tmp(environment_id)
            answer.set_result(_check_answers(output, marker, indexes))

        threading.Thread(target=wait, name=f"lambda-canary-{environment_id}", daemon=True).start()
        return answer

    async def close(self) -> None:
        if self._containment is not None:
            containment, self._containment = self._containment, None
            await asyncio.get_running_loop().run_in_executor(None, containment.close)
