"""Stand-in Lambda Node.js base images, built offline when `public.ecr.aws/lambda/nodejs` cannot be pulled.

They honour the public images' contract (reference §7): node at /var/lang/bin/node (the runtime's exact
npm release), /var/runtime/bootstrap, /var/task, the image environment, /lambda-entrypoint.sh and the
real Runtime Interface Emulator at /usr/local/bin/aws-lambda-rie. The root filesystem is a static
busybox plus the host's glibc libraries that node needs (docker/standin/Dockerfile).
"""

from __future__ import annotations

import hashlib
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path

import docker
from docker.errors import APIError, ImageNotFound
from rich.console import Console

from emulator.errors import UserError
from emulator.lambda_service.backends.images import run_build, standin_tag
from emulator.paths import bundled, cache_dir
from emulator.runtimes.catalogue import get_runtime
from emulator.runtimes.provision import find_node, install

CONTENT_LABEL = "lambda-canary.standin-content"
SAM_CLI_VERSION = "1.170.0"  # the aws-sam-cli wheel whose samcli/local/rapid/ holds the RIE binaries
_RIE_ARCHES = {"x86_64": "x86_64", "amd64": "x86_64", "aarch64": "arm64", "arm64": "arm64"}
_LDD_LINE = re.compile(r"^\s*(?:\S+\s+=>\s+)?(/\S+)\s+\(0x[0-9a-f]+\)\s*$")
_PASSWD = "root:x:0:0:root:/root:/bin/sh\nsbx_user1051:x:993:990::/home/sbx_user1051:/sbin/nologin\n"
_GROUP = "root:x:0:\nsbx_user1051:x:990:\n"


def standin_base_images(runtimes: list[str]) -> dict[str, str]:
    """The `base_images` option that points the docker backend at the stand-ins."""
    return {runtime: standin_tag(runtime) for runtime in runtimes}


def rie_arch() -> str:
    """`x86_64` or `arm64`, as the RIE binaries are named."""
    machine = platform.machine().lower()
    if machine not in _RIE_ARCHES:
        raise UserError(f"no Runtime Interface Emulator binary for {machine}")
    return _RIE_ARCHES[machine]


def fetch_rie(console: Console) -> Path:
    """The real RIE binary from the aws-sam-cli wheel on PyPI (downloaded once into the cache)."""
    member = f"samcli/local/rapid/aws-lambda-rie-{rie_arch()}"
    target = cache_dir() / "rie" / SAM_CLI_VERSION / Path(member).name
    if target.is_file():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target.parent, prefix=".download-") as scratch:
        with console.status(f"pip download aws-sam-cli=={SAM_CLI_VERSION} (for {Path(member).name})"):
            result = subprocess.run(
                [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:", "--quiet",
                 f"aws-sam-cli=={SAM_CLI_VERSION}", "-d", scratch], capture_output=True, text=True)
        if result.returncode != 0:
            last = (result.stderr.strip().splitlines() or ["unknown error"])[-1]
            raise UserError(f"cannot download aws-sam-cli {SAM_CLI_VERSION} for the RIE binary: {last}")
        wheel = next(Path(scratch).glob("aws_sam_cli-*.whl"))
        with zipfile.ZipFile(wheel) as archive:
            try:
                data = archive.read(member)
            except KeyError:
                raise UserError(f"{wheel.name} holds no {member}") from None
        partial = Path(scratch) / "rie"
        partial.write_bytes(data)
        partial.chmod(0o755)
        os.replace(partial, target)
    console.print(f"Runtime Interface Emulator: {target}")
    return target


def shared_libraries(binary: Path) -> list[Path]:
    """The libraries and the dynamic loader `ldd` reports for a binary (none for a static one)."""
    result = subprocess.run(["ldd", str(binary)], capture_output=True, text=True)
    if result.returncode != 0:  # "not a dynamic executable"
        return []
    return [Path(match.group(1)) for line in result.stdout.splitlines() if (match := _LDD_LINE.match(line))]


def find_busybox() -> Path:
    """The host's busybox (Debian: `busybox-static`)."""
    usual = (path for path in ("/bin/busybox", "/usr/bin/busybox") if Path(path).is_file())
    found = shutil.which("busybox") or next(usual, None)
    if found is None:
        raise UserError("busybox is missing; install it (Debian: `apt-get install -y busybox-static`)")
    return Path(found)


def _copy(source: Path, target: Path, mode: int) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(source, target)  # follows symlinks: the real file lands under the ldd path
    target.chmod(mode)


