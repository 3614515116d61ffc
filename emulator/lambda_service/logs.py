"""Lambda's platform log lines (START, END, REPORT) and the pump that reads a runtime's output."""

from __future__ import annotations

import asyncio
import datetime as dt
import errno
import json
import math
import os
import select
from collections.abc import Callable
from typing import Protocol


class LogSink(Protocol):
    """Receives every log line of every function, in order per environment."""

    def __call__(self, function_name: str, line: str, /) -> None: ...


class LineObserver(Protocol):
    """Receives every line with its environment: the environment's id and the request id of the invocation that
    started it (its init lines belong to that one), e.g. `diff` giving each request its own lines."""

    def __call__(self, environment_id: str, started_for: str, line: str, /) -> None: ...


def start_line(request_id: str, version: str) -> str:
    """`START RequestId: <id> Version: <version>`."""
    return f"START RequestId: {request_id} Version: {version}"


def end_line(request_id: str) -> str:
    """`END RequestId: <id>`."""
    return f"END RequestId: {request_id}"


def report_line(request_id: str, duration_ms: float, memory_size: int, max_memory_mb: int,
                init_duration_ms: float | None, status: str | None = None, error_type: str | None = None) -> str:
    """The REPORT line, with Init Duration on a cold start only, and the error type of a runtime exit."""
    line = (f"REPORT RequestId: {request_id}\tDuration: {duration_ms:.2f} ms\tBilled Duration: "
            f"{max(1, math.ceil(duration_ms))} ms\tMemory Size: {memory_size} MB\t"
            f"Max Memory Used: {max_memory_mb} MB\t")
    if init_duration_ms is not None:
        line += f"Init Duration: {init_duration_ms:.2f} ms\t"
    if status:
        line += f"Status: {status}\t"
    if error_type:
        line += f"Error Type: {error_type}\t"
    return line


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


# Lambda sends each line a function writes to CloudWatch Logs as one log event, and an event holds at most 256 KB:
# 262,144 bytes counting 26 bytes of overhead (CloudWatch Logs quotas, "Event size: 256 KB"; PutLogEvents: sizes
# are "the sum of all event messages in UTF-8, plus 26 bytes for each log event"). A longer line is cut here into
# pieces of at most that size. AWS does not document how Lambda itself cuts one; the Runtime Interface Emulator
# (aws/aws-lambda-runtime-interface-emulator@4fa2157, internal/.../telemetry/logs_egress.go) reads lines with Go's
# bufio.Scanner and stops logging at the first line over 64 KB, which is no model to copy.
MAX_LINE_BYTES = 262_144 - 26


class LineSplitter:
    """Cuts a byte stream into log lines: at each newline, and every `limit` bytes of a longer line (on a UTF-8
    character boundary). It keeps at most `limit` bytes of an unfinished line, whatever is written.
    """

    def __init__(self, on_line: Callable[[str], None], limit: int = MAX_LINE_BYTES) -> None:
        self._on_line = on_line
        self._limit = limit
        self._partial = bytearray()

    def feed(self, data: bytes) -> None:
        """Hand on every line `data` completes; keep the unfinished end."""
        *lines, rest = data.split(b"\n")
        if lines:
            first = lines[0]
            if self._partial:
                self._partial += first
                first = bytes(self._partial)
                self._partial.clear()
            self._emit(first)
            for line in lines[1:]:
                self._emit(line)
        self._partial += rest
        if len(self._partial) > self._limit:
            whole = bytes(self._partial)
            self._partial.clear()
            self._partial += whole[self._cut(whole):]

    def flush(self) -> None:
        """Hand on the unfinished line, if any (at the end of an invocation or of the stream)."""
        if self._partial:
            line = bytes(self._partial)
            self._partial.clear()
            self._emit(line)

    def _emit(self, line: bytes) -> None:
        start = self._cut(line) if len(line) > self._limit else 0
        self._on_line(line[start:].decode("utf-8", "replace"))

    def _cut(self, data: bytes) -> int:
        """Hand on pieces of at most `limit` bytes from the start of `data` while more than `limit` bytes remain;
        returns where the rest (1 to `limit` bytes) begins. A piece never ends inside a UTF-8 character."""
        start = 0
        while len(data) - start > self._limit:
            end = start + self._limit
            lead = end
            while lead > end - 3 and (data[lead] & 0xC0) == 0x80:  # a continuation byte: back to its lead byte
                lead -= 1
            if (data[lead] & 0xC0) != 0x80:
                end = lead
            self._on_line(data[start:end].decode("utf-8", "replace"))
            start = end
        return start


_READ_SIZE = 65536


class LogPump:
    """Reads a runtime's stdout/stderr pipe without blocking and hands on lines as Lambda cuts them.

    Memory stays bounded whatever the function writes: the pipe is read 64 KB at a time and only an unfinished line
    (under MAX_LINE_BYTES) is kept. `drain()` is called when an invocation finishes, so the function's own lines
    (written to the pipe before the runtime posts its response) come out before END/REPORT; it also hands on an
    unfinished last line then.

    Per invocation `drain()` usually finds the pipe empty: it asks with a `poll` of no timeout (0.5 µs) rather
    than a read that fails with EAGAIN (3 µs, the exception), and reading stops at a short read (the pipe is empty
    then; what comes later wakes the reader callback).
    """

    def __init__(self, fd: int, on_line: Callable[[str], None]) -> None:
        self._fd = fd
        self._lines = LineSplitter(on_line)
        self._closed = False
        self._poll = select.poll()
        self._poll.register(fd, select.POLLIN)
        os.set_blocking(fd, False)
        asyncio.get_running_loop().add_reader(fd, self._read)

    def _read(self) -> None:
        """The reader callback: at most 4 MB per turn of the event loop, so a chatty function cannot starve it."""
        self._read_some(64)

    def drain(self) -> None:
        """Read what the pipe holds now (up to 16 MB) and hand on every line, the unfinished one too."""
        if not self._closed and self._poll.poll(0):
            self._read_some(256)
        self._lines.flush()

    def _read_some(self, reads: int) -> None:
        for _ in range(reads):
            if self._closed:
                return
            try:
                chunk = os.read(self._fd, _READ_SIZE)
            except BlockingIOError:
                return
            except OSError as error:
                if error.errno != errno.EBADF:
                    raise
                chunk = b""
            if not chunk:
                self.close()
                return
            self._lines.feed(chunk)
            if len(chunk) < _READ_SIZE:  # the pipe is empty now
                return

    def close(self) -> None:
        """Stop reading, hand on the unfinished line and close the pipe."""
        if self._closed:
            return
        self._closed = True
        asyncio.get_running_loop().remove_reader(self._fd)
        os.close(self._fd)
        self._lines.flush()
