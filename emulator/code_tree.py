"""Function code that stays in its folder: zips unpacked without ever writing through a link, and code folders
whose symbolic links all stay inside.

Every place code is unpacked or copied uses this module: CreateFunction and UpdateFunctionCode (zips), config code
folders (served in place), function image build contexts and deploy packages (both copy a folder).

A zip is planned in full before anything is written. Entries are checked against one another: no entry lies under
a link or a file, and no link takes the name of a folder or file. Each link is then resolved against the tree as
it will finally stand, following links through links, and is refused when it leaves the folder. Only then are
folders and files written, into a fresh folder that holds no link yet, and the links are made last. A package such
as `a -> b/../..`, `b -> .`, then a file `a` is refused at `a`; nothing is ever written outside.
"""

from __future__ import annotations

import os
import re
import shutil
import stat
import uuid
import zipfile
from dataclasses import dataclass, field
from io import BytesIO
from pathlib import Path, PurePosixPath

MAX_LINK_DEPTH = 40  # Linux's MAXSYMLINKS: a longer chain is ELOOP there, and refused here
_DRIVE = re.compile(r"[A-Za-z]:")
_COPY_CHUNK = 1 << 20

Parts = tuple[str, ...]


class UnsafePackage(ValueError):
    """A package or folder that cannot be used as function code; `entry` names the entry at fault, if one is."""

    def __init__(self, reason: str, entry: str | None = None) -> None:
        super().__init__(f"entry {entry!r} {reason}" if entry is not None else reason)
        self.entry = entry
        self.reason = reason


class NotAZip(UnsafePackage):
    """The bytes are not a readable zip."""


class PackageTooLarge(UnsafePackage):
    """The unzipped files add up to more than allowed."""


@dataclass
class _Plan:
    """The final tree a zip describes: every path with its kind, the winning entry of each file, link targets."""

    kinds: dict[Parts, str] = field(default_factory=dict)  # "dir", "file" or "link"; implicit folders included
    files: dict[Parts, zipfile.ZipInfo] = field(default_factory=dict)
    links: dict[Parts, str] = field(default_factory=dict)
    names: dict[Parts, str] = field(default_factory=dict)  # the entry name, for messages


def _entry_parts(name: str) -> Parts:
    text = name.replace("\\", "/")
    parts = PurePosixPath(text).parts
    if "\0" in text or text.startswith("/") or _DRIVE.match(text) or ".." in parts:
        raise UnsafePackage("would be written outside the function's folder", name)
    return parts


def _add(plan: _Plan, info: zipfile.ZipInfo, link_target: str | None) -> None:
    name = info.filename
    parts = _entry_parts(name)
    if not parts:
        return
    for depth in range(1, len(parts)):
        prefix = parts[:depth]
        kind = plan.kinds.get(prefix)
        if kind == "link":
            raise UnsafePackage(f"would be written through the symbolic link {plan.names[prefix]!r}", name)
        if kind == "file":
            raise UnsafePackage(f"would be written inside the file {plan.names[prefix]!r}", name)
        if kind is None:
            plan.kinds[prefix] = "dir"
            plan.names[prefix] = "/".join(prefix) + "/"
    kind = "link" if link_target is not None else "dir" if info.is_dir() else "file"
    existing = plan.kinds.get(parts)
    if existing is not None and existing != kind:
        what = {"dir": "folder", "file": "file", "link": "symbolic link"}[existing]
        raise UnsafePackage(f"would replace the {what} {plan.names[parts]!r}", name)
    plan.kinds[parts] = kind
    plan.names[parts] = name
    if kind == "file":
        plan.files[parts] = info  # a repeated file: the last copy wins, as unzip's overwrite does
    elif kind == "link":
        assert link_target is not None
        plan.links[parts] = link_target


def _resolve_links(plan: _Plan) -> None:
    """Refuse every link whose target, followed through the final tree, leaves the folder."""
    resolved: dict[Parts, Parts] = {}
    pending: set[Parts] = set()

    def resolve(link: Parts, depth: int) -> Parts:
        if link in resolved:
            return resolved[link]
        name = plan.names[link]
        if link in pending:
            raise UnsafePackage("is part of a loop of symbolic links", name)
        if depth > MAX_LINK_DEPTH:
            raise UnsafePackage(f"starts a chain of more than {MAX_LINK_DEPTH} symbolic links", name)
        target = plan.links[link]
        if not target or "\0" in target:
            raise UnsafePackage("is a symbolic link with an empty or invalid target", name)
        if target.startswith("/") or _DRIVE.match(target):
            raise UnsafePackage(f"is a symbolic link to an absolute path ({target}), outside the function's folder",
                                name)
        pending.add(link)
        here = list(link[:-1])
        for part in target.split("/"):
            if part in ("", "."):
                continue
            if part == "..":
                if not here:
                    raise UnsafePackage(f"is a symbolic link that leads outside the function's folder ({target})",
                                        name)
                here.pop()
                continue
            here.append(part)
            if tuple(here) in plan.links:  # a link through a link: where that one leads (refused if outside)
                here = list(resolve(tuple(here), depth + 1))
        pending.discard(link)
        resolved[link] = tuple(here)
        return resolved[link]

    for link in plan.links:
        resolve(link, 0)


