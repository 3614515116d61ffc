"""Function states as AWS has them, through the real preparation path, driven by real boto3 clients.

AWS's answers (emulator/lambda_service/states.py cites them): CreateFunction answers Pending, Invoke of a Pending
function answers 409 ResourceConflictException "... The function is currently in the following state: Pending",
an update answers LastUpdateStatus InProgress, an update or a publish during an update answers "... An update is
in progress for resource: <ARN>", and each transition issues a new RevisionId.

Pending is made observable with LAMBDA_CANARY_HOLD_PREPARATION (a file whose existence holds every preparation
before it starts); the states still come from the real preparation, which runs once the file is gone.
"""

from __future__ import annotations

import io
import json
import urllib.error
import urllib.request
import uuid
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import botocore.exceptions
import pytest

from emulator.errors import UserError
from emulator.lambda_service.backends.docker import BASE_REPOSITORY_ENV
from emulator.lambda_service.states import HOLD_ENV
from emulator.runtimes.provision import require_node
from emulator.stack import StackOptions
from emulator.testing import StackThread

ROLE = "arn:aws:iam::123456789012:role/lambda-role"
ARN = "arn:aws:lambda:us-east-1:123456789012:function:{}"
CREDENTIALS = {"region_name": "us-east-1", "aws_access_key_id": "test", "aws_secret_access_key": "test"}
WAIT = {"Delay": 1, "MaxAttempts": 60}
HANDLER = "exports.handler = async (event) => ({ marker: %s, node: process.version, event });\n"


PROXY_HANDLER = "exports.handler = async () => ({ statusCode: 200, body: JSON.stringify({ marker: %s }) });\n"


def package(marker: str, handler: str = HANDLER) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr(zipfile.ZipInfo("index.js", date_time=(2024, 1, 1, 0, 0, 0)), handler % json.dumps(marker))
    return buffer.getvalue()


def error_of(raised: pytest.ExceptionInfo[botocore.exceptions.ClientError]) -> tuple[str, str, int]:
    response = raised.value.response
    return response["Error"]["Code"], response["Error"]["Message"], response["ResponseMetadata"]["HTTPStatusCode"]


def invoke(client: Any, name: str, **kwargs: Any) -> dict[str, Any]:
    response = client.invoke(FunctionName=name, Payload=b'{"n": 1}', **kwargs)
    assert response["StatusCode"] == 200 and "FunctionError" not in response
    return json.loads(response["Payload"].read())


