"""Code that cannot escape its folder (issue 12, point 1): hostile zips through the real Lambda API (boto3 against a
running emulator) and straight into emulator.code_tree, and code folders with links out refused by serve, image
builds and deploy packages.

Each hostile package is one a naive unzip (checking each link before the next entry exists) lets write outside the
code folder. The check: a sentinel file beside the code folders keeps its hash, and the folders around keep their
listing.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import stat
import subprocess
import sys
import warnings
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import botocore.exceptions
import pytest

from emulator import code_tree
from emulator.control_plane.wiring import build_control_plane
from emulator.deploy.package import package_dir
from emulator.errors import UserError
from emulator.lambda_service.backends.images import build_context
from emulator.runtimes.provision import require_node
from emulator.stack import StackOptions
from emulator.testing import StackThread

ROLE = "arn:aws:iam::123456789012:role/lambda-role"
CREDENTIALS = {"region_name": "us-east-1", "aws_access_key_id": "test", "aws_secret_access_key": "test"}
HANDLER = "exports.handler = async () => ({ok: true, linked: require('./lib/linked.js')});\n"
BAD_ZIP = "Could not unzip uploaded file. Please check your file, then try to upload again."
Entry = tuple[str, str, str]  # (kind: file | dir | link, name, content or link target)


def make_zip(entries: list[Entry]) -> bytes:
    """A zip with exactly these entries, in this order (links as Info-ZIP stores them: mode 120777)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive, warnings.catch_warnings():
        warnings.filterwarnings("ignore", "Duplicate name", UserWarning)  # repeated names are part of the attack
        for kind, name, content in entries:
            info = zipfile.ZipInfo(name + ("/" if kind == "dir" and not name.endswith("/") else ""),
                                   date_time=(2024, 1, 1, 0, 0, 0))
            info.create_system = 3
            mode = {"file": stat.S_IFREG | 0o644, "dir": stat.S_IFDIR | 0o755, "link": stat.S_IFLNK | 0o777}[kind]
            info.external_attr = mode << 16
            archive.writestr(info, content if kind != "dir" else "")
    return buffer.getvalue()


def hostile(sentinel: str, depth: int) -> dict[str, list[Entry]]:
    """Packages that aim at `sentinel`, a file `depth` folders above the folder being unpacked into."""
    up = "/".join([".."] * depth)
    chain = "/".join(["b"] * depth) + "/" + up  # checked while b is missing: stays inside; with b -> .: leaves
    return {
        # issue 12: a link through b/ and ../ parts, then b -> ., then a regular file with the link's name
        "symlink-chain": [("file", "index.js", HANDLER), ("link", "a", f"{chain}/{sentinel}"), ("link", "b", "."),
                          ("file", "a", "overwritten")],
        # the same, with directory entries under the link
        "symlink-chain-dirs": [("link", "a", chain), ("link", "b", "."), ("dir", "a/planted", ""),
                               ("dir", "a/planted/deeper", "")],
        # a file written through a link to an absolute path
        "absolute-link": [("link", "abs", str(Path(sentinel).parent) if os.path.isabs(sentinel) else "/tmp"),
                          ("file", "abs/planted", "x")],
        # a link through .. parts, kept in the stored code
        "dotdot-link": [("file", "index.js", HANDLER), ("link", "up", f"{up}/{sentinel}")],
        # a folder entry through a link that climbs out
        "dotdot-dir": [("link", "up", up), ("dir", "up/planted", "")],
    }


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def tree(folder: Path) -> list[str]:
    """Every path under `folder` (links not followed)."""
    return sorted(str(path.relative_to(folder)) for path in folder.rglob("*"))


# ---- straight into code_tree ---------------------------------------------------------------------------------
@pytest.mark.parametrize("case", ["symlink-chain", "symlink-chain-dirs", "absolute-link", "dotdot-link",
                                  "dotdot-dir"])
def test_hostile_zip_changes_nothing_outside(tmp_path: Path, case: str) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    sentinel = outside / "sentinel"
    sentinel.write_text("keep me")
    code_root = tmp_path / "root" / "fn"  # unpacked into root/fn/<staging>: outside is three folders up
    before, digest, mode = tree(tmp_path), sha256(sentinel), sentinel.stat().st_mode
    package = hostile("outside/sentinel" if case != "absolute-link" else str(sentinel), 3)[case]
    with pytest.raises(code_tree.UnsafePackage) as raised:
        code_tree.unpack_zip(make_zip(package), code_root / "target", 10 << 20)
    assert raised.value.entry in {name + ("/" if kind == "dir" else "") for kind, name, _ in package}, raised.value
    assert sha256(sentinel) == digest and sentinel.stat().st_mode == mode
    assert tree(tmp_path) == before  # nothing created anywhere, not even the function's folder


