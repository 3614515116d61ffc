"""Containment of the process backend's environments: a cgroup, a user and a parent-death signal each.

What the machine allows is found once per backend (`Containment.detect`) and said in one line at start:

* tracking: a cgroup v2 per environment (the pure v2 mount, or the `unified` one of a hybrid machine),
  killed at once with `cgroup.kill` when the environment ends, by a watchdog when the emulator dies
  (even by SIGKILL), and by a sweep of dead emulators' cgroups at the next start. Without one: a
  process group per environment and PR_SET_PDEATHSIG (detached children may then survive a SIGKILL).
* memory: `memory.max` of that cgroup (v2), else a cgroup v1 memory controller
  (`memory.limit_in_bytes`), else a resident-memory watch; the kernel (or the watch) kills the
  environment above the function's memorySize. Max Memory Used is the cgroup's peak
  (`memory.peak`, `memory.max_usage_in_bytes`) or the watch's, read with one `pread` per invoke.
* users: as root, each function version runs as a uid/gid of its own from a reserved range (no
  /etc/passwd entry), with no supplementary groups, from a private copy of its code (mode 0700);
  the Node binary and the runtime client are linked or copied to a root-owned, world-readable place.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import errno
import fcntl
import hashlib
import os
import random
import secrets
import shutil
import signal
import subprocess
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from emulator.lambda_service.model import FunctionVersion
from emulator.owners import owned_temp_dir, owner_alive, process_started

UID_BASE = 1_600_000_000  # the reserved range: uid = gid = UID_BASE + n
UID_COUNT = 65536
_PR_SET_PDEATHSIG = 1
_PR_SET_DUMPABLE = 4
_MB = 1024 * 1024
_WATCH_INTERVAL_S = 0.05
_LOCK_DIRS = ("/run/lambda-canary/uids", os.path.join(tempfile.gettempdir(), "lambda-canary-uids"))
_libc = ctypes.CDLL(None, use_errno=True)

# Runs as the watchdog: waits for EOF on stdin (the emulator closed it or died), then kills every
# environment cgroup of that emulator in one write, waits for them to empty and removes them.
_WATCHDOG = r"""
read -r _
if [ -f "$1/cgroup.kill" ]; then echo 1 > "$1/cgroup.kill"
else find "$1" -name cgroup.procs -exec cat {} + 2>/dev/null | xargs -r kill -9 2>/dev/null; fi
i=0
while grep -q 'populated 1' "$1/cgroup.events" 2>/dev/null && [ $i -lt 200 ]; do sleep 0.05; i=$((i+1)); done
for d in "$@"; do [ -d "$d" ] && find "$d" -depth -type d -exec rmdir {} + 2>/dev/null; done
exit 0
"""


# ---- the machine's cgroups ---------------------------------------------------------------------------
def _mounts() -> tuple[Path | None, Path | None]:
    """The cgroup v2 mount and the cgroup v1 memory mount, from /proc/self/mountinfo."""
    v2 = v1_memory = None
    try:
        lines = Path("/proc/self/mountinfo").read_text().splitlines()
    except OSError:
        return None, None
    for line in lines:
        before, _, after = line.partition(" - ")
        fields_after = after.split()
        if len(fields_after) < 3:
            continue
        mount_point = Path(before.split()[4])
        if fields_after[0] == "cgroup2" and v2 is None:
            v2 = mount_point
        elif fields_after[0] == "cgroup" and "memory" in fields_after[2].split(","):
            v1_memory = mount_point
    return v2, v1_memory


def _own_cgroup(controller: str | None) -> str:
    """This process's cgroup path in the v2 hierarchy (None) or a v1 controller's."""
    for line in Path("/proc/self/cgroup").read_text().splitlines():
        _, controllers, path = line.split(":", 2)
        if (controller is None and controllers == "") or (controller and controller in controllers.split(",")):
            return path
    return "/"


def _write(path: Path, text: str) -> None:
    with open(path, "w") as handle:
        handle.write(text)


def _rmtree_cgroup(path: Path) -> None:
    """Remove a cgroup directory and its children, deepest first (only empty cgroups can go)."""
    if not path.is_dir():
        return
    for child in sorted((p for p in path.rglob("*") if p.is_dir()), key=lambda p: len(p.parts), reverse=True):
        with contextlib.suppress(OSError):
            child.rmdir()
    with contextlib.suppress(OSError):
        path.rmdir()


def _kill_cgroup(path: Path) -> None:
    """SIGKILL every process of a v2 cgroup and its children (cgroup.kill, else one by one)."""
    try:
        _write(path / "cgroup.kill", "1")
        return
    except OSError:
        pass
    for procs in path.rglob("cgroup.procs"):
        with contextlib.suppress(OSError, ValueError):
            for pid in procs.read_text().split():
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.kill(int(pid), signal.SIGKILL)


# ---- one environment's share -----------------------------------------------------------------------
@dataclass
class EnvironmentCgroups:
    """The cgroups of one environment: tracking (v2) and memory (the same one, a v1 one, or none)."""

    track: Path | None
    memory_v1: Path | None
    memory_v2: bool
    limit_bytes: int
    join_fds: list[int] = field(default_factory=list)
    peak_fd: int | None = None
    final_peak: int | None = None

    @property
    def limits_memory(self) -> bool:
        """Does a memory controller limit (and measure) this environment?"""
        return self.memory_v2 or self.memory_v1 is not None

    def peak_bytes(self) -> int:
        """The environment's peak memory so far (one pread on an open cgroup file)."""
        if self.final_peak is not None:
            return self.final_peak
        if self.peak_fd is None:
            return 0
        try:
            return int(os.pread(self.peak_fd, 32, 0))
        except (OSError, ValueError):
            return 0

    def out_of_memory(self) -> bool:
        """Did the kernel's OOM killer act in this environment?"""
        if self.memory_v2 and self.track is not None:
            source, key = self.track / "memory.events", "oom_kill"
        elif self.memory_v1 is not None:
            source, key = self.memory_v1 / "memory.oom_control", "oom_kill"
        else:
            return False
        try:
            for line in source.read_text().splitlines():
                name, _, value = line.partition(" ")
                if name == key:
                    return int(value) > 0
        except (OSError, ValueError):
            pass
        return False

    def kill(self) -> None:
        """SIGKILL everything in the environment, detached children included."""
        if self.track is not None:
            _kill_cgroup(self.track)
        elif self.memory_v1 is not None:
            with contextlib.suppress(OSError, ValueError):
                for pid in (self.memory_v1 / "cgroup.procs").read_text().split():
                    with contextlib.suppress(ProcessLookupError, PermissionError):
                        os.kill(int(pid), signal.SIGKILL)

    def _populated(self) -> bool:
        try:
            if self.track is not None:
                return "populated 1" in (self.track / "cgroup.events").read_text()
            if self.memory_v1 is not None:
                return bool((self.memory_v1 / "cgroup.procs").read_text().strip())
        except OSError:
            return False
        return False

    async def remove(self) -> None:
        """Kill what is left, keep the final peak, close the files and remove the cgroups."""
        self.final_peak = self.peak_bytes()
        for fd in [*self.join_fds, *([self.peak_fd] if self.peak_fd is not None else [])]:
            with contextlib.suppress(OSError):
                os.close(fd)
        self.join_fds, self.peak_fd = [], None
        self.kill()
        for _ in range(200):
            if not self._populated():
                break
            await asyncio.sleep(0.01)
        for path in (self.track, self.memory_v1):
            if path is not None:
                _rmtree_cgroup(path)


