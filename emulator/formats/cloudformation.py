"""CloudFormation and SAM templates (YAML with short intrinsic tags, or JSON) translated into our config.

Evaluated: Ref, Fn::GetAtt, Fn::Sub (string and [string, map] forms, `${!Literal}` escapes), Fn::Join,
Fn::Select, Fn::Split, Fn::If/Equals/Not/And/Or with Conditions, Fn::FindInMap, Fn::Base64, parameter Defaults and
the pseudo parameters AWS::Region, AWS::AccountId, AWS::Partition, AWS::StackName, AWS::URLSuffix, AWS::NoValue.
Region, account id, backend and acknowledged findings come from the template's `Metadata: lambda-canary:` block
(else us-east-1 and 123456789012); a Deployment's `Metadata: lambda-canary: id:` names its deployment id.

Resource types: AWS::Lambda::Function, Version, Alias, Permission; AWS::ApiGateway::RestApi (Body = inline
OpenAPI), Resource, Method, Deployment, Stage; AWS::Serverless::Function and Api (SAM: Api events, implicit
ServerlessRestApi with stage Prod). A function without FunctionName is named by its logical id (CloudFormation would
add the stack name and a random suffix). Code is a local folder relative to the template (what `aws cloudformation
package` takes) or ZipFile (written to the cache as index.js). Everything else (S3 code, other types, other
properties, integration types other than AWS_PROXY/AWS (Lambda)/HTTP_PROXY/MOCK) is named in
Translation.unsupported. AWS::ApiGateway::Authorizer (TOKEN, REQUEST) is named by its Name; a Method's CUSTOM
AuthorizerId refers to it. AWS::ApiGateway::Model and RequestValidator are named by their Name; a Method's
RequestModels and RequestValidatorId refer to them.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from pathlib import Path
from typing import Any

import yaml

from emulator.errors import UserError
from emulator.formats.translation import (
    DEFAULT_ACCOUNT,
    DEFAULT_REGION,
    Grant,
    Template,
    Translation,
    acknowledged_finding,
)
from emulator.ids import stable_api_id
from emulator.paths import cache_dir
from emulator.yaml_source import KeyPath, yaml_error

_FN_NAMES = ("Base64", "Cidr", "FindInMap", "GetAtt", "GetAZs", "ImportValue", "Join", "Select", "Split", "Sub",
             "Transform", "If", "Equals", "Not", "And", "Or", "ToJsonString", "Length")
SHORT_TAGS: dict[str, str] = {"!Ref": "Ref", "!Condition": "Condition", **{f"!{n}": f"Fn::{n}" for n in _FN_NAMES}}
INTRINSICS = frozenset(SHORT_TAGS.values())
FUNCTION, VERSION, ALIAS, PERMISSION = ("AWS::Lambda::Function", "AWS::Lambda::Version", "AWS::Lambda::Alias",
                                        "AWS::Lambda::Permission")
REST_API, RESOURCE, METHOD = "AWS::ApiGateway::RestApi", "AWS::ApiGateway::Resource", "AWS::ApiGateway::Method"
DEPLOYMENT, STAGE = "AWS::ApiGateway::Deployment", "AWS::ApiGateway::Stage"
AUTHORIZER = "AWS::ApiGateway::Authorizer"
GATEWAY_RESPONSE = "AWS::ApiGateway::GatewayResponse"
MODEL, REQUEST_VALIDATOR = "AWS::ApiGateway::Model", "AWS::ApiGateway::RequestValidator"
SAM_FUNCTION, SAM_API = "AWS::Serverless::Function", "AWS::Serverless::Api"
FUNCTION_TYPES = (FUNCTION, SAM_FUNCTION)
API_TYPES = (REST_API, SAM_API)
SAM_IMPLICIT_API = "ServerlessRestApi"
METADATA_KEY = "lambda-canary"
APIGATEWAY_PRINCIPAL = "apigateway.amazonaws.com"
# Properties that do nothing locally (IAM, tags, method responses of proxy integrations); not named as unsupported.
NO_LOCAL_EFFECT = frozenset({"Role", "Policies", "Tags", "MethodResponses", "PermissionsBoundary"})
_RESOURCE_MARK = "\x00resource:"
_SUB_REFERENCE = re.compile(r"\$\{([^}]*)\}")


# ---- reading -------------------------------------------------------------------------------------------------
class CfnLoader(yaml.SafeLoader):
    """SafeLoader that reads CloudFormation's short tags (`!Ref x`, `!Sub ...`) as their long forms."""


CfnLoader.yaml_implicit_resolvers = {
    key: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for key, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def _intrinsic(name: str, value: Any) -> dict[str, Any]:
    if name == "Fn::GetAtt" and isinstance(value, str):
        value = value.split(".", 1)
    return {name: value}


def _construct_tag(loader: CfnLoader, suffix: str, node: yaml.Node) -> dict[str, Any]:
    name = SHORT_TAGS.get("!" + suffix)
    if name is None:
        raise yaml.constructor.ConstructorError(None, None, f"unknown tag !{suffix}", node.start_mark)
    if isinstance(node, yaml.ScalarNode):
        value: Any = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)  # type: ignore[arg-type]
    return _intrinsic(name, value)


CfnLoader.add_multi_constructor("!", _construct_tag)


def _construct(loader: CfnLoader, node: yaml.Node, path: KeyPath, lines: dict[KeyPath, int]) -> Any:
    line = node.start_mark.line + 1
    lines.setdefault(path, line)
    name = None
    if node.tag.startswith("!"):
        name = SHORT_TAGS.get(node.tag)
        if name is None:
            raise UserError(f"{loader.name}:{line}: unknown tag {node.tag}")
        path = (*path, name)
        lines.setdefault(path, line)
        if isinstance(node, yaml.ScalarNode):
            return _intrinsic(name, node.value)
    if isinstance(node, yaml.MappingNode):
        loader.flatten_mapping(node)
        result: dict[str, Any] = {}
        for key_node, value_node in node.value:
            key = str(loader.construct_object(key_node, deep=True))
            lines[(*path, key)] = key_node.start_mark.line + 1
            result[key] = _construct(loader, value_node, (*path, key), lines)
        value: Any = result
    elif isinstance(node, yaml.SequenceNode):
        value = [_construct(loader, item, (*path, index), lines) for index, item in enumerate(node.value)]
    else:
        return loader.construct_object(node, deep=True)
    return _intrinsic(name, value) if name else value


def parse_template_text(text: str, path: Path) -> tuple[Any, dict[KeyPath, int]]:
    """Parse YAML (short tags allowed) or JSON; returns the data and the line of every key path."""
    loader = CfnLoader(text)
    loader.name = str(path)
    try:
        node = loader.get_single_node()
        lines: dict[KeyPath, int] = {}
        data = _construct(loader, node, (), lines) if node is not None else None
        return data, lines
    except yaml.YAMLError as error:
        if text.lstrip().startswith("{"):
            try:
                return json.loads(text), {}
            except ValueError:
                pass
        raise yaml_error(error, path) from None
    finally:
        loader.dispose()


