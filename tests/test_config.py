"""Loading stage variables and canary settings from the config file: AWS's rules, one-line errors with
file:line and the key path, and the API Gateway state built from a valid file."""

from __future__ import annotations

from pathlib import Path

import pytest

from emulator.apigateway.loader import state_from_config
from emulator.errors import UserError
from emulator.formats.load import load_config
from emulator.stack import StackOptions
from emulator.testing import StackThread

NAME_MESSAGE = "Invalid stage variable name: {}.  Please use names with only word characters."
VALUE_MESSAGE = ("Invalid stage variable value: {}.  Please use values with alphanumeric characters and the symbols "
                 "' ', -', '.', '_', ':', '/', '?', '&', '=', and ','.")
STAGE = "restApis.api.stages.prod"
BASE = """\
restApis:
  api:
    id: cfgtest001
    resources:
      /ping:
        GET:
          integration:
            type: MOCK
    deployments:
      d1: {}
      d2: {}
    stages:
      prod:
        deploymentId: d1
        variables:
          lambdaAlias: stable
          version: 2
        canarySettings:
          percentTraffic: 10
          deploymentId: d2
          stageVariableOverrides:
            lambdaAlias: canary
"""


def write(tmp_path: Path, old: str, new: str) -> Path:
    """BASE with one line changed, as tmp_path/canary.yaml."""
    assert old in BASE
    path = tmp_path / "canary.yaml"
    path.write_text(BASE.replace(old, new, 1))
    return path


def line_of(path: Path, key: str) -> int:
    """1-based line of the first line that starts (after indentation) with `key:`."""
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        if line.strip().startswith(f"{key}:"):
            return number
    raise AssertionError(f"{key} not in {path}")


def line_containing(path: Path, text: str) -> int:
    """1-based line of the first line holding `text`."""
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        if text in line:
            return number
    raise AssertionError(f"{text!r} not in {path}")


def variable_name(entry: str) -> str:
    """The key of a `name: value` YAML entry (quotes removed)."""
    return entry.rsplit(":", 1)[0].strip('"') if entry.startswith('"') else entry.split(":", 1)[0]


def load_error(path: Path) -> str:
    """The UserError message of loading `path`."""
    with pytest.raises(UserError) as caught:
        load_config(path)
    return str(caught.value)


@pytest.mark.parametrize(("old", "new", "block", "message"), [
    ("lambdaAlias: stable", "bad-name: stable", "variables", NAME_MESSAGE.format("bad-name")),
    ("lambdaAlias: stable", '"owner:application-name": stable', "variables",
     NAME_MESSAGE.format("owner:application-name")),
    ("lambdaAlias: stable", '"": stable', "variables", NAME_MESSAGE.format("")),
    ("lambdaAlias: stable", "lambdaAlias: has space", "variables", VALUE_MESSAGE.format("has space")),
    ("lambdaAlias: stable", 'lambdaAlias: ""', "variables", VALUE_MESSAGE.format("")),
    ("lambdaAlias: canary", 'lambdaAlias: "$LATEST"', "canarySettings.stageVariableOverrides",
     VALUE_MESSAGE.format("$LATEST")),
    ("lambdaAlias: canary", "canary.alias: canary", "canarySettings.stageVariableOverrides",
     NAME_MESSAGE.format("canary.alias")),
])
def test_a_bad_stage_variable_is_a_one_line_error(tmp_path: Path, old: str, new: str, block: str,
                                                  message: str) -> None:
    """`file:line: key.path: AWS's message`, on one line, pointing at the offending variable's own line."""
    path = write(tmp_path, old, new)
    text = load_error(path)
    assert "\n" not in text
    name = variable_name(new)
    assert text == f"{path}:{line_containing(path, new)}: {STAGE}.{block}.{name}: {message}"


@pytest.mark.parametrize(("old", "new", "block"), [
    ("lambdaAlias: stable", f"{'n' * 65}: stable", "variables"),
    ("lambdaAlias: canary", f"lambdaAlias: {'v' * 513}", "canarySettings.stageVariableOverrides"),
])
def test_too_long_names_and_values_are_refused(tmp_path: Path, old: str, new: str, block: str) -> None:
    """Names longer than 64 and values longer than 512 characters are errors naming file:line and key path."""
    path = write(tmp_path, old, new)
    text = load_error(path)
    assert "\n" not in text
    name = variable_name(new)
    assert text.startswith(f"{path}:{line_containing(path, new)}: {STAGE}.{block}.{name}: ")
    assert "longer than" in text


@pytest.mark.parametrize(("old", "new", "key"), [
    ("percentTraffic: 10", "percentTraffic: 100.5", "canarySettings.percentTraffic"),
    ("percentTraffic: 10", "percentTraffic: -1", "canarySettings.percentTraffic"),
    ("deploymentId: d2", "deploymentId: nope", ""),
    ("deploymentId: d1", "deploymentId: nope", ""),
    ("          lambdaAlias: canary", "          lambdaAlias: canary\n          useStageCash: true",
     "canarySettings"),
])
def test_bad_canary_settings_are_one_line_errors(tmp_path: Path, old: str, new: str, key: str) -> None:
    """percentTraffic outside [0, 100], a deploymentId that is no deployment, an unknown key."""
    path = write(tmp_path, old, new)
    text = load_error(path)
    assert "\n" not in text
    assert text.startswith(f"{path}:")
    if key:
        assert f": {STAGE}.{key}" in text
    else:
        assert "deploymentId 'nope' is not a deployment of this API" in text


