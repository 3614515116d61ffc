"""The integration request's parameters: `requestParameters` mapped from the method request, and the
`$context.requestOverride` a mapping template set.

AWS, "Parameter mapping source reference for REST APIs"
(https://docs.aws.amazon.com/apigateway/latest/developerguide/rest-api-parameter-mapping-sources.html, part of
"request-response-data-mappings"): an `integration.request.header|querystring|path.NAME` is mapped from
`method.request.path|querystring|multivaluequerystring|header|multivalueheader.NAME`, `method.request.body`,
`method.request.body.JSONPATH`, `stageVariables.NAME`, `context.NAME` or a static `'value'`, for proxy and
non-proxy integrations. A source the request lacks maps nothing.

AWS, "Override your API's request and response parameters and status codes"
(https://docs.aws.amazon.com/apigateway/latest/developerguide/apigateway-override-request-response-parameters.html):
`$context.requestOverride.header|querystring|path.NAME` set in a request template overrides (or adds) the
integration request's parameter of that name, after requestParameters applied. LocalStack's AWS-validated
`test_integration_mock_with_request_overrides_in_response_template` and `test_integration_request_parameters_mapping`
(localstack/localstack 8b9a79f0, tests/aws/services/apigateway/) show both.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, unquote

from yarl import URL

from emulator.apigateway.mapping_source import shared_source_values
from emulator.integration_rules import REQUEST_PARAMETER_DESTINATION as DESTINATION


@dataclass
class MethodRequest:
    """What a mapping reads of the request: path parameters, query (every value), headers (every value), body."""

    path: dict[str, str]
    query: dict[str, list[str]]
    header: Callable[[str], list[str]]
    body: str


@dataclass
class IntegrationParameters:
    """The integration request's headers, query string and path parameters."""

    header: dict[str, str] = field(default_factory=dict)
    querystring: dict[str, list[str]] = field(default_factory=dict)
    path: dict[str, str] = field(default_factory=dict)

    def header_value(self, name: str) -> str | None:
        """A header, by case-insensitive name."""
        wanted = name.lower()
        return next((value for key, value in self.header.items() if key.lower() == wanted), None)

    def query_string(self) -> str:
        """`a=1&a=2&b=x`, percent-encoded."""
        from urllib.parse import urlencode

        return urlencode([(name, value) for name, values in self.querystring.items() for value in values])


def fill_uri(uri: str, values: Mapping[str, str]) -> str:
    """`{name}` and `{name+}` in an integration URI replaced by their values, percent-encoded so that no value (a
    mapped one may come from the query string or the body) can change the URI's host, query or fragment, nor climb
    out of where it is put: a segment of the value that is `.` or `..` (also spelled with `%2E`) is sent as
    `%2E`s, a path step no more (send the result with `endpoint_url`, which keeps it so). `/` is kept: the usual
    `{proxy}` mapping of a greedy path parameter carries its segments; escapes a value already holds (a method
    request path parameter is not decoded) are kept as they are, `%2F` too, so they stay inside their segment.

    API Gateway URL-encodes a mapped path value (AWS, "Parameter mapping for REST APIs"); lambda-canary's own rule
    for dot segments is that no request can make the integration request reach a path its URI does not name."""
    for name, value in values.items():
        encoded = "/".join(_segment(part) for part in value.split("/"))
        uri = uri.replace(f"{{{name}+}}", encoded).replace(f"{{{name}}}", encoded)
    return uri


def _segment(text: str) -> str:
    if unquote(text) in (".", ".."):
        return "%2E" * len(unquote(text))
    return quote(text, safe="%")


# RFC 3986's reserved characters: what a URL may hold as it is (with `%`, which starts the escapes kept)
_URL_SAFE = ":/?#[]@!$&'()*+,;=%"


def endpoint_url(url: str) -> URL:
    """The integration URL to send, as written: not normalized by the client (yarl would decode `%2E` and remove
    the dot segments fill_uri kept as data); characters a request line cannot carry are percent-encoded."""
    return URL(quote(url, safe=_URL_SAFE), encoded=True)


def map_request_parameters(mapping: dict[str, str], request: MethodRequest, *, stage_variables: dict[str, str],
                           context: dict[str, Any]) -> IntegrationParameters:
    """Apply `requestParameters`, then the template's `$context.requestOverride`."""
    out = IntegrationParameters()
    for destination, source in mapping.items():
        parsed = DESTINATION.match(destination)
        if parsed is None:
            continue
        values = _source_values(source, request, stage_variables, context)
        if not values:
            continue
        kind, name = parsed.group("kind"), parsed.group("name")
        if kind == "querystring":
            out.querystring[name] = values
        elif kind == "header":
            _set_header(out.header, name, ",".join(values))
        else:
            out.path[name] = values[-1]
    apply_overrides(out, context.get("requestOverride") or {})
    return out


def apply_overrides(parameters: IntegrationParameters, override: dict[str, Any]) -> None:
    """`$context.requestOverride.header|querystring|path.NAME` replaces (or adds) that parameter."""
    for name, value in (override.get("header") or {}).items():
        _set_header(parameters.header, str(name), str(value))
    for name, value in (override.get("querystring") or {}).items():
        parameters.querystring[str(name)] = [str(value)]
    for name, value in (override.get("path") or {}).items():
        parameters.path[str(name)] = str(value)


def _set_header(headers: dict[str, str], name: str, value: str) -> None:
    for key in [key for key in headers if key.lower() == name.lower()]:
        del headers[key]
    headers[name] = value


def _source_values(source: str, request: MethodRequest, stage_variables: dict[str, str],
                   context: dict[str, Any]) -> list[str]:
    """A source's values (several for multivalue sources), or [] when the request lacks it."""
    shared = shared_source_values(source, body_source="method.request.body", body=request.body,
                                  stage_variables=stage_variables, context=context)
    if shared is not None:
        return shared
    kind, _, name = source[len("method.request."):].partition(".")
    if kind == "path":
        value = request.path.get(name)
        return [] if value is None else [value]
    if kind in ("querystring", "multivaluequerystring"):
        values = request.query.get(name) or []
        return values[-1:] if kind == "querystring" else list(values)
    if kind in ("header", "multivalueheader"):
        values = request.header(name)
        return values[-1:] if kind == "header" else list(values)
    return []
