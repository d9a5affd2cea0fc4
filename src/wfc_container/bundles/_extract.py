"""
Streaming, path-safe extraction of a bundle's ``.tar.gz`` into a staging directory.

The archive is read once, front to back (``r|gz``), and every regular file is
hashed while it is written, so the install manifest needs no second pass over
the tree. The rules fit nerdctl-full. Bare and ``./``-prefixed member names, a ``./``
root entry, PAX headers and in-root relative symlinks such as
``bin/buildkit-cni-bridge -> ../libexec/cni/bridge`` are accepted. Absolute
names, ``..`` components, escaping links, devices, FIFOs and duplicate names
are rejected.
"""

from __future__ import annotations

import hashlib
import os
import posixpath
import stat
import tarfile
import threading
import typing
import zlib
from pathlib import Path
from typing import IO, TYPE_CHECKING, NoReturn, TypeVar

import anyio
import anyio.to_thread
import attrs

from ._errors import ArchiveReadError, InstallIOError, UnsafeArchiveError
from ._streams import FileWriter, GzipStream

if TYPE_CHECKING:
    from collections.abc import Callable, Collection

T = TypeVar("T")

CHUNK_SIZE = 256 << 10
# tarfile re-copies its whole buffer on every header read, so keep it small.
TAR_BUFSIZE = 64 << 10
SYMLINK_DIGEST_PREFIX = b"symlink:"
_OPEN_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC


class ExtractionCancelled(Exception):  # noqa: N818 - internal signal, not an error
    """Raised inside the extraction thread after the caller was cancelled."""


@attrs.frozen(kw_only=True)
class ExtractLimits:
    """
    Bounds on what one archive may unpack to.

    ``max_total_size`` is the sum of regular-file sizes in bytes (default 4 GiB,
    an estimate of several times what a 250 MB nerdctl-full archive unpacks
    to), and ``max_members`` the number of archive members of any type
    (default 20 000).
    """

    max_total_size: int = 4 << 30
    max_members: int = 20_000


@attrs.frozen(kw_only=True)
class TreeRecord:
    """
    Digests, modes and link targets of an extracted or installed tree.

    Keys are ``/``-separated paths relative to the tree root. ``file_digests``
    covers regular files and symlinks (a link's value hashes ``symlink:<target>``),
    ``file_modes`` the permission bits of regular files, and ``symlinks`` the raw
    target of each link.
    """

    file_digests: dict[str, str]
    file_modes: dict[str, int]
    symlinks: dict[str, str]


def symlink_digest(target: str) -> str:
    """Return the manifest digest of a symlink whose raw target is ``target``."""
    return (
        "sha256:" + hashlib.sha256(SYMLINK_DIGEST_PREFIX + target.encode()).hexdigest()
    )


def member_path(name: str) -> str | None:
    """
    Return the normalized relative path of archive member ``name``.

    ``None`` means the member is the archive root (``.`` or ``./``).

    :raises ValueError: when the name is empty, absolute, holds a backslash or
        NUL, or has a ``..`` component
    """
    if not name or name.startswith("/") or "\\" in name or "\x00" in name:
        msg = "path is empty, absolute or holds a backslash"
        raise ValueError(msg)

    parts = [part for part in name.split("/") if part not in ("", ".")]
    if ".." in parts:
        msg = "path has a '..' component"
        raise ValueError(msg)

    return "/".join(parts) or None


def check_symlink_target(link: str, target: str) -> str:
    """
    Return where symlink ``link`` with raw ``target`` points, relative to the root.

    The target is resolved from the link's parent directory, so
    ``bin/buildkit-cni-bridge -> ../libexec/cni/bridge`` is accepted.

    :raises ValueError: when the target is empty, absolute, holds a backslash or
        resolves to the root itself or outside it
    """
    if not target.strip() or target.startswith("/") or "\\" in target:
        msg = "target is empty, absolute or holds a backslash"
        raise ValueError(msg)

    resolved = posixpath.normpath(posixpath.join(posixpath.dirname(link), target))
    if resolved in (".", "..") or resolved.startswith("../"):
        msg = "target resolves outside the extraction root"
        raise ValueError(msg)

    return resolved


