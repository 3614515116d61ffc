"""Recorded responses lambda-canary does not give yet, each with the reason (strict xfail)."""

KNOWN_DIFFERENCES: dict[tuple[str, str], str] = {}
