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

import sys

import click

from emulator.cli.common import err_console
from emulator.cli.deploy import canary_group, deploy_command, plan_command
from emulator.cli.diff import diff_command
from emulator.cli.formats import check_command, export_command
from emulator.cli.images import images
from emulator.cli.rollout import rollout_command
from emulator.cli.run import invoke, serve
from emulator.cli.runtimes import runtimes
from emulator.cli.top import top_command
from emulator.cli.verify import compare, split
from emulator.errors import UserError


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="lambda-canary")
def cli() -> None:
    """Local API Gateway + Lambda for Node runtime-migration canaries."""


for command in (runtimes, invoke, serve, split, compare, diff_command, rollout_command, top_command, images,
                check_command, export_command, plan_command, deploy_command, canary_group):
    cli.add_command(command)


def main() -> None:
    """Entry point: user errors are one line on stderr and exit code 2, never a traceback."""
    try:
        cli.main(standalone_mode=False)
    except UserError as error:
        err_console.print(f"lambda-canary: error: {error.message}", markup=False, highlight=False)
        sys.exit(error.exit_code)
    except click.exceptions.Abort:
        err_console.print("Aborted.")
        sys.exit(130)
    except click.ClickException as error:
        error.show()
        sys.exit(error.exit_code)
    except KeyboardInterrupt:
        sys.exit(130)

