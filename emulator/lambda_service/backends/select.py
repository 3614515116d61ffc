"""Choose the backend: `process`, `docker`, or `auto` (per runtime: docker where an engine answers and the
runtime's base image is present or pullable, else process)."""

from __future__ import annotations

import sys
from collections.abc import Callable

from emulator.errors import UserError
from emulator.lambda_service.backends.auto import AutoBackend
from emulator.lambda_service.backends.base import Backend
from emulator.lambda_service.backends.process import ProcessBackend

BACKENDS = ("auto", "process", "docker")
AUTO_REASON = ("auto backend: each runtime runs on docker where an engine answers and its base image is present or "
               "pullable, else as a local process; said per runtime when it is first prepared")


def _stderr_line(line: str) -> None:
    sys.stderr.write(line + "\n")


def choose_backend(name: str, runtimes: list[str] | None = None, *, say: Callable[[str], None] = _stderr_line,
                   runtime_client: str = "lambda-canary", **docker_options: object) -> tuple[Backend, str]:
    """The backend to use and a sentence saying why; `auto` says its choice for each runtime through `say`
    when the runtime is first prepared (`runtimes` is kept for callers that know them up front).
    `runtime_client` "aws" (AWS's aws-lambda-ric) runs on the process backend only: `auto` then means process."""
    del runtimes  # auto decides per runtime at preparation
    if name not in BACKENDS:
        raise UserError(f"--backend {name!r}: allowed: {', '.join(BACKENDS)}")
    if runtime_client != "lambda-canary":
        if name == "docker":
            raise UserError(f"--runtime-client {runtime_client}: runs on the process backend only (the docker "
                            "backend runs the runtime client of the Lambda base image)")
        return _process("as requested" if name == "process" else "--runtime-client aws runs on it", runtime_client)
    if name == "process":
        return _process("as requested")
    try:
        from emulator.lambda_service.backends import docker as docker_backend
    except ImportError as error:  # the docker SDK is missing
        if name == "docker":
            raise UserError(f"the docker backend is not available: {error}") from None
        return _process("docker backend not available")
    if name == "docker":
        backend = docker_backend.DockerBackend.connect(**docker_options)
        return backend, f"docker backend (as requested); {backend.describe()}"
    docker_backend.DockerOptions.parse(docker_options)  # bad option values are the user's to fix, not a fallback
    return AutoBackend(say, **docker_options), AUTO_REASON


def _process(reason: str, runtime_client: str = "lambda-canary") -> tuple[Backend, str]:
    backend = ProcessBackend(runtime_client=runtime_client)
    return backend, f"process backend ({reason}); {backend.describe()}"
