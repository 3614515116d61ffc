"""Formats in and out: the seed's own serverless.yml checked (as written) and served (fixed), the ping stack as a
CloudFormation template and an OpenAPI export, export/import round trips, cfn-lint on exports, and the CLI."""

from __future__ import annotations

import datetime as dt
import json
import re
import shlex
import shutil
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner
from scipy.stats import binom

from emulator.cli.formats import check_command, export_command
from emulator.config import stable_api_id
from emulator.errors import UserError
from emulator.formats.check import check, run_check
from emulator.formats.export import export
from emulator.formats.load import detect_format, load_any, load_config
from emulator.stack import StackOptions
from emulator.testing import StackThread

REPO = Path(__file__).resolve().parent.parent
EXAMPLES = REPO / "examples"
SEED = EXAMPLES / "seed" / "serverless.yml"
FIXED = EXAMPLES / "seed-fixed" / "serverless.yml"
PING_DIR = EXAMPLES / "ping"
PING = PING_DIR / "canary.yaml"
ALIAS = EXAMPLES / "alias-routing" / "canary.yaml"
CFN_LINT = Path(sys.executable).parent / "cfn-lint"
NODE18, NODE22 = '"node":"v18.', '"node":"v22.'
SEED_RNG = 20251126
TAIL = 0.5e-6  # false-failure probability allowed on each side of a binomial bound (1e-6 in all)
BOTH_RUNTIMES = 150  # requests at 10 %: P(no Node 22 answer) + P(no Node 18 answer) = 0.9**150 + 0.1**150 < 1.4e-7


def line_of(path: Path, needle: str, after: str | None = None) -> int:
    """1-based line of the first line containing `needle` (after the first line containing `after`)."""
    lines = path.read_text(encoding="utf-8").splitlines()
    start = next(index for index, line in enumerate(lines) if after in line) if after else 0
    return next(index for index, line in enumerate(lines) if index >= start and needle in line) + 1


def options(**changes: object) -> StackOptions:
    """A quiet, seeded, process-backend stack on a free port."""
    return StackOptions(port=0, seed=SEED_RNG, backend="process", access_log=False, function_logs=False,
                        **changes)  # type: ignore[arg-type]


def get(url: str) -> tuple[int, str]:
    """Status and body of one GET."""
    try:
        with urllib.request.urlopen(url, timeout=30) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def code_dirs(loaded: object) -> dict[str, Path]:
    """Each function's absolute code folder."""
    return {name: loaded.code_dir(name) for name in loaded.config.functions}  # type: ignore[attr-defined]


def without_code(loaded: object) -> dict[str, object]:
    """The config dump with code paths left out (they are relative to different folders), and canary.yaml's
    `acknowledge` (for `check` only; the exports do not carry it)."""
    dump = loaded.config.model_dump(exclude={"acknowledge"})  # type: ignore[attr-defined]
    for function in dump["functions"].values():
        function.pop("code")
    return dump


# ---- check: the seed as written ------------------------------------------------------------------------------
def test_check_reports_the_seeds_real_problems_with_file_line_and_fix() -> None:
    """Each mistake of the seed's serverless.yml is found once, at its line, with a fix."""
    findings = check(SEED)
    where = {finding.code: finding.line for finding in findings}
    assert where == {
        "provider-missing": line_of(SEED, "service: multi-runtime-canary"),
        "function-unreached": line_of(SEED, "ping-stable:"),
        "provider-stage-missing": line_of(SEED, "name: ping-stable-${self:provider.stage}"),
        "runtime-blocked": line_of(SEED, "runtime: nodejs18.x"),
        "deployment-depends-on": line_of(SEED, "ApiGatewayDeployment:"),
        "stage-variable-undefined": line_of(SEED, "ApiGatewayStage:"),
        "cfn-unknown-property": line_of(SEED, "CanarySettings:"),
        "permission-missing": line_of(SEED, "lambdaAlias: canary"),
        "lambda-uri-not-arn": line_of(SEED, "Uri: !Sub"),
    }
    for finding in findings:
        assert finding.file == SEED and finding.fix and finding.key
        assert finding.format().startswith(f"{SEED}:{finding.line}: ") and ". Fix: " in finding.format()
    by_code = {finding.code: finding for finding in findings}
    assert "DependsOn: [PingMethod]" in by_code["deployment-depends-on"].fix
    assert "CanarySetting" in by_code["cfn-unknown-property"].fix
    assert "${!stageVariables.lambdaAlias}" in by_code["lambda-uri-not-arn"].fix
    assert "arn:aws:lambda:${AWS::Region}:${AWS::AccountId}:function:" in by_code["lambda-uri-not-arn"].fix
    assert "ping-canary-dev" in by_code["permission-missing"].message
    assert "lambdaAlias=stable" in by_code["function-unreached"].fix
    assert "2026-02-03" in by_code["runtime-blocked"].message and "2026-03-09" in by_code["runtime-blocked"].message


def test_the_seed_as_written_serves_what_aws_would_do() -> None:
    """Without provider.stage the stage is `dev`, not `prod`; no request reaches a function (500s)."""
    loaded = load_any(SEED, stage="prod")
    assert list(loaded.config.rest_apis["multi-runtime-api"].stages) == ["dev"]
    assert set(loaded.config.functions) == {"ping-stable-dev", "ping-canary-dev"}
    with StackThread(loaded, options()) as running:
        assert get(running.url + "/prod/ping")[0] == 403
        statuses = {get(running.url + "/dev/ping")[0] for _ in range(30)}
    assert statuses == {500}


