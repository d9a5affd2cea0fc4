"""
Paths under the install root, the per-bundle lock, staging and atomic promotion.

Layout of an install root::

    <install_root>/<bundle_id>/             the active bundle tree (or a symlink
                                            to .trees/<bundle_id>@<random>)
    <install_root>/.locks/<bundle_id>.lock  flock(2) lock file, kept between runs
    <install_root>/.staging/<bundle_id>@*   one directory per run in progress
    <install_root>/.trees/<bundle_id>@*     trees of the symlink-switch fallback

Promotion is one atomic step. On Linux it is ``renameat2(RENAME_EXCHANGE)``,
which swaps the new tree and the active one in a single call. Where that call
is missing, the bundle root is a symlink that is replaced with ``rename(2)``.
Either way a reader sees the old tree or the new one, never a missing or
half-written root.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import fcntl
import logging
import os
import re
import shutil
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

import anyio
import attrs

from ._catalog import is_reserved_bundle_id
from ._errors import BundleLockedError, InstallIOError, InstallRootError

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

logger = logging.getLogger("wfc_container.bundles")

LOCKS_DIR = ".locks"
STAGING_DIR = ".staging"
TREES_DIR = ".trees"
_BUNDLE_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")
BUNDLE_ID_RULE = (
    "1-128 characters of [A-Za-z0-9._-] that start with a letter or digit"
    " and do not end in '.previous' or '.old'"
)
# Separates a bundle id from a run's random suffix. Ids cannot contain it, so
# the leftovers of bundle "a" never match those of bundle "a-b".
RUN_SEPARATOR = "@"
_AT_FDCWD = -100
_RENAME_EXCHANGE = 2
_LOCK_POLL_DELAY = 0.1


class BundleIdError(InstallRootError):
    """
    A bundle id that cannot name a directory under the install root.

    It subclasses `InstallRootError`, so callers that catch an unsafe root
    also catch an unsafe id; ``path`` is the install root, when one was given.
    """

    def __init__(self, *, bundle_id: str, path: str = "") -> None:
        super().__init__(path=path, reason=f"invalid bundle id {bundle_id!r}")
        self.bundle_id = bundle_id

    def render(self) -> str:
        return f"invalid bundle id {self.bundle_id!r}: expected {BUNDLE_ID_RULE}"


def check_bundle_id(bundle_id: str, *, install_root: str = "") -> None:
    """
    Check that ``bundle_id`` is safe as a directory name under an install root.

    :raises BundleIdError: when it breaks `BUNDLE_ID_RULE`
    """
    if not _BUNDLE_ID.fullmatch(bundle_id) or is_reserved_bundle_id(bundle_id):
        raise BundleIdError(bundle_id=bundle_id, path=install_root)


@attrs.frozen(kw_only=True)
class BundleLayout:
    """Absolute paths that belong to one bundle under one install root."""

    install_root: Path
    bundle_id: str

    @property
    def root(self) -> Path:
        """The bundle root, ``<install_root>/<bundle_id>``."""
        return self.install_root / self.bundle_id

    @property
    def command_path(self) -> Path:
        """The managed ``nerdctl`` executable."""
        return self.root / "bin" / "nerdctl"

    @property
    def manifest_path(self) -> Path:
        """The install manifest inside the bundle root."""
        return self.root / "wfcompute-managed-runtime-install.json"

    @property
    def cni_dir(self) -> Path:
        """The bundle's CNI plugin directory, passed to nerdctl as ``CNI_PATH``."""
        return self.root / "libexec" / "cni"

    @property
    def lock_path(self) -> Path:
        """The lock file of this bundle."""
        return self.install_root / LOCKS_DIR / f"{self.bundle_id}.lock"

    @property
    def staging_dir(self) -> Path:
        """The parent of the per-run staging directories."""
        return self.install_root / STAGING_DIR


