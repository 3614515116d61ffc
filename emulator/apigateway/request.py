"""The request as the gateway sees it, independent of the HTTP server, and the ids it gets."""

from __future__ import annotations

import base64
import functools
import re
import time
from dataclasses import dataclass, field

from emulator import ids

_UUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")


def split_target(target: str) -> tuple[str, str | None]:
    """A request target's raw path and raw query (None when empty), without a fragment."""
    path, _, query = target.partition("?")
    query = query.split("#", 1)[0]
    return path.split("#", 1)[0], query or None


@dataclass
class IncomingRequest:
    """One client request: method, raw path (not decoded), raw query, headers in order and case, body."""

    method: str
    raw_path: str
    query_string: str | None
    headers: list[tuple[str, str]]
    body: bytes
    source_ip: str
    local_port: int
    host: str = ""

    def header(self, name: str) -> str | None:
        """Last value of a header, case-insensitively."""
        lowered = name.lower()
        value = None
        for key, item in self.headers:
            if key.lower() == lowered:
                value = item
        return value


@dataclass
class RequestIds:
    """Ids and times API Gateway gives a request."""

    request_id: str = field(default_factory=ids.uuid4)
    extended_request_id: str = field(
        default_factory=lambda: base64.b64encode(ids.random_bytes(12)).decode()[:15] + "=")
    epoch_ms: int = field(default_factory=lambda: int(time.time() * 1000))
    trace_id: str = field(default_factory=ids.trace_root)

    @classmethod
    def for_request(cls, request: IncomingRequest) -> RequestIds:
        """New ids, except that a client's UUID `x-amzn-RequestId` and its `X-Amzn-Trace-Id` are kept
        (reference §4.6)."""
        ids = cls()
        client_id = request.header("x-amzn-RequestId")
        if client_id and _UUID.match(client_id):
            ids.request_id = client_id.lower()
        client_trace = request.header("X-Amzn-Trace-Id")
        if client_trace:
            ids.trace_id = client_trace
        return ids

    @property
    def request_time(self) -> str:
        """CLF time, e.g. `10/Mar/2020:00:03:59 +0000`."""
        return _clf_time(self.epoch_ms // 1000)


@functools.lru_cache(maxsize=4)
def _clf_time(second: int) -> str:
    """A second's CLF text, formatted once (every request of that second asks for it)."""
    return time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(second))
