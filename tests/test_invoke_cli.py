"""`lambda-canary invoke` as a user runs it: a subprocess, real Node, payload on stdout, logs on stderr."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

APP = Path(__file__).resolve().parent / "fixtures" / "handlers" / "app"
CLI = Path(sys.executable).parent / "lambda-canary"


def run_cli(*args: str, cwd: Path, stdin: bytes | None = None) -> subprocess.CompletedProcess[str]:
    """Run the installed `lambda-canary` command; text output, no check."""
    return subprocess.run([str(CLI), *args], cwd=cwd, input=stdin.decode() if stdin is not None else None,
                          capture_output=True, text=True, timeout=60, env=dict(os.environ))


def write_config(directory: Path, functions: dict[str, dict[str, object]], name: str = "canary.yaml") -> Path:
    """A config whose functions run code from the fixture app unless they say otherwise."""
    for function in functions.values():
        function.setdefault("code", str(APP))
    path = directory / name
    path.write_text(yaml.safe_dump({"backend": "process", "functions": functions}, sort_keys=False))
    return path


def line_of(path: Path, text: str) -> int:
    """1-based line number of the first line containing `text`."""
    return next(number for number, line in enumerate(path.read_text().splitlines(), 1) if text in line)


def test_invoke_prints_the_payload_and_logs(tmp_path: Path) -> None:
    """Payload on stdout only, START/END/REPORT on stderr, exit 0; the event comes from a file or stdin."""
    config = write_config(tmp_path, {
        "v18": {"runtime": "nodejs18.x", "handler": "index.echo"},
        "v22": {"runtime": "nodejs22.x", "handler": "esm/handler.handler"},
    })
    event = tmp_path / "event.json"
    event.write_text('{"from": "file"}')
    from_file = run_cli("invoke", "v18", "--config", str(config), "--event", str(event), cwd=tmp_path)
    assert from_file.returncode == 0, from_file.stderr
    assert json.loads(from_file.stdout)["event"] == {"from": "file"}
    assert from_file.stdout.count("\n") == 1
    assert re.search(r"^START RequestId: [0-9a-f-]{36} Version: \$LATEST$", from_file.stderr, re.M)
    assert re.search(r"^END RequestId: ", from_file.stderr, re.M)
    assert re.search(r"^REPORT RequestId: .*Init Duration: ", from_file.stderr, re.M)
    assert "START" not in from_file.stdout

    from_stdin = run_cli("invoke", "v22", "-c", str(config), "-e", "-", cwd=tmp_path, stdin=b'{"from": "stdin"}')
    assert from_stdin.returncode == 0, from_stdin.stderr
    assert json.loads(from_stdin.stdout)["event"] == {"from": "stdin"}


def test_invoke_reports_the_runtimes_node_version(tmp_path: Path) -> None:
    """The example's ping handler through the CLI answers from Node 22 for ping-canary."""
    config = Path(__file__).resolve().parent.parent / "examples" / "ping" / "canary.yaml"
    result = run_cli("invoke", "ping-canary", "--config", str(config), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert json.loads(json.loads(result.stdout)["body"])["node"].startswith("v22.")


def test_function_error_exits_1_with_the_error_payload(tmp_path: Path) -> None:
    """A thrown error: the error JSON on stdout, the Invoke Error log line on stderr, exit 1."""
    config = write_config(tmp_path, {"fails": {"runtime": "nodejs22.x", "handler": "index.thrown"}})
    result = run_cli("invoke", "fails", "--config", str(config), cwd=tmp_path)
    assert result.returncode == 1
    error = json.loads(result.stdout)
    assert error["errorType"] == "TypeError"
    assert error["errorMessage"] == "the handler failed on purpose"
    assert "Invoke Error" in result.stderr
    assert "Traceback" not in result.stderr


def assert_one_error_line(result: subprocess.CompletedProcess[str], *needles: str) -> str:
    """Exit 2, nothing on stdout, exactly one `lambda-canary: error:` line naming every needle."""
    assert result.returncode == 2, (result.returncode, result.stdout, result.stderr)
    assert "Traceback" not in result.stderr
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("lambda-canary: error: ")
    for needle in needles:
        assert needle in lines[0], (needle, lines[0])
    return lines[0]


def test_unknown_runtime_names_file_line_and_key(tmp_path: Path) -> None:
    """runtime: nodejs99.x -> one line with the config file, the line and `functions.old.runtime`."""
    config = write_config(tmp_path, {"old": {"runtime": "nodejs99.x", "handler": "index.echo"}})
    result = run_cli("invoke", "old", "--config", str(config), cwd=tmp_path)
    line = assert_one_error_line(result, f"{config}:{line_of(config, 'nodejs99.x')}", "functions.old.runtime",
                                 "nodejs99.x")
    assert "nodejs22.x" in line  # the allowed runtimes are listed


def test_missing_handler_file_names_config_and_file(tmp_path: Path) -> None:
    """handler: nowhere/file.handler -> one line naming config:line and the file that is missing."""
    config = write_config(tmp_path, {"lost": {"runtime": "nodejs22.x", "handler": "nowhere/file.handler"}})
    result = run_cli("invoke", "lost", "--config", str(config), cwd=tmp_path)
    assert_one_error_line(result, f"{config}:{line_of(config, 'nowhere/file.handler')}", "nowhere/file.js",
                          str(APP))


@pytest.mark.parametrize("runtime", ["nodejs18.x", "nodejs22.x"])
def test_missing_export_names_config_and_export(tmp_path: Path, runtime: str) -> None:
    """handler: index.nope -> Runtime.HandlerNotFound on one line naming config:line; no runtime log noise."""
    config = write_config(tmp_path, {"noexport": {"runtime": runtime, "handler": "index.nope"}})
    result = run_cli("invoke", "noexport", "--config", str(config), cwd=tmp_path)
    assert_one_error_line(result, f"{config}:{line_of(config, 'index.nope')}", "Runtime.HandlerNotFound",
                          "index.nope")


def test_malformed_event_names_the_event_file(tmp_path: Path) -> None:
    """A broken event file -> one line naming the file and where the JSON breaks."""
    config = write_config(tmp_path, {"echo": {"runtime": "nodejs22.x", "handler": "index.echo"}})
    event = tmp_path / "event.json"
    event.write_text('{\n  "a": 1,\n}\n')
    result = run_cli("invoke", "echo", "--config", str(config), "--event", str(event), cwd=tmp_path)
    assert_one_error_line(result, str(event), "line 3")
    from_stdin = run_cli("invoke", "echo", "--config", str(config), "--event", "-", cwd=tmp_path, stdin=b"{nope")
    assert_one_error_line(from_stdin, "<stdin>", "line 1")


def test_unknown_function_names_the_config(tmp_path: Path) -> None:
    """Invoking a function the config does not define -> one line listing what it defines."""
    config = write_config(tmp_path, {"echo": {"runtime": "nodejs22.x", "handler": "index.echo"}})
    result = run_cli("invoke", "other", "--config", str(config), cwd=tmp_path)
    assert_one_error_line(result, str(config), "'other'", "echo")


def test_function_log_lines_keep_their_tabs_on_stderr(tmp_path: Path) -> None:
    """`<ISO time>\\t<request id>\\tINFO\\t<message>` reaches stderr byte for byte."""
    config = write_config(tmp_path, {"logger": {"runtime": "nodejs22.x", "handler": "index.log"}})
    result = run_cli("invoke", "logger", "--config", str(config), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert re.search(r"^\d{4}-\d\d-\d\dT[\d:.]+Z\t[0-9a-f-]{36}\tINFO\thello from the handler \{ n: 1 \}$",
                     result.stderr, re.M), result.stderr
    assert re.search(r"^REPORT RequestId: [0-9a-f-]{36}\tDuration: ", result.stderr, re.M)


def test_a_syntax_error_is_a_setup_mistake_like_a_missing_export(tmp_path: Path) -> None:
    """A module that does not parse cannot load, as a missing export cannot: both exit 2 on one line naming
    config:line (a function that loads and then fails exits 1)."""
    code = tmp_path / "code"
    code.mkdir()
    (code / "index.js").write_text("exports.handler = async () => {\n")
    config = write_config(tmp_path, {"unparsable": {"runtime": "nodejs22.x", "handler": "index.handler",
                                                    "code": str(code)}})
    result = run_cli("invoke", "unparsable", "--config", str(config), cwd=tmp_path)
    assert_one_error_line(result, f"{config}:{line_of(config, 'index.handler')}", "Runtime.UserCodeSyntaxError")


def test_runtime_client_aws_runs_awss_own_client_or_says_how_to_build_it(tmp_path: Path) -> None:
    """--runtime-client aws: AWS's aws-lambda-ric answers where it is built here (else one line naming the command
    that builds it, exit 2); with --backend docker it is one line and exit 2 either way."""
    from emulator.runtimes.aws_client import aws_client_dir

    config = write_config(tmp_path, {"v22": {"runtime": "nodejs22.x", "handler": "index.echo"}})
    docker = run_cli("invoke", "v22", "-c", str(config), "--runtime-client", "aws", "--backend", "docker", cwd=tmp_path)
    assert docker.returncode == 2
    assert docker.stderr.strip().count("\n") == 0 and "process backend only" in docker.stderr
    result = run_cli("invoke", "v22", "-c", str(config), "--runtime-client", "aws", "-e", "-", cwd=tmp_path,
                     stdin=b'{"k": 1}')
    if aws_client_dir() is None:
        assert result.returncode == 2
        assert "lambda-canary runtimes install-client aws" in result.stderr
        return
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["event"] == {"k": 1}