def read_text(path: Path) -> str:
    """A file's text; a missing or unreadable file is a UserError."""
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise UserError(f"{path}: no such file") from None
    except (IsADirectoryError, PermissionError, UnicodeDecodeError) as error:
        raise UserError(f"{path}: cannot read: {error}") from None


def api_id_for(name: str) -> str:
    """The id LoadedConfig.api_id gives an API without a configured id."""
    return stable_api_id(name)


# ---- evaluation ----------------------------------------------------------------------------------------------
class Unresolved(Exception):
    """An intrinsic or reference this importer cannot evaluate; the message names it."""


class _NoValue:
    def __repr__(self) -> str:
        return "AWS::NoValue"


NO_VALUE: Any = _NoValue()


def load_template(path: Path) -> Template:
    """Read a CloudFormation/SAM template file."""
    data, lines = parse_template_text(read_text(path), path)
    if not isinstance(data, dict) or not isinstance(data.get("Resources"), dict):
        raise UserError(f"{path}: a CloudFormation template is a mapping with `Resources`")
    document_lines = lines

    def line_of(key_path: KeyPath) -> int | None:
        for end in range(len(key_path), -1, -1):
            found = document_lines.get(tuple(key_path[:end]))
            if found is not None:
                return found
        return None

    metadata = (data.get("Metadata") or {}).get(METADATA_KEY) or {}
    return Template(path, data, line_of, region=str(metadata.get("region", DEFAULT_REGION)),
                    account_id=str(metadata.get("accountId", DEFAULT_ACCOUNT)), stack_name=path.stem,
                    metadata=metadata if isinstance(metadata, dict) else {})


