"""serverless.yml (Serverless Framework, AWS provider) translated through CloudFormation into our config.

Variables: `${self:a.b}`, `${opt:stage}`, `${sls:stage}`, `${env:NAME}`, `${aws:region}`, `${aws:accountId}`, with
fallbacks (`${opt:stage, 'dev'}`) and nesting (`${self:custom.${opt:stage}}`). As in the Framework's v3 parser,
`${` followed by a lower-case source name and `:` is a variable; anything else (`${AWS::Region}`, `${FunctionArn}`,
`${stageVariables.x}`, `${!Literal}`) is left for CloudFormation. `${opt:stage}` without a --stage falls back to
provider.stage, then `dev`. With no provider.stage, `${self:provider.stage}` gives `dev` as Framework v1/v2 did
(v3 stops with "Value not found at self source"); `lambda-canary check` reports it. Other sources (file, cf, ssm,
s3, param...) are named as unsupported and left as written.

Each function becomes an AWS::Lambda::Function with the Framework's logical id (`ping-stable` →
`PingDashstableLambdaFunction`), its code folder the serverless.yml folder, and runtime, memorySize (default 1024),
timeout (default 6) and environment from the function or the provider. `http` events become the REST API the
Framework compiles (ApiGatewayRestApi named `${stage}-${service}`, resources, methods with `lambda-proxy` or `lambda`
integrations and their request/response templates, authorizers, permissions, a deployment to the stage); other event
kinds are named as not translated. Then `resources.Resources` (with Conditions,
Mappings, Parameters) is translated as a CloudFormation template. `custom.lambdaCanary` may set `accountId`,
`backend` and `acknowledge` (findings `check` should not report, as `code` or `code:subject`).
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

from emulator.errors import UserError
from emulator.formats.cloudformation import (
    DEFAULT_ACCOUNT,
    DEFAULT_REGION,
    FUNCTION,
    Template,
    parse_template_text,
    read_text,
    translate_template,
)
from emulator.formats.translation import Translation, dotted
from emulator.yaml_source import KeyPath

_VARIABLE = re.compile(r"[a-z][A-Za-z0-9.]*[:(]")
_SOURCE = re.compile(r"^([a-z][A-Za-z0-9]*)(?:\((.*?)\))?:(.*)$", re.DOTALL)
_FUNCTION_KEYS = {"name": "FunctionName", "runtime": "Runtime", "handler": "Handler", "memorySize": "MemorySize",
                  "timeout": "Timeout", "description": "Description", "reservedConcurrency":
                  "ReservedConcurrentExecutions"}
_PROVIDER_KEYS = {"name", "stage", "region", "runtime", "memorySize", "timeout", "environment"}
_NO_LOCAL_EFFECT = {"iam", "iamRoleStatements", "iamManagedPolicies", "deploymentBucket", "logRetentionInDays",
                    "tags", "stackTags", "profile", "lambdaHashingVersion", "versionFunctions", "architecture"}
_TOP_KEYS = {"service", "provider", "functions", "resources", "custom", "frameworkVersion", "org", "app",
             "useDotenv", "variablesResolutionMode", "configValidationMode", "unresolvedVariablesNotificationMode",
             "deprecationNotificationMode", "disabledDeprecations"}
DEFAULT_STAGE = "dev"


def logical_id(function_key: str) -> str:
    """The Framework's logical id of a function: `ping-stable` → `PingDashstableLambdaFunction`."""
    name = function_key.replace("-", "Dash").replace("_", "Underscore")
    return name[:1].upper() + name[1:] + "LambdaFunction"


def _closing_brace(text: str, opening: int) -> int:
    depth = 0
    for index in range(opening, len(text)):
        if text[index] == "{":
            depth += 1
        elif text[index] == "}":
            depth -= 1
            if depth == 0:
                return index
    return -1


def _split_alternatives(content: str) -> list[str]:
    parts, depth, quote, start = [], 0, "", 0
    for index, char in enumerate(content):
        if quote:
            quote = "" if char == quote else quote
        elif char in "'\"":
            quote = char
        elif char == "{":
            depth += 1
        elif char == "}":
            depth -= 1
        elif char == "," and depth == 0:
            parts.append(content[start:index])
            start = index + 1
    parts.append(content[start:])
    return [part.strip() for part in parts]