def test_the_chain_is_refused_at_the_file_that_would_replace_the_link(tmp_path: Path) -> None:
    package = hostile("outside/sentinel", 3)["symlink-chain"]
    with pytest.raises(code_tree.UnsafePackage) as raised:
        code_tree.unpack_zip(make_zip(package), tmp_path / "t", 10 << 20)
    assert str(raised.value) == "entry 'a' would replace the symbolic link 'a'"
    # without the last entry, the first link itself is refused once b -> . is known
    with pytest.raises(code_tree.UnsafePackage) as raised:
        code_tree.unpack_zip(make_zip(package[:-1]), tmp_path / "t", 10 << 20)
    assert raised.value.entry == "a" and "leads outside" in str(raised.value)


@pytest.mark.parametrize("entries, entry, words", [
    ([("link", "l", "l2"), ("link", "l2", "l")], "l", "loop"),
    ([("link", "x", "y/../.."), ("dir", "y", "")], "x", "leads outside"),
    ([("link", "x", "deep/../../.."), ("dir", "deep/er", "")], "x", "leads outside"),
    ([("file", "f", "1"), ("file", "f/g", "2")], "f/g", "inside the file 'f'"),
    ([("dir", "d", ""), ("link", "d", ".")], "d", "replace the folder"),
    ([("file", "d/x", "1"), ("link", "d", ".")], "d", "replace the folder"),
    ([("link", "d", "."), ("file", "d/x", "1")], "d/x", "through the symbolic link 'd'"),
    ([("file", "../x", "1")], "../x", "outside"),
    ([("file", "/abs", "1")], "/abs", "outside"),
    ([("link", "x", "")], "x", "empty"),
    ([("link", "x", "C:/Windows")], "x", "absolute"),
])
def test_entries_are_checked_against_the_final_tree(tmp_path: Path, entries: list[Entry], entry: str,
                                                    words: str) -> None:
    with pytest.raises(code_tree.UnsafePackage) as raised:
        code_tree.unpack_zip(make_zip(entries), tmp_path / "t", 10 << 20)
    assert raised.value.entry == entry and words in str(raised.value), raised.value
    assert list(tmp_path.iterdir()) == []


def test_a_long_link_chain_is_refused_and_a_wide_one_is_quick(tmp_path: Path) -> None:
    chain: list[Entry] = [("link", f"l{i}", f"l{i + 1}") for i in range(60)] + [("file", "l60", "end")]
    with pytest.raises(code_tree.UnsafePackage, match="chain of more than 40"):
        code_tree.unpack_zip(make_zip(chain), tmp_path / "t", 10 << 20)
    # each link is resolved once: 2**30 steps if every link were followed afresh each time it is met
    doubling: list[Entry] = [("file", "d0/x", "x")] + [("link", f"d{i + 1}", f"d{i}/../d{i}") for i in range(30)]
    code_tree.unpack_zip(make_zip(doubling), tmp_path / "ok", 10 << 20)
    assert os.readlink(tmp_path / "ok" / "d30") == "d29/../d29" and (tmp_path / "ok" / "d1" / "x").read_text() == "x"


def test_links_inside_are_kept_and_work(tmp_path: Path) -> None:
    package = make_zip([
        ("file", "index.js", HANDLER), ("file", "lib/real.js", "module.exports = 1;\n"),
        ("link", "lib/linked.js", "real.js"), ("link", "node_modules/.bin/tool", "../pkg/cli.js"),
        ("file", "node_modules/pkg/cli.js", "#!/usr/bin/env node\n"), ("link", "self", "."),
        ("file", "index.js", HANDLER + "// the last copy wins\n")])
    target = tmp_path / "code"
    code_tree.unpack_zip(package, target, 10 << 20)
    assert (target / "lib" / "linked.js").read_text() == "module.exports = 1;\n"
    assert os.readlink(target / "node_modules" / ".bin" / "tool") == "../pkg/cli.js"
    assert (target / "self" / "index.js").read_text().endswith("the last copy wins\n")
    assert code_tree.links_leaving(target) == []


def test_sizes_are_counted_as_written(tmp_path: Path) -> None:
    with pytest.raises(code_tree.PackageTooLarge):
        code_tree.unpack_zip(make_zip([("file", "a", "x" * 600), ("file", "b", "y" * 600)]), tmp_path / "t", 1000)
    assert list(tmp_path.iterdir()) == []


# ---- through the Lambda API ----------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Any, Path]]:
    try:
        require_node("nodejs22.x")
    except UserError as error:
        pytest.skip(f"Node runtime not installed: {error}")
    base = tmp_path_factory.mktemp("unpack-api")
    code_root = base / "code"  # uploads go to code/<function>/<sha256>/ (staged beside it): base is 3 levels up
    options = StackOptions(port=0, backend="process", seed=1, access_log=False, function_logs=False)
    with StackThread(None, options, log=lambda line: None) as stack:

        async def attach() -> None:
            assert stack.stack is not None
            stack.stack.server.control_plane = build_control_plane(
                stack.stack.lambdas, stack.stack.state, stack.stack.log, code_root=code_root)

        stack.call(attach())
        yield boto3.client("lambda", endpoint_url=stack.url, **CREDENTIALS), base


