"""Request corpora for `diff`: one request per resource and method of a stage, a JSON-lines file, a HAR file, or
the examples of an OpenAPI document."""

from __future__ import annotations

import base64
import json
import re
import urllib.parse
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from emulator.apigateway.model import RestApi
from emulator.errors import UserError

PLAIN_VALUE = "1"  # a path parameter with no example
PROXY_VALUE = "example"  # a {proxy+} greedy parameter with no example
_PARAMETER = re.compile(r"\{([^}+]+)(\+?)\}")
METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS")


@dataclass(frozen=True)
class DiffRequest:
    """One request, sent the same way to both sides (the path is relative to the stage)."""

    method: str = "GET"
    path: str = "/"
    query: tuple[tuple[str, str], ...] = ()
    headers: tuple[tuple[str, str], ...] = ()
    body: bytes = b""
    name: str = ""

    def target(self) -> str:
        """`path?query`, encoded."""
        path = urllib.parse.quote(self.path, safe="/%:@!$&'()*+,;=-._~")
        return path + ("?" + urllib.parse.urlencode(self.query) if self.query else "")

    def describe(self) -> str:
        """`GET /ping?x=1`."""
        return f"{self.method} {urllib.parse.unquote(self.target())}"

    def as_json(self) -> dict[str, Any]:
        """The JSON-lines form (what `load_jsonl` reads)."""
        data: dict[str, Any] = {"method": self.method, "path": self.path}
        if self.query:
            data["query"] = [list(pair) for pair in self.query]
        if self.headers:
            data["headers"] = dict(self.headers)
        if self.body:
            try:
                data["body"] = self.body.decode()
            except UnicodeDecodeError:
                data["bodyBase64"] = base64.b64encode(self.body).decode()
        return data


def fill_path(resource_path: str, examples: dict[str, str] | None = None) -> str:
    """A resource path with its parameters filled from examples, else with plain values."""
    examples = examples or {}

    def value(match: re.Match[str]) -> str:
        return examples.get(match.group(1)) or (PROXY_VALUE if match.group(2) else PLAIN_VALUE)

    return _PARAMETER.sub(value, resource_path)


def default_corpus(api: RestApi, stage_name: str) -> list[DiffRequest]:
    """One request per resource and method of the stage's deployments (base and canary); ANY as GET."""
    stage = api.stages[stage_name]
    deployments = [stage.deployment_id]
    if stage.canary_settings is not None and stage.canary_settings.deployment_id:
        deployments.append(stage.canary_settings.deployment_id)
    seen: dict[tuple[str, str], DiffRequest] = {}
    for deployment_id in deployments:
        deployment = api.deployments.get(deployment_id)
        for resource in sorted(deployment.resources.values() if deployment else [], key=lambda item: item.path):
            for method in sorted(resource.methods):
                verb = "GET" if method == "ANY" else method
                path = fill_path(resource.path)
                seen.setdefault((verb, path), DiffRequest(verb, path, name=f"{method} {resource.path}"))
    return list(seen.values())


def request_from(data: Any, where: str) -> DiffRequest:
    if not isinstance(data, dict) or not isinstance(data.get("path", "/"), str):
        raise UserError(f"{where}: a request is an object with path, and optionally method, query, headers, body")
    method = str(data.get("method", "GET")).upper()
    if method not in METHODS:
        raise UserError(f"{where}: method {method!r}: use one of {', '.join(METHODS)}")
    path = data.get("path", "/")
    if not path.startswith("/"):
        raise UserError(f"{where}: path {path!r}: starts with /")
    query = data.get("query") or []
    pairs = list(query.items()) if isinstance(query, dict) else query
    try:
        query_pairs = tuple((str(name), str(value)) for name, value in pairs)
    except (TypeError, ValueError):
        raise UserError(f"{where}: query: an object or a list of [name, value] pairs") from None
    headers = data.get("headers") or {}
    if not isinstance(headers, dict):
        raise UserError(f"{where}: headers: an object of names and values")
    if "bodyBase64" in data:
        body = base64.b64decode(str(data["bodyBase64"]))
    else:
        raw = data.get("body")
        body = b"" if raw is None else (raw if isinstance(raw, str) else json.dumps(raw)).encode()
    return DiffRequest(method, path, query_pairs, tuple((str(k), str(v)) for k, v in headers.items()), body,
                       str(data.get("name", "")))


def load_jsonl(path: Path) -> list[DiffRequest]:
    """A file of requests, one JSON object a line: {"method", "path", "query", "headers", "body"}."""
    requests = []
    for number, line in enumerate(_read(path).splitlines(), 1):
        if not line.strip():
            continue
        try:
            data = json.loads(line)
        except ValueError as error:
            raise UserError(f"{path}:{number}: not JSON ({error})") from None
        requests.append(request_from(data, f"{path}:{number}"))
    if not requests:
        raise UserError(f"{path}: no requests in it")
    return requests


