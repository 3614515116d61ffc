"""The state writer's thread (emulator/control_plane/persistence.py, StateWriter): changes handed over from the
event loop in their order, their journal text made and written in the writer's thread, each change durable before
its answer, and a failed write reaching the AWS API's answer. Durability across kill -9 is
tests/test_state_durability.py's."""

from __future__ import annotations

import json
import threading
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError
from support import live_state

from emulator.control_plane import persistence
from emulator.stack import StackOptions
from emulator.testing import StackThread

CREDENTIALS = {"region_name": "us-east-1", "aws_access_key_id": "test", "aws_secret_access_key": "test"}
ONE_TRY = Config(retries={"total_max_attempts": 1}, connect_timeout=5, read_timeout=30, max_pool_connections=16)


def _client(url: str) -> Any:
    return boto3.client("apigateway", endpoint_url=url, config=ONE_TRY, **CREDENTIALS)


@pytest.fixture(scope="module")
def running(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """An empty account with a state folder and one MOCK API deployed to `live` (no function, no Node)."""
    state = tmp_path_factory.mktemp("off-loop") / "state"
    lines: list[str] = []
    options = StackOptions(port=0, access_log=False, function_logs=False, state_dir=state, backend="process")
    with StackThread(None, options, log=lines.append) as stack:
        client = _client(stack.url)
        api = client.create_rest_api(name="mock")["id"]
        root = client.get_resources(restApiId=api)["items"][0]["id"]
        client.put_method(restApiId=api, resourceId=root, httpMethod="GET", authorizationType="NONE")
        client.put_method_response(restApiId=api, resourceId=root, httpMethod="GET", statusCode="200")
        client.put_integration(restApiId=api, resourceId=root, httpMethod="GET", type="MOCK",
                               requestTemplates={"application/json": '{"statusCode": 200}'})
        client.put_integration_response(restApiId=api, resourceId=root, httpMethod="GET", statusCode="200",
                                        responseTemplates={"application/json": '{"ok": true}'})
        client.create_deployment(restApiId=api, stageName="live")
        stack.mock_api = api  # type: ignore[attr-defined]
        yield stack, client, state, lines


def test_writes_at_once_beside_data_plane_traffic_are_saved_in_the_order_they_were_made(
        running: tuple[StackThread, Any, Path, list[str]]) -> None:
    """8 writers on the same 2 APIs while the data plane answers: every write and every request succeeds, and
    what the next start reads (state.json and the journal, in order) is the live state, the last value of each
    API included; a journal line out of order would bring back an older one."""
    stack, client, state, _lines = running
    ids = [client.create_rest_api(name=f"shared-{index}")["id"] for index in range(2)]
    stop = threading.Event()
    answers: list[int | str] = []
    request = urllib.request.Request(f"{stack.url}/live/",
                                     headers={"Host": f"{stack.mock_api}.execute-api.localhost"})  # type: ignore[attr-defined]

    def data_plane() -> None:
        while not stop.is_set():
            try:
                with urllib.request.urlopen(request, timeout=30) as response:
                    answers.append(response.status)
            except OSError as error:
                answers.append(str(error))

    def writer(number: int) -> None:
        mine = _client(stack.url)
        for index in range(15):
            mine.update_rest_api(restApiId=ids[index % 2], patchOperations=[
                {"op": "replace", "path": "/description", "value": f"writer {number} write {index}"}])

    reader = threading.Thread(target=data_plane)
    reader.start()
    try:
        with ThreadPoolExecutor(8) as pool:
            list(pool.map(writer, range(8)))
    finally:
        stop.set()
        reader.join()
    assert answers and set(answers) == {200}
    assert persistence.read_document(state) == live_state(stack)
    live = {item["id"]: item.get("description") for item in client.get_rest_apis()["items"]}
    assert all(live[api].startswith("writer ") for api in ids)


def test_a_change_that_cannot_be_saved_is_not_acknowledged(running: tuple[StackThread, Any, Path, list[str]],
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    """The writer thread's failure reaches the AWS API's thread: the service's internal error, one log line."""
    stack, client, state, lines = running
    api = client.create_rest_api(name="unsaved")["id"]

    def failing(self: Any, *args: Any) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(persistence._Journal, "commit", failing)
    with pytest.raises(ClientError) as caught:
        client.update_rest_api(restApiId=api, patchOperations=[
            {"op": "replace", "path": "/description", "value": "never on disk"}])
    monkeypatch.undo()
    error = caught.value.response
    assert (error["ResponseMetadata"]["HTTPStatusCode"], error["Error"]["Code"]) == (500, "InternalFailure")
    assert f"saving the state in {state} failed" in error["Error"]["Message"]
    assert any(f"saving the state in {state} failed: OSError" in line for line in lines)
    client.update_rest_api(restApiId=api, patchOperations=[{"op": "replace", "path": "/description",
                                                            "value": "saved"}])
    assert persistence.read_document(state) == live_state(stack)  # the next write saves everything again


def test_a_codedeploy_change_that_cannot_be_saved_gets_its_protocols_internal_failure(
        running: tuple[StackThread, Any, Path, list[str]], monkeypatch: pytest.MonkeyPatch) -> None:
    """A CodeDeploy call (JSON protocol, X-Amz-Target) is saved like the others; a failed save is its
    InternalFailure, read by botocore, not an exception out of the server."""
    stack, _apigateway, state, _lines = running
    api = stack.stack.control_plane.services["codedeploy"].implementation
    execution = stack.call(_opened(api))
    codedeploy = boto3.client("codedeploy", endpoint_url=stack.url, config=ONE_TRY, **CREDENTIALS)

    def failing(self: Any, *args: Any) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(persistence._Journal, "commit", failing)
    with pytest.raises(ClientError) as caught:
        codedeploy.put_lifecycle_event_hook_execution_status(
            deploymentId=execution.deployment_id, lifecycleEventHookExecutionId=execution.execution_id,
            status="Succeeded")
    monkeypatch.undo()
    error = caught.value.response
    assert (error["ResponseMetadata"]["HTTPStatusCode"], error["Error"]["Code"]) == (500, "InternalFailure")
    assert f"saving the state in {state} failed" in error["Error"]["Message"]


async def _opened(api: Any) -> Any:
    return api.open(api.new_deployment_id())


def test_changes_handed_over_from_several_threads_are_each_durable_once_their_future_completes(
        tmp_path: Path) -> None:
    """`submit` is thread-safe: 4 threads change and hand over 25 changes each (in one order, as the event loop
    does); each returns once its future says the change is on disk, and what the next start reads at that moment
    holds it. After `close`, state.json alone is the whole state."""
    import asyncio

    from emulator.apigateway.model import ApiGatewayState, RestApi

    state = ApiGatewayState()
    for index in range(3):
        api = RestApi(f"api{index}", f"api-{index}", "", [])
        api.add_resource_path("/")
        state.apis[api.id] = api
    document = persistence.StateDocument()
    writer = persistence.StateWriter(tmp_path)
    writer.submit(document.render(state, {}, persistence.Touched.everything())).result(30)
    order = threading.Lock()
    sequence = iter(range(1, 1_000))

    def change(number: int) -> None:
        for index in range(25):
            with order:  # changed and handed over in one order, as on the event loop
                api = state.apis[f"api{(number + index) % 3}"]
                api.description = expected = f"{next(sequence):06d}"
                done = writer.submit(document.render(state, {}, persistence.Touched({api.id}, set())))
            done.result(30)
            saved = persistence.read_document(tmp_path)
            assert saved is not None
            assert saved["apigateway"]["apis"][api.id]["description"] >= expected  # this change, or a later one

    with ThreadPoolExecutor(4) as pool:
        list(pool.map(change, range(4)))
    whole = json.loads(json.dumps(persistence._APIGATEWAY.dump_python(state, mode="json")))
    assert persistence.read_document(tmp_path)["apigateway"] == whole  # type: ignore[index]
    asyncio.run(writer.close(document.render(state, {}, persistence.Touched(set(), set()))))
    assert json.loads(persistence.state_file(tmp_path).read_text())["apigateway"] == whole
    assert persistence.journal_file(tmp_path).stat().st_size == 0


def test_a_journal_line_holds_what_changed_and_a_line_of_the_old_shape_still_replays(tmp_path: Path) -> None:
    """A change line carries the API Gateway shell, the changed APIs and the changed functions (the Lambda part
    holds only functions: no empty `"lambda": {}` member any more); a line written with it by an earlier version
    is still replayed."""
    from emulator.apigateway.model import ApiGatewayState, RestApi

    state = ApiGatewayState()
    api = RestApi("api0", "api-0", "", [])
    api.add_resource_path("/")
    state.apis[api.id] = api
    rendered = persistence.StateDocument().render(state, {"fn": lambda: {"latest": {}}},
                                                  persistence.Touched.everything())
    line = json.loads(rendered.change(1))
    assert set(line) == {"fold", "apigateway", "apis", "functions"}
    assert set(line["apis"]) == {"api0"} and line["functions"] == {"fn": {"latest": {}}}
    persistence.write_text(tmp_path, rendered.whole(1))
    old_shape = {**line, "lambda": {}, "apis": {"api0": {**line["apis"]["api0"], "description": "replayed"}}}
    persistence.journal_file(tmp_path).write_text(json.dumps(old_shape) + "\n" + rendered.change(1) + "\n")
    document = persistence.read_document(tmp_path)
    assert document is not None and document["lambda"] == {"functions": {"fn": {"latest": {}}}}
    assert document["apigateway"]["apis"]["api0"]["description"] == ""  # the second line came after the first
    persistence.journal_file(tmp_path).write_text(json.dumps(old_shape) + "\n")
    assert persistence.read_document(tmp_path)["apigateway"]["apis"]["api0"]["description"] == "replayed"  # type: ignore[index]