def _refused(raised: pytest.ExceptionInfo[botocore.exceptions.ClientError]) -> tuple[str, str, int]:
    response = raised.value.response
    return response["Error"]["Code"], response["Error"]["Message"], response["ResponseMetadata"]["HTTPStatusCode"]


@pytest.mark.parametrize("case", ["symlink-chain", "symlink-chain-dirs", "absolute-link", "dotdot-link",
                                  "dotdot-dir"])
def test_lambda_api_answers_lambdas_error_and_nothing_outside_changes(api: tuple[Any, Path], case: str) -> None:
    lam, base = api
    sentinel = base / "sentinel"
    sentinel.write_text("keep me")
    digest = sha256(sentinel)
    package = hostile("sentinel" if case != "absolute-link" else str(sentinel), 3)[case]
    name = f"unpack-{case}"
    before = tree(base)
    with pytest.raises(botocore.exceptions.ClientError) as raised:
        lam.create_function(FunctionName=name, Runtime="nodejs22.x", Role=ROLE, Handler="index.handler",
                            Code={"ZipFile": make_zip(package)})
    code, message, status = _refused(raised)
    assert (code, status) == ("InvalidParameterValueException", 400)
    assert message.startswith(BAD_ZIP + " (lambda-canary: entry '"), message
    assert sha256(sentinel) == digest
    assert tree(base) == before
    with pytest.raises(lam.exceptions.ResourceNotFoundException):
        lam.get_function(FunctionName=name)
    # UpdateFunctionCode follows the same rules, and the function keeps its code
    good = make_zip([("file", "index.js", HANDLER), ("file", "lib/real.js", "module.exports = 1;\n"),
                     ("link", "lib/linked.js", "real.js")])
    lam.create_function(FunctionName=name, Runtime="nodejs22.x", Role=ROLE, Handler="index.handler",
                        Code={"ZipFile": good})
    lam.get_waiter("function_active_v2").wait(FunctionName=name)
    sha = lam.get_function_configuration(FunctionName=name)["CodeSha256"]
    before = tree(base)
    with pytest.raises(botocore.exceptions.ClientError) as raised:
        lam.update_function_code(FunctionName=name, ZipFile=make_zip(package))
    assert _refused(raised)[:2] == (code, message)
    assert lam.get_function_configuration(FunctionName=name)["CodeSha256"] == sha
    assert sha256(sentinel) == digest
    assert tree(base) == before
    payload = json.loads(lam.invoke(FunctionName=name, Payload=b"{}")["Payload"].read())
    assert payload == {"ok": True, "linked": 1}  # the good package's link inside works
    lam.delete_function(FunctionName=name)


# ---- code folders: config, image build contexts, deploy packages ---------------------------------------------
@pytest.fixture
def folder_with_link_out(tmp_path: Path) -> Path:
    secret = tmp_path / "secret.txt"
    secret.write_text("host secret")
    code = tmp_path / "app"
    (code / "lib").mkdir(parents=True)
    (code / "index.js").write_text("exports.handler = async () => 'ok';\n")
    (code / "lib" / "inside.js").symlink_to("../index.js")  # stays inside: fine
    (code / "lib" / "config.json").symlink_to(secret)
    return code


def test_image_build_context_and_deploy_package_refuse_a_link_out(folder_with_link_out: Path) -> None:
    with pytest.raises(UserError, match=r"entry 'lib/config.json' is a symbolic link to .*secret.txt, outside"):
        build_context(folder_with_link_out, "FROM scratch\n", io.BytesIO())
    with pytest.raises(UserError, match=r"entry 'lib/config.json' is a symbolic link"):
        package_dir(folder_with_link_out)
    (folder_with_link_out / "lib" / "config.json").unlink()
    (folder_with_link_out / ".venv" / "bin").mkdir(parents=True)  # a tool's folder, left out of packages
    (folder_with_link_out / ".venv" / "bin" / "python").symlink_to(sys.executable)
    assert package_dir(folder_with_link_out).files == 2  # the link inside is packaged as the file it names
    build_context(folder_with_link_out, "FROM scratch\n", io.BytesIO())


def test_serve_and_invoke_refuse_a_config_folder_with_a_link_out(folder_with_link_out: Path) -> None:
    config = folder_with_link_out.parent / "canary.yaml"
    config.write_text("backend: process\nfunctions:\n  fn:\n    runtime: nodejs22.x\n    handler: index.handler\n"
                      "    code: app\n")
    command = [str(Path(sys.executable).parent / "lambda-canary"), "invoke", "fn", "--config", str(config)]
    result = subprocess.run(command, capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)
    assert result.returncode == 2, result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "canary.yaml: functions.fn.code:" in lines[0], result.stderr
    assert "entry 'lib/config.json' is a symbolic link to" in lines[0] and "Traceback" not in result.stderr
