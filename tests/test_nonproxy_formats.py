"""Non-proxy integrations and Lambda authorizers through every format: the example exported to CloudFormation and
OpenAPI reads back as the same API; `check` finds templates that do not parse and authorizers API Gateway may not
invoke; `split --header` runs the example's canary through its authorizer."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
import yaml
from support import call

from emulator.formats.check import check
from emulator.formats.export import export
from emulator.formats.load import load_config
from emulator.stack import StackOptions
from emulator.testing import StackThread
from emulator.verify.split import split_config

REPO = Path(__file__).resolve().parent.parent
EXAMPLE = REPO / "examples" / "nonproxy-authorizer"
CLI = REPO / ".venv" / "bin" / "lambda-canary"


@pytest.mark.parametrize("name", ["template.yaml", "openapi.yaml"])
def test_the_committed_exports_read_back_as_the_example(name: str) -> None:
    """examples/nonproxy-authorizer/{template,openapi}.yaml (made by `export`) give the canary.yaml's API:
    resources with templates, passthroughBehavior, selection patterns, the authorizer and the stages."""
    original = load_config(EXAMPLE / "canary.yaml").config.rest_apis["pets-api"]
    imported = load_config(EXAMPLE / name).config.rest_apis["pets-api"]
    assert imported.resources == original.resources
    assert imported.authorizers == original.authorizers
    assert imported.stages == original.stages


@pytest.mark.parametrize("fmt", ["cloudformation", "openapi"])
def test_export_is_what_is_committed(fmt: str) -> None:
    """The committed exports are current: exporting canary.yaml again gives the same text."""
    loaded = load_config(EXAMPLE / "canary.yaml")
    name = "template.yaml" if fmt == "cloudformation" else "openapi.yaml"
    assert export(loaded, fmt, relative_to=EXAMPLE) == (EXAMPLE / name).read_text()


def test_cloudformation_shapes() -> None:
    """The template has an AWS::ApiGateway::Authorizer, a CUSTOM method with AuthorizerId, the AWS integration with
    PassthroughBehavior and a SelectionPattern, and a permission for each authorizer function on /authorizers/*."""
    resources = yaml.safe_load((EXAMPLE / "template.yaml").read_text())["Resources"]
    by_type: dict[str, list[dict]] = {}
    for resource in resources.values():
        by_type.setdefault(resource["Type"], []).append(resource["Properties"])
    (authorizer,) = by_type["AWS::ApiGateway::Authorizer"]
    assert (authorizer["Type"], authorizer["IdentitySource"]) == ("TOKEN", "method.request.header.Authorization")
    (method,) = by_type["AWS::ApiGateway::Method"]
    assert method["AuthorizationType"] == "CUSTOM" and "Ref" in method["AuthorizerId"]
    assert method["Integration"]["PassthroughBehavior"] == "WHEN_NO_TEMPLATES"
    assert {"StatusCode": "404", "SelectionPattern": "Not found.*"}.items() <= \
        method["Integration"]["IntegrationResponses"][1].items()
    authorizer_grants = [grant for grant in by_type["AWS::Lambda::Permission"]
                         if grant["SourceArn"]["Fn::Sub"].endswith("/authorizers/*")]
    assert len(authorizer_grants) == 2  # authorizer-stable and authorizer-canary (the canary's override)


def test_check_finds_a_template_that_does_not_parse(tmp_path: Path) -> None:
    """A request template with an unclosed #foreach: one `template-syntax` finding naming the line."""
    data = yaml.safe_load((EXAMPLE / "canary.yaml").read_text())
    integration = data["restApis"]["pets-api"]["resources"]["/pets/{id}"]["GET"]["integration"]
    integration["requestTemplates"]["application/json"] = '{\n  #foreach($x in $xs)\n  "a": 1\n}\n'
    for name in ("src",):
        shutil.copytree(EXAMPLE / name, tmp_path / name)
    target = tmp_path / "canary.yaml"
    target.write_text(yaml.safe_dump(data, sort_keys=False))
    findings = [finding for finding in check(target) if finding.code == "template-syntax"]
    assert len(findings) == 1
    expected = "request template for application/json does not parse (line 5: expected #end in foreach directive"
    assert expected in findings[0].message
    assert check(EXAMPLE / "canary.yaml") == []


def test_check_finds_an_authorizer_without_permission(tmp_path: Path) -> None:
    """The CloudFormation export without its /authorizers/* permissions: each authorizer function the stage and its
    canary name is reported; with them, nothing."""
    template = yaml.safe_load((EXAMPLE / "template.yaml").read_text())
    template["Resources"] = {key: value for key, value in template["Resources"].items()
                             if not (value["Type"] == "AWS::Lambda::Permission"
                                     and value["Properties"]["SourceArn"]["Fn::Sub"].endswith("/authorizers/*"))}
    shutil.copytree(EXAMPLE / "src", tmp_path / "src")
    target = tmp_path / "template.yaml"
    target.write_text(yaml.safe_dump(template, sort_keys=False))
    findings = [finding for finding in check(target) if finding.code == "authorizer-permission-missing"]
    assert sorted(finding.subject for finding in findings) == ["pets-api/token/authorizer-canary",
                                                               "pets-api/token/authorizer-stable"]
    assert check(EXAMPLE / "template.yaml") == []


def test_split_runs_the_example_through_its_authorizer() -> None:
    """`split` with the Authorization header: every request authorized and served, the 10 % canary consistent
    (the verdict itself is covered by the split tests; here: no errors, both variants seen)."""
    result, plan = split_config(EXAMPLE / "canary.yaml", "/pets/7", 200, 4, stage=None, by="variant",
                                seed=3, backend="process", headers={"Authorization": "allow"})
    assert plan.expected_percent == 10.0
    assert result.errors == 0 and result.unknown == 0
    assert {sample.key for sample in result.samples} == {"base", "canary"}


def test_split_header_option_needs_a_colon() -> None:
    """A malformed --header is bad user input: one line, exit 2."""
    run = subprocess.run([str(CLI), "split", str(EXAMPLE / "canary.yaml"), "--header", "Authorization"],
                         capture_output=True, text=True, timeout=60)
    assert run.returncode == 2
    assert "--header 'Authorization': write NAME: VALUE" in run.stderr


# ---- serverless.yml `http` events -------------------------------------------------------------------------------
SLS = REPO / "tests" / "fixtures" / "nonproxy-sls" / "serverless.yml"


def test_serverless_http_events_become_the_api_the_framework_deploys() -> None:
    """`integration: lambda` is AWS with passThrough NEVER, the request template given, the response statusCodes
    with their patterns; a default `lambda` event gets the Framework's request template and status codes; the
    authorizer (a function of the service) is a TOKEN authorizer on Authorization; `GET proxied/{id}` is AWS_PROXY.
    API `${stage}-${service}`, stage `dev`."""
    api = load_config(SLS).config.rest_apis["dev-petstore"]
    pets = api.resources["/pets/{id}"]["POST"]
    assert (pets.integration.type, pets.integration.passthrough_behavior) == ("AWS", "NEVER")
    assert set(pets.integration.request_templates) == {"application/json"}
    responses = pets.integration.integration_responses
    assert (responses["200"].selection_pattern, responses["404"].selection_pattern) == (None, "Not found.*")
    assert responses["404"].response_templates["application/json"].startswith('{"missing"')
    assert pets.authorizer == "authz"
    authorizer = api.authorizers["authz"]
    assert (authorizer.type, authorizer.effective_identity_source, authorizer.authorizer_result_ttl_in_seconds) == (
        "TOKEN", "method.request.header.Authorization", 0)
    assert authorizer.authorizer_uri.endswith(":function:petstore-dev-authz/invocations")
    defaults = api.resources["/default-templates/{id}"]["POST"].integration
    assert sorted(defaults.integration_responses) == ["200", "400", "401", "403", "404", "422", "500", "502", "504"]
    assert "#set( $body = $input.json(\"$\") )" in defaults.request_templates["application/json"]
    assert api.resources["/proxied/{id}"]["GET"].integration.type == "AWS_PROXY"
    assert list(api.stages) == ["dev"]
    assert check(SLS) == []


def test_serverless_http_events_serve() -> None:
    """Served: the authorizer's context reaches the request template, `Not found: 42` maps to the 404 template, a
    Deny answers 403, no token 401; the Framework's default template gives the function body, method and path."""
    json_headers = [("Content-Type", "application/json")]
    with StackThread(load_config(SLS), StackOptions(port=0, seed=3, function_logs=False)) as running:
        allow = [("Authorization", "allowall"), *json_headers]
        ok = call(running.url, "POST", "/dev/pets/7", allow, b"{}")
        assert (ok.status, ok.json()) == (200, {"id": "7", "who": "sls"})
        missing = call(running.url, "POST", "/dev/pets/42", allow, b"{}")
        assert (missing.status, missing.json()) == (404, {"missing": "Not found: 42"})
        assert call(running.url, "POST", "/dev/pets/7", [("Authorization", "deny"), *json_headers], b"{}").status \
            == 403
        assert call(running.url, "POST", "/dev/pets/7", json_headers, b"{}").status == 401
        default = call(running.url, "POST", "/dev/default-templates/9?x=1", json_headers, b'{"a": 1}').json()["got"]
        assert (default["body"], default["method"], default["path"], default["query"]) == (
            {"a": 1}, "POST", {"id": "9"}, {"x": "1"})
