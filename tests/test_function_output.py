"""Bounded buffers for what a function writes (issue 12, point 7): log lines cut at CloudWatch Logs' event size,
unfinished lines handed on at the end of an invocation, and a `serve` whose memory stays flat while a function
prints hundreds of megabytes without a newline.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import boto3
import botocore.config
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from emulator.errors import UserError
from emulator.lambda_service.logs import MAX_LINE_BYTES, LineSplitter
from emulator.runtimes.provision import require_node

CREDENTIALS = {"region_name": "us-east-1", "aws_access_key_id": "test", "aws_secret_access_key": "test"}
SPEW = """
exports.handler = async (event) => {
  const chunk = 'x'.repeat(1 << 20);
  for (let i = 0; i < event.megabytes; i++) {
    if (!process.stdout.write(chunk)) await new Promise((resolve) => process.stdout.once('drain', resolve));
  }
  if (event.tail) process.stdout.write(event.tail);
  return {written: event.megabytes};
};
"""


# ---- the stack's stderr -----------------------------------------------------------------------------------------
class _Writes:
    """A stand-in for sys.stderr that keeps each write."""

    def __init__(self) -> None:
        self.writes: list[str] = []

    def write(self, text: str) -> int:
        self.writes.append(text)
        return len(text)


def test_stderr_lines_go_out_with_the_next_flush_or_on_their_timer(monkeypatch: pytest.MonkeyPatch) -> None:
    """A request's START (logged while it waits for its function) leaves in the same write as its END, REPORT and
    access line when the stack flushes after answering it; a line no flush takes along is written by the timer, and
    more than FLUSH_ABOVE characters pending at once."""
    from emulator import aio
    from emulator.stack import StderrLines

    out = _Writes()
    monkeypatch.setattr(sys, "stderr", out)
    log, later = StderrLines(), StderrLines()
    log.FLUSH_AFTER_S = 3600.0  # its timer never fires here
    later.FLUSH_AFTER_S = 0.001

    async def main() -> None:
        log("START RequestId: 1")
        await asyncio.sleep(0)  # the request waits for its function
        log("END RequestId: 1")
        log("access 1")
        log.flush()  # the stack, before the answer leaves
        assert out.writes == ["START RequestId: 1\nEND RequestId: 1\naccess 1\n"]
        later("a line of a function still running")
        assert out.writes[1:] == []
        await asyncio.sleep(0.01)  # a timer due after the flush's: the loop runs that one first
        assert out.writes[1:] == ["a line of a function still running\n"]
        log.FLUSH_ABOVE = 10  # a function printing fast: what is pending stays bounded
        log("0123456789+")
        assert out.writes[2:] == ["0123456789+\n"]

    aio.run(main())
    log("outside a loop: at once")
    assert out.writes[3:] == ["outside a loop: at once\n"]


# ---- the splitter --------------------------------------------------------------------------------------------
def test_lines_are_cut_at_cloudwatch_event_size() -> None:
    assert MAX_LINE_BYTES == 262_144 - 26
    lines: list[str] = []
    splitter = LineSplitter(lines.append)
    splitter.feed(b"short\n" + b"y" * (MAX_LINE_BYTES * 2 + 5) + b"\nlast")
    assert [len(line) for line in lines] == [5, MAX_LINE_BYTES, MAX_LINE_BYTES, 5]
    splitter.flush()
    assert lines[-1] == "last"
    splitter.flush()
    assert len(lines) == 5  # nothing twice


def test_a_cut_never_splits_a_character() -> None:
    lines: list[str] = []
    splitter = LineSplitter(lines.append, limit=10)
    splitter.feed(("aaaaaaaaa" + "é" * 3).encode())  # 9 + 6 bytes: the first é would straddle byte 10
    splitter.flush()
    assert lines == ["aaaaaaaaa", "ééé"]


@settings(max_examples=200, deadline=None, derandomize=True)
@given(st.lists(st.binary(max_size=60).map(lambda data: data.replace(b"\r", b"")), max_size=30),
       st.integers(4, 20))
def test_pieces_never_exceed_the_limit_and_nothing_is_lost(chunks: list[bytes], limit: int) -> None:
    pieces: list[bytes] = []
    splitter = LineSplitter(lambda line: pieces.append(line.encode("utf-8", "surrogateescape")), limit=limit)
    text = b"".join(chunks)
    ascii_only = bytes(byte & 0x7F for byte in text)  # one byte per character: lengths compare exactly
    for start in range(0, len(ascii_only), 7):
        splitter.feed(ascii_only[start:start + 7])
        assert len(splitter._partial) <= limit
    splitter.flush()
    assert all(len(piece) <= limit for piece in pieces)
    expected = [line for line in ascii_only.split(b"\n")]
    if expected and expected[-1] == b"":
        expected.pop()
    assert b"".join(pieces) == b"".join(expected)


# ---- a real serve: memory stays flat ------------------------------------------------------------------------
def _rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS")


class _StderrCounter(threading.Thread):
    """Reads serve's stderr without keeping it: how many bytes and the longest line of the spewing function."""

    def __init__(self, stream: object) -> None:
        super().__init__(daemon=True)
        self.stream = stream
        self.bytes = 0
        self.longest = 0
        self.ends: list[bytes] = []  # the last 60 bytes of every line
        self.reports = 0  # REPORT lines seen

    def run(self) -> None:
        for line in self.stream:  # type: ignore[attr-defined]
            self.bytes += len(line)
            self.longest = max(self.longest, len(line))
            self.ends.append(line[-60:])
            self.reports += len(line) < 1000 and b"REPORT RequestId:" in line


