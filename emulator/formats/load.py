"""Read any supported input into our config: a lambda-canary config, a serverless.yml, a CloudFormation or SAM
template, or an OpenAPI export (with a companion config for its functions). read.py tells the format and
translates the file; this module validates the translation as the config model.

`load_any` returns an ImportedConfig: a LoadedConfig (so serve, split and the rest run it unchanged) that also names,
in `unsupported`, everything the translation did not carry over.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import ValidationError

from emulator.config import CanaryConfig, LoadedConfig, ordered_errors, parse_config
from emulator.errors import UserError
from emulator.formats.read import FORMATS, detect_format, translate
from emulator.formats.translation import Finding, Grant, Translation

__all__ = ["FORMATS", "Finding", "Grant", "ImportedConfig", "Translation", "detect_format", "load_any", "load_config",
           "translate", "validate"]


class ImportedConfig(LoadedConfig):
    """A LoadedConfig with its source format and the items the translation named as unsupported."""

    def __init__(self, loaded: LoadedConfig, translation: Translation) -> None:
        super().__init__(loaded.config, loaded.path, loaded.document)
        self.format = translation.format
        self.unsupported: list[str] = list(translation.unsupported)
        self.translation = translation


def _validation_message(translation: Translation, error: ValidationError) -> str:
    """`file:line: source.key.path: message (our key: ...)` for the first error."""
    errors = ordered_errors(error)
    first = errors[0]
    loc = tuple(str(part) for part in first["loc"] if not str(part).startswith("function-"))
    file, line, key = translation.locate(loc)
    where = f"{file}:{line}" if line else str(file)
    message = str(first["msg"]).removeprefix("Value error, ")
    if first["type"] == "missing":
        message = "required key is missing"
    elif "did_you_mean" in first:
        message += f" (did you mean {first['did_you_mean']}?)"
    more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
    return f"{where}: {key}: {message} (as {'.'.join(loc)}){more}"


def load_any(path: Path | str, *, stage: str | None = None, functions: Path | str | None = None) -> ImportedConfig:
    """Load any supported file as a validated config; errors name the source file, line and key."""
    return validate(translate(path, stage=stage, functions=functions))


def validate(translation: Translation) -> ImportedConfig:
    """Validate a translation as our config (UserError naming the source file, line and key)."""
    if translation.format == "lambda-canary":
        return ImportedConfig(parse_config(translation.document()), translation)
    try:
        config = CanaryConfig.model_validate(translation.data)
    except ValidationError as error:
        raise UserError(_validation_message(translation, error)) from None
    loaded = LoadedConfig(config, translation.source.resolve(), translation.document())
    return ImportedConfig(loaded, translation)


def load_config(path: Path | str, *, stage: str | None = None) -> LoadedConfig:
    """Load and validate a config: canary.yaml, serverless.yml, a CloudFormation/SAM template or an OpenAPI export.

    `stage` is serverless.yml's `${opt:stage}` (the stage a `serverless deploy --stage` would name).
    """
    return load_any(Path(path), stage=stage)