class ResidentWatch:
    """Where no memory cgroup can be had: samples a process's resident memory and kills it above a limit."""

    def __init__(self, pid: int, limit_bytes: int, on_exceeded: Callable[[], None]) -> None:
        self.peak = 0
        self.exceeded = False
        self._limit = limit_bytes
        self._page = os.sysconf("SC_PAGE_SIZE")
        self._on_exceeded = on_exceeded
        try:
            self._fd: int | None = os.open(f"/proc/{pid}/statm", os.O_RDONLY)
        except OSError:
            self._fd = None
        self._task = asyncio.get_running_loop().create_task(self._run())

    def sample(self) -> int:
        """The resident bytes now (and the peak updated)."""
        if self._fd is None:
            return 0
        try:
            resident = int(os.pread(self._fd, 128, 0).split()[1]) * self._page
        except (OSError, ValueError, IndexError):
            return 0
        self.peak = max(self.peak, resident)
        return resident

    async def _run(self) -> None:
        while self._fd is not None:
            if self.sample() > self._limit:
                self.exceeded = True
                self._on_exceeded()
                return
            await asyncio.sleep(_WATCH_INTERVAL_S)

    def stop(self) -> None:
        """Stop sampling."""
        self._task.cancel()
        if self._fd is not None:
            with contextlib.suppress(OSError):
                os.close(self._fd)
            self._fd = None


@dataclass
class UserLease:
    """A uid/gid of the reserved range, held (by an flock) while a function version uses it."""

    uid: int
    lock_fd: int

    def release(self) -> None:
        """Give the uid back."""
        with contextlib.suppress(OSError):
            os.close(self.lock_fd)


