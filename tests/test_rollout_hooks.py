"""PreTraffic/PostTraffic hooks of `lambda-canary rollout`, run as CodeDeploy runs them: real Node hook functions
call the stack's local CodeDeploy endpoint (PutLifecycleEventHookExecutionStatus, botocore's codedeploy model) and
their verdict decides the rollout. The schedules are AllAtOnce (no judged step), so nothing here is statistical."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import boto3
import pytest
import yaml
from botocore.config import Config
from botocore.exceptions import ClientError

from emulator.errors import UserError
from emulator.formats.load import load_config
from emulator.stack import StackOptions
from emulator.testing import StackThread

REPO = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).resolve().parent / "fixtures" / "rollout"
CLI = [sys.executable, "-m", "emulator.cli"]


def hooks_config(tmp_path: Path, pre: str = "Succeeded", post: str = "Succeeded", **rollout: Any) -> Path:
    """fixtures/rollout/hooks.yaml with the hooks' verdicts set."""
    document = yaml.safe_load((FIXTURES / "hooks.yaml").read_text())
    document["functions"]["pre-hook"]["environment"]["HOOK_STATUS"] = pre
    document["functions"]["post-hook"]["environment"]["HOOK_STATUS"] = post
    for function in document["functions"].values():
        function["code"] = str(FIXTURES)
    document["rollout"].update(rollout)
    path = tmp_path / "hooks.yaml"
    path.write_text(yaml.safe_dump(document))
    return path


def rollout(*args: str) -> tuple[int, dict[str, Any] | None, str, str]:
    done = subprocess.run([*CLI, "rollout", *args], capture_output=True, text=True, timeout=300, cwd=REPO)
    report = json.loads(done.stdout) if done.stdout.strip().startswith("{") else None
    return done.returncode, report, done.stdout, done.stderr


def test_hooks_that_report_success_let_the_rollout_promote(tmp_path: Path) -> None:
    code, report, _, stderr = rollout(str(hooks_config(tmp_path)), "--json")
    assert report is not None, stderr
    assert code == 0 and report["outcome"] == "promoted"
    assert [(hook["hook"], hook["function"], hook["status"]) for hook in report["hooks"]] == [
        ("PreTraffic", "pre-hook", "Succeeded"), ("PostTraffic", "post-hook", "Succeeded")]
    assert report["deploymentId"].startswith("d-") and len(report["deploymentId"]) == 11


def test_a_pre_traffic_hook_reporting_failure_stops_the_rollout_before_any_traffic_moves(tmp_path: Path) -> None:
    code, report, _, stderr = rollout(str(hooks_config(tmp_path, pre="Failed", schedule="Canary10Percent5Minutes")),
                                      "--json")
    assert report is not None, stderr
    assert code == 1 and report["outcome"] == "rolled back"
    assert report["steps"] == []  # no step ran: no request was sent, no weight was set
    assert report["failed"]["metric"] == "PreTraffic hook" and report["failed"]["function"] == "pre-hook"
    assert report["failed"]["status"] == "Failed"
    assert [hook["hook"] for hook in report["hooks"]] == ["PreTraffic"]  # PostTraffic never ran


def test_a_post_traffic_hook_reporting_failure_rolls_back_after_all_traffic_moved(tmp_path: Path) -> None:
    code, _, stdout, stderr = rollout(str(hooks_config(tmp_path, post="Failed")))
    assert code == 1, stderr
    assert "pass PreTraffic hook pre-hook" in stdout
    assert "step 1: 100% at minute 0: promoted" in stdout
    assert "FAIL PostTraffic hook post-hook: reported Failed" in stdout
    assert "rolled back after all traffic had moved: the PostTraffic hook post-hook failed" in stdout


@pytest.mark.parametrize(("verdict", "detail"), [
    ("none", "returned without calling PutLifecycleEventHookExecutionStatus"),
    ("throw", "failed without reporting a status: Error: hook broke"),
])
def test_a_hook_that_does_not_report_fails_as_on_aws(tmp_path: Path, verdict: str, detail: str) -> None:
    code, report, _, stderr = rollout(str(hooks_config(tmp_path, pre=verdict)), "--json")
    assert report is not None, stderr
    assert code == 1 and report["failed"]["function"] == "pre-hook"
    assert detail in report["failed"]["detail"]


