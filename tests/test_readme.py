"""README.md as a newcomer follows it: the AWS-API walkthrough runs as written, with the real aws CLI against
`serve`, and the files and commands it names exist."""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import free_port

REPO = Path(__file__).resolve().parent.parent
README = (REPO / "README.md").read_text()
BIN = Path(sys.executable).parent


def walkthrough() -> str:
    """The fenced block after the walkthrough marker."""
    match = re.search(r"<!-- walkthrough:[^>]*-->\n```sh\n(.*?)\n```", README, re.S)
    assert match, "README.md has no walkthrough block"
    return match.group(1)


@pytest.mark.skipif(not (BIN / "aws").exists(), reason="the aws CLI (dev extra awscli) is not installed")
def test_the_aws_api_walkthrough_runs_as_written(tmp_path: Path) -> None:
    """Run with bash -e from the repository root, lambda-canary and aws on the PATH, on a free port. Both splits
    in it are exact binomial tests at alpha 1e-6, so this fails falsely with probability at most 2e-6."""
    # TMPDIR stays the system's: code uploaded through the Lambda API must stay readable by the sandboxed function
    env = {**os.environ, "PATH": f"{BIN}:{os.environ['PATH']}", "PORT": str(free_port()),
           "HOME": str(tmp_path), "LAMBDA_CANARY_CACHE": os.environ.get("LAMBDA_CANARY_CACHE") or str(cache())}
    for name in ("AWS_PROFILE", "AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE", "AWS_SESSION_TOKEN"):
        env.pop(name, None)
    log = tmp_path / "walkthrough.log"
    with log.open("w") as stream:  # a file, not a pipe: what serve leaves running must not hold the test's read
        process = subprocess.Popen(["bash", "-e", "-c", walkthrough()], cwd=REPO, env=env, stdout=stream,
                                   stderr=subprocess.STDOUT, text=True, start_new_session=True)
        try:
            process.wait(timeout=280)
        finally:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL if process.poll() is None else signal.SIGTERM)
            process.wait()
    output = log.read_text()
    assert process.returncode == 0, output[-4000:]
    assert output.count("PASS: canary share") == 2, output[-4000:]
    assert '"node":"v18.20.8"' in output or '"node":"v22.23.3"' in output


def cache() -> Path:
    from emulator.paths import cache_dir

    return cache_dir()


def test_the_readme_names_only_what_exists() -> None:
    """Every repository path the README names in backquotes exists, and every command it shows is a command."""
    for path in re.findall(r"`((?:examples|tests|runtimes|docs|benchmarks|emulator)/[\w./-]+)`", README):
        assert (REPO / path.rstrip("/")).exists(), path
    import click

    from emulator.cli import cli

    for command in set(re.findall(r"^\s*lambda-canary (\w+)", README, re.M)):
        assert command in cli.list_commands(click.Context(cli)), command
    assert "make run PORT=" in README and ".venv/bin" in README
