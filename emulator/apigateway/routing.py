"""Route a request path and method to a resource, as API Gateway does.

The most specific resource wins: a literal segment beats `{param}`, which beats a greedy `{proxy+}`;
`ANY` matches every method the resource does not define itself.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol


class Resource(Protocol):
    """What routing and the steps after it read of a resource (emulator.apigateway.model.Resource; the model imports
    this module, so this module does not import the model): its id, its full path and its methods by HTTP method."""

    @property
    def id(self) -> str: ...

    @property
    def path(self) -> str: ...

    @property
    def methods(self) -> Mapping[str, Any]: ...


Method = Any  # emulator.apigateway.model.Method, passed through untouched


_SEGMENT = re.compile(r"[^/]+")


@dataclass
class _Node:
    resource: Resource | None = None
    literals: dict[str, _Node] = field(default_factory=dict)
    param: tuple[str, _Node] | None = None
    greedy: tuple[str, Resource] | None = None


@dataclass(frozen=True)
class RouteMatch:
    """A matched resource and method, with the path parameters."""

    resource: Resource
    method: Method
    path_parameters: dict[str, str] | None


class RouteTable:
    """A resource tree compiled for matching."""

    def __init__(self) -> None:
        self._root = _Node()

    @classmethod
    def build(cls, resources: Iterable[Resource]) -> RouteTable:
        """Compile resources (each with its full path) into a tree."""
        table = cls()
        for resource in resources:
            node = table._root
            parts = [part for part in resource.path.split("/") if part]
            for index, part in enumerate(parts):
                if part.startswith("{") and part.endswith("+}"):
                    if index == len(parts) - 1:
                        node.greedy = (part[1:-2], resource)
                    break
                if part.startswith("{") and part.endswith("}"):
                    if node.param is None:
                        node.param = (part[1:-1], _Node())
                    node = node.param[1]
                else:
                    node = node.literals.setdefault(part, _Node())
            else:
                node.resource = resource
        return table

    def match(self, path: str, method: str) -> RouteMatch | None:
        """Find the resource for `path` (stage removed, not decoded) and its method."""
        spans = [(match.start(), match.group()) for match in _SEGMENT.finditer(path)]
        segments = [segment for _, segment in spans]
        found = self._find(self._root, segments, 0, {}, path, spans)
        if found is None:
            return None
        resource, parameters = found
        chosen = resource.methods.get(method) or resource.methods.get("ANY")
        if chosen is None:
            return None
        return RouteMatch(resource, chosen, parameters or None)

    def _find(self, node: _Node, segments: list[str], index: int, parameters: dict[str, str],
              path: str, spans: list[tuple[int, str]]) -> tuple[Resource, dict[str, str]] | None:
        if index == len(segments):
            if node.resource is not None:
                return node.resource, parameters
            return None
        segment = segments[index]
        literal = node.literals.get(segment)
        if literal is not None:
            found = self._find(literal, segments, index + 1, parameters, path, spans)
            if found is not None:
                return found
        if node.param is not None:
            name, child = node.param
            found = self._find(child, segments, index + 1, {**parameters, name: segment}, path, spans)
            if found is not None:
                return found
        if node.greedy is not None:
            name, resource = node.greedy
            # The greedy value keeps inner double slashes but not the trailing slash (reference §3.1).
            return resource, {**parameters, name: path[spans[index][0]:].rstrip("/")}
        return None
