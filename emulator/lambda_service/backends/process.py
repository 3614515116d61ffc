"""The process backend: each environment is a real Node process of the runtime's exact release."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import tempfile

from emulator.lambda_service.backends.base import Backend, LaunchRequest, RunningRuntime
from emulator.lambda_service.logs import LogPump
from emulator.paths import bundled
from emulator.runtimes.provision import require_node

_SIGNAL_NAMES = {signal.SIGKILL: "killed", signal.SIGTERM: "terminated", signal.SIGSEGV: "segmentation fault"}


def describe_exit(returncode: int) -> str:
    """Lambda's wording: `exit status 1`, `signal: killed`."""
    if returncode < 0:
        number = -returncode
        name = _SIGNAL_NAMES.get(signal.Signals(number), signal.Signals(number).name.lower())
        return f"signal: {name}"
    return f"exit status {returncode}"


class NodeProcess(RunningRuntime):
    """A node process running the lambda-canary runtime client."""

    def __init__(self, process: asyncio.subprocess.Process, pump: LogPump) -> None:
        self._process = process
        self._pump = pump

    async def wait(self) -> str:
        returncode = await self._process.wait()
        self._pump.drain()
        self._pump.close()
        return describe_exit(returncode)

    def kill(self) -> None:
        if self._process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self._process.pid, signal.SIGKILL)

    def drain_logs(self) -> None:
        self._pump.drain()

    def max_memory_mb(self) -> int:
        try:
            with open(f"/proc/{self._process.pid}/status", "rb") as status:
                for line in status:
                    if line.startswith(b"VmHWM:"):
                        return int(line.split()[1]) // 1024
        except (OSError, ValueError):
            pass
        return 0


class ProcessBackend(Backend):
    """Runs each environment as a local Node process; never the host's `node`."""

    name = "process"

    def __init__(self) -> None:
        self.runtime_dir = bundled("runtimes") / "nodejs"

    async def prepare(self, version) -> None:  # type: ignore[no-untyped-def]
        require_node(version.runtime.name)

    async def launch(self, request: LaunchRequest) -> RunningRuntime:
        version = request.version
        node = require_node(version.runtime.name)
        variables = dict(request.variables)
        variables.update({
            "LAMBDA_TASK_ROOT": str(version.code_dir),
            "LAMBDA_RUNTIME_DIR": str(self.runtime_dir),
            "PATH": f"{node.parent}:/usr/local/bin:/usr/bin:/bin",
            "NODE_PATH": str(self.runtime_dir / "node_modules"),
            "HOME": tempfile.gettempdir(),  # never the host's home: no ~/.aws credentials reach functions
        })
        heap = version.memory_size * 90 // 100
        read_end, write_end = os.pipe()
        try:
            process = await asyncio.create_subprocess_exec(
                str(node), "--max-http-header-size", "81920", f"--max-old-space-size={heap}",
                str(self.runtime_dir / "index.mjs"),
                stdin=asyncio.subprocess.DEVNULL, stdout=write_end, stderr=write_end,
                cwd=str(version.code_dir), env=variables, start_new_session=True)
        except OSError:
            os.close(read_end)
            raise
        finally:
            os.close(write_end)
        return NodeProcess(process, LogPump(read_end, request.on_log))

