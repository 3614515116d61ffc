"""The request as the gateway sees it, independent of the HTTP server, and the ids it gets."""

from __future__ import annotations

import base64
import secrets
import time
import uuid
from dataclasses import dataclass, field


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

    request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    extended_request_id: str = field(
        default_factory=lambda: base64.b64encode(secrets.token_bytes(12)).decode()[:15] + "=")
    epoch_ms: int = field(default_factory=lambda: int(time.time() * 1000))
    trace_id: str = field(default_factory=lambda: f"Root=1-{int(time.time()):08x}-{secrets.token_hex(12)}")

    @property
    def request_time(self) -> str:
        """CLF time, e.g. `10/Mar/2020:00:03:59 +0000`."""
        return time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(self.epoch_ms / 1000))
