"""Stage variables: AWS's name and value rules, and `${stageVariables.x}` substitution.

Rules and messages: reference §1.1 (API Gateway Stage.variables; observed error texts).
"""

from __future__ import annotations

import re
from collections.abc import Mapping

# Matched with fullmatch: `$` in a pattern also matches before a final newline, which AWS does not accept.
NAME_PATTERN = re.compile(r"[A-Za-z0-9_]+")
VALUE_PATTERN = re.compile(r"[A-Za-z0-9\-._~:/?#&=,]+")
MAX_NAME_LENGTH = 64
MAX_VALUE_LENGTH = 512
MAX_VARIABLES = 100
REFERENCE = re.compile(r"\$\{stageVariables\.([^}]*)\}")


class StageVariableError(ValueError):
    """A name or value AWS refuses, with AWS's message."""


def name_error(name: str) -> str | None:
    """AWS's message for an invalid stage-variable name, or None."""
    if not NAME_PATTERN.fullmatch(name):
        return f"Invalid stage variable name: {name}.  Please use names with only word characters."
    if len(name) > MAX_NAME_LENGTH:
        return f"Stage variable name {name} is longer than {MAX_NAME_LENGTH} characters."
    return None


def value_error(value: str) -> str | None:
    """AWS's message for an invalid stage-variable value, or None."""
    if not VALUE_PATTERN.fullmatch(value):
        return (f"Invalid stage variable value: {value}.  Please use values with alphanumeric characters and "
                "the symbols ' ', -', '.', '_', ':', '/', '?', '&', '=', and ','.")
    if len(value) > MAX_VALUE_LENGTH:
        return f"Stage variable value for {value[:20]}... is longer than {MAX_VALUE_LENGTH} characters."
    return None


def validate_variables(variables: Mapping[str, str]) -> None:
    """Raise StageVariableError with AWS's message for the first bad name or value."""
    if len(variables) > MAX_VARIABLES:
        raise StageVariableError(f"A stage can have at most {MAX_VARIABLES} stage variables.")
    for name, value in variables.items():
        message = name_error(name) or value_error(value)
        if message:
            raise StageVariableError(message)


class UndefinedStageVariable(LookupError):
    """A `${stageVariables.x}` whose variable the request's stage does not define."""

    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.name = name


def referenced_names(template: str) -> list[str]:
    """Names of the stage variables a template refers to, in order."""
    return REFERENCE.findall(template)


def substitute(template: str, variables: Mapping[str, str] | None) -> str:
    """Replace each `${stageVariables.name}`; an undefined one raises UndefinedStageVariable.

    A template without references is returned unchanged (the same object).
    """
    if "${stageVariables." not in template:
        return template
    values = variables or {}

    def replace(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in values:
            raise UndefinedStageVariable(name)
        return values[name]

    return REFERENCE.sub(replace, template)


def substitute_or_empty(template: str, variables: Mapping[str, str] | None) -> tuple[str, list[str]]:
    """Like `substitute`, but an undefined variable becomes "" (as in AWS mapping templates).

    Returns the result and the names that were undefined.
    """
    if "${stageVariables." not in template:
        return template, []
    values = variables or {}
    undefined: list[str] = []

    def replace(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in values:
            undefined.append(name)
        return values.get(name, "")

    return REFERENCE.sub(replace, template), undefined
