"""Lambda's platform log lines (START, END, REPORT) and the pump that reads a runtime's output."""

from __future__ import annotations

import asyncio
import datetime as dt
import errno
import json
import math
import os
from collections.abc import Callable
from typing import Protocol


class LogSink(Protocol):
    """Receives every log line of every function, in order per environment."""

    def __call__(self, function_name: str, line: str) -> None: ...


def start_line(request_id: str, version: str) -> str:
    """`START RequestId: <id> Version: <version>`."""
    return f"START RequestId: {request_id} Version: {version}"


def end_line(request_id: str) -> str:
    """`END RequestId: <id>`."""
    return f"END RequestId: {request_id}"


def report_line(request_id: str, duration_ms: float, memory_size: int, max_memory_mb: int,
                init_duration_ms: float | None, status: str | None = None) -> str:
    """The REPORT line, with Init Duration on a cold start only."""
    parts = [
        f"REPORT RequestId: {request_id}",
        f"Duration: {duration_ms:.2f} ms",
        f"Billed Duration: {max(1, math.ceil(duration_ms))} ms",
        f"Memory Size: {memory_size} MB",
        f"Max Memory Used: {max_memory_mb} MB",
    ]
    if init_duration_ms is not None:
        parts.append(f"Init Duration: {init_duration_ms:.2f} ms")
    if status:
        parts.append(f"Status: {status}")
    return "\t".join(parts) + "\t"


def init_report_line(init_duration_ms: float | None, error_payload: bytes) -> str:
    """`INIT_REPORT` for a failed init phase, naming the error type."""
    try:
        error_type = json.loads(error_payload).get("errorType", "Runtime.Unknown")
    except (ValueError, AttributeError):
        error_type = "Runtime.Unknown"
    return (f"INIT_REPORT Init Duration: {init_duration_ms or 0:.2f} ms\tPhase: init\tStatus: error\t"
            f"Error Type: {error_type}")


def timeout_line(request_id: str, timeout_s: int) -> str:
    """The line Lambda logs when a function times out."""
    stamp = dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
    return f"{stamp} {request_id} Task timed out after {timeout_s:.2f} seconds"


class LogPump:
    """Reads a runtime's stdout/stderr pipe without blocking and hands complete lines on.

    `drain()` is also called when an invocation finishes, so the function's own lines (written
    synchronously to the pipe before the runtime posts its response) come out before END/REPORT.
    """

    def __init__(self, fd: int, on_line: Callable[[str], None]) -> None:
        self._fd = fd
        self._on_line = on_line
        self._partial = b""
        self._closed = False
        os.set_blocking(fd, False)
        asyncio.get_running_loop().add_reader(fd, self.drain)

    def drain(self) -> None:
        """Read whatever is in the pipe now."""
        if self._closed:
            return
        chunks = [self._partial]
        while True:
            try:
                chunk = os.read(self._fd, 65536)
            except BlockingIOError:
                break
            except OSError as error:
                if error.errno != errno.EBADF:
                    raise
                chunk = b""
            if not chunk:
                self._emit(b"".join(chunks), final=True)
                self.close()
                return
            chunks.append(chunk)
        self._emit(b"".join(chunks), final=False)

    def _emit(self, data: bytes, final: bool) -> None:
        *lines, rest = data.split(b"\n")
        for line in lines:
            self._on_line(line.decode("utf-8", "replace"))
        if final and rest:
            self._on_line(rest.decode("utf-8", "replace"))
            rest = b""
        self._partial = rest

    def close(self) -> None:
        """Stop reading and close the pipe."""
        if self._closed:
            return
        self._closed = True
        asyncio.get_running_loop().remove_reader(self._fd)
        os.close(self._fd)
