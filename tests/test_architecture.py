"""The package's shape, kept by a test: no import cycles anywhere in `emulator`, and dependencies that point one way
(CLI -> verification tools -> stack -> control plane and API Gateway -> Lambda service -> backends; the formats and
the config model below them; deploy beside them, never importing the data plane).

Imports are read from the source (ast), all of them: module-level, inside functions, and under TYPE_CHECKING, since
each is a dependency a reader has to follow.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "emulator"


def modules() -> dict[str, Path]:
    """Every module of the package by dotted name (a package by its name)."""
    found = {}
    for path in PACKAGE.rglob("*.py"):
        parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        found[".".join(parts)] = path
    return found


MODULES = modules()


def _resolve(name: str) -> str | None:
    """The module a dotted import name lands in (`emulator.a.b.Name` -> `emulator.a.b`)."""
    while name and name not in MODULES:
        name = name.rpartition(".")[0]
    return name or None


def imports(module: str) -> Iterator[str]:
    """The package's modules that `module` imports, anywhere in its source."""
    path = MODULES[module]
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                base = f"{parent}.{base}".rstrip(".")
            names = [f"{base}.{alias.name}" for alias in node.names]
        for name in names:
            if name.startswith("emulator"):
                target = _resolve(name)
                if target is not None and target != module:
                    yield target


GRAPH = {module: set(imports(module)) for module in MODULES}


def cycles() -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(module: str) -> None:
        index[module] = low[module] = len(index)
        stack.append(module)
        on_stack.add(module)
        for target in GRAPH[module]:
            if target not in index:
                visit(target)
                low[module] = min(low[module], low[target])
            elif target in on_stack:
                low[module] = min(low[module], index[target])
        if low[module] == index[module]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == module:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for module in sorted(GRAPH):
        if module not in index:
            visit(module)
    return found


def test_no_import_cycles_in_the_package() -> None:
    assert cycles() == []


def within(module: str, *prefixes: str) -> bool:
    return any(module == prefix or module.startswith(prefix + ".") for prefix in prefixes)


CLI = ("emulator.cli",)
VERIFY = ("emulator.verify",)
RUNNING = ("emulator.stack", "emulator.serve", "emulator.testing", "emulator.invoke")
CONTROL_PLANE = ("emulator.control_plane",)
APIGATEWAY = ("emulator.apigateway",)
LAMBDA = ("emulator.lambda_service",)
FORMATS = ("emulator.formats",)
DEPLOY = ("emulator.deploy",)

# (who, what it must never import, why)
RULES = [
    (("emulator",), CLI, "only the command line is the command line: nothing imports it"),
    (VERIFY, (*CLI, *DEPLOY), "the verification tools run a stack or a URL, not commands or deploys"),
    (RUNNING, (*CLI, *VERIFY, *DEPLOY), "a running stack knows nothing of the tools that drive it"),
    (CONTROL_PLANE, (*CLI, *VERIFY, *RUNNING, *DEPLOY), "the AWS API serves the state it is given"),
    (APIGATEWAY, (*CLI, *VERIFY, *RUNNING, *CONTROL_PLANE, *DEPLOY),
     "the data plane: API Gateway -> Lambda service, never back up"),
    (LAMBDA, (*CLI, *VERIFY, *RUNNING, *CONTROL_PLANE, *APIGATEWAY, *DEPLOY, *FORMATS),
     "the Lambda service is below API Gateway"),
    (("emulator.lambda_service.backends",), ("emulator.lambda_service.service", "emulator.lambda_service.pool"),
     "backends run environments; the service above them picks one"),
    (FORMATS, (*CLI, *VERIFY, *RUNNING, *CONTROL_PLANE, *DEPLOY), "the formats read and write files, nothing runs"),
    (("emulator.config",), (*FORMATS, *CLI, *RUNNING, *CONTROL_PLANE, *APIGATEWAY, *LAMBDA, *DEPLOY),
     "the config model knows none of the formats that produce it"),
    (("emulator.config",), ("emulator.verify.split", "emulator.verify.compare", "emulator.verify.report",
                            "emulator.verify.pytest_plugin", "emulator.verify.chain", "emulator.verify.stats",
                            "emulator.verify.diff.session", "emulator.verify.diff.runner"),
     "the config model reads the diff rules' syntax (emulator.verify.diff.rules) and nothing that runs"),
    (DEPLOY, (*CLI, *VERIFY, *RUNNING, *CONTROL_PLANE, *APIGATEWAY, *LAMBDA), "deploy reads the config, never the data "
     "plane"),
]


@pytest.mark.parametrize(("who", "forbidden", "why"), RULES, ids=[rule[0][0] for rule in RULES])
def test_dependencies_point_one_way(who: tuple[str, ...], forbidden: tuple[str, ...], why: str) -> None:
    wrong = sorted(f"{module} imports {target}" for module, targets in GRAPH.items() if within(module, *who)
                   and not within(module, *forbidden) for target in targets if within(target, *forbidden))
    assert wrong == [], why


def test_the_command_line_is_one_package() -> None:
    """click is imported by emulator/cli/ alone, and each command group has its module there."""
    outside = sorted(module for module, path in MODULES.items() if not within(module, *CLI)
                     and any(isinstance(node, ast.Import | ast.ImportFrom)
                             and any((getattr(node, "module", None) or alias.name).split(".")[0] == "click"
                                     for alias in node.names)
                             for node in ast.walk(ast.parse(path.read_text()))))
    assert outside == []
    assert {"emulator.cli.runtimes", "emulator.cli.run", "emulator.cli.verify", "emulator.cli.diff",
            "emulator.cli.formats", "emulator.cli.deploy", "emulator.cli.images"} <= set(MODULES)


def test_the_entry_points_still_work() -> None:
    """`lambda-canary` (emulator.cli:main), `python -m emulator.cli`, and the pytest11 plugin module."""
    import tomllib

    project = tomllib.loads((PACKAGE.parent / "pyproject.toml").read_text())["project"]
    assert project["scripts"]["lambda-canary"] == "emulator.cli:main"
    plugin = project["entry-points"]["pytest11"]["lambda_canary"]
    assert plugin in MODULES
    module = subprocess.run([sys.executable, "-m", "emulator.cli", "--help"], capture_output=True, text=True,
                            timeout=60)
    assert module.returncode == 0 and "split" in module.stdout and "deploy" in module.stdout
    code = f"import importlib; m = importlib.import_module({plugin!r}); print(callable(m.pytest_addoption))"
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert loaded.stdout.strip() == "True", loaded.stderr
