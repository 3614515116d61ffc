"""Run a stack on its own event loop in a background thread, for tests and in-process tools."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine
from concurrent.futures import Future
from pathlib import Path
from typing import Any, TypeVar

from emulator.config import LoadedConfig
from emulator.formats.load import load_config
from emulator.stack import Stack, StackOptions

T = TypeVar("T")


class StackThread:
    """A started Stack served from a daemon thread; use as a context manager.

    >>> with StackThread("examples/ping/canary.yaml", StackOptions(port=0, seed=1)) as running:
    ...     urllib.request.urlopen(running.url + "/prod/ping")
    """

    def __init__(self, config: Path | str | LoadedConfig | None, options: StackOptions | None = None,
                 log: Any = None) -> None:
        self._config = config
        self.options = options or StackOptions(port=0, access_log=False, function_logs=False)
        self._log = log
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self.stack: Stack | None = None

    def __enter__(self) -> StackThread:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        """Base URL of the data plane."""
        assert self.stack is not None
        return self.stack.url

    def start(self) -> None:
        """Build and start the stack; raises what the stack raised (e.g. a UserError)."""
        ready: Future[None] = Future()
        try:
            import uvloop

            self._loop = uvloop.new_event_loop()
        except ImportError:
            self._loop = asyncio.new_event_loop()

        def run() -> None:
            assert self._loop is not None
            asyncio.set_event_loop(self._loop)
            try:
                config = self._config
                loaded = load_config(config) if isinstance(config, Path | str) else config
                kwargs = {"log": self._log} if self._log else {}
                self.stack = Stack(loaded, self.options, begin_checks=True, **kwargs)
                self._loop.run_until_complete(self.stack.start())
            except BaseException as error:
                ready.set_exception(error)
                return
            ready.set_result(None)
            self._loop.run_forever()

        self._thread = threading.Thread(target=run, name="lambda-canary-stack", daemon=True)
        self._thread.start()
        ready.result(timeout=120)

    def call(self, coroutine: Coroutine[Any, Any, T], timeout: float = 120) -> T:
        """Run a coroutine on the stack's loop and wait for it."""
        assert self._loop is not None
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result(timeout)

    def stop(self) -> None:
        """Stop the stack and its thread."""
        if self._loop is None:
            return
        if self.stack is not None and self._loop.is_running():
            self.call(self.stack.stop())
            self._loop.call_soon_threadsafe(self._loop.stop)
        if self._thread is not None:
            self._thread.join(timeout=30)
        self._loop.close()
        self._loop = None
