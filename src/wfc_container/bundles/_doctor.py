"""
Doctor: judge an installed bundle ``ok``, ``missing`` or ``degraded``, with a reason.

The doctor never raises for a broken install or a catalog that no longer
allows the bundle: every such finding becomes a status and a reason that
names the field, file or command at fault.
"""

from __future__ import annotations

import functools
import logging
import os
import re
import stat
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import anyio
import anyio.to_thread
import attrs

from .._errors import DocumentError
from ._catalog import days_until_expiry, select_bundle
from ._errors import CatalogPolicyError, InstallRootError
from ._layout import BundleLayout, active_tree, bundle_layout
from ._manifest import (
    MANIFEST_NAME,
    DoctorResult,
    InstallManifest,
    find_drift,
    read_manifest,
    scan_tree,
)

if TYPE_CHECKING:
    from .._wire import ManagedRuntimeBundleDescriptor
    from ._catalog import ManagedRuntimeBundleCatalog

logger = logging.getLogger("wfc_container.bundles")

OK = "ok"
MISSING = "missing"
DEGRADED = "degraded"
CNI_DIR = "libexec/cni/"
_VERSION_LINE = re.compile(r"nerdctl version v?(\S+)")
# Manifest fields that must equal the catalog's pinned values.
_PINNED_FIELDS = (
    "bundle_id",
    "version",
    "os",
    "arch",
    "artifact_digest",
    "checksum_digest",
    "signature_digest",
    "trust_root_digest",
)


@attrs.frozen(kw_only=True)
class Inspection:
    """Result of the file-level checks: status, reason and what was read."""

    status: str
    reason: str = ""
    manifest: InstallManifest | None = None
    tree: Path | None = None


async def doctor_bundle(
    catalog: ManagedRuntimeBundleCatalog,
    bundle_id: str,
    install_root: str | os.PathLike[str],
    *,
    target_os: str,
    target_arch: str,
    now: datetime | None = None,
    warn_days: int = 30,
    timeout: float | None = 30.0,
) -> DoctorResult:
    """
    Check the installed bundle against its manifest and the catalog.

    A requested target other than the bundle's os/arch makes the status
    ``degraded`` with a reason naming both, even when nothing is installed.
    Otherwise the checks run in order, with the first failure deciding: the
    catalog still allows the bundle; the manifest matches the pinned metadata
    and the scoped paths; ``bin/nerdctl`` is an executable regular file; every
    file digest, mode and symlink target matches the manifest and no file was
    added; the CNI directory contains the shipped plugins; every symlink
    resolves; ``bin/nerdctl --version`` reports the manifest's version.

    :param now: the time for catalog policy checks (default: the current time)
    :param warn_days: warn when the catalog entry expires within this many days
    :param timeout: limit in seconds for ``bin/nerdctl --version`` (default 30)
    :returns: the result; it is never an exception for a broken install
    """
    now = (now or datetime.now(UTC)).astimezone(UTC)
    try:
        layout = bundle_layout(install_root, bundle_id)
    except InstallRootError as exc:
        return DoctorResult(status=DEGRADED, bundle_id=bundle_id, reason=str(exc))

    pinned = _find_descriptor(catalog, bundle_id)
    target_reason = _target_reason(pinned, target_os, target_arch)
    policy_reason = _policy_reason(catalog, bundle_id, target_os, target_arch, now)
    inspection = await anyio.to_thread.run_sync(
        functools.partial(inspect_stable, layout, pinned)
    )
    if inspection.status == OK and inspection.tree is not None:
        inspection = await _check_version(inspection, inspection.tree, timeout)
    if target_reason:
        inspection = attrs.evolve(inspection, status=DEGRADED, reason=target_reason)
    elif inspection.status == OK and policy_reason:
        inspection = attrs.evolve(inspection, status=DEGRADED, reason=policy_reason)

    result = doctor_result(layout, inspection, pinned, now, warn_days=warn_days)
    logger.info("bundle.doctor.done bundle=%s status=%s", bundle_id, result.status)
    return result


