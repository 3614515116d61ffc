"""Read any supported input file into our config's data, not yet validated: the format is told from the file, and
each format's reader translates it (load.py validates the result). Nothing here loads pydantic or the config model:
`serve` reads its config this far, listens, and validates it while connections wait (issue 19)."""

from __future__ import annotations

from pathlib import Path

import yaml

from emulator.errors import UserError
from emulator.formats.cloudformation import CfnLoader, load_cloudformation, read_text
from emulator.formats.serverless import load_serverless
from emulator.formats.translation import Translation
from emulator.yaml_source import load_yaml

FORMATS = ("lambda-canary", "serverless", "cloudformation", "openapi")
_SCRIPT_SUFFIXES = (".sh", ".bash")


def detect_format(path: Path) -> str:
    """`lambda-canary`, `serverless`, `cloudformation`, `openapi`, or `script` (a shell script, for check only)."""
    if path.suffix.lower() in _SCRIPT_SUFFIXES:
        return "script"
    text = read_text(path)
    if path.name.lower() in ("serverless.yml", "serverless.yaml"):
        return "serverless"
    try:
        data = yaml.load(text, Loader=CfnLoader)  # CfnLoader is a SafeLoader
    except yaml.YAMLError:
        data = None
    if isinstance(data, dict):
        if "openapi" in data or "swagger" in data:
            return "openapi"
        if "Resources" in data:
            return "cloudformation"
        if "service" in data and ("provider" in data or "functions" in data):
            return "serverless"
        if data.keys() & {"functions", "restApis", "region", "accountId", "backend"}:
            return "lambda-canary"
    if data is None and text.strip():
        load_yaml(path)  # raises the YAML syntax error with its line
    raise UserError(f"{path}: cannot tell the format: expected a lambda-canary config (functions, restApis), a "
                    "serverless.yml (service), a CloudFormation/SAM template (Resources) or an OpenAPI document "
                    "(openapi)")


def translate(path: Path | str, *, stage: str | None = None, functions: Path | str | None = None) -> Translation:
    """Translate a file of any supported format into our config's data (not yet validated)."""
    path = Path(path)
    kind = detect_format(path)
    if kind == "lambda-canary":
        document = load_yaml(path)
        return Translation(path, kind, data=document.data, lines=dict(document.lines),
                           keys={key: key for key in document.lines})
    if kind == "serverless":
        return load_serverless(path, stage=stage)
    if kind == "cloudformation":
        return load_cloudformation(path)
    if kind == "openapi":
        # late: the OpenAPI importer shares API Gateway's OpenAPI reading, and deploy (which imports load.py
        # for load_config) never loads the data plane
        from emulator.formats.openapi import load_openapi

        return load_openapi(path, stage=stage, functions=Path(functions) if functions else None)
    raise UserError(f"{path}: a shell script can be checked (lambda-canary check), not served")
