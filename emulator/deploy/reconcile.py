"""One pass over the config that compares each resource with the account and, when live, changes it.

The same code plans (live=False: reads only) and deploys (live=True), so a plan is exactly what a deploy does.
Every step reads before it writes, so a deploy that stopped midway converges when run again.
"""

from __future__ import annotations

import datetime as dt
import json
import time
from collections.abc import Callable, Iterable
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

from botocore.exceptions import ClientError

from emulator.config import DEFAULT_MODELS, LoadedConfig
from emulator.deploy import state
from emulator.deploy.changes import PHASES, Action, Change, Plan
from emulator.deploy.desired import (
    APIGATEWAY_PRINCIPAL,
    SID_PREFIX,
    AuthorizerSpec,
    DeploymentSpec,
    FunctionSpec,
    Grant,
    MethodSpec,
    UriRewriter,
    actual_authorizer,
    actual_configuration,
    actual_model,
    authorizer_specs,
    deployment_specs,
    function_spec,
    grants,
    is_managed,
    method_request_fields,
    methods_of,
    model_fields,
    parent_paths,
    paths_of,
    stage_deployment_names,
    tags,
    validator_fields,
)
from emulator.deploy.lifecycle import guard
from emulator.deploy.package import Package, package_dir
from emulator.deploy.session import Target
from emulator.errors import UserError
from emulator.model_urls import MODEL_URL, rehomed

T = TypeVar("T")
ROLE_NAME = "lambda-canary-execution"
ROLE_POLICY = "lambda-canary-logs"
LOGS_POLICY = {"Version": "2012-10-17", "Statement": [{
    "Effect": "Allow", "Action": ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"],
    "Resource": "*"}]}
LAMBDA_TRUST = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
                                                        "Principal": {"Service": "lambda.amazonaws.com"}}]}
NEW = "<new>"


def _fields(desired: dict[str, Any], actual: dict[str, Any]) -> list[str]:
    return [key for key in desired if desired[key] != actual.get(key)]


def _describe_fields(desired: dict[str, Any], actual: dict[str, Any]) -> str:
    parts = []
    for key in _fields(desired, actual):
        if key in ("Runtime", "Handler", "MemorySize", "Timeout"):
            parts.append(f"{key} {actual.get(key)} -> {desired[key]}")
        else:
            parts.append(key)
    return ", ".join(parts)


def method_comparable(method: dict[str, Any], authorizer_names: dict[str, str] | None = None,
                      validator_names: dict[str, str] | None = None) -> dict[str, Any]:
    """A method from GetResources(embed=methods), reduced to MethodSpec.comparable()'s shape (its authorizerId
    named by `authorizer_names` and its requestValidatorId by `validator_names`, id -> name)."""
    found = method.get("methodIntegration") or {}
    integration: dict[str, Any] = {"type": found.get("type"), "timeoutInMillis": found.get("timeoutInMillis", 29000),
                                   "requestTemplates": dict(found.get("requestTemplates") or {})}
    if found.get("type") in ("AWS", "HTTP", "MOCK"):
        integration["passthroughBehavior"] = found.get("passthroughBehavior", "WHEN_NO_MATCH")
    if found.get("requestParameters"):
        integration["requestParameters"] = dict(found["requestParameters"])
    if found.get("type") != "MOCK":
        integration["uri"] = found.get("uri")
        integration["integrationHttpMethod"] = found.get("httpMethod")
    responses = {status: {"responseTemplates": dict(response.get("responseTemplates") or {}),
                          "responseParameters": dict(response.get("responseParameters") or {}),
                          **({"selectionPattern": response["selectionPattern"]}
                             if response.get("selectionPattern") else {})}
                 for status, response in (found.get("integrationResponses") or {}).items()}
    found_method = {"authorizationType": method.get("authorizationType", "NONE"),
                    "operationName": method.get("operationName"), "integration": integration,
                    "integrationResponses": responses}
    if method.get("authorizerId"):
        found_method["authorizer"] = (authorizer_names or {}).get(method["authorizerId"], method["authorizerId"])
    validator = method.get("requestValidatorId")
    found_method.update(method_request_fields(
        dict(method.get("requestParameters") or {}), found.get("requestParameters"),
        (validator_names or {}).get(validator, validator) if validator else None,
        dict(method.get("requestModels") or {})))
    return found_method


def authorizer_patch_operations(actual: dict[str, Any], desired: dict[str, Any]) -> list[dict[str, str]]:
    """UpdateAuthorizer patch operations that turn `actual` into `desired` (both as AuthorizerSpec.fields())."""
    ops = []
    for key in ("type", "authorizerUri", "identitySource", "identityValidationExpression",
                "authorizerResultTtlInSeconds"):
        if actual.get(key) != desired.get(key):
            ops.append({"op": "replace", "path": f"/{key}", "value": str(desired.get(key, ""))})
    return ops


