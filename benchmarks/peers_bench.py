"""lambda-canary beside its peers, in one run: serverless-offline 13 (`--useInProcess` and its default worker-thread
mode), SAM CLI (`sam local start-api --warm-containers EAGER`) and the bare Node floor, the same ping handler behind
each, measured interleaved (floor, peer, us, peer, peer; three rounds; the median of each) with wrk -t1 at
concurrency 1 and 8, and the machine's load at every measurement.

serverless-offline needs the Serverless Framework: v4 asks for a login or a licence key even offline, so v3 (3.x,
which serverless-offline 13 declares as its peer: `"serverless": "^3.2.0"`) is installed through npm into the
lambda-canary cache (`<cache>/peers/serverless-offline`), never into the repository. It runs on the same Node 22 the
floor uses.

SAM CLI is pip-installed into its own venv in the cache (`<cache>/peers/sam/<version>`). Its image comes from no
registry: SAM builds a "rapid" image FROM the runtime's base image, adding its RIE at /var/rapid/aws-lambda-rie,
and runs it with that RIE as the entrypoint, which starts /var/runtime/bootstrap (samcli/local/docker/
lambda_image.py `build`/`_generate_dockerfile`, lambda_container.py `_get_default_entry_point`, aws-sam-cli
1.170.0). Our offline stand-in of public.ecr.aws/lambda/nodejs:22 honours that contract, so it is tagged under a
repository of this run's own and handed to SAM with `--invoke-image` (`--skip-pull-image`); SAM then names its
build `<that repository>:rapid-<arch>`. Both tags and any container left are removed when the run ends. Where a
step cannot be done (no engine, pip fails, SAM does not answer "pong"), the one-line reason is printed.

Most of SAM's time here is its own wait: after each invoke `Container.wait_for_result` waits up to 1 s for its log
thread to see the REPORT line (`_logs_thread_event.wait(timeout=1)`), matched per chunk of `docker attach` output
with `re.match(r"(.*\\s)?REPORT RequestId:...")`, which misses when START, END and REPORT arrive in one chunk
(samcli/local/docker/container.py, 1.170.0). Traced here: 3 of 70 chunks with a REPORT missed, about 3 s of a
4 s run. The lines come from SAM's own RIE, so the public base image would be chunked the same way.

Run: `make bench PEERS=1` (or `BENCH_PEERS=1 .venv/bin/python -m benchmarks.run`), or this module alone.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import urllib.request
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

from docker.errors import DockerException, ImageNotFound
from rich.console import Console
from rich.table import Table

from benchmarks.gateway_bench import _free_port, _wait_http, load, wrk
from emulator.errors import UserError
from emulator.lambda_service.backends.docker import DockerOptions, open_client
from emulator.lambda_service.backends.standin import SAM_CLI_VERSION, build_standin, rie_arch
from emulator.paths import cache_dir
from emulator.runtimes.provision import require_node

REPO = Path(__file__).resolve().parent.parent
HANDLER = REPO / "examples" / "ping" / "src" / "handlers" / "ping.js"
PACKAGES = ("serverless@3", "serverless-offline@13")
SAM_RUNTIME = "nodejs22.x"
ROUNDS = 3
DURATION_S = 4
OURS = "lambda-canary (process, default logs)"
FLOOR = "bare node (floor)"
SAM = "SAM CLI start-api --warm-containers EAGER"
PEERS = {"serverless-offline --useInProcess": "--useInProcess", "serverless-offline (worker threads)":
         "worker threads", SAM: "SAM CLI"}  # setup -> the short name of its ratio column
SAM_TEMPLATE = """AWSTemplateFormatVersion: '2010-09-09'
Transform: AWS::Serverless-2016-10-31
Resources:
  Ping:
    Type: AWS::Serverless::Function
    Properties:
      Runtime: nodejs22.x
      Handler: handler.handler
      CodeUri: .
      MemorySize: 128
      Timeout: 3
      Events:
        Ping:
          Type: Api
          Properties:
            Path: /ping
            Method: get
"""
SERVERLESS_YML = """service: bench
frameworkVersion: "3"
plugins:
  - serverless-offline
provider:
  name: aws
  runtime: nodejs20.x
  region: us-east-1
  stage: prod
functions:
  ping:
    handler: handler.handler
    events:
      - http:
          path: ping
          method: get