class Evaluator:
    """Evaluates intrinsic functions against one template.

    `${stageVariables.x}` in an Fn::Sub string (CloudFormation rejects it) is kept as written so the emulator can
    serve what the author meant; each place is recorded in `stage_variable_subs` for `lambda-canary check`.
    """

    def __init__(self, template: Template) -> None:
        self.template = template
        self.stage_variable_subs: list[KeyPath] = []
        self._busy: set[str] = set()
        self._version_numbers: dict[str, str] = {}
        counts: dict[str, int] = {}
        for logical, resource in template.resources.items():
            if resource.get("Type") == VERSION:
                try:
                    function = self.function_logical(self.value(template.properties(logical).get("FunctionName"),
                                                                ("Resources", logical, "Properties", "FunctionName")))
                except Unresolved:
                    continue
                counts[function] = counts.get(function, 0) + 1
                self._version_numbers[logical] = str(counts[function])

    # names of things
    def function_name(self, logical: str) -> str:
        """The function name CloudFormation gives (FunctionName, else the logical id)."""
        name = self.template.properties(logical).get("FunctionName")
        if name is None:
            return logical
        return str(self.value(name, ("Resources", logical, "Properties", "FunctionName")))

    def function_arn(self, name: str) -> str:
        """arn:aws:lambda:REGION:ACCOUNT:function:NAME."""
        return f"arn:aws:lambda:{self.template.region}:{self.template.account_id}:function:{name}"

    def function_logical(self, reference: Any) -> str:
        """The logical id of the template function a name or ARN refers to."""
        name = str(reference)
        if name.startswith("arn:"):
            parts = name.split(":")
            name = parts[6] if len(parts) > 6 else name
        for logical, resource in self.template.resources.items():
            if resource.get("Type") in FUNCTION_TYPES and self.function_name(logical) == name:
                return logical
        raise Unresolved(f"no function {name!r} in this template")

    def api_name(self, logical: str) -> str:
        """The RestApi's Name (else its logical id)."""
        if logical == SAM_IMPLICIT_API and logical not in self.template.resources:
            return SAM_IMPLICIT_API
        name = self.template.properties(logical).get("Name")
        return logical if name is None else str(self.value(name, ("Resources", logical, "Properties", "Name")))

    def api_logical(self, api_id: Any) -> str:
        """The logical id of the API whose id (from Ref) is given."""
        candidates = [logical for logical, resource in self.template.resources.items()
                      if resource.get("Type") in API_TYPES] + [SAM_IMPLICIT_API]
        for logical in candidates:
            if api_id_for(self.api_name(logical)) == api_id:
                return logical
        raise Unresolved(f"RestApiId {api_id!r} is not a RestApi of this template")

    def deployment_id(self, logical: str) -> str:
        """Metadata `lambda-canary: id:`, else the logical id."""
        metadata = (self.template.resources.get(logical, {}).get("Metadata") or {}).get(METADATA_KEY) or {}
        return str(metadata.get("id", logical))

    def version_number(self, logical: str) -> str:
        """1, 2, ... per function, in template order."""
        if logical not in self._version_numbers:
            raise Unresolved(f"version {logical}: its FunctionName is not a function of this template")
        return self._version_numbers[logical]

    def resource_path(self, logical: str) -> str:
        """The full path of an AWS::ApiGateway::Resource."""
        if logical in self._busy:
            raise Unresolved(f"resource {logical}: its ParentId chain loops")
        self._busy.add(logical)
        try:
            base = ("Resources", logical, "Properties")
            properties = self.template.properties(logical)
            parent = self.path_of(self.value(properties.get("ParentId"), (*base, "ParentId")))
            part = str(self.value(properties.get("PathPart"), (*base, "PathPart")))
            return parent.rstrip("/") + "/" + part
        finally:
            self._busy.discard(logical)

    @staticmethod
    def path_of(reference: Any) -> str:
        """The path behind a ResourceId/ParentId value (a Ref to a Resource or GetAtt RootResourceId)."""
        if isinstance(reference, str) and reference.startswith(_RESOURCE_MARK):
            return reference[len(_RESOURCE_MARK):]
        raise Unresolved(f"{reference!r} is not a Ref to an AWS::ApiGateway::Resource or RootResourceId")

    # intrinsics
    def ref(self, name: str, path: KeyPath) -> Any:
        """What `Ref name` returns."""
        template = self.template
        pseudo = {"AWS::Region": template.region, "AWS::AccountId": template.account_id, "AWS::Partition": "aws",
                  "AWS::URLSuffix": "amazonaws.com", "AWS::StackName": template.stack_name, "AWS::NoValue": NO_VALUE,
                  "AWS::StackId": f"arn:aws:cloudformation:{template.region}:{template.account_id}:stack/"
                                  f"{template.stack_name}/00000000-0000-0000-0000-000000000000"}
        if name in pseudo:
            return pseudo[name]
        parameters = template.data.get("Parameters") or {}
        if name in parameters:
            spec = parameters[name] or {}
            if "Default" not in spec:
                raise Unresolved(f"parameter {name} has no Default (parameter values cannot be given here)")
            default = spec["Default"]
            if str(spec.get("Type", "")).startswith(("CommaDelimitedList", "List<")):
                return [item.strip() for item in str(default).split(",")]
            return default
        kind = template.type_of(name)
        if kind is None:
            raise Unresolved(f"Unresolved resource dependencies [{name}]")
        if kind in FUNCTION_TYPES:
            return self.function_name(name)
        if kind == VERSION:
            return f"{self._version_function_arn(name)}:{self.version_number(name)}"
        if kind == ALIAS:
            properties = template.properties(name)
            function = self.value(properties.get("FunctionName"), ("Resources", name, "Properties", "FunctionName"))
            return f"{self.function_arn(self.function_name(self.function_logical(function)))}:{properties.get('Name')}"
        if kind in API_TYPES:
            return api_id_for(self.api_name(name))
        if kind == RESOURCE:
            return _RESOURCE_MARK + self.resource_path(name)
        if kind == DEPLOYMENT:
            return self.deployment_id(name)
        if kind == STAGE:
            return str(self.value(template.properties(name).get("StageName"),
                                  ("Resources", name, "Properties", "StageName")))
        if kind == "AWS::CloudWatch::Alarm" and "AlarmName" in template.properties(name):
            return str(self.value(template.properties(name)["AlarmName"],
                                  ("Resources", name, "Properties", "AlarmName")))
        return name  # (an alarm without AlarmName: CloudFormation generates its name; the logical id stands in)

    def _version_function_arn(self, logical: str) -> str:
        function = self.value(self.template.properties(logical).get("FunctionName"),
                              ("Resources", logical, "Properties", "FunctionName"))
        return self.function_arn(self.function_name(self.function_logical(function)))

    def get_att(self, logical: str, attribute: str, path: KeyPath) -> Any:
        """What `Fn::GetAtt [logical, attribute]` returns."""
        kind = self.template.type_of(logical)
        if kind is None and logical == SAM_IMPLICIT_API:
            kind = SAM_API
        if kind in FUNCTION_TYPES and attribute == "Arn":
            return self.function_arn(self.function_name(logical))
        if kind in API_TYPES and attribute == "RootResourceId":
            return _RESOURCE_MARK + "/"
        if kind == VERSION and attribute == "Version":
            return self.version_number(logical)
        if kind == VERSION and attribute == "FunctionArn":
            return self._version_function_arn(logical)
        if kind == "AWS::IAM::Role" and attribute == "Arn":
            return f"arn:aws:iam::{self.template.account_id}:role/{logical}"
        if kind is None:
            raise Unresolved(f"Unresolved resource dependencies [{logical}]")
        raise Unresolved(f"Fn::GetAtt {logical}.{attribute} ({kind}) is not supported")

    def condition(self, name: str) -> bool:
        """The value of a named condition."""
        conditions = self.template.data.get("Conditions") or {}
        if name not in conditions:
            raise Unresolved(f"no condition {name}")
        return bool(self.value(conditions[name], ("Conditions", name)))

    def value(self, value: Any, path: KeyPath) -> Any:
        """Evaluate every intrinsic inside `value`; AWS::NoValue entries disappear from lists and mappings."""
        if isinstance(value, dict):
            if len(value) == 1:
                ((key, argument),) = value.items()
                if key in INTRINSICS:
                    return self._intrinsic(key, argument, (*path, key))
            result = {}
            for key, item in value.items():
                evaluated = self.value(item, (*path, key))
                if evaluated is not NO_VALUE:
                    result[key] = evaluated
            return result
        if isinstance(value, list):
            items = [self.value(item, (*path, index)) for index, item in enumerate(value)]
            return [item for item in items if item is not NO_VALUE]
        return value

    def _intrinsic(self, name: str, argument: Any, path: KeyPath) -> Any:
        if name == "Ref":
            return self.ref(str(argument), path)
        if name == "Condition":
            return self.condition(str(argument))
        if name == "Fn::GetAtt":
            parts = argument.split(".", 1) if isinstance(argument, str) else list(argument)
            if len(parts) != 2:
                raise Unresolved(f"Fn::GetAtt needs [resource, attribute], got {argument!r}")
            return self.get_att(str(parts[0]), str(self.value(parts[1], path)), path)
        if name == "Fn::Sub":
            return self.sub(argument, path)
        if name == "Fn::Join":
            delimiter, items = argument
            items = self.value(items, (*path, 1))
            return str(delimiter).join(_text(item) for item in items)
        if name == "Fn::Select":
            index, items = self.value(argument, path)
            return items[int(index)]
        if name == "Fn::Split":
            delimiter, source = self.value(argument, path)
            return str(source).split(str(delimiter))
        if name == "Fn::If":
            condition, when_true, when_false = argument
            chosen = (1, when_true) if self.condition(str(condition)) else (2, when_false)
            return self.value(chosen[1], (*path, chosen[0]))
        if name == "Fn::Equals":
            left, right = self.value(argument, path)
            return _text(left) == _text(right)
        if name == "Fn::Not":
            return not self.value(argument[0], (*path, 0))
        if name == "Fn::And":
            return all(self.value(item, (*path, index)) for index, item in enumerate(argument))
        if name == "Fn::Or":
            return any(self.value(item, (*path, index)) for index, item in enumerate(argument))
        if name == "Fn::FindInMap":
            map_name, first, second = self.value(argument, path)
            try:
                return self.template.data["Mappings"][map_name][first][second]
            except (KeyError, TypeError):
                raise Unresolved(f"Fn::FindInMap [{map_name}, {first}, {second}] finds nothing") from None
        if name == "Fn::Base64":
            return base64.b64encode(_text(self.value(argument, path)).encode()).decode()
        raise Unresolved(f"{name} is not supported")

    def sub(self, argument: Any, path: KeyPath) -> str:
        """Fn::Sub: `${Name}`, `${Resource.Attr}`, variables of the [string, map] form, `${!Literal}`."""
        if isinstance(argument, list) and len(argument) == 2 and isinstance(argument[1], dict):
            template_string = argument[0]
            variables = {key: self.value(item, (*path, 1, key)) for key, item in argument[1].items()}
        else:
            template_string, variables = argument, {}
        if not isinstance(template_string, str):
            raise Unresolved("Fn::Sub needs a string or [string, {variables}]")

        def replace(match: re.Match[str]) -> str:
            name = match.group(1)
            if name.startswith("!"):
                return "${" + name[1:] + "}"
            if name in variables:
                return _text(variables[name])
            if name.startswith("stageVariables."):
                self.stage_variable_subs.append(path)
                return match.group(0)
            if "." in name and self.template.type_of(name.split(".", 1)[0]) is not None:
                logical, attribute = name.split(".", 1)
                return _text(self.get_att(logical, attribute, path))
            return _text(self.ref(name, path))

        return _SUB_REFERENCE.sub(replace, template_string)


def _flag(value: Any) -> bool:
    """A CloudFormation boolean (true/false, or their text)."""
    if isinstance(value, bool):
        return value
    if str(value).lower() in ("true", "false"):
        return str(value).lower() == "true"
    raise Unresolved(f"{value!r} is not a boolean")


def _text(value: Any) -> str:
    if value is NO_VALUE:
        raise Unresolved("AWS::NoValue used as a string")
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


