"""Compare live responses with responses recorded against real AWS (LocalStack's AWS-validated snapshots).

A recording is already normalised by LocalStack's snapshot transformers: generated values stand as
placeholders (`<deployment-id:1>`, `<uuid:2>`, `<fn-name>`, `<region>`), the account id as `111111111111`,
timestamps as `date` / `datetime`, and every `ResponseMetadata.HTTPHeaders` as `{}`. The comparator binds each
placeholder to the live value the first time it meets it and requires the same value wherever the same
placeholder appears again in the case (a case is one recorded test: one call sequence); two placeholders with
the same name and different numbers must bind different values, as LocalStack numbers distinct values.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import re
from dataclasses import dataclass, field
from typing import Any

RECORDED_ACCOUNT = "111111111111"  # LocalStack writes the recording account id as this
_TOKEN = re.compile(r"<[a-zA-Z0-9_.:-]+>")
# Values some LocalStack transformers write without angle brackets.
BARE_PLACEHOLDERS = {"code-sha256": "<code-sha256>"}
BOUND_UNNUMBERED = frozenset({"<account-id>", "<region>", "<partition>"})
_DATE_WORDS = ("date", "datetime", "<datetime>", "<date>")
_DATE_TEXT = re.compile(r"^(\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}|[A-Z][a-z]{2}, \d{2} [A-Z][a-z]{2} \d{4} "
                        r"\d{2}:\d{2}:\d{2} GMT$)")


@dataclass
class Bindings:
    """Placeholder values seen so far in one case."""

    values: dict[str, str] = field(default_factory=dict)
    skip: tuple[str, ...] = ()

    def skipped(self, path: str) -> bool:
        """Is `path` ($.a.b) under one of LocalStack's `$..x.y` skip paths?"""
        return any(path.endswith("." + pattern[3:]) for pattern in self.skip)

    def bind(self, token: str, value: str, path: str, problems: list[str]) -> None:
        name, _, number = token[1:-1].rpartition(":")
        if not number.isdigit() and token not in BOUND_UNNUMBERED:
            return  # a value-only transformer (e.g. <code-size>): any value, not a reference
        known = self.values.get(token)
        if known is not None:
            if known != value:
                problems.append(f"{path}: {token} was {known!r} earlier in this case, here {value!r}")
            return
        if number.isdigit():
            for other, other_value in self.values.items():
                other_name, _, other_number = other[1:-1].rpartition(":")
                if other_name == name and other_number.isdigit() and other_value == value:
                    problems.append(f"{path}: {token} and {other} must differ, both are {value!r}")
                    return
        self.values[token] = value


def _pattern(recorded: str) -> tuple[re.Pattern[str], list[str]] | None:
    text = recorded.replace(RECORDED_ACCOUNT, "<account-id>")
    tokens = _TOKEN.findall(text)
    if not tokens:
        return None
    regex = ""
    for index, part in enumerate(_TOKEN.split(text)):
        regex += re.escape(part)
        if index < len(tokens):
            regex += "(.+?)" if index < len(tokens) - 1 or _TOKEN.split(text)[-1] else "(.+)"
    return re.compile(f"^{regex}$", re.DOTALL), tokens


def compare(recorded: Any, actual: Any, bindings: Bindings, path: str = "$") -> list[str]:
    """The differences between a recorded value and the live one (empty when they agree)."""
    problems: list[str] = []
    _compare(recorded, actual, bindings, path, problems)
    return problems


def _compare(recorded: Any, actual: Any, bindings: Bindings, path: str, problems: list[str]) -> None:
    if isinstance(recorded, dict):
        if isinstance(actual, str | bytes):
            try:
                actual = json.loads(actual)
            except ValueError:
                problems.append(f"{path}: recorded an object, got {actual!r}")
                return
        if not isinstance(actual, dict):
            problems.append(f"{path}: recorded an object, got {actual!r}")
            return
        if path.endswith(".ResponseMetadata"):
            _compare(recorded.get("HTTPStatusCode"), actual.get("HTTPStatusCode"), bindings,
                     f"{path}.HTTPStatusCode", problems)
            return
        missing = [key for key in recorded if key not in actual and not bindings.skipped(f"{path}.{key}")]
        extra = [key for key in actual if key not in recorded and not bindings.skipped(f"{path}.{key}")]
        if missing:
            problems.append(f"{path}: missing {missing}")
        if extra:
            problems.append(f"{path}: not in the recording {extra}")
        for key in recorded:
            if key in actual and not bindings.skipped(f"{path}.{key}"):
                _compare(recorded[key], actual[key], bindings, f"{path}.{key}", problems)
        return
    if isinstance(recorded, list):
        if isinstance(actual, str):
            with contextlib.suppress(ValueError):
                actual = json.loads(actual)
        if not isinstance(actual, list) or len(actual) != len(recorded):
            problems.append(f"{path}: recorded {recorded!r}, got {actual!r}")
            return
        for index, (left, right) in enumerate(zip(recorded, actual, strict=True)):
            _compare(left, right, bindings, f"{path}[{index}]", problems)
        return
    if isinstance(recorded, str):
        if recorded in _DATE_WORDS:
            if isinstance(actual, dt.datetime | dt.date) or (isinstance(actual, str) and _DATE_TEXT.match(actual)):
                return
            problems.append(f"{path}: recorded a date, got {actual!r}")
            return
        found = _pattern(BARE_PLACEHOLDERS.get(recorded, recorded))
        if found is not None:
            regex, tokens = found
            if isinstance(actual, dict | list) and len(tokens) == 1 and regex.pattern == "^(.+)$":
                bindings.bind(tokens[0], json.dumps(actual, sort_keys=True), path, problems)
                return  # a LocalStack key_value transformer replaced a whole value
            if isinstance(actual, bool) or actual is None or isinstance(actual, dict | list):
                problems.append(f"{path}: recorded {recorded!r}, got {actual!r}")
                return
            text = actual.decode() if isinstance(actual, bytes) else str(actual)
            matched = regex.match(text)
            if matched is None:
                problems.append(f"{path}: recorded {recorded!r}, got {text!r}")
                return
            for token, value in zip(tokens, matched.groups(), strict=True):
                bindings.bind(token, value, path, problems)
            return
    if isinstance(actual, bytes) and isinstance(recorded, str):
        actual = actual.decode(errors="replace")
    if type(recorded) is bool or type(actual) is bool:
        if recorded is not actual:
            problems.append(f"{path}: recorded {recorded!r}, got {actual!r}")
        return
    if recorded != actual:
        problems.append(f"{path}: recorded {recorded!r}, got {actual!r}")
