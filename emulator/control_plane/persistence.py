"""`serve --state-dir DIR`: the account's state (APIs, and functions made through the AWS API) kept across
restarts.

- Loading checks the whole document: a file that is empty, truncated, not an object or of the wrong types is
  one error naming the file and what is wrong (exit 2), never a traceback.
- What a killed process leaves (`.state-*.tmp` files, unpacked code no saved function uses) is removed at the
  next start.
- Writing leaves the event loop: `StateWriter` writes and fsyncs in a thread, several changes share one write
  (group commit), and a change is acknowledged only once a file holding it is on disk. `StateDocument` keeps each
  REST API and function as JSON text, so a change re-encodes only what it touched.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shutil
import tempfile
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, StrictInt, StrictStr, TypeAdapter, ValidationError

from emulator.apigateway.model import ApiGatewayState, RestApi
from emulator.errors import UserError

STATE_FILE = "state.json"
CODE_FOLDER = "code"
TEMP_PREFIX, TEMP_SUFFIX = ".state-", ".tmp"
FORMAT = 1
_APIGATEWAY = TypeAdapter(ApiGatewayState)
_REST_API = TypeAdapter(RestApi)


def state_file(state_dir: Path) -> Path:
    """Where the state lives inside the state folder."""
    return state_dir / STATE_FILE


# ---- the document's shape (the Lambda part; the API Gateway part is checked against its model) ----------------
class _Open(BaseModel):
    model_config = ConfigDict(extra="allow")


class _Version(_Open):
    function_name: StrictStr
    version: StrictStr
    runtime: StrictStr
    handler: StrictStr
    code_dir: StrictStr
    memory_size: StrictInt
    timeout: StrictInt
    environment: dict[StrictStr, StrictStr]
    region: StrictStr
    account_id: StrictStr
    code_sha256: StrictStr
    description: StrictStr = ""
    revision: StrictInt = 0


class _Function(_Open):
    latest: _Version
    versions: dict[StrictStr, _Version]
    aliases: dict[StrictStr, dict[StrictStr, Any]]
    policy: list[dict[StrictStr, Any]]
    reserved_concurrency: StrictInt | None = None
    tags: dict[StrictStr, StrictStr] = {}
    info: dict[StrictStr, dict[StrictStr, Any]] = {}
    next_version: StrictInt = 1


class _Lambda(_Open):
    functions: dict[StrictStr, _Function] = {}


class _Document(_Open):
    format: StrictInt
    apigateway: dict[StrictStr, Any]
    lambda_: _Lambda = Field(default_factory=_Lambda, alias="lambda")


def _first_problem(error: ValidationError, prefix: str = "") -> str:
    """pydantic's first error as `key.path: what is wrong`."""
    problems = error.errors()
    where = prefix + ".".join(str(part) for part in problems[0]["loc"])
    extra = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
    return f"{where.rstrip('.') or 'the document'}: {problems[0]['msg']}{extra}"


def _unreadable(path: Path, what: str) -> UserError:
    return UserError(f"{path}: unreadable state: {what}; fix it, or move it away to start empty")


def load(state_dir: Path) -> tuple[ApiGatewayState, dict[str, Any]] | None:
    """The saved state, or None when the folder holds none yet; any problem is one UserError naming the file."""
    path = state_file(state_dir)
    if state_dir.exists() and not state_dir.is_dir():
        raise UserError(f"{state_dir}: --state-dir must be a folder, and this is a file")
    if not path.exists():
        return None
    try:
        text = path.read_bytes()
    except OSError as error:
        raise _unreadable(path, error.strerror or str(error)) from None
    if not text.strip():
        raise _unreadable(path, "the file is empty (a write cut short?)")
    try:
        raw = json.loads(text)
    except RecursionError:
        raise _unreadable(path, "nested too deeply") from None
    except ValueError as error:  # UnicodeDecodeError and JSONDecodeError alike
        raise _unreadable(path, f"not JSON ({error}); truncated?") from None
    if not isinstance(raw, dict):
        kind = {list: "a list", str: "a string", bool: "a boolean", type(None): "null"}.get(type(raw), "a number")
        raise _unreadable(path, f"the document is {kind}, not an object with format, apigateway and lambda")
    if isinstance(raw.get("format"), int) and raw["format"] != FORMAT:
        raise UserError(f"{path}: state format {raw['format']}; this lambda-canary reads {FORMAT}")
    try:
        document = _Document.model_validate(raw)
    except ValidationError as error:
        raise _unreadable(path, _first_problem(error)) from None
    try:
        apigateway = _APIGATEWAY.validate_python(document.apigateway)
    except ValidationError as error:
        raise _unreadable(path, _first_problem(error, "apigateway.")) from None
    except (TypeError, ValueError) as error:
        raise _unreadable(path, "apigateway: " + str(error).splitlines()[0]) from None
    return apigateway, raw.get("lambda", {"functions": {}})


