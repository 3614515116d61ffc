"""Where installs made before the move to emulator/verify/ look for the pytest plugin (their `pytest11`
entry point names this module); `pip install -e .` (or `make setup`) points it at emulator.verify.pytest_plugin."""

from emulator.verify.pytest_plugin import (  # noqa: F401
    _lambda_canary_session,
    assert_split,
    lambda_canary,
    pytest_addoption,
    pytest_configure,
)
