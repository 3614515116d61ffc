"""AWS's own Node runtime interface client (npm `aws-lambda-ric`), built here so `--runtime-client aws` runs it
instead of lambda-canary's (process backend).

The package compiles native code (curl, aws-lambda-cpp and a Node-API addon) with node-gyp. node-gyp would download
Node's headers from nodejs.org; the cached Node release from npm carries them (`include/node`), so the build points
node-gyp there (`--nodedir`) and needs nothing but the npm registry. The addon uses Node-API, so one build serves
every Node major.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

from emulator.errors import UserError
from emulator.paths import bundled, cache_dir

if TYPE_CHECKING:
    from rich.console import Console

AWS_RIC_VERSION = "3.3.0"  # github.com/aws/aws-lambda-nodejs-runtime-interface-client @ da5777a8 (v3.3.0)
CLIENTS = ("lambda-canary", "aws")
BUILD_TOOLS = ("npm", "make", "cmake", "g++", "autoconf", "automake", "libtoolize")
HEADERS_FROM = "nodejs22.x"  # whose cached Node release provides the headers
_KEEP = ("dist", "bin", "package.json", "LICENSE", "NOTICE", "THIRD-PARTY-LICENSES")


def install_dir() -> Path:
    """Where the built client lives: the launcher (index.mjs) and node_modules/aws-lambda-ric."""
    return cache_dir() / "aws-lambda-ric" / AWS_RIC_VERSION


def aws_client_dir() -> Path | None:
    """The built client's folder, or None when it is not built here."""
    folder = install_dir()
    addon = folder / "node_modules" / "aws-lambda-ric" / "dist" / "rapid-client.node"
    return folder if (folder / "index.mjs").is_file() and addon.is_file() else None


def runtime_dir_for(client: str) -> Path:
    """The folder whose index.mjs the process backend starts for `client`."""
    if client not in CLIENTS:
        raise UserError(f"--runtime-client {client!r}: allowed: {', '.join(CLIENTS)}")
    if client == "lambda-canary":
        return bundled("runtimes") / "nodejs"
    folder = aws_client_dir()
    if folder is None:
        raise UserError(f"--runtime-client aws: AWS's aws-lambda-ric {AWS_RIC_VERSION} is not built here; run "
                        "`lambda-canary runtimes install-client aws` (needs npm, make, cmake, g++, autoconf, "
                        "automake, libtool)")
    launcher = bundled("runtimes") / "aws-ric" / "index.mjs"
    if launcher.read_bytes() != (folder / "index.mjs").read_bytes():  # this lambda-canary's launcher, not an older one
        import shutil

        shutil.copy2(launcher, folder / "index.mjs")
    return folder


def install(console: Console) -> Path:
    """Build aws-lambda-ric with npm against the cached Node headers and keep what runs (dist/, bin/, licences)."""
    # imported here: every command imports this module for CLIENTS, and these took 12-17 ms of `serve`'s time to
    # listen (issue 19)
    import shutil
    import subprocess
    import tempfile

    missing = [tool for tool in BUILD_TOOLS if shutil.which(tool) is None]
    if missing:
        raise UserError(f"building aws-lambda-ric needs {', '.join(missing)} on PATH (Debian: apt-get install "
                        "cmake make g++ autoconf automake libtool)")
    from emulator.runtimes.provision import install as install_node
    from emulator.runtimes.provision import require_node

    install_node([HEADERS_FROM], console)
    node = require_node(HEADERS_FROM)
    nodedir = node.parent.parent
    if not (nodedir / "include" / "node" / "node_api.h").is_file():
        raise UserError(f"{nodedir}: no include/node/node_api.h; node-gyp needs the Node release's headers")
    target = install_dir()
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target.parent, prefix=".build-") as scratch:
        environment = {**os.environ, "PATH": f"{node.parent}{os.pathsep}{os.environ.get('PATH', '')}",
                       "npm_config_nodedir": str(nodedir)}
        command = ["npm", "install", "--no-audit", "--no-fund", "--no-save", "--foreground-scripts",
                   f"--nodedir={nodedir}", f"aws-lambda-ric@{AWS_RIC_VERSION}"]
        console.print(f"building aws-lambda-ric {AWS_RIC_VERSION} (curl, aws-lambda-cpp, the Node-API addon; "
                      "several minutes): " + " ".join(command))
        log = Path(scratch) / "build.log"
        with log.open("w") as output:
            result = subprocess.run(command, cwd=scratch, env=environment, stdout=output, stderr=subprocess.STDOUT)
        built = Path(scratch) / "node_modules" / "aws-lambda-ric"
        if result.returncode != 0 or not (built / "dist" / "rapid-client.node").is_file():
            tail = log.read_text(errors="replace").strip().splitlines()[-15:]
            raise UserError(f"`{' '.join(command)}` failed (exit {result.returncode}):\n" + "\n".join(tail))
        staged = Path(scratch) / "client"
        package = staged / "node_modules" / "aws-lambda-ric"
        package.mkdir(parents=True)
        for name in _KEEP:
            source = built / name
            if source.is_dir():
                shutil.copytree(source, package / name)
            elif source.is_file():
                shutil.copy2(source, package / name)
        shutil.copy2(bundled("runtimes") / "aws-ric" / "index.mjs", staged / "index.mjs")
        if target.exists():
            shutil.rmtree(target)
        os.replace(staged, target)
    console.print(f"aws-lambda-ric {AWS_RIC_VERSION}: built into {target}; use it with --runtime-client aws")
    return target