"""


def peers_dir() -> Path:
    """Where the peers are installed: the lambda-canary cache, never the repository."""
    return cache_dir() / "peers" / "serverless-offline"


def install_serverless(console: Console) -> Path | None:
    """serverless 3 + serverless-offline 13 through npm (once; cached); None, said why, when npm cannot."""
    folder = peers_dir()
    entry = folder / "node_modules" / "serverless" / "bin" / "serverless.js"
    if entry.exists() and (folder / "node_modules" / "serverless-offline").is_dir():
        return entry
    npm = shutil.which("npm")
    if npm is None:
        console.print("serverless-offline skipped: npm is not installed")
        return None
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "package.json").write_text('{"name": "lambda-canary-bench-peers", "private": true}\n')
    console.print(f"installing {' '.join(PACKAGES)} into {folder} (once)…")
    done = subprocess.run([npm, "install", "--no-audit", "--no-fund", "--loglevel=error", *PACKAGES], cwd=folder,
                          capture_output=True, text=True, timeout=900)
    if done.returncode != 0 or not entry.exists():
        console.print(f"serverless-offline skipped: npm install failed: {done.stderr.strip()[-300:]}")
        return None
    return entry


def sam_dir() -> Path:
    """SAM CLI's own venv in the lambda-canary cache, never the repository's venv."""
    return cache_dir() / "peers" / "sam" / SAM_CLI_VERSION


def install_sam(console: Console) -> Path | str:
    """`sam` from aws-sam-cli in its venv (pip, once; cached); else why it cannot be had."""
    folder = sam_dir()
    sam, done_marker = folder / "bin" / "sam", folder / ".installed"
    if sam.exists() and done_marker.exists():
        return sam
    shutil.rmtree(folder, ignore_errors=True)  # a half-made venv from an interrupted install
    folder.parent.mkdir(parents=True, exist_ok=True)
    console.print(f"installing aws-sam-cli=={SAM_CLI_VERSION} into {folder} (once)…")
    for step in ([sys.executable, "-m", "venv", str(folder)],
                 [str(folder / "bin" / "python"), "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
                  f"aws-sam-cli=={SAM_CLI_VERSION}"]):
        try:
            result = subprocess.run(step, capture_output=True, text=True, timeout=900)
        except (OSError, subprocess.TimeoutExpired) as error:
            return f"installing aws-sam-cli failed: {error}"
        if result.returncode != 0:
            lines = [line for line in result.stderr.splitlines() if line.strip() and "WARNING" not in line]
            return f"installing aws-sam-cli failed: {(lines or ['unknown error'])[-1].strip()[:300]}"
    if not sam.exists():
        return f"installing aws-sam-cli made no {sam}"
    done_marker.write_text(f"aws-sam-cli=={SAM_CLI_VERSION}\n")
    return sam


@dataclass(frozen=True)
class SamImages:
    """The tags this run gives SAM: the stand-in under our own repository, and the rapid image SAM builds FROM it."""

    repository: str

    @property
    def base(self) -> str:
        return f"{self.repository}:22"

    @property
    def rapid(self) -> str:
        """SAM's name for its build on an `--invoke-image` (lambda_image.py: `{image_repo}:rapid-{architecture}`)."""
        return f"{self.repository}:rapid-{rie_arch()}"


def sam_base_image(console: Console) -> SamImages | str:
    """The offline stand-in of public.ecr.aws/lambda/nodejs:22 (built when missing), tagged for this run only;
    else why there is none."""
    try:
        client = open_client(DockerOptions())
    except UserError as error:
        return error.message
    try:
        standin = build_standin(client, SAM_RUNTIME, console)
        images = SamImages(f"lambda-canary-peers/sam-nodejs-{os.getpid()}")  # one run's own: nothing shared
        client.images.get(standin.tag).tag(images.repository, "22")
        return images
    except (UserError, DockerException) as error:
        return f"no stand-in base image: {getattr(error, 'message', None) or error}"
    finally:
        client.close()


