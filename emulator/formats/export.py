"""`lambda-canary export`: a loaded config as a CloudFormation template or an OpenAPI 3 document (+ companion).

cloudformation: functions (Code = the local code folder, relative to the template; `aws cloudformation package`
uploads it and rewrites Code to S3), one execution role, versions and aliases, a Lambda permission for every function
a stage variable or canary override can name, RestApi, Resources, Methods (Uri as Fn::Sub with `${!stageVariables.x}`
escapes), Deployments that depend on every method (deployment ids kept in `Metadata: lambda-canary: id:`), Stages
with CanarySetting. Region, account and backend go in the template's `Metadata: lambda-canary:`, so importing the
template gives back the same config.

openapi: one API as API Gateway imports it (`x-amazon-apigateway-integration`); `functions` is its companion (our
config without resources), which the OpenAPI importer reads beside it.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import yaml

from emulator.apigateway.lambda_uri import parse_lambda_uri
from emulator.apigateway.loader import (
    authorizer_from_config,
    gateway_responses_from_config,
    models_from_config,
    request_validators_from_config,
    resources_from_config,
)
from emulator.apigateway.model import RestApi
from emulator.apigateway.openapi import openapi_from_rest_api
from emulator.config import CanaryConfig, LoadedConfig, RestApiConfig
from emulator.errors import UserError
from emulator.integration_rules import method_request_sources
from emulator.model_urls import MODEL_URL, rehomed
from emulator.stage_variables import UndefinedStageVariable, substitute

EXPORT_FORMATS = ("cloudformation", "openapi", "functions")
SAM_FUNCTION, SAM_TRANSFORM = "AWS::Serverless::Function", "AWS::Serverless-2016-10-31"
_HEADER = {
    "cloudformation": "# CloudFormation template exported by lambda-canary. Code entries are local folders: run\n"
                      "#   aws cloudformation package --template-file THIS --s3-bucket BUCKET "
                      "--output-template-file packaged.yaml\n"
                      "# to upload them and deploy packaged.yaml; lambda-canary serves this file as it is.\n",
    "openapi": "# OpenAPI 3 export (API Gateway import format) by lambda-canary. Functions and stages are in the\n"
               "# companion <name>.functions.yaml beside it.\n",
    "functions": "# Companion of an OpenAPI export: functions, deployments and stages (the resources are in the\n"
                 "# OpenAPI document). Exported by lambda-canary.\n",
}


class _Dumper(yaml.SafeDumper):
    """Block style, keys in insertion order."""


def _dump(data: Any) -> str:
    return yaml.dump(data, Dumper=_Dumper, sort_keys=False, default_flow_style=False, width=120, allow_unicode=True)


def logical_name(*parts: str) -> str:
    """A CloudFormation logical id from names: `ping-stable` → `PingStable`."""
    words = [word for part in parts for word in re.split(r"[^A-Za-z0-9]+", part) if word]
    return "".join(word[:1].upper() + word[1:] for word in words) or "Resource"


def _code(loaded: LoadedConfig, name: str, relative_to: Path, version: str | None = None) -> str:
    return os.path.relpath(loaded.code_dir(name, version), relative_to.resolve())


def reachable_functions(config: CanaryConfig, api: RestApiConfig) -> set[tuple[str, str | None]]:
    """(function, qualifier) of every config function the API's Lambda integrations reach, for each stage's and
    each canary's merged variables."""
    found: set[tuple[str, str | None]] = set()
    variable_sets = []
    for stage in api.stages.values():
        variable_sets.append(dict(stage.variables))
        if stage.canary_settings is not None:
            variable_sets.append({**stage.variables, **stage.canary_settings.stage_variable_overrides})
    resource_sets = [api.resources, *[deployment.resources for deployment in api.deployments.values()
                                      if deployment.resources is not None]]
    for resources in resource_sets:
        for methods in resources.values():
            for method in methods.values():
                uri = method.integration.uri
                if method.integration.type not in ("AWS_PROXY", "AWS") or not uri:
                    continue
                found |= _reached(config, uri, variable_sets)
    return found


def reachable_authorizers(config: CanaryConfig, api: RestApiConfig) -> set[tuple[str, str | None]]:
    """(function, qualifier) of every config function the API's authorizers reach, for every stage's variables."""
    variable_sets = []
    for stage in api.stages.values():
        variable_sets.append(dict(stage.variables))
        if stage.canary_settings is not None:
            variable_sets.append({**stage.variables, **stage.canary_settings.stage_variable_overrides})
    found: set[tuple[str, str | None]] = set()
    for authorizer in api.authorizers.values():
        found |= _reached(config, authorizer.authorizer_uri, variable_sets)
    return found


