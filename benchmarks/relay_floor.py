"""The architecture's floor: what a Python event loop relaying HTTP requests to real Node processes over the Lambda
Runtime API costs when it does nothing else (no routing, no canary choice, no proxy event, no logs, no checks).

wrk -> uvloop + httptools front door -> an idle environment's `GET /next` answer -> runtimes/nodejs/index.mjs
(lambda-canary's own Node client) running examples/ping's handler -> `POST /response` -> the body back to wrk.
`serve`'s distance from this floor is its own per-request work; this floor's distance from the bare Node server
is the design's (two processes, two HTTP exchanges per request). benchmarks/gateway_bench.py runs it beside both.

Run: `.venv/bin/python -m benchmarks.relay_floor PORT [ENVIRONMENTS]`; it prints "listening" once ready.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import uuid
from collections import deque
from pathlib import Path

import httptools
import uvloop

from emulator.runtimes.provision import require_node

REPO = Path(__file__).resolve().parent.parent
EVENT = json.dumps({"path": "/ping", "httpMethod": "GET", "headers": {"Host": "localhost"}}).encode()
_ACCEPTED = b'HTTP/1.1 202 Accepted\r\nContent-Type: application/json\r\nContent-Length: 15\r\n\r\n{"status":"OK"}'


class Relay:
    """Requests waiting for an environment, and environments waiting in `GET /next`."""

    def __init__(self) -> None:
        self.waiting: deque[asyncio.Transport] = deque()
        self.idle: deque[RuntimeConnection] = deque()


class RuntimeConnection(asyncio.Protocol):
    """One environment's Runtime API connection."""

    def __init__(self, relay: Relay) -> None:
        self.relay = relay
        self.parser = httptools.HttpRequestParser(self)
        self.transport: asyncio.Transport | None = None
        self.client: asyncio.Transport | None = None
        self.url = b""
        self.body: list[bytes] = []

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        self.parser.feed_data(data)

    def on_url(self, url: bytes) -> None:
        self.url = url

    def on_body(self, body: bytes) -> None:
        self.body.append(body)

    def on_message_complete(self) -> None:
        assert self.transport is not None
        if self.url.endswith(b"/next"):
            if self.relay.waiting:
                self.invoke(self.relay.waiting.popleft())
            else:
                self.relay.idle.append(self)
            return
        result = json.loads(b"".join(self.body))
        self.body = []
        self.transport.write(_ACCEPTED)
        client, self.client = self.client, None
        if client is not None and not client.is_closing():
            body = result["body"].encode()
            client.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n"
                         b"Connection: keep-alive\r\n\r\n%s" % (len(body), body))

    def invoke(self, client: asyncio.Transport) -> None:
        assert self.transport is not None
        self.client = client
        self.transport.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nLambda-Runtime-Aws-Request-Id: %s"
                             b"\r\nLambda-Runtime-Deadline-Ms: 9999999999999\r\nLambda-Runtime-Invoked-Function-Arn: "
                             b"arn:aws:lambda:us-east-1:123456789012:function:floor\r\nContent-Length: %d\r\n\r\n%s"
                             % (str(uuid.uuid4()).encode(), len(EVENT), EVENT))


class ClientConnection(asyncio.Protocol):
    """One wrk connection: each whole request goes to an idle environment or waits for one."""

    def __init__(self, relay: Relay) -> None:
        self.relay = relay
        self.parser = httptools.HttpRequestParser(self)
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        self.parser.feed_data(data)

    def on_message_complete(self) -> None:
        assert self.transport is not None
        if self.relay.idle:
            self.relay.idle.pop().invoke(self.transport)  # the environment idle last, as serve's pool takes
        else:
            self.relay.waiting.append(self.transport)


async def serve(port: int, environments: int) -> None:
    """Start the environments, listen, and relay until killed."""
    loop = asyncio.get_running_loop()
    relay = Relay()
    runtime_api = await loop.create_server(lambda: RuntimeConnection(relay), "127.0.0.1", 0)
    api_port = runtime_api.sockets[0].getsockname()[1]
    code = REPO / "examples" / "ping"
    env = {"PATH": os.environ.get("PATH", ""), "AWS_LAMBDA_RUNTIME_API": f"127.0.0.1:{api_port}",
           "_HANDLER": "src/handlers/ping.handler", "LAMBDA_TASK_ROOT": str(code),
           "AWS_LAMBDA_FUNCTION_NAME": "floor", "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST"}
    node = str(require_node("nodejs22.x"))
    processes = [subprocess.Popen([node, str(REPO / "runtimes" / "nodejs" / "index.mjs")], env=env, cwd=code)
                 for _ in range(environments)]
    try:
        await loop.create_server(lambda: ClientConnection(relay), "127.0.0.1", port, backlog=1024)
        print("listening", flush=True)
        await asyncio.Event().wait()
    finally:
        for process in processes:
            process.kill()


if __name__ == "__main__":
    uvloop.run(serve(int(sys.argv[1]), int(sys.argv[2]) if len(sys.argv) > 2 else 8))
