"""
Build control variables and the host-side read of the builder's image digest.

The digest is read only from a file in a build state directory that the host
creates for each build and bind-mounts read-write at ``/wfcompute-build``.
The workload supplies the Dockerfile and the context, and its ``RUN`` steps
execute inside the nested build. The builder program from the trusted builder
image does not expose the state directory to that build, so it is the only
process that writes there. Digest markers printed on stdout are ignored,
because build logs are workload output. A digest file inside the workspace is
ignored too, because the workload controls the workspace.
"""

from __future__ import annotations

import os
import re
import shutil
import stat
import tempfile
from typing import TYPE_CHECKING

from .._gojson import dumps
from ._argv import BUILD_STATE_DIR
from ._errors import BuildDigestError

if TYPE_CHECKING:
    from ._wire import ContainerBuildWorkload

DIGEST_FILE_NAME = "wfcompute-container-build-digest"
BUILDER_COMMAND = "/usr/local/bin/wfcompute-container-builder"
_DIGEST = re.compile(r"sha256:[0-9a-f]{64}")
# A digest line is 71 bytes; anything much longer is not a digest file.
_MAX_DIGEST_FILE = 4096


def build_control_env(workload: ContainerBuildWorkload) -> dict[str, str]:
    """Return the ``WORKFLOW_COMPUTE_BUILD_*`` variables that direct the builder."""
    return {
        "WORKFLOW_COMPUTE_BUILD_CONTEXT": clean_container_path(
            workload.context_directory
        ),
        "WORKFLOW_COMPUTE_BUILD_DOCKERFILE": workload.dockerfile or "Dockerfile",
        "WORKFLOW_COMPUTE_BUILD_TAG": workload.tags[0] if workload.tags else "",
        "WORKFLOW_COMPUTE_BUILD_TAGS": dumps(workload.tags or None),
        "WORKFLOW_COMPUTE_BUILD_PULL_TARGET_REF": workload.pull_target_ref,
        "WORKFLOW_COMPUTE_BUILD_PUSH_TARGET_REF": workload.push_target_ref,
        "WORKFLOW_COMPUTE_BUILD_STATE_DIR": BUILD_STATE_DIR,
        "WORKFLOW_COMPUTE_BUILD_DIGEST_FILE": f"{BUILD_STATE_DIR}/{DIGEST_FILE_NAME}",
        "WORKFLOW_COMPUTE_BUILD_PUSH": "true" if workload.push_target_ref else "false",
    }


def clean_container_path(value: str) -> str:
    """Return ``value`` cleaned, ``/``-separated and relative; ``.`` when empty."""
    if value in ("", "."):
        return "."

    cleaned = os.path.normpath(value.replace("\\", "/")).lstrip("/")
    return cleaned or "."


def create_build_state_dir() -> tuple[str, str]:
    """
    Create a private parent directory and a build state directory inside it.

    The parent is ``0o700``, so no other host user can reach the state
    directory. The state directory itself is ``0o777`` because the builder
    runs as container root, which is a different user from a non-root caller
    when the runtime is rootful, and it has no ``CAP_DAC_OVERRIDE``.

    :returns: the parent (remove it when done) and the state directory.
    """
    parent = tempfile.mkdtemp(prefix="wfcompute-build-")
    state = os.path.join(parent, "state")
    os.mkdir(state)
    os.chmod(state, 0o777)  # noqa: S103 - only reachable through the 0o700 parent
    return parent, state


def remove_build_state_dir(parent: str) -> None:
    """Remove the directory made by `create_build_state_dir`, ignoring a missing one."""
    shutil.rmtree(parent, ignore_errors=True)


def read_build_digest(state_dir: str) -> str:
    """
    Return the ``sha256:<64 hex>`` digest the builder wrote into ``state_dir``.

    The file must be a regular file, not a symlink, and is opened without
    following links. Surrounding whitespace is ignored.

    :raises BuildDigestError: when the file is missing, not regular, replaced
        while opened, too large or does not hold a lowercase sha256 digest.
    """
    path = os.path.join(state_dir, DIGEST_FILE_NAME)
    try:
        before = os.lstat(path)
    except FileNotFoundError:
        raise BuildDigestError(path=path, problem="was not written") from None

    if not stat.S_ISREG(before.st_mode):
        raise BuildDigestError(path=path, problem="is not a regular file")

    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError as exc:
        raise BuildDigestError(path=path, problem=f"cannot be opened: {exc}") from exc

    with open(fd, "rb") as file:
        after = os.fstat(file.fileno())
        if (after.st_dev, after.st_ino) != (before.st_dev, before.st_ino):
            raise BuildDigestError(path=path, problem="changed while opening")

        data = file.read(_MAX_DIGEST_FILE + 1)

    text = data.decode("utf-8", errors="replace").strip()
    if len(data) > _MAX_DIGEST_FILE or not _DIGEST.fullmatch(text):
        raise BuildDigestError(
            path=path,
            problem=f"holds {text[:80]!r}, expected sha256:<64 lowercase hex digits>",
        )

    return text
