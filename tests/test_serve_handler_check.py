"""`serve` refuses, before it answers anything, a config function whose handler cannot load: a missing export or a
module that does not parse is one line naming the config file (and line), the function and the handler, exit 2,
as `invoke` exits 2 on the same setup mistakes (with the process backend its port may already listen: connections
made meanwhile wait, tests/test_serve_startup.py). The check loads each handler through the runtime client's own
loader in one short-lived Node process per runtime, started while the gateway is imported; what depends on the
function's environment (a module that throws at load for a missing variable, one that hangs) is not refused: the
first invoke reports it as on AWS."""

from __future__ import annotations

import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest
import yaml
from support import require_both_nodes

from emulator.lambda_service.backends import process
from emulator.stack import StackOptions
from emulator.testing import StackThread

REPO = Path(__file__).resolve().parent.parent
OPTIONS = StackOptions(port=0, backend="process", access_log=False, function_logs=False)


@pytest.fixture(scope="module", autouse=True)
def _nodes() -> None:
    require_both_nodes()


def _config(folder: Path, modules: dict[str, str], handlers: dict[str, tuple[str, str]]) -> Path:
    """A config of functions name -> (runtime, handler) over one code folder holding `modules`, and a route each."""
    code = folder / "code"
    code.mkdir()
    for name, text in modules.items():
        (code / name).write_text(text)
    functions = {name: {"runtime": runtime, "handler": handler, "code": "code"}
                 for name, (runtime, handler) in handlers.items()}
    uri = ("arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/arn:aws:lambda:us-east-1:123456789012:"
           "function:{}/invocations")
    resources = {f"/{name}": {"GET": {"integration": {"type": "AWS_PROXY", "integrationHttpMethod": "POST",
                                                      "uri": uri.format(name)}}} for name in handlers}
    config = folder / "canary.yaml"
    config.write_text(yaml.safe_dump({"backend": "process", "functions": functions, "restApis": {"api": {
        "resources": resources, "deployments": {"d1": {}}, "stages": {"prod": {"deploymentId": "d1"}}}}},
        sort_keys=False))
    return config


def _serve(config: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "emulator.cli", "serve", str(config), "--port", "0"], cwd=REPO,
                          capture_output=True, text=True, timeout=120)


def _line_of(path: Path, text: str) -> int:
    return next(number for number, line in enumerate(path.read_text().splitlines(), 1) if text in line)


GOOD = "exports.handler = async () => ({ statusCode: 200, body: 'ok' });\n"


def test_a_missing_export_stops_serve_with_one_line_naming_file_function_and_handler(tmp_path: Path) -> None:
    """Two runtimes, one process each: the Node 18 function's missing export is named; the good one is not."""
    config = _config(tmp_path, {"index.js": GOOD}, {"fine": ("nodejs22.x", "index.handler"),
                                                   "broken": ("nodejs18.x", "index.nope")})
    result = _serve(config)
    assert result.returncode == 2, result
    assert result.stderr.strip().splitlines()[-1:] == [
        f"lambda-canary: error: {config}:{_line_of(config, 'index.nope')}: function broken: handler 'index.nope' "
        "cannot load: Runtime.HandlerNotFound: index.nope is undefined or not exported"], result.stderr
    assert "Traceback" not in result.stderr


def test_a_module_that_does_not_parse_stops_serve_like_invoke(tmp_path: Path) -> None:
    """A syntax error is the same setup mistake as a missing export (invoke exits 2 on both)."""
    config = _config(tmp_path, {"index.js": GOOD, "broken.mjs": "export const handler = async () => {\n"},
                     {"fine": ("nodejs22.x", "index.handler"), "unparsable": ("nodejs22.x", "broken.handler")})
    result = _serve(config)
    assert result.returncode == 2, result
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith(f"lambda-canary: error: {config}:{_line_of(config, 'broken.handler')}: function "
                           "unparsable: handler 'broken.handler' cannot load: Runtime.UserCodeSyntaxError: "), last


def test_what_depends_on_the_environment_is_not_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A module that throws at load without its variables, one that never finishes loading and one that exits
    the check's process are served; the check leaves no process behind."""
    monkeypatch.setattr(process, "CHECK_TIMEOUT_S", 0.5)
    config = _config(tmp_path, {
        "index.js": GOOD,
        "needs.js": "if (!process.env.TABLE) throw new Error('TABLE is not set');\n" + GOOD,
        "hangs.mjs": "await new Promise(() => setInterval(() => {}, 1000));\nexport const handler = 1;\n",
        "exits.js": "process.exit(3);\n"},
        {"fine": ("nodejs22.x", "index.handler"), "needs": ("nodejs22.x", "needs.handler"),
         "hangs": ("nodejs22.x", "hangs.handler"), "exits": ("nodejs18.x", "exits.handler")})
    with StackThread(config, OPTIONS) as stack:
        assert not _check_processes(), "the start-up check left a process running"
        with urllib.request.urlopen(f"{stack.url}/prod/fine", timeout=30) as response:
            assert response.read() == b"ok"


def _check_processes() -> list[int]:
    """Processes of this machine running the runtime client's check mode."""
    found = []
    for entry in Path("/proc").iterdir():
        try:
            if entry.name.isdigit() and b"LAMBDA_CANARY_CHECK_HANDLERS=1" in (entry / "environ").read_bytes():
                found.append(int(entry.name))
        except OSError:
            continue
    return found
