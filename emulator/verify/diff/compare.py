"""Compare what two sides did with one request: status, headers, body (JSON-aware), function error and logs."""

from __future__ import annotations

import json
import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from emulator.verify.diff.rules import PathKey, Rule, Rules, compile_path, path_key

_MISSING = object()
_UUID = re.compile(r"\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b", re.IGNORECASE)
_CONSOLE = re.compile(r"^\d{4}-\d\d-\d\dT[\d:.]+Z\t[^\t]*\t(?P<rest>.*)$")  # "<time>\t<request id>\t<LEVEL>\t..."
_PID = re.compile(r"\(node:\d+\)")
PLATFORM_LINES = ("START RequestId:", "END RequestId:", "REPORT RequestId:", "INIT_START", "INIT_REPORT")
_REPORT = re.compile(r"^REPORT RequestId: \S+\tDuration: (?P<duration>[\d.]+) ms\t"
                     r".*?Max Memory Used: (?P<memory>\d+) MB(?:\tInit Duration: (?P<init>[\d.]+) ms)?")
_HINT = re.compile(r"\(Use `node --trace-[a-z-]+ \.\.\.` to show where the warning was created\)$")  # after a warning
_INVOKE_ERROR = re.compile(r"^(?:\S+\t\S+\t)?ERROR\tInvoke Error ")  # restates the function error (kind `error`)


@dataclass
class Observation:
    """What one side answered to one request, and what its function did."""

    status: int
    headers: dict[str, str]  # names in lower case
    body: bytes
    latency_ms: float
    error: dict[str, str] | None = None  # errorType, errorMessage of a function error
    logs: list[str] = field(default_factory=list)  # the function's own lines, as written
    duration_ms: float | None = None
    init_duration_ms: float | None = None
    max_memory_mb: int | None = None
    identity: dict[str, str] = field(default_factory=dict)  # the side's own names: function, version, ARNs

    def body_text(self) -> str:
        """The body as text (binary bodies replaced where they do not decode)."""
        return self.body.decode("utf-8", "replace")

    def json_body(self) -> Any:
        """The body parsed as JSON, or _MISSING."""
        try:
            return json.loads(self.body) if self.body.strip() else _MISSING
        except ValueError:
            return _MISSING

    def read_logs(self, lines: list[str]) -> None:
        """Keep the function's own lines and read Duration, Max Memory Used and Init Duration from REPORT."""
        for line in lines:
            report = _REPORT.match(line)
            if report is not None:
                self.duration_ms = float(report.group("duration"))
                self.max_memory_mb = int(report.group("memory"))
                if report.group("init"):
                    self.init_duration_ms = float(report.group("init"))
            elif not line.startswith(PLATFORM_LINES) and not _INVOKE_ERROR.match(line) and not _HINT.search(line):
                self.logs.append(line)


@dataclass(frozen=True)
class Difference:
    """One way the two sides differed on one request."""

    kind: str  # status | header | body | error | log
    where: str  # the JSON path, header name, error or log line
    base: str | None
    canary: str | None
    request: int
    allowed_by: str | None = None  # the rule that allows it

    def group_key(self) -> tuple[str, str, str | None, str | None]:
        """Differences with the same kind, place and values are one row of the report."""
        return (self.kind, self.where, self.base, self.canary)


def render_path(key: PathKey) -> str:
    """`$.a.b[0]`, `$['a b']`."""
    text = "$"
    for part in key:
        if isinstance(part, int):
            text += f"[{part}]"
        elif re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", part):
            text += f".{part}"
        else:
            text += f"[{json.dumps(part)}]"
    return text


def _neutral(value: Any, identity: dict[str, str]) -> Any:
    """The side's own names (its function name, version and ARNs) as the same placeholder on both sides."""
    if isinstance(value, str):
        for role, name in identity.items():
            if value == name:
                return f"<{role}>"
        return value
    if isinstance(value, dict):
        return {key: _neutral(item, identity) for key, item in value.items()}
    if isinstance(value, list):
        return [_neutral(item, identity) for item in value]
    return value


def json_differences(a: Any, b: Any, key: PathKey = ()) -> list[tuple[PathKey, Any, Any]]:
    """Every place two JSON values differ: (path, a's value, b's value); _MISSING where one side has none."""
    if isinstance(a, dict) and isinstance(b, dict):
        found = []
        for name in [*a, *(name for name in b if name not in a)]:
            found.extend(json_differences(a.get(name, _MISSING), b.get(name, _MISSING), (*key, name)))
        return found
    if isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        return [item for index, (x, y) in enumerate(zip(a, b, strict=True))
                for item in json_differences(x, y, (*key, index))]
    if type(a) is type(b) and a == b:
        return []
    return [(key, a, b)]


