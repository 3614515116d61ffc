"""The runtime catalogue: `runtimes/catalogue.yaml`, read once and validated."""

from __future__ import annotations

import datetime as dt
from functools import cache

from pydantic import BaseModel, ConfigDict, ValidationError

from emulator.errors import UserError
from emulator.paths import bundled
from emulator.yaml_source import load_yaml


class RuntimeSpec(BaseModel):
    """One Lambda runtime: its Node release, public base image, OS and AWS lifecycle dates."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str
    node: str
    image: str
    os: str
    deprecation: dt.date | None = None
    block_create: dt.date | None = None
    block_update: dt.date | None = None

    @property
    def major(self) -> int:
        """Node major version, e.g. 22."""
        return int(self.node.split(".", 1)[0])

    @property
    def execution_env(self) -> str:
        """The value Lambda puts in AWS_EXECUTION_ENV."""
        return f"AWS_Lambda_{self.name}"

    def blocks_create(self, today: dt.date) -> bool:
        """True when AWS no longer lets a function be created on this runtime."""
        return self.block_create is not None and today >= self.block_create

    def blocks_update(self, today: dt.date) -> bool:
        """True when AWS no longer lets a function on this runtime be updated."""
        return self.block_update is not None and today >= self.block_update


@cache
def catalogue() -> dict[str, RuntimeSpec]:
    """All runtimes, by identifier (`nodejs22.x`)."""
    path = bundled("runtimes") / "catalogue.yaml"
    document = load_yaml(path)
    runtimes: dict[str, RuntimeSpec] = {}
    for name, entry in (document.data or {}).items():
        try:
            runtimes[name] = RuntimeSpec(name=name, **entry)
        except (ValidationError, TypeError) as error:
            raise UserError(f"{document.where((name,))}: bad runtime entry {name}: {error}") from None
    return runtimes


def known_runtimes() -> str:
    """Comma-separated runtime identifiers, for error messages."""
    return ", ".join(catalogue())


def get_runtime(name: str) -> RuntimeSpec:
    """Look a runtime up; an unknown one is a UserError that lists the known ones."""
    try:
        return catalogue()[name]
    except KeyError:
        raise UserError(f"unknown runtime {name!r}; known runtimes: {known_runtimes()}") from None
