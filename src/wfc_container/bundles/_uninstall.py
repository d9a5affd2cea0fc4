"""
Uninstall: remove one managed bundle root and nothing else.

Only the bundle root under the install root is removed, and only when its
manifest names this bundle and root. Siblings, the lock file and other
bundles stay. The root is first renamed into this bundle's staging area, so
readers never see a half-deleted tree and a crash mid-removal leaves only a
leftover that the next run removes.
"""

from __future__ import annotations

import logging
import os
import tempfile
from pathlib import Path

import anyio
import anyio.to_thread

from ._errors import InstallIOError, InstallStateError, InstallTimeoutError
from ._layout import (
    RUN_SEPARATOR,
    BundleLayout,
    active_tree,
    bundle_layout,
    hold_bundle_lock,
    remove_leftovers,
    remove_tree,
)
from ._manifest import MANIFEST_NAME, UninstallResult, read_manifest

logger = logging.getLogger("wfc_container.bundles")


async def uninstall_bundle(
    bundle_id: str,
    install_root: str | os.PathLike[str],
    *,
    lock_timeout: float = 0.0,
    timeout: float | None = None,
) -> UninstallResult:
    """
    Remove the bundle root of ``bundle_id`` under ``install_root``.

    The catalog is not consulted, so a bundle the catalog no longer lists
    can still be removed. Symlinks inside the tree are removed, never
    followed. When the install root does not exist, nothing is created and
    the result has ``removed`` false.

    :param lock_timeout: seconds to wait for another install or uninstall
        (default 0: fail at once)
    :param timeout: limit in seconds for the whole uninstall (default: none)
    :raises BundleIdError: when the bundle id is unsafe
    :raises InstallRootError: when the install root is unsafe
    :raises BundleLockedError: when another process holds the bundle's lock
    :raises InstallStateError: when the root exists without a manifest that
        names this bundle and root
    :raises InstallIOError: when removing fails
    """
    layout = bundle_layout(install_root, bundle_id)
    removed = False
    try:
        with anyio.fail_after(timeout):
            # Taking the lock would create the root and its .locks directory.
            if await anyio.to_thread.run_sync(os.path.lexists, layout.install_root):
                async with hold_bundle_lock(layout, timeout=lock_timeout):
                    removed = await anyio.to_thread.run_sync(_remove_root, layout)
    except TimeoutError as exc:
        raise InstallTimeoutError(bundle_id=bundle_id, timeout=timeout) from exc

    logger.info("bundle.uninstall.done bundle=%s removed=%s", bundle_id, removed)
    return UninstallResult(
        bundle_id=bundle_id,
        root=str(layout.root),
        removed=removed,
        manifest_path=str(layout.manifest_path),
    )


def check_replaceable(layout: BundleLayout) -> None:
    """
    Check that an existing bundle root is a managed install of this bundle.

    Does nothing when the root does not exist.

    :raises InstallStateError: when the manifest is missing, unreadable or
        names another bundle or root
    """
    tree = active_tree(layout)
    if tree is None:
        return

    try:
        manifest = read_manifest(tree / MANIFEST_NAME)
    except (OSError, ValueError) as exc:
        raise InstallStateError(
            root=str(layout.root),
            reason=f"install manifest cannot be read: {exc}",
            hint="remove the directory by hand if it is not needed",
        ) from exc
    if manifest.bundle_id != layout.bundle_id or manifest.root != str(layout.root):
        reason = "install manifest does not match the scoped bundle root"
        raise InstallStateError(root=str(layout.root), reason=reason)


def _remove_root(layout: BundleLayout) -> bool:
    remove_leftovers(layout)
    tree = active_tree(layout)
    if tree is None:
        return False

    check_replaceable(layout)
    try:
        layout.staging_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        doomed = Path(
            tempfile.mkdtemp(
                prefix=f"{layout.bundle_id}{RUN_SEPARATOR}", dir=layout.staging_dir
            )
        )
        # Renaming the root away is the one step readers can observe; the
        # slow removal then happens out of sight.
        os.rename(layout.root, doomed / "root")
        if tree != layout.root:
            os.rename(tree, doomed / "tree")
        remove_tree(doomed)
    except OSError as exc:
        path = str(layout.root)
        raise InstallIOError(action="uninstall", path=path, reason=str(exc)) from exc

    return True
