"""The `lambda-canary` command line: the group, its entry point, and one module per command group.

- runtimes.py  `runtimes list|install|use`
- run.py       `invoke`, `serve`
- verify.py    `split`, `compare`
- diff.py      `diff`
- rollout.py   `rollout`
- top.py       `top`
- formats.py   `check`, `export`
- deploy.py    `plan`, `deploy`, `canary set|promote|rollback|status`
- images.py    `images build|standin`
- common.py    what several of them share
"""

from __future__ import annotations

import importlib
import sys

import click

from emulator.errors import UserError

# Each command's module, imported only when that command runs (or help lists it): `serve` never loads scipy, boto3
# or the deploy code, which took most of its time to listen (issue 19: 0.57 s, 0.3 s wanted).
COMMANDS = {
    "runtimes": ("emulator.cli.runtimes", "runtimes"),
    "invoke": ("emulator.cli.run", "invoke"),
    "serve": ("emulator.cli.run", "serve"),
    "split": ("emulator.cli.verify", "split"),
    "compare": ("emulator.cli.verify", "compare"),
    "diff": ("emulator.cli.diff", "diff_command"),
    "rollout": ("emulator.cli.rollout", "rollout_command"),
    "top": ("emulator.cli.top", "top_command"),
    "images": ("emulator.cli.images", "images"),
    "check": ("emulator.cli.formats", "check_command"),
    "export": ("emulator.cli.formats", "export_command"),
    "plan": ("emulator.cli.deploy", "plan_command"),
    "deploy": ("emulator.cli.deploy", "deploy_command"),
    "canary": ("emulator.cli.deploy", "canary_group"),
}


class LazyGroup(click.Group):
    """A group whose commands are imported on first use."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*COMMANDS, *self.commands})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in self.commands and cmd_name in COMMANDS:
            module, name = COMMANDS[cmd_name]
            self.add_command(getattr(importlib.import_module(module), name), cmd_name)
        return self.commands.get(cmd_name)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="lambda-canary")
def cli() -> None:
    """Local API Gateway + Lambda for Node runtime-migration canaries."""


def main() -> None:
    """Entry point: user errors are one line on stderr and exit code 2, never a traceback."""
    try:
        cli.main(standalone_mode=False)
    except UserError as error:
        from emulator.cli.common import err_console

        err_console.print(f"lambda-canary: error: {error.message}", markup=False, highlight=False)
        sys.exit(error.exit_code)
    except ModuleNotFoundError as error:  # a venv made before a dependency was added (pyproject.toml changed)
        sys.stderr.write(f"lambda-canary: error: the Python package {error.name!r} is not installed in this "
                         "environment: run `make setup` (or `pip install -e .`) to install lambda-canary's "
                         "dependencies\n")
        sys.exit(2)
    except click.exceptions.Abort:
        from emulator.cli.common import err_console

        err_console.print("Aborted.")
        sys.exit(130)
    except click.ClickException as error:
        error.show()
        sys.exit(error.exit_code)
    except KeyboardInterrupt:
        sys.exit(130)

