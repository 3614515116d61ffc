"""Which init errors are setup mistakes (the handler setting or the code cannot load) rather than function failures:
`invoke` exits 2 on them, as on a missing handler file."""

from __future__ import annotations

from typing import Any

# Init errors that mean the handler setting or the code cannot load: a setup mistake (exit 2), not a function
# failure. Names as the Lambda Node.js runtime reports them (aws-lambda-nodejs-runtime-interface-client,
# src/Errors.js: ImportModuleError, HandlerNotFound, MalformedHandlerName, UserCodeSyntaxError).
USER_INIT_ERRORS = ("Runtime.HandlerNotFound", "Runtime.ImportModuleError", "Runtime.MalformedHandlerName",
                    "Runtime.UserCodeSyntaxError")


def setup_mistake(error: dict[str, Any] | None) -> str | None:
    """`Runtime.HandlerNotFound: index.nope is undefined or not exported` for a setup mistake, else None."""
    if not error or error.get("errorType") not in USER_INIT_ERRORS:
        return None
    message = str(error.get("errorMessage", "")).splitlines()[0] if error.get("errorMessage") else ""
    return f"{error['errorType']}: {message}"