class VariableResolver:
    """Resolves the Framework's `${source:address}` variables in a parsed serverless.yml."""

    def __init__(self, data: dict[str, Any], stage: str | None, path: Path, out: Translation,
                 line_of: Any) -> None:
        self.data = data
        self.stage_option = stage
        self.path = path
        self.out = out
        self.line_of = line_of
        self._active: list[str] = []
        self.provider_stage_missing_at: KeyPath | None = None

    def effective_stage(self) -> str:
        """--stage, else provider.stage, else `dev`."""
        if self.stage_option:
            return self.stage_option
        provider = self.data.get("provider")
        if isinstance(provider, dict) and "stage" in provider and "provider.stage" not in self._active:
            value = self._lookup("provider.stage", ("provider", "stage"))
            if value is not None:
                return str(value)
        return DEFAULT_STAGE

    def resolve(self, value: Any, path: KeyPath) -> Any:
        """`value` with every variable replaced."""
        if isinstance(value, dict):
            return {key: self.resolve(item, (*path, key)) for key, item in value.items()}
        if isinstance(value, list):
            return [self.resolve(item, (*path, index)) for index, item in enumerate(value)]
        if isinstance(value, str) and "${" in value:
            return self.resolve_string(value, path)
        return value

    def resolve_string(self, text: str, path: KeyPath) -> Any:
        """A string with variables replaced; a string that is one variable takes the variable's value and type."""
        parts: list[str] = []
        index = 0
        while index < len(text):
            start = text.find("${", index)
            if start < 0:
                parts.append(text[index:])
                break
            parts.append(text[index:start])
            end = _closing_brace(text, start + 1)
            if end < 0:
                parts.append(text[start:])
                break
            inner = text[start + 2:end]
            if _VARIABLE.match(inner):
                value = self.variable(str(self.resolve_string(inner, path)), path, text[start:end + 1])
                if start == 0 and end == len(text) - 1:
                    return value
                parts.append(value if isinstance(value, str) else str(value))
            else:
                parts.append("${" + str(self.resolve_string(inner, path)) + "}")
            index = end + 1
        return "".join(parts)

    def variable(self, content: str, path: KeyPath, raw: str) -> Any:
        """The value of one `${...}` (its alternatives tried in order)."""
        for alternative in _split_alternatives(content):
            if alternative[:1] in ("'", '"') and alternative[-1:] == alternative[:1]:
                return alternative[1:-1]
            if re.fullmatch(r"-?\d+(\.\d+)?", alternative):
                return float(alternative) if "." in alternative else int(alternative)
            if alternative in ("true", "false"):
                return alternative == "true"
            match = _SOURCE.match(alternative)
            if match is None:
                raise UserError(f"{self._where(path)}: {dotted(path)}: invalid variable {raw}")
            source, _params, address = match.group(1), match.group(2), match.group(3).strip()
            value = self.source(source, address, path, raw)
            if value is _UNSUPPORTED:
                return raw
            if value is not None:
                return value
        raise UserError(f"{self._where(path)}: {dotted(path)}: cannot resolve variable {raw}: no value found (and no "
                        "default)")

    def source(self, source: str, address: str, path: KeyPath, raw: str) -> Any:
        """One source's value, None when it has none, _UNSUPPORTED when the source is not emulated."""
        if source == "self":
            if address == "provider.stage" and "stage" not in (self.data.get("provider") or {}):
                if self.provider_stage_missing_at is None:
                    self.provider_stage_missing_at = path
                return DEFAULT_STAGE
            return self._lookup(address, tuple(part for part in address.split(".") if part))
        if (source, address) in (("opt", "stage"), ("sls", "stage")):
            if self.stage_option:
                return self.stage_option
            # inside provider.stage itself there is no stage yet: its own fallback applies
            return None if "provider.stage" in self._active else self.effective_stage()
        if source == "opt":
            return None
        if source == "sls" and address == "instanceId":
            return "local"
        if source == "env":
            return os.environ.get(address)
        if source == "aws" and address == "region":
            provider = self.data.get("provider") or {}
            return self.resolve(provider.get("region", DEFAULT_REGION), ("provider", "region"))
        if source == "aws" and address == "accountId":
            return ((self.data.get("custom") or {}).get("lambdaCanary") or {}).get("accountId", DEFAULT_ACCOUNT)
        self.out.note(f"{dotted(path)}: variable {raw}: source `{source}` is not supported (left as written)")
        return _UNSUPPORTED

    def _lookup(self, address: str, key_path: KeyPath) -> Any:
        if address in self._active:
            raise UserError(f"{self._where(key_path)}: {address}: variables refer to each other in a loop")
        node: Any = self.data
        for part in key_path:
            if isinstance(node, dict) and part in node:
                node = node[part]
            elif isinstance(node, list) and str(part).isdigit() and int(part) < len(node):
                node = node[int(part)]
            else:
                return None
        self._active.append(address)
        try:
            return self.resolve(node, key_path)
        finally:
            self._active.pop()

    def _where(self, path: KeyPath) -> str:
        line = self.line_of(path)
        return f"{self.path}:{line}" if line else str(self.path)