def test_an_alias_rollout_takes_the_functions_sam_deployment_preference(tmp_path: Path) -> None:
    """examples/alias-routing with SAM's AutoPublishAlias/DeploymentPreference on `ping` (AllAtOnce, a PreTraffic
    hook that reports Failed): `--alias ping:live` runs that preference's hook, so nothing moves."""
    document = yaml.safe_load((REPO / "examples" / "alias-routing" / "canary.yaml").read_text())
    document["functions"]["ping"].update(code=str(REPO / "examples" / "ping"), autoPublishAlias="live",
                                         deploymentPreference={"type": "AllAtOnce",
                                                               "hooks": {"preTraffic": "pre-hook"}})
    document["functions"]["pre-hook"] = {"runtime": "nodejs22.x", "handler": "src/hook.handler",
                                         "code": str(FIXTURES), "environment": {"HOOK_STATUS": "Failed"}}
    path = tmp_path / "alias.yaml"
    path.write_text(yaml.safe_dump(document))
    code, report, _, stderr = rollout(str(path), "--alias", "ping:live", "--json")
    assert report is not None, stderr
    assert code == 1 and report["schedule"] == "AllAtOnce" and report["steps"] == []
    assert report["failed"]["metric"] == "PreTraffic hook" and report["failed"]["function"] == "pre-hook"


def test_a_hook_naming_no_function_of_the_file_is_one_line(tmp_path: Path) -> None:
    path = hooks_config(tmp_path)
    document = yaml.safe_load(path.read_text())
    document["rollout"]["hooks"]["preTraffic"] = "missing-hook"
    path.write_text(yaml.safe_dump(document))
    with pytest.raises(UserError) as raised:
        load_config(path)
    assert "hooks.yaml" in raised.value.message and "\n" not in raised.value.message
    assert "rollout.hooks.preTraffic: 'missing-hook' is not a function of this file" in raised.value.message


@pytest.fixture(scope="module")
def stack() -> Any:
    with StackThread(REPO / "examples" / "ping" / "canary.yaml",
                     StackOptions(port=0, seed=1, access_log=False, function_logs=False)) as running:
        yield running


def codedeploy(url: str) -> Any:
    return boto3.client("codedeploy", endpoint_url=url, region_name="us-east-1", aws_access_key_id="test",
                        aws_secret_access_key="test", config=Config(retries={"max_attempts": 1}))


def test_put_lifecycle_event_hook_execution_status_through_boto3(stack: Any) -> None:
    """botocore's own serialisation against the local endpoint: the execution's status is recorded once."""
    api = stack.stack.control_plane.services["codedeploy"].implementation

    async def open_execution() -> Any:
        return api.open(api.new_deployment_id())

    execution = stack.call(open_execution())
    client = codedeploy(stack.url)
    answer = client.put_lifecycle_event_hook_execution_status(
        deploymentId=execution.deployment_id, lifecycleEventHookExecutionId=execution.execution_id, status="Failed")
    assert answer["lifecycleEventHookExecutionId"] == execution.execution_id
    assert execution.status.result() == "Failed"
    with pytest.raises(ClientError) as again:
        client.put_lifecycle_event_hook_execution_status(
            deploymentId=execution.deployment_id, lifecycleEventHookExecutionId=execution.execution_id,
            status="Succeeded")
    assert again.value.response["Error"]["Code"] == "LifecycleEventAlreadyCompletedException"


@pytest.mark.parametrize(("params", "error"), [
    ({"deploymentId": "d-NOSUCH123", "lifecycleEventHookExecutionId": "x", "status": "Succeeded"},
     "DeploymentDoesNotExistException"),
    ({"lifecycleEventHookExecutionId": "x", "status": "Succeeded"}, "DeploymentIdRequiredException"),
])
def test_put_lifecycle_event_hook_execution_status_errors(stack: Any, params: dict[str, str], error: str) -> None:
    with pytest.raises(ClientError) as raised:
        codedeploy(stack.url).put_lifecycle_event_hook_execution_status(**params)
    assert raised.value.response["Error"]["Code"] == error


def test_a_status_other_than_succeeded_or_failed_is_refused(stack: Any) -> None:
    api = stack.stack.control_plane.services["codedeploy"].implementation

    async def open_execution() -> Any:
        return api.open(api.new_deployment_id())

    execution = stack.call(open_execution())
    with pytest.raises(ClientError) as raised:
        codedeploy(stack.url).put_lifecycle_event_hook_execution_status(
            deploymentId=execution.deployment_id, lifecycleEventHookExecutionId=execution.execution_id,
            status="Skipped")
    assert raised.value.response["Error"]["Code"] == "InvalidLifecycleEventHookExecutionStatusException"
    assert not execution.status.done()
