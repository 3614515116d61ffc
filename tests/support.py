"""Helpers shared by the test modules: a raw HTTP client and a Lambda service over the fixture app."""

from __future__ import annotations

import asyncio
import http.client
import json
import os
import re
import tempfile
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit

import yaml

from emulator import aio
from emulator.formats.load import load_config
from emulator.lambda_service.backends.process import ProcessBackend
from emulator.lambda_service.loader import records_from_config
from emulator.lambda_service.service import LambdaService

APP = Path(__file__).resolve().parent / "fixtures" / "handlers" / "app"
AS_ROOT = os.geteuid() == 0  # then each function runs as a uid of its own, from a private copy of its code


def code_path_pattern(relative: str) -> str:
    """A regex for where a function sees APP/relative: in place, or (as root) in its private copy of the code."""
    if not AS_ROOT:
        return re.escape(str(APP / relative))
    return r"/[^\s:]*/lambda-canary-sandbox-[^/]+/code/[0-9a-f]{16}" + (f"/{re.escape(relative)}" if relative else "")


def shared_folder() -> Path:
    """A folder every function may write to (its uid is not ours when we are root); the caller removes it."""
    folder = Path(tempfile.mkdtemp(prefix="lambda-canary-shared-"))
    folder.chmod(0o1777)
    return folder
T = TypeVar("T")


# ---- a small HTTP client that keeps repeated headers and lets a test set Host -----------------------------
@dataclass
class Reply:
    """A response as the client saw it."""

    status: int
    headers: list[tuple[str, str]]
    body: bytes

    def values(self, name: str) -> list[str]:
        """Every value of a header, case-insensitively, in order."""
        return [value for key, value in self.headers if key.lower() == name.lower()]

    def header(self, name: str) -> str | None:
        """The only value of a header, or None."""
        values = self.values(name)
        assert len(values) <= 1, f"{name} sent {len(values)} times"
        return values[0] if values else None

    def json(self) -> Any:
        """The body as JSON."""
        return json.loads(self.body)


def call(base_url: str, method: str, target: str, headers: list[tuple[str, str]] | None = None,
         body: bytes = b"") -> Reply:
    """One request on a fresh connection; `headers` may repeat names and may include Host."""
    connection = http.client.HTTPConnection("127.0.0.1", urlsplit(base_url).port, timeout=30)
    try:
        headers = list(headers or [])
        has_host = any(name.lower() == "host" for name, _ in headers)
        connection.putrequest(method, target, skip_host=has_host, skip_accept_encoding=True)
        for name, value in headers:
            connection.putheader(name, value)
        if body or method in ("POST", "PUT", "PATCH"):
            connection.putheader("Content-Length", str(len(body)))
        connection.endheaders(body or None)
        response = connection.getresponse()
        return Reply(response.status, response.getheaders(), response.read())
    finally:
        connection.close()


# ---- a Lambda service over the fixture handlers -----------------------------------------------------------
def write_config(directory: Path, functions: dict[str, dict[str, Any]]) -> Path:
    """A canary.yaml whose functions all run code from the fixture app."""
    for function in functions.values():
        function.setdefault("code", str(APP))
    path = directory / "canary.yaml"
    path.write_text(yaml.safe_dump({"backend": "process", "functions": functions}, sort_keys=False))
    return path


# `hold` answers once the file named by the event's `release` exists (polled), after writing `started-<pid>`, so a
# test decides when an environment is busy and when it frees, without timing; `pid` answers at once.
HOLD_HANDLER = """
const fs = require("node:fs");
exports.pid = async () => ({ pid: process.pid });
exports.hold = async (event) => {
  fs.writeFileSync(event.started + "-" + process.pid, "");
  while (!fs.existsSync(event.release)) await new Promise((resolve) => setTimeout(resolve, 5));
  return { pid: process.pid };
};
"""


def hold_config(folder: Path, exports: dict[str, str]) -> Path:
    """A process-backend canary.yaml of nodejs22.x functions ({name: "pid" or "hold"}) running HOLD_HANDLER."""
    (folder / "code").mkdir()
    (folder / "code" / "index.js").write_text(HOLD_HANDLER)
    functions = {name: {"runtime": "nodejs22.x", "handler": f"index.{export}", "code": str(folder / "code"),
                        "timeout": 30} for name, export in exports.items()}
    path = folder / "canary.yaml"
    path.write_text(yaml.safe_dump({"backend": "process", "functions": functions}))
    return path


def require_both_nodes() -> None:
    """Skip, saying why, unless Node 18 and Node 22 are installed (`lambda-canary runtimes install`)."""
    import pytest

    from emulator.errors import UserError
    from emulator.runtimes.provision import require_node

    for runtime in ("nodejs18.x", "nodejs22.x"):
        try:
            require_node(runtime)
        except UserError as error:
            pytest.skip(f"{runtime} not installed: {error}")


async def until(condition: Callable[[], bool]) -> None:
    """Yield to the loop until `condition` holds (the caller's wait_for bounds it)."""
    while not condition():
        await asyncio.sleep(0.01)


def live_state(stack: Any) -> dict[str, Any]:
    """A running StackThread's whole state as its state file holds it (read on the stack's loop)."""
    from emulator.control_plane import persistence

    async def whole() -> dict[str, Any]:
        assert stack.stack is not None
        lambda_api = stack.stack.control_plane.services["lambda"].implementation
        return {"format": persistence.FORMAT,
                "apigateway": persistence._APIGATEWAY.dump_python(stack.stack.state, mode="json"),
                "lambda": lambda_api.to_dict()}

    return json.loads(json.dumps(stack.call(whole())))


def with_service(config: Path, body: Callable[[LambdaService], Awaitable[T]],
                 lines: list[str] | None = None, backend: ProcessBackend | None = None, **options: Any) -> T:
    """Run `body` against a LambdaService holding the config's functions, on the process backend; `options` go to
    LambdaService (e.g. max_memory)."""

    async def main() -> T:
        def sink(_function: str, line: str) -> None:
            if lines is not None:
                lines.append(line)

        service = LambdaService(backend or ProcessBackend(), sink, **options)
        for record in records_from_config(load_config(config)):
            service.put_function(record)
        try:
            return await asyncio.wait_for(body(service), 60)
        finally:
            await service.close()

    return aio.run(main())
