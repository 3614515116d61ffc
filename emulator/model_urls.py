"""How a model refers to another model of its API: by URL, `https://apigateway.amazonaws.com/restapis/{apiId}/
models/{name}` (LocalStack's AWS-validated test_api_gateway_request_validator_with_ref_models).

The URL names the API, so a schema written for one API (the local emulator's) refers to the wrong API once
deployed elsewhere: `rehomed` rewrites each such `$ref` for the API the schema goes to.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

MODEL_URL = "https://apigateway.amazonaws.com/restapis/{api_id}/models/{name}"


def rehomed(schema: Any, api_id: str, new_ref: Callable[[str], Any]) -> Any:
    """`schema` (JSON data) with each `$ref` naming a model of API `api_id` by its URL replaced by
    `new_ref(model name)`; everything else as it was (a new structure: `schema` is not changed)."""
    prefix = MODEL_URL.format(api_id=api_id, name="")
    if isinstance(schema, dict):
        return {key: new_ref(value[len(prefix):]) if key == "$ref" and isinstance(value, str)
                and value.startswith(prefix) and "/" not in value[len(prefix):] else rehomed(value, api_id, new_ref)
                for key, value in schema.items()}
    if isinstance(schema, list):
        return [rehomed(item, api_id, new_ref) for item in schema]
    return schema