def test_shell_steps_of_the_seed_are_checked() -> None:
    """update-stage without ids, percent-only canaries and `remove /canarySettings` as a promotion are reported."""
    steps = EXAMPLES / "seed" / "steps.sh"
    found = sorted((finding.line, finding.code) for finding in check(steps))
    step3 = line_of(steps, "aws apigateway update-stage")
    step4a = line_of(steps, "aws apigateway update-stage", after="Aumentar canary")
    step4b = line_of(steps, "aws apigateway update-stage", after="Full promotion")
    ops3 = line_of(steps, "--patch-ops", after="Ativar Canary")
    ops4a = line_of(steps, "--patch-ops", after="Aumentar canary")
    ops4b = line_of(steps, "--patch-ops", after="Full promotion")
    assert found == sorted([(step3, "update-stage-percent"), (ops3, "cli-unknown-option"),
                            (step4a, "cli-missing-argument"), (step4a, "update-stage-percent"),
                            (ops4a, "cli-unknown-option"), (step4b, "cli-missing-argument"),
                            (step4b, "promotion-removes-canary"), (ops4b, "cli-unknown-option")])


def test_patch_ops_is_reported_at_its_line_with_the_spelled_out_option(tmp_path: Path) -> None:
    """AWS CLI v1 rejects `--patch-ops` ('Unknown options: --patch-ops, ...'); the option is --patch-operations."""
    script = EXAMPLES / "seed" / "deploy-runtime-canary.sh"
    findings = [finding for finding in check(script) if finding.code == "cli-unknown-option"]
    assert [finding.line for finding in findings] == [line_of(script, "--patch-ops")]
    (finding,) = findings
    assert "Unknown options: --patch-ops, op=replace,path=/canarySettings/percentTraffic" in finding.message
    assert finding.fix.startswith("spell the option out: `--patch-operations op=replace,path=/canarySettings/")
    result = CliRunner().invoke(check_command, [str(script)])
    assert f"{script}:{finding.line}: `--patch-ops` is not an option" in result.stdout
    spelled = tmp_path / "spelled.sh"
    spelled.write_text("aws apigateway update-stage --rest-api-id $API_ID --stage-name prod \\\n"
                       "  --patch-operations op=replace,path=/canarySettings/percentTraffic,value=10\n"
                       "aws apigateway update-stage --rest-api-id $API_ID --stage-name prod \\\n"
                       "  --patch-ops=op=remove,path=/canarySettings\n")
    assert [(finding.line, finding.code) for finding in check(spelled)] == [
        (1, "update-stage-percent"), (3, "promotion-removes-canary"), (4, "cli-unknown-option")]
    assert "`--patch-operations op=remove,path=/canarySettings`" in check(spelled)[-1].fix


# ---- the fixed seed: clean, and served as configured ---------------------------------------------------------
def test_the_fixed_seed_is_clean() -> None:
    """After the fixes check reports nothing; ping-stable's Node 18 runtime is acknowledged in the file."""
    for stage in (None, "prod"):
        report = run_check(FIXED, stage=stage)
        assert report.findings == []
        assert [finding.code for finding in report.acknowledged] == ["runtime-blocked"]
    assert load_any(FIXED, stage="prod").unsupported == []


def test_canary_yaml_acknowledges_node_18_in_the_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """canary.yaml's top-level `acknowledge` is what check's runtime-blocked fix asks for: the ping example carries
    it and is clean (exit 0), and so is the CI workflow's check step in a repository laid out like it."""
    after_block = dt.date(2026, 11, 26)
    report = run_check(PING, today=after_block)
    assert report.findings == []
    assert [(item.code, item.subject) for item in report.acknowledged] == [("runtime-blocked", "ping-stable")]
    result = CliRunner().invoke(check_command, [str(PING)])
    assert result.exit_code == 0, result.output
    assert "acknowledged (not reported): runtime-blocked:ping-stable" in result.stderr

    text = PING.read_text(encoding="utf-8")
    unacknowledged = tmp_path / "canary.yaml"
    without = re.sub(r"(?ms)^acknowledge:.*?\n(?=\S)", "", text)  # the whole block, with its reason
    assert "\nacknowledge:" not in without and "reason:" in text
    unacknowledged.write_text(without, encoding="utf-8")
    shutil.copytree(PING_DIR / "src", tmp_path / "src")  # the handler, or check reports its absence too
    (finding,) = check(unacknowledged, today=after_block)
    assert finding.code == "runtime-blocked" and finding.subject == "ping-stable"
    entry = re.search(r"`acknowledge: \[(.+?)\]`", finding.fix)
    assert entry is not None and entry.group(1) == "{finding: runtime-blocked:ping-stable, reason: why it stays}"
    unacknowledged.write_text(f"acknowledge: [{entry.group(1)}]\n" + unacknowledged.read_text(encoding="utf-8"))
    assert check(unacknowledged, today=after_block) == []  # the fix, applied as written, is accepted
    unacknowledged.write_text("acknowledge: runtime-blocked\n" + without)
    with pytest.raises(UserError, match=r"canary.yaml:1: acknowledge: Input should be a valid list"):
        load_config(unacknowledged)
    assert [item.code for item in check(unacknowledged, today=after_block)] == ["invalid", "runtime-blocked"]

    workflow = yaml.safe_load((EXAMPLES / "ci" / "github-actions.yml").read_text(encoding="utf-8"))
    steps = [shlex.split(step["run"]) for step in workflow["jobs"]["split"]["steps"] if "run" in step]
    (command,) = [argv for argv in steps if argv[:2] == ["lambda-canary", "check"]]
    repository = tmp_path / "repository"
    shutil.copytree(PING_DIR, repository / "examples" / "ping")  # the CI example runs from the repository root
    monkeypatch.chdir(repository)
    result = CliRunner().invoke(check_command, command[2:])
    assert result.exit_code == 0, result.output


