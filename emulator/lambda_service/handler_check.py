"""Static checks of a handler string against the code folder, before any runtime starts."""

from __future__ import annotations

from pathlib import Path

from emulator.errors import UserError

_EXTENSIONS = ("", ".js", ".mjs", ".cjs")


def handler_module(handler: str) -> tuple[str, str]:
    """Split `dir/file.export` into (`dir/file`, `export`)."""
    slash = handler.rfind("/")
    dot = handler.find(".", slash + 1)
    return handler[:dot], handler[dot + 1:]


def find_handler_file(code_dir: Path, handler: str) -> Path | None:
    """The file the Node runtime would load for `handler`, if it exists in `code_dir`."""
    module, _ = handler_module(handler)
    for extension in _EXTENSIONS:
        candidate = code_dir / f"{module}{extension}"
        if candidate.is_file():
            return candidate
    package = code_dir / "node_modules" / module
    return package if package.exists() else None


def require_handler_file(code_dir: Path, handler: str, where: str) -> Path:
    """Like find_handler_file, but a missing file or folder is a UserError naming both."""
    if not code_dir.is_dir():
        raise UserError(f"{where}: code folder {code_dir} does not exist")
    found = find_handler_file(code_dir, handler)
    if found is None:
        module, _ = handler_module(handler)
        raise UserError(f"{where}: handler {handler!r}: no file {module}.js, {module}.mjs or {module}.cjs "
                        f"in {code_dir}")
    return found