def remove_sam_images(images: SamImages) -> None:
    """Remove what this run made: SAM's containers on our rapid image, the rapid image, our tag of the stand-in."""
    try:
        client = open_client(DockerOptions())
    except UserError:
        return
    try:
        for container in client.containers.list(all=True, filters={"ancestor": images.rapid}):
            container.remove(force=True)
        for tag in (images.rapid, images.base):  # the base is only our tag: the stand-in keeps its own
            with suppress(ImageNotFound):
                client.images.remove(tag)
    except DockerException:
        pass  # a clean-up that cannot finish leaves only tags named after this run
    finally:
        client.close()


def _sam(sam: Path, images: SamImages, scratch: Path) -> tuple[list[str], Path, str, dict[str, str]]:
    project = scratch / "sam"
    project.mkdir()
    (project / "template.yaml").write_text(SAM_TEMPLATE)
    shutil.copy(HANDLER, project / "handler.js")
    port = _free_port()
    command = [str(sam), "local", "start-api", "--host", "127.0.0.1", "--port", str(port), "--skip-pull-image",
               "--warm-containers", "EAGER", "--invoke-image", images.base]
    home = scratch / "sam-home"  # not the code folder, which SAM watches for changes
    home.mkdir()
    env = {"PATH": f"{sam.parent}:/usr/bin:/bin", "HOME": str(home), "SAM_CLI_TELEMETRY": "0",
           "AWS_DEFAULT_REGION": "us-east-1"}  # no host AWS credentials reach SAM or its containers
    if os.environ.get("DOCKER_HOST"):
        env["DOCKER_HOST"] = os.environ["DOCKER_HOST"]
    return command, project, f"http://127.0.0.1:{port}/ping", env


def _answers_pong(url: str) -> str | None:
    """None when `url` answers 200 with the ping handler's "pong", else what it answered."""
    try:
        with urllib.request.urlopen(url, timeout=30) as response:
            status, body = response.status, response.read()
    except OSError as error:
        return f"{url} answered {error}"
    if status != 200 or json.loads(body).get("message") != "pong":
        return f"{url} answered {status} {body[:120]!r}, not 200 pong"
    return None


@contextmanager
def _process(command: list[str], cwd: Path, url: str, env: dict[str, str] | None = None,
             timeout: float = 180, log: Path | None = None) -> Iterator[str]:
    """A server in its own process group, until the block ends; yields `url` once it answers (its stderr goes
    to `log` when given)."""
    with ExitStack() as files:
        stderr = files.enter_context(log.open("wb")) if log is not None else subprocess.DEVNULL
        process = subprocess.Popen(command, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=stderr,
                                   start_new_session=True)
    try:
        _wait_http(url, timeout=timeout)
        yield url
    finally:
        try:
            os.killpg(process.pid, signal.SIGTERM)
            process.wait(30)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(30)


def _serverless(entry: Path, scratch: Path, in_process: bool) -> tuple[list[str], Path, str, dict[str, str]]:
    service = scratch / ("in-process" if in_process else "default")
    service.mkdir()
    (service / "serverless.yml").write_text(SERVERLESS_YML)
    shutil.copy(HANDLER, service / "handler.js")
    (service / "node_modules").symlink_to(entry.parents[2], target_is_directory=True)
    port, lambda_port = _free_port(), _free_port()
    node = require_node("nodejs22.x")
    command = [str(node), str(entry), "offline", "start", "--host", "127.0.0.1", "--httpPort", str(port),
               "--lambdaPort", str(lambda_port), *(["--useInProcess"] if in_process else [])]
    env = {"PATH": f"{node.parent}:/usr/bin:/bin", "HOME": str(scratch), "SLS_TELEMETRY_DISABLED": "1",
           "SLS_NOTIFICATIONS_MODE": "off", "SLS_DEPRECATION_DISABLE": "*"}  # no host AWS credentials
    return command, service, f"http://127.0.0.1:{port}/prod/ping", env


def _last_line(log: Path) -> str:
    lines = [line.strip() for line in log.read_text(errors="replace").splitlines() if line.strip()]
    return lines[-1][:300] if lines else "nothing on stderr"


