"""Load YAML while remembering the line of every key, so errors can name file, line and key path."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from emulator.errors import UserError

KeyPath = tuple[str | int, ...]


@dataclass
class YamlDocument:
    """Parsed data plus the line (1-based) where each key path starts."""

    path: Path
    data: Any
    lines: dict[KeyPath, int] = field(default_factory=dict)

    def line_of(self, key_path: KeyPath) -> int | None:
        """The line of the longest prefix of `key_path` that we know."""
        for end in range(len(key_path), -1, -1):
            line = self.lines.get(tuple(key_path[:end]))
            if line is not None:
                return line
        return None

    def where(self, key_path: KeyPath) -> str:
        """`file:line` for a key path."""
        line = self.line_of(key_path)
        return f"{self.path}:{line}" if line else str(self.path)


class _LineLoader(yaml.SafeLoader):
    """SafeLoader that keeps plain strings for timestamps (dates stay as written)."""


_LineLoader.yaml_implicit_resolvers = {
    key: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for key, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def _construct(loader: yaml.SafeLoader, node: yaml.Node, key_path: KeyPath, lines: dict[KeyPath, int]) -> Any:
    lines.setdefault(key_path, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        loader.flatten_mapping(node)
        result: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            key = loader.construct_object(key_node, deep=True)
            if not isinstance(key, str | int | float | bool):
                raise UserError(f"{loader.name}:{key_node.start_mark.line + 1}: a key must be a plain value")
            child = (*key_path, str(key))
            lines[child] = key_node.start_mark.line + 1
            result[str(key) if not isinstance(key, str) else key] = _construct(loader, value_node, child, lines)
        return result
    if isinstance(node, yaml.SequenceNode):
        return [_construct(loader, item, (*key_path, index), lines) for index, item in enumerate(node.value)]
    return loader.construct_object(node, deep=True)


def parse_yaml(text: str, path: Path) -> YamlDocument:
    """Parse one YAML document from text; syntax errors become one-line UserErrors."""
    loader = _LineLoader(text)
    loader.name = str(path)
    try:
        node = loader.get_single_node()
        lines: dict[KeyPath, int] = {}
        data = _construct(loader, node, (), lines) if node is not None else None
    except yaml.YAMLError as error:
        raise yaml_error(error, path) from None
    finally:
        loader.dispose()
    return YamlDocument(path=path, data=data, lines=lines)


def yaml_error(error: yaml.YAMLError, path: Path) -> UserError:
    """A YAML syntax error as one line: `file:line: invalid YAML: problem`."""
    mark = getattr(error, "problem_mark", None)
    where = f"{path}:{mark.line + 1}" if mark else str(path)
    problem = getattr(error, "problem", None) or str(error).splitlines()[0]
    return UserError(f"{where}: invalid YAML: {problem}")


def load_yaml(path: Path) -> YamlDocument:
    """Read and parse a YAML file."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise UserError(f"{path}: no such file") from None
    except (IsADirectoryError, PermissionError, UnicodeDecodeError) as error:
        raise UserError(f"{path}: cannot read: {error}") from None
    return parse_yaml(text, path)
