"""Load the probe image archive into Podman, Docker or a containerd namespace."""

from __future__ import annotations

import logging
import os
import re
import shutil
import tempfile
from pathlib import Path

import anyio

from .._errors import CommandStartError
from .._meta import PROBE_IMAGE_REFERENCE
from ..probes._process import CommandResult, run_command
from ._build import build_probe_image
from ._errors import (
    ImageLoadError,
    ImageOptionError,
    ImageStepTimeoutError,
    RuntimeToolNotFoundError,
)

logger = logging.getLogger("wfc_container.probes")

BACKENDS = ("podman", "docker", "containerd")
_TOOLS = {"podman": "podman", "docker": "docker", "containerd": "ctr"}
# containerd's namespace rule: dot, dash or underscore separated alphanumeric runs.
_NAMESPACE = re.compile(r"[A-Za-z0-9]+(?:[._-][A-Za-z0-9]+)*")
_NAMESPACE_MAX = 76
# Set but empty, these switch the runtime CLIs to a remote or unusual mode.
_DROP_WHEN_EMPTY = ("CONTAINER_HOST", "CONTAINER_CONNECTION", "DOCKER_HOST")


async def load_probe_image(
    backend: str,
    *,
    archive: Path | None,
    namespace: str = "default",
    timeout: float | None = 120.0,
) -> str:
    """
    Load the probe image into ``backend`` and return the reference it has there.

    :param backend: ``podman``, ``docker`` or ``containerd`` (through ``ctr``).
    :param archive: an archive from :func:`build_probe_image`; ``None`` builds
        one in a temporary directory first.
    :param namespace: the containerd namespace (default ``default``); only
        ``containerd`` accepts another value.
    :param timeout: limit in seconds for the build and the load together
        (default 120), or ``None`` for no limit.
    :returns: the reference, ``localhost/wfcompute-probe:<package version>``.
    :raises ImageOptionError: for an unknown backend or an invalid namespace.
    :raises RuntimeToolNotFoundError: when the runtime command is not installed.
    :raises ImageLoadError: when the runtime rejects the archive, or the image
        is not present after the load.
    :raises ImageStepTimeoutError: when ``timeout`` expires first.
    """
    _check_options(backend, namespace)
    tool = shutil.which(_TOOLS[backend])
    if tool is None:
        raise RuntimeToolNotFoundError(backend=backend, tool=_TOOLS[backend])

    try:
        with anyio.fail_after(timeout):
            await _build_and_load(tool, backend, archive, namespace)
    except TimeoutError as exc:
        if isinstance(exc, ImageStepTimeoutError):
            raise
        assert timeout is not None
        raise ImageStepTimeoutError(step="load", timeout=timeout) from None

    logger.info(
        "image.load.done backend=%s reference=%s", backend, PROBE_IMAGE_REFERENCE
    )
    return PROBE_IMAGE_REFERENCE


def _check_options(backend: str, namespace: str) -> None:
    if backend not in BACKENDS:
        raise ImageOptionError(
            field="backend", value=backend, expected="one of " + ", ".join(BACKENDS)
        )

    if backend != "containerd" and namespace != "default":
        raise ImageOptionError(
            field="namespace",
            value=namespace,
            expected="'default': only the containerd backend has namespaces",
        )

    if len(namespace) > _NAMESPACE_MAX or not _NAMESPACE.fullmatch(namespace):
        raise ImageOptionError(
            field="namespace",
            value=namespace,
            expected="letters and digits separated by single '.', '-' or '_'",
        )


async def _build_and_load(
    tool: str, backend: str, archive: Path | None, namespace: str
) -> None:
    if archive is not None:
        await _load_archive(tool, backend, archive, namespace)
        return

    with tempfile.TemporaryDirectory(prefix="wfcompute-probe-image-") as directory:
        built = await build_probe_image(
            Path(directory, "probe-image.tar"), timeout=None
        )
        await _load_archive(tool, backend, built.path, namespace)


async def _load_archive(tool: str, backend: str, archive: Path, namespace: str) -> None:
    if backend == "containerd":
        load = [tool, "-n", namespace, "images", "import", str(archive)]
    else:
        load = [tool, "load", "-i", str(archive)]
    result = await _run(load, backend)
    if result.exit_code != 0:
        raise ImageLoadError(
            backend=backend,
            reference=PROBE_IMAGE_REFERENCE,
            problem=f"{load[0]} exited with {result.exit_code}: {_last_line(result)}",
        )

    if not await _is_probe_image_present(tool, backend, namespace):
        raise ImageLoadError(
            backend=backend,
            reference=PROBE_IMAGE_REFERENCE,
            problem="the load succeeded but the reference is not in the image store",
            hint="check that the archive was built by this version of wfc-container",
        )


async def _is_probe_image_present(tool: str, backend: str, namespace: str) -> bool:
    if backend == "containerd":
        argv = [tool, "-n", namespace, "images", "ls", "-q"]
        result = await _run(argv, backend)
        names = result.stdout.decode("utf-8", errors="replace").split()
        return result.exit_code == 0 and PROBE_IMAGE_REFERENCE in names

    argv = [tool, "image", "inspect", "--format", "{{.Id}}", PROBE_IMAGE_REFERENCE]
    return (await _run(argv, backend)).exit_code == 0


async def _run(argv: list[str], backend: str) -> CommandResult:
    try:
        return await run_command(argv, env=_runtime_env(), timeout=None, step="load")
    except CommandStartError as exc:
        raise RuntimeToolNotFoundError(backend=backend, tool=argv[0]) from exc


def _runtime_env() -> dict[str, str]:
    # The caller's own environment selects the runtime endpoint, as it would for
    # the runtime CLI typed by hand; only C messages are forced.
    env = {
        name: value
        for name, value in os.environ.items()
        if value or name not in _DROP_WHEN_EMPTY
    }
    env.update(LC_ALL="C", LANG="C")
    env.setdefault("PATH", os.defpath)
    return env


def _last_line(result: CommandResult) -> str:
    output = (result.stderr or result.stdout).decode("utf-8", errors="replace")
    lines = [line.strip() for line in output.splitlines() if line.strip()]
    return lines[-1] if lines else "no output"
