"""Which process owns a leftover (a temporary folder, a cgroup, a container), and whether it is still alive.

A SIGKILLed emulator runs no cleanup, so what it leaves carries its owner's pid and start time; the next start
removes what belongs to owners that are gone.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import shutil
import tempfile
from pathlib import Path


def process_started(pid: int) -> str:
    """The start time of a process in clock ticks since boot ("" when unknown): tells a reused pid apart."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return ""
    return stat.rsplit(")", 1)[-1].split()[19]


def owner_alive(pid: int, started: str = "") -> bool:
    """Is that process still running (and the same process)? A zombie (exited, not yet reaped) is not."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass
    with contextlib.suppress(OSError, IndexError):
        if Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[-1].split()[0] == "Z":
            return False
    now = process_started(pid)
    return not (started and now and now != started)


def owned_temp_dir(prefix: str) -> Path:
    """A new temporary folder `<prefix><pid>-<start>-<random>`, removed at exit; those of dead owners go now."""
    for folder in Path(tempfile.gettempdir()).glob(f"{prefix}*"):
        pid, _, rest = folder.name[len(prefix):].partition("-")
        started = rest.partition("-")[0] if rest.count("-") else ""
        with contextlib.suppress(OSError):
            if (pid.isdigit() and folder.is_dir() and folder.stat().st_uid == os.getuid()
                    and not owner_alive(int(pid), started if started.isdigit() else "")):
                shutil.rmtree(folder, ignore_errors=True)
    folder = Path(tempfile.mkdtemp(prefix=f"{prefix}{os.getpid()}-{process_started(os.getpid())}-"))
    atexit.register(shutil.rmtree, folder, True)
    return folder
