"""
Workspace modes for root containers, and workspace size.

A root container without ``CAP_DAC_OVERRIDE`` reads a bind-mounted workspace
that another user owns only through the "other" permission bits, so the build
profile loosens them for the run and restores them afterwards. Every step goes
through file descriptors opened with ``O_NOFOLLOW`` relative to their parent
directory, and a restore skips an entry that is now a different inode. A
symlink placed in the workspace, before or during the run, therefore never
redirects a ``chmod`` to a file outside it. Setuid, setgid and sticky bits are
kept.
"""

from __future__ import annotations

import contextlib
import errno
import os
import stat
from typing import TYPE_CHECKING

import attrs

from ._errors import WorkspacePermissionError

if TYPE_CHECKING:
    from collections.abc import Iterator, Sequence

_PATH_FLAGS = os.O_PATH | os.O_NOFOLLOW | os.O_CLOEXEC
_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC


@attrs.frozen(kw_only=True)
class ModeRecord:
    """
    The original mode of one workspace entry whose mode was changed.

    ``changed_ns`` is the entry's ctime right after the change. A later ctime
    means that the run modified the entry or replaced it with a file that
    reuses the inode number.

    .. note::
       Where the kernel keeps ctime at clock-tick granularity (kernels
       without multigrain timestamps), a change within the same tick as the
       loosening goes unnoticed.
    """

    parts: tuple[str, ...]
    mode: int
    device: int
    inode: int
    changed_ns: int


def loosen_workspace_modes(root: str) -> tuple[ModeRecord, ...]:
    """
    Make every directory and regular file under ``root`` readable by all.

    Directories and executable files get ``0o755`` added, other files
    ``0o644``. Symlinks and special files are left alone and never followed.
    On failure the entries already changed are restored before the error is
    raised. This walks the whole tree, so call it in a worker thread.

    :returns: the changed entries in the order they were changed.
    :raises WorkspacePermissionError: when ``root`` is a symlink or an entry
        cannot be examined or changed.
    """
    records: list[ModeRecord] = []
    try:
        info = os.lstat(root)
        if not stat.S_ISDIR(info.st_mode):
            raise NotADirectoryError(errno.ENOTDIR, "not a directory", root)

        _loosen_entry(None, root, (), info, records)
    except OSError as exc:
        restore_workspace_modes(root, records)
        raise WorkspacePermissionError(
            action="loosen", paths=[root], reason=str(exc)
        ) from exc

    return tuple(records)


def restore_workspace_modes(root: str, records: Sequence[ModeRecord]) -> None:
    """
    Put back the modes in ``records``, last change first.

    An entry that is gone, or is now a different inode, is skipped: the run
    replaced it, and its new mode is the workload's. A regular file that
    changed during the run gets its mode back without setuid and setgid.
    Every entry is attempted before an error is raised.

    :raises WorkspacePermissionError: naming every entry that could not be
        restored.
    """
    failed: list[str] = []
    reasons: list[str] = []
    for record in reversed(records):
        try:
            _restore_one(root, record)
        except OSError as exc:
            failed.append(os.path.join(root, *record.parts))
            reasons.append(str(exc))

    if failed:
        raise WorkspacePermissionError(
            action="restore", paths=failed, reason=reasons[0]
        )


def measure_workspace(root: str) -> int:
    """
    Return the sum of the ``lstat`` sizes of every non-directory under ``root``.

    Entries that vanish during the walk are skipped. Symlinks count with their
    own size and are not followed.
    """
    total = 0
    pending = [root]
    while pending:
        directory = pending.pop()
        with contextlib.suppress(FileNotFoundError), os.scandir(directory) as entries:
            for entry in entries:
                with contextlib.suppress(FileNotFoundError):
                    if entry.is_dir(follow_symlinks=False):
                        pending.append(entry.path)
                    else:
                        total += entry.stat(follow_symlinks=False).st_size

    return total


