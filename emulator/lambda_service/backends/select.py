"""Choose the backend: `process`, `docker`, or `auto` (docker when an engine and images are usable)."""

from __future__ import annotations

from emulator.errors import UserError
from emulator.lambda_service.backends.base import Backend
from emulator.lambda_service.backends.process import ProcessBackend

BACKENDS = ("auto", "process", "docker")


def choose_backend(name: str, runtimes: list[str] | None = None, **docker_options: object) -> tuple[Backend, str]:
    """The backend to use and a sentence saying why."""
    if name not in BACKENDS:
        raise UserError(f"--backend {name!r}: allowed: {', '.join(BACKENDS)}")
    if name == "process":
        return ProcessBackend(), "process backend (as requested)"
    try:
        from emulator.lambda_service.backends import docker as docker_backend
    except ImportError as error:  # the docker backend lands with its own issue
        if name == "docker":
            raise UserError(f"the docker backend is not available: {error}") from None
        return ProcessBackend(), "process backend (docker backend not available)"
    if name == "docker":
        return docker_backend.DockerBackend.connect(**docker_options), "docker backend (as requested)"
    usable, reason = docker_backend.DockerBackend.probe(runtimes or [], **docker_options)
    if usable:
        return docker_backend.DockerBackend.connect(**docker_options), f"docker backend ({reason})"
    return ProcessBackend(), f"process backend ({reason})"
