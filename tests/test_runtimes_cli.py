"""`lambda-canary runtimes install | list | use` as a user runs them, against the real npm registry."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from emulator.runtimes.catalogue import get_runtime
from emulator.runtimes.provision import find_node

RUNTIME = "nodejs20.x"  # not used by the rest of the suite, so this install starts from nothing


def run(cache: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "LAMBDA_CANARY_CACHE": str(cache), "COLUMNS": "200"}
    return subprocess.run([sys.executable, "-m", "emulator.cli", "runtimes", *args], capture_output=True,
                          text=True, env=env, timeout=300)


def test_install_list_use(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cache = tmp_path / "cache"
    first = run(cache, "install", RUNTIME)
    assert first.returncode == 0, first.stderr
    version = get_runtime(RUNTIME).node
    assert f"installed Node v{version} from npm" in first.stderr
    monkeypatch.setenv("LAMBDA_CANARY_CACHE", str(cache))
    installed = find_node(RUNTIME)
    assert installed is not None and installed.source == "npm"
    node_version = subprocess.run([str(installed.path), "--version"], capture_output=True, text=True).stdout
    assert node_version.strip() == f"v{version}"

    again = run(cache, "install", RUNTIME)
    assert again.returncode == 0 and "already installed" in again.stderr

    listing = run(cache, "list")
    assert listing.returncode == 0
    row = next(line for line in listing.stdout.splitlines() if RUNTIME in line)
    assert version in row and "npm" in row

    linked = run(cache, "use", "nodejs20.x", str(installed.path))
    assert linked.returncode == 0 and f"v{version}" in linked.stderr
    wrong = run(cache, "use", "nodejs22.x", str(installed.path))
    assert wrong.returncode == 2
    assert wrong.stderr.strip() == (f"lambda-canary: error: {installed.path} is Node v{version}, but nodejs22.x "
                                    "needs Node 22.x")


def test_an_unknown_runtime_lists_the_known_ones(tmp_path: Path) -> None:
    result = run(tmp_path, "install", "nodejs16.x")
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert result.stderr.strip() == ("lambda-canary: error: unknown runtime 'nodejs16.x'; known runtimes: "
                                     "nodejs18.x, nodejs20.x, nodejs22.x, nodejs24.x")


def test_an_unwritable_cache_is_one_line(tmp_path: Path) -> None:
    blocked = tmp_path / "file"
    blocked.write_text("not a folder")
    result = run(blocked / "cache", "install", RUNTIME)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert result.stderr.startswith("lambda-canary: error: nodejs20.x: cannot install into")
    assert len(result.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize("columns", ["80", "40"])
def test_list_never_cuts_a_runtime_name_when_piped(tmp_path: Path, columns: str) -> None:
    """Piped output at 80 (or fewer) columns keeps every runtime name, release and date whole."""
    env = {**os.environ, "LAMBDA_CANARY_CACHE": str(tmp_path), "COLUMNS": columns}
    listing = subprocess.run([sys.executable, "-m", "emulator.cli", "runtimes", "list"], capture_output=True,
                             text=True, env=env, timeout=60)
    assert listing.returncode == 0 and "…" not in listing.stdout
    for name in ("nodejs18.x", "nodejs20.x", "nodejs22.x", "nodejs24.x"):
        (row,) = [line for line in listing.stdout.splitlines() if line.startswith(name)]
        assert get_runtime(name).node in row and row.endswith(" no")
