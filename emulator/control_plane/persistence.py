"""`serve --state-dir DIR`: the account's state (APIs, and functions made through the AWS API) kept across
restarts.

- Loading checks the whole document: a file that is empty, truncated, not an object or of the wrong types is
  one error naming the file and what is wrong (exit 2), never a traceback.
- What a killed process leaves (`.state-*.tmp` files, unpacked code no saved function uses) is removed at the
  next start.
- Writing leaves the event loop and is incremental: `StateDocument` keeps each REST API and function as an
  `Encoded` piece, so a change takes again only what it touched (a REST API as fresh JSON data, 6 µs for 10 KB;
  its text, 48 µs, is made in the writer's thread), and one journal line of what changed (the touched entities'
  whole new values, or null for a removed one). `StateWriter` is a thread of its own: `submit` (thread-safe,
  called in the order of the changes) hands a change over, the thread appends the lines to `state.journal` and
  fdatasyncs (several changes share one append: group commit); a change is acknowledged only once the line
  holding it is on disk. When the journal outgrows the state (JOURNAL_MIN_BYTES, JOURNAL_RATIO) the
  writer folds it into a new `state.json` (temporary file, fsync, rename) and empties it; the first write of a run
  and a clean stop do the same. Each fold numbers `state.json` (`"fold": N`, first in the document) and each
  journal line names the fold it follows. Loading applies the lines of the file's fold in order; lines of an
  earlier fold, left by a kill between the rename and the emptying, are already in the file and are skipped (applied
  again they would bring back older values of some entities), and a last line cut short by a kill (never
  acknowledged) is left out.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import shutil
import tempfile
import threading
from collections.abc import Callable, Iterable
from concurrent.futures import Future, InvalidStateError
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
    fold = raw.pop("fold", 0)  # which journal lines follow this file (not part of the state)
    if isinstance(raw.get("apigateway"), dict) and isinstance(raw.get("lambda", {}), dict):
        _replay(journal_file(state_dir), raw, fold)
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


def _replay(journal: Path, raw: dict[str, Any], fold: object) -> None:
    """Apply the journal's complete lines of the document's fold to it, in order. The last line may be cut short or
    damaged by a kill during its append (it was never acknowledged): it is left out; a damaged line before a good
    one is an error naming the journal and the line. Lines of an earlier fold (a kill came between a fold's new
    state.json and the journal's emptying) are already in the document: applying them would bring back older
    values."""
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
        if change.get("fold", 0) != fold:  # written before state.json's fold took it in (a kill came between)
            continue
        apis, functions = apigateway.setdefault("apis", {}), lambda_part.setdefault("functions", {})
        if not isinstance(apis, dict) or not isinstance(functions, dict):
            return  # the document's own check names what is wrong
        apigateway.update(change["apigateway"])
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
                                            for key in ("apigateway", "apis", "functions"))


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


def fold_number(state_dir: Path) -> int:
    """The fold number state.json holds (written first in the document; 0 for none or an older file)."""
    try:
        with open(state_file(state_dir), "rb") as handle:
            head = handle.read(64)
    except OSError:
        return 0
    found = re.match(rb'\{"fold": (\d+),', head)
    return int(found.group(1)) if found else 0


def save(state_dir: Path, apigateway: ApiGatewayState, lambda_data: dict[str, Any]) -> None:
    """Write the whole state at once (synchronously)."""
    document = {"fold": fold_number(state_dir) + 1, "format": FORMAT,
                "apigateway": _APIGATEWAY.dump_python(apigateway, mode="json"), "lambda": lambda_data}
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


class Encoded:
    """One REST API's or function's saved form: its JSON data (fresh containers, nothing of the live state), and
    that data's text, encoded once by whichever thread needs it first (the writer's, so never the event loop's)."""

    __slots__ = ("_data", "_text")

    def __init__(self, data: Any = None, text: str | None = None) -> None:
        self._data = data
        self._text = text

    @property
    def text(self) -> str:
        text = self._text
        if text is None:  # two threads may both encode it: the same text, and either assignment is whole
            text = self._text = json.dumps(self._data)
        return text


@dataclass(frozen=True)
class Rendered:
    """One change as the writer needs it: the entities it changed (None: removed) and the whole document's parts
    (copied so later changes do not reach them) to fold the journal into state.json. The texts of the journal line
    and of the document are made by the writer thread, never on the event loop."""

    shell: dict[str, Any]
    apis: dict[str, Encoded]
    functions: dict[str, Encoded]
    apis_changed: dict[str, Encoded | None]
    functions_changed: dict[str, Encoded | None]

    def change(self, fold: int) -> str:
        """The journal line: the whole new value of each changed entity, null for a removed one, and the number of
        the fold of state.json it applies to."""
        return "".join([f'{{"fold": {fold}, "apigateway": ', json.dumps(self.shell),
                        ', "apis": ', *_encoded_object(self.apis_changed),
                        ', "functions": ', *_encoded_object(self.functions_changed), "}\n"])

    def whole(self, fold: int) -> list[str]:
        """The whole document, as fold number `fold`, as pieces of text to write one after the other."""
        return [f'{{"fold": {fold}, "format": {FORMAT}, "apigateway": ', *_object_with(self.shell, "apis", self.apis),
                ', "lambda": ', *_object_with({}, "functions", self.functions), "}"]


class StateDocument:
    """The state file's parts, kept as one Encoded piece per REST API and per function."""

    def __init__(self) -> None:
        self._apis: dict[str, Encoded] = {}
        self._functions: dict[str, Encoded] = {}

    def render(self, apigateway: ApiGatewayState, functions: dict[str, Callable[[], dict[str, Any]]],
               touched: Touched) -> Rendered:
        """This change and the whole document's parts; only touched, new or never-saved entities are taken again
        (a REST API as JSON data, encoded later by the writer; a function encoded here).

        `functions` maps each saved function's name to what makes its saved form (the Lambda part holds nothing
        else).
        """
        apis = apigateway.apis
        apis_changed: dict[str, Encoded | None] = {}
        for key in [key for key in self._apis if key not in apis]:
            del self._apis[key]
            apis_changed[key] = None
        for key, api in apis.items():
            if key not in self._apis or touched.apis is None or key in touched.apis:
                self._apis[key] = apis_changed[key] = Encoded(_REST_API.dump_python(api, mode="json"))
        functions_changed: dict[str, Encoded | None] = {}
        for key in [key for key in self._functions if key not in functions]:
            del self._functions[key]
            functions_changed[key] = None
        for key, make in functions.items():
            if key not in self._functions or touched.functions is None or key in touched.functions:
                self._functions[key] = functions_changed[key] = Encoded(text=json.dumps(make()))
        shell = _APIGATEWAY.dump_python(replace(apigateway, apis={}), mode="json")
        shell.pop("apis", None)
        return Rendered(shell, dict(self._apis), dict(self._functions), apis_changed, functions_changed)


def _object_with(members: dict[str, Any], key: str, encoded: dict[str, Encoded]) -> list[str]:
    """`members` as a JSON object with one more member `key`: an object of already encoded values."""
    return [json.dumps(members)[:-1], ", " if members else "", json.dumps(key), ": ", *_encoded_object(encoded), "}"]


def _encoded_object(encoded: dict[str, Encoded] | dict[str, Encoded | None]) -> list[str]:
    """A JSON object of encoded values (None: null), in pieces."""
    pieces = ["{"]
    for index, (name, value) in enumerate(encoded.items()):
        pieces += [", " if index else "", json.dumps(name), ": ", "null" if value is None else value.text]
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
        self.fold_number = fold_number(state_dir)

    def commit(self, rendered: list[Rendered], whole: Rendered) -> None:
        """Make these changes durable: their lines appended and fdatasynced, or folded with all before them into
        state.json (`whole`: the newest change's document)."""
        changes = [change.change(self.fold_number) for change in rendered]
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
        """state.json := the whole state under the next fold number, then the journal emptied (a kill in between
        leaves lines of the previous fold, which the next start skips)."""
        pieces = whole.whole(self.fold_number + 1)
        write_text(self.state_dir, pieces)
        self.fold_number += 1
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
    """Writes the state in its own thread; `submit` hands over a change (from any thread, in the changes' order)
    and returns a future that completes once a file holding it is on disk. Changes that arrive while a write is
    in flight share the next one (group commit)."""

    def __init__(self, state_dir: Path) -> None:
        self.state_dir = state_dir
        self._journal = _Journal(state_dir)
        self._ready = threading.Condition()
        self._changes: list[Rendered] = []
        self._whole: Rendered | None = None
        self._waiting: list[Future[None]] = []
        self._closing = False
        self._thread: threading.Thread | None = None

    def submit(self, rendered: Rendered) -> Future[None]:
        """Hand over a change; the future completes when it is durable, or with the error that write met."""
        done: Future[None] = Future()
        with self._ready:
            if self._closing:
                raise RuntimeError("the state writer is closed")
            self._changes.append(rendered)
            self._whole = rendered
            self._waiting.append(done)
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="lambda-canary-state", daemon=True)
                self._thread.start()
            self._ready.notify()
        return done

    async def write(self, rendered: Rendered) -> None:
        """Hand over a change; returns when it is durable, raises if that write failed."""
        await asyncio.wrap_future(self.submit(rendered))

    def _run(self) -> None:
        while True:
            with self._ready:
                while self._whole is None and not self._closing:
                    self._ready.wait()
                if self._whole is None:
                    return
                changes, whole, waiting = self._changes, self._whole, self._waiting
                self._changes, self._whole, self._waiting = [], None, []
            failure: BaseException | None = None
            try:
                self._journal.commit(changes, whole)
            except Exception as error:  # the waiters get it; the next write folds everything again
                failure = error
                self._journal.folded = False
            for future in waiting:
                with contextlib.suppress(InvalidStateError):  # its waiter is gone (cancelled): nothing to tell
                    if failure is None:
                        future.set_result(None)
                    else:
                        future.set_exception(failure)

    async def close(self, whole: Rendered | None = None) -> None:
        """Finish what is pending, fold the journal into state.json (with `whole`, the newest state), stop the
        thread."""
        with self._ready:
            self._closing = True
            self._ready.notify()
            thread = self._thread
        if thread is not None:
            await asyncio.to_thread(thread.join)
        if whole is not None and self._journal.journal_bytes:
            with contextlib.suppress(OSError):
                await asyncio.to_thread(self._journal.fold, whole)
        self._journal.close()