@pytest.fixture
def spewing_serve(tmp_path: Path):  # type: ignore[no-untyped-def]
    try:
        require_node("nodejs22.x")
    except UserError as error:
        pytest.skip(f"Node runtime not installed: {error}")
    code = tmp_path / "code"
    code.mkdir()
    (code / "index.js").write_text(SPEW)
    config = tmp_path / "canary.yaml"
    config.write_text("backend: process\nfunctions:\n  spew:\n    runtime: nodejs22.x\n    handler: index.handler\n"
                      "    code: code\n    memorySize: 1024\n    timeout: 600\n")
    from conftest import free_port

    port = free_port()
    process = subprocess.Popen([str(Path(sys.executable).parent / "lambda-canary"), "serve", str(config),
                                "--port", str(port), "--backend", "process"],
                               stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    counter = _StderrCounter(process.stderr)
    counter.start()
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            urllib.request.urlopen(f"{url}/_lambda_canary/health", timeout=2).read()
            break
        except OSError:
            if time.monotonic() > deadline or process.poll() is not None:
                process.kill()
                raise AssertionError("serve did not start") from None
            time.sleep(0.2)
    try:
        yield process, url, counter
    finally:
        process.terminate()
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()


def test_300_mb_without_a_newline_leaves_serve_memory_flat(spewing_serve) -> None:  # type: ignore[no-untyped-def]
    process, url, counter = spewing_serve
    client = boto3.client("lambda", endpoint_url=url, config=botocore.config.Config(read_timeout=900,
                                                                                   retries={"max_attempts": 0}),
                          **CREDENTIALS)

    def invoke(megabytes: int, tail: str = "") -> None:
        response = client.invoke(FunctionName="spew", Payload=f'{{"megabytes": {megabytes}, "tail": "{tail}"}}')
        assert "FunctionError" not in response and response["Payload"].read() == f'{{"written":{megabytes}}}'.encode()

    invoke(8)  # warm: environment started, every code path taken once
    before = _rss_kb(process.pid)
    written_before = counter.bytes
    invoke(300, tail="the-unfinished-end")
    after = _rss_kb(process.pid)
    deadline = time.monotonic() + 120  # the reader thread may lag behind serve: wait for the second REPORT line
    while counter.reports < 2 and time.monotonic() < deadline:
        time.sleep(0.2)
    assert counter.bytes - written_before >= 300 << 20  # every byte went through the log (cut into lines)
    assert counter.longest <= MAX_LINE_BYTES + 200  # "[spew] " and the newline on top of one piece
    unfinished = next(i for i, end in enumerate(counter.ends) if end.endswith(b"xthe-unfinished-end\n"))
    assert b"END RequestId:" in counter.ends[unfinished + 1]  # handed on when the invocation ended, before END
    growth_mb = (after - before) / 1024
    assert growth_mb < 20, f"serve's resident memory grew by {growth_mb:.1f} MB"