def _find_descriptor(
    catalog: ManagedRuntimeBundleCatalog, bundle_id: str
) -> ManagedRuntimeBundleDescriptor | None:
    for bundle in catalog.bundles or ():
        if bundle.bundle_id == bundle_id:
            return bundle

    return None


def _target_reason(
    pinned: ManagedRuntimeBundleDescriptor | None, target_os: str, target_arch: str
) -> str:
    if pinned is None:
        return ""

    requested = f"{target_os.strip()}/{target_arch.strip()}"
    built = f"{pinned.os}/{pinned.arch}"
    if requested == built:
        return ""

    return f"target {requested} does not match the bundle's os/arch {built}"


def _policy_reason(
    catalog: ManagedRuntimeBundleCatalog,
    bundle_id: str,
    target_os: str,
    target_arch: str,
    now: datetime,
) -> str:
    try:
        select_bundle(
            catalog, bundle_id, target_os=target_os, target_arch=target_arch, now=now
        )
    except CatalogPolicyError as exc:
        return f"catalog policy failure: {exc}"

    return ""


def inspect_stable(
    layout: BundleLayout, pinned: ManagedRuntimeBundleDescriptor | None
) -> Inspection:
    """
    Run :func:`inspect_install`, again if the root was replaced meanwhile.

    The doctor takes no lock, so an install may promote a new tree while the
    files are hashed; a changed root inode means the first result mixed the
    two trees.
    """
    before = _root_identity(layout)
    inspection = inspect_install(layout, pinned)
    if _root_identity(layout) == before:
        return inspection

    return inspect_install(layout, pinned)


def _root_identity(layout: BundleLayout) -> tuple[int, int] | None:
    try:
        info = os.stat(layout.root)
    except OSError:
        return None

    return (info.st_dev, info.st_ino)


def inspect_install(
    layout: BundleLayout, pinned: ManagedRuntimeBundleDescriptor | None
) -> Inspection:
    """
    Check the installed files against the manifest and ``pinned``; blocking.

    Does not run the bundle's command; :func:`doctor_bundle` adds that.
    """
    try:
        tree = active_tree(layout)
    except InstallRootError as exc:
        return Inspection(status=DEGRADED, reason=str(exc))
    if tree is None:
        return Inspection(status=MISSING, reason="bundle root is missing")

    try:
        manifest = read_manifest(tree / MANIFEST_NAME)
    except FileNotFoundError:
        return Inspection(status=MISSING, reason="install manifest is missing")
    except (OSError, DocumentError) as exc:
        reason = f"install manifest cannot be read: {exc}"
        return Inspection(status=DEGRADED, reason=reason)

    status, reason = _check_manifest(layout, manifest, pinned)
    if status == OK:
        status, reason = _check_tree(tree, manifest)
    return Inspection(status=status, reason=reason, manifest=manifest, tree=tree)


def _check_manifest(
    layout: BundleLayout,
    manifest: InstallManifest,
    pinned: ManagedRuntimeBundleDescriptor | None,
) -> tuple[str, str]:
    if pinned is None:
        return DEGRADED, f"catalog has no bundle {layout.bundle_id!r}"
    for name in _PINNED_FIELDS:
        if getattr(manifest, name) != getattr(pinned, name):
            reason = f"install manifest {name} does not match the pinned bundle"
            return DEGRADED, reason
    if manifest.root != str(layout.root) or manifest.command_path != str(
        layout.command_path
    ):
        return DEGRADED, "install manifest path scope does not match scoped root"
    if not (manifest.scoped_store_enforced and manifest.host_global_store_excluded):
        return DEGRADED, "scoped store policy is not enforced"

    return OK, ""


def _check_tree(tree: Path, manifest: InstallManifest) -> tuple[str, str]:
    status, reason = _check_command(tree)
    if status != OK:
        return status, reason

    try:
        actual = scan_tree(tree)
    except (OSError, ValueError) as exc:
        return DEGRADED, f"installed tree cannot be scanned: {exc}"
    drift = (
        find_drift(manifest, actual)
        or _check_cni(manifest)
        or _check_links(tree, manifest)
    )
    return (DEGRADED, drift) if drift else (OK, "")


