"""What a parameter mapping expression reads: the sources integration requests and integration responses share.

AWS, "Parameter mapping source reference for REST APIs"
(https://docs.aws.amazon.com/apigateway/latest/developerguide/rest-api-parameter-mapping-sources.html): both sides
map from a static `'value'`, `stageVariables.NAME`, `context.NAME` and a body or a JSONPath into it
(`method.request.body[.PATH]` for a request, `integration.response.body[.PATH]` for a response); each side adds its
own parameters (the method request's path, query and headers; the integration response's headers).
"""

from __future__ import annotations

from typing import Any

from emulator.apigateway.templates import Input


def shared_source_values(source: str, *, body_source: str, body: str, stage_variables: dict[str, str],
                         context: dict[str, Any]) -> list[str] | None:
    """The values of a source both sides take ([] when the request or response lacks it), or None when `source`
    is none of them (a side's own parameter). `body_source` is the side's body expression."""
    if len(source) >= 2 and source[0] == source[-1] == "'":
        return [source[1:-1]]
    if source.startswith("stageVariables."):
        value = stage_variables.get(source[len("stageVariables."):])
        return [] if value is None else [value]
    if source.startswith("context."):
        found: Any = context
        for part in source[len("context."):].split("."):
            found = found.get(part) if isinstance(found, dict) else None
        if found is None or isinstance(found, dict):
            return []
        return ["true" if found is True else "false" if found is False else str(found)]
    if source == body_source:
        return [body] if body else []
    if source.startswith(body_source + "."):
        try:
            value = Input(body).json("$." + source[len(body_source) + 1:])
        except Exception:  # not JSON, or no such path: nothing to map
            return []
        value = value[1:-1] if len(value) >= 2 and value[0] == value[-1] == '"' else value
        return [value] if value not in ("", "null") else []
    return None
