"""Why the HTTP layer is aiohttp: the same JSON answer from a minimal Flask (Werkzeug, threaded) server and from a
minimal aiohttp server on uvloop, each in its own process, under the same keep-alive load."""

from __future__ import annotations

import asyncio
import multiprocessing
import shutil
import socket
import time

import aiohttp
from rich.console import Console
from rich.table import Table

BODY = {"message": "pong", "node": "v22.23.3"}
REQUESTS = 4000


def _port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _flask(port: int) -> None:
    import logging

    from flask import Flask

    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    app = Flask("bench")
    app.add_url_rule("/ping", "ping", lambda: BODY)
    app.run("127.0.0.1", port, threaded=True)


def _aiohttp(port: int) -> None:
    import uvloop
    from aiohttp import web

    async def ping(_request: web.Request) -> web.Response:
        return web.json_response(BODY)

    app = web.Application()
    app.router.add_get("/ping", ping)
    uvloop.install()
    web.run_app(app, host="127.0.0.1", port=port, print=None, access_log=None)


async def _load(url: str, requests: int, concurrency: int) -> float:
    remaining = iter(range(requests))
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=concurrency)) as session:

        async def worker() -> None:
            for _ in remaining:
                async with session.get(url) as response:
                    await response.read()

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        return requests / (time.perf_counter() - started)


def measure(target: str, concurrency: int) -> float:
    """Requests per second of one server at one concurrency."""
    port = _port()
    process = multiprocessing.Process(target=_flask if target == "flask" else _aiohttp, args=(port,), daemon=True)
    process.start()
    try:
        url = f"http://127.0.0.1:{port}/ping"
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                time.sleep(0.1)
        if shutil.which("wrk"):  # the same load generator as gateway_bench
            from benchmarks.gateway_bench import wrk

            return wrk(url, concurrency, 1)["rps"]  # 1 s, unwarmed: the tenfold gap needs no more (< 2 min in all)
        asyncio.run(_load(url, 200, concurrency))
        return asyncio.run(_load(url, REQUESTS, concurrency))
    finally:
        process.terminate()
        process.join(10)


def run(console: Console) -> None:
    """The table `make bench` prints."""
    table = Table("server", "concurrency 1", "concurrency 8", title="the same JSON answer (wrk, keep-alive)")
    for target, label in (("flask", "Flask 3 / Werkzeug, threaded"), ("aiohttp", "aiohttp on uvloop")):
        table.add_row(label, *(f"{measure(target, concurrency):,.0f} req/s" for concurrency in (1, 8)))
    console.print(table)


if __name__ == "__main__":
    run(Console())
