"""Which backend a run asks for: the rule `serve` (deciding early whether to listen) and the stack (choosing the
backend, emulator/lambda_service/backends/select.py) share. It imports nothing, so `serve` can use it before
anything else is loaded."""

from __future__ import annotations


def requested_backend(option: str | None, declared: object) -> str:
    """The `--backend` option, else the config's `backend` key, else `auto`. A declared value the config model
    refuses is returned as it is: the model names it, and it is not `process`."""
    if option:
        return option
    return declared if isinstance(declared, str) and declared else "auto"
