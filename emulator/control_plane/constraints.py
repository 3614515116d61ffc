"""AWS's own input-constraint check (the one behind `ValidationException`): patterns, enums, lengths and
ranges from the botocore service model, worded as AWS words them.

Recorded against AWS (LocalStack's AWS-validated snapshots, localstack/localstack@8b9a79f,
tests/aws/services/lambda_/test_lambda_api.py and tests/aws/services/apigateway/test_apigateway_api.py):

    1 validation error detected: Value '[x86_64, arm64]' at 'architectures' failed to satisfy constraint:
    Member must have length less than or equal to 1
    ... Value '{2=2.0}' at 'routingConfig.additionalVersionWeights' failed to satisfy constraint: Map value must
    satisfy constraint: [Member must have value less than or equal to 1.0, Member must have value greater than
    or equal to 0.0, Member must not be null]

Values print as Java prints them (lists `[a, b]`, maps `{k=v}`, doubles with a decimal point). Where AWS's
service checks a pattern or lists an enum differently from the public model, `PATTERNS` / `ENUM_ORDER` hold
AWS's text as recorded.
"""

from __future__ import annotations

import functools
import re
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # botocore is imported where a model is loaded, not to start a stack
    from botocore.model import Shape, StructureShape


from emulator.gateway_response_rules import RESPONSE_TYPES

# Enum values in the order AWS prints them (a Java set's order, not the model's).
ENUM_ORDER: dict[str, list[str]] = {
    # test_apigateway_api.py::TestApiGatewayGatewayResponse::test_gateway_response_validation
    "GatewayResponseType": list(RESPONSE_TYPES),
    # test_apigateway_api.py::TestApigatewayIntegration::test_put_integration_wrong_type
    "IntegrationType": ["HTTP", "MOCK", "AWS_PROXY", "HTTP_PROXY", "AWS"],
    # test_apigateway_api.py::TestApiGatewayGatewayResponse::test_update_gateway_response
    "Op": ["add", "remove", "move", "test", "replace", "copy"],
}
# Patterns as AWS's service checks and prints them, where they differ from the public model.
PATTERNS: dict[tuple[str, str], str] = {
    # test_lambda_api.py::TestLambdaPermissions::test_permission_exceptions (add_permission_fn_qualifier_invalid)
    ("lambda", "Qualifier"): r"\$(LATEST(\.PUBLISHED)?)|[a-zA-Z0-9-_$]+",
}
# Members the service does not check against the model's enum (it answers with its own message).
UNCHECKED_ENUMS = frozenset({("lambda", "Runtime")})


@functools.cache
def _compiled(pattern: str) -> re.Pattern[str] | None:
    """A model pattern as a Python regex; None for the few written in Java-only syntax (`\\p{L}`), not checked."""
    try:
        return re.compile(pattern)
    except re.error:
        return None


def _java(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, list):
        return "[" + ", ".join(_java(item) for item in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{key}={_java(item)}" for key, item in value.items()) + "}"
    if isinstance(value, bytes):
        return value.decode(errors="replace")
    return str(value)


def _number(value: float) -> str:
    return repr(float(value)) if isinstance(value, float) else str(value)


def _camel(name: str) -> str:
    return name[:1].lower() + name[1:]


def _scalar_rules(service: str, shape: Shape, value: Any) -> list[str]:
    """The constraints a scalar value breaks, each worded as AWS words it."""
    broken: list[str] = []
    metadata = shape.metadata
    if shape.type_name == "string" and isinstance(value, str):
        if "max" in metadata and len(value) > metadata["max"]:
            broken.append(f"Member must have length less than or equal to {metadata['max']}")
        if "min" in metadata and len(value) < metadata["min"]:
            broken.append(f"Member must have length greater than or equal to {metadata['min']}")
        pattern = PATTERNS.get((service, shape.name), metadata.get("pattern"))
        compiled = _compiled(pattern) if pattern else None
        if compiled is not None and not compiled.fullmatch(value):
            broken.append(f"Member must satisfy regular expression pattern: {pattern}")
        enum = getattr(shape, "enum", None)
        if enum and value not in enum and (service, shape.name) not in UNCHECKED_ENUMS:
            broken.append(f"Member must satisfy enum value set: [{', '.join(ENUM_ORDER.get(shape.name, enum))}]")
    elif shape.type_name in ("integer", "long", "double", "float") and isinstance(value, int | float) \
            and not isinstance(value, bool):
        if "max" in metadata and value > metadata["max"]:
            broken.append(f"Member must have value less than or equal to {_number(metadata['max'])}")
        if "min" in metadata and value < metadata["min"]:
            broken.append(f"Member must have value greater than or equal to {_number(metadata['min'])}")
    return broken


