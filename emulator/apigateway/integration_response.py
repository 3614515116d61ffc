"""The integration response of a non-proxy integration: which response applies, its template, its parameters.

AWS ("Set up an integration response", "Handle Lambda errors in API Gateway",
https://docs.aws.amazon.com/apigateway/latest/developerguide/handle-errors-in-lambda-integration.html): for a Lambda
integration `selectionPattern` is a regular expression matched against the function's `errorMessage`; for HTTP (and
MOCK) against the status code. The pattern must match the whole string (Java's `String.matches`; `.` does not match
a line break). A response without a pattern is the default and serves everything no pattern matched. LocalStack's
IntegrationResponseHandler (localstack/localstack, next_gen/execute_api/handlers/integration_response.py) selects
on `errorMessage` when the Lambda payload has one, else on the status, as here.
"""

from __future__ import annotations

import json
import re
from functools import lru_cache
from typing import Any

from emulator.apigateway.mapping_source import shared_source_values
from emulator.apigateway.model import IntegrationResponse


@lru_cache(maxsize=1024)
def _pattern(text: str) -> re.Pattern[str] | None:
    try:
        return re.compile(text)
    except re.error:
        return None


def pattern_problem(text: str) -> str | None:
    """Why a selectionPattern is not a regular expression, or None."""
    try:
        re.compile(text)
    except re.error as error:
        return str(error)
    return None


def pattern_matches(pattern: str, value: str) -> bool:
    """Does a selectionPattern select `value` (the whole of it, as Java's String.matches)?"""
    compiled = _pattern(pattern)
    return compiled is not None and compiled.fullmatch(value) is not None


def lambda_selection_value(payload: bytes, function_error: str | None) -> str:
    """What selection patterns see for a Lambda result: its `errorMessage`, else `200`."""
    if function_error is not None or payload[:1] == b"{":
        try:
            document = json.loads(payload)
        except ValueError:
            document = None
        if isinstance(document, dict) and isinstance(document.get("errorMessage"), str):
            return str(document["errorMessage"])
    return "200"


def select_response(responses: dict[str, IntegrationResponse], value: str) -> IntegrationResponse | None:
    """The response whose pattern matches `value`, else the default (no pattern), else None."""
    for response in responses.values():
        if response.selection_pattern and pattern_matches(response.selection_pattern, value):
            return response
    for response in responses.values():
        if not response.selection_pattern:
            return response
    return None


def response_template(response: IntegrationResponse, accept: str | None) -> tuple[str | None, str]:
    """The template for the client's Accept (else application/json, else the first); None passes the body."""
    templates = response.response_templates
    if not templates:
        return None, "application/json"
    wanted = accept.split(",", 1)[0].split(";", 1)[0].strip().lower() if accept else ""
    if wanted and wanted in templates:
        return templates[wanted], wanted
    if "application/json" in templates:
        return templates["application/json"], "application/json"
    content_type, template = next(iter(templates.items()))
    return template, content_type


def map_parameters(parameters: dict[str, str], *, body: str, headers: dict[str, str], context: dict[str, Any],
                   stage_variables: dict[str, str]) -> list[tuple[str, str]]:
    """`responseParameters` -> method response headers (`method.response.header.X`): `'literal'`,
    `integration.response.header.X`, `integration.response.body[.path]`, `context.x`, `stageVariables.x`."""
    out: list[tuple[str, str]] = []
    for destination, source in parameters.items():
        if not destination.startswith("method.response.header."):
            continue
        value = _source_value(source, body=body, headers=headers, context=context, stage_variables=stage_variables)
        if value is not None:
            out.append((destination[len("method.response.header."):], value))
    return out


def _source_value(source: str, *, body: str, headers: dict[str, str], context: dict[str, Any],
                  stage_variables: dict[str, str]) -> str | None:
    if source.startswith("integration.response.header."):
        wanted = source[len("integration.response.header."):].lower()
        return next((value for name, value in headers.items() if name.lower() == wanted), None)
    values = shared_source_values(source, body_source="integration.response.body", body=body,
                                  stage_variables=stage_variables, context=context)
    return values[-1] if values else None
