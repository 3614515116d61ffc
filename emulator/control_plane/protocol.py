"""REST-JSON served from botocore's own service models: routing, input parsing and validation, output
serialization and AWS-shaped errors. No shapes are written by hand here.

Every failure answers an AWS-shaped error, never aiohttp's plain-text 500: a body that is not a JSON object
is `SerializationException` (400), a body over the limit `RequestEntityTooLargeException` (413) and anything
unexpected the service's internal error (Lambda: `ServiceException`, 500), logged on one line.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache, cached_property
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, unquote

from aiohttp import web

from emulator import failures
from emulator.control_plane import constraints

if TYPE_CHECKING:  # botocore (0.1 s to import) loads with the first AWS API request, not with the stack
    from botocore.model import OperationModel, ServiceModel, Shape

# The largest request AWS Lambda takes: "Request must be smaller than 70167211 bytes for the CreateFunction
# operation" (413 RequestEntityTooLargeException), recorded from AWS in LocalStack's
# tests/aws/services/lambda_/test_lambda_api.snapshot.json, TestLambdaSizeLimits::test_oversized_request_create_lambda
# (localstack/localstack@8b9a79f05846835cf4dff63ab7eefdde9df83783).
MAX_REQUEST_BYTES = 70_167_211
Report = Callable[[str, BaseException], None]


class AwsError(Exception):
    """An error response: code (x-amzn-ErrorType), message, HTTP status."""

    def __init__(self, code: str, message: str, status: int = 400, body: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status
        self.body = body


@dataclass(frozen=True)
class RawResponse:
    """An operation result that is already bytes (e.g. GetExport's body)."""

    body: bytes
    headers: dict[str, str]
    status: int = 200


@dataclass
class _Route:
    operation: OperationModel
    method: str
    pattern: re.Pattern[str]
    required_query: dict[str, str]
    literal_length: int


# Models come straight from botocore's data files: no session, so no AWS profile or config file is ever read
# (an AWS_PROFILE naming a missing profile cannot stop the emulator).
@cache
def _loader() -> Any:
    import botocore.loaders

    return botocore.loaders.Loader()


def service_model(service_name: str) -> ServiceModel:
    """botocore's model of one service (its latest API version)."""
    from botocore.model import ServiceModel

    return ServiceModel(_loader().load_service_model(service_name, "service-2"), service_name=service_name)


def internal_failure(message: str) -> AwsError:
    """AWS's common `InternalFailure` (500): "The request processing has failed because of an unknown error,
    exception or failure" (Common Errors of every AWS API reference, e.g.
    https://docs.aws.amazon.com/networkmanager/latest/APIReference/CommonErrors.html)."""
    return AwsError("InternalFailure", message, 500)


def _compile(request_uri: str) -> tuple[re.Pattern[str], dict[str, str], int]:
    path, _, query = request_uri.partition("?")
    required = dict(parse_qsl(query, keep_blank_values=True)) if query else {}
    regex = ""
    literal = 0
    for part in re.split(r"(\{[^}]+\})", path):
        if part.startswith("{"):
            name = part[1:-1]
            if name.endswith("+"):
                regex += f"(?P<{_group(name[:-1])}>.+)"
            else:
                regex += f"(?P<{_group(name)}>[^/]+)"
        else:
            regex += re.escape(part)
            literal += len(part)
    return re.compile(f"^{regex}/?$"), required, literal


def _group(name: str) -> str:
    return re.sub(r"\W", "_", name)


# API Gateway's answer to a JSON boolean where a string belongs (recorded: LocalStack's AWS-validated
# test_apigateway_api.py::TestApigatewayIntegration::test_put_integration_request_parameter_bool_type,
# "put-integration-request-param-wrong-type" and "-bool-value", localstack/localstack@8b9a79f).
BOOLEAN_FOR_STRING = "class java.lang.Boolean can not be converted to an String"


def _boolean_for_string(report: Any) -> bool:
    """Does botocore's validation report hold a boolean given where the model wants a string?"""
    return any(kind == "invalid type" and isinstance(details.get("param"), bool)
               and details.get("valid_types") == ["<class 'str'>"]
               for kind, _name, details in getattr(report, "_errors", []))  # botocore's ValidationErrors


class RestJsonService:
    """One AWS service (by botocore name) served from its model and an object with one method per operation.

    The implementation's methods are named after the operations (`UpdateStage`), take the validated input
    as a dict and return the output dict (or a RawResponse); they raise AwsError for AWS errors.
    """

    def __init__(self, service_name: str, implementation: object, *, validation_error: str,
                 internal_error: Callable[[str], AwsError] = internal_failure,
                 request_limits: dict[str, tuple[int, str]] | None = None, report: Report | None = None,
                 booleans_are_not_strings: bool = False) -> None:
        self.service_name = service_name
        self.implementation = implementation
        self.validation_error = validation_error
        # the service's deserializer refuses a JSON boolean where its model wants a string, before any other check
        self.booleans_are_not_strings = booleans_are_not_strings
        self.internal_error = internal_error
        self.request_limits = request_limits or {}  # operation -> (bytes, the name AWS's message gives it)
        self.report: Report = report or (lambda context, error: None)

    @cached_property
    def model(self) -> ServiceModel:
        """botocore's model of the service, loaded on first use."""
        return service_model(self.service_name)

    @cached_property
    def _validator(self) -> Any:
        from botocore.validate import ParamValidator

        return ParamValidator()

    @cached_property
    def _routes(self) -> list[_Route]:
        routes = []
        for name in self.model.operation_names:
            if not hasattr(self.implementation, name):
                continue
            operation = self.model.operation_model(name)
            pattern, required, literal = _compile(operation.http["requestUri"])
            routes.append(_Route(operation, operation.http["method"], pattern, required, literal))
        routes.sort(key=lambda route: (-len(route.required_query), -route.literal_length))
        return routes

    def match(self, method: str, path: str, query: dict[str, str]) -> tuple[_Route, dict[str, str]] | None:
        """The operation for a request, with its URI labels."""
        for route in self._routes:
            if route.method != method:
                continue
            found = route.pattern.match(path)
            if found is None:
                continue
            if any(query.get(key) != value for key, value in route.required_query.items()):
                continue
            return route, {key: unquote(value) for key, value in found.groupdict().items()}
        return None

    def handles(self, method: str, path: str, query: dict[str, str]) -> bool:
        """Does this service have an operation for the request?"""
        return self.match(method, path, query) is not None

    def request_limit(self, request: web.BaseRequest) -> tuple[int, str]:
        """The largest body (bytes) the request's operation takes, and that operation's name in AWS's message."""
        found = self.match(request.method, raw_path(request), dict(request.query))
        name = found[0].operation.name if found else "unknown"
        return self.request_limits.get(name, (MAX_REQUEST_BYTES, name))

    def too_large(self, request: web.BaseRequest) -> web.Response:
        """413 RequestEntityTooLargeException with AWS's message, e.g. "Request must be smaller than 70167211 bytes
        for the CreateFunction operation" (LocalStack's AWS-validated snapshot, see MAX_REQUEST_BYTES) or "...
        6291456 bytes for the InvokeFunction operation" (AWS's answer to an oversized Invoke, as the aws CLI
        printed it in https://zaccharles.medium.com/deep-dive-lambdas-request-payload-size-limit-2-2-6350c1ae5577)."""
        limit, name = self.request_limit(request)
        return self.error_response(AwsError("RequestEntityTooLargeException",
                                            f"Request must be smaller than {limit} bytes for the {name} operation",
                                            413))

    async def handle(self, request: web.BaseRequest, body: bytes | None = None) -> web.Response:
        """Serve one request (`body` when the caller has read it already); always an AWS-shaped answer."""
        query = dict(request.query)
        found = self.match(request.method, raw_path(request), query)
        if found is None:
            return self.error_response(AwsError("UnknownOperationException", "Unknown operation", 404))
        route, labels = found
        operation = route.operation
        try:
            params = self._parse(operation, request, labels, await request.read() if body is None else body)
            report = self._validator.validate(params, operation.input_shape)
            if self.booleans_are_not_strings and _boolean_for_string(report):
                raise AwsError("SerializationException", BOOLEAN_FOR_STRING, 400)
            broken = constraints.violations(self.model.service_name, operation.input_shape, params)
            if broken:
                raise AwsError("ValidationException", constraints.message(broken), 400)
            if report.has_errors():
                raise AwsError(self.validation_error, report.generate_report().replace("\n", " "), 400)
            result = getattr(self.implementation, operation.name)(params)
            if hasattr(result, "__await__"):
                result = await result
            if isinstance(result, RawResponse):
                return web.Response(status=result.status, body=result.body, headers=result.headers)
            return self._serialize(operation, result or {})
        except AwsError as error:
            return self.error_response(error)
        except RecursionError:  # input nested past what Python's parsers and validators follow
            return self.error_response(AwsError("SerializationException", "The request body is nested too deeply"))
        except Exception as error:  # a bug or a platform failure: the service's own 500, one log line
            self.report(f"{self.model.service_name} {operation.name} failed", error)
            return self.error_response(self.internal_error(failures.describe(error)))

    # ---- input ---------------------------------------------------------------------------
    def _parse(self, operation: OperationModel, request: web.BaseRequest, labels: dict[str, str],
               body: bytes) -> dict[str, Any]:
        shape = operation.input_shape
        params: dict[str, Any] = {}
        if shape is None:
            return params
        payload_member = shape.serialization.get("payload")
        body_json: dict[str, Any] = {}
        if payload_member is None and body:
            body_json = _json_object(body)
        for name, member in shape.members.items():
            location = member.serialization.get("location")
            wire = member.serialization.get("name", name)
            if location == "uri":
                if _group(wire) in labels:
                    params[name] = _scalar(member, labels[_group(wire)])
            elif location == "querystring":
                if member.type_name == "map":
                    taken = {m.serialization.get("name", n) for n, m in shape.members.items()
                             if m.serialization.get("location") == "querystring" and m.type_name != "map"}
                    values = {key: value for key, value in request.query.items() if key not in taken}
                    if values:
                        params[name] = values
                elif member.type_name == "list" and wire in request.query:
                    params[name] = request.query.getall(wire)
                elif wire in request.query:
                    params[name] = _scalar(member, request.query[wire])
            elif location == "header":
                if wire in request.headers:
                    params[name] = _scalar(member, request.headers[wire])
            elif name == payload_member:
                if member.type_name in ("blob", "string"):
                    if body:
                        params[name] = body
                elif body:
                    params[name] = _from_json(member, _json_object(body))
            elif wire in body_json:
                params[name] = _from_json(member, body_json[wire])
        return params

    # ---- output --------------------------------------------------------------------------
    def _serialize(self, operation: OperationModel, result: dict[str, Any]) -> web.Response:
        shape = operation.output_shape
        status = int(operation.http.get("responseCode", 200))
        headers: dict[str, str] = {}
        if shape is None:
            return web.Response(status=status, body=b"{}" if status != 204 else None,
                                content_type="application/json" if status != 204 else None)
        payload_member = shape.serialization.get("payload")
        body: dict[str, Any] = {}
        raw: bytes | None = None
        for name, member in shape.members.items():
            if name not in result or result[name] is None:
                continue
            value = result[name]
            location = member.serialization.get("location")
            if location == "statusCode":
                status = int(value)
            elif location == "header":
                headers[member.serialization.get("name", name)] = str(value)
            elif name == payload_member:
                raw = value if isinstance(value, bytes) else json.dumps(_to_json(member, value)).encode()
            else:
                body[member.serialization.get("name", name)] = _to_json(member, value)
        if raw is None:
            raw = json.dumps(body).encode()
        headers.setdefault("Content-Type", "application/json")
        return web.Response(status=status, body=raw, headers=headers)

    def error_response(self, error: AwsError) -> web.Response:
        """AWS's error shape: x-amzn-ErrorType header and a JSON body with the message."""
        body = error.body if error.body is not None else {"message": error.message}
        return web.Response(status=error.status, body=json.dumps(body).encode(),
                            headers={"x-amzn-ErrorType": error.code, "Content-Type": "application/json"})


def _json_object(body: bytes) -> dict[str, Any]:
    """A request body that must be a JSON object (a structure in the model).

    Anything else is SerializationException (400), the error AWS's JSON protocols give to a body they cannot
    deserialize into the operation's input (recorded from AWS for apigateway in LocalStack's
    tests/aws/services/apigateway/test_apigateway_api.snapshot.json, e.g. "put-integration-request-param-wrong-type").
    AWS's wording for a body that is a list, a string or null is not recorded; these messages are ours.
    """
    try:
        value = json.loads(body)
    except RecursionError:
        raise AwsError("SerializationException", "The request body is nested too deeply", 400) from None
    except ValueError:
        raise AwsError("SerializationException", "The request body is not valid JSON", 400) from None
    if not isinstance(value, dict):
        kind = {list: "a list", str: "a string", type(None): "null", bool: "a boolean"}.get(type(value), "a number")
        raise AwsError("SerializationException",
                       f"The request body must be a JSON object, not {kind}", 400)
    return value


def raw_path(request: web.BaseRequest) -> str:
    """The path as sent (still percent-encoded), so an encoded `/` stays inside one URI label."""
    return request.raw_path.split("?", 1)[0]


def _scalar(shape: Shape, text: str) -> Any:
    if shape.type_name in ("integer", "long"):
        try:
            return int(text)
        except ValueError:
            return text
    if shape.type_name in ("double", "float"):
        try:
            return float(text)
        except ValueError:
            return text
    if shape.type_name == "boolean":
        return text.lower() == "true"
    return text


def _from_json(shape: Shape, value: Any) -> Any:
    if value is None:
        return None
    if shape.type_name == "structure" and isinstance(value, dict):
        out = {}
        for name, member in shape.members.items():
            wire = member.serialization.get("name", name)
            if wire in value and value[wire] is not None:  # JSON null is an absent member, as AWS reads it
                out[name] = _from_json(member, value[wire])
        return out
    if shape.type_name == "list" and isinstance(value, list):
        return [_from_json(shape.member, item) for item in value]  # type: ignore[attr-defined]
    if shape.type_name == "map" and isinstance(value, dict):
        return {key: _from_json(shape.value, item) for key, item in value.items()}  # type: ignore[attr-defined]
    if shape.type_name == "blob" and isinstance(value, str):
        try:
            return base64.b64decode(value, validate=True)
        except ValueError:
            raise AwsError("InvalidParameterValueException",
                           f"Could not decode base64 value for {shape.name}") from None
    return value


def _to_json(shape: Shape, value: Any) -> Any:
    if value is None:
        return None
    if shape.type_name == "structure":
        out = {}
        for name, member in shape.members.items():
            if name in value and value[name] is not None:
                out[member.serialization.get("name", name)] = _to_json(member, value[name])
        return out
    if shape.type_name == "list":
        return [_to_json(shape.member, item) for item in value]  # type: ignore[attr-defined]
    if shape.type_name == "map":
        return {key: _to_json(shape.value, item) for key, item in value.items()}  # type: ignore[attr-defined]
    if shape.type_name == "timestamp":
        if isinstance(value, dt.datetime):
            return value.timestamp() if shape.serialization.get("timestampFormat", "unixTimestamp") == \
                "unixTimestamp" else value.isoformat()
        return value
    if shape.type_name == "blob":
        return base64.b64encode(value).decode() if isinstance(value, bytes) else value
    return value