def bundle_layout(install_root: str | os.PathLike[str], bundle_id: str) -> BundleLayout:
    """
    Return the checked layout of ``bundle_id`` under ``install_root``.

    The bundle id must be 1 to 128 letters, digits, ``.``, ``_`` or ``-``,
    start with a letter or digit and not end in ``.previous`` or ``.old``, so
    it can never name one of the installer's own directories. A relative
    ``install_root`` is made absolute against the current directory. No
    existing component of the install root may be a symlink, because a
    symlink there could move the root elsewhere.

    :raises BundleIdError: when the id is not safe
    :raises InstallRootError: when the root is not safe
    """
    text = os.fspath(install_root)
    if not text.strip():
        raise InstallRootError(path=text, reason="the install root is empty")
    check_bundle_id(bundle_id, install_root=text)

    root = Path(os.path.abspath(text))
    _reject_symlink_components(root)
    return BundleLayout(install_root=root, bundle_id=bundle_id)


def _reject_symlink_components(root: Path) -> None:
    current = Path(root.anchor)
    for part in root.parts[1:]:
        current = current / part
        try:
            is_link = current.is_symlink()
        except OSError as exc:
            raise InstallRootError(path=str(root), reason=str(exc)) from exc
        if is_link:
            raise InstallRootError(
                path=str(root),
                reason=f"component {str(current)!r} is a symlink",
                hint=f"pass the resolved path {os.path.realpath(root)!r}",
            )
        if not current.exists():
            return


@contextlib.asynccontextmanager
async def hold_bundle_lock(
    layout: BundleLayout, *, timeout: float = 0.0
) -> AsyncIterator[None]:
    """
    Hold the bundle's exclusive ``flock`` for the duration of the block.

    The kernel drops the lock when the process dies, so a crash never leaves
    a stale lock; the lock file itself stays. Waits up to ``timeout`` seconds
    (default 0: fail at once) for another holder.

    :raises BundleLockedError: when the lock is still held after ``timeout``
    :raises InstallIOError: when the lock file cannot be created
    """
    fd = _open_lock_file(layout)
    try:
        await _acquire(fd, layout, timeout)
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        yield
    finally:
        os.close(fd)


def _open_lock_file(layout: BundleLayout) -> int:
    path = layout.lock_path
    try:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        flags = os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC
        return os.open(path, flags, 0o600)
    except OSError as exc:
        raise InstallIOError(action="lock", path=str(path), reason=str(exc)) from exc


async def _acquire(fd: int, layout: BundleLayout, timeout: float) -> None:
    waited = 0.0
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            if waited >= timeout:
                raise BundleLockedError(
                    bundle_id=layout.bundle_id,
                    lock_path=str(layout.lock_path),
                    timeout=timeout,
                ) from None
        else:
            return
        await anyio.sleep(_LOCK_POLL_DELAY)
        waited += _LOCK_POLL_DELAY


def remove_leftovers(layout: BundleLayout) -> list[str]:
    """
    Remove what crashed runs of this bundle left behind; call it under the lock.

    That is every ``.staging/<id>@*`` directory and every ``.trees/<id>@*``
    tree the bundle root does not point at. Returns the removed paths.
    """
    active = _active_tree_name(layout)
    removed: list[str] = []
    for parent in (layout.staging_dir, layout.install_root / TREES_DIR):
        if not parent.is_dir():
            continue
        for entry in sorted(parent.glob(f"{layout.bundle_id}{RUN_SEPARATOR}*")):
            if entry.name != active:
                remove_tree(entry)
                removed.append(str(entry))

    for path in removed:
        logger.warning("bundle.leftover.removed path=%s", path)
    return removed


def make_stage(layout: BundleLayout) -> Path:
    """Create and return a new private staging directory for one run."""
    try:
        layout.staging_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        prefix = f"{layout.bundle_id}{RUN_SEPARATOR}"
        return Path(tempfile.mkdtemp(prefix=prefix, dir=layout.staging_dir))
    except OSError as exc:
        path = str(layout.staging_dir)
        raise InstallIOError(action="stage", path=path, reason=str(exc)) from exc


def remove_tree(path: Path) -> None:
    """
    Remove ``path`` and everything under it without following symlinks.

    A symlink at ``path`` itself is unlinked, never followed.
    """
    if path.is_symlink() or not path.exists():
        path.unlink(missing_ok=True)
        return

    # rmtree uses the fd-based walk on Linux, which never follows a link out.
    shutil.rmtree(path)


