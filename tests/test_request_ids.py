"""Request ids and trace ids across the gateway and the function (reference §4.6, §6.1)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from support import call

from emulator.stack import StackOptions
from emulator.testing import StackThread

HANDLER = """exports.handler = async (event, context) => ({statusCode: 200, body: JSON.stringify({
  eventRequestId: event.requestContext.requestId, eventTrace: event.headers["X-Amzn-Trace-Id"],
  lambdaTrace: process.env._X_AMZN_TRACE_ID})});
"""


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[StackThread]:
    folder: Path = tmp_path_factory.mktemp("ids")
    (folder / "index.js").write_text(HANDLER)
    (folder / "canary.yaml").write_text("""
functions:
  ids: {runtime: nodejs22.x, handler: index.handler, code: .}
restApis:
  api:
    resources:
      /ids:
        GET:
          integration:
            type: AWS_PROXY
            uri: "arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/\\
              arn:aws:lambda:us-east-1:123456789012:function:ids/invocations"
    stages: {prod: {}}
""")
    with StackThread(folder / "canary.yaml", StackOptions(port=0, access_log=False, function_logs=False)) as running:
        yield running


def test_a_clients_uuid_request_id_is_kept(stack: StackThread) -> None:
    mine = str(uuid.uuid4())
    reply = call(stack.url, "GET", "/prod/ids", [("x-amzn-RequestId", mine)])
    assert reply.header("x-amzn-RequestId") == mine and reply.json()["eventRequestId"] == mine


def test_a_non_uuid_request_id_is_replaced(stack: StackThread) -> None:
    reply = call(stack.url, "GET", "/prod/ids", [("x-amzn-RequestId", "not-a-uuid")])
    assigned = reply.header("x-amzn-RequestId")
    assert assigned and assigned != "not-a-uuid" and uuid.UUID(assigned)
    assert reply.json()["eventRequestId"] == assigned


def test_one_trace_id_from_the_client_to_the_function_and_back(stack: StackThread) -> None:
    trace = "Root=1-5e66d96f-7491f09xmpl79d18acf3d050"
    reply = call(stack.url, "GET", "/prod/ids", [("X-Amzn-Trace-Id", trace)])
    body = reply.json()
    assert body["eventTrace"] == body["lambdaTrace"] == reply.header("X-Amzn-Trace-Id") == trace


def test_a_generated_trace_id_is_the_same_in_the_event_the_function_and_the_response(stack: StackThread) -> None:
    reply = call(stack.url, "GET", "/prod/ids")
    body = reply.json()
    assert body["eventTrace"].startswith("Root=1-")
    assert body["eventTrace"] == body["lambdaTrace"] == reply.header("X-Amzn-Trace-Id")