def plan_zip(archive: zipfile.ZipFile, max_unzipped: int) -> _Plan:
    """Check every entry of `archive` against the final tree; nothing is written."""
    plan = _Plan()
    total = 0
    for info in archive.infolist():
        total += info.file_size
        if total > max_unzipped:
            raise PackageTooLarge(f"Unzipped size must be smaller than {max_unzipped} bytes")
        link_target = None
        if stat.S_ISLNK(info.external_attr >> 16):
            if info.file_size > 4096:  # PATH_MAX
                raise UnsafePackage("is a symbolic link with a target longer than 4096 bytes", info.filename)
            link_target = archive.read(info).decode()
        _add(plan, info, link_target)
    _resolve_links(plan)
    return plan


def _write(archive: zipfile.ZipFile, plan: _Plan, root: Path, budget: int) -> None:
    """Write the plan into `root` (a new, empty folder): folders, then files, then links."""
    for parts, kind in sorted(plan.kinds.items(), key=lambda item: len(item[0])):
        if kind == "dir":
            os.mkdir(root.joinpath(*parts))
    for parts, info in plan.files.items():
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0)
        descriptor = os.open(root.joinpath(*parts), flags, 0o600)
        with os.fdopen(descriptor, "wb") as sink, archive.open(info) as source:
            while chunk := source.read(_COPY_CHUNK):
                budget -= len(chunk)
                if budget < 0:  # sizes in the directory may lie; the bytes written may not
                    raise PackageTooLarge("Unzipped size is larger than the sizes the zip declares")
                sink.write(chunk)
            mode = (info.external_attr >> 16) & 0o777
            os.fchmod(sink.fileno(), (mode | 0o444) if mode else 0o644)
    for parts, target in plan.links.items():
        os.symlink(target, root.joinpath(*parts))


def unpack_zip(data: bytes, target: Path, max_unzipped: int) -> None:
    """Unzip a deployment package into `target` (created here, atomically); raises UnsafePackage.

    A refused package leaves no trace: it is checked in full before the first folder is made.
    """
    try:
        archive = zipfile.ZipFile(BytesIO(data))
    except (zipfile.BadZipFile, ValueError):
        raise NotAZip("not a zip") from None
    staging = target.parent / f".{target.name}.{uuid.uuid4().hex}"
    try:
        with archive:
            plan = plan_zip(archive, max_unzipped)
            target.parent.mkdir(parents=True, exist_ok=True)
            staging.mkdir(mode=0o755)
            try:
                _write(archive, plan, staging, max_unzipped)
            except OSError as error:  # a name the file system refuses (too long, ...): the entry's fault
                entry = os.path.relpath(error.filename, staging) if isinstance(error.filename, str) else None
                raise UnsafePackage(f"cannot be unpacked: {error.strerror or error}", entry) from None
    except (zipfile.BadZipFile, RuntimeError, EOFError, UnicodeDecodeError, NotImplementedError) as error:
        _remove(staging)
        raise NotAZip(f"unreadable zip: {error}") from None
    except BaseException:
        _remove(staging)
        raise
    try:
        staging.rename(target)
    except OSError:  # the same package was unpacked meanwhile
        _remove(staging)
        if not target.is_dir():
            raise


def _remove(folder: Path) -> None:
    """Remove a staging folder without following any link in it (rmtree does not follow links)."""
    shutil.rmtree(folder, ignore_errors=True)


# Tools' folders that are not function code (deploy packages leave them out); links in them are not checked, so a
# project folder holding a Python virtualenv (links to the host's interpreter) is still usable as code.
NOT_CODE = frozenset({".git", ".hg", ".svn", "__pycache__", ".venv", ".DS_Store", ".pytest_cache", ".ruff_cache"})


def links_leaving(root: Path) -> list[tuple[str, str]]:
    """The symbolic links under `root` that resolve outside it, as (relative path, target) pairs."""
    base = os.path.realpath(root)
    found = []
    for folder, subfolders, files in os.walk(base):  # does not descend into linked folders
        subfolders[:] = [name for name in subfolders if name not in NOT_CODE]
        for name in [*subfolders, *files]:
            path = os.path.join(folder, name)
            if not os.path.islink(path):
                continue
            resolved = os.path.realpath(path)
            if os.path.commonpath([base, resolved]) != base:
                found.append((os.path.relpath(path, base), os.readlink(path)))
    return sorted(found)


def check_folder(root: Path) -> None:
    """Raise UnsafePackage naming the first symbolic link under `root` that leads outside it."""
    leaving = links_leaving(root)
    if leaving:
        relative, target = leaving[0]
        more = f" (and {len(leaving) - 1} more)" if len(leaving) > 1 else ""
        raise UnsafePackage(f"is a symbolic link to {target}, outside the code folder{more}; Lambda code must be "
                            "self-contained: copy the file in or remove the link", relative)