def test_the_fixed_seed_splits_between_node_18_and_node_22() -> None:
    """300 GET /prod/ping: 10 % Node 22 within the exact binomial bounds.

    One bounded count; its bound [8, 59] of 300 already demands both functions. False-failure probability: <= 1e-6.
    """
    n = 300
    loaded = load_any(FIXED, stage="prod")
    with StackThread(loaded, options()) as running:
        bodies = [get(running.url + "/prod/ping") for _ in range(n)]
    assert all(status == 200 for status, _ in bodies)
    node18 = sum(NODE18 in body for _, body in bodies)
    node22 = sum(NODE22 in body for _, body in bodies)
    assert node18 + node22 == n
    low, high = int(binom.ppf(TAIL, n, 0.1)), int(binom.isf(TAIL, n, 0.1))
    assert low <= node22 <= high, (node22, low, high)
    functions = {json.loads(body)["function"] for _, body in bodies}
    assert functions == {"ping-stable-prod", "ping-canary-prod"}


# ---- the ping stack as CloudFormation and as OpenAPI ------------------------------------------------------------
@pytest.mark.parametrize("name", ["template.yaml", "openapi.yaml"])
def test_ping_template_and_openapi_serve_what_canary_yaml_serves(name: str) -> None:
    """Same model, same routes, and with the same seed the same bodies in the same order as canary.yaml.

    The 150 bodies must hold both runtimes (10 % canary). False-failure probability: 0.9**150 + 0.1**150 ≈ 1.4e-7.
    """
    reference = load_config(PING)
    imported = load_any(EXAMPLES / "ping" / name)
    assert reference.config.acknowledged() == ["runtime-blocked:ping-stable"]
    # `acknowledge` is for `check` only: a template keeps it in its Metadata, an OpenAPI companion in the config
    assert (imported.config.model_copy(update={"acknowledge": []})
            == reference.config.model_copy(update={"acknowledge": []}))
    assert run_check(EXAMPLES / "ping" / name).acknowledged[0].subject == "ping-stable"
    assert code_dirs(imported) == code_dirs(reference)
    answers = []
    for loaded in (reference, imported):
        with StackThread(loaded, options()) as running:
            routes = [line.replace(running.url, "") for line in running.stack.routes()]
            answers.append((routes, [get(running.url + "/prod/ping") for _ in range(BOTH_RUNTIMES)]))
    assert answers[0] == answers[1]
    assert {NODE18 in body for _, body in answers[1][1]} == {True, False}


def test_load_any_reads_our_own_config_unchanged() -> None:
    """A canary.yaml goes through load_any as through load_config."""
    loaded = load_any(PING)
    assert loaded.format == "lambda-canary" and loaded.unsupported == []
    assert loaded.config == load_config(PING).config
    assert detect_format(PING) == "lambda-canary" and detect_format(SEED) == "serverless"
    assert detect_format(EXAMPLES / "ping" / "template.yaml") == "cloudformation"
    assert detect_format(EXAMPLES / "ping" / "openapi.yaml") == "openapi"


# ---- export, then import ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("source", [PING, ALIAS, FIXED])
def test_cloudformation_export_round_trips(source: Path, tmp_path: Path) -> None:
    """export → import gives the same model (versions' own runtimes excepted, and named in the notes)."""
    loaded = load_any(source, stage="prod")
    notes: list[str] = []
    target = tmp_path / "template.yaml"
    target.write_text(export(loaded, "cloudformation", relative_to=tmp_path, notes=notes))
    again = load_any(target)
    assert code_dirs(again) == code_dirs(loaded)
    if source == ALIAS:
        assert any("version 1 has its own runtime" in note for note in notes)
        expected = without_code(loaded)
        for version in expected["functions"]["ping"]["versions"].values():
            version["runtime"] = None
        assert without_code(again) == expected
    else:
        assert notes == []
        assert without_code(again) == without_code(loaded)
    assert again.unsupported == ["LambdaExecutionRole: resource type AWS::IAM::Role is not emulated"]


def test_openapi_export_round_trips_through_its_companion(tmp_path: Path) -> None:
    """openapi + functions companion → import gives the same model; without the companion the error says so."""
    loaded = load_any(FIXED, stage="prod")
    (tmp_path / "api.yaml").write_text(export(loaded, "openapi", relative_to=tmp_path))
    with pytest.raises(UserError, match="companion"):
        load_any(tmp_path / "api.yaml")
    (tmp_path / "api.functions.yaml").write_text(export(loaded, "functions", relative_to=tmp_path))
    again = load_any(tmp_path / "api.yaml")
    assert without_code(again) == without_code(loaded)
    assert code_dirs(again) == code_dirs(loaded)


@pytest.mark.parametrize("source", [PING, ALIAS, FIXED])
def test_cfn_lint_accepts_the_exported_template(source: Path, tmp_path: Path) -> None:
    """No cfn-lint errors; the only warning allowed is W2531 (nodejs18.x is deprecated)."""
    target = tmp_path / "template.yaml"
    target.write_text(export(load_any(source, stage="prod"), "cloudformation", relative_to=tmp_path))
    result = subprocess.run([str(CFN_LINT), "--format", "parseable", str(target)], capture_output=True, text=True,
                            timeout=300)
    assert result.returncode & 2 == 0, result.stdout + result.stderr
    rules = set(re.findall(r":([EWI]\d{4}):", result.stdout))
    assert rules <= {"W2531"}, result.stdout


