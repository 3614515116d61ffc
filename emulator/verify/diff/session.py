"""A diff session: a config, its stage, the two sides and the rules; runs a list of requests on both sides."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from emulator.config import LoadedConfig
from emulator.errors import UserError
from emulator.formats.load import load_config
from emulator.stack import Stack, StackOptions
from emulator.verify.diff import DEFAULT_CONCURRENCY
from emulator.verify.diff.corpus import DiffRequest, default_corpus
from emulator.verify.diff.report import DiffResult
from emulator.verify.diff.rules import Rules, from_config
from emulator.verify.diff.runner import Side, plan_sides, run_both


@dataclass
class DiffSession:
    """Everything a run needs except the requests."""

    loaded: LoadedConfig
    stage: str
    sides: tuple[Side, Side]
    rules: Rules
    backend: str | None = None
    docker_options: dict[str, object] | None = None
    runtime_client: str = "lambda-canary"

    @classmethod
    def open(cls, target: Path | LoadedConfig, stage: str | None, runtimes: tuple[str, str] | None,
             rules: Iterable[str] = (), backend: str | None = None,
             docker_options: dict[str, object] | None = None, runtime_client: str = "lambda-canary") -> DiffSession:
        """Load the config, read its `diff:` rules (plus `rules`) and work out the two sides."""
        loaded = target if isinstance(target, LoadedConfig) else load_config(target)
        try:
            parsed = Rules.parse([*from_config(loaded.config.diff), *rules])
        except ValueError as error:
            raise UserError(f"--rule: {error}") from None
        probe = cls(loaded, stage or "", (Side("base"), Side("canary")), parsed, backend, docker_options)
        paths = [request.path for request in probe._corpus_for(stage)]
        stage_name, base, canary = plan_sides(loaded, stage, paths, runtimes, backend)
        return cls(loaded, stage_name, (base, canary), parsed, backend, docker_options, runtime_client)

    def _corpus_for(self, stage: str | None) -> list[DiffRequest]:
        from emulator.verify.chain import find_stage

        stack = Stack(self.loaded, StackOptions(port=0, backend=self.backend, access_log=False, function_logs=False),
                      log=lambda line: None)
        api, stage_name = find_stage(stack.state, stage, str(self.loaded.path))
        requests = default_corpus(api, stage_name)
        if not requests:
            raise UserError(f"{self.loaded.path}: stage {stage_name} has no resource with a method")
        return requests

    def default_corpus(self) -> list[DiffRequest]:
        """One request per resource and method of the stage."""
        return self._corpus_for(self.stage)

    def run(self, requests: list[DiffRequest], progress: Callable[[int], None] | None = None,
            concurrency: int = DEFAULT_CONCURRENCY) -> DiffResult:
        """Send every request to both sides (`concurrency` at a time per side) and compare, in the requests' order."""
        base, canary = asyncio.run(run_both(self.loaded, self.stage, self.sides, requests, self.backend,
                                            self.docker_options, progress, concurrency, self.runtime_client))
        return DiffResult.build(base, canary, requests, self.rules)