def _start_sam(servers: ExitStack, console: Console, scratch: Path) -> str | None:
    """SAM CLI serving the ping handler on the stand-in (cleaned up when `servers` closes); its URL, or None with
    the reason printed."""
    sam = install_sam(console)
    images = sam_base_image(console) if isinstance(sam, Path) else sam
    if isinstance(sam, str) or isinstance(images, str):
        console.print(f"SAM CLI skipped: {images}")
        return None
    servers.callback(remove_sam_images, images)  # runs after SAM has stopped (an ExitStack unwinds in reverse)
    command, cwd, url, env = _sam(sam, images, scratch)
    log = scratch / "sam.log"
    try:
        servers.enter_context(_process(command, cwd, url, env, log=log))
    except RuntimeError:
        console.print(f"SAM CLI skipped: `sam local start-api` did not answer: {_last_line(log)}")
        return None
    problem = _answers_pong(url)
    if problem is not None:
        console.print(f"SAM CLI skipped: {problem}")
        return None
    return url


def run(console: Console) -> dict[str, dict[str, dict[str, float]]]:
    """Start every server once, measure them interleaved, print the ratios; returns medians by setup and c."""
    if shutil.which("wrk") is None:
        raise SystemExit("benchmarks need wrk: apt-get install wrk")
    entry = install_serverless(console)
    node = require_node("nodejs22.x")
    samples: dict[str, dict[int, list[dict[str, float]]]] = {}
    with tempfile.TemporaryDirectory(prefix="lambda-canary-peers-") as scratch_name, ExitStack() as servers:
        scratch = Path(scratch_name)
        urls: dict[str, str] = {}
        port = _free_port()
        urls[FLOOR] = servers.enter_context(_process(
            [str(node), str(REPO / "benchmarks" / "bare_node_server.js"), str(HANDLER), "handler", str(port)],
            REPO, f"http://127.0.0.1:{port}/prod/ping"))
        if entry is not None:
            command, cwd, url, env = _serverless(entry, scratch, in_process=True)
            urls["serverless-offline --useInProcess"] = servers.enter_context(_process(command, cwd, url, env))
        port = _free_port()
        urls[OURS] = servers.enter_context(_process(
            [sys.executable, "-m", "emulator.cli", "serve", str(REPO / "examples" / "ping" / "canary.yaml"),
             "--port", str(port), "--seed", "7", "--backend", "process"], REPO, f"http://127.0.0.1:{port}/prod/ping"))
        if entry is not None:
            command, cwd, url, env = _serverless(entry, scratch, in_process=False)
            urls["serverless-offline (worker threads)"] = servers.enter_context(_process(command, cwd, url, env))
        sam_url = _start_sam(servers, console, scratch)
        if sam_url is not None:
            urls[SAM] = sam_url
        for url in urls.values():
            wrk(url, 8, 2)  # warm: environments, JIT, connection pools
        for connections in (1, 8):
            for _ in range(ROUNDS):
                for name, url in urls.items():
                    figures = wrk(url, connections, DURATION_S)
                    figures["load"] = load()
                    samples.setdefault(name, {}).setdefault(connections, []).append(figures)
    medians = {name: {f"c={c}": {"rps": statistics.median(s["rps"] for s in runs),
                                 "p50_ms": statistics.median(s["p50_ms"] for s in runs),
                                 "non_2xx": sum(s["non_2xx"] for s in runs)}
                      for c, runs in by_c.items()} for name, by_c in samples.items()}
    peers = [name for name in PEERS if name in samples]
    for connections in (1, 8):
        key = f"c={connections}"
        floor = medians[FLOOR][key]["rps"]
        table = Table("setup", "requests/s (median of 3)", "p50 ms", "non-2xx", "load at each run", "vs floor",
                      *[f"us vs {PEERS[peer]}" for peer in peers],
                      title=f"Peers, examples/ping handler, wrk -t1 -c{connections}, {DURATION_S} s, "
                            f"interleaved {ROUNDS} rounds")
        for name, by_c in medians.items():
            row = by_c[key]
            loads = " ".join(f"{s['load']:.1f}" for s in samples[name][connections])
            ratios = [f"{medians[OURS][key]['rps'] / medians[peer][key]['rps']:.2f}x"
                      if name == OURS and medians[peer][key]["rps"] > 0 else "" for peer in peers]
            rate = f"{row['rps']:.0f}" if row["rps"] >= 100 else f"{row['rps']:.1f}"
            table.add_row(name, rate, f"{row['p50_ms']:.3f}", f"{row['non_2xx']:.0f}", loads,
                          f"{row['rps'] / floor:.3f}", *ratios)
        console.print(table)
    return medians


if __name__ == "__main__":
    run(Console(width=160))
