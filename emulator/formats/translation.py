"""What every importer produces: our config as plain data, where each key came from, and what was not supported."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from emulator.yaml_source import KeyPath, YamlDocument


def dotted(key_path: KeyPath) -> str:
    """`a.b.0.c` for a key path."""
    return ".".join(str(part) for part in key_path)


DEFAULT_REGION, DEFAULT_ACCOUNT = "us-east-1", "123456789012"


@dataclass
class Template:
    """A parsed template. `origin` maps a template key path to the source file's key path (serverless.yml keeps
    its resources under `resources.`), and `line_of` gives the source line of a source key path."""

    path: Path
    data: dict[str, Any]
    line_of: Callable[[KeyPath], int | None]
    origin: Callable[[KeyPath], KeyPath] = lambda key_path: key_path
    region: str = DEFAULT_REGION
    account_id: str = DEFAULT_ACCOUNT
    stack_name: str = "lambda-canary"
    metadata: dict[str, Any] = field(default_factory=dict)

    @property
    def resources(self) -> dict[str, dict[str, Any]]:
        """`Resources`, each a mapping (anything else is skipped)."""
        resources = self.data.get("Resources")
        if not isinstance(resources, dict):
            return {}
        return {name: value for name, value in resources.items() if isinstance(value, dict)}

    def type_of(self, logical: str) -> str | None:
        """A resource's Type."""
        return self.resources.get(logical, {}).get("Type")

    def properties(self, logical: str) -> dict[str, Any]:
        """A resource's Properties (empty when missing)."""
        properties = self.resources.get(logical, {}).get("Properties")
        return properties if isinstance(properties, dict) else {}

    def line(self, key_path: KeyPath) -> int | None:
        """Source line of a template key path."""
        return self.line_of(self.origin(key_path))

    def key(self, key_path: KeyPath) -> str:
        """Dotted source key path of a template key path."""
        return dotted(self.origin(key_path))

    def depends_on(self, logical: str) -> list[str]:
        """The resource's DependsOn as a list."""
        value = self.resources.get(logical, {}).get("DependsOn", [])
        return [value] if isinstance(value, str) else [str(item) for item in value or []]


@dataclass(frozen=True)
class Finding:
    """A mistake AWS would reject or that would silently misroute, located in the user's file."""

    file: Path
    line: int | None
    key: str
    message: str
    fix: str
    code: str
    subject: str = ""

    def format(self) -> str:
        """`file:line: message. Fix: fix` on one line."""
        where = f"{self.file}:{self.line}" if self.line else str(self.file)
        return f"{where}: {self.message.rstrip('.')}. Fix: {self.fix}"

    def acknowledged_by(self, entries: list[str]) -> bool:
        """True when `code` or `code:subject` is in entries."""
        return self.code in entries or f"{self.code}:{self.subject}" in entries


def acknowledged_finding(entry: Any) -> str | None:
    """The finding an `acknowledge` entry names: the entry itself (`code` or `code:subject`), or the `finding` of
    a `{finding, reason}` mapping; None for anything else."""
    if isinstance(entry, str):
        return entry
    if isinstance(entry, dict) and isinstance(entry.get("finding"), str):
        return str(entry["finding"])
    return None


@dataclass(frozen=True)
class Grant:
    """A Lambda permission for API Gateway: a function (name or ARN) and the API id it names (None: any API)."""

    function: str
    api_id: str | None
    line: int | None
    key: str
    source_arn: str | None = None  # the permission's SourceArn (None: any source)


@dataclass
class Translation:
    """A source file translated into our config (`data`, camelCase keys as in canary.yaml).

    `lines` and `keys` map each key path of `data` to the line and key path in the source file. `grants` is
    None for formats without permissions (our own: lambda-canary's deploy grants them).
    """

    source: Path
    format: str
    data: dict[str, Any] = field(default_factory=dict)
    lines: dict[KeyPath, int] = field(default_factory=dict)
    keys: dict[KeyPath, KeyPath] = field(default_factory=dict)
    unsupported: list[str] = field(default_factory=list)
    issues: list[Finding] = field(default_factory=list)
    acknowledge: list[str] = field(default_factory=list)
    grants: list[Grant] | None = None
    template: Template | None = None
    elsewhere: dict[KeyPath, tuple[Path, int | None, KeyPath]] = field(default_factory=dict)

    def note(self, message: str) -> None:
        """Name something the translation did not carry over (once)."""
        if message not in self.unsupported:
            self.unsupported.append(message)

    def put(self, out_path: KeyPath, line: int | None, source_key: KeyPath) -> None:
        """Record where an output key came from."""
        if line is not None:
            self.lines[out_path] = line
        self.keys[out_path] = source_key

    def put_elsewhere(self, out_path: KeyPath, file: Path, line: int | None, source_key: KeyPath) -> None:
        """Record that an output key comes from another file (an OpenAPI document's companion)."""
        self.elsewhere[out_path] = (file, line, source_key)

    def locate(self, out_path: KeyPath) -> tuple[Path, int | None, str]:
        """File, line and dotted source key of an output key path."""
        for end in range(len(out_path), 0, -1):
            found = self.elsewhere.get(tuple(out_path[:end]))
            if found is not None:
                file, line, key = found
                return file, line, dotted((*key, *out_path[end:]))
        return self.source, self.line_of(out_path), self.key_of(out_path)

    def line_of(self, out_path: KeyPath) -> int | None:
        """The source line of the longest known prefix of an output key path."""
        return self.document().line_of(out_path)

    def key_of(self, out_path: KeyPath) -> str:
        """The source key path (dotted) of the longest known prefix of an output key path."""
        for end in range(len(out_path), -1, -1):
            key = self.keys.get(tuple(out_path[:end]))
            if key is not None:
                return dotted(key)
        return dotted(out_path)

    def document(self) -> YamlDocument:
        """The output as a YamlDocument whose `where` points into the source file (or the companion)."""
        return TranslatedDocument(path=self.source, data=self.data, lines=self.lines, translation=self)

    def issue(self, out_or_line: KeyPath | int | None, code: str, message: str, fix: str, subject: str = "",
              key: str | None = None) -> None:
        """Record a finding located by an output key path (or a line)."""
        if isinstance(out_or_line, tuple):
            line, key = self.line_of(out_or_line), key or self.key_of(out_or_line)
        else:
            line = out_or_line
        self.issues.append(Finding(self.source, line, key or "", message, fix, code, subject))


@dataclass
class TranslatedDocument(YamlDocument):
    """A YamlDocument of translated data: `where` names the file and line each key came from."""

    translation: Translation | None = None

    def where(self, key_path: KeyPath) -> str:
        """`file:line` of an output key path, in the file it came from."""
        if self.translation is None:
            return super().where(key_path)
        file, line, _ = self.translation.locate(key_path)
        return f"{file}:{line}" if line else str(file)