def _shown(value: Any) -> str | None:
    if value is _MISSING:
        return None
    return value if isinstance(value, str) else json.dumps(value, separators=(",", ":"), sort_keys=True)


def _covered(rules: list[Rule], document_a: Any, document_b: Any, key: PathKey) -> Rule | None:
    """The body rule whose path selects `key` (or a parent of it) in either document."""
    for rule in rules:
        expression = compile_path(rule.subject)
        for document in (document_a, document_b):
            if document is _MISSING:
                continue
            for match in expression.find(document):
                selected = path_key(match.full_path)
                if key[:len(selected)] == selected:
                    return rule
    return None


def log_signature(line: str, identity: dict[str, str]) -> str:
    """A log line without what changes on every run: time, request id, process id, uuids, the side's names."""
    console = _CONSOLE.match(line)
    text = console.group("rest") if console else line
    text = _UUID.sub("<id>", _PID.sub("(node:<pid>)", text))
    for role, name in sorted(identity.items(), key=lambda item: -len(item[1])):
        if len(name) > 2:
            text = text.replace(name, f"<{role}>")
    return text.rstrip()


def compare(index: int, base: Observation, canary: Observation, rules: Rules) -> list[Difference]:
    """Every difference between the two sides' observations of request `index`, allowed ones marked."""
    found: list[Difference] = []

    def add(kind: str, where: str, a: str | None, b: str | None, rule: Rule | None = None,
            a_raw: Any = None, b_raw: Any = None) -> None:
        allowed = None
        if rule is not None and rule.matches_value(a_raw if a_raw is not None else a) \
                and rule.matches_value(b_raw if b_raw is not None else b):
            allowed = rule.text
        found.append(Difference(kind, where, a, b, index, allowed))

    if base.status != canary.status:
        add("status", "status", str(base.status), str(canary.status))
    header_rules = {rule.subject: rule for rule in rules.of_kind("header")}
    for name in sorted(set(base.headers) | set(canary.headers)):
        if name in rules.ignored_headers:
            continue
        a, b = base.headers.get(name), canary.headers.get(name)
        if _neutral(a, base.identity) != _neutral(b, canary.identity):
            add("header", name, a, b, header_rules.get(name))
    document_a, document_b = base.json_body(), canary.json_body()
    if document_a is not _MISSING and document_b is not _MISSING and base.status == canary.status:
        neutral_a, neutral_b = _neutral(document_a, base.identity), _neutral(document_b, canary.identity)
        for key, a, b in json_differences(neutral_a, neutral_b):
            rule = _covered(rules.of_kind("body"), document_a, document_b, key)
            add("body", render_path(key), _shown(a), _shown(b), rule,
                None if a is _MISSING else a, None if b is _MISSING else b)
    elif base.body != canary.body:
        text_a, text_b = base.body_text(), canary.body_text()
        if log_signature(text_a, base.identity) != log_signature(text_b, canary.identity):
            add("body", "body", text_a[:2000], text_b[:2000])
    error_a, error_b = _error_text(base), _error_text(canary)
    if error_a != error_b:
        where = (base.error or canary.error or {}).get("errorType", "error")
        add("error", where, error_a, error_b)
    found.extend(_log_differences(index, base, canary, rules.of_kind("log")))
    return found


def _error_text(observation: Observation) -> str | None:
    if observation.error is None:
        return None
    text = f"{observation.error.get('errorType', '')}: {observation.error.get('errorMessage', '')}"
    return log_signature(text, observation.identity)


def _log_differences(index: int, base: Observation, canary: Observation, rules: list[Rule]) -> list[Difference]:
    """Lines only one side wrote (as a multiset of signatures), with the rule that allows each, if any."""
    lines_a = Counter(log_signature(line, base.identity) for line in base.logs)
    lines_b = Counter(log_signature(line, canary.identity) for line in canary.logs)
    found = []
    for side, only in (("base", lines_a - lines_b), ("canary", lines_b - lines_a)):
        for line in only:
            allowed = next((rule.text for rule in rules if rule.pattern and rule.pattern.search(line)), None)
            found.append(Difference("log", log_kind(line), line if side == "base" else None,
                                    line if side == "canary" else None, index, allowed))
    return found


def log_kind(line: str) -> str:
    """What sort of line: a deprecation, an experimental-feature warning, a rejection note, a warning, an error."""
    if "DeprecationWarning" in line or re.search(r"\[DEP\d{4}\]", line):
        return "deprecation"
    if "ExperimentalWarning" in line:
        return "experimental"
    if re.search(r"unhandled ?(promise )?rejection|UnhandledPromiseRejection|uncaught", line, re.IGNORECASE):
        return "rejection"
    if "Warning" in line or line.startswith("WARN\t"):
        return "warning"
    if line.startswith(("ERROR\t", "FATAL\t")):
        return "error"
    return "line"