def assemble_rootfs(runtime: str, node: Path, rie: Path, busybox: Path, rootfs: Path) -> None:
    """Lay out the stand-in root filesystem for one runtime in `rootfs`."""
    runtime_client = bundled("runtimes") / "nodejs"
    _copy(busybox, rootfs / "bin" / "busybox", 0o755)
    applets = subprocess.run([str(busybox), "--list"], capture_output=True, text=True, check=True).stdout.split()
    for applet in applets:
        if applet != "busybox":
            (rootfs / "bin" / applet).symlink_to("busybox")
    (rootfs / "usr" / "bin").mkdir(parents=True)
    (rootfs / "usr" / "bin" / "env").symlink_to("/bin/busybox")
    for library in {*shared_libraries(node), *shared_libraries(busybox)}:
        _copy(library, rootfs / library.relative_to("/"), 0o755)
    _copy(node, rootfs / "var" / "lang" / "bin" / "node", 0o755)
    _copy(runtime_client / "bootstrap", rootfs / "var" / "runtime" / "bootstrap", 0o755)
    _copy(runtime_client / "index.mjs", rootfs / "var" / "runtime" / "index.mjs", 0o644)
    _copy(rie, rootfs / "usr" / "local" / "bin" / "aws-lambda-rie", 0o755)
    _copy(bundled("docker") / "standin" / "lambda-entrypoint.sh", rootfs / "lambda-entrypoint.sh", 0o755)
    for folder in ("var/task", "opt", "root", "etc"):
        (rootfs / folder).mkdir(parents=True, exist_ok=True)
    (rootfs / "tmp").mkdir()
    (rootfs / "tmp").chmod(0o1777)
    (rootfs / "etc" / "passwd").write_text(_PASSWD)
    (rootfs / "etc" / "group").write_text(_GROUP)
    utc = Path("/usr/share/zoneinfo/UTC")
    if utc.exists():
        _copy(utc, rootfs / "etc" / "localtime", 0o644)


def content_digest(folder: Path) -> str:
    """A digest of a build context: paths, modes, link targets and file contents."""
    digest = hashlib.sha256()
    for path in sorted(folder.rglob("*")):
        info = path.lstat()
        digest.update(f"{path.relative_to(folder).as_posix()}\0{info.st_mode:o}\0".encode())
        if path.is_symlink():
            digest.update(os.readlink(path).encode())
        elif path.is_file():
            with path.open("rb") as handle:
                while chunk := handle.read(1 << 20):
                    digest.update(chunk)
    return digest.hexdigest()


@dataclass(frozen=True)
class StandinImage:
    """A stand-in base image: its tag, the Node release inside, and whether this call built it."""

    runtime: str
    tag: str
    node: str
    built: bool
    seconds: float


def build_standin(client: docker.DockerClient, runtime: str, console: Console, *, force: bool = False) -> StandinImage:
    """Build (or keep, when its content is unchanged) the stand-in base image of one runtime."""
    started = time.perf_counter()
    spec = get_runtime(runtime)
    node = find_node(runtime) or install([runtime], console)[0]
    rie = fetch_rie(console)
    busybox = find_busybox()
    tag = standin_tag(runtime)
    with tempfile.TemporaryDirectory(prefix="lambda-canary-standin-") as scratch:
        context = Path(scratch)
        shutil.copyfile(bundled("docker") / "standin" / "Dockerfile", context / "Dockerfile")
        assemble_rootfs(runtime, node.path, rie, busybox, context / "rootfs")
        digest = content_digest(context)
        if not force:
            try:
                existing = client.images.get(tag)
            except ImageNotFound:
                existing = None
            if existing is not None and (existing.labels or {}).get(CONTENT_LABEL) == digest:
                return StandinImage(runtime, tag, spec.node, False, time.perf_counter() - started)
        labels = {CONTENT_LABEL: digest, "lambda-canary.standin": runtime, "lambda-canary.node": spec.node,
                  "lambda-canary.stands-in-for": spec.image}
        try:
            run_build(client, console, f"stand-in {tag} (Node {spec.node})",
                      path=str(context), tag=tag, labels=labels, rm=True, forcerm=True)
        except APIError as error:
            raise UserError(f"building {tag} failed: {error.explanation or error}") from None
    return StandinImage(runtime, tag, spec.node, True, time.perf_counter() - started)


def build_standins(client: docker.DockerClient, runtimes: list[str], console: Console, *,
                   force: bool = False) -> list[StandinImage]:
    """Build the stand-in base image of each runtime."""
    return [build_standin(client, runtime, console, force=force) for runtime in runtimes]
