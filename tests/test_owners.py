"""Leftovers of killed emulators: temporary folders of dead owners are removed at the next start, live ones kept."""

from __future__ import annotations

import os
import subprocess
import tempfile
from pathlib import Path

from emulator.owners import owned_temp_dir, owner_alive, process_started

PREFIX = "lambda-canary-sandbox-"


def test_sandbox_folders_of_dead_owners_go_and_live_ones_stay() -> None:
    gone = subprocess.Popen(["true"])
    gone.wait()
    temp = Path(tempfile.gettempdir())
    dead = temp / f"{PREFIX}{gone.pid}-{process_started(os.getpid())}-testdead"
    (dead / "code" / "abc").mkdir(parents=True)
    alive = temp / f"{PREFIX}{os.getpid()}-{process_started(os.getpid())}-testalive"
    alive.mkdir()
    reused = temp / f"{PREFIX}{os.getpid()}-1-testreused"  # our pid, another start time: a reused pid
    reused.mkdir()
    try:
        mine = owned_temp_dir(PREFIX)
        assert not dead.exists() and not reused.exists()
        assert alive.is_dir() and mine.is_dir() and mine.name.startswith(f"{PREFIX}{os.getpid()}-")
    finally:
        for folder in (alive, reused):
            if folder.exists():
                folder.rmdir()


def test_a_zombie_owner_is_gone() -> None:
    child = subprocess.Popen(["true"])
    try:
        os.waitid(os.P_PID, child.pid, os.WEXITED | os.WNOWAIT)  # exited, not reaped: a zombie
        assert not owner_alive(child.pid)
    finally:
        child.wait()
    assert owner_alive(os.getpid(), process_started(os.getpid()))