_UNSUPPORTED = object()


def load_serverless(path: Path, *, stage: str | None = None) -> Translation:
    """Translate a serverless.yml (and its `resources:` CloudFormation) into our config."""
    raw, lines = parse_template_text(read_text(path), path)
    if not isinstance(raw, dict) or "service" not in raw:
        raise UserError(f"{path}: a serverless.yml is a mapping with `service`")

    def line_of(key_path: KeyPath) -> int | None:
        for end in range(len(key_path), -1, -1):
            found = lines.get(tuple(key_path[:end]))
            if found is not None:
                return found
        return None

    out = Translation(path, "serverless")
    resolver = VariableResolver(raw, stage, path, out, line_of)
    data = resolver.resolve(raw, ())
    effective_stage = resolver.effective_stage()
    provider = data.get("provider") if isinstance(data.get("provider"), dict) else {}
    if not provider or provider.get("name") != "aws":
        out.issue(line_of(("provider",)) or 1, "provider-missing",
                  "no `provider: {name: aws}`: the Serverless Framework refuses a service without a provider name "
                  "(and `${self:provider.*}` variables have nothing to read)",
                  "add `provider:` with `name: aws`, `stage: ${opt:stage, 'dev'}` and `region: us-east-1`",
                  key="provider")
    if resolver.provider_stage_missing_at is not None:
        where = resolver.provider_stage_missing_at
        out.issue(line_of(where), "provider-stage-missing",
                  "`${self:provider.stage}` is used but provider.stage is not set: Framework v1/v2 resolve it to "
                  "`dev` even under `serverless deploy --stage prod` (serverless issue #7767), so functions and the "
                  "API stage get `-dev`/`dev` names and the seed's `update-stage --stage-name prod` finds no stage; "
                  "Framework v3 stops with 'Cannot resolve variable ... Value not found at \"self\" source'",
                  "set `provider.stage: ${opt:stage, 'dev'}` (or write `${sls:stage}`), and deploy with --stage",
                  key=dotted(where))
    for key in data:
        if key not in _TOP_KEYS:
            out.note(f"{key}: top-level key not supported (ignored)")
    for key in provider:
        if key not in _PROVIDER_KEYS and key not in _NO_LOCAL_EFFECT:
            out.note(f"provider.{key}: not supported (ignored)")
    custom = (data.get("custom") or {}).get("lambdaCanary") or {}
    service = data["service"]["name"] if isinstance(data["service"], dict) else str(data["service"])

    resources: dict[str, Any] = {}
    origins: dict[KeyPath, KeyPath] = {}
    environment = provider.get("environment") or {}
    for key, function in (data.get("functions") or {}).items():
        function = function or {}
        logical = logical_id(key)
        base: KeyPath = ("Resources", logical, "Properties")
        origins[("Resources", logical)] = ("functions", key)
        properties: dict[str, Any] = {"FunctionName": f"{service}-{effective_stage}-{key}", "Code": ".",
                                      "MemorySize": provider.get("memorySize", 1024),
                                      "Timeout": provider.get("timeout", 6)}
        for prop in ("Runtime", "MemorySize", "Timeout"):
            origins[(*base, prop)] = ("provider", prop[:1].lower() + prop[1:])
        if "runtime" in provider:
            properties["Runtime"] = provider["runtime"]
        for name, prop in _FUNCTION_KEYS.items():
            if name in function:
                properties[prop] = function[name]
                origins[(*base, prop)] = ("functions", key, name)
        variables = {**environment, **(function.get("environment") or {})}
        if variables:
            properties["Environment"] = {"Variables": variables}
            origins[(*base, "Environment")] = ("functions", key, "environment") if function.get("environment") \
                else ("provider", "environment")
        for name, value in function.items():
            if name == "events":
                kinds = sorted({next(iter(event)) for event in value or [] if isinstance(event, dict)} - {"http"})
                if kinds:
                    out.note(f"functions.{key}.events ({', '.join(kinds)}): not translated; define them under "
                             "resources.Resources")
            elif name not in _FUNCTION_KEYS and name != "environment":
                out.note(f"functions.{key}.{name}: not supported (ignored)")
        resources[logical] = {"Type": FUNCTION, "Properties": properties}
    http_resources(data, service, effective_stage, resources, origins)
    block = data.get("resources") or {}
    if not isinstance(block, dict):
        raise UserError(f"{path}:{line_of(('resources',))}: resources: a list of resource files is not supported")
    for name in block:
        if name not in ("Resources", "Conditions", "Mappings", "Parameters", "Outputs", "Description"):
            out.note(f"resources.{name}: not supported (ignored)")
    for logical in block.get("Resources") or {}:
        if logical in resources:
            out.note(f"resources.Resources.{logical}: overrides the function's generated resource (Framework "
                      "extensions are not merged)")
    resources.update(block.get("Resources") or {})
    template_data = {key: value for key, value in block.items() if key in ("Conditions", "Mappings", "Parameters")}
    template_data["Resources"] = resources

    def origin(key_path: KeyPath) -> KeyPath:
        for end in range(len(key_path), 1, -1):
            mapped = origins.get(tuple(key_path[:end]))
            if mapped is not None:
                return (*mapped, *key_path[end:]) if end > 2 else mapped
        if key_path and key_path[0] in ("Resources", "Conditions", "Mappings", "Parameters"):
            return ("resources", *key_path)
        return key_path

    metadata = {key: custom[key] for key in ("backend", "acknowledge") if key in custom}
    template = Template(path, template_data, line_of, origin, region=str(provider.get("region", DEFAULT_REGION)),
                        account_id=str(custom.get("accountId", DEFAULT_ACCOUNT)),
                        stack_name=f"{service}-{effective_stage}", metadata=metadata)
    return translate_template(template, out)


