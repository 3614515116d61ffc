"""`lambda-canary check`: mistakes AWS would reject, or that would silently misroute, found before deploy.

Works on every format load_any reads, plus shell scripts of `aws apigateway update-stage` calls. Each Finding names
file, line, key path, what goes wrong and the fix. A finding can be acknowledged (not reported) by its code, or
`code:subject`, in canary.yaml's top-level `acknowledge` (also an OpenAPI companion's), serverless.yml
`custom.lambdaCanary.acknowledge`, template `Metadata.lambda-canary.acknowledge`, or `check(..., acknowledge=[...])` /
`--ack`.
"""

from __future__ import annotations

import datetime as dt
import difflib
import json
import re
import shlex
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from emulator.apigateway.lambda_uri import _FUNCTION_ARN as FUNCTION_ARN
from emulator.apigateway.templates import template_problem
from emulator.errors import UserError
from emulator.formats.cloudformation import (
    API_TYPES,
    DEPLOYMENT,
    INTRINSICS,
    METHOD,
    Evaluator,
    Template,
    Unresolved,
    api_id_for,
)
from emulator.formats.load import detect_format, translate, validate
from emulator.formats.translation import Finding, Translation, acknowledged_finding
from emulator.lambda_service.handler_check import find_handler_file, handler_module
from emulator.runtimes.catalogue import catalogue
from emulator.stage_variables import (
    MAX_VARIABLES,
    REFERENCE,
    UndefinedStageVariable,
    name_error,
    referenced_names,
    substitute,
    value_error,
)
from emulator.yaml_source import KeyPath

__all__ = ["CheckReport", "Finding", "check", "check_script", "run_check"]

_LAMBDA_URI = re.compile(r"^arn:aws:apigateway:[^:]*:lambda:path/2015-03-31/functions/(?P<function>.+)/invocations$")
_UNESCAPED_STAGE_VARIABLE = re.compile(r"\$\{(stageVariables\.[^}]*)\}")
PERMISSION_NOTE = ("Lambda permissions: not checked for a lambda-canary config (or an OpenAPI export with its "
                   "companion config): `lambda-canary deploy` grants each API of the config permission to invoke the "
                   "config's functions")


@dataclass
class CheckReport:
    """Findings to act on, acknowledged ones, and notes on what was not checked."""

    findings: list[Finding] = field(default_factory=list)
    acknowledged: list[Finding] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


# Every finding code `check` reports; `--ack` and `acknowledge:` entries name one of these (CODE or CODE:SUBJECT).
CODES = frozenset({
    "authorizer-permission-missing", "canary-identical", "canary-stage-missing", "canary-without-stage",
    "cfn-unknown-property",
    "cli-missing-argument", "cli-unknown-option", "code-missing", "deployment-depends-on", "function-missing",
    "function-unreached", "handler-missing", "invalid", "lambda-uri-not-arn", "lambda-uri-shape",
    "permission-missing", "promotion-removes-canary", "provider-missing", "provider-stage-missing",
    "qualifier-missing", "runtime-blocked", "stage-variable-invalid", "stage-variable-undefined",
    "selection-pattern-unmatched", "sub-stage-variable", "template-syntax", "update-stage-percent",
})
SELECTION_NOTE = ("selection patterns: not checked against the errors functions throw (give a function `testEvents` "
                  "in a lambda-canary config and `check` invokes it with each)")


def require_known_codes(entries: list[str] | tuple[str, ...], where: str) -> None:
    """A UserError for an acknowledgement whose code `check` never reports (a typo would silence nothing)."""
    for entry in entries:
        code = entry.partition(":")[0]
        if code not in CODES:
            close = difflib.get_close_matches(code, CODES, n=1)
            hint = f"did you mean {close[0]}? " if close else ""
            raise UserError(f"{where} {entry!r}: unknown finding code {code!r}; {hint}codes: "
                            f"{', '.join(sorted(CODES))}")


def check(path: Path | str, *, stage: str | None = None, functions: Path | str | None = None,
          today: dt.date | None = None, acknowledge: list[str] | tuple[str, ...] = (),
          thrown: dict[str, list[str]] | None = None) -> list[Finding]:
    """The findings for one file (acknowledged ones left out), in line order."""
    return run_check(path, stage=stage, functions=functions, today=today, acknowledge=acknowledge,
                     thrown=thrown).findings