def test_a_valid_file_builds_the_stage_and_its_canary(tmp_path: Path) -> None:
    """Variables become strings; the canary keeps its deployment, percentage and overrides."""
    state = state_from_config(load_config(write(tmp_path, "version: 2", "version: 2")))
    stage = state.apis["cfgtest001"].stages["prod"]
    assert (stage.deployment_id, stage.variables) == ("d1", {"lambdaAlias": "stable", "version": "2"})
    canary = stage.canary_settings
    assert canary is not None
    assert (canary.percent_traffic, canary.deployment_id, canary.stage_variable_overrides) == (
        10.0, "d2", {"lambdaAlias": "canary"})


def test_a_canary_without_deployment_serves_the_stage_deployment(tmp_path: Path) -> None:
    """canarySettings without deploymentId: the stage's deploymentId (reference §2.1 defaults)."""
    state = state_from_config(load_config(write(tmp_path, "          deploymentId: d2\n", "")))
    canary = state.apis["cfgtest001"].stages["prod"].canary_settings
    assert canary is not None and canary.deployment_id == "d1"


def test_the_example_config_loads(repo_root: Path) -> None:
    """examples/ping/canary.yaml: prod at 10 % with lambdaAlias stable, canary override lambdaAlias canary."""
    loaded = load_config(repo_root / "examples" / "ping" / "canary.yaml")
    (api,) = state_from_config(loaded).apis.values()
    stage = api.stages["prod"]
    assert stage.variables == {"lambdaAlias": "stable"}
    assert stage.canary_settings is not None
    assert stage.canary_settings.percent_traffic == 10.0
    assert stage.canary_settings.stage_variable_overrides == {"lambdaAlias": "canary"}


def test_a_stack_refuses_a_bad_config_before_serving(tmp_path: Path) -> None:
    """StackThread raises the same one-line UserError and serves nothing."""
    path = write(tmp_path, "lambdaAlias: stable", "bad-name: stable")
    running = StackThread(path, StackOptions(port=0))
    with pytest.raises(UserError, match=r"Invalid stage variable name: bad-name\."):
        running.start()
    running.stop()
    assert running.stack is None


def test_reserved_environment_variables_are_refused_with_lambdas_message(tmp_path: Path) -> None:
    path = tmp_path / "canary.yaml"
    path.write_text("functions:\n  f:\n    runtime: nodejs22.x\n    handler: index.handler\n    environment:\n"
                    "      AWS_REGION: eu-west-1\n      LAMBDA_TASK_ROOT: /x\n      MINE: ok\n")
    text = load_error(path)
    assert text == (f"{path}:5: functions.f.environment: Lambda was unable to configure your environment variables "
                    "because the environment variables you have provided contains reserved keys that are currently "
                    "not supported for modification. Reserved keys used in this request: AWS_REGION, "
                    "LAMBDA_TASK_ROOT")


def test_a_canary_on_a_missing_deployment_is_refused_with_aws_message(tmp_path: Path) -> None:
    """AWS answers CreateStage/UpdateStage with 400 'Deployment id does not exist' (recorded: LocalStack's
    AWS-validated test_apigateway_canary.py::TestStageCrudCanary::test_create_canary_deployment)."""
    text = load_error(write(tmp_path, "deploymentId: d2", "deploymentId: gone"))
    assert "canarySettings.deploymentId 'gone'" in text and "'Deployment id does not exist'" in text


@pytest.mark.parametrize(("uri", "message"), [
    ("arn:aws:lambda:us-east-1:123456789012:function:ping", "AWS ARN for integration must contain path or action"),
    ("bad-arn:lambda:path/2015-03-31/functions/arn:aws:lambda:us-east-1:123456789012:function:ping/invocations",
     "Invalid ARN specified in the request"),
    ("arn:aws:apigateway:us-east-1:lambda:path/random/value/arn:aws:lambda:us-east-1:123456789012:function:ping"
     "/invocations",
     "Integrations of type 'AWS_PROXY' currently only supports Lambda function and Firehose stream invocations."),
])
def test_an_aws_proxy_uri_aws_refuses_is_refused_with_aws_message(tmp_path: Path, uri: str, message: str) -> None:
    """PutIntegration's three refusals (recorded: LocalStack's AWS-validated
    test_apigateway_lambda.py::test_put_integration_aws_proxy_uri)."""
    path = write(tmp_path, "            type: MOCK", f"            type: AWS_PROXY\n            uri: {uri}")
    text = load_error(path)
    assert "\n" not in text and f"'{message}'" in text


def test_a_misspelt_key_is_reported_before_the_key_it_hides(tmp_path: Path) -> None:
    """`runtme:` makes `runtime` missing too; the typo comes first, with the key it most likely meant."""
    path = tmp_path / "canary.yaml"
    path.write_text("functions:\n  fn:\n    runtme: nodejs22.x\n    handler: index.handler\n")
    with pytest.raises(UserError) as raised:
        load_config(path)
    assert raised.value.message == (f"{path.resolve()}:3: functions.fn.runtme: unknown key (did you mean runtime?) "
                                    "(and 1 more)")