def stage_patch_operations(actual: dict[str, Any], desired: dict[str, Any]) -> list[dict[str, str]]:
    """UpdateStage patch operations that turn `actual` (GetStage) into `desired` (CreateStage's fields)."""
    ops: list[dict[str, str]] = []
    if actual.get("deploymentId") != desired["deploymentId"]:
        ops.append({"op": "replace", "path": "/deploymentId", "value": desired["deploymentId"]})
    have, want = actual.get("variables") or {}, desired["variables"]
    ops += [{"op": "replace", "path": f"/variables/{name}", "value": value}
            for name, value in sorted(want.items()) if have.get(name) != value]
    ops += [{"op": "remove", "path": f"/variables/{name}"} for name in sorted(have) if name not in want]
    if (actual.get("description") or "") != desired["description"]:
        ops.append({"op": "replace", "path": "/description", "value": desired["description"]})
    canary, wanted = actual.get("canarySettings"), desired.get("canarySettings")
    if wanted is None:
        if canary is not None:
            ops.append({"op": "remove", "path": "/canarySettings"})
        return ops
    canary = canary or {}
    if canary.get("deploymentId") != wanted["deploymentId"] or not canary:
        ops.append({"op": "replace", "path": "/canarySettings/deploymentId", "value": wanted["deploymentId"]})
    if not canary or float(canary.get("percentTraffic", 0.0)) != float(wanted["percentTraffic"]):
        ops.append({"op": "replace", "path": "/canarySettings/percentTraffic",
                    "value": str(float(wanted["percentTraffic"]))})
    if bool(canary.get("useStageCache", False)) != wanted["useStageCache"]:
        ops.append({"op": "replace", "path": "/canarySettings/useStageCache",
                    "value": str(wanted["useStageCache"]).lower()})
    have, want = canary.get("stageVariableOverrides") or {}, wanted["stageVariableOverrides"]
    prefix = "/canarySettings/stageVariableOverrides/"
    ops += [{"op": "replace", "path": prefix + name, "value": value}
            for name, value in sorted(want.items()) if have.get(name) != value]
    ops += [{"op": "remove", "path": prefix + name} for name in sorted(have) if name not in want]
    return ops