def load_har(path: Path, stage_name: str) -> list[DiffRequest]:
    """The requests of a HAR file (a browser's export); paths lose their leading /STAGE."""
    try:
        entries = json.loads(_read(path))["log"]["entries"]
    except (ValueError, KeyError, TypeError):
        raise UserError(f"{path}: not a HAR file (log.entries)") from None
    requests = []
    for number, entry in enumerate(entries):
        where = f"{path}: log.entries[{number}]"
        try:
            request = entry["request"]
            url = urllib.parse.urlsplit(request["url"])
            text = (request.get("postData") or {}).get("text")
        except (KeyError, TypeError):
            raise UserError(f"{where}: no request.url") from None
        stage_prefix = f"/{stage_name}"
        route = url.path[len(stage_prefix):] if url.path.startswith(stage_prefix + "/") else url.path
        headers = {item["name"]: item["value"] for item in request.get("headers", [])
                   if not item["name"].startswith(":") and item["name"].lower() not in ("host", "content-length")}
        requests.append(request_from({"method": request.get("method", "GET"),
                                       "path": urllib.parse.unquote(route) or "/",
                                       "query": urllib.parse.parse_qsl(url.query, keep_blank_values=True),
                                       "headers": headers, "body": text}, where))
    if not requests:
        raise UserError(f"{path}: no requests in it")
    return requests


def load_openapi_examples(path: Path) -> list[DiffRequest]:
    """One request per operation of an OpenAPI document, with its parameters' and body's examples."""
    try:
        document = yaml.safe_load(_read(path))
        paths = document["paths"]
    except (yaml.YAMLError, KeyError, TypeError):
        raise UserError(f"{path}: not an OpenAPI document (paths)") from None
    requests = []
    for route, operations in (paths or {}).items():
        shared = operations.get("parameters", []) if isinstance(operations, dict) else []
        for method, operation in (operations or {}).items():
            verb = "GET" if method.lower() == "x-amazon-apigateway-any-method" else method.upper()
            if verb not in METHODS or not isinstance(operation, dict):
                continue
            values: dict[str, dict[str, str]] = {"path": {}, "query": {}, "header": {}}
            for parameter in [*shared, *operation.get("parameters", [])]:
                example = _example(parameter) if isinstance(parameter, dict) else None
                if example is not None and parameter.get("in") in values:
                    values[parameter["in"]][parameter["name"]] = str(example)
            body = None
            for content in (operation.get("requestBody") or {}).get("content", {}).values():
                body = _example(content)
                if body is not None:
                    break
            requests.append(request_from({
                "method": verb, "path": fill_path(route, values["path"]), "query": values["query"],
                "headers": values["header"], "body": body, "name": operation.get("operationId", "")},
                f"{path}: paths.{route}.{method}"))
    if not requests:
        raise UserError(f"{path}: no operations in it")
    return requests


def _example(item: dict[str, Any]) -> Any:
    if "example" in item:
        return item["example"]
    examples = item.get("examples")
    if isinstance(examples, dict) and examples:
        first = next(iter(examples.values()))
        return first.get("value") if isinstance(first, dict) else first
    schema = item.get("schema")
    if isinstance(schema, dict) and "example" in schema:
        return schema["example"]
    return None


def _read(path: Path) -> str:
    try:
        return path.read_text()
    except OSError as error:
        raise UserError(f"{path}: cannot read: {error.strerror}") from None
    except UnicodeDecodeError:
        raise UserError(f"{path}: not UTF-8 text") from None


def load_any(path: Path, stage_name: str) -> list[DiffRequest]:
    """A corpus in any of the three forms, told apart by its name, else its content: `.har` (or a JSON object with
    `log`) is HAR, `.yaml`/`.yml` (or a JSON object with `openapi`/`swagger`) OpenAPI examples, anything else
    JSON lines."""
    suffix = path.suffix.lower()
    if suffix == ".har":
        return load_har(path, stage_name)
    if suffix in (".yaml", ".yml"):
        return load_openapi_examples(path)
    if suffix == ".json":
        try:
            document = json.loads(_read(path))
        except ValueError:
            document = None
        if isinstance(document, dict) and "log" in document:
            return load_har(path, stage_name)
        if isinstance(document, dict) and ("openapi" in document or "swagger" in document):
            return load_openapi_examples(path)
    return load_jsonl(path)


def save_jsonl(requests: list[DiffRequest], path: Path) -> None:
    """Write requests as JSON lines (what `load_jsonl` reads)."""
    path.write_text("".join(json.dumps(request.as_json()) + "\n" for request in requests))


@dataclass
class Corpus:
    """The requests of a run and where they came from."""

    requests: list[DiffRequest] = field(default_factory=list)
    source: str = "one request per resource and method"