def _reached(config: CanaryConfig, uri: str, variable_sets: list[dict[str, str]]) -> set[tuple[str, str | None]]:
    found = set()
    for variables in variable_sets or [{}]:
        try:
            target = parse_lambda_uri(substitute(uri, variables))
        except UndefinedStageVariable:
            continue
        if target is not None and target.function_name in config.functions:
            found.add((target.function_name, target.qualifier))
    return found


def _cfn_uri(uri: str, region: str, account: str) -> Any:
    escaped = uri.replace("${", "${!")
    converted = (escaped.replace(f"arn:aws:apigateway:{region}:", "arn:aws:apigateway:${AWS::Region}:")
                 .replace(f"arn:aws:lambda:{region}:{account}:", "arn:aws:lambda:${AWS::Region}:${AWS::AccountId}:"))
    return {"Fn::Sub": converted} if "${" in converted else uri


class _CloudFormation:
    def __init__(self, loaded: LoadedConfig, relative_to: Path, notes: list[str]) -> None:
        self.loaded = loaded
        self.config = loaded.config
        self.relative_to = relative_to
        self.notes = notes
        self.resources: dict[str, Any] = {}
        self.function_ids: dict[str, str] = {}

    def unique(self, *parts: str) -> str:
        base = logical_name(*parts)
        name, counter = base, 2
        while name in self.resources:
            name, counter = f"{base}{counter}", counter + 1
        return name

    def build(self) -> dict[str, Any]:
        config = self.config
        metadata: dict[str, Any] = {"region": config.region, "accountId": config.account_id, "backend": config.backend}
        if config.acknowledge:
            metadata["acknowledge"] = config.acknowledge_entries()  # with the reasons written beside them
        if config.functions:
            self.resources["LambdaExecutionRole"] = {
                "Type": "AWS::IAM::Role",
                "Properties": {
                    "AssumeRolePolicyDocument": {"Version": "2012-10-17", "Statement": [
                        {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"},
                         "Action": "sts:AssumeRole"}]},
                    "ManagedPolicyArns": [{"Fn::Sub": "arn:${AWS::Partition}:iam::aws:policy/service-role/"
                                                      "AWSLambdaBasicExecutionRole"}]}}
        for name in config.functions:
            self.function(name)
        self._deployment_preferences()
        for name, api in config.rest_apis.items():
            self.api(name, api)
        if self.notes:
            metadata["notes"] = list(self.notes)
        # W3002: Code is a local folder on purpose (see the header); cfn-lint would warn on each function.
        template: dict[str, Any] = {"AWSTemplateFormatVersion": "2010-09-09"}
        if any(resource["Type"] == SAM_FUNCTION for resource in self.resources.values()):
            template["Transform"] = SAM_TRANSFORM
        return {**template, "Description": f"lambda-canary export of {self.loaded.path.name}",
                "Metadata": {"lambda-canary": metadata, "cfn-lint": {"config": {"ignore_checks": ["W3002"]}}},
                "Resources": self.resources}

    def _deployment_preferences(self) -> None:
        """SAM's AutoPublishAlias and DeploymentPreference of the functions that have them; hooks as Refs to the
        hook functions (their logical ids are known once every function is written)."""
        for name, function in self.config.functions.items():
            if function.auto_publish_alias is None:
                continue
            properties = self.resources[self.function_ids[name]]["Properties"]
            properties["AutoPublishAlias"] = function.auto_publish_alias
            preference = function.deployment_preference
            if preference is None:
                continue
            out: dict[str, Any] = {"Type": preference.type}
            if preference.alarms:
                out["Alarms"] = list(preference.alarms)
            hooks = preference.hooks
            if hooks is not None and (hooks.pre_traffic or hooks.post_traffic):
                pairs = (("PreTraffic", hooks.pre_traffic), ("PostTraffic", hooks.post_traffic))
                out["Hooks"] = {key: {"Ref": self.function_ids[hook]} for key, hook in pairs if hook}
            if not preference.enabled:
                out["Enabled"] = False
            properties["DeploymentPreference"] = out

    def function(self, name: str) -> None:
        function = self.config.functions[name]
        logical = self.unique(name, "Function")
        self.function_ids[name] = logical
        properties: dict[str, Any] = {"FunctionName": name, "Runtime": function.runtime, "Handler": function.handler,
                                      "Code": _code(self.loaded, name, self.relative_to),
                                      "MemorySize": function.memory_size, "Timeout": function.timeout,
                                      "Role": {"Fn::GetAtt": ["LambdaExecutionRole", "Arn"]}}
        if function.environment:
            properties["Environment"] = {"Variables": dict(function.environment)}
        if function.description:
            properties["Description"] = function.description
        if function.reserved_concurrency is not None:
            properties["ReservedConcurrentExecutions"] = function.reserved_concurrency
        if function.auto_publish_alias is not None:  # SAM publishes the version and moves the alias itself
            properties["CodeUri"] = properties.pop("Code")
            self.resources[logical] = {"Type": SAM_FUNCTION, "Properties": properties}
        else:
            self.resources[logical] = {"Type": "AWS::Lambda::Function", "Properties": properties}
        versions: dict[str, str] = {}
        previous = None
        for number in sorted(function.versions, key=int):
            version = function.versions[number]
            own = {key: value for key, value in version.model_dump(exclude={"description"}).items()
                   if value is not None}
            if own:
                self.notes.append(f"{name} version {number} has its own {', '.join(sorted(own))}: CloudFormation "
                                  "publishes a version from the function as it is, so deploy it in steps (update the "
                                  "function, publish, repeat)")
            version_id = self.unique(name, "Version", number)
            entry: dict[str, Any] = {"Type": "AWS::Lambda::Version", "Properties": {"FunctionName": {"Ref": logical}}}
            if version.description:
                entry["Properties"]["Description"] = version.description
            if previous:
                entry["DependsOn"] = previous  # versions are numbered in creation order
            self.resources[version_id] = entry
            versions[number] = version_id
            previous = version_id
        for alias_name, alias in function.aliases.items():
            if alias_name == function.auto_publish_alias:
                self.notes.append(f"{name} alias {alias_name} is its AutoPublishAlias: SAM creates and moves it, so "
                                  "it is not written as an AWS::Lambda::Alias")
                continue
            properties = {"FunctionName": {"Ref": logical}, "Name": alias_name,
                          "FunctionVersion": self._version_ref(versions, alias.function_version)}
            if alias.routing_config and alias.routing_config.additional_version_weights:
                properties["RoutingConfig"] = {"AdditionalVersionWeights": [
                    {"FunctionVersion": self._version_ref(versions, version), "FunctionWeight": weight}
                    for version, weight in alias.routing_config.additional_version_weights.items()]}
            if alias.description:
                properties["Description"] = alias.description
            self.resources[self.unique(name, "Alias", alias_name)] = {"Type": "AWS::Lambda::Alias",
                                                                      "Properties": properties}

    @staticmethod
    def _version_ref(versions: dict[str, str], number: str) -> Any:
        return {"Fn::GetAtt": [versions[number], "Version"]} if number in versions else number

    def api(self, name: str, api: RestApiConfig) -> None:
        config = self.config
        api_logical = self.unique(name, "RestApi")
        if api.id:
            self.notes.append(f"API {name}: its id {api.id} cannot be chosen in CloudFormation")
        properties: dict[str, Any] = {"Name": name}
        if api.description:
            properties["Description"] = api.description
        if api.binary_media_types:
            properties["BinaryMediaTypes"] = list(api.binary_media_types)
        self.resources[api_logical] = {"Type": "AWS::ApiGateway::RestApi", "Properties": properties}
        resource_ids: dict[str, Any] = {"/": {"Fn::GetAtt": [api_logical, "RootResourceId"]}}
        methods = []
        authorizer_ids: dict[str, str] = {}
        for authorizer_name, authorizer in api.authorizers.items():
            logical = self.unique(name, "Authorizer", authorizer_name)
            authorizer_ids[authorizer_name] = logical
            properties = {"RestApiId": {"Ref": api_logical}, "Name": authorizer_name, "Type": authorizer.type,
                          "AuthorizerUri": _cfn_uri(authorizer.authorizer_uri, config.region, config.account_id),
                          "AuthorizerResultTtlInSeconds": authorizer.authorizer_result_ttl_in_seconds}
            if authorizer.effective_identity_source:
                properties["IdentitySource"] = authorizer.effective_identity_source
            if authorizer.identity_validation_expression:
                properties["IdentityValidationExpression"] = authorizer.identity_validation_expression
            self.resources[logical] = {"Type": "AWS::ApiGateway::Authorizer", "Properties": properties}
        validator_ids: dict[str, str] = {}
        for validator_name, validator in api.request_validators.items():
            logical = self.unique(name, "RequestValidator", validator_name)
            validator_ids[validator_name] = logical
            self.resources[logical] = {"Type": "AWS::ApiGateway::RequestValidator", "Properties": {
                "RestApiId": {"Ref": api_logical}, "Name": validator_name,
                "ValidateRequestBody": validator.validate_request_body,
                "ValidateRequestParameters": validator.validate_request_parameters}}
        model_ids: dict[str, str] = {}
        for model_name, model in api.models.items():
            logical = self.unique(name, "Model", model_name)
            model_ids[model_name] = logical
            # a $ref to another model names it by a URL holding the API's id: the stack's own API, once created
            schema = rehomed(model.json_schema, self.loaded.api_id(name), lambda other: {
                "Fn::Sub": MODEL_URL.format(api_id="${" + api_logical + "}", name=other)})
            properties = {"RestApiId": {"Ref": api_logical}, "Name": model_name, "ContentType": model.content_type,
                          "Schema": schema}
            if model.description:
                properties["Description"] = model.description
            self.resources[logical] = {"Type": "AWS::ApiGateway::Model", "Properties": properties}
        for path in sorted(api.resources, key=lambda item: (item.count("/"), item)):
            parts = [part for part in path.split("/") if part]
            for depth in range(1, len(parts) + 1):
                partial = "/" + "/".join(parts[:depth])
                if partial in resource_ids:
                    continue
                parent = "/" + "/".join(parts[:depth - 1]) if depth > 1 else "/"
                logical = self.unique(name, "Resource", *parts[:depth])
                self.resources[logical] = {"Type": "AWS::ApiGateway::Resource", "Properties": {
                    "RestApiId": {"Ref": api_logical}, "ParentId": resource_ids[parent], "PathPart": parts[depth - 1]}}
                resource_ids[partial] = {"Ref": logical}
            for verb, method in api.resources[path].items():
                logical = self.unique(name, "Method", verb, *parts or ["root"])
                integration = method.integration
                spec: dict[str, Any] = {"Type": integration.type,
                                        "IntegrationHttpMethod": integration.integration_http_method,
                                        "TimeoutInMillis": integration.timeout_in_millis}
                if integration.uri:
                    spec["Uri"] = _cfn_uri(integration.uri, config.region, config.account_id)
                if integration.request_templates:
                    spec["RequestTemplates"] = dict(integration.request_templates)
                if integration.request_parameters:
                    spec["RequestParameters"] = dict(integration.request_parameters)
                if integration.type in ("AWS", "HTTP", "MOCK") and \
                        integration.passthrough_behavior != "WHEN_NO_MATCH":
                    spec["PassthroughBehavior"] = integration.passthrough_behavior
                if integration.integration_responses:
                    spec["IntegrationResponses"] = [
                        {"StatusCode": status,
                         **({"SelectionPattern": response.selection_pattern} if response.selection_pattern else {}),
                         **({"ResponseTemplates": dict(response.response_templates)}
                                                  if response.response_templates else {}),
                         **({"ResponseParameters": dict(response.response_parameters)}
                            if response.response_parameters else {})}
                        for status, response in integration.integration_responses.items()]
                properties = {"RestApiId": {"Ref": api_logical}, "ResourceId": resource_ids[path if parts else "/"],
                              "HttpMethod": verb, "AuthorizationType": method.authorization_type,
                              "Integration": spec}
                declared = {**method_request_sources(integration.request_parameters), **method.request_parameters}
                if declared:
                    properties["RequestParameters"] = declared
                if method.request_validator:
                    properties["RequestValidatorId"] = {"Ref": validator_ids[method.request_validator]}
                if method.request_models:  # Ref of a Model is its name; AWS's Empty and Error are written out
                    properties["RequestModels"] = {
                        content_type: {"Ref": model_ids[model]} if model in model_ids else model
                        for content_type, model in method.request_models.items()}
                if integration.integration_responses:
                    properties["MethodResponses"] = [
                        {"StatusCode": status, **({"ResponseParameters": declared} if (declared := {
                            name: False for name in sorted(response.response_parameters)
                            if name.startswith("method.response.header.")}) else {})}
                        for status, response in integration.integration_responses.items()]
                if method.operation_name:
                    properties["OperationName"] = method.operation_name
                if method.authorizer:
                    properties["AuthorizationType"] = "CUSTOM"
                    properties["AuthorizerId"] = {"Ref": authorizer_ids[method.authorizer]}
                self.resources[logical] = {"Type": "AWS::ApiGateway::Method", "Properties": properties}
                methods.append(logical)
        for kind, response in api.gateway_responses.items():
            logical = self.unique(name, "GatewayResponse", kind.replace("_", " ").title().replace(" ", ""))
            properties = {"RestApiId": {"Ref": api_logical}, "ResponseType": kind}
            if response.status_code:
                properties["StatusCode"] = response.status_code
            if response.response_parameters:
                properties["ResponseParameters"] = dict(response.response_parameters)
            if response.response_templates:
                properties["ResponseTemplates"] = dict(response.response_templates)
            self.resources[logical] = {"Type": "AWS::ApiGateway::GatewayResponse", "Properties": properties}
            methods.append(logical)  # deployed with the API, as the deployments' DependsOn makes sure
        deployments: dict[str, str] = {}
        for deployment_id, deployment in api.deployments.items():
            if deployment.resources is not None:
                self.notes.append(f"API {name}: deployment {deployment_id} has its own resources; a CloudFormation "
                                  "Deployment snapshots the API as the template defines it")
            deployments[deployment_id] = self._deployment(name, api_logical, deployment_id, deployment.description,
                                                          methods)
        for stage_name, stage in api.stages.items():
            deployment_id = stage.deployment_id or "current"
            if stage.deployment_id is None and deployment_id not in deployments:
                deployments[deployment_id] = self._deployment(name, api_logical, deployment_id, "", methods)
            properties = {"RestApiId": {"Ref": api_logical}, "StageName": stage_name,
                          "DeploymentId": {"Ref": deployments[deployment_id]}}
            if stage.description:
                properties["Description"] = stage.description
            if stage.variables:
                properties["Variables"] = dict(stage.variables)
            canary = stage.canary_settings
            if canary is not None:
                setting: dict[str, Any] = {"PercentTraffic": canary.percent_traffic}
                if canary.deployment_id:
                    setting["DeploymentId"] = {"Ref": deployments[canary.deployment_id]}
                if canary.stage_variable_overrides:
                    setting["StageVariableOverrides"] = dict(canary.stage_variable_overrides)
                if canary.use_stage_cache:
                    setting["UseStageCache"] = True
                properties["CanarySetting"] = setting
            self.resources[self.unique(name, "Stage", stage_name)] = {"Type": "AWS::ApiGateway::Stage",
                                                                      "Properties": properties}
        for function, qualifier in sorted(reachable_functions(config, api), key=lambda item: (item[0],
                                                                                                item[1] or "")):
            target: Any = {"Fn::GetAtt": [self.function_ids[function], "Arn"]}
            if qualifier:
                target = {"Fn::Sub": f"${{{self.function_ids[function]}.Arn}}:{qualifier}"}
            self.resources[self.unique(function, qualifier or "", "Invoke", name)] = {
                "Type": "AWS::Lambda::Permission",
                "Properties": {"FunctionName": target, "Action": "lambda:InvokeFunction",
                               "Principal": "apigateway.amazonaws.com",
                               "SourceArn": {"Fn::Sub": f"arn:aws:execute-api:${{AWS::Region}}:${{AWS::AccountId}}:"
                                                        f"${{{api_logical}}}/*"}}}
        for function, qualifier in sorted(reachable_authorizers(config, api), key=lambda item: (item[0],
                                                                                                  item[1] or "")):
            target = {"Fn::GetAtt": [self.function_ids[function], "Arn"]}
            if qualifier:
                target = {"Fn::Sub": f"${{{self.function_ids[function]}.Arn}}:{qualifier}"}
            self.resources[self.unique(function, qualifier or "", "Authorize", name)] = {
                "Type": "AWS::Lambda::Permission",
                "Properties": {"FunctionName": target, "Action": "lambda:InvokeFunction",
                               "Principal": "apigateway.amazonaws.com",
                               "SourceArn": {"Fn::Sub": f"arn:aws:execute-api:${{AWS::Region}}:${{AWS::AccountId}}:"
                                                        f"${{{api_logical}}}/authorizers/*"}}}

    def _deployment(self, api_name: str, api_logical: str, deployment_id: str, description: str,
                    methods: list[str]) -> str:
        logical = self.unique(api_name, "Deployment", deployment_id)
        entry: dict[str, Any] = {"Type": "AWS::ApiGateway::Deployment",
                                 "Metadata": {"lambda-canary": {"id": deployment_id}},
                                 "Properties": {"RestApiId": {"Ref": api_logical}}}
        if methods:
            entry["DependsOn"] = list(methods)
        if description:
            entry["Properties"]["Description"] = description
        self.resources[logical] = entry
        return logical