# ---- `http` events, compiled as the Framework (v3) compiles them --------------------------------------------------
# lib/plugins/aws/package/compile/events/api-gateway: validate.js (integration `lambda` -> AWS with passThrough NEVER
# and DEFAULT_STATUS_CODES unless `response` is given; authorizers by function name or ARN, identitySource
# method.request.header.Authorization and resultTtlInSeconds 300 by default), lib/method/integration.js (the
# default request templates for `lambda`), naming.js (logical ids), permissions.js (SourceArn API/*/*).
_DEFAULT_STATUS_CODES = {
    "200": "", "400": r"[\s\S]*\[400\][\s\S]*", "401": r"[\s\S]*\[401\][\s\S]*",
    "403": r"[\s\S]*\[403\][\s\S]*", "404": r"[\s\S]*\[404\][\s\S]*", "422": r"[\s\S]*\[422\][\s\S]*",
    "500": r"[\s\S]*(Process\s?exited\s?before\s?completing\s?request|\[500\])[\s\S]*",
    "502": r"[\s\S]*\[502\][\s\S]*",
    "504": r"([\s\S]*\[504\][\s\S]*)|(.*Task timed out after \d+\.\d+ seconds$)",
}
_DEFAULT_COMMON_TEMPLATE = """
  #define( $loop )
    {
    #foreach($key in $map.keySet())
        #set( $k = $util.escapeJavaScript($key) )
        #set( $v = $util.escapeJavaScript($map.get($key)).replaceAll("\\\\'", "'") )
        "$k":
          "$v"
          #if( $foreach.hasNext ) , #end
    #end
    }
  #end

  {
    "body": $body,
    "method": "$context.httpMethod",
    "principalId": "$context.authorizer.principalId",
    "stage": "$context.stage",

    "cognitoPoolClaims" : {
       extraCognitoPoolClaims
       "sub": "$context.authorizer.claims.sub"
    },

    #set( $map = $context.authorizer )
    "enhancedAuthContext": $loop,

    #set( $map = $input.params().header )
    "headers": $loop,

    #set( $map = $input.params().querystring )
    "query": $loop,

    #set( $map = $input.params().path )
    "path": $loop,

    #set( $map = $context.identity )
    "identity": $loop,

    #set( $map = $stageVariables )
    "stageVariables": $loop,

    "requestPath": "$context.resourcePath"
  }
"""
DEFAULT_JSON_REQUEST_TEMPLATE = f"""
    #set( $body = $input.json("$") )

    {_DEFAULT_COMMON_TEMPLATE}
  """.replace("extraCognitoPoolClaims\n", "")