class Reconciler:
    """Compares the config with the account, phase by phase, and changes what differs when live."""

    def __init__(self, loaded: LoadedConfig, stage: str, target: Target, *, live: bool,
                 today: dt.date | None = None, phases: Iterable[str] = PHASES, role: str | None = None) -> None:
        self.loaded = loaded
        self.config = loaded.config
        self.stage = stage
        self.target = target
        self.live = live
        self.today = today or dt.date.today()
        self.phases = set(phases)
        unknown = self.phases - set(PHASES)
        if unknown:
            raise UserError(f"unknown deploy phase(s) {', '.join(sorted(unknown))}; phases: {', '.join(PHASES)}")
        self.role = role
        self.rewrite = UriRewriter(loaded, target.region, target.account_id)
        self.apis = [name for name, api in self.config.rest_apis.items() if stage in api.stages]
        if not self.apis:
            known = sorted({name for api in self.config.rest_apis.values() for name in api.stages})
            raise UserError(f"{loaded.path.name}: no REST API has a stage {stage!r} "
                            f"(stages: {', '.join(known) or 'none'})")
        self.plan = Plan(target.describe(), stage)
        self.completed: list[Change] = []
        self.api_ids: dict[str, str | None] = {}
        self._packages: dict[Path, Package] = {}
        self._role_arn: str | None = None
        self.refused_functions: set[str] = set()  # a plan plans nothing more on these (no permission either)
        self.authorizer_ids: dict[str, dict[str, str]] = {}  # API name -> authorizer name -> id
        self._found_authorizers: dict[str, dict[str, dict[str, Any]]] = {}  # API name -> GetAuthorizers by name
        self.validator_ids: dict[str, dict[str, str]] = {}  # API name -> request validator name -> id
        self._found_validators: dict[str, dict[str, dict[str, Any]]] = {}  # API name -> GetRequestValidators
        self._found_models: dict[str, dict[str, dict[str, Any]]] = {}  # API name -> GetModels by name

    # ---- bookkeeping -----------------------------------------------------------------------
    def change(self, action: Action, kind: str, name: str, detail: str = "",
               run: Callable[[], T] | None = None) -> T | None:
        """Record a change; when live, make it (only creates/updates/deletes call AWS)."""
        change = Change(action, kind, name, detail)
        self.plan.changes.append(change)
        if not self.live or run is None or action in ("unchanged", "refused"):
            return None
        result = run()
        self.completed.append(change)
        return result

    def refuse(self, kind: str, name: str, message: str) -> None:
        """What AWS (or ownership) forbids: a plan shows it, a deploy stops before any change."""
        if self.live:
            raise UserError(message)
        if kind == "function":
            self.refused_functions.add(name)
        self.change("refused", kind, name, message)

    def warn(self, message: str) -> None:
        """A warning printed with the plan."""
        if message not in self.plan.warnings:
            self.plan.warnings.append(message)

    def package(self, code_dir: Path) -> Package:
        """The deterministic zip of a code folder (once per run)."""
        if code_dir not in self._packages:
            self._packages[code_dir] = package_dir(code_dir)
        return self._packages[code_dir]

    @property
    def lam(self) -> Any:
        """The Lambda client."""
        return self.target.client("lambda")

    @property
    def apigw(self) -> Any:
        """The API Gateway client."""
        return self.target.client("apigateway")

    # ---- the pass ----------------------------------------------------------------------------
    def run(self) -> Plan:
        """Every phase in order: functions, API (resources and deployments), permissions, stage."""
        if "functions" in self.phases:
            for name in sorted(self.config.functions):
                self.function(name)
        apis = list(self.apis)
        for api_name in self.apis if self.phases & {"api", "permissions", "stage"} else []:
            if self.config.rest_apis[api_name].gateway_responses and "api" in self.phases:
                self.warn(f"API {api_name}: lambda-canary deploy does not put gateway responses yet "
                          f"({', '.join(self.config.rest_apis[api_name].gateway_responses)}); AWS answers its own "
                          "errors with its defaults until you deploy them with CloudFormation "
                          "(`lambda-canary export --format cloudformation`)")
        for api_name in apis if self.phases & {"api", "permissions", "stage"} else []:
            self.api_ids[api_name] = self.find_or_create_api(api_name)
            self.authorizers(api_name)  # before the methods that name them
            self.request_validators(api_name)
            if "api" in self.phases:
                self.models(api_name)
                self.resources(api_name, methods_of(self.config.rest_apis[api_name].resources, self.rewrite))
                self.stale_authorizers(api_name)  # after the methods that named them
                self.stale_validation(api_name)
        if "permissions" in self.phases:
            for api_name in apis:
                self.permissions(api_name)
        if "stage" in self.phases:
            for api_name in apis:
                self.deploy_stage(api_name)
        return self.plan

    # ---- functions ---------------------------------------------------------------------------
    def role_arn(self) -> str:
        """The execution role: --role, a stand-in on the emulator, else lambda-canary-execution (made once)."""
        if self._role_arn:
            return self._role_arn
        if self.role:
            self._role_arn = self.role
        elif not self.target.is_aws:
            self._role_arn = f"arn:aws:iam::{self.target.account_id}:role/{ROLE_NAME}"
        else:
            self._role_arn = self._ensure_role()
        return self._role_arn

    def _ensure_role(self) -> str:
        iam = self.target.client("iam")
        arn = f"arn:aws:iam::{self.target.account_id}:role/{ROLE_NAME}"
        try:
            arn = iam.get_role(RoleName=ROLE_NAME)["Role"]["Arn"]
            policy = iam.list_role_policies(RoleName=ROLE_NAME).get("PolicyNames", [])
        except ClientError as error:
            if not state.not_found(error):
                raise
            arn = self.change("create", "role", ROLE_NAME, "Lambda execution role", run=lambda: iam.create_role(
                RoleName=ROLE_NAME, AssumeRolePolicyDocument=json.dumps(LAMBDA_TRUST),
                Description="Execution role for functions deployed by lambda-canary",
                Tags=[{"Key": key, "Value": value} for key, value in tags(self.loaded).items()])["Role"]["Arn"]) or arn
            policy = []
        if ROLE_POLICY not in policy:
            self.change("create", "role policy", f"{ROLE_NAME} {ROLE_POLICY}", "CloudWatch Logs for the functions",
                        run=lambda: iam.put_role_policy(RoleName=ROLE_NAME, PolicyName=ROLE_POLICY,
                                                        PolicyDocument=json.dumps(LOGS_POLICY)))
        return arn

    def function(self, name: str) -> None:
        """The function, its configured versions (published in order) and its aliases."""
        spec = function_spec(self.loaded, name)
        found = state.get_function(self.target, name)
        managed = found is None or is_managed(found.get("Tags"))
        if found is None:
            message = self._guard("create", spec, None)
            if message is not None:
                self.refuse("function", name, message)
                return
            package = self.package(spec.code_dir)
            self.role_arn()
            current = {**spec.configuration(), "CodeSha256": package.code_sha256,
                       "FunctionArn": f"arn:aws:lambda:{self.target.region}:{self.target.account_id}:function:{name}"}
            self.change("create", "function", name, f"{spec.runtime}, {package.files} files",
                        run=lambda: self._create_function(spec, package))
            versions: dict[str, dict[str, Any]] = {}
        else:
            current = dict(found["Configuration"])
            versions = state.list_versions(self.target, name)
        start = len(self.plan.changes)
        configured = self.config.functions[name].versions
        for number in sorted(configured, key=int):
            self.version(name, number, versions, current, managed)
        self.latest(spec, current, managed)
        touched = any(change.kind.startswith("function") and change.action != "unchanged"
                      for change in self.plan.changes[start:])
        if found is not None and not touched:
            self.change("unchanged", "function", name, f"{current.get('Runtime', '')}"
                        + ("" if managed else ", not managed by lambda-canary"))
        self.aliases(name, found is not None, managed)

    def _guard(self, action: str, spec: FunctionSpec, current_runtime: str | None) -> str | None:
        """The runtime guard: None when allowed (a warning is kept), else the refusal message."""
        try:
            warning = guard(action, spec.name, spec.runtime, self.target.is_aws, self.today, current_runtime)
        except UserError as error:
            return error.message
        if warning:
            self.warn(warning)
        return None

    def _create_function(self, spec: FunctionSpec, package: Package) -> None:
        kwargs = dict(FunctionName=spec.name, Role=self.role_arn(), Code={"ZipFile": package.data},
                      PackageType="Zip", Tags=tags(self.loaded), Publish=False, **spec.configuration())
        for attempt in range(10):  # a role made a moment ago may not be assumable yet (IAM is eventually consistent)
            try:
                self.lam.create_function(**kwargs)
                break
            except ClientError as error:
                if "cannot be assumed" not in str(error) or attempt == 9:
                    raise
                time.sleep(3)
        self.lam.get_waiter("function_active_v2").wait(FunctionName=spec.name)

    def latest(self, spec: FunctionSpec, current: dict[str, Any], managed: bool, purpose: str = "") -> bool:
        """Bring $LATEST to `spec`: configuration first (so a runtime migration happens before new code), then code.
        Updates `current` to what $LATEST holds afterwards; False when refused."""
        package = self.package(spec.code_dir)
        actual = actual_configuration(current)
        desired = spec.configuration()
        config_changed = bool(_fields(desired, actual))
        code_changed = current.get("CodeSha256") != package.code_sha256
        if not (config_changed or code_changed):
            return True
        name = spec.name
        if not managed:
            self.refuse("function", name, f"function {name} exists but is not managed by lambda-canary (no tag "
                        "lambda-canary:managed=true); refusing to change it")
            return False
        message = self._guard("update", spec, actual["Runtime"])
        if message is not None:
            self.refuse("function", name, message)
            return False
        if config_changed:
            self.change("update", "function configuration", name + purpose, _describe_fields(desired, actual),
                        run=lambda: self._update_configuration(name, desired))
        if code_changed:
            old = str(current.get("CodeSha256") or "")[:10]
            self.change("update", "function code", name + purpose, f"CodeSha256 {old}… -> {package.code_sha256[:10]}…",
                        run=lambda: self._update_code(name, package))
        current.update(desired, CodeSha256=package.code_sha256)
        return True

    def _update_configuration(self, name: str, desired: dict[str, Any]) -> None:
        self.lam.update_function_configuration(FunctionName=name, **desired)
        self.lam.get_waiter("function_updated_v2").wait(FunctionName=name)

    def _update_code(self, name: str, package: Package) -> None:
        self.lam.update_function_code(FunctionName=name, ZipFile=package.data)
        self.lam.get_waiter("function_updated_v2").wait(FunctionName=name)

    def version(self, name: str, number: str, versions: dict[str, dict[str, Any]], current: dict[str, Any],
                managed: bool) -> None:
        """A configured version: left alone when published as configured, else $LATEST is set and published."""
        spec = function_spec(self.loaded, name, number)
        label = f"{name}:{number}"
        published = versions.get(number)
        if published is not None:
            desired = {**spec.configuration(), "CodeSha256": self.package(spec.code_dir).code_sha256}
            desired.pop("Description")
            differs = _fields(desired, {**actual_configuration(published), "CodeSha256": published.get("CodeSha256")})
            if differs:
                self.warn(f"version {label} is published with other {', '.join(differs)} than configured; published "
                          "versions cannot change: configure a new version number instead")
            self.change("unchanged", "version", label, published.get("Runtime", ""))
            return
        following = max((int(key) for key in versions), default=0) + 1
        if int(number) != following:
            self.refuse("version", label, f"function {name}: version {number} is not published and the next number "
                        f"Lambda would give is {following}; configured versions must be published in order")
            return
        if not self.latest(spec, current, managed, purpose=f" (for version {number})"):
            return
        package = self.package(spec.code_dir)
        self.change("create", "version", label, f"publish {spec.runtime}",
                    run=lambda: self._publish(name, number, package.code_sha256, spec.description))
        versions[number] = {**spec.configuration(), "Version": number, "CodeSha256": package.code_sha256}

    def _publish(self, name: str, number: str, code_sha256: str, description: str) -> None:
        published = self.lam.publish_version(FunctionName=name, CodeSha256=code_sha256, Description=description)
        if published["Version"] != number:
            raise UserError(f"function {name}: Lambda published version {published['Version']} instead of {number} "
                            "(is it identical to the previous version?)")

    def aliases(self, name: str, exists: bool, managed: bool) -> None:
        """Configured aliases with their routing."""
        configured = self.config.functions[name].aliases
        if not configured:
            return
        existing = state.list_aliases(self.target, name) if exists else {}
        for alias_name, alias in sorted(configured.items()):
            weights = dict(alias.routing_config.additional_version_weights) if alias.routing_config else {}
            desired = {"FunctionVersion": alias.function_version, "Description": alias.description,
                       "RoutingConfig": {"AdditionalVersionWeights": weights}}
            label = f"{name}:{alias_name}"
            detail = f"-> {alias.function_version}" + "".join(f", {v} at {w:.0%}" for v, w in weights.items())
            found = existing.get(alias_name)
            if found is None:
                self.change("create", "alias", label, detail,
                            run=partial(self.lam.create_alias, FunctionName=name, Name=alias_name, **desired))
                continue
            actual = {"FunctionVersion": found.get("FunctionVersion"), "Description": found.get("Description") or "",
                      "RoutingConfig": {"AdditionalVersionWeights":
                                        dict((found.get("RoutingConfig") or {}).get("AdditionalVersionWeights") or {})}}
            if actual == desired:
                self.change("unchanged", "alias", label, detail)
            elif not managed:
                self.refuse("alias", label, f"function {name} is not managed by lambda-canary; refusing to change "
                            f"its alias {alias_name}")
            else:
                self.change("update", "alias", label, detail,
                            run=partial(self.lam.update_alias, FunctionName=name, Name=alias_name, **desired))

    # ---- the REST API --------------------------------------------------------------------
    def find_or_create_api(self, api_name: str) -> str | None:
        """The managed REST API of that name (found by name and tag), created when missing."""
        api = self.config.rest_apis[api_name]
        if "api" not in self.phases:
            found = state.find_api(self.target, api_name, managed_only=False)
            if found:
                return str(found["id"])
            fallback = self.loaded.api_id(api_name)
            self.warn(f"REST API {api_name} is not deployed; permissions name the config's API id {fallback}")
            return fallback
        found = state.find_api(self.target, api_name, managed_only=True)
        if found is None:
            created = self.change("create", "rest api", api_name, api.description,
                                  run=lambda: self.apigw.create_rest_api(
                                      name=api_name, description=api.description,
                                      binaryMediaTypes=list(api.binary_media_types), tags=tags(self.loaded),
                                      endpointConfiguration={"types": ["REGIONAL"]}))
            return str(created["id"]) if created else None
        api_id = str(found["id"])
        ops = []
        if (found.get("description") or "") != api.description:
            ops.append({"op": "replace", "path": "/description", "value": api.description})
        have = set(found.get("binaryMediaTypes") or [])
        ops += [{"op": "add", "path": "/binaryMediaTypes/" + media.replace("/", "~1")}
                for media in api.binary_media_types if media not in have]
        ops += [{"op": "remove", "path": "/binaryMediaTypes/" + media.replace("/", "~1")}
                for media in sorted(have - set(api.binary_media_types))]
        if ops:
            self.change("update", "rest api", api_name, f"{api_id}: " + ", ".join(op["path"] for op in ops),
                        run=lambda: self.apigw.update_rest_api(restApiId=api_id, patchOperations=ops))
        else:
            self.change("unchanged", "rest api", api_name, api_id)
        return api_id

    def resources(self, api_name: str, methods: list[MethodSpec], purpose: str = "") -> None:
        """Make the API's resources and methods exactly `methods` (the API is ours, so extra ones go)."""
        api_id = self.api_ids[api_name]
        actual = state.api_resources(self.target, api_id) if api_id else {}
        ids = {path: str(item["id"]) for path, item in actual.items()}
        wanted_paths = paths_of(methods)
        for path in wanted_paths:
            if path in ids:
                continue
            if path == "/":
                continue  # every API has its root
            parent = parent_paths(path)[-2] if path.count("/") > 1 else "/"
            part = path.rsplit("/", 1)[1]
            created = self.change("create", "resource", f"{api_name} {path}{purpose}",
                                  run=partial(self._create_resource, api_id, ids, parent, part))
            ids[path] = str(created["id"]) if created else NEW
        names = {found_id: name for name, found_id in self.authorizer_ids.get(api_name, {}).items()}
        validator_names = {found_id: name for name, found_id in self.validator_ids.get(api_name, {}).items()}
        wanted = {method.key for method in methods}
        for path, item in sorted(actual.items()):
            for http_method in sorted(item.get("resourceMethods") or {}):
                if f"{http_method} {path}" not in wanted and path in wanted_paths:
                    self.change("delete", "method", f"{api_name} {http_method} {path}{purpose}",
                                run=partial(self.apigw.delete_method, restApiId=api_id, resourceId=ids[path],
                                            httpMethod=http_method))
        for method in methods:
            found = ((actual.get(method.path) or {}).get("resourceMethods") or {}).get(method.http_method)
            label = f"{api_name} {method.key}{purpose}"
            detail = f"{method.integration['type']} {method.integration.get('uri') or ''}".strip()
            if method.authorizer:
                detail += f", authorizer {method.authorizer}"
            if found is None:
                self.change("create", "method", label, detail,
                            run=partial(self._put_method, api_name, ids, method))
            elif method_comparable(found, names, validator_names) != method.comparable():
                self.change("update", "method", label, detail,
                            run=partial(self._replace_method, api_name, ids, method))
            else:
                self.change("unchanged", "method", label, detail)
        stale = [path for path in actual if path != "/" and path not in wanted_paths]
        for path in sorted(stale):
            if any(path.startswith(other + "/") for other in stale):
                continue  # deleting the parent deletes it
            self.change("delete", "resource", f"{api_name} {path}{purpose}",
                        run=partial(self.apigw.delete_resource, restApiId=api_id, resourceId=ids[path]))

    def _create_resource(self, api_id: str | None, ids: dict[str, str], parent: str, part: str) -> dict[str, Any]:
        created: dict[str, Any] = self.apigw.create_resource(restApiId=api_id, parentId=ids[parent], pathPart=part)
        return created

    def _put_method(self, api_name: str, ids: dict[str, str], method: MethodSpec) -> None:
        api_id = self.api_ids[api_name]
        resource = ids[method.path]
        extra: dict[str, Any] = {"operationName": method.operation_name} if method.operation_name else {}
        if method.authorizer:
            extra["authorizerId"] = self.authorizer_ids[api_name][method.authorizer]
        if method.request_parameters:
            extra["requestParameters"] = method.request_parameters
        if method.request_validator:
            extra["requestValidatorId"] = self.validator_ids[api_name][method.request_validator]
        if method.request_models:
            extra["requestModels"] = dict(method.request_models)
        self.apigw.put_method(restApiId=api_id, resourceId=resource, httpMethod=method.http_method,
                              authorizationType=method.authorization_type, **extra)
        integration = {key: value for key, value in method.integration.items() if value not in (None, {})}
        self.apigw.put_integration(restApiId=api_id, resourceId=resource, httpMethod=method.http_method, **integration)
        for status, response in sorted(method.integration_responses.items()):
            declared = method.method_response_parameters(status)
            self.apigw.put_method_response(restApiId=api_id, resourceId=resource, httpMethod=method.http_method,
                                           statusCode=status, **({"responseParameters": declared} if declared else {}))
            self.apigw.put_integration_response(restApiId=api_id, resourceId=resource, httpMethod=method.http_method,
                                                statusCode=status, **{k: v for k, v in response.items() if v})

    def _replace_method(self, api_name: str, ids: dict[str, str], method: MethodSpec) -> None:
        self.apigw.delete_method(restApiId=self.api_ids[api_name], resourceId=ids[method.path],
                                 httpMethod=method.http_method)
        self._put_method(api_name, ids, method)

    # ---- authorizers -----------------------------------------------------------------------
    def authorizers(self, api_name: str) -> None:
        """The API's Lambda authorizers, found by name: created, or updated where a field differs (outside the
        api phase they are only read, for the permissions' SourceArn)."""
        api_id = self.api_ids[api_name]
        found = state.authorizers(self.target, api_id) if api_id else {}
        self._found_authorizers[api_name] = found
        ids = self.authorizer_ids.setdefault(api_name, {})
        ids.update({name: str(item["id"]) for name, item in found.items()})
        if "api" not in self.phases:
            return
        for name, spec in authorizer_specs(self.config.rest_apis[api_name], self.rewrite).items():
            label = f"{api_name} {name}"
            detail = f"{spec.type} {spec.authorizer_uri}, identity {spec.identity_source or '-'}, ttl {spec.ttl}s"
            have = found.get(name)
            if have is None:
                created = self.change("create", "authorizer", label, detail,
                                      run=partial(self._create_authorizer, api_id, spec))
                ids[name] = str(created["id"]) if created else f"<new {name}>"
                continue
            ops = authorizer_patch_operations(actual_authorizer(have), spec.fields())
            if not ops:
                self.change("unchanged", "authorizer", label, f"{have['id']}, {detail}")
                continue
            self.change("update", "authorizer", label, f"{have['id']}: " + ", ".join(op["path"] for op in ops),
                        run=partial(self.apigw.update_authorizer, restApiId=api_id, authorizerId=have["id"],
                                    patchOperations=ops))

    def _create_authorizer(self, api_id: str | None, spec: AuthorizerSpec) -> dict[str, Any]:
        created: dict[str, Any] = self.apigw.create_authorizer(restApiId=api_id, **spec.fields())
        return created

    def stale_authorizers(self, api_name: str) -> None:
        """Authorizers of our API the config no longer has (after the methods stopped naming them)."""
        api_id = self.api_ids[api_name]
        wanted = self.config.rest_apis[api_name].authorizers
        for name, item in sorted(self._found_authorizers.get(api_name, {}).items()):
            if name not in wanted:
                self.change("delete", "authorizer", f"{api_name} {name}", str(item["id"]),
                            run=partial(self.apigw.delete_authorizer, restApiId=api_id, authorizerId=item["id"]))
                self.authorizer_ids.get(api_name, {}).pop(name, None)

    # ---- request validators and models ------------------------------------------------------
    def request_validators(self, api_name: str) -> None:
        """The API's request validators, found by name: created, or updated where a flag differs (outside the api
        phase they are only read, for the methods a deployment of its own puts)."""
        api_id = self.api_ids[api_name]
        found = state.request_validators(self.target, api_id) if api_id else {}
        self._found_validators[api_name] = found
        ids = self.validator_ids.setdefault(api_name, {})
        ids.update({name: str(item["id"]) for name, item in found.items()})
        if "api" not in self.phases:
            return
        for name, config in sorted(self.config.rest_apis[api_name].request_validators.items()):
            label = f"{api_name} {name}"
            wanted = validator_fields(config)
            detail = ", ".join(key for key, value in wanted.items() if value) or "nothing checked"
            have = found.get(name)
            if have is None:
                created = self.change("create", "request validator", label, detail,
                                      run=partial(self.apigw.create_request_validator, restApiId=api_id, name=name,
                                                  **wanted))
                ids[name] = str(created["id"]) if created else f"<new {name}>"
                continue
            ops = [{"op": "replace", "path": f"/{key}", "value": str(value).lower()} for key, value in wanted.items()
                   if bool(have.get(key)) != value]
            if not ops:
                self.change("unchanged", "request validator", label, f"{have['id']}, {detail}")
                continue
            self.change("update", "request validator", label, f"{have['id']}: {detail}",
                        run=partial(self.apigw.update_request_validator, restApiId=api_id,
                                    requestValidatorId=have["id"], patchOperations=ops))

    def models(self, api_name: str) -> None:
        """The API's models, found by name: created, or their schema and description updated (a model's content
        type cannot change on AWS: rename it)."""
        api_id = self.api_ids[api_name]
        found = state.models(self.target, api_id) if api_id else {}
        self._found_models[api_name] = found
        local_id = self.loaded.api_id(api_name)
        for name, config in sorted(self.config.rest_apis[api_name].models.items()):
            label = f"{api_name} {name}"
            wanted = model_fields(config)
            # a $ref names a model by a URL holding its API's id: the emulator's becomes the deployed API's
            wanted["schema"] = rehomed(wanted["schema"], local_id, lambda model: MODEL_URL.format(
                api_id=api_id or "{new API}", name=model))
            schema_text = json.dumps(wanted["schema"])
            have = found.get(name)
            if have is None:
                self.change("create", "model", label, config.content_type,
                            run=partial(self.apigw.create_model, restApiId=api_id, name=name,
                                        contentType=config.content_type, schema=schema_text,
                                        **({"description": config.description} if config.description else {})))
                continue
            actual = actual_model(have)
            if actual["contentType"] != wanted["contentType"]:
                self.refuse("model", label, f"model {name} of API {api_name} has contentType {actual['contentType']}"
                            f" on AWS, which cannot change; give the model with contentType {config.content_type} "
                            "another name")
                continue
            ops = []
            if actual["schema"] != wanted["schema"]:
                ops.append({"op": "replace", "path": "/schema", "value": schema_text})
            if actual.get("description", "") != wanted.get("description", ""):
                ops.append({"op": "replace", "path": "/description", "value": config.description})
            if not ops:
                self.change("unchanged", "model", label, f"{have['id']}, {config.content_type}")
                continue
            self.change("update", "model", label, f"{have['id']}: " + ", ".join(op["path"] for op in ops),
                        run=partial(self.apigw.update_model, restApiId=api_id, modelName=name, patchOperations=ops))

    def stale_validation(self, api_name: str) -> None:
        """Request validators and models of our API the config no longer has (after the methods stopped naming
        them); AWS's Empty and Error stay."""
        api_id = self.api_ids[api_name]
        config = self.config.rest_apis[api_name]
        for name, item in sorted(self._found_validators.get(api_name, {}).items()):
            if name not in config.request_validators:
                self.change("delete", "request validator", f"{api_name} {name}", str(item["id"]),
                            run=partial(self.apigw.delete_request_validator, restApiId=api_id,
                                        requestValidatorId=item["id"]))
                self.validator_ids.get(api_name, {}).pop(name, None)
        for name, item in sorted(self._found_models.get(api_name, {}).items()):
            if name not in config.models and name not in DEFAULT_MODELS:
                self.change("delete", "model", f"{api_name} {name}", str(item["id"]),
                            run=partial(self.apigw.delete_model, restApiId=api_id, modelName=name))

    # ---- permissions -----------------------------------------------------------------------
    def permissions(self, api_name: str) -> None:
        """lambda:InvokeFunction for every function (and qualifier) any stage or canary can name; stale statements
        of ours (same API, our statement-id prefix) are removed."""
        api_id = self.api_ids[api_name] or NEW
        wanted, warnings = grants(self.loaded, api_name, self.rewrite, self.target.account_id)
        for warning in warnings:
            self.warn(warning)
        by_policy: dict[tuple[str, str | None], list[Grant]] = {}
        for grant in wanted:
            by_policy.setdefault((grant.function, grant.qualifier), []).append(grant)
        for function in sorted(self.config.functions):
            for qualifier in [None, *sorted(self.config.functions[function].aliases)]:
                by_policy.setdefault((function, qualifier), [])
        for (function, qualifier), policy_grants in sorted(by_policy.items(), key=lambda item: (item[0][0],
                                                                                                item[0][1] or "")):
            if function in self.refused_functions:
                continue  # deploy refuses this function, so it grants nothing on it either
            arn = f"arn:aws:lambda:{self.target.region}:{self.target.account_id}:function:{function}"
            statements = {s.get("Sid"): s for s in state.policy_statements(self.target, arn, qualifier)}
            kept = set()
            for grant in policy_grants:
                sid = grant.statement_id(api_id)
                kept.add(sid)
                authorizer_id = None
                if grant.authorizer:
                    authorizer_id = self.authorizer_ids.get(api_name, {}).get(grant.authorizer,
                                                                              f"<new {grant.authorizer}>")
                source = grant.source_arn(self.target.region, self.target.account_id, api_id, authorizer_id)
                label = f"{grant.reference} from {grant.origin}"
                found = statements.get(sid)
                if found is not None and _statement_matches(found, source):
                    self.change("unchanged", "permission", label, sid)
                    continue
                self.change("update" if found else "create", "permission", label, source,
                            run=partial(self._grant, grant, sid, source, found is not None))
            prefix = f"{SID_PREFIX}{api_id}-"
            for sid in sorted(str(key) for key in statements if key):
                if sid.startswith(prefix) and sid not in kept:
                    reference = f"{function}:{qualifier}" if qualifier else function
                    self.change("delete", "permission", f"{reference} {sid}", "no stage or canary names it now",
                                run=partial(self._revoke, function, qualifier, sid))

    def _grant(self, grant: Grant, sid: str, source: str, replace: bool) -> None:
        if replace:
            self._revoke(grant.function, grant.qualifier, sid)
        extra = {"Qualifier": grant.qualifier} if grant.qualifier else {}
        self.lam.add_permission(FunctionName=grant.function, StatementId=sid, Action="lambda:InvokeFunction",
                                Principal=APIGATEWAY_PRINCIPAL, SourceArn=source, **extra)

    def _revoke(self, function: str, qualifier: str | None, sid: str) -> None:
        extra = {"Qualifier": qualifier} if qualifier else {}
        self.lam.remove_permission(FunctionName=function, StatementId=sid, **extra)

    # ---- deployments and the stage ---------------------------------------------------------
    def deploy_stage(self, api_name: str) -> None:
        """The stage's deployments (found again by marker), then the stage with its variables and canary."""
        api = self.config.rest_apis[api_name]
        api_id = self.api_ids[api_name]
        specs = deployment_specs(self.loaded, api_name, self.rewrite)
        base, canary = stage_deployment_names(api, self.stage)
        existing = state.deployments(self.target, api_id) if api_id else []
        ids: dict[str, str] = {}
        switched = False
        for name in dict.fromkeys(name for name in (base, canary) if name):
            spec = specs[name]
            found = next((item for item in existing if spec.marker in (item.get("description") or "")), None)
            if found is not None:
                ids[name] = str(found["id"])
                self.change("unchanged", "deployment", f"{api_name} {name}", f"{found['id']}, {spec.marker}")
                continue
            if spec.own_resources:
                self.resources(api_name, spec.methods, purpose=f" (for deployment {name})")
                switched = True
            created = self.change("create", "deployment", f"{api_name} {name}", spec.marker,
                                  run=partial(self._create_deployment, api_id, spec))
            ids[name] = str(created["id"]) if created else f"<new {name}>"
        if switched and "api" in self.phases:
            self.resources(api_name, methods_of(api.resources, self.rewrite), purpose=" (back to the API's own)")
        self.stage_settings(api_name, api_id, ids[base], ids[canary] if canary else None)

    def _create_deployment(self, api_id: str | None, spec: DeploymentSpec) -> dict[str, Any]:
        result: dict[str, Any] = self.apigw.create_deployment(restApiId=api_id, description=spec.aws_description)
        return result

    def stage_settings(self, api_name: str, api_id: str | None, base_id: str, canary_id: str | None) -> None:
        """CreateStage, else UpdateStage with the patch operations that differ."""
        stage = self.config.rest_apis[api_name].stages[self.stage]
        desired: dict[str, Any] = {"deploymentId": base_id, "variables": dict(stage.variables),
                                   "description": stage.description, "canarySettings": None}
        if stage.canary_settings is not None and canary_id is not None:
            settings = stage.canary_settings
            desired["canarySettings"] = {"percentTraffic": settings.percent_traffic, "deploymentId": canary_id,
                                         "stageVariableOverrides": dict(settings.stage_variable_overrides),
                                         "useStageCache": settings.use_stage_cache}
        label = f"{api_name} {self.stage}"
        summary = f"deployment {base_id}, variables {desired['variables']}"
        if desired["canarySettings"]:
            canary = desired["canarySettings"]
            summary += f", canary {canary['percentTraffic']}% on {canary_id} with {canary['stageVariableOverrides']}"
        actual = state.get_stage(self.target, api_id, self.stage) if api_id else None
        if actual is None:
            self.change("create", "stage", label, summary, run=lambda: self.apigw.create_stage(
                restApiId=api_id, stageName=self.stage, tags=tags(self.loaded),
                **{key: value for key, value in desired.items() if value not in (None, "")}))
            return
        ops = stage_patch_operations(actual, desired)
        if not ops:
            self.change("unchanged", "stage", label, summary)
            return
        detail = "; ".join(f"{op['op']} {op['path']}" + (f"={op['value']}" if "value" in op else "") for op in ops)
        self.change("update", "stage", label, detail,
                    run=lambda: self.apigw.update_stage(restApiId=api_id, stageName=self.stage, patchOperations=ops))


def _statement_matches(statement: dict[str, Any], source_arn: str) -> bool:
    principal = statement.get("Principal")
    service = principal.get("Service") if isinstance(principal, dict) else principal
    condition = (statement.get("Condition") or {}).get("ArnLike") or {}
    return (service == APIGATEWAY_PRINCIPAL and statement.get("Action") == "lambda:InvokeFunction"
            and condition.get("AWS:SourceArn") == source_arn)
