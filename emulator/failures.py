"""Unexpected failures while serving: one log line naming the cause; the traceback only in debug mode."""

from __future__ import annotations

import traceback
from collections.abc import Callable

from emulator.errors import UserError


def describe(error: BaseException) -> str:
    """The cause on one line: `Type: message` (a UserError is its message alone)."""
    if isinstance(error, UserError):
        return error.message.replace("\n", " ")
    text = " ".join(str(error).split())
    return f"{type(error).__name__}: {text}" if text else type(error).__name__


def report(log: Callable[[str], None], context: str, error: BaseException, debug: bool = False) -> None:
    """Log `context: cause` as one line; with `debug`, the traceback follows line by line."""
    hint = "" if debug or isinstance(error, UserError) else " (serve --debug shows the traceback)"
    log(f"lambda-canary: {context}: {describe(error)}{hint}")
    if debug:
        for chunk in traceback.format_exception(error):
            for line in chunk.rstrip("\n").splitlines():
                log(line)