@pytest.fixture
def hold(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The hold file (absent: preparations run at once)."""
    path = tmp_path / "hold"
    monkeypatch.setenv(HOLD_ENV, str(path))
    return path


@pytest.fixture
def lines() -> list[str]:
    return []


@pytest.fixture
def lam(hold: Path, lines: list[str]) -> Iterator[Any]:
    try:
        require_node("nodejs22.x")
    except UserError as error:
        pytest.skip(f"Node runtimes not installed: {error}")
    options = StackOptions(port=0, backend="process", access_log=False, function_logs=False)
    with StackThread(None, options, log=lines.append) as stack:
        yield boto3.client("lambda", endpoint_url=stack.url, **CREDENTIALS)


def test_pending_answers_the_invoke_conflict_then_the_waiter_succeeds(lam: Any, hold: Path) -> None:
    hold.touch()
    created = lam.create_function(FunctionName="held", Runtime="nodejs22.x", Role=ROLE, Handler="index.handler",
                                  Code={"ZipFile": package("one")})
    assert (created["State"], created["StateReason"], created["StateReasonCode"]) == (
        "Pending", "The function is being created.", "Creating")
    assert "LastUpdateStatus" not in created
    seen = lam.get_function(FunctionName="held")["Configuration"]
    assert seen["State"] == "Pending" and seen["RevisionId"] == created["RevisionId"]

    with pytest.raises(lam.exceptions.ResourceConflictException) as conflict:
        lam.invoke(FunctionName="held", Payload=b"{}")
    assert error_of(conflict) == ("ResourceConflictException", "The operation cannot be performed at this time. "
                                  "The function is currently in the following state: Pending", 409)
    with pytest.raises(lam.exceptions.ResourceConflictException) as event_conflict:
        lam.invoke(FunctionName="held", Payload=b"{}", InvocationType="Event")
    assert error_of(event_conflict)[2] == 409
    with pytest.raises(lam.exceptions.ResourceConflictException) as update_conflict:
        lam.update_function_code(FunctionName="held", ZipFile=package("two"))
    assert error_of(update_conflict)[1] == (
        f"The operation cannot be performed at this time. The resource {ARN.format('held')} is currently in the "
        "following state: 'Pending'. StateReasonCode: 'Creating'")
    with pytest.raises(lam.exceptions.ResourceConflictException):
        lam.publish_version(FunctionName="held")

    hold.unlink()
    lam.get_waiter("function_active_v2").wait(FunctionName="held", WaiterConfig=WAIT)
    ready = lam.get_function(FunctionName="held")["Configuration"]
    assert (ready["State"], ready["LastUpdateStatus"]) == ("Active", "Successful")
    assert not {"StateReason", "StateReasonCode", "LastUpdateStatusReason"} & set(ready)
    assert ready["RevisionId"] != created["RevisionId"]
    assert invoke(lam, "held")["marker"] == "one"


def test_an_update_is_in_progress_while_the_previous_code_serves(lam: Any, hold: Path) -> None:
    lam.create_function(FunctionName="updated", Runtime="nodejs22.x", Role=ROLE, Handler="index.handler",
                        Code={"ZipFile": package("old")})
    lam.get_waiter("function_active_v2").wait(FunctionName="updated", WaiterConfig=WAIT)
    assert invoke(lam, "updated")["marker"] == "old"

    hold.touch()
    update = lam.update_function_code(FunctionName="updated", ZipFile=package("new"))
    assert (update["State"], update["LastUpdateStatus"], update["LastUpdateStatusReason"],
            update["LastUpdateStatusReasonCode"]) == ("Active", "InProgress", "The function is being created.",
                                                      "Creating")
    assert invoke(lam, "updated")["marker"] == "old"  # the previous code serves until the new one is ready
    in_progress = ("ResourceConflictException", "The operation cannot be performed at this time. An update is in "
                   f"progress for resource: {ARN.format('updated')}", 409)
    with pytest.raises(lam.exceptions.ResourceConflictException) as again:
        lam.update_function_configuration(FunctionName="updated", Timeout=5)
    assert error_of(again) == in_progress
    with pytest.raises(lam.exceptions.ResourceConflictException) as code_again:
        lam.update_function_code(FunctionName="updated", ZipFile=package("newer"))
    assert error_of(code_again) == in_progress
    with pytest.raises(lam.exceptions.ResourceConflictException) as publish:
        lam.publish_version(FunctionName="updated")
    assert error_of(publish) == in_progress

    hold.unlink()
    lam.get_waiter("function_updated_v2").wait(FunctionName="updated", WaiterConfig=WAIT)
    done = lam.get_function_configuration(FunctionName="updated")
    assert (done["State"], done["LastUpdateStatus"]) == ("Active", "Successful")
    assert "LastUpdateStatusReason" not in done and done["RevisionId"] != update["RevisionId"]
    assert invoke(lam, "updated")["marker"] == "new"

    published = lam.publish_version(FunctionName="updated")  # a ready $LATEST: the version answers Active
    assert (published["Version"], published["State"], published["LastUpdateStatus"]) == ("1", "Active",
                                                                                          "Successful")
    assert invoke(lam, "updated", Qualifier="1")["marker"] == "new"


def test_create_with_publish_answers_the_version_pending(lam: Any, hold: Path) -> None:
    hold.touch()
    created = lam.create_function(FunctionName="versioned", Runtime="nodejs22.x", Role=ROLE,
                                  Handler="index.handler", Code={"ZipFile": package("v1")}, Publish=True)
    assert (created["Version"], created["State"]) == ("1", "Pending")
    with pytest.raises(lam.exceptions.ResourceConflictException):
        lam.invoke(FunctionName="versioned", Qualifier="1", Payload=b"{}")
    hold.unlink()
    lam.get_waiter("published_version_active").wait(FunctionName="versioned", Qualifier="1",
                                                    WaiterConfig=WAIT)
    version = lam.get_function_configuration(FunctionName="versioned", Qualifier="1")
    assert version["State"] == "Active" and version["RevisionId"] != created["RevisionId"]
    assert invoke(lam, "versioned", Qualifier="1")["marker"] == "v1"


# ---- a failed preparation -------------------------------------------------------------------------------------------
@pytest.mark.docker
def test_a_failed_preparation_is_failed_with_aws_reason_code(monkeypatch: pytest.MonkeyPatch,
                                                               lines: list[str]) -> None:
    """docker backend, base image that surely does not exist: Failed / ImageAccessDenied, and the invoke conflict."""
    pytest.importorskip("docker")
    from tests.test_docker_backend import _engine_answers, _unavailable

    if not _engine_answers():
        _unavailable("no Docker engine answers")
    absent = f"lambda-canary-test-absent-{uuid.uuid4().hex[:12]}/nodejs"
    monkeypatch.setenv(BASE_REPOSITORY_ENV, absent)
    options = StackOptions(port=0, backend="docker", access_log=False, function_logs=False)
    with StackThread(None, options, log=lines.append) as stack:
        lam = boto3.client("lambda", endpoint_url=stack.url, **CREDENTIALS)
        lam.create_function(FunctionName="broken", Runtime="nodejs22.x", Role=ROLE, Handler="index.handler",
                            Code={"ZipFile": package("x")})
        with pytest.raises(botocore.exceptions.WaiterError):
            lam.get_waiter("function_active_v2").wait(FunctionName="broken", WaiterConfig=WAIT)
        failed = lam.get_function(FunctionName="broken")["Configuration"]
        assert (failed["State"], failed["StateReasonCode"], failed["LastUpdateStatus"],
                failed["LastUpdateStatusReasonCode"]) == ("Failed", "ImageAccessDenied", "Failed",
                                                          "ImageAccessDenied")
        assert f"{absent}:22" in failed["StateReason"] and "not present and cannot be pulled" in failed["StateReason"]
        with pytest.raises(lam.exceptions.ResourceConflictException) as conflict:
            lam.invoke(FunctionName="broken", Payload=b"{}")
        assert error_of(conflict)[1] == ("The operation cannot be performed at this time. The function is currently "
                                         "in the following state: Failed")
    assert any("broken" in line and "ImageAccessDenied" in line for line in lines)


def test_the_data_plane_answers_500_while_pending(lam: Any, hold: Path) -> None:
    """API Gateway in front of a Pending function answers its JSON 500 (Lambda answered 409), then 200 once Active."""
    url = lam.meta.endpoint_url
    apigateway = boto3.client("apigateway", endpoint_url=url, **CREDENTIALS)
    hold.touch()
    lam.create_function(FunctionName="behind", Runtime="nodejs22.x", Role=ROLE, Handler="index.handler",
                        Code={"ZipFile": package("proxied", PROXY_HANDLER)})
    api = apigateway.create_rest_api(name="states")["id"]
    root = apigateway.get_resources(restApiId=api)["items"][0]["id"]
    resource = apigateway.create_resource(restApiId=api, parentId=root, pathPart="ping")["id"]
    apigateway.put_method(restApiId=api, resourceId=resource, httpMethod="GET", authorizationType="NONE")
    apigateway.put_integration(restApiId=api, resourceId=resource, httpMethod="GET", type="AWS_PROXY",
                               integrationHttpMethod="POST",
                               uri=f"arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/"
                                   f"{ARN.format('behind')}/invocations")
    lam.add_permission(FunctionName="behind", StatementId="apigw", Action="lambda:InvokeFunction",
                       Principal="apigateway.amazonaws.com",
                       SourceArn=f"arn:aws:execute-api:us-east-1:123456789012:{api}/*/GET/ping")
    apigateway.create_deployment(restApiId=api, stageName="prod")

    request = urllib.request.Request(f"{url}/prod/ping", headers={"Host": f"{api}.execute-api.localhost"})
    with pytest.raises(urllib.error.HTTPError) as pending:
        urllib.request.urlopen(request, timeout=30)
    assert pending.value.code == 500
    assert pending.value.headers["Content-Type"].startswith("application/json")
    assert json.loads(pending.value.read()) == {"message": "Internal server error"}

    hold.unlink()
    lam.get_waiter("function_active_v2").wait(FunctionName="behind", WaiterConfig=WAIT)
    with urllib.request.urlopen(request, timeout=30) as answered:
        assert answered.status == 200
        assert json.loads(answered.read())["marker"] == "proxied"


# ---- the docker build happens during Pending ---------------------------------------------------------------------
TASK_ROOT_HANDLER = ("exports.handler = async () => ({ marker: %s, taskRoot: process.env.LAMBDA_TASK_ROOT, "
                     "node: process.version });\n")


@pytest.mark.docker
def test_auto_on_an_empty_account_builds_during_pending(monkeypatch: pytest.MonkeyPatch, hold: Path,
                                                        lines: list[str], request: pytest.FixtureRequest) -> None:
    """`serve` with no file (auto), stand-in base images: the function's image is built while it is Pending, auto
    says docker once, and the invoke runs in a container."""
    pytest.importorskip("docker")
    from tests.test_docker_backend import _engine_answers, _unavailable

    if not _engine_answers():
        _unavailable("no Docker engine answers")
    base_images = request.getfixturevalue("base_images")
    repository = base_images["nodejs22.x"].rsplit(":", 1)[0]
    monkeypatch.setenv(BASE_REPOSITORY_ENV, repository)
    options = StackOptions(port=0, access_log=False, function_logs=False)  # no --backend, no file: auto
    with StackThread(None, options, log=lines.append) as stack:
        lam = boto3.client("lambda", endpoint_url=stack.url, **CREDENTIALS)
        hold.touch()
        marker = uuid.uuid4().hex  # new code: a new function image, built during Pending
        lam.create_function(FunctionName="contained", Runtime="nodejs22.x", Role=ROLE, Handler="index.handler",
                            Code={"ZipFile": package(marker, TASK_ROOT_HANDLER)})
        with pytest.raises(lam.exceptions.ResourceConflictException):
            lam.invoke(FunctionName="contained", Payload=b"{}")
        assert not [line for line in lines if "runs on the" in line]  # nothing decided before preparation
        hold.unlink()
        lam.get_waiter("function_active_v2").wait(FunctionName="contained", WaiterConfig=WAIT)
        body = invoke(lam, "contained")
        assert body["marker"] == marker and body["taskRoot"] == "/var/task" and body["node"].startswith("v22.")
        invoke(lam, "contained")
    decided = [line for line in lines if "runs on the" in line]
    assert len(decided) == 1 and "nodejs22.x runs on the docker backend" in decided[0]
    assert f"{repository}:22" in decided[0]


@pytest.fixture(autouse=True)
def remove_contained_images(request: pytest.FixtureRequest) -> Iterator[None]:
    """The docker test builds a function image of new code each run: remove the ones it made."""
    if "empty_account" not in request.node.name:
        yield
        return
    import docker

    engine = docker.from_env(timeout=120)
    label = {"label": "lambda-canary.function=contained"}
    before = {image.id for image in engine.images.list(filters=label)}
    yield
    try:
        for image in engine.images.list(filters=label):
            if image.id not in before:
                engine.images.remove(image.id, force=True)
    finally:
        engine.close()


@pytest.fixture(scope="session")
def base_images() -> dict[str, str]:
    """The stand-in base images (built once per session, kept when their content is unchanged)."""
    import docker
    from rich.console import Console

    from emulator.lambda_service.backends.standin import build_standins, standin_base_images

    engine = docker.from_env(timeout=120)
    try:
        build_standins(engine, ["nodejs22.x"], Console(stderr=True))
    finally:
        engine.close()
    return standin_base_images(["nodejs22.x"])