def extract_tar_gz(
    source: IO[bytes],
    dest: Path,
    *,
    archive: str,
    limits: ExtractLimits = ExtractLimits(),
    cancel: threading.Event | None = None,
    reserved: Collection[str] = (),
) -> TreeRecord:
    """
    Extract the gzip-compressed tar stream ``source`` into the empty directory ``dest``.

    Blocking: run it in a worker thread. Setting ``cancel`` stops it at the next
    chunk with :class:`ExtractionCancelled`; the caller removes ``dest``.

    :param archive: the archive's name, used in error messages
    :param reserved: paths the installer writes itself, rejected as members
    :returns: digests, modes and link targets of everything written
    :raises UnsafeArchiveError: when a member breaks the path, type or size rules
    :raises ArchiveReadError: when the stream is not a readable tar.gz
    :raises InstallIOError: when writing into ``dest`` fails
    """
    extractor = _Extractor(
        dest=dest,
        archive=archive,
        limits=limits,
        cancel=cancel,
        reserved=frozenset(reserved),
    )
    unzipped = GzipStream(source)
    try:
        stream = typing.cast("IO[bytes]", unzipped)
        with tarfile.open(fileobj=stream, mode="r|", bufsize=TAR_BUFSIZE) as tar:
            for member in tar:
                extractor.add(tar, member)
            # Reading to the end makes zlib check the last member's trailer.
            while unzipped.read(CHUNK_SIZE):
                extractor.check_cancel()
        extractor.writer.join()
    except (tarfile.TarError, zlib.error, EOFError) as exc:
        raise ArchiveReadError(archive=archive, reason=str(exc)) from exc
    except InstallIOError:
        raise
    except OSError as exc:
        path = str(dest)
        raise InstallIOError(action="extract", path=path, reason=str(exc)) from exc
    finally:
        unzipped.close()
        extractor.writer.stop()

    extractor.finish()
    return extractor.record()


async def run_cancellable_thread(work: Callable[[threading.Event], T]) -> T:
    """
    Run ``work(cancel_event)`` in a worker thread and stop it when cancelled.

    On cancellation the event is set and the thread is awaited (shielded) before
    the cancellation propagates, so the caller can remove what it wrote.
    """
    cancel = threading.Event()
    finished = threading.Event()

    def run() -> T:
        try:
            return work(cancel)
        finally:
            finished.set()

    try:
        return await anyio.to_thread.run_sync(run, abandon_on_cancel=True)
    except BaseException:
        cancel.set()
        with anyio.CancelScope(shield=True):
            await anyio.to_thread.run_sync(finished.wait)
        raise