def clean(state_dir: Path, code_dirs: Iterable[Path]) -> list[Path]:
    """Remove what a killed process left: temporary state files and code folders no saved function uses.

    Returns what was removed. Code lives in `code/<function>/<sha256>/`; only folders of that shape are touched.
    """
    removed: list[Path] = []
    for leftover in state_dir.glob(f"{TEMP_PREFIX}*{TEMP_SUFFIX}"):
        with contextlib.suppress(OSError):
            leftover.unlink()
            removed.append(leftover)
    code_root = state_dir / CODE_FOLDER
    if code_root.is_dir():
        used = {Path(folder).resolve() for folder in code_dirs}
        for function in code_root.iterdir():
            if not function.is_dir():
                continue
            for folder in function.iterdir():
                if folder.resolve() not in used:
                    shutil.rmtree(folder, ignore_errors=True) if folder.is_dir() else folder.unlink(missing_ok=True)
                    removed.append(folder)
            with contextlib.suppress(OSError):
                function.rmdir()  # only when empty
    return removed


# ---- writing --------------------------------------------------------------------------------------------------
def write_text(state_dir: Path, text: str | list[str]) -> None:
    """Durably replace the state file with `text` (or its pieces, in order): temporary file, fsync, rename, fsync
    of the folder."""
    state_dir.mkdir(parents=True, exist_ok=True)
    descriptor, temporary = tempfile.mkstemp(dir=state_dir, prefix=TEMP_PREFIX, suffix=TEMP_SUFFIX)
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            handle.writelines([text] if isinstance(text, str) else text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, state_file(state_dir))
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise
    folder = os.open(state_dir, os.O_RDONLY)
    try:
        os.fsync(folder)
    finally:
        os.close(folder)


def save(state_dir: Path, apigateway: ApiGatewayState, lambda_data: dict[str, Any]) -> None:
    """Write the whole state at once (synchronously)."""
    document = {"format": FORMAT, "apigateway": _APIGATEWAY.dump_python(apigateway, mode="json"),
                "lambda": lambda_data}
    write_text(state_dir, json.dumps(document))


@dataclass
class Touched:
    """What one control-plane change may have modified: REST API ids and function names (None: all of them)."""

    apis: set[str] | None = None
    functions: set[str] | None = None

    @classmethod
    def everything(cls) -> Touched:
        return cls(None, None)


def touched_by(path: str) -> Touched:
    """The entities a successful change on `path` may have modified. Creations and deletions are found by
    comparing the keys, so only the ids in the path matter; an unknown path touches everything."""
    from urllib.parse import unquote

    parts = [unquote(part) for part in path.split("?", 1)[0].split("/") if part]
    if parts[:1] == ["restapis"]:
        return Touched(apis=set(parts[1:2]), functions=set())
    if len(parts) >= 2 and parts[0].startswith("20") and parts[1] in ("functions", "tags"):
        reference = parts[2] if len(parts) > 2 else None
        if reference is None:
            return Touched(apis=set(), functions=set())
        name = reference.split(":function:", 1)[1] if ":function:" in reference else reference
        return Touched(apis=set(), functions={name.split(":", 1)[0]})
    return Touched.everything()