def _lock_dir() -> Path:
    for candidate in _LOCK_DIRS:
        path = Path(candidate)
        try:
            path.mkdir(mode=0o700, parents=True, exist_ok=True)
            if path.stat().st_uid == os.geteuid():
                return path
        except OSError:
            continue
    raise OSError("no directory for uid leases")


def lease_uid() -> UserLease:
    """A uid of the reserved range that no other live emulator holds."""
    folder = _lock_dir()
    start = random.randrange(UID_COUNT)
    for step in range(UID_COUNT):
        uid = UID_BASE + (start + step) % UID_COUNT
        fd = os.open(folder / f"{uid}.lock", os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            continue
        _kill_user(uid)  # leftovers of a dead emulator that held this uid
        return UserLease(uid, fd)
    raise OSError("every uid of the reserved range is in use")


def _kill_user(uid: int) -> None:
    """SIGKILL every process running as `uid` (a sweep of leftovers)."""
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            with contextlib.suppress(OSError):
                if entry.stat().st_uid == uid and os.stat(f"/proc/{entry.name}/status").st_uid == uid:
                    os.kill(int(entry.name), signal.SIGKILL)


def sweep_users() -> int:
    """Kill processes of reserved uids that no live emulator holds; returns how many uids were swept."""
    try:
        folder = _lock_dir()
    except OSError:
        return 0
    uids = set()
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            with contextlib.suppress(OSError):
                uid = entry.stat().st_uid
                if UID_BASE <= uid < UID_BASE + UID_COUNT:
                    uids.add(uid)
    swept = 0
    for uid in uids:
        fd = os.open(folder / f"{uid}.lock", os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            continue
        else:
            _kill_user(uid)
            swept += 1
        finally:
            os.close(fd)
    return swept


# ---- the backend's view ----------------------------------------------------------------------------
class Containment:
    """What the process backend enforces on this machine, and the means to do it."""

    def __init__(self, *, memory: str | None = None, users: bool | None = None) -> None:
        """Probe the machine; `memory` ("cgroup2", "cgroup1", "watch") and `users` force a choice (tests)."""
        # pid-starttime-nonce: the sweep tells a dead emulator's cgroups apart; several backends may share a pid
        self.instance = f"{os.getpid()}-{process_started(os.getpid())}-{secrets.token_hex(4)}"
        self.track_root: Path | None = None  # <v2>/lambda-canary/<instance>
        self.memory_v1_root: Path | None = None
        self.memory_v2 = False
        self.root = os.geteuid() == 0
        self.users = self.root if users is None else users and self.root
        self._watchdog: subprocess.Popen[bytes] | None = None
        self._leases: dict[tuple[object, ...], tuple[UserLease, Path]] = {}
        self._state: Path | None = None
        self._node_links: dict[Path, Path] = {}
        self._runtime_copy: Path | None = None
        self.swept = 0
        self._setup_cgroups(memory)
        self.memory = "cgroup2" if self.memory_v2 else "cgroup1" if self.memory_v1_root else "watch"
        if memory is not None and memory != self.memory:
            raise OSError(f"memory limits by {memory} are not available here (found {self.memory})")
        if self.track_root is not None:
            self._start_watchdog()
        if self.root:
            self.swept += sweep_users()
        else:
            # Not root: functions run as our own user, so /proc/<our pid>/environ would be readable to
            # them; a non-dumpable process's /proc files belong to root.
            _libc.prctl(_PR_SET_DUMPABLE, 0, 0, 0, 0)

    # ---- cgroups ---------------------------------------------------------------------------------
    def _setup_cgroups(self, memory: str | None) -> None:
        v2, v1_memory = _mounts()
        if v2 is not None and os.access(v2, os.W_OK):
            top = v2 / "lambda-canary"
            try:
                top.mkdir(exist_ok=True)
                self.swept += self._sweep_cgroups(top)
                instance = top / self.instance
                instance.mkdir(exist_ok=True)
                self.track_root = instance
            except OSError:
                self.track_root = None
            if self.track_root is not None and memory in (None, "cgroup2"):
                try:
                    if "memory" in (v2 / "cgroup.controllers").read_text().split():
                        for folder in (v2, top, self.track_root):
                            if "memory" not in (folder / "cgroup.subtree_control").read_text().split():
                                _write(folder / "cgroup.subtree_control", "+memory")
                        self.memory_v2 = True
                except OSError:
                    self.memory_v2 = False
        if not self.memory_v2 and v1_memory is not None and memory in (None, "cgroup1"):
            parent = v1_memory / _own_cgroup("memory").lstrip("/")
            base = parent / f"lambda-canary-{self.instance}"
            try:
                for leftover in parent.glob("lambda-canary-*"):  # of dead emulators that ran in this cgroup
                    pid, _, rest = leftover.name.removeprefix("lambda-canary-").partition("-")
                    if not (pid.isdigit() and owner_alive(int(pid), rest.partition("-")[0])):
                        _rmtree_cgroup(leftover)
                base.mkdir(exist_ok=True)
                self.memory_v1_root = base
            except OSError:
                self.memory_v1_root = None

    @staticmethod
    def _sweep_cgroups(top: Path) -> int:
        """Kill and remove the cgroups of emulators that are gone."""
        swept = 0
        for instance in top.iterdir():
            if not instance.is_dir():
                continue
            pid, _, rest = instance.name.partition("-")
            started = rest.partition("-")[0]
            if pid.isdigit() and owner_alive(int(pid), started):
                continue
            _kill_cgroup(instance)
            _rmtree_cgroup(instance)
            swept += 1
        return swept

    def _start_watchdog(self) -> None:
        assert self.track_root is not None
        folders = [str(self.track_root)] + ([str(self.memory_v1_root)] if self.memory_v1_root else [])
        self._watchdog = subprocess.Popen(
            ["/bin/sh", "-c", _WATCHDOG, "lambda-canary-watchdog", *folders], stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True, close_fds=True)

    def environment_cgroups(self, environment_id: str, memory_mb: int) -> EnvironmentCgroups | None:
        """Create the cgroups of one environment (None when there is no cgroup at all)."""
        limit = memory_mb * _MB
        track = memory_v1 = None
        if self.track_root is not None:
            track = self.track_root / environment_id
            track.mkdir()
        if self.memory_v1_root is not None:
            memory_v1 = self.memory_v1_root / environment_id
            memory_v1.mkdir()
        if track is None and memory_v1 is None:
            return None
        cgroups = EnvironmentCgroups(track, memory_v1, self.memory_v2, limit)
        try:
            if self.memory_v2 and track is not None:
                _write(track / "memory.max", str(limit))
                with contextlib.suppress(OSError):
                    _write(track / "memory.swap.max", "0")
                with contextlib.suppress(OSError):
                    _write(track / "memory.oom.group", "1")
                peak = track / "memory.peak"
                cgroups.peak_fd = os.open(peak if peak.exists() else track / "memory.current", os.O_RDONLY)
            if memory_v1 is not None:
                _write(memory_v1 / "memory.limit_in_bytes", str(limit))
                with contextlib.suppress(OSError):
                    _write(memory_v1 / "memory.memsw.limit_in_bytes", str(limit))
                cgroups.peak_fd = os.open(memory_v1 / "memory.max_usage_in_bytes", os.O_RDONLY)
            for folder in (track, memory_v1):
                if folder is not None:  # opened by us: the child writes "0" after it gave up root
                    cgroups.join_fds.append(os.open(folder / "cgroup.procs", os.O_WRONLY))
        except OSError:
            for fd in [*cgroups.join_fds, *([cgroups.peak_fd] if cgroups.peak_fd is not None else [])]:
                os.close(fd)
            for folder in (track, memory_v1):
                if folder is not None:
                    _rmtree_cgroup(folder)
            raise
        return cgroups

    # ---- users and files -------------------------------------------------------------------------
    def _state_dir(self) -> Path:
        if self._state is None:
            self._state = owned_temp_dir("lambda-canary-sandbox-")
            self._state.chmod(0o711)  # others may pass through to what is theirs; never list it
            for name in ("node", "code", "tmp"):
                (self._state / name).mkdir(mode=0o711)
        return self._state

    def node_for_users(self, node: Path) -> Path:
        """The Node binary where a function's uid can run it (a hard link, else a copy; root-owned, 0755)."""
        linked = self._node_links.get(node)
        if linked is None:
            folder = self._state_dir() / "node" / hashlib.sha256(str(node).encode()).hexdigest()[:16]
            folder.mkdir(mode=0o755)
            linked = folder / "node"
            real = node.resolve()
            try:
                os.link(real, linked)
                if os.stat(linked).st_uid != 0 or os.stat(linked).st_mode & 0o022:
                    raise OSError(errno.EPERM, "not root-owned")
            except OSError:
                with contextlib.suppress(FileNotFoundError):
                    linked.unlink()
                shutil.copyfile(real, linked)
            linked.chmod(0o755)
            self._node_links[node] = linked
        return linked

    def runtime_for_users(self, runtime_dir: Path) -> Path:
        """The runtime client where a function's uid can read it (a root-owned copy)."""
        if self._runtime_copy is None:
            target = self._state_dir() / "runtime"
            shutil.copytree(runtime_dir, target)
            for path in [target, *target.rglob("*")]:
                path.chmod(0o755 if path.is_dir() or path.name == "bootstrap" else 0o644)
            self._runtime_copy = target
        return self._runtime_copy

    def user_for(self, version: FunctionVersion) -> tuple[int, Path]:
        """The uid of a function version and its private copy of the code (created on first use)."""
        key = (version.pool_key, version.code_sha256, str(version.code_dir))
        held = self._leases.get(key)
        if held is None:
            lease = lease_uid()
            digest = hashlib.sha256(repr(key).encode()).hexdigest()[:16]
            code = self._state_dir() / "code" / digest
            try:
                shutil.copytree(version.code_dir, code, symlinks=True)
                _chown_tree(code, lease.uid)
                code.chmod(0o700)
            except BaseException:
                lease.release()
                shutil.rmtree(code, ignore_errors=True)
                raise
            held = (lease, code)
            self._leases[key] = held
        return held[0].uid, held[1]

    def private_tmp(self, environment_id: str, uid: int | None) -> Path:
        """A folder of the environment's own for HOME and TMPDIR."""
        folder = self._state_dir() / "tmp" / environment_id
        folder.mkdir(mode=0o700)
        if uid is not None:
            os.chown(folder, uid, uid)
        return folder

    def remove_tmp(self, environment_id: str) -> None:
        """Remove an environment's private folder."""
        if self._state is not None:
            shutil.rmtree(self._state / "tmp" / environment_id, ignore_errors=True)

    def preexec(self, cgroups: EnvironmentCgroups | None, uid: int | None,
                affinity: frozenset[int] | None = None) -> Callable[[], None]:
        """What the child does between fork and exec: join its cgroups, run on `affinity`'s CPUs (emulator.cpus),
        drop root, ask for SIGKILL on our death."""
        parent = os.getpid()
        join_fds = list(cgroups.join_fds) if cgroups is not None else []
        prctl = _libc.prctl

        def child() -> None:
            for fd in join_fds:
                os.write(fd, b"0")
            if affinity:
                with contextlib.suppress(OSError):  # a machine that forbids it: the function runs anywhere
                    os.sched_setaffinity(0, affinity)
            if uid is not None:
                os.setgroups([])
                os.setresgid(uid, uid, uid)
                os.setresuid(uid, uid, uid)
            prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)  # after the uid change, which clears it
            if os.getppid() != parent:
                os._exit(137)

        return child

    def summary(self) -> str:
        """One line: what is enforced here."""
        if self.memory_v2:
            memory = "memory limits by cgroup v2"
        elif self.memory_v1_root is not None:
            memory = "memory limits by cgroup v1 (memory controller)"
        else:
            memory = "memory limits by a resident-memory watch (no writable memory cgroup)"
        tracking = ("a cgroup v2 per environment, killed with the emulator" if self.track_root is not None
                    else "a process group per environment (no writable cgroup v2: detached children may "
                    "outlive a SIGKILL of the emulator)")
        users = ("a uid of its own per function (root)" if self.users
                 else "functions run as this user (not root): they can read each other's code and variables")
        return f"isolation: {memory}; {tracking}; {users}"

    def close(self) -> None:
        """Kill every environment left, remove the cgroups, free the uids and the private files."""
        if self.track_root is not None:
            _kill_cgroup(self.track_root)
        if self._watchdog is not None:
            with contextlib.suppress(OSError):
                assert self._watchdog.stdin is not None
                self._watchdog.stdin.close()
            with contextlib.suppress(subprocess.TimeoutExpired):
                self._watchdog.wait(15)
            self._watchdog = None
        for path in (self.track_root, self.memory_v1_root):
            if path is not None:
                _rmtree_cgroup(path)
        for lease, _code in self._leases.values():
            _kill_user(lease.uid)
            lease.release()
        self._leases.clear()
        if self._state is not None:
            shutil.rmtree(self._state, ignore_errors=True)
            self._state = None


def _chown_tree(root: Path, uid: int) -> None:
    os.chown(root, uid, uid, follow_symlinks=False)
    for folder, dirs, files in os.walk(root):
        for name in [*dirs, *files]:
            os.chown(os.path.join(folder, name), uid, uid, follow_symlinks=False)
