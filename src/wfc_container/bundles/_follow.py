"""
Extract an artifact while it downloads, without trusting it before its digest.

The download writes the staging file and reports progress. A reader thread
follows the file as it grows and feeds the extractor, hashing every byte it
hands over. The early tree is kept only when the download succeeded and the
bytes the extractor read have the pinned digest, so they are exactly the
verified artifact. In every other case (a restarted or resumed transfer from
another mirror, a failed download, a rejected member) the early tree is
removed and the finished file is extracted again. Nothing is promoted before
the download's own digest check has passed either way.
"""

from __future__ import annotations

import hashlib
import logging
import os
import threading
import typing
from typing import IO, TYPE_CHECKING

import anyio
import anyio.to_thread

from .._errors import BundleError
from ._extract import ExtractLimits, TreeRecord, extract_tar_gz, run_cancellable_thread
from ._layout import remove_tree
from ._manifest import MANIFEST_NAME

if TYPE_CHECKING:
    from collections.abc import Sequence
    from pathlib import Path

    from ._download import BundleFetcher, DownloadProgress, ProgressHook

logger = logging.getLogger("wfc_container.bundles")

READ_SIZE = 256 << 10
_POLL = 0.05


class FollowAborted(EOFError):  # noqa: N818 - internal signal, not an error
    """The download this reader follows failed or the extraction was cancelled."""


class GrowingFile:
    """
    Reader of a file that a download is still writing.

    :meth:`progress` is the download's progress hook; :meth:`finish` and
    :meth:`abort` end the transfer. :meth:`read` blocks until bytes beyond
    the current offset are on disk, and returns ``b""`` only after the
    download finished.
    """

    def __init__(self, path: Path, forward: ProgressHook | None) -> None:
        self.path = path
        self.forward = forward
        self.changed = threading.Condition()
        self.started = False
        self.finished = False
        self.aborted = False
        self.cancel: threading.Event | None = None
        self.offset = 0
        self.digest = hashlib.sha256()
        self.fd: int | None = None

    def progress(self, event: DownloadProgress) -> None:
        """Record download progress and wake the reader."""
        with self.changed:
            self.started = True
            self.changed.notify_all()
        if self.forward is not None:
            self.forward(event)

    def finish(self) -> None:
        """Mark the download complete and its file closed."""
        with self.changed:
            self.started = self.finished = True
            self.changed.notify_all()

    def abort(self) -> None:
        """Make the reader stop with :class:`FollowAborted`."""
        with self.changed:
            self.aborted = True
            self.changed.notify_all()

    def read(self, size: int = -1) -> bytes:
        """Return the next bytes on disk, waiting for the download as needed."""
        size = READ_SIZE if size < 0 else size
        while True:
            finished = self._wait_for_data()
            if self.fd is None:
                self.fd = os.open(self.path, os.O_RDONLY | os.O_CLOEXEC)
            data = os.pread(self.fd, size, self.offset)
            if data or finished:
                self.offset += len(data)
                self.digest.update(data)
                return data

    def _wait_for_data(self) -> bool:
        with self.changed:
            if self.fd is not None and not self.finished:
                self.changed.wait(_POLL)
            while not self.started and not self.aborted:
                self.changed.wait(_POLL)
                self._check_stop()
            self._check_stop()
            return self.finished

    def _check_stop(self) -> None:
        if self.aborted or (self.cancel is not None and self.cancel.is_set()):
            raise FollowAborted

    def close(self) -> None:
        """Close the file descriptor, if open."""
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None

    def consumed_digest(self) -> str:
        """Return ``sha256:<hex>`` of every byte handed out so far."""
        return "sha256:" + self.digest.hexdigest()


async def download_and_extract(
    source: BundleFetcher,
    urls: Sequence[str],
    *,
    name: str,
    expected_digest: str,
    max_bytes: int,
    artifact: Path,
    tree: Path,
    limits: ExtractLimits,
    progress: ProgressHook | None,
) -> TreeRecord:
    """
    Download ``urls`` into ``artifact`` and extract it into ``tree`` at the same time.

    :returns: the record of a tree extracted from exactly the pinned bytes
    :raises DownloadError: when the artifact cannot be fetched with its digest
    :raises UnsafeArchiveError: when the verified archive breaks the rules
    :raises ArchiveReadError: when the verified archive is not a tar.gz
    """
    follower = GrowingFile(artifact, progress)
    early: list[TreeRecord] = []
    async with anyio.create_task_group() as group:
        group.start_soon(_extract_early, follower, tree, name, limits, early)
        try:
            await source.download_artifact(
                urls,
                name=name,
                expected_digest=expected_digest,
                max_bytes=max_bytes,
                dest=artifact,
                progress=follower.progress,
            )
        except Exception as exc:  # noqa: BLE001 - re-raised below, outside the group
            follower.abort()
            failure: Exception | None = exc
        except BaseException:
            follower.abort()
            raise
        else:
            failure = None
            follower.finish()

    # Raised here rather than inside the task group, which would wrap it in
    # an exception group.
    if failure is not None:
        raise failure

    early_tree_verified = bool(early) and follower.consumed_digest() == expected_digest
    logger.debug("bundle.extract.early name=%s kept=%s", name, early_tree_verified)
    if early_tree_verified:
        return early[0]

    await anyio.to_thread.run_sync(remove_tree, tree)
    return await _extract_file(artifact, tree, name, limits)


async def _extract_early(
    follower: GrowingFile,
    tree: Path,
    name: str,
    limits: ExtractLimits,
    early: list[TreeRecord],
) -> None:
    """Extract from the growing file into ``tree``; append the record on success."""

    def work(cancel: threading.Event) -> TreeRecord:
        follower.cancel = cancel
        tree.mkdir(mode=0o700)
        try:
            stream = typing.cast("IO[bytes]", follower)
            return extract_tar_gz(
                stream,
                tree,
                archive=name,
                limits=limits,
                cancel=cancel,
                reserved=(MANIFEST_NAME,),
            )
        finally:
            follower.close()

    try:
        early.append(await run_cancellable_thread(work))
    except BundleError:
        return  # judged again by the caller, from the verified file


async def _extract_file(
    artifact: Path, tree: Path, name: str, limits: ExtractLimits
) -> TreeRecord:
    def work(cancel: threading.Event) -> TreeRecord:
        tree.mkdir(mode=0o700)
        with artifact.open("rb") as stream:
            return extract_tar_gz(
                stream,
                tree,
                archive=name,
                limits=limits,
                cancel=cancel,
                reserved=(MANIFEST_NAME,),
            )

    return await run_cancellable_thread(work)
