"""REST-JSON served from botocore's own service models: routing, input parsing and validation, output
serialization and AWS-shaped errors. No shapes are written by hand here."""

from __future__ import annotations

import base64
import datetime as dt
import json
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, unquote

import botocore.session
from aiohttp import web
from botocore.model import OperationModel, Shape, StructureShape
from botocore.validate import ParamValidator


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


_SESSION = botocore.session.get_session()


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


class RestJsonService:
    """One AWS service (by botocore name) served from its model and an object with one method per operation.

    The implementation's methods are named after the operations (`UpdateStage`), take the validated input
    as a dict and return the output dict (or a RawResponse); they raise AwsError for AWS errors.
    """

    def __init__(self, service_name: str, implementation: object, *, validation_error: str) -> None:
        self.model = _SESSION.get_service_model(service_name)
        self.implementation = implementation
        self.validation_error = validation_error
        self._validator = ParamValidator()
        self._routes: list[_Route] = []
        for name in self.model.operation_names:
            if not hasattr(implementation, name):
                continue
            operation = self.model.operation_model(name)
            pattern, required, literal = _compile(operation.http["requestUri"])
            self._routes.append(_Route(operation, operation.http["method"], pattern, required, literal))
        self._routes.sort(key=lambda route: (-len(route.required_query), -route.literal_length))

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

    async def handle(self, request: web.BaseRequest) -> web.Response:
        """Serve one request."""
        query = dict(request.query)
        found = self.match(request.method, raw_path(request), query)
        if found is None:
            return self.error_response(AwsError("UnknownOperationException", "Unknown operation", 404))
        route, labels = found
        operation = route.operation
        try:
            params = self._parse(operation, request, labels, await request.read())
            report = self._validator.validate(params, operation.input_shape)
            if report.has_errors():
                raise AwsError(self.validation_error, report.generate_report().replace("\n", " "), 400)
            result = getattr(self.implementation, operation.name)(params)
            if hasattr(result, "__await__"):
                result = await result
        except AwsError as error:
            return self.error_response(error)
        if isinstance(result, RawResponse):
            return web.Response(status=result.status, body=result.body, headers=result.headers)
        return self._serialize(operation, result or {})

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
            try:
                body_json = json.loads(body)
            except ValueError:
                raise AwsError("SerializationException", "The request body is not valid JSON", 400) from None
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
                    params[name] = _from_json(member, json.loads(body))
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
    if isinstance(shape, StructureShape) and isinstance(value, dict):
        out = {}
        for name, member in shape.members.items():
            wire = member.serialization.get("name", name)
            if wire in value:
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
    if isinstance(shape, StructureShape):
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
