"""Example: verify a canary split from your own repository's test suite with the lambda-canary plugin.

Configure the stack once (pytest.ini / pyproject.toml):

    [tool.pytest.ini_options]
    lambda_canary_config = "canary.yaml"

then `pytest` starts the stack for the session (process backend) and gives each test a client.
"""

from emulator.verify.pytest_plugin import assert_split


def test_both_runtimes_answer(lambda_canary):
    bodies = {lambda_canary.get("/ping").json()["node"][:4] for _ in range(200)}
    assert bodies == {"v18.", "v22."}


def test_canary_share_matches_percent_traffic(lambda_canary):
    result = lambda_canary.split("/ping", requests=2000)
    assert_split(result)  # against the stage's percentTraffic; false failure at most 1e-6


def test_a_stack_of_its_own(lambda_canary):
    # @pytest.mark.lambda_canary(config="other.yaml", backend="docker", seed=7) gives a test its own stack.
    assert lambda_canary.get("/ping").status == 200
