"""The command line's conventions, over every command: one meaning per short flag, the shared options spelled
and described the same way, help text for every option, and the exit codes the README's table documents."""

from __future__ import annotations

import subprocess
import sys
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path

import click

from emulator.cli import cli

REPO = Path(__file__).resolve().parent.parent


def commands(group: click.Group = cli, prefix: str = "") -> Iterator[tuple[str, click.Command]]:
    """Every leaf command, with its full name (`canary set`)."""
    context = click.Context(group)
    for name in group.list_commands(context):  # the top group imports each command's module on demand
        command = group.get_command(context, name)
        assert command is not None, name
        full = f"{prefix}{name}"
        if isinstance(command, click.Group):
            yield from commands(command, f"{full} ")
        else:
            yield full, command


def options() -> Iterator[tuple[str, click.Option]]:
    for name, command in commands():
        for parameter in command.params:
            if isinstance(parameter, click.Option) and parameter.name != "help":
                yield name, parameter


def test_every_option_has_help() -> None:
    missing = [f"{name} {option.opts[0]}" for name, option in options() if not (option.help or "").strip()]
    assert missing == []


def test_a_short_flag_means_one_thing_everywhere() -> None:
    meanings: dict[str, set[str]] = defaultdict(set)
    for _name, option in options():
        longs = [opt for opt in option.opts if opt.startswith("--")]
        for short in (opt for opt in option.opts if not opt.startswith("--")):
            meanings[short].update(longs)
    assert {short: longs for short, longs in meanings.items() if len(longs) != 1} == {}


def test_shared_options_are_spelled_the_same_everywhere() -> None:
    """--config is `-c` with a file, --stage is `-s`, --host is a Host header (serve binds with --bind), and --json
    is a flag wherever they appear."""
    seen: dict[str, list[str]] = defaultdict(list)
    for name, option in options():
        seen[option.opts[0]].append(name)
        if option.opts[0] == "--config":
            assert "-c" in option.opts, name
        if option.opts[0] == "--stage":
            assert "-s" in option.opts, name
        if option.opts[0] == "--host":
            assert "Host header" in (option.help or ""), name
        if option.opts[0] == "--json":
            assert option.is_flag, name
    assert {"split", "compare"} <= set(seen["--host"])
    assert "serve" in seen["--bind"]
    for opt in ("--config", "--stage", "--host", "--json"):
        assert seen[opt], opt


def test_every_command_documents_its_exit_codes_in_the_readme() -> None:
    """One table in README.md: 0 pass, 1 a verdict or function failure, 2 a user error."""
    from pathlib import Path

    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text()
    assert readme.count("| exit code |") == 1
    for row in ("| 0 |", "| 1 |", "| 2 |"):
        assert row in readme, row


def test_a_dependency_missing_from_an_old_venv_is_one_line_and_exit_2() -> None:
    """A venv made before pyproject.toml gained a dependency: the fix named, no traceback."""
    code = ("import sys; sys.modules['httptools'] = None; "
            "sys.argv = ['lambda-canary', 'check', 'examples/ping/canary.yaml']; "
            "from emulator.cli import main; main()")
    done = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert done.returncode == 2
    assert done.stderr.splitlines() == ["lambda-canary: error: the Python package 'httptools' is not installed in "
                                        "this environment: run `make setup` (or `pip install -e .`) to install "
                                        "lambda-canary's dependencies"]
