"""`serve --state-dir DIR`: the account's state (APIs, and functions made through the AWS API) kept across
restarts.

- Loading checks the whole document: a file that is empty, truncated, not an object or of the wrong types is
  one error naming the file and what is wrong (exit 2), never a traceback.
- What a killed process leaves (`.state-*.tmp` files, unpacked code no saved function uses) is removed at the
  next start.
- Writing leaves the event loop and is incremental: `StateDocument` keeps each REST API and function as JSON
  text, so a change re-encodes only what it touched, and makes one journal line of what changed (the touched
  entities' whole new values, or null for a removed one). `StateWriter` appends those lines to `state.journal`
  and fdatasyncs in a thread (several changes share one append: group commit); a change is acknowledged only once
  the line holding it is on disk. When the journal outgrows the state (JOURNAL_MIN_BYTES, JOURNAL_RATIO) the
  writer folds it into a new `state.json` (temporary file, fsync, rename) and empties it; the first write of a run
  and a clean stop do the same. Loading applies the journal's lines to `state.json` in order: each line holds
  whole values, so lines already folded into the file apply again harmlessly (a kill between the rename and the
  emptying), and a last line cut short by a kill (never acknowledged) is left out.
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
JOURNAL_FILE = "state.journal"
JOURNAL_MIN_BYTES = 4 << 20  # fold the journal into state.json past max(this, JOURNAL_RATIO x the state's size)
JOURNAL_RATIO = 2
CODE_FOLDER = "code"
TEMP_PREFIX, TEMP_SUFFIX = ".state-", ".tmp"
FORMAT = 1
_APIGATEWAY = TypeAdapter(ApiGatewayState)
_REST_API = TypeAdapter(RestApi)


def state_file(state_dir: Path) -> Path:
    """Where the state lives inside the state folder."""
    return state_dir / STATE_FILE


def journal_file(state_dir: Path) -> Path:
    """The changes made since state.json was last written, one JSON line each."""
    return state_dir / JOURNAL_FILE


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


def read_document(state_dir: Path) -> dict[str, Any] | None:
    """The saved document as JSON data (state.json with the journal's changes applied), or None when the folder
    holds none yet; a file that is not a JSON object is one UserError naming it. Its shape is `load`'s to check."""
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
    if isinstance(raw.get("apigateway"), dict) and isinstance(raw.get("lambda", {}), dict):
        _replay(journal_file(state_dir), raw)
    return raw


def load(state_dir: Path) -> tuple[ApiGatewayState, dict[str, Any]] | None:
    """The saved state, or None when the folder holds none yet; any problem is one UserError naming the file."""
    path = state_file(state_dir)
    raw = read_document(state_dir)
    if raw is None:
        return None
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


def _replay(journal: Path, raw: dict[str, Any]) -> None:
    """Apply the journal's complete lines to the document, in order. The last line may be cut short or damaged
    by a kill during its append (it was never acknowledged): it is left out; a damaged line before a good one is
    an error naming the journal and the line."""
    try:
        text = journal.read_bytes()
    except FileNotFoundError:
        return
    except OSError as error:
        raise _unreadable(journal, error.strerror or str(error)) from None
    lines = text.split(b"\n")[:-1]  # what follows the last newline was never acknowledged
    changes: list[dict[str, Any]] = []
    for number, line in enumerate(lines, 1):
        try:
            change = json.loads(line)
        except (ValueError, RecursionError):
            change = None
        if not _is_change(change):
            if number == len(lines):
                break
            raise UserError(f"{journal}:{number}: unreadable state journal line; fix it, or move the state folder "
                            "away to start empty")
        changes.append(change)
    apigateway, lambda_part = raw["apigateway"], raw.setdefault("lambda", {"functions": {}})
    for change in changes:
        apis, functions = apigateway.setdefault("apis", {}), lambda_part.setdefault("functions", {})
        if not isinstance(apis, dict) or not isinstance(functions, dict):
            return  # the document's own check names what is wrong
        apigateway.update(change["apigateway"])
        lambda_part.update(change["lambda"])
        for key, value in change["apis"].items():
            if value is None:
                apis.pop(key, None)
            else:
                apis[key] = value
        for key, value in change["functions"].items():
            if value is None:
                functions.pop(key, None)
            else:
                functions[key] = value


def _is_change(change: Any) -> bool:
    return isinstance(change, dict) and all(isinstance(change.get(key), dict)
                                            for key in ("apigateway", "apis", "lambda", "functions"))


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


def empty_journal(state_dir: Path) -> None:
    """Empty the journal (after state.json took in all it held) and make that durable."""
    try:
        descriptor = os.open(journal_file(state_dir), os.O_WRONLY)
    except FileNotFoundError:
        return
    try:
        os.ftruncate(descriptor, 0)
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def save(state_dir: Path, apigateway: ApiGatewayState, lambda_data: dict[str, Any]) -> None:
    """Write the whole state at once (synchronously)."""
    document = {"format": FORMAT, "apigateway": _APIGATEWAY.dump_python(apigateway, mode="json"),
                "lambda": lambda_data}
    write_text(state_dir, json.dumps(document))
    empty_journal(state_dir)


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


@dataclass(frozen=True)
class Rendered:
    """One change as the writer needs it: its journal line, and the whole document's parts (already encoded,
    copied so later changes do not reach them) to fold the journal into state.json; the document's text is
    assembled by the writer thread, never on the event loop."""

    change: str
    shell: dict[str, Any]
    apis: dict[str, str]
    lambda_rest: dict[str, Any]
    functions: dict[str, str]

    def whole(self) -> list[str]:
        """The whole document as pieces of text to write one after the other."""
        return [f'{{"format": {FORMAT}, "apigateway": ', *_object_with(self.shell, "apis", self.apis),
                ', "lambda": ', *_object_with(self.lambda_rest, "functions", self.functions), "}"]


class StateDocument:
    """The state file's text, kept as one encoded piece per REST API and per function."""

    def __init__(self) -> None:
        self._apis: dict[str, str] = {}
        self._functions: dict[str, str] = {}

    def render(self, apigateway: ApiGatewayState, functions: dict[str, Callable[[], dict[str, Any]]],
               lambda_rest: dict[str, Any], touched: Touched) -> Rendered:
        """The journal line of this change and the whole document's parts; only touched, new or never-encoded
        entities are encoded again.

        `functions` maps each saved function's name to what makes its saved form; `lambda_rest` is the rest of
        the Lambda part (everything but `functions`).
        """
        apis_changed: dict[str, str] = {key: "null" for key in self._apis if key not in apigateway.apis}
        self._apis = {key: text for key, text in self._apis.items() if key in apigateway.apis}
        for key, api in apigateway.apis.items():
            if key not in self._apis or touched.apis is None or key in touched.apis:
                self._apis[key] = apis_changed[key] = json.dumps(_REST_API.dump_python(api, mode="json"))
        functions_changed: dict[str, str] = {key: "null" for key in self._functions if key not in functions}
        self._functions = {key: text for key, text in self._functions.items() if key in functions}
        for key, make in functions.items():
            if key not in self._functions or touched.functions is None or key in touched.functions:
                self._functions[key] = functions_changed[key] = json.dumps(make())
        shell = _APIGATEWAY.dump_python(replace(apigateway, apis={}), mode="json")
        shell.pop("apis", None)
        rest = {key: value for key, value in lambda_rest.items() if key != "functions"}
        change = "".join(['{"apigateway": ', json.dumps(shell), ', "lambda": ', json.dumps(rest),
                          ', "apis": ', *_encoded_object(apis_changed),
                          ', "functions": ', *_encoded_object(functions_changed), "}\n"])
        return Rendered(change, shell, dict(self._apis), rest, dict(self._functions))


def _object_with(members: dict[str, Any], key: str, encoded: dict[str, str]) -> list[str]:
    """`members` as a JSON object with one more member `key`: an object of already encoded values."""
    return [json.dumps(members)[:-1], ", " if members else "", json.dumps(key), ": ", *_encoded_object(encoded), "}"]


def _encoded_object(encoded: dict[str, str]) -> list[str]:
    """A JSON object of already encoded values, in pieces."""
    pieces = ["{"]
    for index, (name, text) in enumerate(encoded.items()):
        pieces += [", " if index else "", json.dumps(name), ": ", text]
    pieces.append("}")
    return pieces


class _Journal:
    """The writer thread's side: appends change lines, folds the journal into state.json when it outgrows it."""

    def __init__(self, state_dir: Path) -> None:
        self.state_dir = state_dir
        self._descriptor: int | None = None
        self.journal_bytes = 0
        self.state_bytes = 0
        self.folded = False  # state.json holds this run's state (the first write of a run folds)

    def commit(self, changes: list[str], whole: Rendered) -> None:
        """Make `changes` durable: appended and fdatasynced, or folded with all before them into state.json
        (`whole`: the newest change's document)."""
        size = sum(len(change) for change in changes)
        if not self.folded or self.journal_bytes + size > max(JOURNAL_MIN_BYTES, JOURNAL_RATIO * self.state_bytes):
            self.fold(whole)
            return
        if self._descriptor is None:
            self._descriptor = os.open(journal_file(self.state_dir), os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            folder = os.open(self.state_dir, os.O_RDONLY)
            try:
                os.fsync(folder)  # the journal's own name is durable before any line in it is acknowledged
            finally:
                os.close(folder)
        data = "".join(changes).encode()
        view = memoryview(data)
        while view:
            view = view[os.write(self._descriptor, view):]
        os.fdatasync(self._descriptor)
        self.journal_bytes += len(data)

    def fold(self, whole: Rendered) -> None:
        """state.json := the whole state, then the journal emptied (a kill in between replays lines it holds)."""
        pieces = whole.whole()
        write_text(self.state_dir, pieces)
        self.state_bytes = sum(len(piece) for piece in pieces)
        if self.journal_bytes or not self.folded:
            empty_journal(self.state_dir)
        self.journal_bytes = 0
        self.folded = True

    def close(self) -> None:
        if self._descriptor is not None:
            os.close(self._descriptor)
            self._descriptor = None


class StateWriter:
    """Writes the state in a thread; `write` returns once a file holding that change is on disk. Changes that
    arrive while a write is in flight share the next one."""

    def __init__(self, state_dir: Path) -> None:
        self.state_dir = state_dir
        self._executor = ThreadPoolExecutor(1, thread_name_prefix="lambda-canary-state")
        self._journal = _Journal(state_dir)
        self._changes: list[str] = []
        self._whole: Rendered | None = None
        self._next = 0
        self._waiters: list[tuple[int, asyncio.Future[None]]] = []
        self._task: asyncio.Task[None] | None = None
        self.files_written = 0  # appends and folds

    async def write(self, rendered: Rendered) -> None:
        """Hand over a change; returns when it is durable, raises if that write failed."""
        loop = asyncio.get_running_loop()
        self._next += 1
        self._changes.append(rendered.change)
        self._whole = rendered
        done: asyncio.Future[None] = loop.create_future()
        self._waiters.append((self._next, done))
        if self._task is None or self._task.done():
            self._task = loop.create_task(self._drain())
        await asyncio.shield(done)

    async def _drain(self) -> None:
        loop = asyncio.get_running_loop()
        while self._whole is not None:
            version, changes, whole = self._next, self._changes, self._whole
            self._changes, self._whole = [], None
            failure: BaseException | None = None
            try:
                await loop.run_in_executor(self._executor, self._journal.commit, changes, whole)
                self.files_written += 1
            except Exception as error:  # the waiters get it; the next write folds everything again
                failure = error
                self._journal.folded = False
            waiting, self._waiters = self._waiters, []
            for wanted, future in waiting:
                if wanted > version:
                    self._waiters.append((wanted, future))
                elif not future.done():
                    if failure is None:
                        future.set_result(None)
                    else:
                        future.set_exception(failure)

    async def close(self, whole: Rendered | None = None) -> None:
        """Finish what is pending, fold the journal into state.json (with `whole`, the newest state), stop the
        thread."""
        if self._task is not None:
            with contextlib.suppress(Exception):
                await self._task
        if whole is not None and self._journal.journal_bytes:
            with contextlib.suppress(OSError):
                await asyncio.get_running_loop().run_in_executor(self._executor, self._journal.fold, whole)
        await asyncio.get_running_loop().run_in_executor(self._executor, self._journal.close)
        self._executor.shutdown(wait=True)
