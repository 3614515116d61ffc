"""Install the exact Node release of each runtime from npm (`node-<os>-<arch>` packages) into the cache."""

from __future__ import annotations

import json
import os
import platform
import shutil
import subprocess
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from emulator.errors import UserError
from emulator.paths import cache_dir
from emulator.runtimes.catalogue import RuntimeSpec, get_runtime

if TYPE_CHECKING:
    from rich.console import Console

_OS_NAMES = {"Linux": "linux", "Darwin": "darwin"}
_CPU_NAMES = {"x86_64": "x64", "amd64": "x64", "aarch64": "arm64", "arm64": "arm64"}


def npm_platform() -> str:
    """`linux-x64` style name of this machine, as the npm `node-*` packages name it."""
    system, machine = platform.system(), platform.machine().lower()
    if system not in _OS_NAMES or machine not in _CPU_NAMES:
        raise UserError(f"no Node release on npm for {system}/{machine}; point the runtime at a node binary "
                        "with `lambda-canary runtimes use RUNTIME PATH`")
    return f"{_OS_NAMES[system]}-{_CPU_NAMES[machine]}"


def _links_file() -> Path:
    return cache_dir() / "links.json"


def _read_links() -> dict[str, str]:
    try:
        return json.loads(_links_file().read_text())
    except (FileNotFoundError, NotADirectoryError):
        return {}
    except (ValueError, OSError) as error:
        raise UserError(f"{_links_file()}: unreadable ({error}); delete it and run `runtimes use` again") from None


def _install_dir(spec: RuntimeSpec) -> Path:
    return cache_dir() / "node" / f"{spec.node}-{npm_platform()}"


@dataclass(frozen=True)
class NodeBinary:
    """Where a runtime's node comes from."""

    runtime: str
    path: Path
    source: str  # "npm" or "linked"


def find_node(runtime: str) -> NodeBinary | None:
    """The node binary for a runtime, if installed or linked."""
    spec = get_runtime(runtime)
    linked = _read_links().get(runtime)
    if linked:
        return NodeBinary(runtime, Path(linked), "linked")
    binary = _install_dir(spec) / "bin" / "node"
    return NodeBinary(runtime, binary, "npm") if binary.is_file() else None


def require_node(runtime: str) -> Path:
    """The node binary for a runtime, or a UserError telling how to install it."""
    found = find_node(runtime)
    if found is None:
        raise UserError(f"runtime {runtime} is not installed; run `lambda-canary runtimes install {runtime}`")
    return found.path


def node_version(binary: Path) -> str:
    """`v22.23.3` from `node --version`."""
    try:
        result = subprocess.run([str(binary), "--version"], capture_output=True, text=True, timeout=30)
    except OSError as error:
        raise UserError(f"{binary}: cannot run: {error.strerror}") from None
    if result.returncode != 0:
        raise UserError(f"{binary}: `--version` failed: {result.stderr.strip()}")
    return result.stdout.strip()


def link_node(runtime: str, binary: Path) -> str:
    """Point a runtime at a node binary the user already has; its major must match."""
    spec = get_runtime(runtime)
    binary = binary.expanduser().resolve()
    version = node_version(binary)
    if not version.startswith(f"v{spec.major}."):
        raise UserError(f"{binary} is Node {version}, but {runtime} needs Node {spec.major}.x")
    links = _read_links()
    links[runtime] = str(binary)
    try:
        _write_atomically(_links_file(), json.dumps(links, indent=2) + "\n")
    except OSError as error:
        raise UserError(f"{_links_file()}: cannot write: {error.strerror or error}") from None
    return version


def _write_atomically(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile("w", dir=path.parent, delete=False, suffix=".tmp") as handle:
        handle.write(text)
    os.replace(handle.name, path)


def install(runtimes: list[str], console: Console) -> list[NodeBinary]:
    """Install each runtime's Node release through `npm pack`; already-cached ones are left alone."""
    specs = [get_runtime(name) for name in runtimes]
    installed: list[NodeBinary] = []
    for spec in specs:
        existing = find_node(spec.name)
        if existing is not None:
            console.print(f"{spec.name}: Node {spec.node} already installed ({existing.path})")
            installed.append(existing)
            continue
        try:
            installed.append(_install_one(spec, console))
        except OSError as error:
            raise UserError(f"{spec.name}: cannot install into {cache_dir()}: {error.strerror or error} "
                            "(set LAMBDA_CANARY_CACHE to a writable folder)") from None
    return installed


def _install_one(spec: RuntimeSpec, console: Console) -> NodeBinary:
    npm = shutil.which("npm")
    if npm is None:
        raise UserError("npm is not on PATH; install Node.js/npm or link a binary with `lambda-canary runtimes use`")
    package = f"node-{npm_platform()}@{spec.node}"
    target = _install_dir(spec)
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target.parent, prefix=".download-") as scratch:
        from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn  # only when installing

        with Progress(SpinnerColumn(), TextColumn("{task.description}"), BarColumn(),
                      TextColumn("{task.percentage:>3.0f}%"), console=console, transient=True) as progress:
            task = progress.add_task(f"{spec.name}: npm pack {package}", total=None)
            result = subprocess.run([npm, "pack", package, "--json", "--pack-destination", scratch],
                                    capture_output=True, text=True, cwd=scratch)
            if result.returncode != 0:
                last = (result.stderr.strip().splitlines() or ["unknown error"])[-1]
                raise UserError(f"{spec.name}: `npm pack {package}` failed: {last}")
            try:
                tarball = Path(scratch) / json.loads(result.stdout)[0]["filename"]
            except (ValueError, LookupError, TypeError):
                raise UserError(f"{spec.name}: `npm pack {package}` printed no package description") from None
            unpacked = Path(scratch) / "unpacked"
            with tarfile.open(tarball) as archive:
                members = [m for m in archive.getmembers() if m.name.startswith("package/")]
                progress.update(task, description=f"{spec.name}: unpacking Node {spec.node}",
                                total=len(members), completed=0)
                for member in members:
                    member.name = member.name.removeprefix("package/")
                    archive.extract(member, unpacked, filter="tar")
                    progress.advance(task)
        binary = unpacked / "bin" / "node"
        if not binary.is_file():
            raise UserError(f"{spec.name}: {package} holds no bin/node")
        if target.exists():
            shutil.rmtree(target)
        os.replace(unpacked, target)
    version = node_version(target / "bin" / "node")
    console.print(f"{spec.name}: installed Node {version} from npm ({target})")
    return NodeBinary(spec.name, target / "bin" / "node", "npm")