def _loosened_mode(mode: int) -> int:
    add = 0o755 if stat.S_ISDIR(mode) or mode & 0o111 else 0o644
    return (mode & 0o7777) | add


def _loosen_entry(
    dir_fd: int | None,
    name: str,
    parts: tuple[str, ...],
    info: os.stat_result,
    records: list[ModeRecord],
) -> None:
    with _opened_path(name, dir_fd, info) as fd:
        _chmod_recorded(fd, parts, info, records)

    if not stat.S_ISDIR(info.st_mode):
        return

    # Opened for listing only now, after its own mode was loosened.
    child_fd = os.open(name, _DIR_FLAGS, dir_fd=dir_fd)
    try:
        _check_same(child_fd, name, info)
        for child in sorted(os.listdir(child_fd)):
            entry = os.stat(child, dir_fd=child_fd, follow_symlinks=False)
            if stat.S_ISREG(entry.st_mode) or stat.S_ISDIR(entry.st_mode):
                _loosen_entry(child_fd, child, (*parts, child), entry, records)
    finally:
        os.close(child_fd)


def _chmod_recorded(
    fd: int, parts: tuple[str, ...], info: os.stat_result, records: list[ModeRecord]
) -> None:
    loosened = _loosened_mode(info.st_mode)
    if loosened == info.st_mode & 0o7777:
        return

    _chmod_fd(fd, loosened)
    records.append(
        ModeRecord(
            parts=parts,
            mode=info.st_mode & 0o7777,
            device=info.st_dev,
            inode=info.st_ino,
            changed_ns=os.fstat(fd).st_ctime_ns,
        )
    )


def _chmod_fd(fd: int, mode: int) -> None:
    # fchmod() does not work on O_PATH descriptors; the /proc link names the
    # already-opened inode, so no path lookup (and no symlink) is involved.
    os.chmod(f"/proc/self/fd/{fd}", mode)


@contextlib.contextmanager
def _opened_path(
    name: str, dir_fd: int | None, expected: os.stat_result
) -> Iterator[int]:
    fd = os.open(name, _PATH_FLAGS, dir_fd=dir_fd)
    try:
        _check_same(fd, name, expected)
        yield fd
    finally:
        os.close(fd)


def _check_same(fd: int, name: str, expected: os.stat_result) -> None:
    info = os.fstat(fd)
    if (info.st_dev, info.st_ino) != (expected.st_dev, expected.st_ino):
        raise FileNotFoundError(errno.ENOENT, "replaced while it was examined", name)


def _restore_one(root: str, record: ModeRecord) -> None:
    fd = _open_no_follow(root, record.parts)
    if fd is None:
        return

    try:
        info = os.fstat(fd)
        if (info.st_dev, info.st_ino) != (record.device, record.inode):
            return

        restored = record.mode
        if stat.S_ISREG(info.st_mode) and info.st_ctime_ns != record.changed_ns:
            # The file was written, or is a new file that reuses the inode
            # number: setuid and setgid are not given back, as the kernel
            # also clears them when a file is written.
            restored &= ~(stat.S_ISUID | stat.S_ISGID)
        _chmod_fd(fd, restored)
    finally:
        os.close(fd)


def _open_no_follow(root: str, parts: tuple[str, ...]) -> int | None:
    """Open ``root/parts`` as O_PATH without following any symlink; None if gone."""
    try:
        fd = os.open(root, _PATH_FLAGS | os.O_DIRECTORY)
    except (FileNotFoundError, NotADirectoryError):
        return None

    for index, name in enumerate(parts):
        flags = _PATH_FLAGS if index == len(parts) - 1 else _PATH_FLAGS | os.O_DIRECTORY
        try:
            child = os.open(name, flags, dir_fd=fd)
        except (FileNotFoundError, NotADirectoryError):
            child = None
        except OSError as exc:
            # ELOOP: the entry is now a symlink, which is never followed.
            if exc.errno != errno.ELOOP:
                os.close(fd)
                raise
            child = None
        os.close(fd)
        if child is None:
            return None
        fd = child

    return fd
