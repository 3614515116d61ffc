"""Deterministic zip packages of code folders: same files, same bytes, same CodeSha256."""

from __future__ import annotations

import base64
import hashlib
import io
import stat
import zipfile
from dataclasses import dataclass
from pathlib import Path

from emulator import code_tree
from emulator.errors import UserError

FIXED_TIME = (1980, 1, 1, 0, 0, 0)
EXCLUDED = code_tree.NOT_CODE
MAX_DIRECT_UPLOAD = 50 * 1024 * 1024  # CreateFunction/UpdateFunctionCode ZipFile limit (zipped)


@dataclass(frozen=True)
class Package:
    """A zip and its CodeSha256 (base64 of the SHA-256 of the zip, as Lambda reports it)."""

    data: bytes
    code_sha256: str
    files: int


CONFIG_SUFFIXES = (".yaml", ".yml", ".json")


def is_config_file(path: Path) -> bool:
    """A file lambda-canary reads as a config (canary.yaml, serverless.yml, a template, an OpenAPI document or its
    companion): deploy and build inputs, not the function's code. A config folder is often the code folder too
    (`code: .`), and Lambda would otherwise receive the templates beside the handler."""
    from emulator.formats.load import detect_format

    if path.suffix.lower() not in CONFIG_SUFFIXES or "node_modules" in path.parts:
        return False
    try:
        return detect_format(path) != "script"
    except (UserError, OSError, ValueError):
        return False


def _files(root: Path) -> list[Path]:
    found = []
    for path in root.rglob("*"):
        relative = path.relative_to(root)
        if any(part in EXCLUDED for part in relative.parts) or not path.is_file() or is_config_file(path):
            continue
        found.append(path)
    return sorted(found, key=lambda path: path.relative_to(root).as_posix())


def package_dir(root: Path) -> Package:
    """Zip a folder's code (not the lambda-canary configs in it): entries sorted by path, fixed timestamps, 0644
    (0755 when executable), deflate level 9."""
    if not root.is_dir():
        raise UserError(f"code folder {root} does not exist")
    try:  # files are read through their links: a link out would upload whatever it names
        code_tree.check_folder(root)
    except code_tree.UnsafePackage as error:
        raise UserError(f"code folder {root}: {error}") from None
    buffer = io.BytesIO()
    files = _files(root)
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        for path in files:
            info = zipfile.ZipInfo(path.relative_to(root).as_posix(), date_time=FIXED_TIME)
            executable = path.stat().st_mode & stat.S_IXUSR
            info.external_attr = ((0o100755 if executable else 0o100644) & 0xFFFF) << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            info.create_system = 3  # unix, so the permission bits are honoured
            archive.writestr(info, path.read_bytes(), compress_type=zipfile.ZIP_DEFLATED, compresslevel=9)
    data = buffer.getvalue()
    if len(data) > MAX_DIRECT_UPLOAD:
        raise UserError(f"{root}: the zipped code is {len(data) // (1024 * 1024)} MB; Lambda takes at most 50 MB "
                        "uploaded directly (upload through S3 is not supported by lambda-canary deploy)")
    return Package(data, base64.b64encode(hashlib.sha256(data).digest()).decode(), len(files))
