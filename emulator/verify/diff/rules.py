"""What may differ between the two sides: JSON paths, header names and log lines to ignore or to compare by pattern.

A rule is `SUBJECT` (ignore it) or `SUBJECT ~ REGEX` (allowed to differ while both sides match REGEX). SUBJECT is
a JSON path into the body (`$.node`, `$.items[*].id`, read by jsonpath-ng), `header:NAME`, or `log:REGEX` (log
lines matching REGEX may be written by one side only). In a config file:

    diff:
      ignore: [header:X-Served-By, "$.requestId", "log:^Debugger"]
      match: {"$.node": '^v\\d+\\.'}
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from jsonpath_ng import Child, Fields, Index, Root, This
from jsonpath_ng import parse as parse_jsonpath
from jsonpath_ng.exceptions import JsonPathLexerError, JsonPathParserError

# Headers that differ between any two requests, whatever the function does: ids minted per request
# (API Gateway's x-amzn-RequestId, x-amz-apigw-id and X-Amzn-Trace-Id), the date, and the length (the body says it).
DEFAULT_IGNORED_HEADERS = frozenset({"x-amzn-requestid", "x-amz-apigw-id", "x-amzn-trace-id", "date",
                                     "content-length"})

PathKey = tuple[str | int, ...]


@dataclass(frozen=True)
class Rule:
    """One rule: what it covers (`body`, `header` or `log`), which, and an optional pattern."""

    kind: str
    subject: str
    pattern: re.Pattern[str] | None = None
    text: str = ""

    def matches_value(self, value: object) -> bool:
        """Does a side's value satisfy the pattern (always, for an ignore rule)?"""
        if self.pattern is None:
            return True
        if value is None:
            return False
        return self.pattern.search(value if isinstance(value, str) else _compact(value)) is not None


def _compact(value: object) -> str:
    import json

    return json.dumps(value, separators=(",", ":"), sort_keys=True)


def parse_rule(text: str) -> Rule:
    """`SUBJECT` or `SUBJECT ~ REGEX` into a Rule; ValueError says what is allowed."""
    subject, tilde, pattern_text = text.partition(" ~ ")
    subject, pattern_text = subject.strip(), pattern_text.strip()
    if tilde and not pattern_text:
        raise ValueError(f"rule {text!r}: a pattern after ' ~ '")
    try:
        pattern = re.compile(pattern_text) if tilde else None
    except re.error as error:
        raise ValueError(f"rule {text!r}: {pattern_text!r} is not a regular expression ({error})") from None
    if subject.startswith("$"):
        compile_path(subject)
        return Rule("body", subject, pattern, text)
    kind, colon, name = subject.partition(":")
    if colon and kind == "header" and name.strip():
        return Rule("header", name.strip().lower(), pattern, text)
    if colon and kind == "log" and name and not tilde:
        try:
            return Rule("log", name, re.compile(name), text)
        except re.error as error:
            raise ValueError(f"rule {text!r}: {name!r} is not a regular expression ({error})") from None
    raise ValueError(f"rule {text!r}: use a JSON path ($.field), header:NAME or log:REGEX, optionally "
                     "followed by ' ~ REGEX' (not for log:)")


@lru_cache(maxsize=256)
def compile_path(text: str) -> Any:
    """A JSON path, compiled by jsonpath-ng; ValueError when it does not parse."""
    try:
        return parse_jsonpath(text)
    except (JsonPathLexerError, JsonPathParserError, Exception) as error:  # the parser raises plain Exception too
        raise ValueError(f"rule {text!r}: not a JSON path ({error})") from None


def path_key(expression: Any) -> PathKey:
    """A jsonpath-ng match's full path as a tuple of keys and indexes."""
    if isinstance(expression, Child):
        return path_key(expression.left) + path_key(expression.right)
    if isinstance(expression, Fields):
        return tuple(expression.fields)
    if isinstance(expression, Index):
        return tuple(expression.indices)
    if isinstance(expression, Root | This):
        return ()
    return (str(expression),)


@dataclass
class Rules:
    """A set of rules, with the headers ignored by default."""

    rules: list[Rule] = field(default_factory=list)
    ignored_headers: frozenset[str] = DEFAULT_IGNORED_HEADERS

    @classmethod
    def parse(cls, texts: Iterable[str]) -> Rules:
        """Rules from their text form."""
        return cls([parse_rule(text) for text in texts])

    def extended(self, texts: Iterable[str]) -> Rules:
        """These rules and more."""
        return Rules([*self.rules, *(parse_rule(text) for text in texts)], self.ignored_headers)

    def of_kind(self, kind: str) -> list[Rule]:
        """The rules about the body, a header or the logs."""
        return [rule for rule in self.rules if rule.kind == kind]

    def texts(self) -> list[str]:
        """The rules as written."""
        return [rule.text for rule in self.rules]


def from_config(diff: Any) -> list[str]:
    """The rule texts of a config's `diff:` section (`ignore` list, `match` mapping)."""
    if diff is None:
        return []
    return [*diff.ignore, *(f"{subject} ~ {pattern}" for subject, pattern in diff.match.items())]
