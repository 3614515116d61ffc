"""Errors a user can act on: the CLI prints them on one line and exits 2."""


class UserError(Exception):
    """A mistake in the user's input (file, flag, event); never a bug of ours."""

    exit_code = 2

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message
