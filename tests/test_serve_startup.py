"""`serve`'s start-up (issue 19, point 4): with the process backend the port listens as soon as the config is
loaded, and a connection made before the stack is ready waits in the listening socket's backlog and gets the
stack's answer; the modules a config does not use (the template engine, the state folder's models, rich, boto3,
scipy) are not imported to serve it. A handler that cannot load still stops serve with one line and exit 2:
tests/test_serve_handler_check.py."""

from __future__ import annotations

import dataclasses
import socket
import subprocess
import sys

import pytest
from support import require_both_nodes

from emulator.errors import UserError
from emulator.serve import listen_early
from emulator.stack import StackOptions
from emulator.testing import StackThread
from tests.conftest import EXAMPLES, REPO

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
