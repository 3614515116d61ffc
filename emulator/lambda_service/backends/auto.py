"""`auto`: a backend per runtime, decided when a runtime is first prepared and said once with the reason.

A runtime runs on docker only where an engine answers and the runtime's base image is present (for the engine's
platform) or pullable; otherwise on the process backend. The decision is made during preparation (before `serve`
says it is serving, or while a function created through the API is Pending), never inside an invoke.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable

from emulator.errors import UserError
from emulator.lambda_service.backends.base import Backend, LaunchRequest, RunningRuntime
from emulator.lambda_service.backends.process import ProcessBackend
from emulator.lambda_service.model import FunctionVersion


class AutoBackend(Backend):
    """Routes each runtime to the docker or the process backend."""

    name = "auto"

    def __init__(self, say: Callable[[str], None], **docker_options: object) -> None:
        self.process = ProcessBackend()
        self._say = say
        self._docker_options = docker_options
        self._docker: Backend | None = None
        self._engine_problem: str | None = None
        self._engine_checked = False
        self._choices: dict[str, Backend] = {}
        self._reasons: dict[str, str] = {}
        self._lock = threading.Lock()

    def choices(self) -> dict[str, str]:
        """Runtime -> `docker` or `process`, for what was decided so far."""
        return {runtime: backend.name for runtime, backend in self._choices.items()}

    def reason(self, runtime: str) -> str | None:
        """Why a runtime runs where it does (None before it is decided)."""
        return self._reasons.get(runtime)

    def choose(self, runtime: str) -> Backend:
        """The backend of a runtime, decided on first use (blocking: engine calls; run it off the event loop)."""
        with self._lock:
            chosen = self._choices.get(runtime)
            if chosen is not None:
                return chosen
            chosen, reason = self._decide(runtime)
            self._choices[runtime] = chosen
            self._reasons[runtime] = reason
        describe = getattr(chosen, "describe", None)  # what that backend enforces here (issue 12)
        self._say(f"lambda-canary: {runtime} runs on the {chosen.name} backend ({reason})"
                  + (f"; {describe()}" if describe is not None else ""))
        return chosen

    def _engine(self) -> Backend | None:
        if not self._engine_checked:
            self._engine_checked = True
            try:
                from emulator.lambda_service.backends.docker import DockerBackend
            except ImportError as error:  # the docker SDK is missing
                self._engine_problem = f"docker backend not available: {error}"
                return None
            try:
                self._docker = DockerBackend.connect(**self._docker_options)
            except UserError as error:
                self._engine_problem = error.message
        return self._docker

    def _decide(self, runtime: str) -> tuple[Backend, str]:
        docker = self._engine()
        if docker is None:
            return self.process, str(self._engine_problem)
        image, problem = docker.base_image_problem(runtime)  # type: ignore[attr-defined]
        if problem:
            return self.process, problem
        return docker, f"Docker engine answers; base image {image}"

    def for_runtime(self, runtime: str) -> Backend:
        chosen = self._choices.get(runtime)
        return chosen if chosen is not None else self.choose(runtime)

    async def prepare(self, version: FunctionVersion) -> None:
        chosen = self._choices.get(version.runtime.name)
        if chosen is None:
            chosen = await asyncio.to_thread(self.choose, version.runtime.name)
        await chosen.prepare(version)

    async def launch(self, request: LaunchRequest) -> RunningRuntime:
        return await self.for_runtime(request.version.runtime.name).launch(request)

    async def close(self) -> None:
        if self._docker is not None:
            await self._docker.close()
        await self.process.close()
