"""
Artifact hashing: one SHA-256 over the files an allowlist names.

Each file adds its workspace-relative path (``/``-separated), a NUL byte, its
contents and another NUL byte. Files are hashed in the order of their path
components, which for one entry is the order of a depth-first walk with names
sorted by byte value. A file named twice, directly or through a directory, is
hashed once, so duplicate and overlapping entries give the same hash as the
union of the files they name. File modes, directory names and empty
directories are not hashed.
"""

from __future__ import annotations

import hashlib
import os
import stat
from typing import TYPE_CHECKING

from ._errors import ArtifactError, SandboxRequestError
from ._paths import reject_symlink_components, resolve_inside

if TYPE_CHECKING:
    from collections.abc import Sequence

_CHUNK = 1 << 20


def hash_artifacts(base: str, allowlist: Sequence[str]) -> str:
    """
    Return ``sha256:<hex>`` over the files that ``allowlist`` names under ``base``.

    An entry is a relative path to a file or a directory; ``""`` names ``base``
    itself. This reads every file, so call it in a worker thread.

    :raises SandboxRequestError: when ``base`` is empty.
    :raises UnsafePathError: when an entry is absolute, escapes ``base`` or
        passes a symlink.
    :raises ArtifactError: when an entry is missing, is or contains a symlink or
        a file that is not regular, or changes while it is read.
    """
    if not base:
        raise SandboxRequestError(
            field="workspace", value=base, expected="a directory for the allowlist"
        )

    files: set[tuple[str, ...]] = set()
    for entry in allowlist:
        path = resolve_inside(base, entry)
        reject_symlink_components(base, path)
        _collect_files(base, path, files)

    digest = hashlib.sha256()
    for parts in sorted(files, key=lambda parts: [p.encode() for p in parts]):
        _hash_file(base, "/".join(parts), digest)

    return "sha256:" + digest.hexdigest()


def _relative_parts(base: str, path: str) -> tuple[str, ...]:
    relative = os.path.relpath(path, base)
    return () if relative == "." else tuple(relative.split(os.sep))


def _collect_files(base: str, path: str, files: set[tuple[str, ...]]) -> None:
    parts = _relative_parts(base, path)
    display_path = "/".join(parts) or "."
    try:
        mode = os.lstat(path).st_mode
    except FileNotFoundError:
        raise ArtifactError(path=display_path, problem="does not exist") from None

    if stat.S_ISLNK(mode):
        raise ArtifactError(path=display_path, problem="is a symlink")

    if not stat.S_ISDIR(mode):
        files.add(parts)
        return

    with os.scandir(path) as entries:
        children = sorted(entries, key=lambda entry: entry.name.encode())

    for child in children:
        _collect_files(base, child.path, files)


def _hash_file(base: str, relative: str, digest: hashlib._Hash) -> None:
    path = os.path.join(base, *relative.split("/"))
    before = os.lstat(path)
    if stat.S_ISLNK(before.st_mode):
        raise ArtifactError(path=relative, problem="is a symlink")

    if not stat.S_ISREG(before.st_mode):
        raise ArtifactError(path=relative, problem="is not a regular file")

    digest.update(relative.encode() + b"\x00")
    # O_NOFOLLOW and the inode check catch a swap between lstat and open.
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError as exc:
        raise ArtifactError(path=relative, problem=f"cannot be opened: {exc}") from exc

    with open(fd, "rb") as file:
        after = os.fstat(file.fileno())
        if (after.st_dev, after.st_ino) != (before.st_dev, before.st_ino):
            raise ArtifactError(path=relative, problem="changed while opening")

        while chunk := file.read(_CHUNK):
            digest.update(chunk)

    digest.update(b"\x00")
