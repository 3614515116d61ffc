"""`lambda-canary top`: a running emulator's metrics as tables, per stage variant and per function and runtime."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from support import call

from emulator.stack import StackOptions
from emulator.testing import StackThread

REPO = Path(__file__).resolve().parent.parent
PING = REPO / "examples" / "ping" / "canary.yaml"


def test_top_once_shows_each_variant_and_function() -> None:
    """150 requests at 10 %: both variants are seen unless 150 draws miss one, probability 0.9**150 + 0.1**150 <
    1.4e-7 (seeded: 0 for this seed)."""
    with StackThread(PING, StackOptions(port=0, seed=3, access_log=False, function_logs=False)) as running:
        for _ in range(150):
            assert call(running.url, "GET", "/prod/ping").status == 200
        done = subprocess.run([sys.executable, "-m", "emulator.cli", "top", running.url, "--once"],
                              capture_output=True, text=True, timeout=60, cwd=REPO,
                              env={**os.environ, "COLUMNS": "250"})
        assert running.stack is not None
        counts = {entry["dimensions"]["Stage"]: entry["Count"]
                  for entry in running.stack.gateway.metrics.as_json()["AWS/ApiGateway"]}
    assert done.returncode == 0, done.stderr
    rows = {line.split("│")[2].strip(): line for line in done.stdout.splitlines() if "multi-runtime-api" in line}
    assert set(rows) == {"prod", "prod/Canary"} == set(counts)
    for stage, line in rows.items():
        assert line.split("│")[3].strip() == str(counts[stage])
    assert "ping-stable" in done.stdout and "nodejs18.x" in done.stdout
    assert "ping-canary" in done.stdout and "nodejs22.x" in done.stdout


def test_top_without_an_emulator_is_one_line_and_exit_2() -> None:
    done = subprocess.run([sys.executable, "-m", "emulator.cli", "top", "http://127.0.0.1:9", "--once"],
                          capture_output=True, text=True, timeout=60, cwd=REPO)
    assert done.returncode == 2
    assert "no lambda-canary metrics there" in done.stderr and "Traceback" not in done.stderr
