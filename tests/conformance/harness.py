"""Run recorded call sequences against a real `lambda-canary serve` and compare each response with AWS's.

A *case* is one recorded response: the sequence of a LocalStack AWS-validated test (its code kept close to
the original, in `third_party/sequences_*.py`) up to one `snapshot.match(key, ...)`, and what AWS answered there
(`recordings/*.json`, cited by repository, commit and test). Sequences get their arguments by name, like pytest
fixtures: `aws_client`, `snapshot` and the helpers registered with `@fixture`.
"""

from __future__ import annotations

import inspect
import json
import os
import re
import subprocess
import sys
import threading
import time
import traceback
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config
from botocore.response import StreamingBody

from conformance.snapshot import Bindings, compare

HERE = Path(__file__).resolve().parent
RECORDINGS = HERE / "recordings"
REGION = "us-east-1"

Sequence = Callable[..., None]


@dataclass(frozen=True)
class Recorded:
    """One LocalStack test whose responses AWS gave: where it comes from and its call sequence."""

    file: str  # the recording file stem, e.g. "test_apigateway_canary"
    test: str  # "Class::test_name[param]" as in the snapshot file
    sequence: Sequence
    substitutions: tuple[tuple[str, str], ...] = ()  # recorded text -> ours, for inputs we must change
    parameters: tuple[tuple[str, Any], ...] = ()  # a parametrized test's arguments
    skip: tuple[str, ...] = ()  # LocalStack's skip_snapshot_verify paths that are not API Gateway's or Lambda's

    @property
    def case_id(self) -> str:
        return f"{self.file}::{self.test}"


REGISTRY: list[Recorded] = []
FIXTURES: dict[str, Callable[..., Any]] = {}


def recorded(file: str, test: str, *, substitutions: dict[str, str] | None = None,
             parameters: dict[str, Any] | None = None, skip: list[str] | None = None
             ) -> Callable[[Sequence], Sequence]:
    """Register a sequence for the LocalStack test `test` whose responses are in recordings/`file`.json.

    `substitutions` replace text in the recording where the sequence had to send something else than the
    recorded test (e.g. a Node runtime where the recording's function ran on Python); each one is named in the
    sequence's docstring. `skip` lists recorded paths (LocalStack's `$..name` form) left out of the comparison,
    each because it is not API Gateway's or Lambda's answer (e.g. headers CloudFront adds in front of AWS).
    """

    def register(function: Sequence) -> Sequence:
        REGISTRY.append(Recorded(file, test, function, tuple((substitutions or {}).items()),
                                 tuple((parameters or {}).items()), tuple(skip or ())))
        return function

    return register


def fixture(function: Callable[..., Any]) -> Callable[..., Any]:
    """Register a helper that sequences (and other fixtures) can ask for by its name."""
    FIXTURES[function.__name__] = function
    return function


def load_recording(file: str) -> dict[str, Any]:
    return json.loads((RECORDINGS / f"{file}.json").read_text())


def recorded_keys(case: Recorded) -> list[str]:
    return list(load_recording(case.file)["tests"][case.test]["recorded-content"])


# ---- what a sequence sees -------------------------------------------------------------------------------
class Snapshot:
    """LocalStack's `snapshot` fixture, recording what the live emulator answered under each key."""

    def __init__(self) -> None:
        self.observed: dict[str, Any] = {}
        self.sorters: list[Any] = []

    def match(self, key: str, value: Any) -> None:
        value = _plain(value)
        for transformer in self.sorters:
            value = transformer.apply(value)
        self.observed[key] = value

    # LocalStack's transformers are already applied to the recordings; only sorting matters here.
    def add_transformer(self, transformer: Any = None, *args: Any, **kwargs: Any) -> None:
        if hasattr(transformer, "apply") and hasattr(transformer, "sorting_fn"):
            self.sorters.append(transformer)

    def add_transformers_list(self, transformers: Any = (), *args: Any, **kwargs: Any) -> None:
        for transformer in transformers or ():
            self.add_transformer(transformer)

    def skip_snapshot_verify(self, *args: Any, **kwargs: Any) -> None:
        return None

    @property
    def transform(self) -> Any:
        return _Anything()


class _Anything:
    def __getattr__(self, name: str) -> Any:
        return lambda *args, **kwargs: None


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(item) for item in value]
    if isinstance(value, Exception):
        return str(value)
    if isinstance(value, StreamingBody):
        data = value.read()
        try:
            return json.loads(data)
        except ValueError:
            return data.decode(errors="replace")
    return value