# ---- translation ---------------------------------------------------------------------------------------------
_KNOWN = {
    FUNCTION: {"FunctionName", "Runtime", "Handler", "Code", "MemorySize", "Timeout", "Environment", "Description",
               "ReservedConcurrentExecutions"},
    SAM_FUNCTION: {"FunctionName", "Runtime", "Handler", "CodeUri", "InlineCode", "MemorySize", "Timeout",
                   "Environment", "Description", "ReservedConcurrentExecutions", "Events", "AutoPublishAlias",
                   "DeploymentPreference"},
    VERSION: {"FunctionName", "Description"},
    ALIAS: {"FunctionName", "FunctionVersion", "Name", "RoutingConfig", "Description"},
    PERMISSION: {"FunctionName", "Action", "Principal", "SourceArn", "SourceAccount"},
    REST_API: {"Name", "Description", "BinaryMediaTypes", "Body"},
    SAM_API: {"Name", "Description", "BinaryMediaTypes", "DefinitionBody", "DefinitionUri", "StageName", "Variables",
              "CanarySetting"},
    RESOURCE: {"RestApiId", "ParentId", "PathPart"},
    METHOD: {"RestApiId", "ResourceId", "HttpMethod", "AuthorizationType", "AuthorizerId", "Integration",
             "OperationName", "MethodResponses", "RequestValidatorId", "RequestModels", "RequestParameters"},
    MODEL: {"RestApiId", "Name", "ContentType", "Schema", "Description"},
    REQUEST_VALIDATOR: {"RestApiId", "Name", "ValidateRequestBody", "ValidateRequestParameters"},
    GATEWAY_RESPONSE: {"RestApiId", "ResponseType", "StatusCode", "ResponseParameters", "ResponseTemplates"},
    AUTHORIZER: {"RestApiId", "Name", "Type", "AuthorizerUri", "IdentitySource", "IdentityValidationExpression",
                 "AuthorizerResultTtlInSeconds", "AuthorizerCredentials"},
    DEPLOYMENT: {"RestApiId", "Description", "StageName", "StageDescription", "DeploymentCanarySettings"},
    STAGE: {"RestApiId", "StageName", "DeploymentId", "Variables", "CanarySetting", "Description"},
}
_INTEGRATION_KNOWN = {"Type", "Uri", "IntegrationHttpMethod", "TimeoutInMillis", "RequestTemplates",
                      "IntegrationResponses", "PassthroughBehavior", "RequestParameters"}
_PHASES = {FUNCTION: 0, SAM_FUNCTION: 0, VERSION: 1, ALIAS: 2, REST_API: 3, SAM_API: 3, RESOURCE: 4, AUTHORIZER: 4,
           GATEWAY_RESPONSE: 4, MODEL: 4, REQUEST_VALIDATOR: 4, METHOD: 5,
           DEPLOYMENT: 6, STAGE: 7, PERMISSION: 8}


def _inline_code(source: str) -> str:
    """Write ZipFile source to the cache as index.js; returns the folder."""
    digest = hashlib.sha256(source.encode()).hexdigest()[:16]
    folder = cache_dir() / "inline-code" / digest
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / "index.js"
    if not target.exists() or target.read_text(encoding="utf-8") != source:
        target.write_text(source, encoding="utf-8")
    return str(folder)