@attrs.define
class _Extractor:
    dest: Path
    archive: str
    limits: ExtractLimits
    cancel: threading.Event | None
    reserved: frozenset[str] = frozenset()
    seen: set[str] = attrs.Factory(set)
    dir_modes: dict[str, int] = attrs.Factory(dict)
    digests: dict[str, str] = attrs.Factory(dict)
    modes: dict[str, int] = attrs.Factory(dict)
    links: dict[str, str] = attrs.Factory(dict)
    writer: FileWriter = attrs.Factory(FileWriter)
    total_size: int = 0

    def add(self, tar: tarfile.TarFile, member: tarfile.TarInfo) -> None:
        self.check_cancel()
        path = self._check_member(member)
        if path is None:
            return

        try:
            self._write(tar, member, path)
        except OSError as exc:
            raise InstallIOError(
                action="extract", path=str(self.dest / path), reason=str(exc)
            ) from exc

    def _check_member(self, member: tarfile.TarInfo) -> str | None:
        if len(self.seen) >= self.limits.max_members:
            self._reject(member.name, f"more than {self.limits.max_members} members")
        try:
            path = member_path(member.name)
        except ValueError as exc:
            self._reject(member.name, str(exc))
        if path is None:
            if not member.isdir():
                self._reject(member.name, "the archive root entry is not a directory")
            return None

        if path in self.reserved:
            self._reject(member.name, "the installer writes this path itself")
        if path in self.seen:
            self._reject(member.name, "duplicate member name")
        self.seen.add(path)
        self._check_parents(member.name, path)
        return path

    def _check_parents(self, name: str, path: str) -> None:
        parent = posixpath.dirname(path)
        while parent:
            if parent in self.links:
                self._reject(name, f"parent {parent!r} is a symlink")
            if parent in self.modes:
                self._reject(name, f"parent {parent!r} is a file")
            parent = posixpath.dirname(parent)

    def _write(self, tar: tarfile.TarFile, member: tarfile.TarInfo, path: str) -> None:
        target = self.dest / path
        if member.isdir():
            target.mkdir(mode=0o700, parents=True, exist_ok=True)
            self.dir_modes[path] = member.mode & 0o777 | 0o700
        elif member.isreg():
            self._write_file(tar, member, path)
        elif member.issym():
            self._write_symlink(member, path)
        elif member.islnk():
            self._write_hardlink(member, path)
        else:
            self._reject(member.name, f"unsupported member type {member.type!r}")

    def _write_file(
        self, tar: tarfile.TarFile, member: tarfile.TarInfo, path: str
    ) -> None:
        self.total_size += member.size
        if self.total_size > self.limits.max_total_size:
            limit = self.limits.max_total_size
            self._reject(member.name, f"unpacked size exceeds {limit} bytes")

        (self.dest / path).parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        data = tar.extractfile(member)
        if data is None:  # pragma: no cover - isreg() members always have data
            self._reject(member.name, "member has no data")
        digest = hashlib.sha256()
        fd = os.open(self.dest / path, _OPEN_FLAGS, 0o600)
        out = os.fdopen(fd, "wb")
        written = 0
        try:
            while chunk := data.read(CHUNK_SIZE):
                self.check_cancel()
                self.writer.write(out, digest, chunk)
                written += len(chunk)
        except BaseException:
            self.writer.close_file(out, 0o600, lambda: None)
            raise
        if written != member.size:
            self.writer.close_file(out, 0o600, lambda: None)
            reason = f"member {member.name!r} truncated at {written} bytes"
            raise ArchiveReadError(archive=self.archive, reason=reason)

        # Special bits are dropped: a bundle never needs setuid, setgid or sticky.
        mode = stat.S_IMODE(member.mode) & 0o777
        self.modes[path] = mode

        def record_digest() -> None:
            self.digests[path] = "sha256:" + digest.hexdigest()

        self.writer.close_file(out, mode, record_digest)

    def _write_symlink(self, member: tarfile.TarInfo, path: str) -> None:
        try:
            check_symlink_target(path, member.linkname)
        except ValueError as exc:
            self._reject(member.name, f"symlink target {member.linkname!r}: {exc}")

        (self.dest / path).parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        os.symlink(member.linkname, self.dest / path)
        self.links[path] = member.linkname
        self.digests[path] = symlink_digest(member.linkname)

    def _write_hardlink(self, member: tarfile.TarInfo, path: str) -> None:
        try:
            source = member_path(member.linkname)
        except ValueError as exc:
            self._reject(member.name, f"hard link target {member.linkname!r}: {exc}")
        # Only a link to a regular file extracted earlier is safe: it cannot
        # reach outside the root or alias a file written later.
        if source is None or source not in self.modes:
            reason = f"hard link target {member.linkname!r} is not an earlier file"
            self._reject(member.name, reason)

        (self.dest / path).parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        self.writer.join()
        os.link(self.dest / source, self.dest / path, follow_symlinks=False)
        self.digests[path] = self.digests[source]
        self.modes[path] = self.modes[source]

    def finish(self) -> None:
        """Check that links do not escape through other links, then set dir modes."""
        real_root = os.path.realpath(self.dest)
        for path, target in self.links.items():
            resolved = os.path.realpath(self.dest / path)
            if os.path.commonpath([real_root, resolved]) != real_root:
                self._reject(path, f"symlink target {target!r} escapes through a link")

        for path in sorted(self.dir_modes, reverse=True):
            os.chmod(self.dest / path, self.dir_modes[path])

    def record(self) -> TreeRecord:
        return TreeRecord(
            file_digests=dict(sorted(self.digests.items())),
            file_modes=dict(sorted(self.modes.items())),
            symlinks=dict(sorted(self.links.items())),
        )

    def check_cancel(self) -> None:
        if self.cancel is not None and self.cancel.is_set():
            raise ExtractionCancelled

    def _reject(self, member: str, reason: str) -> NoReturn:
        raise UnsafeArchiveError(archive=self.archive, member=member, reason=reason)