class AwsClient:
    """LocalStack's `aws_client`: boto3 clients for the emulator, by service attribute name."""

    def __init__(self, endpoint: str, config: Config | None = None) -> None:
        self.endpoint = endpoint
        self.config = Config(retries={"max_attempts": 1}, read_timeout=60, connect_timeout=10)
        if config is not None:
            self.config = self.config.merge(config)
        self._clients: dict[str, Any] = {}

    def client(self, service: str) -> Any:
        if service not in self._clients:
            self._clients[service] = boto3.client(
                service, endpoint_url=self.endpoint, region_name=REGION, aws_access_key_id="test",
                aws_secret_access_key="test",
                config=self.config)
        return self._clients[service]

    @property
    def apigateway(self) -> Any:
        return self.client("apigateway")

    @property
    def lambda_(self) -> Any:
        return self.client("lambda")

    @property
    def sts(self) -> Any:
        """Only GetCallerIdentity, for the account id (the emulator has one account and no STS)."""
        return _Sts()


class _Sts:
    def get_caller_identity(self) -> dict[str, str]:
        return {"Account": "123456789012", "Arn": "arn:aws:iam::123456789012:root", "UserId": "123456789012"}


@dataclass
class Outcome:
    """Per recorded key: the differences found (empty list: the live answer is AWS's)."""

    problems: dict[str, list[str]] = field(default_factory=dict)


def run_case(case: Recorded, endpoint: str) -> Outcome:
    """Run one sequence and compare every recorded key with what the emulator answered."""
    recording = load_recording(case.file)["tests"][case.test]["recorded-content"]
    recording = _substitute(recording, case.substitutions)
    snapshot = Snapshot()
    context: dict[str, Any] = {"aws_client": AwsClient(endpoint), "snapshot": snapshot, "endpoint": endpoint,
                               **dict(case.parameters)}
    failure: str | None = None
    try:
        _call(case.sequence, context)
    except BaseException as error:
        if isinstance(error, KeyboardInterrupt):
            raise
        failure = "".join(traceback.format_exception_only(error)).strip()
        tb = traceback.extract_tb(error.__traceback__)
        where = next((f"{Path(frame.filename).name}:{frame.lineno}" for frame in reversed(tb)
                      if "sequences_" in frame.filename), "")
        failure = f"the sequence stopped at {where}: {failure}"
    bindings = Bindings(skip=case.skip)
    outcome = Outcome()
    for key, expected in recording.items():
        if key not in snapshot.observed:
            outcome.problems[key] = [failure or "the sequence never reached this snapshot key"]
            continue
        outcome.problems[key] = compare(expected, snapshot.observed[key], bindings)
    return outcome


def _call(function: Callable[..., Any], context: dict[str, Any]) -> Any:
    kwargs = {}
    for name in inspect.signature(function).parameters:
        if name not in context:
            if name not in FIXTURES:
                raise LookupError(f"no fixture {name!r} for {function.__name__}")
            context[name] = _call(FIXTURES[name], context)
        kwargs[name] = context[name]
    return function(**kwargs)


def _substitute(value: Any, pairs: tuple[tuple[str, str], ...]) -> Any:
    if not pairs:
        return value
    if isinstance(value, dict):
        return {key: _substitute(item, pairs) for key, item in value.items()}
    if isinstance(value, list):
        return [_substitute(item, pairs) for item in value]
    if isinstance(value, str):
        return dict(pairs).get(value, value)  # whole values only: an enum list in a message stays AWS's
    return value


# ---- the server ----------------------------------------------------------------------------------------
@contextmanager
def served(log_path: Path) -> Iterator[str]:
    """`lambda-canary serve` with an empty account on a free loopback port; yields its URL."""
    command = Path(sys.executable).with_name("lambda-canary")
    with open(log_path, "wb") as log:
        process = subprocess.Popen([str(command), "serve", "--port", "0", "--backend", "process", "--seed", "1"],
                                   stdout=log, stderr=subprocess.PIPE,
                                   env={**os.environ, "NO_COLOR": "1", "PYTHONUNBUFFERED": "1"})
        try:
            assert process.stderr is not None
            deadline = time.monotonic() + 60
            url = None
            while url is None and time.monotonic() < deadline:
                line = process.stderr.readline().decode(errors="replace")
                log.write(line.encode())
                if not line:
                    break
                found = re.search(r"serving on (http://127\.0\.0\.1:\d+)", line)
                if found:
                    url = found.group(1)
            if url is None:
                raise RuntimeError(f"lambda-canary serve did not start (log: {log_path})")
            threading.Thread(target=_drain, args=(process.stderr, log), daemon=True).start()
            urllib.request.urlopen(url + "/_lambda_canary/stats", timeout=30).read()
            yield url
        finally:
            process.terminate()
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def _drain(stream: Any, log: Any) -> None:
    for line in iter(stream.readline, b""):
        try:
            log.write(line)
            log.flush()
        except ValueError:  # the log was closed: the server is stopping
            return
