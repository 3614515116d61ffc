"""Function images for the docker backend: the function's code on a Lambda Node.js base image.

A function image is tagged by a digest of its build context (code + rendered Dockerfile) and of the
base image's ID, so unchanged code on an unchanged base is never rebuilt (docker/Dockerfile).
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
import tarfile
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import docker
from docker.errors import APIError, ImageNotFound, NotFound
from docker.models.images import Image
from docker.utils import parse_repository_tag
from requests.exceptions import RequestException
from rich.console import Console
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from emulator import code_tree
from emulator.errors import UserError
from emulator.lambda_service.model import FunctionVersion
from emulator.paths import bundled
from emulator.runtimes.catalogue import get_runtime

FUNCTION_REPOSITORY = "lambda-canary-fn"
STANDIN_REPOSITORY = "lambda-canary-standin/nodejs"
HANDLER_PLACEHOLDER = '"@HANDLER@"'
_STEP = re.compile(r"^Step (\d+)/(\d+) : (.*)")
_NOT_REPOSITORY_CHARACTERS = re.compile(r"[^a-z0-9]+")
_ARCHES = {"x86_64": "amd64", "amd64": "amd64", "aarch64": "arm64", "arm64": "arm64"}


def standin_tag(runtime: str) -> str:
    """`lambda-canary-standin/nodejs:22` for `nodejs22.x`: never the public image's name."""
    return f"{STANDIN_REPOSITORY}:{get_runtime(runtime).major}"


def run_build(client: docker.DockerClient, console: Console, title: str, **build_args: Any) -> str:
    """`docker build` through the SDK with its steps on a rich progress bar; returns the image ID."""
    image_id = ""
    last_lines: list[str] = []
    with Progress(SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), TimeElapsedColumn(),
                  console=console, transient=True) as progress:
        task = progress.add_task(title, total=None)
        for chunk in client.api.build(decode=True, **build_args):
            if "error" in chunk:
                detail = "\n".join([*last_lines[-3:], str(chunk["error"]).strip()])
                raise UserError(f"{title}: build failed: {detail}")
            stream = str(chunk.get("stream", ""))
            step = _STEP.match(stream)
            if step:
                number, total, instruction = int(step.group(1)), int(step.group(2)), step.group(3).strip()
                progress.update(task, completed=number - 1, total=total,
                                description=f"{title}: {instruction[:60]}")
            elif stream.strip():
                last_lines.append(stream.strip())
            aux = chunk.get("aux")
            if isinstance(aux, dict) and "ID" in aux:
                image_id = str(aux["ID"])
            built = re.search(r"Successfully built ([0-9a-f]+)", stream)
            if built and not image_id:
                image_id = built.group(1)
        progress.update(task, completed=progress.tasks[0].total or 1)
    return image_id


def engine_platform(client: docker.DockerClient) -> str:
    """`linux/amd64` style name of the engine's platform."""
    info = client.info()
    machine = str(info.get("Architecture", ""))
    return f"{info.get('OSType', 'linux')}/{_ARCHES.get(machine, machine)}"


def image_platform(image: Image) -> str:
    """`linux/amd64` style name of an image's platform."""
    return f"{image.attrs.get('Os', 'linux')}/{image.attrs.get('Architecture', '')}"


def offline_hint(runtime: str) -> str:
    """What to do when a public base image cannot be had."""
    return (f"build an offline stand-in with `lambda-canary images standin {runtime}` and pass "
            f"--docker-base {runtime}={standin_tag(runtime)}")


def pull_problem(client: docker.DockerClient, image: str) -> str | None:
    """None when the registry serves `image`, else why not (asks for the manifest only)."""
    try:
        client.api.inspect_distribution(image)
    except (APIError, RequestException, OSError) as error:
        explanation = str(getattr(error, "explanation", None) or error).strip()
        return explanation.splitlines()[0] if explanation else type(error).__name__
    return None


def pull_image(client: docker.DockerClient, image: str, console: Console) -> Image:
    """`docker pull` with a progress line; failures raise APIError."""
    repository, tag = parse_repository_tag(image)
    with Progress(SpinnerColumn(), TextColumn("{task.description}"), console=console, transient=True) as progress:
        task = progress.add_task(f"docker pull {image}", total=None)
        for chunk in client.api.pull(repository, tag=tag or "latest", stream=True, decode=True):
            if "error" in chunk:
                raise APIError(str(chunk["error"]))
            status = f"{chunk.get('id', '')} {chunk.get('status', '')}".strip()
            progress.update(task, description=f"docker pull {image}: {status[:60]}")
    return client.images.get(image)