def active_tree(layout: BundleLayout) -> Path | None:
    """
    Return the directory that contains the active bundle tree, or ``None``.

    That is the bundle root itself, or, with the symlink-switch fallback, the
    ``.trees/<id>@*`` directory the root links to.

    :raises InstallRootError: when the root is a symlink to anything else
    """
    root = layout.root
    if not os.path.lexists(root):
        return None
    if not root.is_symlink():
        return root
    name = _active_tree_name(layout)
    if name is None:
        reason = f"bundle root is a symlink to {os.readlink(root)!r}"
        raise InstallRootError(path=str(layout.install_root), reason=reason)

    return layout.install_root / TREES_DIR / name


def _active_tree_name(layout: BundleLayout) -> str | None:
    if not layout.root.is_symlink():
        return None
    target = os.readlink(layout.root)
    prefix = f"{TREES_DIR}/{layout.bundle_id}{RUN_SEPARATOR}"
    name = target.removeprefix(f"{TREES_DIR}/")
    if not target.startswith(prefix) or "/" in name:
        return None

    return name


def promote(layout: BundleLayout, tree: Path, *, method: str = "auto") -> str:
    """
    Make ``tree`` (inside this run's stage) the active bundle root in one step.

    ``method`` ``"auto"`` renames into an absent root, exchanges with a root
    directory and relinks a symlinked root; on a system without
    ``renameat2`` it starts a symlinked root. ``"symlink"`` forces the
    fallback for an absent or symlinked root. After the switch the previous
    tree sits at ``tree``'s old path, and the caller's stage cleanup removes
    it. Returns how the switch was made: ``"rename"``, ``"exchange"`` or
    ``"symlink"``.

    :raises InstallIOError: when the switch fails; the previous root is
        unchanged then
    """
    root = layout.root
    try:
        if root.is_symlink() or (
            not root.exists() and (method == "symlink" or not _has_renameat2())
        ):
            return _switch_symlink(layout, tree)
        if not root.exists():
            os.rename(tree, root)
            return "rename"
        if _exchange(tree, root):
            return "exchange"
    except OSError as exc:
        raise InstallIOError(action="promote", path=str(root), reason=str(exc)) from exc

    # NOTE: a root directory made where renameat2 worked cannot be replaced
    # atomically once the filesystem stops supporting RENAME_EXCHANGE.
    reason = "renameat2(RENAME_EXCHANGE) is not available to replace a directory"
    raise InstallIOError(action="promote", path=str(root), reason=reason)


def _has_renameat2() -> bool:
    return hasattr(ctypes.CDLL(None), "renameat2")


def _exchange(source: Path, target: Path) -> bool:
    """Swap two paths atomically; return False when the system cannot."""
    renameat2 = getattr(ctypes.CDLL(None, use_errno=True), "renameat2", None)
    if renameat2 is None:
        return False

    result = renameat2(
        _AT_FDCWD, os.fsencode(source), _AT_FDCWD, os.fsencode(target), _RENAME_EXCHANGE
    )
    if result == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.ENOSYS, errno.EINVAL, errno.ENOTSUP):
        return False

    raise OSError(err, os.strerror(err), str(target))


def _switch_symlink(layout: BundleLayout, tree: Path) -> str:
    trees = layout.install_root / TREES_DIR
    trees.mkdir(mode=0o700, exist_ok=True)
    final = Path(
        tempfile.mkdtemp(prefix=f"{layout.bundle_id}{RUN_SEPARATOR}", dir=trees)
    )
    os.rename(tree, final)
    link = tree.with_name(tree.name + ".link")
    os.symlink(f"{TREES_DIR}/{final.name}", link)
    # rename(2) replaces a symlink atomically; the old tree is then garbage.
    old = active_tree(layout) if layout.root.is_symlink() else None
    os.rename(link, layout.root)
    if old is not None:
        os.rename(old, tree)
    return "symlink"