class StateDocument:
    """The state file's text, kept as one encoded piece per REST API and per function."""

    def __init__(self) -> None:
        self._apis: dict[str, str] = {}
        self._functions: dict[str, str] = {}

    def render(self, apigateway: ApiGatewayState, functions: dict[str, Callable[[], dict[str, Any]]],
               lambda_rest: dict[str, Any], touched: Touched) -> list[str]:
        """The whole document as pieces of text to write one after the other (never joined on the event loop);
        only touched, new or never-encoded entities are encoded again.

        `functions` maps each saved function's name to what makes its saved form; `lambda_rest` is the rest of
        the Lambda part (everything but `functions`).
        """
        self._apis = {key: text for key, text in self._apis.items() if key in apigateway.apis}
        for key, api in apigateway.apis.items():
            if key not in self._apis or touched.apis is None or key in touched.apis:
                self._apis[key] = json.dumps(_REST_API.dump_python(api, mode="json"))
        self._functions = {key: text for key, text in self._functions.items() if key in functions}
        for key, make in functions.items():
            if key not in self._functions or touched.functions is None or key in touched.functions:
                self._functions[key] = json.dumps(make())
        shell = _APIGATEWAY.dump_python(replace(apigateway, apis={}), mode="json")
        shell.pop("apis", None)
        rest = {key: value for key, value in lambda_rest.items() if key != "functions"}
        return [f'{{"format": {FORMAT}, "apigateway": ', *_object_with(shell, "apis", self._apis),
                ', "lambda": ', *_object_with(rest, "functions", self._functions), "}"]


def _object_with(members: dict[str, Any], key: str, encoded: dict[str, str]) -> list[str]:
    """`members` as a JSON object with one more member `key`: an object of already encoded values."""
    pieces = [json.dumps(members)[:-1], ", " if members else "", json.dumps(key), ": {"]
    for index, (name, text) in enumerate(encoded.items()):
        pieces += [", " if index else "", json.dumps(name), ": ", text]
    pieces.append("}}")
    return pieces


class StateWriter:
    """Writes the state file in a thread; `write` returns once a file holding that text (or a later one) is on
    disk. Writes that arrive while one is in flight are merged into the next."""

    def __init__(self, state_dir: Path) -> None:
        self.state_dir = state_dir
        self._executor = ThreadPoolExecutor(1, thread_name_prefix="lambda-canary-state")
        self._latest: tuple[int, str | list[str]] | None = None
        self._next = 0
        self._written = 0
        self._waiters: list[tuple[int, asyncio.Future[None]]] = []
        self._task: asyncio.Task[None] | None = None
        self.files_written = 0

    async def write(self, text: str | list[str]) -> None:
        """Hand over the newest text; returns when it (or a newer one) is durable, raises if that write failed."""
        loop = asyncio.get_running_loop()
        self._next += 1
        self._latest = (self._next, text)
        done: asyncio.Future[None] = loop.create_future()
        self._waiters.append((self._next, done))
        if self._task is None or self._task.done():
            self._task = loop.create_task(self._drain())
        await asyncio.shield(done)

    async def _drain(self) -> None:
        loop = asyncio.get_running_loop()
        while self._latest is not None:
            version, text = self._latest
            self._latest = None
            failure: BaseException | None = None
            try:
                await loop.run_in_executor(self._executor, write_text, self.state_dir, text)
                self.files_written += 1
                self._written = version
            except Exception as error:  # the waiters get it; the next write tries again
                failure = error
            waiting, self._waiters = self._waiters, []
            for wanted, future in waiting:
                if wanted > version:
                    self._waiters.append((wanted, future))
                elif not future.done():
                    if failure is None:
                        future.set_result(None)
                    else:
                        future.set_exception(failure)

    async def close(self) -> None:
        """Finish what is pending, then stop the thread."""
        if self._task is not None:
            with contextlib.suppress(Exception):
                await self._task
        self._executor.shutdown(wait=True)