def ensure_base_image(client: docker.DockerClient, image: str, runtime: str, console: Console,
                      platform: str | None = None) -> Image:
    """The base image of a runtime, pulled if missing; UserError when absent and not pullable or of
    another platform than the engine."""
    try:
        found = client.images.get(image)
    except ImageNotFound:
        try:
            found = pull_image(client, image, console)
        except (APIError, ImageNotFound, RequestException) as error:
            first = (str(getattr(error, "explanation", None) or error).strip().splitlines() or ["unknown error"])[0]
            raise UserError(f"base image {image} for {runtime} is not present and cannot be pulled "
                            f"(offline? {first}); {offline_hint(runtime)}") from None
    wanted = platform or engine_platform(client)
    if image_platform(found) != wanted:
        raise UserError(f"base image {image} for {runtime} is {image_platform(found)} but the Docker engine "
                        f"runs {wanted}; pull the right variant (docker pull --platform {wanted} {image})")
    return found


def render_dockerfile(handler: str) -> str:
    """docker/Dockerfile with the handler as CMD."""
    template = (bundled("docker") / "Dockerfile").read_text()
    if HANDLER_PLACEHOLDER not in template:
        raise UserError(f"{bundled('docker') / 'Dockerfile'}: no {HANDLER_PLACEHOLDER} placeholder")
    return template.replace(HANDLER_PLACEHOLDER, json.dumps(handler))


def _normalized(info: tarfile.TarInfo) -> tarfile.TarInfo:
    info.mtime = 0
    info.uid = info.gid = 0
    info.uname = info.gname = "root"
    return info


def build_context(code_dir: Path, dockerfile: str, target: IO[bytes]) -> str:
    """Write a reproducible tar (Dockerfile + code/) into `target`; returns its sha256.

    Links stay links in the image, so one that leads outside the code folder is refused (emulator.code_tree).
    """
    try:
        code_tree.check_folder(code_dir)
    except code_tree.UnsafePackage as error:
        raise UserError(f"code folder {code_dir}: {error}") from None
    with tarfile.open(fileobj=target, mode="w", format=tarfile.PAX_FORMAT) as archive:
        data = dockerfile.encode()
        info = _normalized(tarfile.TarInfo("Dockerfile"))
        info.size, info.mode = len(data), 0o644
        archive.addfile(info, io.BytesIO(data))
        archive.addfile(_normalized(archive.gettarinfo(str(code_dir), "code")))
        for folder, subfolders, files in os.walk(code_dir):
            subfolders.sort()
            for name in [*subfolders, *sorted(files)]:
                path = Path(folder) / name
                info = _normalized(archive.gettarinfo(str(path), "code/" + path.relative_to(code_dir).as_posix()))
                if info.isreg():
                    with path.open("rb") as handle:
                        archive.addfile(info, handle)
                else:
                    archive.addfile(info)
    target.seek(0)
    digest = hashlib.sha256()
    while chunk := target.read(1 << 20):
        digest.update(chunk)
    target.seek(0)
    return digest.hexdigest()


def function_image_tag(function_name: str, digest: str) -> str:
    """`lambda-canary-fn/<function>:<digest prefix>` (repository names are lowercase)."""
    name = _NOT_REPOSITORY_CHARACTERS.sub("-", function_name.lower()).strip("-") or "function"
    return f"{FUNCTION_REPOSITORY}/{name}:{digest[:20]}"


@dataclass(frozen=True)
class FunctionImage:
    """A function image: its tag, its base, and whether this call built it."""

    function_name: str
    tag: str
    base_image: str
    built: bool
    seconds: float


def build_function_image(client: docker.DockerClient, version: FunctionVersion, base_image: str,
                         console: Console, platform: str | None = None) -> FunctionImage:
    """The image of a function version; built only when no image has the same code, config and base."""
    started = time.perf_counter()
    if not version.code_dir.is_dir():
        raise UserError(f"function {version.function_name}: code folder {version.code_dir} does not exist")
    base = ensure_base_image(client, base_image, version.runtime.name, console, platform)
    with tempfile.SpooledTemporaryFile(max_size=64 << 20) as context:
        context_digest = build_context(version.code_dir, render_dockerfile(version.handler), context)
        digest = hashlib.sha256(f"{context_digest}\0{base.id}\0{version.runtime.name}".encode()).hexdigest()
        tag = function_image_tag(version.function_name, digest)
        try:
            client.images.get(tag)
            return FunctionImage(version.function_name, tag, base_image, False, time.perf_counter() - started)
        except ImageNotFound:
            pass
        labels = {"lambda-canary.function": version.function_name, "lambda-canary.runtime": version.runtime.name,
                  "lambda-canary.base-image": base_image, "lambda-canary.digest": digest}
        try:
            run_build(client, console, f"{version.function_name} ({version.runtime.name}) -> {tag}",
                      fileobj=context, custom_context=True, tag=tag, labels=labels,
                      buildargs={"BASE_IMAGE": base_image}, rm=True, forcerm=True, pull=False)
        except (APIError, NotFound) as error:
            raise UserError(f"building {tag} failed: {getattr(error, 'explanation', None) or error}") from None
    seconds = time.perf_counter() - started
    console.print(f"built {tag} ({version.function_name}, {version.runtime.name} on {base_image}) in {seconds:.1f} s")
    return FunctionImage(version.function_name, tag, base_image, True, seconds)