def _check_command(tree: Path) -> tuple[str, str]:
    for rel in ("bin", "bin/nerdctl"):
        try:
            info = os.lstat(tree / rel)
        except FileNotFoundError:
            return MISSING, f"bundle command path {rel!r} is missing"
        except OSError as exc:
            return DEGRADED, f"bundle command path {rel!r}: {exc.strerror}"
        if stat.S_ISLNK(info.st_mode):
            return DEGRADED, f"bundle command path {rel!r} is a symlink"

    if not stat.S_ISREG(info.st_mode) or not info.st_mode & stat.S_IXUSR:
        return DEGRADED, "bundle command 'bin/nerdctl' is not an executable file"
    return OK, ""


def _check_cni(manifest: InstallManifest) -> str | None:
    # nerdctl finds no plugins unless CNI_PATH names this directory, so the
    # bundle must have shipped them there; the digest check proves they remain.
    plugins = [
        rel
        for rel, mode in manifest.file_modes.items()
        if rel.startswith(CNI_DIR) and "/" not in rel[len(CNI_DIR) :] and mode & 0o100
    ]
    if manifest.file_modes and not plugins:
        return f"bundle ships no executable CNI plugins in {CNI_DIR!r}"

    return None


def _check_links(tree: Path, manifest: InstallManifest) -> str | None:
    for rel, target in manifest.symlinks.items():
        if not os.path.exists(tree / rel):
            return f"symlink {rel!r} target {target!r} does not exist"

    return None


async def _check_version(
    inspection: Inspection, tree: Path, timeout: float | None
) -> Inspection:
    assert inspection.manifest is not None
    command = str(tree / "bin" / "nerdctl")
    try:
        with anyio.fail_after(timeout):
            done = await anyio.run_process([command, "--version"], check=False)
    except (OSError, TimeoutError) as exc:
        reason = f"bin/nerdctl --version failed: {exc or 'timed out'}"
        return attrs.evolve(inspection, status=DEGRADED, reason=reason)

    output = done.stdout.decode(errors="replace")
    match = _VERSION_LINE.search(output)
    want = inspection.manifest.version.removeprefix("v")
    if done.returncode != 0 or match is None:
        reason = f"bin/nerdctl --version exited {done.returncode} without a version"
        return attrs.evolve(inspection, status=DEGRADED, reason=reason)
    if match.group(1) != want:
        reason = (
            f"bin/nerdctl --version reports {match.group(1)!r}, "
            f"the install manifest says {want!r}"
        )
        return attrs.evolve(inspection, status=DEGRADED, reason=reason)

    return inspection


def doctor_result(
    layout: BundleLayout,
    inspection: Inspection,
    pinned: ManagedRuntimeBundleDescriptor | None,
    now: datetime,
    *,
    warn_days: int,
) -> DoctorResult:
    """Return the doctor result for ``inspection``, with expiry warnings."""
    manifest = inspection.manifest
    warnings: list[str] = []
    days = None if pinned is None else days_until_expiry(pinned, now)
    if days is not None and 0 <= days <= warn_days:
        warnings.append(f"catalog entry expires in {days} days")

    return DoctorResult(
        status=inspection.status,
        bundle_id=layout.bundle_id,
        version=manifest.version if manifest else "",
        root=str(layout.root),
        command_path=str(layout.command_path) if manifest else "",
        manifest_path=str(layout.manifest_path),
        artifact_digest=manifest.artifact_digest if manifest else "",
        signature_digest=manifest.signature_digest if manifest else "",
        scoped_store_enforced=bool(manifest and manifest.scoped_store_enforced),
        host_global_store_excluded=bool(
            manifest and manifest.host_global_store_excluded
        ),
        reason=inspection.reason,
        valid_until=None if pinned is None else pinned.valid_until,
        warnings=tuple(warnings),
    )