def run_check(path: Path | str, *, stage: str | None = None, functions: Path | str | None = None,
              today: dt.date | None = None, acknowledge: list[str] | tuple[str, ...] = (),
              thrown: dict[str, list[str]] | None = None) -> CheckReport:
    """Check a file; unreadable input raises UserError. `thrown` maps a function to the errorMessages it threw on
    its `testEvents` (the command line runs them; formats run nothing): selection patterns are checked for those."""
    path = Path(path)
    require_known_codes(acknowledge, "--ack")
    report = CheckReport()
    if detect_format(path) == "script":
        found = check_script(path)
        acknowledged = list(acknowledge)
    else:
        translation = translate(path, stage=stage, functions=functions)
        checker = _Checker(translation, today or dt.date.today())
        found = checker.run()
        if thrown:
            checker.selection_pattern_checks(thrown)
        else:
            checker.notes.append(SELECTION_NOTE)
        report.notes.extend(checker.notes)
        acknowledged = [*translation.acknowledge, *_own_acknowledge(translation), *acknowledge]
    seen: set[tuple[Any, ...]] = set()
    for finding in sorted(found, key=lambda item: (item.line or 0, item.code)):
        identity = (finding.line, finding.code, finding.subject, finding.message)
        if identity in seen:
            continue
        seen.add(identity)
        (report.acknowledged if finding.acknowledged_by(acknowledged) else report.findings).append(finding)
    return report


def _own_acknowledge(translation: Translation) -> list[str]:
    """canary.yaml's top-level `acknowledge` (an OpenAPI companion's arrives the same way); a malformed one is
    reported by the schema check, not applied."""
    entries = _mapping(translation.data).get("acknowledge")
    if not isinstance(entries, list):
        return []
    findings = [acknowledged_finding(entry) for entry in entries]
    return [finding for finding in findings if finding is not None] if None not in findings else []


def _lambda_function_part(uri: str) -> str | None:
    match = _LAMBDA_URI.match(uri)
    return match.group("function") if match else None


def _function_of(part: str) -> tuple[str, str | None]:
    """(name, qualifier) of a function ARN, or of a bare name (`name` or `name:qualifier`)."""
    match = FUNCTION_ARN.match(part)
    if match:
        return match.group("name"), match.group("qualifier") or None
    name, _, qualifier = part.partition(":")
    return name, qualifier or None


