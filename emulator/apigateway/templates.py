"""Mapping templates (VTL) as API Gateway renders them.

The Velocity engine is `airspeed-ext` (the engine LocalStack runs for API Gateway and AppSync; it prints an
undefined `$reference` as an empty string, as AWS does). This module adds what API Gateway puts in a template's
namespace: `$input`, `$util`, `$context` and `$stageVariables`
(https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-mapping-template-reference.html).
"""

from __future__ import annotations

import base64
import json
import re
from dataclasses import dataclass, field
from functools import cache, lru_cache
from types import ModuleType
from typing import TYPE_CHECKING, Any
from urllib.parse import quote_plus, unquote_plus

if TYPE_CHECKING:
    import airspeed
    from jsonpath_ng import JSONPath

# The engine (airspeed, jsonpath-ng: 35-70 ms to import, most of it airspeed's operator tables) is imported when
# a template is first compiled or a JSONPath first parsed: a stack whose integrations are all proxies never loads
# it (issue 19: `serve`'s start-up).


class TemplateError(Exception):
    """A template that does not parse or fails while rendering; `line` is the template line (1-based)."""

    def __init__(self, message: str, line: int) -> None:
        super().__init__(message)
        self.message = message
        self.line = line

    def __str__(self) -> str:
        return f"line {self.line}: {self.message}"


class BodyNotJson(Exception):
    """`$input.json`/`$input.path` on a body that is not JSON (API Gateway answers 400)."""


# ---- values as Velocity (Java) prints them ------------------------------------------------------------------
class VtlMap(dict):  # type: ignore[type-arg]
    """A JSON object: printed as Java prints a Map (`{a=1, b=2}`), with Java's Map methods."""

    def __str__(self) -> str:
        return "{" + ", ".join(f"{key}={_to_text(value)}" for key, value in self.items()) + "}"

    def __getattr__(self, name: str) -> Any:  # `$obj.key` on values `$util.parseJson` returns
        try:
            return self[name]
        except KeyError:
            raise AttributeError(name) from None


class VtlList(list):  # type: ignore[type-arg]
    """A JSON array: printed as JSON (what API Gateway prints for `$input.path` arrays)."""

    def __str__(self) -> str:
        return json.dumps(self, separators=(",", ":"), default=dict)

    def count(self, *value: Any) -> int:  # type: ignore[override]
        """The mapping template reference's `$input.path('$.pets').count()`: the number of elements."""
        return len(self) if not value else super().count(value[0])


