"""A lean HTTP/1.1 GET client for `split` against the stack it runs in-process.

`split` shares one process (and its GIL) with the stack it measures, so the client's CPU is taken from the gateway:
aiohttp's client costs more per request than the gateway answering it (issue 19: `split --requests 10000` took
7.8 s). This one writes a request prebuilt once and parses answers with httptools, over `concurrency` keep-alive
connections. Plain `http://` only; `split URL` (any server, https, redirects) keeps aiohttp.
"""

from __future__ import annotations

import asyncio
import time
import urllib.parse
from collections.abc import Awaitable, Callable
from typing import Any

import httptools

from emulator.errors import UserError

ResponseCallback = Callable[[int, dict[str, str], bytes, float], Awaitable[None] | None]
TIMEOUT_S = 60.0


class _Connection(asyncio.Protocol):
    """One keep-alive connection: one request at a time."""

    def __init__(self) -> None:
        self._transport: Any = None
        self._parser = httptools.HttpResponseParser(self)
        self._waiter: asyncio.Future[tuple[int, dict[str, str], bytes, bool]] | None = None
        self._headers: dict[str, str] = {}
        self._body: list[bytes] = []
        self.open = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = transport
        self.open = True

    def connection_lost(self, exc: Exception | None) -> None:
        self.open = False
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_exception(ConnectionError(str(exc) if exc else "the server closed the connection"))

    def data_received(self, data: bytes) -> None:
        try:
            self._parser.feed_data(data)
        except httptools.HttpParserError as error:
            if self._waiter is not None and not self._waiter.done():
                self._waiter.set_exception(ConnectionError(f"malformed HTTP response: {error}"))
            self._transport.close()

    def on_header(self, name: bytes, value: bytes) -> None:
        self._headers[name.decode("latin-1").lower()] = value.decode("latin-1")

    def on_body(self, body: bytes) -> None:
        self._body.append(body)

    def on_message_complete(self) -> None:
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result((self._parser.get_status_code(), self._headers, b"".join(self._body),
                                     self._parser.should_keep_alive()))

    def request(self, data: bytes) -> asyncio.Future[tuple[int, dict[str, str], bytes, bool]]:
        """Send one prebuilt request; the future holds status, lower-cased headers, body and keep-alive."""
        self._headers, self._body = {}, []
        self._waiter = asyncio.get_running_loop().create_future()
        self._transport.write(data)
        return self._waiter

    def close(self) -> None:
        if self._transport is not None:
            self._transport.close()


def _timed_out(waiter: asyncio.Future[Any]) -> None:
    if not waiter.done():
        waiter.set_exception(TimeoutError())


async def send(url: str, requests: int, concurrency: int, on_response: ResponseCallback,
               progress: Callable[[int], None] | None = None, host: str | None = None,
               headers: dict[str, str] | None = None) -> None:
    """Send `requests` GETs to an `http://` URL with `concurrency` keep-alive connections (the same contract as
    `split.send`): `on_response(status, headers, body, latency_ms)` for each answer."""
    parts = urllib.parse.urlsplit(url)
    hostname = parts.hostname
    if parts.scheme != "http" or not hostname:
        raise ValueError(f"not a plain http URL: {url}")
    port = parts.port or 80
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    lines = [f"GET {target} HTTP/1.1", f"Host: {host or parts.netloc}", "Accept: */*"]
    lines += [f"{name}: {value}" for name, value in (headers or {}).items() if name.lower() != "host"]
    data = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
    loop = asyncio.get_running_loop()
    remaining = iter(range(requests))

    async def connect() -> _Connection:
        _transport, connection = await loop.create_connection(_Connection, hostname, port)
        return connection

    async def worker() -> None:
        connection = await connect()
        try:
            for _ in remaining:
                if not connection.open:
                    connection = await connect()
                started = time.perf_counter()
                waiter = connection.request(data)
                timer = loop.call_later(TIMEOUT_S, _timed_out, waiter)
                try:
                    status, answer_headers, body, keep_alive = await waiter
                finally:
                    timer.cancel()
                latency = (time.perf_counter() - started) * 1000
                if not keep_alive:
                    connection.close()
                handled = on_response(status, answer_headers, body, latency)
                if handled is not None:
                    await handled
                if progress is not None:
                    progress(1)
        finally:
            connection.close()

    try:
        await asyncio.gather(*(worker() for _ in range(concurrency)))
    except (OSError, TimeoutError) as error:
        raise UserError(f"{url}: {type(error).__name__}: {error or 'timed out'}") from None
