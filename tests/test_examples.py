"""Every example as a newcomer meets it: `check` passes, `serve` answers each route, `split` passes, and the CI
example's steps run as written from a clean virtualenv."""

from __future__ import annotations

import os
import re
import shlex
import signal
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest
import yaml

from emulator.paths import cache_dir

REPO = Path(__file__).resolve().parent.parent
EXAMPLES = REPO / "examples"
CLI = [sys.executable, "-m", "emulator.cli"]

# Every file in examples/ that `serve` reads, except examples/seed/ (the seed as written, there to show what
# `check` finds), with the `split` arguments that test its split.
SPLIT_ARGS = {
    "ping/canary.yaml": [],
    "ping/template.yaml": [],
    "ping/openapi.yaml": [],
    "alias-routing/canary.yaml": ["--by", "version", "--canary-key", "2", "--expect", "10"],
    "seed-fixed/serverless.yml": [],
    "nonproxy-authorizer/canary.yaml": ["--path", "/pets/7", "--header", "Authorization: allow"],
    "nonproxy-authorizer/template.yaml": ["--path", "/pets/7", "--header", "Authorization: allow"],
    "nonproxy-authorizer/openapi.yaml": ["--path", "/pets/7", "--header", "Authorization: allow"],
    "migration/canary.yaml": ["--path", "/defaults"],
}
# What `serve`'s routes need to answer 200: a path for a {parameter}, the token the example's authorizer allows.
SERVE_REQUEST = {"nonproxy-authorizer": ({"{id}": "7"}, {"Authorization": "allow"}),
                 "migration": ({"{name}": "example.com"}, {})}
# Routes that fail on one side on purpose: examples/migration shows that GET /orders breaks on Node 18
# (Array.prototype.toSorted), which its README and `diff` walk through.
FAILS_ON_PURPOSE = {"migration": ("/orders",)}


def run(*args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*CLI, *args], capture_output=True, text=True, cwd=REPO, timeout=timeout)


def example_configs() -> set[str]:
    """What examples/ holds that `serve` reads (companions and the pytest project's files are not configs)."""
    found = set()
    for path in EXAMPLES.rglob("*"):
        relative = path.relative_to(EXAMPLES).as_posix()
        if (path.suffix in (".yaml", ".yml") and not relative.startswith(("seed/", "ci/"))
                and not path.name.endswith(".functions.yaml")):
            found.add(relative)
    return found


def test_the_list_covers_every_example() -> None:
    """A new example must be added to SPLIT_ARGS, so the walk below covers it."""
    assert example_configs() == set(SPLIT_ARGS)


@pytest.mark.parametrize("example", sorted(SPLIT_ARGS))
def test_example_passes_check(example: str) -> None:
    result = run("check", f"examples/{example}")
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout == "" and "no findings" in result.stderr


@pytest.mark.parametrize("example", sorted(SPLIT_ARGS))
def test_example_runs_under_serve(example: str) -> None:
    """`serve --port 0`: every GET route it lists answers 200 from a real Node process."""
    process = subprocess.Popen([*CLI, "serve", f"examples/{example}", "--port", "0", "--quiet"], cwd=REPO,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        assert process.stdout is not None
        routes: list[str] = []
        for line in process.stdout:
            found = re.match(r"^\s+GET\s+(http://\S+)", line)
            if found:
                routes.append(found.group(1))
            if "stats:" in line:
                break
        else:
            pytest.fail(f"serve ended early (exit {process.wait()})")
        assert routes
        parameters, headers = SERVE_REQUEST.get(example.split("/")[0], ({}, {}))
        for url in routes:
            if url.endswith(FAILS_ON_PURPOSE.get(example.split("/")[0], ())):
                continue
            for name, value in parameters.items():
                url = url.replace(name, value)
            with urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=60) as response:
                assert response.status == 200, url
    finally:
        process.send_signal(signal.SIGINT)
        process.wait(timeout=60)
    assert process.returncode == 0


@pytest.mark.parametrize("example", sorted(SPLIT_ARGS))
def test_example_split_passes(example: str) -> None:
    """Seeded; the exact binomial test at alpha 1e-6, so a false failure has probability at most 1e-6."""
    result = run("split", f"examples/{example}", "--requests", "1000", "--seed", "7", *SPLIT_ARGS[example])
    assert result.returncode == 0, result.stdout + result.stderr
    assert "PASS" in result.stdout and "FAIL" not in result.stdout


def test_the_ci_example_runs_as_written(tmp_path: Path) -> None:
    """Each `run:` step of examples/ci/github-actions.yml in a clean virtualenv, from the repository root.

    The runner's `pip install` reaches PyPI; here the virtualenv sees this environment's installed packages
    instead (a .pth file) and pip is kept off the network (--no-index --no-build-isolation), so the step proves
    that lambda-canary installs from the checkout and lands on the PATH, without depending on a network."""
    workflow = yaml.safe_load((EXAMPLES / "ci" / "github-actions.yml").read_text())
    steps = [step for step in workflow["jobs"]["split"]["steps"] if "run" in step]
    assert not any("pip install lambda-canary" in step["run"] for step in steps)
    venv = tmp_path / "runner"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    site = next((venv / "lib").glob("python3*/site-packages"))
    here = next(Path(path) for path in sys.path if path.endswith("site-packages") and Path(path).is_dir())
    (site / "dev-environment.pth").write_text(f"{here}\n")
    env = {**os.environ, "PATH": f"{venv / 'bin'}:{os.environ['PATH']}", "LAMBDA_CANARY_CACHE": str(cache_dir()),
           "VIRTUAL_ENV": str(venv)}
    env.pop("PYTHONPATH", None)
    for step in steps:
        command = step["run"]
        if "pip install" in command:
            assert shlex.split(command)[:4] == ["python", "-m", "pip", "install"]
            command = command.replace("pip install", "pip install --no-deps --no-index --no-build-isolation", 1)
        cwd = REPO / step.get("working-directory", ".")
        result = subprocess.run(["bash", "-e", "-c", command], cwd=cwd, env=env, capture_output=True, text=True,
                                timeout=600)
        assert result.returncode == 0, (command, result.stdout[-3000:], result.stderr[-3000:])
        if "pip install" in command:
            assert (venv / "bin" / "lambda-canary").exists()
            assert f"{venv}" in subprocess.run(["bash", "-c", "command -v lambda-canary"], env=env,
                                               capture_output=True, text=True).stdout
