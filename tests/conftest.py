"""Shared fixtures: paths, and a free loopback port."""

from __future__ import annotations

import shutil
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
EXAMPLES = REPO / "examples"


@pytest.fixture
def shared_dir() -> Iterator[Path]:
    """A folder the functions may write to, whatever uid they run as."""
    from support import shared_folder

    folder = shared_folder()
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
def repo_root() -> Path:
    return REPO


@pytest.fixture
def ping_config() -> Path:
    return EXAMPLES / "ping" / "canary.yaml"


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]