def test_the_shipped_ping_template_passes_cfn_lint() -> None:
    """examples/ping/template.yaml as committed."""
    result = subprocess.run([str(CFN_LINT), "--format", "parseable", str(EXAMPLES / "ping" / "template.yaml")],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode & 2 == 0, result.stdout


# ---- CloudFormation details -------------------------------------------------------------------------------------
TEMPLATE = """\
AWSTemplateFormatVersion: "2010-09-09"
Metadata:
  lambda-canary: {region: eu-west-1, accountId: "111122223333"}
Parameters:
  Suffix: {Type: String, Default: v1}
Conditions:
  IsV1: !Equals [!Ref Suffix, v1]
Resources:
  Fn:
    Type: AWS::Lambda::Function
    Properties:
      FunctionName: !Join ["-", [ping, !Select [0, !Split [",", "stable,other"]]]]
      Runtime: !If [IsV1, nodejs22.x, nodejs24.x]
      Handler: index.handler
      Code: {ZipFile: "exports.handler = async () => ({statusCode: 200, body: 'inline'});"}
  Api:
    Type: AWS::ApiGateway::RestApi
    Properties: {Name: !Sub "api-${Suffix}"}
  Res:
    Type: AWS::ApiGateway::Resource
    Properties: {RestApiId: !Ref Api, ParentId: !GetAtt Api.RootResourceId, PathPart: ping}
  Child:
    Type: AWS::ApiGateway::Resource
    Properties: {RestApiId: !Ref Api, ParentId: !Ref Res, PathPart: "{id}"}
  Get:
    Type: AWS::ApiGateway::Method
    Properties:
      RestApiId: !Ref Api
      ResourceId: !Ref Child
      HttpMethod: GET
      AuthorizationType: NONE
      Integration:
        Type: AWS_PROXY
        IntegrationHttpMethod: POST
        Uri: !Sub
          - "arn:aws:apigateway:${AWS::Region}:lambda:path/2015-03-31/functions/${Prefix}${!stageVariables.fn}/${Tail}"
          - Prefix: !Sub "arn:aws:lambda:${AWS::Region}:${AWS::AccountId}:function:"
            Tail: invocations
  Deployment:
    Type: AWS::ApiGateway::Deployment
    DependsOn: [Get]
    Properties: {RestApiId: !Ref Api}
  Stage:
    Type: AWS::ApiGateway::Stage
    Properties:
      RestApiId: !Ref Api
      DeploymentId: !Ref Deployment
      StageName: live
      Variables: {fn: !Ref Fn}
  Allow:
    Type: AWS::Lambda::Permission
    Properties:
      FunctionName: !GetAtt Fn.Arn
      Action: lambda:InvokeFunction
      Principal: apigateway.amazonaws.com
      SourceArn: !Sub "arn:aws:execute-api:${AWS::Region}:${AWS::AccountId}:${Api}/*/GET/ping/*"
"""


def test_intrinsics_short_and_long_forms(tmp_path: Path) -> None:
    """!Sub (list form, ${!Literal}), !Join, !Select, !Split, !If, !Equals, !GetAtt, parameters and Metadata region;
    the same template as JSON (long forms) gives the same config; ZipFile code is served."""
    yaml_file = tmp_path / "t.yaml"
    yaml_file.write_text(TEMPLATE)
    loaded = load_any(yaml_file)
    api = loaded.config.rest_apis["api-v1"]
    uri = api.resources["/ping/{id}"]["GET"].integration.uri
    assert uri == ("arn:aws:apigateway:eu-west-1:lambda:path/2015-03-31/functions/arn:aws:lambda:eu-west-1:"
                   "111122223333:function:${stageVariables.fn}/invocations")
    assert api.stages["live"].variables == {"fn": "ping-stable"}
    assert loaded.config.functions["ping-stable"].runtime == "nodejs22.x"
    assert check(yaml_file) == []
    from emulator.formats.cloudformation import parse_template_text

    data, _ = parse_template_text(TEMPLATE, yaml_file)
    json_file = tmp_path / "t.json"
    json_file.write_text(json.dumps(data))
    assert load_any(json_file).config == loaded.config
    with StackThread(loaded, options()) as running:
        assert get(running.url + "/live/ping/7") == (200, "inline")


def test_a_stage_variable_in_a_sub_string_is_reported(tmp_path: Path) -> None:
    """`${stageVariables.fn}` unescaped in Fn::Sub: CloudFormation rejects it; check names the line and the escape."""
    path = tmp_path / "t.yaml"
    path.write_text(TEMPLATE.replace("${Prefix}${!stageVariables.fn}", "${Prefix}${stageVariables.fn}"))
    (finding,) = check(path)
    assert finding.code == "sub-stage-variable" and finding.line == line_of(path, "Uri: !Sub")
    assert "${!stageVariables.fn}" in finding.fix
    assert load_any(path).config.rest_apis["api-v1"].stages["live"].variables == {"fn": "ping-stable"}


def test_missing_function_permission_and_canary_checks(tmp_path: Path) -> None:
    """A variable naming no function, a canary without overrides, no permission, bad variable values."""
    text = (TEMPLATE.replace("Variables: {fn: !Ref Fn}",
                             "Variables: {fn: ping-gone}\n      CanarySetting: {PercentTraffic: 5}")
            .replace("FunctionName: !GetAtt Fn.Arn", "FunctionName: other"))
    path = tmp_path / "t.yaml"
    path.write_text(text)
    codes = {finding.code for finding in check(path)}
    assert codes == {"function-missing", "canary-identical", "function-unreached"}
    path.write_text(TEMPLATE.replace("FunctionName: !GetAtt Fn.Arn", "FunctionName: other"))
    assert [finding.code for finding in check(path)] == ["permission-missing"]
    path.write_text(TEMPLATE.replace("Variables: {fn: !Ref Fn}", "Variables: {fn: !Ref Fn, bad-name: x}"))
    (finding,) = check(path)
    assert finding.code == "stage-variable-invalid" and "Invalid stage variable name: bad-name." in finding.message


def test_a_canary_deployment_on_a_missing_stage_and_a_bad_value(tmp_path: Path) -> None:
    """DeploymentCanarySettings naming a stage the template does not create; a `$` in a stage variable value."""
    path = tmp_path / "t.yaml"
    path.write_text(TEMPLATE.replace("Properties: {RestApiId: !Ref Api}", "Properties:\n      RestApiId: !Ref Api\n"
                                     "      StageName: beta\n      DeploymentCanarySettings: {PercentTraffic: 20}")
                    .replace("Variables: {fn: !Ref Fn}", "Variables: {fn: !Ref Fn, version: $LATEST}"))
    found = {finding.code: finding for finding in check(path)}
    assert set(found) == {"canary-stage-missing", "stage-variable-invalid"}
    assert found["canary-stage-missing"].line == line_of(path, "DeploymentCanarySettings")
    assert "Stage beta must already be created" in found["canary-stage-missing"].message
    assert "Invalid stage variable value: $LATEST." in found["stage-variable-invalid"].message
    assert found["stage-variable-invalid"].line == line_of(path, "version: $LATEST")


def test_unsupported_items_are_named(tmp_path: Path) -> None:
    """S3 code, other resource types, other auth, unknown properties: listed, never dropped silently."""
    text = TEMPLATE.replace("AuthorizationType: NONE", "AuthorizationType: AWS_IAM") + """\
  Queue:
    Type: AWS::SQS::Queue
  FromS3:
    Type: AWS::Lambda::Function
    Properties:
      Runtime: nodejs22.x
      Handler: index.handler
      Code: {S3Bucket: bucket, S3Key: key.zip}
      Architectures: [arm64]
"""
    path = tmp_path / "t.yaml"
    path.write_text(text)
    unsupported = "\n".join(load_any(path).unsupported)
    assert "Queue: resource type AWS::SQS::Queue is not emulated" in unsupported
    assert "FromS3" in unsupported and "S3" in unsupported
    assert "property Architectures is not supported" in unsupported
    assert "AuthorizationType AWS_IAM is not emulated" in unsupported


def test_errors_name_the_template_line_and_key(tmp_path: Path) -> None:
    """A value our model refuses is reported at the template's line and key."""
    path = tmp_path / "t.yaml"
    path.write_text(TEMPLATE.replace("!If [IsV1, nodejs22.x, nodejs24.x]", "nodejs10.x"))
    with pytest.raises(UserError) as caught:
        load_any(path)
    assert str(caught.value).startswith(f"{path}:{line_of(path, 'Runtime: nodejs10.x')}: "
                                        "Resources.Fn.Properties.Runtime: unknown runtime 'nodejs10.x'")


def test_sam_function_api_event_and_api(tmp_path: Path) -> None:
    """SAM: an Api event on an explicit Serverless::Api with stage variables and a canary."""
    path = tmp_path / "sam.yaml"
    path.write_text("""\
Transform: AWS::Serverless-2016-10-31
Resources:
  Ping:
    Type: AWS::Serverless::Function
    Properties:
      Runtime: nodejs22.x
      Handler: src/handlers/ping.handler
      CodeUri: %s
      Events:
        Get: {Type: Api, Properties: {Path: /ping, Method: get, RestApiId: !Ref Api}}
  Api:
    Type: AWS::Serverless::Api
    Properties:
      StageName: prod
      Variables: {color: blue}
      CanarySetting: {PercentTraffic: 0, StageVariableOverrides: {color: green}}
""" % (EXAMPLES / "ping"))
    loaded = load_any(path)
    api = loaded.config.rest_apis["Api"]
    assert api.resources["/ping"]["GET"].integration.uri.endswith(":function:Ping/invocations")
    assert api.stages["prod"].variables == {"color": "blue"}
    assert api.stages["prod"].canary_settings.stage_variable_overrides == {"color": "green"}
    assert check(path) == []


SAM_PREFERENCE = """\
Transform: AWS::Serverless-2016-10-31
Resources:
  Ping:
    Type: AWS::Serverless::Function
    Properties:
      FunctionName: ping
      Runtime: nodejs22.x
      Handler: src/handlers/ping.handler
      CodeUri: %(code)s
      AutoPublishAlias: live
      DeploymentPreference:
        Type: Linear10PercentEvery1Minute
        Alarms: [!Ref ErrorsAlarm, latency-alarm]
        Hooks: {PreTraffic: !Ref PreTrafficHook, PostTraffic: !Ref PostTrafficHook}
  PreTrafficHook:
    Type: AWS::Serverless::Function
    Properties: {Runtime: nodejs22.x, Handler: src/handlers/ping.handler, CodeUri: %(code)s}
  PostTrafficHook:
    Type: AWS::Serverless::Function
    Properties: {FunctionName: post-hook, Runtime: nodejs22.x, Handler: src/handlers/ping.handler, CodeUri: %(code)s}
  ErrorsAlarm:
    Type: AWS::CloudWatch::Alarm
    Properties:
      AlarmName: ping-errors
      Namespace: AWS/Lambda
      MetricName: Errors
      Statistic: Sum
      Period: 60
      EvaluationPeriods: 1
      Threshold: 0
      ComparisonOperator: GreaterThanThreshold
"""


def test_sam_auto_publish_alias_and_deployment_preference_import_and_export_back(tmp_path: Path) -> None:
    """AutoPublishAlias and DeploymentPreference (Type, Alarms by Ref and by name, Hooks by Ref) become the
    function's autoPublishAlias and deploymentPreference; export writes a SAM function with them again (Transform,
    hooks as Refs to the hook functions) and importing that gives the same model."""
    path = tmp_path / "sam.yaml"
    path.write_text(SAM_PREFERENCE % {"code": EXAMPLES / "ping"})
    loaded = load_any(path)
    ping = loaded.config.functions["ping"]
    assert ping.auto_publish_alias == "live"
    preference = ping.deployment_preference
    assert preference is not None and preference.type == "Linear10PercentEvery1Minute"
    assert preference.alarms == ["ping-errors", "latency-alarm"]
    assert preference.hooks is not None
    assert (preference.hooks.pre_traffic, preference.hooks.post_traffic) == ("PreTrafficHook", "post-hook")
    assert loaded.unsupported == ["ErrorsAlarm: resource type AWS::CloudWatch::Alarm is not emulated"]

    target = tmp_path / "out" / "template.yaml"
    target.parent.mkdir()
    notes: list[str] = []
    target.write_text(export(loaded, "cloudformation", relative_to=target.parent, notes=notes))
    template = yaml.safe_load(target.read_text())
    assert template["Transform"] == "AWS::Serverless-2016-10-31" and notes == []
    function = template["Resources"]["PingFunction"]
    assert function["Type"] == "AWS::Serverless::Function" and function["Properties"]["AutoPublishAlias"] == "live"
    assert function["Properties"]["DeploymentPreference"] == {
        "Type": "Linear10PercentEvery1Minute", "Alarms": ["ping-errors", "latency-alarm"],
        "Hooks": {"PreTraffic": {"Ref": "PreTrafficHookFunction"}, "PostTraffic": {"Ref": "PostHookFunction"}}}
    again = load_any(target)
    assert without_code(again) == without_code(loaded)
    assert code_dirs(again) == code_dirs(loaded)
    lint = subprocess.run([str(CFN_LINT), "--format", "parseable", str(target)], capture_output=True, text=True,
                          timeout=300)
    assert lint.returncode == 0, lint.stdout + lint.stderr  # cfn-lint runs SAM's transform on it


def test_a_deployment_preference_without_auto_publish_alias_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "canary.yaml"
    document = yaml.safe_load(PING.read_text())
    function = next(iter(document["functions"].values()))
    function["code"] = str(EXAMPLES / "ping")
    function["deploymentPreference"] = {"type": "AllAtOnce"}
    path.write_text(yaml.safe_dump(document))
    with pytest.raises(UserError, match="deploymentPreference needs autoPublishAlias"):
        load_config(path)


# ---- serverless variables --------------------------------------------------------------------------------------
def test_serverless_variables(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """${opt:stage, 'x'}, nesting, env, fallbacks; CloudFormation's ${...} untouched; other sources named."""
    monkeypatch.setenv("CANARY_MEMORY", "256")
    (tmp_path / "src" / "handlers").mkdir(parents=True)
    shutil.copy(EXAMPLES / "ping" / "src" / "handlers" / "ping.js", tmp_path / "src" / "handlers")
    path = tmp_path / "serverless.yml"
    path.write_text("""\
service: svc
provider: {name: aws, stage: "${opt:stage, 'qa'}", region: eu-central-1, runtime: nodejs22.x}
custom:
  sizes: {qa: 512, prod: 1024}
  secret: ${ssm:/some/parameter}
functions:
  one:
    handler: src/handlers/ping.handler
    memorySize: ${self:custom.sizes.${opt:stage}}
    environment: {STAGE: "${sls:stage}", MEM: "${env:CANARY_MEMORY}", REGION: "${aws:region}"}
  two:
    handler: src/handlers/ping.handler
    memorySize: ${env:CANARY_MEMORY}
""")
    qa = load_any(path)
    assert set(qa.config.functions) == {"svc-qa-one", "svc-qa-two"}
    one = qa.config.functions["svc-qa-one"]
    assert (one.memory_size, one.timeout, one.runtime) == (512, 6, "nodejs22.x")
    assert one.environment == {"STAGE": "qa", "MEM": "256", "REGION": "eu-central-1"}
    assert qa.config.functions["svc-qa-two"].memory_size == 256
    assert any("source `ssm`" in item for item in qa.unsupported)
    assert load_any(path, stage="prod").config.functions["svc-prod-one"].memory_size == 1024


# ---- CLI ------------------------------------------------------------------------------------------------------
def test_check_command_exit_codes(tmp_path: Path) -> None:
    """1 with one `file:line: message. Fix: ...` line per finding, 0 when clean, 2 on unreadable input."""
    runner = CliRunner()
    result = runner.invoke(check_command, [str(SEED)])
    assert result.exit_code == 1
    lines = result.stdout.splitlines()
    assert len(lines) == len(check(SEED)) and all(line.startswith(f"{SEED}:") and ". Fix: " in line
                                                  for line in lines)
    assert runner.invoke(check_command, [str(FIXED)]).exit_code == 0
    assert runner.invoke(check_command, [str(tmp_path / "missing.yaml")]).exit_code == 2
    broken = tmp_path / "broken.yaml"
    broken.write_text("Resources: [unclosed\n")
    result = runner.invoke(check_command, [str(broken)])
    assert result.exit_code == 2 and f"{broken}:" in result.stderr
    assert runner.invoke(check_command, [str(PING), "--ack", "runtime-blocked"]).exit_code == 0


def test_export_command_writes_files_atomically(tmp_path: Path) -> None:
    """-o writes the file (and an OpenAPI export's companion) with nothing left behind; both load back."""
    runner = CliRunner()
    target = tmp_path / "out" / "api.yaml"
    result = runner.invoke(export_command, [str(PING), "--format", "openapi", "-o", str(target)])
    assert result.exit_code == 0, result.output
    assert sorted(path.name for path in target.parent.iterdir()) == ["api.functions.yaml", "api.yaml"]
    assert without_code(load_any(target)) == without_code(load_config(PING))
    result = runner.invoke(export_command, [str(SEED), "--format", "cloudformation", "-o", str(tmp_path / "t.yaml")])
    assert result.exit_code == 0 and (tmp_path / "t.yaml").is_file()
    assert runner.invoke(export_command, [str(tmp_path / "nope.yaml"), "--format", "openapi"]).exit_code == 2


def test_exports_carry_the_acknowledgements(tmp_path: Path) -> None:
    """The ping example acknowledges ping-stable's Node 18 runtime; its CloudFormation export and OpenAPI companion
    carry that, so `check` on the exports reports it as acknowledged, not as a finding."""
    loaded = load_config(EXAMPLES / "ping" / "canary.yaml")
    template = tmp_path / "template.yaml"
    template.write_text(export(loaded, "cloudformation", relative_to=tmp_path), encoding="utf-8")
    report = run_check(template)
    assert [finding.code for finding in report.findings if finding.code == "runtime-blocked"] == []
    assert ("runtime-blocked", "ping-stable") in [(item.code, item.subject) for item in report.acknowledged]
    (tmp_path / "api.yaml").write_text(export(loaded, "openapi"), encoding="utf-8")
    (tmp_path / "api.functions.yaml").write_text(export(loaded, "functions", relative_to=tmp_path), encoding="utf-8")
    companion = run_check(tmp_path / "api.yaml")
    assert [finding.code for finding in companion.findings if finding.code == "runtime-blocked"] == []


def test_check_refuses_what_aws_refuses_at_deploy_time(tmp_path: Path) -> None:
    """A canary on a missing deployment and an AWS_PROXY URI that is no Lambda invocation path: `check` reports
    each with AWS's own message (recorded: LocalStack's AWS-validated test_apigateway_canary.py and
    test_apigateway_lambda.py::test_put_integration_aws_proxy_uri) and exits 1."""
    text = PING.read_text()
    copied = tmp_path / "ping"
    shutil.copytree(PING_DIR, copied)
    config = copied / "canary.yaml"
    data = yaml.safe_load(text)
    api = next(iter(data["restApis"].values()))
    stage = next(iter(api["stages"].values()))
    stage.setdefault("canarySettings", {})["deploymentId"] = "gone"
    config.write_text(yaml.safe_dump(data, sort_keys=False))
    messages = [finding.message for finding in check(config)]
    assert any("'Deployment id does not exist'" in message for message in messages), messages
    assert CliRunner().invoke(check_command, [str(config)]).exit_code == 1

    data = yaml.safe_load(text)
    api = next(iter(data["restApis"].values()))
    method = next(iter(next(iter(api["resources"].values())).values()))
    method["integration"] = {"type": "AWS_PROXY",
                             "uri": "arn:aws:lambda:us-east-1:123456789012:function:ping-stable"}
    config.write_text(yaml.safe_dump(data, sort_keys=False))
    messages = [finding.message for finding in check(config)]
    assert any("'AWS ARN for integration must contain path or action'" in message for message in messages), messages


def test_check_reports_a_missing_code_folder_and_handler_file(tmp_path: Path) -> None:
    """What `serve` refuses, `check` reports: a `code:` folder that does not exist, a handler with no file."""
    shutil.copytree(PING_DIR, tmp_path / "ping")
    config = tmp_path / "ping" / "canary.yaml"
    text = config.read_text()
    text = text.replace("    code: .\n", "    code: ./nowhere\n", 1)
    text = text.replace("handler: src/handlers/ping.handler\n    code: .\n", "handler: src/lost.handler\n    code: .\n")
    config.write_text(text)
    found = {finding.code: finding for finding in check(config)}
    assert found["code-missing"].line == line_of(config, "code: ./nowhere")
    assert "nowhere does not exist" in found["code-missing"].message
    assert found["handler-missing"].line == line_of(config, "src/lost.handler")
    with pytest.raises(UserError, match="nowhere does not exist"):
        StackThread(config, options()).start()


def test_the_seeds_canary_settings_is_served_without_an_ignored_warning() -> None:
    """The seed's misspelt CanarySettings is served (and exported) as the canary: no "not supported (ignored)"
    line claims otherwise; `check` still reports it."""
    loaded = load_any(SEED)
    assert not any("CanarySettings" in item for item in loaded.unsupported), loaded.unsupported
    assert loaded.config.rest_apis["multi-runtime-api"].stages["dev"].canary_settings is not None
    exported = CliRunner().invoke(export_command, [str(SEED), "--format", "cloudformation"])
    assert exported.exit_code == 0 and "CanarySettings" not in exported.stderr
    assert "cfn-unknown-property" in {finding.code for finding in check(SEED)}


def test_ack_refuses_a_code_check_never_reports() -> None:
    from emulator.formats.check import CODES

    result = CliRunner().invoke(check_command, [str(SEED), "--ack", "runtime-blokced"])
    assert result.exit_code == 2
    assert "unknown finding code 'runtime-blokced'; did you mean runtime-blocked?" in result.stderr
    assert {finding.code for finding in check(SEED)} <= CODES


@pytest.mark.parametrize("format_", ["cloudformation", "openapi"])
def test_export_writes_each_acknowledged_finding_with_its_reason(tmp_path: Path, format_: str) -> None:
    """canary.yaml's `{finding, reason}` entries come out of export as they went in (template Metadata, OpenAPI
    companion), and the exported file passes `check` on them, as examples/ping's exports do."""
    after_block = dt.date(2026, 11, 26)
    shutil.copytree(PING_DIR, tmp_path / "ping")
    source = tmp_path / "ping" / "canary.yaml"
    out = tmp_path / "ping" / ("exported.yaml" if format_ == "cloudformation" else "exported.openapi.yaml")
    result = CliRunner().invoke(export_command, [str(source), "--format", format_, "-o", str(out)])
    assert result.exit_code == 0, result.output
    written = yaml.safe_load((out if format_ == "cloudformation" else
                              out.with_name("exported.openapi.functions.yaml")).read_text(encoding="utf-8"))
    entries = written["Metadata"]["lambda-canary"]["acknowledge"] if format_ == "cloudformation" else \
        written["acknowledge"]
    expected = yaml.safe_load(source.read_text(encoding="utf-8"))["acknowledge"]
    assert entries == expected and entries[0]["finding"] == "runtime-blocked:ping-stable" and entries[0]["reason"]
    report = run_check(out, today=after_block)
    assert report.findings == [], [finding.format() for finding in report.findings]
    assert [(item.code, item.subject) for item in report.acknowledged] == [("runtime-blocked", "ping-stable")]


def test_an_acknowledgement_without_its_finding_is_refused(tmp_path: Path) -> None:
    """`{reason}` alone acknowledges nothing: one line naming the file and key."""
    text = PING.read_text(encoding="utf-8").replace("  - finding: runtime-blocked:ping-stable\n    reason:",
                                                    "  - reason:")
    shutil.copytree(PING_DIR / "src", tmp_path / "src")
    config = tmp_path / "canary.yaml"
    config.write_text(text, encoding="utf-8")
    with pytest.raises(UserError, match=r"canary.yaml:\d+: acknowledge.0"):
        load_config(config)


VALIDATED = """\
restApis:
  orders:
    models:
      Order:
        schema: {"type": "object", "required": ["item"], "properties": {"item": {"type": "string"}}}
        description: an order
      Tag:
        contentType: text/plain
        schema: '{"type": "string"}'
    requestValidators:
      all: {validateRequestBody: true, validateRequestParameters: true}
      params: {validateRequestParameters: true}
    resources:
      /orders:
        POST:
          requestValidator: all
          requestModels: {application/json: Order, text/plain: Tag, $default: Empty}
          requestParameters: {method.request.querystring.shop: true, method.request.header.x-id: false}
          integration:
            type: MOCK
            requestTemplates: {application/json: '{"statusCode": 200}'}
    deployments:
      d1: {}
    stages:
      prod: {deploymentId: d1}
"""


def test_models_and_request_validators_export_to_cloudformation_and_back(tmp_path: Path) -> None:
    """AWS::ApiGateway::Model and RequestValidator, and a Method's RequestValidatorId, RequestModels and
    RequestParameters: export → import gives the same model, and cfn-lint accepts the template. A model's `$ref` to
    another by its URL names the stack's own API (Fn::Sub of the RestApi), not the emulator's id of it."""
    local_ref = f"https://apigateway.amazonaws.com/restapis/{stable_api_id('orders')}/models/Order"
    source = tmp_path / "canary.yaml"
    orders_model = f'      Orders:\n        schema: {{"type": "array", "items": {{"$ref": "{local_ref}"}}}}\n'
    source.write_text(VALIDATED.replace("    requestValidators:\n", orders_model + "    requestValidators:\n", 1))
    loaded = load_any(source, stage="prod")
    notes: list[str] = []
    target = tmp_path / "template.yaml"
    target.write_text(export(loaded, "cloudformation", relative_to=tmp_path, notes=notes))
    template = yaml.safe_load(target.read_text())
    (orders,) = [item["Properties"] for item in template["Resources"].values()
                 if item["Type"] == "AWS::ApiGateway::Model" and item["Properties"]["Name"] == "Orders"]
    api_logical = orders["RestApiId"]["Ref"]
    assert orders["Schema"]["items"]["$ref"] == {
        "Fn::Sub": f"https://apigateway.amazonaws.com/restapis/${{{api_logical}}}/models/Order"}
    again = load_any(target)
    assert again.config.rest_apis["orders"].models["Orders"].json_schema["items"]["$ref"] == local_ref
    assert again.unsupported == []
    assert without_code(again) == without_code(loaded)
    method = again.config.rest_apis["orders"].resources["/orders"]["POST"]
    assert (method.request_validator, method.request_models["$default"]) == ("all", "Empty")
    result = subprocess.run([str(CFN_LINT), "--format", "parseable", str(target)], capture_output=True, text=True,
                            timeout=300)
    assert result.returncode & 2 == 0, result.stdout + result.stderr
    assert not re.findall(r":([EW]\d{4}):", result.stdout), result.stdout


def test_models_and_request_validators_export_to_openapi_and_back(tmp_path: Path) -> None:
    """The OpenAPI export carries the models (components.schemas, `$ref`s in document form), the request
    validators (x-amazon-apigateway-request-validators) and each method's validator, request models (requestBody)
    and parameters, with nothing left to a note; the companion keeps only the models the document cannot say (a
    content type, a description not the schema's); document + companion load back to the same config."""
    source = tmp_path / "canary.yaml"
    source.write_text(VALIDATED.replace(
        """requestTemplates: {application/json: '{"statusCode": 200}'}""",
        """requestTemplates: {application/json: '{"statusCode": 200}'}\n            integrationResponses: {"200": {}}"""
    ).replace("      Tag:\n", "      Item:\n        description: an item\n        schema: {description: an item, "
              f"items: {{$ref: 'https://apigateway.amazonaws.com/restapis/{stable_api_id('orders')}/models/Tag'}}}}\n"
              "      Tag:\n").replace('"properties": {"item": {"type": "string"}}',
                                        '"properties": {"item": {"type": "string"}, "tags": {"type": "array", '
                                        '"items": {"$ref": "https://apigateway.amazonaws.com/restapis/'
                                        f'{stable_api_id("orders")}/models/Tag"}}}}}}'))
    loaded = load_any(source, stage="prod")
    notes: list[str] = []
    (tmp_path / "api.yaml").write_text(export(loaded, "openapi", relative_to=tmp_path, notes=notes))
    assert notes == []
    document = yaml.safe_load((tmp_path / "api.yaml").read_text())
    assert document["components"]["schemas"]["Order"]["properties"]["tags"]["items"] == {
        "$ref": "#/components/schemas/Tag"}
    assert set(document["components"]["schemas"]) == {"Item", "Order", "Tag", "Empty"}  # Empty: used; Error: not
    assert document["components"]["schemas"]["Item"] == {"description": "an item",
                                                          "items": {"$ref": "#/components/schemas/Tag"}}
    assert document["x-amazon-apigateway-request-validators"] == {
        "all": {"validateRequestBody": True, "validateRequestParameters": True},
        "params": {"validateRequestBody": False, "validateRequestParameters": True}}
    post = document["paths"]["/orders"]["post"]
    assert post["x-amazon-apigateway-request-validator"] == "all"
    assert post["requestBody"]["content"]["text/plain"] == {"schema": {"$ref": "#/components/schemas/Tag"}}
    companion = yaml.safe_load(export(loaded, "functions", relative_to=tmp_path))
    assert set(companion["restApis"]["orders"]["models"]) == {"Order", "Tag"}  # a description, a content type
    assert "requestValidators" not in companion["restApis"]["orders"]
    (tmp_path / "api.functions.yaml").write_text(export(loaded, "functions", relative_to=tmp_path))
    again = load_any(tmp_path / "api.yaml")
    assert without_code(again) == without_code(loaded)
    assert not [note for note in again.unsupported if "schema" in note], again.unsupported