def _mapping(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


@dataclass
class _Method:
    api: str
    route: str
    verb: str
    uri: str
    path: KeyPath


class _Checker:
    """All checks on one translation."""

    def __init__(self, translation: Translation, today: dt.date) -> None:
        self.t = translation
        self.today = today
        self.data = _mapping(translation.data)
        self.functions = _mapping(self.data.get("functions"))
        self.findings: list[Finding] = list(translation.issues)
        self.notes: list[str] = []

    def add(self, out_path: KeyPath | None, code: str, message: str, fix: str, subject: str = "",
            line: int | None = None, key: str | None = None) -> None:
        file = self.t.source
        if out_path is not None:
            file, found_line, found_key = self.t.locate(out_path)
            line, key = line or found_line, key or found_key
        self.findings.append(Finding(file, line, key or "", message, fix, code, subject))

    def run(self) -> list[Finding]:
        if self.t.template is not None:
            self.template_checks(self.t.template)
        self.variable_checks()
        self.routing_checks()
        self.mapping_template_checks()
        if self.t.grants is not None:
            self.authorizer_permission_checks()
        self.runtime_checks()
        self.code_checks()
        self.schema_check()
        if self.t.grants is None:
            self.notes.append(PERMISSION_NOTE)
        return self.findings

    # -- CloudFormation-level -------------------------------------------------------------------------------
    def template_checks(self, template: Template) -> None:
        for path, value in _walk(template.data.get("Resources") or {}, ("Resources",)):
            if isinstance(value, dict) and len(value) == 1 and "Fn::Sub" in value:
                argument = value["Fn::Sub"]
                string = argument[0] if isinstance(argument, list) and argument else argument
                for name in _UNESCAPED_STAGE_VARIABLE.findall(string if isinstance(string, str) else ""):
                    self.add(None, "sub-stage-variable",
                             f"`${{{name}}}` in an Fn::Sub string: CloudFormation reads `${{...}}` as a reference "
                             f"and rejects the template ('Template error: instance of Fn::Sub references invalid "
                             f"resource attribute {name}')",
                             f"write `${{!{name}}}`: CloudFormation then leaves the literal `${{{name}}}` for API "
                             "Gateway", name, template.line((*path, "Fn::Sub")), template.key((*path, "Fn::Sub")))
        self.deployment_checks(template)

    def deployment_checks(self, template: Template) -> None:
        resources = template.resources
        for logical, resource in resources.items():
            if resource.get("Type") != DEPLOYMENT:
                continue
            api = _ref_target(template.properties(logical).get("RestApiId"))
            if api is None or resources.get(api, {}).get("Type") not in API_TYPES:
                continue
            if "Body" in template.properties(api) or "DefinitionBody" in template.properties(api):
                continue
            methods = [name for name, item in resources.items() if item.get("Type") == METHOD
                       and _ref_target(template.properties(name).get("RestApiId")) == api]
            missing = [name for name in methods if name not in _dependencies(template, logical)]
            if not missing:
                continue
            where = ("Resources", logical, "DependsOn") if "DependsOn" in resource else ("Resources", logical)
            self.add(None, "deployment-depends-on",
                     f"Deployment {logical} does not depend on {', '.join(missing)}: CloudFormation may create it "
                     "first, and API Gateway answers 400 'The REST API doesn't contain any methods' (or the "
                     "deployment snapshots the API without them)",
                     f"add `DependsOn: [{', '.join(missing)}]` to {logical}", logical,
                     template.line(where), template.key(where))

    # -- stage variables ------------------------------------------------------------------------------------
    def variable_checks(self) -> None:
        for api_name, api in _mapping(self.data.get("restApis")).items():
            for stage_name, stage in _mapping(_mapping(api).get("stages")).items():
                stage = _mapping(stage)
                base = ("restApis", api_name, "stages", stage_name)
                canary = _mapping(stage.get("canarySettings"))
                for label, variables, path in (
                        ("Variables", _mapping(stage.get("variables")), (*base, "variables")),
                        ("StageVariableOverrides", _mapping(canary.get("stageVariableOverrides")),
                         (*base, "canarySettings", "stageVariableOverrides"))):
                    if len(variables) > MAX_VARIABLES:
                        self.add(path, "stage-variable-invalid",
                                 f"stage {stage_name}: {len(variables)} stage variables; AWS allows "
                                 f"{MAX_VARIABLES}", "remove stage variables", stage_name)
                    for name, value in variables.items():
                        message = name_error(str(name)) or value_error(str(value))
                        if message:
                            self.add((*path, name), "stage-variable-invalid",
                                     f"stage {stage_name} {label}: AWS answers 400 BadRequestException '{message}'",
                                     "names: letters, digits and _ (at most 64); values: 1-512 of "
                                     "A-Za-z0-9-._~:/?#&=, (no `$`, not empty)", f"{stage_name}.{name}")

    # -- mapping templates and authorizers (issue 16) ---------------------------------------------------------
    def mapping_template_checks(self) -> None:
        """Every request and response template must parse: one that does not answers 500 on every request."""
        for api_name, api in _mapping(self.data.get("restApis")).items():
            api = _mapping(api)
            blocks: list[tuple[tuple[str, ...], Any]] = [(("restApis", api_name, "resources"), api.get("resources"))]
            blocks += [(("restApis", api_name, "deployments", deployment_id, "resources"),
                        _mapping(deployment).get("resources"))
                       for deployment_id, deployment in _mapping(api.get("deployments")).items()]
            for base, resources in blocks:
                for route, verbs in _mapping(resources).items():
                    for verb, method in _mapping(verbs).items():
                        integration = _mapping(_mapping(method).get("integration"))
                        where = (*base, route, verb, "integration")
                        templates: list[tuple[tuple[str, ...], str, str, Any]] = [
                            (("requestTemplates", key), "request", key, text) for key, text
                                     in _mapping(integration.get("requestTemplates")).items()]
                        for status, response in _mapping(integration.get("integrationResponses")).items():
                            templates += [(("integrationResponses", status, "responseTemplates", key),
                                           f"{status} response", key, text) for key, text
                                          in _mapping(_mapping(response).get("responseTemplates")).items()]
                        for suffix, kind, content_type, text in templates:
                            problem = template_problem(str(text))
                            if problem:
                                self.add((*where, *suffix), "template-syntax",
                                         f"{verb} {route}: the {kind} template for {content_type} does not parse "
                                         f"({problem}): API Gateway answers 500 Internal server error on every "
                                         "request it applies to", "fix the Velocity syntax at that line",
                                         f"{api_name}/{verb} {route}")

    def _variable_sets(self, api: dict[str, Any]) -> list[dict[str, str]]:
        """Each stage's variables and each canary's (overrides applied); one empty set without stages."""
        sets = []
        for stage in _mapping(api.get("stages")).values():
            stage = _mapping(stage)
            variables = {str(k): str(v) for k, v in _mapping(stage.get("variables")).items()}
            sets.append(variables)
            canary = stage.get("canarySettings")
            if canary is not None:
                overrides = _mapping(_mapping(canary).get("stageVariableOverrides"))
                sets.append({**variables, **{str(k): str(v) for k, v in overrides.items()}})
        return sets or [{}]

    def selection_pattern_checks(self, thrown: dict[str, list[str]]) -> None:
        """A non-proxy Lambda integration's selectionPattern must match at least one errorMessage each function it
        reaches (any stage or canary) throws on its testEvents: one that matches none maps no error, so those
        errors fall to the default response (often a 200 carrying the error)."""
        from emulator.apigateway.integration_response import pattern_matches

        for api_name, api in _mapping(self.data.get("restApis")).items():
            api = _mapping(api)
            variable_sets = self._variable_sets(api)
            for route, verbs in _mapping(api.get("resources")).items():
                for verb, method in _mapping(verbs).items():
                    integration = _mapping(_mapping(method).get("integration"))
                    if integration.get("type") != "AWS":
                        continue
                    reached: list[str] = []
                    for variables in variable_sets:
                        try:
                            match = _LAMBDA_URI.match(substitute(str(integration.get("uri", "")), variables))
                        except UndefinedStageVariable:
                            continue
                        name = _function_of(match.group("function"))[0] if match else None
                        if name in thrown and name not in reached:
                            reached.append(name)
                    where = ("restApis", api_name, "resources", route, verb, "integration", "integrationResponses")
                    for status, response in _mapping(integration.get("integrationResponses")).items():
                        pattern = _mapping(response).get("selectionPattern")
                        if not pattern:
                            continue
                        for name in reached:
                            errors = thrown[name]
                            if any(pattern_matches(str(pattern), error) for error in errors):
                                continue
                            seen = ", ".join(repr(error) for error in dict.fromkeys(errors)) or "none"
                            self.add((*where, status, "selectionPattern"), "selection-pattern-unmatched",
                                     f"{verb} {route}: integration response {status}'s selectionPattern "
                                     f"{pattern!r} matches none of the errors {name} throws on its testEvents "
                                     f"({seen}): API Gateway matches the whole errorMessage, so those errors get "
                                     "the default response instead", "make the pattern match a whole errorMessage "
                                     f"(e.g. end it with `.*`), or add to {name}'s testEvents one that throws the "
                                     "error it is meant for", f"{api_name}/{verb} {route}/{status}/{name}")

    def authorizer_permission_checks(self) -> None:
        """Each function an authorizer may name needs a permission whose SourceArn covers `API/authorizers/*`."""
        from emulator.lambda_service.service import arn_like

        region, account = str(self.data.get("region", "us-east-1")), str(self.data.get("accountId", "123456789012"))
        for api_name, api in _mapping(self.data.get("restApis")).items():
            api = _mapping(api)
            api_id = str(api.get("id") or api_id_for(api_name))
            variable_sets = self._variable_sets(api)
            for name, authorizer in _mapping(api.get("authorizers")).items():
                uri = str(_mapping(authorizer).get("authorizerUri", ""))
                arn = f"arn:aws:execute-api:{region}:{account}:{api_id}/authorizers/{name}"
                reported: set[str] = set()
                for variables in variable_sets:
                    try:
                        match = _LAMBDA_URI.match(substitute(uri, variables))
                    except UndefinedStageVariable:
                        continue
                    function = _function_of(match.group("function"))[0] if match else None
                    if function is None or function in reported:
                        continue
                    covered = any(_function_of(grant.function.split("/")[-1])[0] == function
                                  and (grant.source_arn is None or arn_like(grant.source_arn, arn))
                                  for grant in self.t.grants or [])
                    if not covered:
                        self.add(("restApis", api_name, "authorizers", name, "authorizerUri"),
                                 "authorizer-permission-missing",
                                 f"authorizer {name} invokes {function}, but no AWS::Lambda::Permission lets API "
                                 f"Gateway invoke it from {api_name}/authorizers/*: API Gateway answers 500 "
                                 "{\"message\": null} (AuthorizerConfigurationException) on every request",
                                 f"add an AWS::Lambda::Permission for {function} with Principal "
                                 "apigateway.amazonaws.com and SourceArn !Sub arn:aws:execute-api:${AWS::Region}:"
                                 f"${{AWS::AccountId}}:${{{self._api_logical(api_id)}}}/authorizers/*",
                                 f"{api_name}/{name}/{function}")
                        reported.add(function)

    # -- routing: each stage and canary, each Lambda integration ---------------------------------------------
    def routing_checks(self) -> None:
        for api_name, api in _mapping(self.data.get("restApis")).items():
            api = _mapping(api)
            api_id = str(api.get("id") or api_id_for(api_name))
            methods = self._lambda_methods(api_name, api)
            reached: dict[str, tuple[KeyPath, str]] = {}
            for stage_name, stage in _mapping(api.get("stages")).items():
                stage = _mapping(stage)
                base = ("restApis", api_name, "stages", stage_name)
                variables = {str(k): str(v) for k, v in _mapping(stage.get("variables")).items()}
                variants: list[tuple[str, dict[str, str], dict[str, str]]] = [("production", variables, {})]
                if stage.get("canarySettings") is not None:
                    canary = _mapping(stage.get("canarySettings"))
                    overrides = {str(k): str(v) for k, v in _mapping(canary.get("stageVariableOverrides")).items()}
                    variants.append(("canary", {**variables, **overrides}, overrides))
                    self._identical_canary(stage_name, stage, canary, overrides, variables, base)
                for label, merged, overrides in variants:
                    for method in methods:
                        self._route(api_name, stage_name, base, label, merged, overrides, method, reached)
            if self.t.grants is not None:
                self._permissions(api_name, api_id, reached)
            self._unreached(api_name, methods, reached)

    def _lambda_methods(self, api_name: str, api: dict[str, Any]) -> list[_Method]:
        methods = []
        for route, verbs in _mapping(api.get("resources")).items():
            for verb, method in _mapping(verbs).items():
                integration = _mapping(_mapping(method).get("integration"))
                uri = integration.get("uri")
                path = ("restApis", api_name, "resources", route, verb, "integration", "uri")
                if not isinstance(uri, str) or ":lambda:path/" not in uri:
                    continue
                methods.append(_Method(api_name, route, verb, uri, path))
                part = _lambda_function_part(uri)
                if part is None:
                    self.add(path, "lambda-uri-shape",
                             f"{verb} {route}: `{uri}` is not a Lambda invocation URI; API Gateway answers 400 "
                             "'Invalid ARN specified in the request'",
                             "use arn:aws:apigateway:REGION:lambda:path/2015-03-31/functions/FUNCTION_ARN/invocations",
                             f"{verb} {route}")
                elif not FUNCTION_ARN.match(part):
                    nested = " (the stage variable came through a nested Fn::Sub's variable map, which CloudFormation" \
                             " copies as is)" if self._nested_sub(path) else ""
                    self.add(path, "lambda-uri-not-arn",
                             f"{verb} {route}: the integration URI has `{part}` after `functions/`{nested}; API "
                             "Gateway needs a function ARN there (arn:aws:lambda:REGION:ACCOUNT:function:NAME, the "
                             "stage variable holding only the name), and rejects or cannot invoke anything else",
                             _uri_fix(part), f"{verb} {route}")
        return methods

    def _nested_sub(self, out_path: KeyPath) -> bool:
        template = self.t.template
        source = self.t.keys.get(out_path)
        if template is None or source is None:
            return False
        text = json.dumps(_at(template.data, _template_path(source)))
        return text.count('"Fn::Sub"') > 1 and "${stageVariables." in text

    def _identical_canary(self, stage_name: str, stage: dict[str, Any], canary: dict[str, Any],
                          overrides: dict[str, str], variables: dict[str, str], base: KeyPath) -> None:
        same_deployment = canary.get("deploymentId") in (None, stage.get("deploymentId"))
        if float(canary.get("percentTraffic") or 0) > 0 and same_deployment and \
                all(variables.get(key) == value for key, value in overrides.items()):
            self.add((*base, "canarySettings"), "canary-identical",
                     f"stage {stage_name}: the canary serves the stage's own deployment with the stage's own "
                     "variables, so canary requests reach the same functions as production and the split tests "
                     "nothing (this is also what `update-stage replace /canarySettings/percentTraffic` makes on a "
                     "stage without a canary)",
                     "give the canary StageVariableOverrides (e.g. lambdaAlias: canary) or its own DeploymentId",
                     stage_name)

    def _route(self, api_name: str, stage_name: str, base: KeyPath, label: str, merged: dict[str, str],
               overrides: dict[str, str], method: _Method, reached: dict[str, tuple[KeyPath, str]]) -> None:
        who = f"stage {stage_name}, {label} requests, {method.verb} {method.route}"
        try:
            resolved = substitute(method.uri, merged)
        except UndefinedStageVariable as error:
            self.add((*base, "variables") if (*base, "variables") in self.t.lines else base, "stage-variable-undefined",
                     f"{who}: the integration URI uses `${{stageVariables.{error.name}}}`, which stage "
                     f"{stage_name} does not define for these requests: API Gateway answers 500 Internal server "
                     "error", f"add `{error.name}: <value>` to stage {stage_name}'s Variables",
                     f"{api_name}/{stage_name}/{label}/{error.name}")
            return
        part = _lambda_function_part(resolved)
        if part is None:
            return
        name, qualifier = _function_of(part)
        names = referenced_names(method.uri)
        setter = next((var for var in names if var in overrides), None) if label == "canary" else None
        if setter is not None:
            where: KeyPath = (*base, "canarySettings", "stageVariableOverrides", setter)
        elif names:
            where = (*base, "variables", names[0])
        else:
            where = method.path
        by = f" ({', '.join(f'{var}={merged[var]}' for var in names)})" if names else ""
        function = self.functions.get(name)
        if function is None:
            known = ", ".join(sorted(self.functions)) or "none"
            self.add(where, "function-missing",
                     f"{who} invoke function {name}{by}, which this stack does not define: API Gateway answers 500 "
                     "Internal server error (unless the function exists outside the stack)",
                     f"name a function that exists (this stack's: {known})", f"{api_name}/{stage_name}/{name}")
            return
        if qualifier and qualifier not in _mapping(_mapping(function).get("aliases")) and \
                qualifier not in _mapping(_mapping(function).get("versions")) and qualifier != "$LATEST":
            self.add(where, "qualifier-missing",
                     f"{who} invoke {name}:{qualifier}{by}, but {name} has no version or alias {qualifier}: API "
                     "Gateway answers 500 Internal server error", f"publish {qualifier} or name an existing one",
                     f"{name}:{qualifier}")
            return
        reached.setdefault(name, (where, f"stage {stage_name} ({label}), {method.verb} {method.route}"))

    def _permissions(self, api_name: str, api_id: str, reached: dict[str, tuple[KeyPath, str]]) -> None:
        grants = self.t.grants or []
        for name, (where, how) in reached.items():
            covered = any(_function_of(grant.function.split("/")[-1])[0] == name and grant.api_id in (None, api_id)
                          for grant in grants)
            if covered:
                continue
            self.add(where, "permission-missing",
                     f"no AWS::Lambda::Permission lets API Gateway (API {api_name}) invoke {name}, which {how} "
                     "reaches: API Gateway answers 500 Internal server error (execution log 'Invalid permissions on "
                     "Lambda function'); a function named through a stage variable needs a permission for every "
                     "function the variable may name",
                     f"add a resource with Type: AWS::Lambda::Permission and Properties FunctionName: {name}, "
                     f"Action: lambda:InvokeFunction, Principal: apigateway.amazonaws.com, SourceArn: !Sub "
                     f"arn:aws:execute-api:${{AWS::Region}}:${{AWS::AccountId}}:${{{self._api_logical(api_id)}}}/*",
                     f"{api_name}/{name}")

    def _api_logical(self, api_id: str) -> str:
        if self.t.template is None:
            return "RestApi"
        try:
            return Evaluator(self.t.template).api_logical(api_id)
        except Unresolved:
            return "RestApi"

    def _unreached(self, api_name: str, methods: list[_Method], reached: dict[str, tuple[KeyPath, str]]) -> None:
        region = str(self.data.get("region", "us-east-1"))
        account = str(self.data.get("accountId", "123456789012"))
        for method in methods:
            part = _lambda_function_part(method.uri)
            if part is None or not referenced_names(part):
                continue
            pattern = _pattern(part)
            for name in self.functions:
                if name in reached:
                    continue
                arn = f"arn:aws:lambda:{region}:{account}:function:{name}"
                match = pattern.fullmatch(arn) or pattern.fullmatch(name)
                if match is None:
                    continue
                values = ", ".join(f"{var}={value}" for var, value in match.groupdict().items())
                self.add(("functions", name), "function-unreached",
                         f"function {name} fits {method.verb} {method.route}'s integration URI ({values}) but no "
                         f"stage or canary of API {api_name} sets {values}: it receives no traffic",
                         f"set {values} in the Variables of the stage that should call {name} (production "
                         "traffic), or in a canary's StageVariableOverrides", name)

    # -- runtimes ---------------------------------------------------------------------------------------------
    def runtime_checks(self) -> None:
        specs = catalogue()
        for name, function in self.functions.items():
            function = _mapping(function)
            runtimes: list[tuple[Any, KeyPath, str]] = [(function.get("runtime"), ("functions", name, "runtime"), name)]
            runtimes += [(_mapping(version).get("runtime"), ("functions", name, "versions", number, "runtime"),
                          f"{name}:{number}") for number, version in _mapping(function.get("versions")).items()]
            for runtime, path, subject in runtimes:
                spec = specs.get(str(runtime))
                if spec is None or not (spec.blocks_create(self.today) or spec.blocks_update(self.today)):
                    continue
                state = (f"AWS refuses to create functions on it since {spec.block_create}"
                         + (f" and to update them since {spec.block_update}" if spec.blocks_update(self.today)
                            else f"; updates are refused from {spec.block_update}"))
                newer = [other.name for other in specs.values() if other.major > spec.major
                         and not other.blocks_create(self.today)]
                self.add(path, "runtime-blocked",
                         f"{subject} runs {runtime}: {state} (deprecated {spec.deprecation}); a deploy that creates "
                         "or changes it fails",
                         f"move it to {newer[0] if newer else 'a supported runtime'}, or, if it already exists on "
                         "AWS and stays unchanged during the migration, acknowledge this finding with the reason "
                         f"(`acknowledge: [{{finding: runtime-blocked:{subject}, reason: why it stays}}]`)", subject)

    def code_checks(self) -> None:
        """Each function's (and version's) code folder and handler file exist, as `serve` and `deploy` require."""
        base = self.t.source.resolve().parent
        for name, function in self.functions.items():
            function = _mapping(function)
            entries: list[tuple[tuple[str, ...], Any, Any, str]] = [
                (("functions", name), function.get("code", "."), function.get("handler"), name)]
            entries += [(("functions", name, "versions", number), _mapping(version).get("code"),
                         _mapping(version).get("handler") or function.get("handler"), f"{name}:{number}")
                        for number, version in _mapping(function.get("versions")).items()
                        if _mapping(version).get("code") is not None]
            for path, code, handler, subject in entries:
                if not isinstance(code, str):
                    continue
                folder = (base / code).resolve()
                code_path = (*path, "code") if (*path, "code") in self.t.lines else path
                if not folder.is_dir():
                    self.add(code_path, "code-missing",
                             f"{subject}: code folder {folder} does not exist; serve and deploy refuse it",
                             "point `code:` at the folder that holds the handler (relative to this file)", subject)
                elif isinstance(handler, str) and "." in handler and find_handler_file(folder, handler) is None:
                    module = handler_module(handler)[0]
                    where = (*path, "handler") if (*path, "handler") in self.t.lines else path
                    self.add(where, "handler-missing",
                             f"{subject}: handler {handler!r}: no file {module}.js, {module}.mjs or {module}.cjs "
                             f"in {folder}; serve and deploy refuse it", "correct the handler or the code folder",
                             subject)

    def schema_check(self) -> None:
        try:
            validate(self.t)
        except UserError as error:
            if "stage variable" in error.message:
                return  # already reported with AWS's message
            match = re.match(r"^.*?:(\d+): (.*)$", error.message)
            line, message = (int(match.group(1)), match.group(2)) if match else (None, error.message)
            self.add(None, "invalid", f"lambda-canary cannot load this: {message}",
                     "correct the value named above", line=line, key=message.split(":", 1)[0])


def _pattern(template: str) -> re.Pattern[str]:
    pieces, seen, position = [], set(), 0
    for match in REFERENCE.finditer(template):
        pieces.append(re.escape(template[position:match.start()]))
        name = re.sub(r"\W", "_", match.group(1))
        pieces.append(f"(?P={name})" if name in seen else f"(?P<{name}>[A-Za-z0-9_.~-]+?)")
        seen.add(name)
        position = match.end()
    pieces.append(re.escape(template[position:]))
    return re.compile("".join(pieces))


def _uri_fix(part: str) -> str:
    fixed = (f"arn:aws:apigateway:${{AWS::Region}}:lambda:path/2015-03-31/functions/arn:aws:lambda:${{AWS::Region}}:"
             f"${{AWS::AccountId}}:function:{part}/invocations").replace("${stageVariables.", "${!stageVariables.")
    return f"one Fn::Sub with the function ARN: `Uri: !Sub {fixed}`"


def _walk(value: Any, path: KeyPath) -> Iterator[tuple[KeyPath, Any]]:
    yield path, value
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _walk(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _walk(item, (*path, index))


def _at(data: Any, path: KeyPath) -> Any:
    for part in path:
        if isinstance(data, dict) and part in data:
            data = data[part]
            continue
        if not (isinstance(data, list) and isinstance(part, int) and part < len(data)):
            return None
        data = data[part]
    return data


def _template_path(source: KeyPath) -> KeyPath:
    return source[1:] if source[:1] == ("resources",) else source


def _ref_target(value: Any) -> str | None:
    return str(value["Ref"]) if isinstance(value, dict) and "Ref" in value else None


def _references(value: Any, template: Template) -> set[str]:
    """Logical ids a value refers to (Ref, GetAtt, `${X}` / `${X.Attr}` in Fn::Sub)."""
    found: set[str] = set()
    for _, item in _walk(value, ()):
        if not isinstance(item, dict) or len(item) != 1:
            continue
        ((key, argument),) = item.items()
        if key == "Ref":
            found.add(str(argument))
        elif key == "Fn::GetAtt":
            found.add(str(argument[0] if isinstance(argument, list) else str(argument).split(".")[0]))
        elif key == "Fn::Sub":
            string = argument[0] if isinstance(argument, list) else argument
            for name in re.findall(r"\$\{([^!}][^}]*)\}", string if isinstance(string, str) else ""):
                found.add(name.split(".")[0])
    return {name for name in found if name in template.resources and name not in INTRINSICS}


def _dependencies(template: Template, logical: str) -> set[str]:
    """Every resource `logical` waits for: DependsOn and references, transitively."""
    seen: set[str] = set()
    todo = [logical]
    while todo:
        current = todo.pop()
        direct = set(template.depends_on(current)) | _references(template.resources.get(current, {}).get(
            "Properties"), template)
        for name in direct - seen:
            seen.add(name)
            todo.append(name)
    return seen


# ---- shell scripts of aws apigateway update-stage calls ------------------------------------------------------
def _commands(text: str) -> Iterator[tuple[int, str]]:
    """(first line, command) with backslash continuations joined and comments dropped."""
    start, parts = 0, list[str]()
    for number, line in enumerate(text.splitlines(), 1):
        stripped = line.strip()
        if not parts:
            start = number
            if stripped.startswith("#"):
                continue
        if stripped.endswith("\\"):
            parts.append(stripped[:-1])
            continue
        parts.append(stripped)
        yield start, " ".join(parts)
        parts = []
    if parts:
        yield start, " ".join(parts)


def _patch_operations(values: list[str]) -> list[dict[str, str]]:
    operations = []
    for value in values:
        if value.lstrip().startswith("["):
            try:
                operations.extend(json.loads(value))
            except ValueError:
                continue
            continue
        operations.append(dict(item.split("=", 1) for item in value.split(",") if "=" in item))
    return operations


def _line_of_option(lines: list[str], start: int, option: str) -> int:
    """The line (from `start`, 1-based) that holds `option` in a command continued over several lines."""
    pattern = re.compile(rf"(?<![\w-]){re.escape(option)}(?![\w-])")
    for number in range(start, len(lines) + 1):
        if pattern.search(lines[number - 1]):
            return number
        if not lines[number - 1].rstrip().endswith("\\"):
            break
    return start


def check_script(path: Path) -> list[Finding]:
    """Findings for `aws apigateway update-stage` calls in a shell script."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise UserError(f"{path}: cannot read: {error.strerror}") from None
    findings = []
    lines = text.splitlines()
    for line, command in _commands(text):
        if "apigateway" not in command or "update-stage" not in command:
            continue
        try:
            words = shlex.split(command, comments=True)
        except ValueError:
            words = command.split()
        options: dict[str, list[str]] = {}
        current = None
        for index, word in enumerate(words):
            if word.startswith("--"):
                name, _, inline = word.partition("=")
                if name == PATCH_OPS:
                    findings.append(_patch_ops_finding(path, _line_of_option(lines, line, PATCH_OPS), words, index))
                current = {PATCH_OPS: "--patch-operations"}.get(name, name)
                options.setdefault(current, [])
                if inline:
                    options[current].append(inline)
            elif current is not None:
                options[current].append(word)
        missing = [name for name in ("--rest-api-id", "--stage-name") if not options.get(name)]
        if missing:
            findings.append(Finding(path, line, "update-stage", f"`aws apigateway update-stage` without "
                                    f"{' and '.join(missing)}: the AWS CLI stops with 'the following arguments are "
                                    f"required: {', '.join(missing)}'",
                                    "add --rest-api-id $API_ID --stage-name prod", "cli-missing-argument",
                                    str(line)))
        for operation in _patch_operations(options.get("--patch-operations", [])):
            op, target = operation.get("op"), operation.get("path")
            if op == "replace" and target == "/canarySettings/percentTraffic":
                findings.append(Finding(
                    path, line, "update-stage", "`replace /canarySettings/percentTraffic` only sets a percentage: on "
                    "a stage without a canary AWS creates one with the stage's own deploymentId and no "
                    "stageVariableOverrides, so canary requests reach the same function as production (0% on the new "
                    "runtime, silently); on a stage whose canary the template manages, the change is drift that the "
                    "next deploy changing the Stage puts back",
                    "set the Stage's CanarySetting (PercentTraffic and StageVariableOverrides) in the template and "
                    "deploy; or check first that the stage has its canary with overrides (aws apigateway get-stage ... "
                    "--query canarySettings)", "update-stage-percent", str(line)))
            if op == "remove" and target == "/canarySettings":
                findings.append(Finding(
                    path, line, "update-stage", "`remove /canarySettings` deletes the canary: from then on every "
                    "request uses the stage's own variables (the stable function) until a new deployment changes the "
                    "integration, so as a 'full promotion' it first rolls all traffic back to the old runtime",
                    "promote first: --patch-operations op=copy,from=/canarySettings/stageVariableOverrides,"
                    "path=/variables op=copy,from=/canarySettings/deploymentId,path=/deploymentId "
                    "op=replace,path=/canarySettings/percentTraffic,value=0.0; then remove /canarySettings",
                    "promotion-removes-canary", str(line)))
    return findings


PATCH_OPS = "--patch-ops"


def _patch_ops_finding(path: Path, line: int, words: list[str], start: int) -> Finding:
    """`--patch-ops` (the seed's spelling, words[start]): AWS CLI v1 knows only --patch-operations."""
    inline = words[start].partition("=")[2]
    values = [inline] if inline else []
    for word in words[start + 1:]:
        if word.startswith("--"):
            break
        values.append(word)
    shown = ", ".join([PATCH_OPS, *values])
    fixed = " ".join(["--patch-operations", *values])
    return Finding(path, line, "update-stage",
                   f"`{PATCH_OPS}` is not an option of `aws apigateway update-stage`: AWS CLI v1 stops with "
                   f"'Unknown options: {shown}' and the stage is not changed",
                   f"spell the option out: `{fixed}`", "cli-unknown-option", PATCH_OPS)
