"""`serve --state-dir DIR`: the account's state (APIs, and functions made through the AWS API) kept across
restarts, written atomically after every change."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

from pydantic import TypeAdapter, ValidationError

from emulator.apigateway.model import ApiGatewayState
from emulator.errors import UserError

STATE_FILE = "state.json"
FORMAT = 1
_APIGATEWAY = TypeAdapter(ApiGatewayState)


def state_file(state_dir: Path) -> Path:
    """Where the state lives inside the state folder."""
    return state_dir / STATE_FILE


def save(state_dir: Path, apigateway: ApiGatewayState, lambda_data: dict[str, Any]) -> None:
    """Write the whole state to a temporary file, then rename it over the old one."""
    state_dir.mkdir(parents=True, exist_ok=True)
    document = {"format": FORMAT, "apigateway": _APIGATEWAY.dump_python(apigateway, mode="json"),
                "lambda": lambda_data}
    with tempfile.NamedTemporaryFile("w", dir=state_dir, prefix=".state-", suffix=".tmp", delete=False) as handle:
        json.dump(document, handle)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(handle.name, state_file(state_dir))


def load(state_dir: Path) -> tuple[ApiGatewayState, dict[str, Any]] | None:
    """The saved state, or None when the folder holds none yet."""
    path = state_file(state_dir)
    if not path.exists():
        return None
    try:
        document = json.loads(path.read_text())
        if document.get("format") != FORMAT:
            raise UserError(f"{path}: state format {document.get('format')!r}; this lambda-canary reads {FORMAT}")
        return _APIGATEWAY.validate_python(document["apigateway"]), document.get("lambda", {})
    except (ValueError, KeyError, ValidationError) as error:
        first = str(error).splitlines()[0]
        raise UserError(f"{path}: unreadable state ({first}); move it away to start empty") from None