def _to_text(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def to_vtl(value: Any) -> Any:
    """Wrap parsed JSON so maps and lists behave as Velocity's Java maps and lists."""
    if isinstance(value, dict):
        return VtlMap((key, to_vtl(item)) for key, item in value.items())
    if isinstance(value, list):
        return VtlList(to_vtl(item) for item in value)
    return value


_STRING_METHODS: dict[str, Any] = {
    "trim": lambda self: self.strip(), "toLowerCase": lambda self: self.lower(),
    "toUpperCase": lambda self: self.upper(), "endsWith": lambda self, suffix: self.endswith(suffix),
    "equals": lambda self, other: self == other, "isEmpty": lambda self: not self,
    "split": lambda self, pattern: re.split(pattern, self), "toString": lambda self: self,
    "lastIndexOf": lambda self, text: self.rfind(text), "charAt": lambda self, index: self[index],
    "replace": lambda self, old, new: self.replace(old, new),
}


@cache
def _engine() -> ModuleType:
    """airspeed, with the methods Java objects have (its documented extension point: methods looked up by the
    Python type) added once."""
    import airspeed
    from airspeed import operators

    methods = operators.__additional_methods__
    map_methods: dict[str, Any] = {
        **methods[dict],
        "size": len, "isEmpty": lambda self: not self, "containsKey": lambda self, key: key in self,
        "keySet": lambda self: list(self.keys()), "values": lambda self: list(self.values()),
        "entrySet": lambda self: [VtlMap(key=key, value=value) for key, value in self.items()],
    }
    methods[VtlMap] = map_methods
    methods[dict] = {**map_methods, **methods[dict]}
    methods[VtlList] = dict(methods[list])
    for name, method in _STRING_METHODS.items():
        methods[str].setdefault(name, method)
    return airspeed


# ---- $util ----------------------------------------------------------------------------------------------------
_JS_ESCAPES = {"'": "\\'", '"': '\\"', "\\": "\\\\", "\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r",
               "\t": "\\t"}


class Util:
    """`$util` (mapping template reference, "$util variables")."""

    @staticmethod
    def escapeJavaScript(value: Any) -> str:
        """Escape with JavaScript string rules; `'` becomes `\\'` (as the reference says)."""
        text = _to_text(value)
        out = []
        for char in text:
            escaped = _JS_ESCAPES.get(char)
            if escaped is not None:
                out.append(escaped)
            elif ord(char) < 0x20 or ord(char) > 0x7E:
                out.append(f"\\u{ord(char):04X}" if ord(char) <= 0xFFFF else _surrogates(char))
            else:
                out.append(char)
        return "".join(out)

    @staticmethod
    def parseJson(text: Any) -> Any:
        """Stringified JSON to an object templates can walk."""
        return to_vtl(json.loads(_to_text(text)))

    @staticmethod
    def urlEncode(text: Any) -> str:
        """application/x-www-form-urlencoded (Java's URLEncoder: space is `+`)."""
        return quote_plus(_to_text(text), safe="*-._")

    @staticmethod
    def urlDecode(text: Any) -> str:
        """Decode application/x-www-form-urlencoded."""
        return unquote_plus(_to_text(text))

    @staticmethod
    def base64Encode(text: Any) -> str:
        """Base64 of the UTF-8 bytes."""
        return base64.b64encode(_to_text(text).encode()).decode()

    @staticmethod
    def base64Decode(text: Any) -> str:
        """Decode base64 to a UTF-8 string."""
        return base64.b64decode(_to_text(text)).decode("utf-8", "replace")


def _surrogates(char: str) -> str:
    code = ord(char) - 0x10000
    return f"\\u{0xD800 + (code >> 10):04X}\\u{0xDC00 + (code & 0x3FF):04X}"


# ---- $input ---------------------------------------------------------------------------------------------------
@lru_cache(maxsize=1024)
def _jsonpath(expression: str) -> JSONPath:
    from jsonpath_ng.exceptions import JsonPathLexerError, JsonPathParserError
    from jsonpath_ng.ext import parse as _parse_jsonpath

    try:
        return _parse_jsonpath(expression)
    except (JsonPathLexerError, JsonPathParserError, Exception) as error:
        raise ValueError(f"invalid JSONPath {expression!r}: {error}") from None


def _is_definite(expression: str) -> bool:
    """A JSONPath naming at most one node (no wildcard, filter, slice or deep scan) returns the node itself."""
    return not any(token in expression for token in ("*", "..", "?(", ":", ","))


@dataclass
class Input:
    """`$input`: the payload and the method request parameters."""

    raw: str
    parameters: dict[str, dict[str, str]] = field(default_factory=dict)
    _parsed: Any = field(default=None, init=False, repr=False)
    _parsed_done: bool = field(default=False, init=False, repr=False)

    @property
    def body(self) -> str:
        """The raw payload as a string."""
        return self.raw

    def _document(self) -> Any:
        if not self._parsed_done:
            if not self.raw.strip():
                self._parsed = {}
            else:
                try:
                    self._parsed = json.loads(self.raw)
                except ValueError as error:
                    raise BodyNotJson(str(error)) from None
            self._parsed_done = True
        return self._parsed

    def _select(self, expression: str) -> Any:
        expression = _to_text(expression) or "$"
        matches = [match.value for match in _jsonpath(expression).find(self._document())]
        if _is_definite(expression):
            return matches[0] if matches else None
        return matches

    def json(self, expression: str = "$") -> str:
        """The JSONPath result as a JSON string (`$input.json('$.pets')`)."""
        value = self._select(expression)
        return "" if value is None else json.dumps(value, separators=(",", ":"), ensure_ascii=False)

    def path(self, expression: str = "$") -> Any:
        """The JSONPath result as an object templates can walk (`$input.path('$.pets').size()`)."""
        return to_vtl(self._select(expression))

    def params(self, name: str | None = None) -> Any:
        """All parameters (`path`, `querystring`, `header`), or one by name searched in that order."""
        if name is None:
            return self.parameters
        name = _to_text(name)
        for kind in ("path", "querystring"):
            value = self.parameters.get(kind, {}).get(name)
            if value is not None:
                return value
        lowered = name.lower()
        for key, value in self.parameters.get("header", {}).items():
            if key.lower() == lowered:
                return value
        return ""


# ---- compile and render ---------------------------------------------------------------------------------------
@dataclass
class _Compiled:
    template: airspeed.Template
    text: str


@lru_cache(maxsize=1024)
def compile_template(text: str) -> _Compiled:
    """Parse once per distinct template; raises TemplateError with the line of the fault."""
    airspeed = _engine()
    template = airspeed.Template(text)
    try:
        template.ensure_compiled()
    except airspeed.TemplateSyntaxError as error:
        raise TemplateError(str(error).split(": ", 1)[-1], error.line) from None
    except Exception as error:
        raise TemplateError(f"{type(error).__name__}: {error}", 1) from None
    return _Compiled(template, text)


def template_problem(text: str) -> str | None:
    """Why API Gateway would refuse this template (it does not parse), or None."""
    try:
        compile_template(text)
    except TemplateError as error:
        return str(error)
    return None


def render(text: str, *, body: str, parameters: dict[str, dict[str, str]], context: dict[str, Any],
           stage_variables: dict[str, str]) -> str:
    """Render a mapping template. Raises TemplateError (with the line) or BodyNotJson."""
    compiled = compile_template(text)
    namespace = {
        "input": Input(body, parameters),
        "util": Util(),
        "context": context,
        "stageVariables": dict(stage_variables),
    }
    airspeed = _engine()
    try:
        return compiled.template.merge(namespace)
    except airspeed.TemplateExecutionError as error:
        cause = error.__cause__
        if isinstance(cause, BodyNotJson):
            raise cause from None
        line = text.count("\n", 0, error.start) + 1
        detail = f"{type(cause).__name__}: {cause}" if cause is not None else str(error)
        raise TemplateError(detail, line) from None
    except BodyNotJson:
        raise
    except Exception as error:
        raise TemplateError(f"{type(error).__name__}: {error}", 1) from None
