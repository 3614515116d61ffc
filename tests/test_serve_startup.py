"""`serve`'s start-up (issue 19, point 4): with the process backend the port listens as soon as the config file
is read, before asyncio, pydantic, the config model and the stack are imported; a connection made before the stack
is ready waits in the listening socket's backlog and gets the stack's answer; a config that is not valid is still
its one line and exit 2, with nothing served and the port released; the modules a config does not use (the
template engine, the state folder's models, rich, boto3, scipy) are not imported to serve it. A handler that cannot
load still stops serve with one line and exit 2: tests/test_serve_handler_check.py."""

from __future__ import annotations

import dataclasses
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from support import require_both_nodes

from emulator.cli import cli
from emulator.errors import UserError
from emulator.runtimes.catalogue import known_runtimes
from emulator.serve import listen_early
from emulator.stack import StackOptions
from emulator.testing import StackThread
from tests.conftest import EXAMPLES, REPO, free_port

PING = EXAMPLES / "ping" / "canary.yaml"
OPTIONS = StackOptions(port=0, seed=1, access_log=False, function_logs=False)


def _read_to_end(connection: socket.socket) -> bytes:
    chunks = []
    while chunk := connection.recv(65536):
        chunks.append(chunk)
    return b"".join(chunks)


def test_a_connection_made_before_the_stack_is_ready_gets_its_answer_once_it_is() -> None:
    """The request is sent before the stack is even built; the stack then serves the socket it is given."""
    require_both_nodes()
    listener = listen_early("127.0.0.1", 0)
    assert listener is not None
    port = listener.getsockname()[1]
    with socket.create_connection(("127.0.0.1", port), timeout=60) as client:  # accepted by the kernel alone
        client.sendall(b"GET /prod/ping HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        with StackThread(PING, dataclasses.replace(OPTIONS, listener=listener)) as running:
            assert running.url == f"http://127.0.0.1:{port}"
            answer = _read_to_end(client)
    assert answer.startswith(b"HTTP/1.1 200 "), answer[:200]
    assert b'"message":"pong"' in answer


def test_a_port_in_use_is_one_line_before_anything_starts() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(UserError, match=rf"^cannot listen on 127\.0\.0\.1:{port}: Address already in use; "
                                            r"choose another --port or --bind$"):
            listen_early("127.0.0.1", port)


def test_serve_with_a_port_in_use_exits_2_with_that_line() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = subprocess.run([sys.executable, "-m", "emulator.cli", "serve", str(PING), "--port", str(port)],
                                cwd=REPO, capture_output=True, text=True, timeout=120)
    assert result.returncode == 2, result
    assert result.stderr.strip().splitlines() == [
        f"lambda-canary: error: cannot listen on 127.0.0.1:{port}: Address already in use; choose another --port "
        "or --bind"]


UNUSED_BY_PING = ("airspeed", "jsonpath_ng", "rich", "botocore", "boto3", "scipy", "numpy",
                  "emulator.control_plane.persistence", "emulator.verify", "emulator.deploy")


def test_a_proxy_only_config_is_served_without_the_modules_it_does_not_use() -> None:
    """The command line and a built stack for examples/ping (proxy integrations, no state folder) load none of
    them; a mapping template loads the template engine when it is first compiled."""
    code = f"""
import sys
import emulator.cli, emulator.cli.run, emulator.serve
from emulator.formats.load import load_config
from emulator.stack import Stack, StackOptions
Stack(load_config(sys.argv[1]), StackOptions(port=0, access_log=False, function_logs=False))
print(sorted(name for name in {UNUSED_BY_PING!r} if name in sys.modules))
from emulator.apigateway.templates import render
render("$input.json('$.a')", body='{{"a": 1}}', parameters={{}}, context={{}}, stage_variables={{}})
print(sorted(name for name in ("airspeed", "jsonpath_ng") if name in sys.modules))
"""
    result = subprocess.run([sys.executable, "-c", code, str(PING)], cwd=REPO, capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == ["[]", "['airspeed', 'jsonpath_ng']"]


# Runs `lambda-canary serve ARGS...` with socket.listen observed: at its first listen it prints the port and the
# modules of LISTEN_FREE already imported, then serve goes on (or, with EXIT_AT_LISTEN set, the process ends).
AT_LISTEN = """
import os, socket, sys
listen = socket.socket.listen
def observed(self, *args):
    listen(self, *args)
    socket.socket.listen = listen
    print(self.getsockname()[1], sorted(name for name in {names!r} if name in sys.modules), flush=True)
    if os.environ.get("EXIT_AT_LISTEN"):
        os._exit(0)
socket.socket.listen = observed
sys.argv = ["lambda-canary", "serve", *sys.argv[1:]]
from emulator.cli import main
main()
"""
LISTEN_FREE = ("asyncio", "uvloop", "pydantic", "emulator.config", "emulator.stack", "emulator.lambda_service",
               "emulator.apigateway.handler", "aiohttp", "rich")


def _serve_observed(*args: str, exit_at_listen: bool = False) -> subprocess.Popen[str]:
    import os

    env = {**os.environ, "EXIT_AT_LISTEN": "1" if exit_at_listen else ""}
    return subprocess.Popen([sys.executable, "-c", AT_LISTEN.format(names=LISTEN_FREE), *args], cwd=REPO, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_serve_listens_before_it_imports_asyncio_pydantic_or_the_stack() -> None:
    """What a connection needs to be accepted is the config file read and a socket: the import budget of the
    listen path (the rest, 0.2 s of imports, runs while the connection waits)."""
    process = _serve_observed(str(PING), "--port", "0", exit_at_listen=True)
    out, err = process.communicate(timeout=120)
    assert process.returncode == 0, err
    port, loaded = out.strip().split(" ", 1)
    assert int(port) > 0
    assert loaded == "[]", out


def test_serve_answers_a_connection_made_the_moment_it_listens() -> None:
    """Through the command line: the request is sent as soon as the port listens (the config not yet validated,
    the stack not built); it waits, then gets the function's answer."""
    require_both_nodes()
    process = _serve_observed(str(PING), "--port", "0", "--seed", "1")
    try:
        assert process.stdout is not None
        port = int(process.stdout.readline().split(" ", 1)[0])
        with socket.create_connection(("127.0.0.1", port), timeout=60) as client:
            client.sendall(b"GET /prod/ping HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
            answer = _read_to_end(client)
    finally:
        process.terminate()
        _, err = process.communicate(timeout=60)
    assert answer.startswith(b"HTTP/1.1 200 "), (answer[:200], err)
    assert b'"message":"pong"' in answer
    assert "serving on" in err


def _bad_runtime(folder: Path) -> Path:
    """examples/ping's config (backend: process) with ping-canary on a runtime that does not exist."""
    config = folder / "canary.yaml"
    config.write_text(PING.read_text().replace("runtime: nodejs22.x", "runtime: nodejs99.x"))
    (folder / "src").symlink_to(PING.parent / "src")
    return config


def test_a_config_that_is_not_valid_is_one_line_and_exit_2_though_the_port_listened(tmp_path: Path) -> None:
    """Validation now runs after the port listens: its error is still the one line, exit 2, nothing served."""
    config = _bad_runtime(tmp_path)
    process = _serve_observed(str(config), "--port", "0")
    out, err = process.communicate(timeout=120)
    assert out.strip().endswith("[]"), out  # it listened
    assert process.returncode == 2, err
    line = next(number for number, text in enumerate(config.read_text().splitlines(), 1) if "nodejs99.x" in text)
    assert err.splitlines() == [f"lambda-canary: error: {config}:{line}: functions.ping-canary.runtime: unknown "
                                f"runtime 'nodejs99.x'; allowed: {known_runtimes()}"], err


def test_a_config_that_is_not_valid_releases_the_port_it_listened_on(tmp_path: Path) -> None:
    """In one process (so that no exit closes it): after the error the same port can listen again."""
    config = _bad_runtime(tmp_path)
    port = free_port()
    with pytest.raises(UserError, match=r"unknown runtime 'nodejs99\.x'"):
        cli.main(["serve", str(config), "--port", str(port)], standalone_mode=False)
    with socket.socket() as again:
        again.bind(("127.0.0.1", port))
        again.listen()


def test_serve_and_the_stack_ask_for_the_backend_by_one_rule() -> None:
    """--backend, else the config's `backend` key, else auto: what serve's early listen and the stack's choice of
    backend both read (emulator/backend_rules.py)."""
    from emulator.backend_rules import requested_backend

    assert [requested_backend(option, declared) for option, declared in (
        ("docker", "process"), (None, "process"), (None, None), (None, ""), (None, 7), ("process", None))] == [
        "docker", "process", "auto", "auto", "auto", "process"]