def violations(service: str, shape: Shape | None, params: dict[str, Any]) -> list[str]:
    """AWS's `Value '...' at '...' failed to satisfy constraint: ...` lines for an operation's input."""
    if shape is None or shape.type_name != "structure":
        return []
    out: list[str] = []
    # API Gateway names body members after the operation's input (`putIntegrationInput.type`), URI members bare.
    body_prefix = ""
    if service == "apigateway":
        body_prefix = _camel(shape.name.removesuffix("Request")) + "Input."
    _structure(service, shape, params, "", out, body_prefix)
    return out


def _structure(service: str, shape: StructureShape, value: dict[str, Any], prefix: str, out: list[str],
               body_prefix: str = "") -> None:
    for name, member in shape.members.items():
        if name not in value or value[name] is None:
            continue
        location = member.serialization.get("location")
        if location in ("header", "headers"):
            continue
        extra = body_prefix if location is None else ""
        _member(service, member, value[name], f"{prefix}{extra}{_camel(name)}", out)


def _member(service: str, shape: Shape, value: Any, path: str, out: list[str]) -> None:
    if shape.type_name == "structure" and isinstance(value, dict):
        _structure(service, shape, value, f"{path}.", out)
        return
    if shape.type_name == "list" and isinstance(value, list):
        metadata = shape.metadata
        if "max" in metadata and len(value) > metadata["max"]:
            out.append(f"Value '{_java(value)}' at '{path}' failed to satisfy constraint: Member must have length "
                       f"less than or equal to {metadata['max']}")
            return
        item_shape = shape.member  # type: ignore[attr-defined]
        if item_shape.type_name == "structure":
            for index, item in enumerate(value, start=1):
                if isinstance(item, dict):
                    _structure(service, item_shape, item, f"{path}.{index}.member.", out)
            return
        for item in value:
            broken = _scalar_rules(service, item_shape, item)
            if broken:
                out.append(f"Value '{_java(value)}' at '{path}' failed to satisfy constraint: Member must satisfy "
                           f"constraint: [{', '.join([*broken, 'Member must not be null'])}]")
                return
        return
    if shape.type_name == "map" and isinstance(value, dict):
        key_shape, value_shape = shape.key, shape.value  # type: ignore[attr-defined]
        for key, item in value.items():
            broken = _scalar_rules(service, key_shape, key)
            if broken:
                rules = [rule for rule in _all_rules(key_shape)]
                out.append(f"Value '{_java(value)}' at '{path}' failed to satisfy constraint: Map keys must satisfy "
                           f"constraint: [{', '.join(rules)}]")
                return
            if _scalar_rules(service, value_shape, item):
                rules = [*_all_rules(value_shape), "Member must not be null"]
                shown = {key: float(item) if value_shape.type_name == "double" else item
                         for key, item in value.items()}
                out.append(f"Value '{_java(shown)}' at '{path}' failed to satisfy constraint: Map value must "
                           f"satisfy constraint: [{', '.join(rules)}]")
                return
        return
    broken = _scalar_rules(service, shape, value)
    if broken:
        out.append(f"Value '{_java(value)}' at '{path}' failed to satisfy constraint: {broken[0]}")


def _all_rules(shape: Shape) -> list[str]:
    """Every constraint of a shape, as AWS lists them inside `[...]` for map keys and values."""
    metadata = shape.metadata
    rules: list[str] = []
    if shape.type_name == "string":
        if "max" in metadata:
            rules.append(f"Member must have length less than or equal to {metadata['max']}")
        if "min" in metadata:
            rules.append(f"Member must have length greater than or equal to {metadata['min']}")
        if "pattern" in metadata:
            rules.append(f"Member must satisfy regular expression pattern: {metadata['pattern']}")
    else:
        if "max" in metadata:
            rules.append(f"Member must have value less than or equal to {_number(metadata['max'])}")
        if "min" in metadata:
            rules.append(f"Member must have value greater than or equal to {_number(metadata['min'])}")
    return rules


def message(lines: list[str]) -> str:
    """AWS's summary: `1 validation error detected: ...` / `2 validation errors detected: ...; ...`."""
    count = len(lines)
    return f"{count} validation error{'s' if count != 1 else ''} detected: " + "; ".join(lines)