def _choose_api(config: CanaryConfig, api: str | None) -> str:
    if api is not None:
        if api not in config.rest_apis:
            raise UserError(f"--api {api}: no such API (APIs: {', '.join(config.rest_apis) or 'none'})")
        return api
    if len(config.rest_apis) != 1:
        raise UserError(f"an OpenAPI document holds one API; choose one of {', '.join(config.rest_apis) or 'none'} "
                        "with --api")
    return next(iter(config.rest_apis))


def _openapi(loaded: LoadedConfig, name: str) -> dict[str, Any]:
    config = loaded.config
    api = config.rest_apis[name]
    api_id = loaded.api_id(name)
    resources = resources_from_config(api_id, api.resources)
    model = RestApi(api_id, name, api.description, list(api.binary_media_types), resources,
                    gateway_responses=gateway_responses_from_config(api))
    model.models = models_from_config(api_id, api)
    model.request_validators = request_validators_from_config(api_id, api)
    model.authorizers = {authorizer.id: authorizer for authorizer in (
        authorizer_from_config(api_id, authorizer_name, block) for authorizer_name, block in api.authorizers.items())}
    stage = next(iter(api.stages), "prod")
    document = openapi_from_rest_api(model, resources, stage, config.region)
    document["info"]["version"] = "1.0"
    return document


