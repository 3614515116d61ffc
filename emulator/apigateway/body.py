"""Reading a request body with a size limit and an idle timeout, so a slow or huge upload never holds the
server: the caller answers its own AWS-shaped 413, and a stalled body closes the connection."""

from __future__ import annotations

import asyncio

from aiohttp import web


class BodyTooLarge(Exception):
    """The body is over the limit (known from Content-Length, or found while reading)."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"request body over {limit} bytes")
        self.limit = limit


class BodyTimeout(Exception):
    """No byte of the body arrived for `idle` seconds."""

    def __init__(self, idle: float) -> None:
        super().__init__(f"no byte of the request body arrived for {idle:g} s")


async def read_body(request: web.BaseRequest, limit: int, idle_timeout: float, *, keep: int | None = None) -> bytes:
    """The whole body, at most `limit - 1` bytes (a body of `limit` bytes or more raises BodyTooLarge).

    With `keep`, a body over the limit is not refused: the first `keep` bytes are returned (enough for the caller
    to see it is too long) and the rest is left for the server to drain or drop.
    """
    if not request.can_read_body:
        return b""
    declared = request.content_length
    if declared is not None and declared >= limit and keep is None:
        raise BodyTooLarge(limit)
    chunks: list[bytes] = []
    size = 0
    while True:
        try:
            chunk = await asyncio.wait_for(request.content.readany(), idle_timeout)
        except TimeoutError:
            raise BodyTimeout(idle_timeout) from None
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
        if size >= limit:
            if keep is None:
                raise BodyTooLarge(limit)
            return b"".join(chunks)[:keep]
    return b"".join(chunks)