class TemplateTranslator:
    """Translates one Template into `out.data` (our config), recording lines, grants and unsupported items."""

    def __init__(self, template: Template, out: Translation) -> None:
        self.template = template
        self.out = out
        self.ev = Evaluator(template)
        self.data = out.data
        self.functions: dict[str, Any] = self.data.setdefault("functions", {})
        self.apis: dict[str, Any] = self.data.setdefault("restApis", {})
        self.pending_canaries: list[tuple[str, str, str, dict[str, Any], KeyPath]] = []
        out.template = template
        out.grants = [] if out.grants is None else out.grants

    def put(self, out_path: KeyPath, template_path: KeyPath) -> None:
        """Record that an output key comes from a template key."""
        self.out.put(out_path, self.template.line(template_path), self.template.origin(template_path))

    def value(self, value: Any, path: KeyPath) -> Any:
        """Evaluate a property."""
        return self.ev.value(value, path)

    def run(self) -> None:
        """Translate every resource, in dependency order."""
        template = self.template
        metadata = template.metadata
        self.data.setdefault("region", template.region)
        self.data.setdefault("accountId", template.account_id)
        if "backend" in metadata:
            self.data["backend"] = metadata["backend"]
        self.out.acknowledge.extend(finding for finding in map(acknowledged_finding, metadata.get("acknowledge") or [])
                                    if finding is not None)
        if isinstance(metadata.get("acknowledge"), list):  # kept, with the reasons, for an export of this file
            self.data["acknowledge"] = list(metadata["acknowledge"])
            self.put(("acknowledge",), ("Metadata", METADATA_KEY, "acknowledge"))
        ordered = sorted(template.resources.items(), key=lambda item: _PHASES.get(str(item[1].get("Type")), 9))
        for logical, resource in ordered:
            kind = str(resource.get("Type"))
            path = ("Resources", logical)
            if "Condition" in resource:
                try:
                    if not self.ev.condition(str(resource["Condition"])):
                        continue
                except Unresolved as error:
                    self.out.note(f"{logical}: Condition: {error}; translated as if true")
            handler = getattr(self, f"_{str(kind).replace('::', '_').lower()}", None)
            if handler is None:
                self.out.note(f"{logical}: resource type {kind} is not emulated")
                continue
            for name in self.template.properties(logical):
                if kind == STAGE and name == "CanarySettings":
                    continue  # misspelt yet served and exported as CanarySetting; `check` reports it (see the Stage)
                if name not in _KNOWN.get(kind, set()) and name not in NO_LOCAL_EFFECT:
                    self.out.note(f"{logical} ({kind}): property {name} is not supported (ignored)")
            try:
                handler(logical, self.template.properties(logical), (*path, "Properties"))
            except (Unresolved, ValueError, TypeError, KeyError, IndexError) as error:
                where = f"{template.key(path)} (line {template.line(path)})"
                self.out.note(f"{logical} ({kind}) at {where}: not translated: {error}")
        self._apply_canaries()

    # functions
    def _function_entry(self, logical: str, properties: dict[str, Any], path: KeyPath, code: str) -> None:
        name = self.ev.function_name(logical)
        out_path = ("functions", name)
        self.put(out_path, path[:-1])
        entry: dict[str, Any] = {"code": code}
        fields = (("Runtime", "runtime"), ("Handler", "handler"), ("MemorySize", "memorySize"),
                  ("Timeout", "timeout"), ("Description", "description"),
                  ("ReservedConcurrentExecutions", "reservedConcurrency"))
        for prop, key in fields:
            if prop in properties:
                entry[key] = self.value(properties[prop], (*path, prop))
                self.put((*out_path, key), (*path, prop))
        variables = self.value(properties.get("Environment") or {}, (*path, "Environment")).get("Variables")
        if variables:
            entry["environment"] = {key: _text(item) for key, item in variables.items()}
            self.put((*out_path, "environment"), (*path, "Environment", "Variables"))
        self.functions[name] = entry

    def _aws_lambda_function(self, logical: str, properties: dict[str, Any], path: KeyPath) -> None:
        code = self.value(properties.get("Code"), (*path, "Code"))
        if isinstance(code, str) and not code.startswith("s3://"):
            folder = code
        elif isinstance(code, dict) and isinstance(code.get("ZipFile"), str):
            folder = _inline_code(code["ZipFile"])
        else:
            kind = ", ".join(sorted(code)) if isinstance(code, dict) else repr(code)
            raise Unresolved(f"Code {kind}: only a local folder or ZipFile can run locally (S3 code and images are "
                             "not fetched)")
        self._function_entry(logical, properties, path, folder)

    def _aws_serverless_function(self, logical: str, properties: dict[str, Any], path: KeyPath) -> None:
        properties = {**((self.template.data.get("Globals") or {}).get("Function") or {}), **properties}
        for unsupported in ("PackageType", "Layers"):
            if unsupported in properties:
                self.out.note(f"{logical}: SAM {unsupported} is not supported")
        if "InlineCode" in properties:
            folder = _inline_code(str(self.value(properties["InlineCode"], (*path, "InlineCode"))))
        else:
            code = self.value(properties.get("CodeUri", "."), (*path, "CodeUri"))
            if not isinstance(code, str) or code.startswith("s3://"):
                raise Unresolved(f"CodeUri {code!r}: only a local folder can run locally")
            folder = code
        self._function_entry(logical, properties, path, folder)
        self._sam_deployment_preference(logical, properties, path)
        for event_name, event in (properties.get("Events") or {}).items():
            if (event or {}).get("Type") != "Api":
                self.out.note(f"{logical}: event {event_name} of type {(event or {}).get('Type')} is not supported")
                continue
            self._sam_api_event(logical, event_name, event.get("Properties") or {},
                                (*path, "Events", event_name, "Properties"))

    def _sam_deployment_preference(self, logical: str, properties: dict[str, Any], path: KeyPath) -> None:
        """AutoPublishAlias and DeploymentPreference (Type, Alarms, Hooks, Enabled), as `lambda-canary rollout
        --alias FUNCTION:ALIAS` runs them (AWS SAM specification, AWS::Serverless::Function, DeploymentPreference)."""
        out_path = ("functions", self.ev.function_name(logical))
        entry = self.functions[out_path[1]]
        if "AutoPublishAlias" in properties:
            entry["autoPublishAlias"] = _text(self.value(properties["AutoPublishAlias"], (*path, "AutoPublishAlias")))
            self.put((*out_path, "autoPublishAlias"), (*path, "AutoPublishAlias"))
        if "DeploymentPreference" not in properties:
            return
        where = (*path, "DeploymentPreference")
        raw = self.value(properties["DeploymentPreference"], where) or {}
        preference: dict[str, Any] = {"type": _text(raw.get("Type", ""))}
        if raw.get("Alarms"):
            preference["alarms"] = [_text(alarm) for alarm in raw["Alarms"]]
        hooks = {key: _text(raw["Hooks"][name]) for name, key in (("PreTraffic", "preTraffic"),
                                                                   ("PostTraffic", "postTraffic"))
                 if name in (raw.get("Hooks") or {})}
        if hooks:
            preference["hooks"] = hooks
        if "Enabled" in raw:
            preference["enabled"] = raw["Enabled"] in (True, "true", "True")
        for unsupported in sorted(set(raw) - {"Type", "Alarms", "Hooks", "Enabled"}):
            self.out.note(f"{logical}: DeploymentPreference {unsupported} is not supported (ignored)")
        entry["deploymentPreference"] = preference
        self.put((*out_path, "deploymentPreference"), where)

    def _sam_api_event(self, logical: str, event: str, properties: dict[str, Any], path: KeyPath) -> None:
        api_logical = SAM_IMPLICIT_API
        if "RestApiId" in properties:
            api_logical = self.ev.api_logical(self.value(properties["RestApiId"], (*path, "RestApiId")))
        api_name = self.ev.api_name(api_logical)
        api = self._api(api_name, path)
        if api_logical == SAM_IMPLICIT_API and "Prod" not in api["stages"]:
            api["deployments"].setdefault("prod", {})
            api["stages"]["Prod"] = {"deploymentId": "prod"}
            self.out.note("SAM implicit API ServerlessRestApi: only its Prod stage is emulated")
        route = str(self.value(properties.get("Path"), (*path, "Path")))
        verb = str(self.value(properties.get("Method"), (*path, "Method"))).upper()
        verb = "ANY" if verb == "ANY" else verb
        function_name = self.ev.function_name(logical)
        uri = (f"arn:aws:apigateway:{self.template.region}:lambda:path/2015-03-31/functions/"
               f"{self.ev.function_arn(function_name)}/invocations")
        out_path = ("restApis", api_name, "resources", route, verb)
        api["resources"].setdefault(route, {})[verb] = {"integration": {"type": "AWS_PROXY", "uri": uri}}
        self.put(out_path, path)
        self.put((*out_path, "integration", "uri"), path)
        assert self.out.grants is not None
        self.out.grants.append(Grant(function_name, api_id_for(api_name), self.template.line(path),
                                     self.template.key(path)))

    def _aws_lambda_version(self, logical: str, properties: dict[str, Any], path: KeyPath) -> None:
        function = self.ev.function_logical(self.value(properties.get("FunctionName"), (*path, "FunctionName")))
        number = self.ev.version_number(logical)
        name = self.ev.function_name(function)
        version: dict[str, Any] = {}
        if "Description" in properties:
            version["description"] = str(self.value(properties["Description"], (*path, "Description")))
        self.functions[name].setdefault("versions", {})[number] = version
        self.put(("functions", name, "versions", number), path[:-1])

    def _aws_lambda_alias(self, logical: str, properties: dict[str, Any], path: KeyPath) -> None:
        function = self.ev.function_logical(self.value(properties.get("FunctionName"), (*path, "FunctionName")))
        name = self.ev.function_name(function)
        alias_name = str(self.value(properties.get("Name"), (*path, "Name")))
        alias: dict[str, Any] = {"functionVersion": _version_of(self.value(properties.get("FunctionVersion"),
                                                                            (*path, "FunctionVersion")))}
        routing = self.value(properties.get("RoutingConfig") or {}, (*path, "RoutingConfig"))
        weights = {_version_of(item["FunctionVersion"]): float(item["FunctionWeight"])
                   for item in routing.get("AdditionalVersionWeights") or []}
        if weights:
            alias["routingConfig"] = {"additionalVersionWeights": weights}
        if "Description" in properties:
            alias["description"] = str(self.value(properties["Description"], (*path, "Description")))
        self.functions[name].setdefault("aliases", {})[alias_name] = alias
        self.put(("functions", name, "aliases", alias_name), path[:-1])

    def _aws_lambda_permission(self, logical: str, properties: dict[str, Any], path: KeyPath) -> None:
        principal = str(self.value(properties.get("Principal"), (*path, "Principal")))
        action = str(self.value(properties.get("Action"), (*path, "Action")))
        if principal != APIGATEWAY_PRINCIPAL or action not in ("lambda:InvokeFunction", "lambda:*"):
            self.out.note(f"{logical}: permission for {principal} {action} has no local effect")
            return
        function = _text(self.value(properties.get("FunctionName"), (*path, "FunctionName")))
        api_id = None
        source = None
        if "SourceArn" in properties:
            source = _text(self.value(properties["SourceArn"], (*path, "SourceArn")))
            match = re.match(r"^arn:aws:execute-api:[^:]*:[^:]*:([^/]+)", source)
            api_id = match.group(1) if match and match.group(1) != "*" else None
        assert self.out.grants is not None
        self.out.grants.append(Grant(function, api_id, self.template.line(path[:-1]), self.template.key(path[:-1]),
                                     source))

    # APIs
    def _api(self, name: str, path: KeyPath) -> dict[str, Any]:
        if name not in self.apis:
            self.apis[name] = {"resources": {}, "deployments": {}, "stages": {}}
            self.put(("restApis", name), path)
        return self.apis[name]

    def _api_of(self, properties: dict[str, Any], path: KeyPath) -> tuple[str, dict[str, Any]]:
        api_logical = self.ev.api_logical(self.value(properties.get("RestApiId"), (*path, "RestApiId")))
        name = self.ev.api_name(api_logical)
        return name, self._api(name, ("Resources", api_logical))

    def _aws_apigateway_restapi(self, logical: str, properties: dict[str, Any], path: KeyPath) -> None:
        name = self.ev.api_name(logical)
        api = self._api(name, path[:-1])
        if "Description" in properties:
            api["description"] = str(self.value(properties["Description"], (*path, "Description")))
        if "BinaryMediaTypes" in properties:
            api["binaryMediaTypes"] = list(self.value(properties["BinaryMediaTypes"], (*path, "BinaryMediaTypes")))
        if "Body" in properties:
            self._openapi_body(name, api, properties["Body"], (*path, "Body"))

    def _openapi_body(self, name: str, api: dict[str, Any], body: Any, path: KeyPath) -> None:
        from emulator.formats.openapi import translate_paths

        document = self.value(body, path)
        if not isinstance(document, dict):
            raise Unresolved("the API's Body must be an inline OpenAPI mapping")

        def where(key_path: KeyPath) -> tuple[int | None, KeyPath]:
            return self.template.line((*path, *key_path)), self.template.origin((*path, *key_path))

        api["resources"].update(translate_paths(document, self.out, ("restApis", name), where))
        from emulator.apigateway.openapi import authorizers_from_document, gateway_responses_from_document

        if authorizers_from_document(document):
            api.setdefault("authorizers", {}).update(authorizers_from_document(document))
        if gateway_responses_from_document(document):
            api.setdefault("gatewayResponses", {}).update(gateway_responses_from_document(document))
        if document.get("x-amazon-apigateway-binary-media-types"):
            api["binaryMediaTypes"] = list(document["x-amazon-apigateway-binary-media-types"])

    def _aws_serverless_api(self, logical: str, properties: dict[str, Any], path: KeyPath) -> None:
        properties = {**((self.template.data.get("Globals") or {}).get("Api") or {}), **properties}
        name = self.ev.api_name(logical)
        api = self._api(name, path[:-1])
        if "DefinitionBody" in properties:
            self._openapi_body(name, api, properties["DefinitionBody"], (*path, "DefinitionBody"))
        elif isinstance(properties.get("DefinitionUri"), str):
            from emulator.formats.openapi import translate_paths

            document_path = self.template.path.parent / properties["DefinitionUri"]
            document, lines = parse_template_text(read_text(document_path), document_path)
            api["resources"].update(translate_paths(document, self.out, ("restApis", name),
                                                    lambda key_path: (lines.get(key_path), key_path)))
        elif "DefinitionUri" in properties:
            self.out.note(f"{logical}: DefinitionUri in S3 is not fetched")
        stage_name = str(self.value(properties.get("StageName"), (*path, "StageName")))
        deployment = f"{logical}Deployment"
        api["deployments"][deployment] = {}
        stage: dict[str, Any] = {"deploymentId": deployment}
        stage_path = ("restApis", name, "stages", stage_name)
        self.put(stage_path, (*path, "StageName"))
        if "Variables" in properties:
            stage["variables"] = _strings(self.value(properties["Variables"], (*path, "Variables")))
            self._put_mapping((*stage_path, "variables"), (*path, "Variables"), stage["variables"])
        if "CanarySetting" in properties:
            stage["canarySettings"] = self._canary(self.value(properties["CanarySetting"], (*path, "CanarySetting")),
                                                   stage_path, (*path, "CanarySetting"), None)
        api["stages"][stage_name] = stage

    def _aws_apigateway_resource(self, logical: str, properties: dict[str, Any], path: KeyPath) -> None:
        self.ev.resource_path(logical)  # resources carry no methods of their own; paths come with the methods

    def _aws_apigateway_method(self, logical: str, properties: dict[str, Any], path: KeyPath) -> None:
        api_name, api = self._api_of(properties, path)
        route = self.ev.path_of(self.value(properties.get("ResourceId"), (*path, "ResourceId")))
        verb = str(self.value(properties.get("HttpMethod"), (*path, "HttpMethod"))).upper()
        authorization = str(self.value(properties.get("AuthorizationType", "NONE"), (*path, "AuthorizationType")))
        authorizer = None
        if authorization == "CUSTOM" and properties.get("AuthorizerId") is not None:
            authorizer = self._authorizer_name(str(self.value(properties["AuthorizerId"], (*path, "AuthorizerId"))))
        elif authorization != "NONE":
            self.out.note(f"{logical}: AuthorizationType {authorization} is not emulated (served without "
                          "authorization)")
        out_path = ("restApis", api_name, "resources", route, verb)
        method: dict[str, Any] = {}
        if "OperationName" in properties:
            method["operationName"] = str(self.value(properties["OperationName"], (*path, "OperationName")))
        integration = properties.get("Integration")
        if integration is None:
            raise Unresolved("a method without Integration cannot be deployed")
        method["integration"] = self._integration(logical, integration, (*path, "Integration"),
                                                  (*out_path, "integration"))
        if authorizer is not None:
            method["authorizer"] = authorizer
            self.put((*out_path, "authorizer"), (*path, "AuthorizerId"))
        if properties.get("RequestValidatorId") is not None:
            method["requestValidator"] = self._named(REQUEST_VALIDATOR, _text(self.value(
                properties["RequestValidatorId"], (*path, "RequestValidatorId"))))
            self.put((*out_path, "requestValidator"), (*path, "RequestValidatorId"))
        for prop, key in (("RequestModels", "requestModels"), ("RequestParameters", "requestParameters")):
            if prop in properties:
                value = self.value(properties[prop], (*path, prop))
                if not isinstance(value, dict):
                    raise Unresolved(f"{prop} must be a mapping")
                method[key] = {str(name): (self._named(MODEL, _text(self.value(item, (*path, prop, name))))
                                           if key == "requestModels" else _flag(self.value(item, (*path, prop, name))))
                               for name, item in value.items()}
                self.put((*out_path, key), (*path, prop))
        api["resources"].setdefault(route, {})[verb] = method
        self.put(out_path, path[:-1])

    def _integration(self, logical: str, raw: Any, path: KeyPath, out_path: KeyPath) -> dict[str, Any]:
        for name in raw:
            if name not in _INTEGRATION_KNOWN:
                self.out.note(f"{logical}: Integration.{name} is not supported (ignored)")
        kind = str(self.value(raw.get("Type"), (*path, "Type"))).upper()
        if kind not in ("AWS_PROXY", "AWS", "HTTP_PROXY", "HTTP", "MOCK"):
            raise Unresolved(f"integration type {kind} is not emulated (AWS_PROXY, AWS with a Lambda URI, "
                             "HTTP_PROXY, HTTP and MOCK are)")
        integration: dict[str, Any] = {"type": kind}
        self.put((*out_path, "type"), (*path, "Type"))
        fields = (("Uri", "uri"), ("IntegrationHttpMethod", "integrationHttpMethod"),
                  ("TimeoutInMillis", "timeoutInMillis"), ("RequestTemplates", "requestTemplates"),
                  ("PassthroughBehavior", "passthroughBehavior"), ("RequestParameters", "requestParameters"))
        for prop, key in fields:
            if prop in raw:
                integration[key] = self.value(raw[prop], (*path, prop))
                self.put((*out_path, key), (*path, prop))
        responses = {}
        for index, response in enumerate(self.value(raw.get("IntegrationResponses") or [],
                                                    (*path, "IntegrationResponses"))):
            entry = {}
            if response.get("SelectionPattern"):
                entry["selectionPattern"] = str(response["SelectionPattern"])
            if response.get("ResponseTemplates"):
                entry["responseTemplates"] = response["ResponseTemplates"]
            if response.get("ResponseParameters"):
                entry["responseParameters"] = response["ResponseParameters"]
            status = str(response.get("StatusCode", "200"))
            responses[status] = entry
            self.put((*out_path, "integrationResponses", status), (*path, "IntegrationResponses", index))
        if responses:
            integration["integrationResponses"] = responses
        return integration

    def _aws_apigateway_authorizer(self, logical: str, properties: dict[str, Any], path: KeyPath) -> None:
        api_name, api = self._api_of(properties, path)
        kind = str(self.value(properties.get("Type"), (*path, "Type"))).upper()
        if kind not in ("TOKEN", "REQUEST"):
            raise Unresolved(f"authorizer type {kind} is not emulated (TOKEN and REQUEST are)")
        block: dict[str, Any] = {"type": kind}
        name = self._authorizer_name(logical)
        out_path = ("restApis", api_name, "authorizers", name)
        for prop, key in (("AuthorizerUri", "authorizerUri"), ("IdentitySource", "identitySource"),
                          ("IdentityValidationExpression", "identityValidationExpression"),
                          ("AuthorizerResultTtlInSeconds", "authorizerResultTtlInSeconds")):
            if prop in properties:
                value = self.value(properties[prop], (*path, prop))
                block[key] = int(value) if key == "authorizerResultTtlInSeconds" else _text(value)
                self.put((*out_path, key), (*path, prop))
        api.setdefault("authorizers", {})[name] = block
        self.put(out_path, path[:-1])

    def _aws_apigateway_gatewayresponse(self, logical: str, properties: dict[str, Any], path: KeyPath) -> None:
        """AWS::ApiGateway::GatewayResponse: RestApiId, ResponseType, StatusCode, ResponseParameters and
        ResponseTemplates, as PutGatewayResponse takes them; an unknown ResponseType is refused by the config
        check with AWS's list."""
        api_name, api = self._api_of(properties, path)
        kind = _text(self.value(properties.get("ResponseType"), (*path, "ResponseType")))
        block: dict[str, Any] = {}
        out_path = ("restApis", api_name, "gatewayResponses", kind)
        if "StatusCode" in properties:
            block["statusCode"] = _text(self.value(properties["StatusCode"], (*path, "StatusCode")))
            self.put((*out_path, "statusCode"), (*path, "StatusCode"))
        for prop, key in (("ResponseParameters", "responseParameters"), ("ResponseTemplates", "responseTemplates")):
            if prop in properties:
                value = self.value(properties[prop], (*path, prop))
                if not isinstance(value, dict):
                    raise Unresolved(f"{prop} must be a mapping")
                block[key] = {str(name): _text(self.value(item, (*path, prop, name))) for name, item in value.items()}
                self.put((*out_path, key), (*path, prop))
        api.setdefault("gatewayResponses", {})[kind] = block
        self.put(out_path, (*path, "ResponseType"))

    def _aws_apigateway_model(self, logical: str, properties: dict[str, Any], path: KeyPath) -> None:
        """AWS::ApiGateway::Model: Name (else the logical id), ContentType, Schema (an object or JSON text) and
        Description, as CreateModel takes them."""
        api_name, api = self._api_of(properties, path)
        name = self._named(MODEL, logical)
        out_path = ("restApis", api_name, "models", name)
        block: dict[str, Any] = {}
        for prop, key in (("ContentType", "contentType"), ("Schema", "schema"), ("Description", "description")):
            if prop in properties:
                value = self.value(properties[prop], (*path, prop))
                block[key] = value if key == "schema" and isinstance(value, dict) else _text(value)
                self.put((*out_path, key), (*path, prop))
        api.setdefault("models", {})[name] = block
        self.put(out_path, path[:-1])

    def _aws_apigateway_requestvalidator(self, logical: str, properties: dict[str, Any], path: KeyPath) -> None:
        """AWS::ApiGateway::RequestValidator: Name (else the logical id), ValidateRequestBody and
        ValidateRequestParameters."""
        api_name, api = self._api_of(properties, path)
        name = self._named(REQUEST_VALIDATOR, logical)
        out_path = ("restApis", api_name, "requestValidators", name)
        block: dict[str, Any] = {}
        for prop, key in (("ValidateRequestBody", "validateRequestBody"),
                          ("ValidateRequestParameters", "validateRequestParameters")):
            if prop in properties:
                block[key] = _flag(self.value(properties[prop], (*path, prop)))
                self.put((*out_path, key), (*path, prop))
        api.setdefault("requestValidators", {})[name] = block
        self.put(out_path, path[:-1])

    def _named(self, kind: str, reference: str) -> str:
        """The Name of the `kind` resource a Ref gives the logical id of (else the reference itself: a model's name
        written out, or a logical id without Name)."""
        if self.template.type_of(reference) != kind or "Name" not in self.template.properties(reference):
            return reference
        return _text(self.value(self.template.properties(reference)["Name"], ("Resources", reference, "Properties",
                                                                              "Name")))

    def _authorizer_name(self, logical: str) -> str:
        """An AWS::ApiGateway::Authorizer is named by its Name (else its logical id); `Ref` gives the logical id."""
        if self.template.type_of(logical) != AUTHORIZER or "Name" not in self.template.properties(logical):
            return logical
        return _text(self.value(self.template.properties(logical)["Name"], ("Resources", logical, "Properties",
                                                                            "Name")))

    def _aws_apigateway_deployment(self, logical: str, properties: dict[str, Any], path: KeyPath) -> None:
        api_name, api = self._api_of(properties, path)
        deployment_id = self.ev.deployment_id(logical)
        deployment: dict[str, Any] = {}
        if "Description" in properties:
            deployment["description"] = str(self.value(properties["Description"], (*path, "Description")))
        api["deployments"][deployment_id] = deployment
        self.put(("restApis", api_name, "deployments", deployment_id), path[:-1])
        stage_name = self.value(properties.get("StageName", NO_VALUE), (*path, "StageName"))
        canary = properties.get("DeploymentCanarySettings")
        if stage_name is NO_VALUE or stage_name is None:
            if canary is not None:
                self.out.issue(self.template.line((*path, "DeploymentCanarySettings")), "canary-without-stage",
                               f"Deployment {logical} has DeploymentCanarySettings but no StageName: AWS answers "
                               "400 'Invalid deployment content specified.Non null and non empty stageName must "
                               "be provided for canary deployment'",
                               "set StageName to the (existing) stage the canary belongs to, or move the canary to "
                               "the Stage's CanarySettings", logical,
                               key=self.template.key((*path, "DeploymentCanarySettings")))
            return
        stage_name = str(stage_name)
        if canary is not None:
            settings = self.value(canary, (*path, "DeploymentCanarySettings"))
            self.pending_canaries.append((api_name, str(stage_name), deployment_id, settings,
                                          (*path, "DeploymentCanarySettings")))
            return
        stage_path = ("restApis", api_name, "stages", stage_name)
        stage: dict[str, Any] = {"deploymentId": deployment_id}
        self.put(stage_path, (*path, "StageName"))
        description = self.value(properties.get("StageDescription") or {}, (*path, "StageDescription"))
        for name in description:
            if name not in ("Variables", "Description"):  # StageDescription.CanarySetting included
                self.out.note(f"{logical}: StageDescription.{name} is not supported (ignored)")
        if description.get("Variables"):
            stage["variables"] = _strings(description["Variables"])
            self._put_mapping((*stage_path, "variables"), (*path, "StageDescription", "Variables"), stage["variables"])
        if "Description" in description:
            stage["description"] = str(description["Description"])
        api["stages"][stage_name] = stage

    def _aws_apigateway_stage(self, logical: str, properties: dict[str, Any], path: KeyPath) -> None:
        api_name, api = self._api_of(properties, path)
        stage_name = str(self.value(properties.get("StageName"), (*path, "StageName")))
        stage_path = ("restApis", api_name, "stages", stage_name)
        self.put(stage_path, path[:-1])
        stage: dict[str, Any] = {}
        if "DeploymentId" in properties:
            stage["deploymentId"] = str(self.value(properties["DeploymentId"], (*path, "DeploymentId")))
            self.put((*stage_path, "deploymentId"), (*path, "DeploymentId"))
        if "Description" in properties:
            stage["description"] = str(self.value(properties["Description"], (*path, "Description")))
        if "Variables" in properties:
            stage["variables"] = _strings(self.value(properties["Variables"], (*path, "Variables")))
            self._put_mapping((*stage_path, "variables"), (*path, "Variables"), stage["variables"])
        if "CanarySettings" in properties:
            self.out.issue(self.template.line((*path, "CanarySettings")), "cfn-unknown-property",
                           f"AWS::ApiGateway::Stage {logical} has no property CanarySettings: CloudFormation rejects "
                           "the template ('Encountered unsupported property CanarySettings'); served here as the "
                           "canary it was meant to be", "rename it CanarySetting (singular; Deployment's is "
                           "DeploymentCanarySettings)", logical, key=self.template.key((*path, "CanarySettings")))
        for name in ("CanarySetting", "CanarySettings"):
            if name in properties and "canarySettings" not in stage:
                stage["canarySettings"] = self._canary(self.value(properties[name], (*path, name)), stage_path,
                                                       (*path, name), None)
        api["stages"][stage_name] = stage

    def _canary(self, settings: dict[str, Any], stage_path: KeyPath, path: KeyPath,
                deployment_id: str | None) -> dict[str, Any]:
        canary: dict[str, Any] = {}
        out_path = (*stage_path, "canarySettings")
        self.put(out_path, path)
        for name, value in settings.items():
            if name == "PercentTraffic":
                canary["percentTraffic"] = float(value)
            elif name == "DeploymentId":
                canary["deploymentId"] = str(value)
            elif name == "StageVariableOverrides":
                overrides = canary["stageVariableOverrides"] = _strings(value)
                self._put_mapping((*out_path, "stageVariableOverrides"), (*path, name), overrides)
                continue
            elif name == "UseStageCache":
                canary["useStageCache"] = bool(value)
            else:
                self.out.note(f"{self.template.key(path)}.{name} is not supported (ignored)")
                continue
            self.put((*out_path, _camel(name)), (*path, name))
        if deployment_id is not None:
            canary["deploymentId"] = deployment_id
        return canary

    def _apply_canaries(self) -> None:
        for api_name, stage_name, deployment_id, settings, path in self.pending_canaries:
            stage = self.apis[api_name]["stages"].get(stage_name)
            if stage is None:
                self.out.issue(self.template.line(path), "canary-stage-missing",
                               f"DeploymentCanarySettings target stage {stage_name}, which this template does not "
                               f"create: AWS answers 400 'Invalid deployment content specified.Stage {stage_name} "
                               "must already be created before making a canary release deployment'",
                               f"create stage {stage_name} (AWS::ApiGateway::Stage) first and make the Deployment "
                               "depend on it, or put the canary in that Stage's CanarySettings", stage_name,
                               key=self.template.key(path))
                continue
            stage["canarySettings"] = self._canary(settings, ("restApis", api_name, "stages", stage_name), path,
                                                   deployment_id)

    def _put_mapping(self, out_path: KeyPath, path: KeyPath, mapping: dict[str, Any]) -> None:
        self.put(out_path, path)
        for key in mapping:
            self.put((*out_path, key), (*path, key))


def _camel(name: str) -> str:
    return name[:1].lower() + name[1:]


def _strings(mapping: Any) -> dict[str, str]:
    if not isinstance(mapping, dict):
        raise Unresolved(f"expected a mapping, got {mapping!r}")
    return {str(key): _text(value) for key, value in mapping.items()}


def _version_of(value: Any) -> str:
    """`1` from `1`, `arn:...:function:f:1` or `$LATEST`."""
    text = _text(value)
    return text.rsplit(":", 1)[-1] if text.startswith("arn:") else text


def translate_template(template: Template, out: Translation) -> Translation:
    """Translate a template into `out` (its data, lines, grants and unsupported list)."""
    TemplateTranslator(template, out).run()
    return out


def load_cloudformation(path: Path) -> Translation:
    """Translate a CloudFormation/SAM template file."""
    return translate_template(load_template(path), Translation(path, "cloudformation"))
