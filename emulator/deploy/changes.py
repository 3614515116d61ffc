"""What a deploy does, as data: the changes of a plan (create, update, delete, unchanged, refused)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

Action = Literal["create", "update", "delete", "unchanged", "refused"]
PHASES = ("functions", "api", "permissions", "stage")


@dataclass(frozen=True)
class Change:
    """One thing a deploy creates, updates, deletes or leaves alone."""

    action: Action
    kind: str
    name: str
    detail: str = ""

    @property
    def key(self) -> tuple[str, str, str]:
        """Identity across a plan and the deploy that follows it."""
        return (self.action, self.kind, self.name)

    def label(self) -> str:
        """`create function ping-stable (nodejs22.x ...)`."""
        detail = f" ({self.detail})" if self.detail else ""
        return f"{self.action} {self.kind} {self.name}{detail}"


@dataclass
class Plan:
    """The changes of one deploy, with the target and the notes printed around them."""

    target: str
    stage: str
    changes: list[Change] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def pending(self) -> list[Change]:
        """Changes that call AWS."""
        return [change for change in self.changes if change.action not in ("unchanged", "refused")]

    @property
    def refusals(self) -> list[Change]:
        """What the target would refuse (the runtime guard, ownership, version numbering)."""
        return [change for change in self.changes if change.action == "refused"]

    @property
    def empty(self) -> bool:
        """Nothing would change."""
        return not self.pending and not self.refusals