def _normalize(name: str) -> str:
    """naming.js normalizeName + normalizeNameToAlphaNumericOnly: `my-fn` -> `MyDashfn`."""
    name = name.replace("-", "Dash").replace("_", "Underscore")
    return re.sub(r"[^A-Za-z0-9]", "", name[:1].upper() + name[1:])


def _path_part(part: str) -> str:
    """naming.js normalizePathPart: `{id}` -> `IdVar`, `{proxy+}` -> `ProxyVar`."""
    if part.startswith("{"):
        part = part.strip("{}").rstrip("+") + "Var"
    return _normalize(part)


def http_resources(data: dict[str, Any], service: str, stage: str, resources: dict[str, Any],
                   origins: dict[KeyPath, KeyPath]) -> None:
    """Add the REST API the functions' `http` events describe to `resources` (CloudFormation)."""
    events = [(key, index, event["http"]) for key, function in (data.get("functions") or {}).items()
              for index, event in enumerate((function or {}).get("events") or [])
              if isinstance(event, dict) and "http" in event]
    if not events:
        return
    provider = data.get("provider") or {}
    api_name = str(provider.get("apiName") or f"{stage}-{service}")
    resources["ApiGatewayRestApi"] = {"Type": "AWS::ApiGateway::RestApi", "Properties": {"Name": api_name}}
    api_ref = {"Ref": "ApiGatewayRestApi"}
    made: dict[str, Any] = {"": {"Fn::GetAtt": ["ApiGatewayRestApi", "RootResourceId"]}}
    methods: list[str] = []
    invoked: set[str] = set()
    for key, index, http in events:
        if isinstance(http, str):
            verb, _, route = http.partition(" ")
            http = {"method": verb, "path": route}
        source: KeyPath = ("functions", key, "events", index, "http")
        route = str(http.get("path", "")).strip("/")
        parts = [part for part in route.split("/") if part]
        for depth in range(1, len(parts) + 1):
            partial = "/".join(parts[:depth])
            if partial not in made:
                logical = "ApiGatewayResource" + "".join(_path_part(part) for part in parts[:depth])
                resources[logical] = {"Type": "AWS::ApiGateway::Resource", "Properties": {
                    "RestApiId": api_ref, "ParentId": made["/".join(parts[:depth - 1])], "PathPart": parts[depth - 1]}}
                origins[("Resources", logical)] = source
                made[partial] = {"Ref": logical}
        verb = str(http.get("method", "get")).upper()
        method_id = "ApiGatewayMethod" + "".join(_path_part(part) for part in parts) + _normalize(verb.lower())
        integration = _integration(http, logical_id(key))
        invoked.add(key)
        properties: dict[str, Any] = {"RestApiId": api_ref, "ResourceId": made[route], "HttpMethod": verb,
                                      "AuthorizationType": "NONE", "Integration": integration}
        authorizer = http.get("authorizer")
        if authorizer:
            authorizer_id, function_key = _authorizer(authorizer, resources, api_ref)
            properties["AuthorizationType"] = "CUSTOM"
            properties["AuthorizerId"] = {"Ref": authorizer_id}
            origins[("Resources", authorizer_id)] = (*source, "authorizer")
            if function_key:
                invoked.add(function_key)
        resources[method_id] = {"Type": "AWS::ApiGateway::Method", "Properties": properties}
        origins[("Resources", method_id)] = source
        methods.append(method_id)
    for key in sorted(invoked):
        permission = _normalize(key) + "LambdaPermissionApiGateway"
        resources[permission] = {"Type": "AWS::Lambda::Permission", "Properties": {
            "FunctionName": {"Fn::GetAtt": [logical_id(key), "Arn"]}, "Action": "lambda:InvokeFunction",
            "Principal": "apigateway.amazonaws.com",
            "SourceArn": {"Fn::Sub": "arn:aws:execute-api:${AWS::Region}:${AWS::AccountId}:${ApiGatewayRestApi}/*/*"}}}
    resources["ApiGatewayDeployment"] = {"Type": "AWS::ApiGateway::Deployment", "DependsOn": methods,
                                         "Properties": {"RestApiId": api_ref, "StageName": stage}}


