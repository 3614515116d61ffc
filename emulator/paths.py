"""Where lambda-canary finds its bundled files and keeps its cache."""

from __future__ import annotations

import os
from pathlib import Path

_PACKAGE_DIR = Path(__file__).resolve().parent


def bundled(name: str) -> Path:
    """A top-level project folder (`runtimes`, `docker`) from a wheel or from the source tree."""
    inside_wheel = _PACKAGE_DIR / "_bundled" / name
    if inside_wheel.is_dir():
        return inside_wheel
    return _PACKAGE_DIR.parent / name


def cache_dir() -> Path:
    """Per-user cache: $LAMBDA_CANARY_CACHE, else $XDG_CACHE_HOME/lambda-canary, else ~/.cache/lambda-canary."""
    override = os.environ.get("LAMBDA_CANARY_CACHE")
    if override:
        return Path(override).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg).expanduser() if xdg else Path.home() / ".cache"
    return base / "lambda-canary"
