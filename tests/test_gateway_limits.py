"""Payload limits (reference §3.4, §4.5) and what the process backend keeps from functions."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from support import call

from emulator import aio
from emulator.formats.load import load_config
from emulator.lambda_service.backends.process import ProcessBackend
from emulator.lambda_service.loader import records_from_config
from emulator.lambda_service.service import LambdaService
from emulator.paths import cache_dir
from emulator.stack import StackOptions
from emulator.testing import StackThread

CONFIG = Path(__file__).resolve().parent / "fixtures" / "gateway" / "gateway.yaml"


@pytest.fixture(scope="module")
def gateway() -> Iterator[StackThread]:
    with StackThread(CONFIG, StackOptions(port=0, seed=1, access_log=False, function_logs=False)) as running:
        yield running


def test_a_2_mb_body_reaches_the_function(gateway: StackThread) -> None:
    """aiohttp's 1 MiB default would refuse it; API Gateway takes up to 10 MB."""
    body = b"a" * 2_000_000
    reply = call(gateway.url, "POST", "/prod/echo", [("Content-Type", "text/plain")], body)
    assert reply.status == 200
    assert len(reply.json()["body"]) == len(body)


def test_a_body_over_10_mb_gets_413_from_the_gateway(gateway: StackThread) -> None:
    reply = call(gateway.url, "POST", "/prod/echo", [("Content-Type", "text/plain")], b"a" * 10_500_000)
    assert reply.status == 413
    assert reply.header("x-amzn-RequestId") and reply.header("x-amz-apigw-id")


def test_an_event_over_lambdas_6_mb_request_limit_is_refused_with_500(gateway: StackThread) -> None:
    """Lambda refuses a synchronous request over 6 MB; API Gateway answers a refused invoke with 500."""
    reply = call(gateway.url, "POST", "/prod/echo", [("Content-Type", "text/plain")], b"a" * 7_000_000)
    assert (reply.status, reply.body) == (500, b'{"message": "Internal server error"}')


def test_the_hosts_home_and_aws_files_do_not_reach_functions(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    home = tmp_path / "home"
    (home / ".aws").mkdir(parents=True)
    (home / ".aws" / "credentials").write_text("[default]\naws_access_key_id = AKIAHOSTKEYSHOULDNOTLEAK\n")
    monkeypatch.setenv("LAMBDA_CANARY_CACHE", str(cache_dir()))  # Node stays where it is installed
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(home / ".aws" / "credentials"))
    monkeypatch.setenv("AWS_PROFILE", "default")
    code = tmp_path / "code"
    code.mkdir()
    (code / "index.js").write_text(
        "const fs = require('fs'), os = require('os'), path = require('path');\n"
        "exports.handler = async () => ({home: os.homedir(), env: process.env,\n"
        "  credentials: fs.existsSync(path.join(os.homedir(), '.aws', 'credentials'))});\n")
    config = tmp_path / "canary.yaml"
    config.write_text(f"functions:\n  f:\n    runtime: nodejs22.x\n    handler: index.handler\n    code: {code}\n")

    async def invoke() -> dict[str, object]:
        service = LambdaService(ProcessBackend(), None)
        for record in records_from_config(load_config(config)):
            service.put_function(record)
        try:
            return json.loads((await service.invoke("f", b"{}")).payload)
        finally:
            await service.close()

    seen = aio.run(invoke())
    assert seen["home"] != str(home) and seen["credentials"] is False
    environment = seen["env"]
    assert isinstance(environment, dict)
    assert not {"AWS_SHARED_CREDENTIALS_FILE", "AWS_PROFILE", "AWS_ACCESS_KEY_ID"} & set(environment)
    assert "AKIAHOSTKEYSHOULDNOTLEAK" not in json.dumps(seen)
