"""pytest plugin (entry point `pytest11`): fixtures to run a lambda-canary stack in a test session."""