def _integration(http: dict[str, Any], function_logical: str) -> dict[str, Any]:
    kind = str(http.get("integration") or "AWS_PROXY").upper().replace("-", "_")
    kind = {"LAMBDA": "AWS", "LAMBDA_PROXY": "AWS_PROXY"}.get(kind, kind)
    uri = {"Fn::Sub": "arn:aws:apigateway:${AWS::Region}:lambda:path/2015-03-31/functions/${"
                      f"{function_logical}.Arn}}/invocations"}
    integration: dict[str, Any] = {"Type": kind, "IntegrationHttpMethod": "POST", "Uri": uri}
    if kind != "AWS":
        return integration
    request = http.get("request") or {}
    templates = {"application/json": DEFAULT_JSON_REQUEST_TEMPLATE}
    for content_type, template in (request.get("template") or {}).items():
        if template is None:
            templates.pop(content_type, None)
        else:
            templates[content_type] = template
    integration["RequestTemplates"] = templates
    integration["PassthroughBehavior"] = request.get("passThrough") or "NEVER"
    response = http.get("response") or {}
    codes = {str(code): config or {} for code, config in (response.get("statusCodes") or {}).items()}
    if not codes:
        codes = {code: {"pattern": pattern} for code, pattern in _DEFAULT_STATUS_CODES.items()}
    elif not any((config.get("pattern") or "") == "" for config in codes.values()):
        codes["200"] = {"pattern": ""}
    responses = []
    for code, config in codes.items():
        entry: dict[str, Any] = {"StatusCode": code, "SelectionPattern": config.get("pattern") or ""}
        response_templates = {}
        if response.get("template"):
            response_templates["application/json"] = response["template"]
        template = config.get("template")
        if template:
            response_templates.update(template if isinstance(template, dict) else {"application/json": template})
        if response_templates:
            entry["ResponseTemplates"] = response_templates
        headers = {**(response.get("headers") or {}), **(config.get("headers") or {})}
        if headers:
            entry["ResponseParameters"] = {f"method.response.header.{name}": value for name, value in headers.items()}
        responses.append(entry)
    integration["IntegrationResponses"] = responses
    return integration


def _authorizer(authorizer: Any, resources: dict[str, Any], api_ref: dict[str, str]) -> tuple[str, str | None]:
    """The AWS::ApiGateway::Authorizer an event's `authorizer:` names (made once); and its function's key."""
    spec = {"name": authorizer} if isinstance(authorizer, str) else dict(authorizer)
    arn = spec.get("arn")
    if isinstance(spec.get("name"), str) and ":" in spec["name"]:
        arn, spec["name"] = spec["name"], spec["name"].rsplit(":", 1)[-1]
    name = str(spec.get("name") or str(arn).rsplit(":", 1)[-1])
    function_key = None if arn else name
    logical = _normalize(name) + "ApiGatewayAuthorizer"
    target = f"${{{logical_id(name)}.Arn}}" if function_key else str(arn)
    kind = "REQUEST" if str(spec.get("type", "token")).lower() == "request" else "TOKEN"
    ttl = spec.get("resultTtlInSeconds")
    properties: dict[str, Any] = {
        "RestApiId": api_ref, "Name": name, "Type": kind,
        "AuthorizerUri": {"Fn::Sub": "arn:aws:apigateway:${AWS::Region}:lambda:path/2015-03-31/functions/"
                                     f"{target}/invocations"},
        "IdentitySource": spec.get("identitySource") or "method.request.header.Authorization",
        "AuthorizerResultTtlInSeconds": 300 if ttl is None else int(ttl)}
    if spec.get("identityValidationExpression"):
        properties["IdentityValidationExpression"] = spec["identityValidationExpression"]
    resources.setdefault(logical, {"Type": "AWS::ApiGateway::Authorizer", "Properties": properties})
    return logical, function_key
