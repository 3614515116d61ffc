"""The data plane's front door: an asyncio protocol over httptools for the common request, handing any other
request to aiohttp's connection handler together with the bytes received so far.

Why: aiohttp's request and response objects, its task per connection and its header machinery cost about 100 µs
of the event loop's CPU per request, a quarter of the whole request (measured under wrk; README, design notes).

What stays on this path: an HTTP/1.1 request whose head and body arrived whole, with no Transfer-Encoding, Expect,
Upgrade or Connection header other than keep-alive, for the data plane (not the admin API, not a signed AWS API
call). It is parsed once by llhttp (the parser aiohttp uses too) and answered by the gateway chain with the bytes
aiohttp writes for the same `GatewayHttpResponse` (`response_bytes`; tests/test_front_door.py compares the two).

What moves to aiohttp, for the rest of the connection, replaying that request's bytes: a head still arriving (the
header deadline), a body still arriving (the body deadline and the 413), a request llhttp refuses (the one-line
400), HTTP/1.0, a closing or upgrading connection, the admin API and the AWS API. Each keeps aiohttp's behaviour.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Protocol, cast
from urllib.parse import unquote

import httptools
from aiohttp.helpers import EMPTY_BODY_STATUS_CODES, rfc822_formatted_time
from aiohttp.http_writer import _FORBIDDEN_HEADER_CHARS_RE
from aiohttp.tcp_helpers import tcp_nodelay
from aiohttp.web_response import REASON_PHRASES
from multidict import CIMultiDict

from emulator import failures
from emulator.apigateway import gateway_responses as responses
from emulator.apigateway.request import IncomingRequest, split_target

if TYPE_CHECKING:
    from emulator.apigateway.handler import ApiGateway

ADMIN_PREFIX = "/_lambda_canary/"  # the admin API's paths (served by aiohttp: apigateway/server.py)
# a head longer than aiohttp's longest line goes to aiohttp, which applies its own limits (and answers as it does)
MAX_FAST_HEAD = 8190
# pipelined bytes kept while a request is answered before reading pauses
MAX_BUFFERED = 256 * 1024
_HEAD_END = b"\r\n\r\n"
# response headers the server frames with itself (framed_headers), and those whose presence changes what it adds
_FRAMING = frozenset({"content-length", "transfer-encoding"})
_SERVER_SET = frozenset({"content-length", "transfer-encoding", "date", "server", "connection"})
# request headers that take a request off this path (lower-case)
_SLOW_HEADERS = frozenset({b"transfer-encoding", b"expect", b"upgrade", b"x-amz-target", b"content-encoding"})
# aiohttp's request parser: headers that may come once, and how many headers it takes
_SINGLETON_HEADERS = frozenset({b"content-length", b"content-location", b"content-range", b"content-type", b"etag",
                                b"host", b"max-forwards", b"server", b"transfer-encoding", b"user-agent"})
_MAX_HEADERS = 128


class FrontDoor(Protocol):
    """What a connection needs of its server (apigateway/server.py's GatewayServer)."""

    gateway: ApiGateway
    debug: bool
    closing: bool
    fast_connections: set[FastConnection]

    def log(self, line: str) -> None: ...


class _Head:
    """What llhttp reports of one request head (the httptools callbacks), and whether aiohttp would take the
    request differently: those requests go to aiohttp (its request parser, aiohttp 3.x `_http_parser.pyx`, refuses a
    repeated singleton header, a NUL in a value, more than 128 headers and an HTTP/1.1 request without Host, and
    decompresses a Content-Encoding body)."""

    __slots__ = ("complete", "content_length", "has_host", "headers", "seen", "slow", "url")

    def __init__(self) -> None:
        self.url = b""
        self.headers: list[tuple[bytes, bytes]] = []
        self.seen: set[bytes] = set()
        self.content_length = 0
        self.has_host = False
        self.slow = False
        self.complete = False

    def on_url(self, url: bytes) -> None:
        self.url += url

    def on_header(self, name: bytes, value: bytes) -> None:
        value = value.rstrip(b" \t")  # llhttp strips the space before a value, aiohttp the space after it
        self.headers.append((name, value))
        lower = name.lower()
        if lower in _SINGLETON_HEADERS:
            if lower in self.seen:
                self.slow = True
            self.seen.add(lower)
            if lower == b"host":
                self.has_host = True
            elif lower == b"content-length":
                self.content_length = int(value) if value.isdigit() else -1
        if lower in _SLOW_HEADERS or b"\0" in value:
            self.slow = True
        elif lower == b"connection":
            if value.lower() != b"keep-alive":
                self.slow = True
        elif lower == b"authorization" and value.startswith(b"AWS4-HMAC-SHA256"):
            self.slow = True  # possibly the AWS API: aiohttp's path tells the planes apart

    def on_headers_complete(self) -> None:
        self.complete = True
        if not self.has_host or len(self.headers) > _MAX_HEADERS:
            self.slow = True


class FastConnection(asyncio.Protocol):
    """One client connection while its requests are plain data-plane requests."""

    def __init__(self, front: FrontDoor, hand_over: Callable[[], asyncio.Protocol]) -> None:
        self._front = front
        self._hand_over_to = hand_over
        self._transport: asyncio.Transport | None = None
        self._buffer = bytearray()
        self._busy = False
        self._write_paused = False
        self._read_paused = False
        self._source_ip = "127.0.0.1"
        self._local_port = 0
        self._local_host = ""
        self.idle_since = time.monotonic()

    # ---- asyncio.Protocol ----
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        transport = cast(asyncio.Transport, transport)  # uvloop's transports are not asyncio.Transport subclasses
        self._transport = transport
        peer = transport.get_extra_info("peername")
        sock = transport.get_extra_info("sockname")
        if peer:
            self._source_ip = peer[0]
        if sock:
            self._local_port = sock[1]
            self._local_host = f"[{sock[0]}]" if len(sock) == 4 else str(sock[0])
        tcp_nodelay(transport, True)
        self._front.fast_connections.add(self)

    def data_received(self, data: bytes) -> None:
        self._buffer += data
        if self._busy or self._write_paused:
            if len(self._buffer) > MAX_BUFFERED and not self._read_paused and self._transport is not None:
                self._transport.pause_reading()
                self._read_paused = True
            return
        self._serve_next()

    def connection_lost(self, exc: BaseException | None) -> None:
        self._front.fast_connections.discard(self)
        self._transport = None

    def pause_writing(self) -> None:
        self._write_paused = True

    def resume_writing(self) -> None:
        self._write_paused = False
        if not self._busy:
            self._serve_next()

    # ---- requests ----
    @property
    def idle(self) -> bool:
        """No request is being answered."""
        return not self._busy

    def close(self) -> None:
        """Close the connection (an idle one at shutdown or after the keep-alive timeout)."""
        if self._transport is not None:
            self._transport.close()

    def _serve_next(self) -> None:
        """Answer the next buffered request here, or hand the connection to aiohttp."""
        buffer = self._buffer
        if not buffer or self._transport is None:
            return
        end = buffer.find(_HEAD_END, 0, MAX_FAST_HEAD)
        if end < 0:
            self._hand_over()
            return
        head_length = end + 4
        head = _Head()
        parser = httptools.HttpRequestParser(head)
        try:
            parser.feed_data(bytes(buffer[:head_length]))
        except httptools.HttpParserError:
            self._hand_over()
            return
        total = head_length + head.content_length
        if (not head.complete or head.slow or head.content_length < 0 or parser.get_http_version() != "1.1"
                or len(buffer) < total or not head.url.startswith(b"/")):
            self._hand_over()
            return
        method = parser.get_method().decode("ascii")
        path, query = split_target(head.url.decode("utf-8", "surrogateescape"))  # decoded as aiohttp does
        if path.startswith(ADMIN_PREFIX) or ("%" in path and unquote(path).startswith(ADMIN_PREFIX)):
            self._hand_over()  # aiohttp tells the planes apart on the decoded path: /%5Flambda_canary/ is admin too
            return
        body = bytes(buffer[head_length:total])
        del buffer[:total]
        headers = [(name.decode("latin-1"), value.decode("utf-8", "replace")) for name, value in head.headers]
        host = self._local_host
        for name, value in headers:
            if name.lower() == "host":
                host = value
                break
        request = IncomingRequest(method, path, query, headers, body, self._source_ip, self._local_port, host)
        self._busy = True
        asyncio.get_running_loop().create_task(self._answer(request))

    async def _answer(self, request: IncomingRequest) -> None:
        try:
            response, _record = await self._front.gateway.handle(request)
            data = response_bytes(request.method, response.status, response.body, response.headers)
        except Exception as error:
            failures.report(self._front.log, f"data plane: {request.method} {request.raw_path} failed", error,
                            self._front.debug)
            failed = responses.internal_server_error(500)
            data = response_bytes(request.method, failed.status, failed.body, failed.headers)
        self._busy = False
        self.idle_since = time.monotonic()
        transport = self._transport
        if transport is None or transport.is_closing():
            return
        if data is None:  # a header with a control character (the chain answers 502 for a function's: never here)
            self._front.log(f"lambda-canary: closed the connection of {request.method} {request.raw_path}: its "
                            f"response has a header HTTP cannot carry")
            transport.close()
            return
        transport.write(data)
        if self._front.closing:
            transport.close()
            return
        if self._read_paused:
            self._read_paused = False
            transport.resume_reading()
        if not self._write_paused:
            self._serve_next()

    def _hand_over(self) -> None:
        """Move the connection to aiohttp's handler, replaying the bytes of the request it has not answered."""
        transport = self._transport
        if transport is None:
            return
        self._front.fast_connections.discard(self)
        self._transport = None
        if self._read_paused:
            transport.resume_reading()
        handler = self._hand_over_to()
        transport.set_protocol(handler)
        handler.connection_made(transport)
        data, self._buffer = bytes(self._buffer), bytearray()
        if data:
            handler.data_received(data)


def framed_headers(headers: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """The response's headers with the framing left to the server: a Content-Length or Transfer-Encoding the
    chain carries (a non-proxy integration can map one from the function's output) goes out renamed
    x-amzn-Remapped-<name>, as API Gateway sends a proxy response's, so no output can reframe the connection."""
    if not any(name.lower() in _FRAMING for name, _ in headers):
        return headers
    return [("x-amzn-Remapped-" + name if name.lower() in _FRAMING else name, value) for name, value in headers]


def response_bytes(method: str, status: int, body: bytes, headers: list[tuple[str, str]]) -> bytes | None:
    """The bytes aiohttp writes for `GatewayHttpResponse(status=..., body=..., headers=framed_headers(...))`
    answering an HTTP/1.1 keep-alive request, step by step as aiohttp 3.x takes them (Response._start,
    StreamResponse._prepare_headers, GatewayHttpResponse._write_headers); None where aiohttp refuses to write a
    header (a control character in it)."""
    lines = [f"HTTP/1.1 {status} {REASON_PHRASES.get(status, '')}\r\n"]
    texts = []  # names and values, checked at once
    usual = status not in EMPTY_BODY_STATUS_CODES and method != "HEAD"
    typed = False
    for name, value in headers:
        lowered = name.lower()
        if lowered in _SERVER_SET:
            usual = False
            break
        typed = typed or lowered == "content-type"
        lines.append(f"{name}: {value}\r\n")
        texts.append(name)
        texts.append(value)
    if not usual:
        return _response_bytes_in_full(method, status, body, headers)
    # the usual response: none of the headers the server sets, a status and method with a body
    if _FORBIDDEN_HEADER_CHARS_RE.search("".join(texts)) is not None:
        return None
    head = "".join(lines)
    default_type = "" if typed or not body else "Content-Type: application/octet-stream\r\n"
    return (f"{head}Content-Length: {len(body)}\r\n{default_type}Date: {rfc822_formatted_time()}\r\n"
            "Connection: keep-alive\r\n\r\n").encode() + body


def _response_bytes_in_full(method: str, status: int, body: bytes, headers: list[tuple[str, str]]) -> bytes | None:
    sent = CIMultiDict(framed_headers(headers))
    must_be_empty = status in EMPTY_BODY_STATUS_CODES or method == "HEAD"
    if status not in EMPTY_BODY_STATUS_CODES and (body or method != "HEAD"):
        sent["Content-Length"] = str(len(body))
    if not must_be_empty and body:
        sent.setdefault("Content-Type", "application/octet-stream")
    if "Date" not in sent:
        sent["Date"] = rfc822_formatted_time()
    sent.popall("Server", None)
    if "Connection" not in sent:
        sent["Connection"] = "keep-alive"
    lines = [f"HTTP/1.1 {status} {REASON_PHRASES.get(status, '')}"]
    for name, value in sent.items():
        if _FORBIDDEN_HEADER_CHARS_RE.search(name) or _FORBIDDEN_HEADER_CHARS_RE.search(value):
            return None
        lines.append(f"{name}: {value}")
    lines.append("\r\n")
    data = "\r\n".join(lines).encode("utf-8")
    return data if must_be_empty or not body else data + body