def _companion(loaded: LoadedConfig, name: str, relative_to: Path, notes: list[str]) -> dict[str, Any]:
    config = loaded.config
    data: dict[str, Any] = {"region": config.region, "accountId": config.account_id}
    if config.acknowledge:
        data["acknowledge"] = config.acknowledge_entries()
    if config.backend != "auto":
        data["backend"] = config.backend
    data["functions"] = config.model_dump(by_alias=True, exclude_defaults=True, include={"functions"}).get(
        "functions", {})
    for function_name, function in data["functions"].items():
        function["code"] = _code(loaded, function_name, relative_to)
    api = config.rest_apis[name].model_dump(by_alias=True, exclude_defaults=True,
                                            exclude={"resources", "description", "binary_media_types",
                                                     "authorizers", "request_validators", "models"})
    # the document carries the models as components.schemas, which have neither a content type nor a description
    # (ImportRestApi takes the schema's): the companion keeps the models of another content type or description
    # (their entry wins when the document is read back)
    kept = {model_name: model.model_dump(by_alias=True, exclude_defaults=True)
            for model_name, model in config.rest_apis[name].models.items()
            if model.content_type != "application/json"
            or (model.description or None) != model.json_schema.get("description")}
    if kept:
        api["models"] = kept
    for deployment_id, deployment in config.rest_apis[name].deployments.items():
        if deployment.resources is not None:
            notes.append(f"deployment {deployment_id} has its own resources; the OpenAPI document holds the API's")
            api["deployments"][deployment_id].pop("resources", None)
    data["restApis"] = {name: api}
    return data


def export(loaded: LoadedConfig, format: str, *, relative_to: Path | None = None, api: str | None = None,
           notes: list[str] | None = None) -> str:
    """The config as `cloudformation`, `openapi` or `functions` (the OpenAPI companion) text.

    Code paths are written relative to `relative_to` (the output's folder; default: the config's folder); what the
    format cannot express is appended to `notes` (and, for CloudFormation, kept in the template's Metadata).
    """
    notes = [] if notes is None else notes
    base = relative_to or loaded.base_dir
    if format == "cloudformation":
        return _HEADER[format] + _dump(_CloudFormation(loaded, base, notes).build())
    if format == "openapi":
        return _HEADER[format] + _dump(_openapi(loaded, _choose_api(loaded.config, api)))
    if format == "functions":
        return _HEADER[format] + _dump(_companion(loaded, _choose_api(loaded.config, api), base, notes))
    raise UserError(f"--format {format}: allowed: {', '.join(EXPORT_FORMATS)}")
