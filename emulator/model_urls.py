"""API Gateway models by name: AWS's default ones, and how a model refers to another model of its API, by URL
`https://apigateway.amazonaws.com/restapis/{apiId}/models/{name}` (LocalStack's AWS-validated
test_api_gateway_request_validator_with_ref_models).

The URL names the API, so a schema written for one API (the local emulator's) refers to the wrong API once
deployed elsewhere: `rehomed` rewrites each such `$ref` for the API the schema goes to.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

DEFAULT_MODELS = ("Empty", "Error")  # AWS makes them with every REST API it creates (not with ImportRestApi)
MODEL_URL = "https://apigateway.amazonaws.com/restapis/{api_id}/models/{name}"
_ANY_MODEL_URL = re.compile(r"^https://apigateway\.amazonaws\.com/restapis/([^/]+)/models/([^/]+)$")


def model_named(reference: str, api_id: str | None = None) -> str | None:
    """The model a `$ref` URL names (of API `api_id` only, when given), else None."""
    found = _ANY_MODEL_URL.match(reference)
    return found.group(2) if found and (api_id is None or found.group(1) == api_id) else None


def with_refs(value: Any, rewrite: Callable[[str], Any]) -> Any:
    """A copy of a JSON value with every string `$ref` replaced by `rewrite(ref)`."""
    if isinstance(value, dict):
        return {key: rewrite(item) if key == "$ref" and isinstance(item, str) else with_refs(item, rewrite)
                for key, item in value.items()}
    if isinstance(value, list):
        return [with_refs(item, rewrite) for item in value]
    return value


def rehomed(schema: Any, api_id: str, new_ref: Callable[[str], Any]) -> Any:
    """`schema` (JSON data) with each `$ref` naming a model of API `api_id` by its URL replaced by
    `new_ref(model name)`; everything else as it was (a new structure: `schema` is not changed)."""
    def rewrite(reference: str) -> Any:
        name = model_named(reference, api_id)
        return reference if name is None else new_ref(name)
    return with_refs(schema, rewrite)
