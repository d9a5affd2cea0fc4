"""
Install and reinstall a managed runtime bundle: the whole trust order in one place.

:func:`install_bundle` reads top to bottom in the order trust is built. It
selects the bundle by catalog policy, fetches the small pinned objects (trust
roots, ``SHA256SUMS``, ``SHA256SUMS.asc``) and checks their digests, then
verifies the signature and checks that the signed checksum file pins the
artifact. Only then does it stream the artifact into staging (digest checked
as it arrives), extract it, write the manifest, and promote the new tree in
one atomic step.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import os
import stat
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import anyio
import anyio.to_thread
import attrs

from ._catalog import ManagedRuntimeBundleCatalog, select_bundle
from ._checksums import pinned_digest
from ._doctor import doctor_bundle
from ._download import BundleFetcher, ProgressHook
from ._errors import (
    ChecksumError,
    InstallIOError,
    InstallStateError,
    InstallTimeoutError,
)
from ._extract import ExtractLimits, TreeRecord
from ._follow import download_and_extract
from ._layout import (
    BundleLayout,
    bundle_layout,
    hold_bundle_lock,
    make_stage,
    promote,
    remove_leftovers,
    remove_tree,
)
from ._manifest import (
    MANIFEST_NAME,
    InstallManifest,
    InstallResult,
    ReinstallResult,
    UninstallResult,
    build_manifest,
    install_result,
    write_manifest,
)
from ._uninstall import check_replaceable
from ._verify import PinnedCertificate, verify_signature

if TYPE_CHECKING:
    from collections.abc import AsyncIterator
    from pathlib import Path

    from .._wire import ManagedRuntimeBundleDescriptor
    from ._catalog import BundleSelection
    from ._verify import SignatureVerdict

logger = logging.getLogger("wfc_container.bundles")

ARTIFACT_FILE = "artifact.tar.gz"
TREE_DIR = "tree"


@attrs.frozen(kw_only=True)
class InstallOptions:
    """
    Limits and sources of an install.

    ``max_artifact_bytes`` stops the artifact download once exceeded (default
    512 MiB, the original installer's limit); ``max_object_bytes`` does the
    same for trust roots and checksum and signature files (default 1 MiB).
    ``mirrors`` are base URLs tried, in order, before the catalog's
    ``source_base_url``. ``lock_timeout`` is how long to wait, in seconds, for
    another install or uninstall of the same bundle (default 0: fail at once).
    ``promotion`` ``"symlink"`` makes a new bundle root a symlink switched with
    ``rename(2)``, for filesystems that reject ``RENAME_EXCHANGE``; the default
    ``"auto"`` uses ``renameat2`` where the system has it.
    """

    max_artifact_bytes: int = 512 << 20
    max_object_bytes: int = 1 << 20
    limits: ExtractLimits = attrs.field(factory=ExtractLimits)
    mirrors: tuple[str, ...] = ()
    lock_timeout: float = 0.0
    promotion: str = attrs.field(
        default="auto", validator=attrs.validators.in_(("auto", "symlink"))
    )


async def install_bundle(
    catalog: ManagedRuntimeBundleCatalog,
    bundle_id: str,
    install_root: str | os.PathLike[str],
    *,
    target_os: str,
    target_arch: str,
    options: InstallOptions | None = None,
    fetcher: BundleFetcher | None = None,
    progress: ProgressHook | None = None,
    now: datetime | None = None,
    timeout: float | None = None,
) -> InstallResult:
    """
    Install ``bundle_id`` from ``catalog`` under ``install_root``, verified.

    The previous install, if any, stays untouched until the new tree replaces
    it in one atomic step. A failure or cancellation at any point removes this
    run's staging directory and leaves the previous install as it was.

    :param fetcher: an open fetcher to reuse; by default one is opened and
        closed here (aiohttp, asyncio backend only)
    :param progress: receives artifact download progress
    :param now: the time used for catalog policy and signature checks
        (default: the current time)
    :param timeout: limit in seconds for the whole install (default: none)
    :raises CatalogPolicyError: when the catalog does not allow the bundle
    :raises InstallRootError: when the install root or bundle id is unsafe
    :raises BundleLockedError: when another process holds the bundle's lock
    :raises InstallStateError: when the bundle root exists but is not a
        managed install of this bundle
    :raises DownloadError: when an object cannot be fetched from any source
    :raises SignatureError: when no allowed signer signed the checksum file
    :raises ChecksumError: when the checksum file does not pin the artifact
    :raises UnsafeArchiveError: when the artifact breaks the extraction rules
    :raises InstallTimeoutError: when ``timeout`` expires
    """
    request = _Request(
        catalog=catalog,
        options=options or InstallOptions(),
        progress=progress,
        now=(now or datetime.now(UTC)).astimezone(UTC),
    )
    try:
        with anyio.fail_after(timeout):
            selection = select_bundle(
                catalog,
                bundle_id,
                target_os=target_os,
                target_arch=target_arch,
                now=request.now,
            )
            layout = bundle_layout(install_root, bundle_id)
            async with _open_fetcher(fetcher) as source:
                return await _install_selected(request, selection, layout, source)
    except TimeoutError as exc:
        raise InstallTimeoutError(bundle_id=bundle_id, timeout=timeout) from exc


@attrs.frozen(kw_only=True)
class _Request:
    catalog: ManagedRuntimeBundleCatalog
    options: InstallOptions
    progress: ProgressHook | None
    now: datetime


async def _install_selected(
    request: _Request,
    selection: BundleSelection,
    layout: BundleLayout,
    source: BundleFetcher,
) -> InstallResult:
    """Run the trust pipeline for a selected bundle, in order, under the lock."""
    bundle = selection.bundle
    options = request.options
    async with hold_bundle_lock(layout, timeout=options.lock_timeout):
        remove_leftovers(layout)
        check_replaceable(layout)
        certificates = await _fetch_trust_roots(request, selection, source)
        checksums = await _fetch_pinned(request, source, bundle, "checksum")
        signature = await _fetch_pinned(request, source, bundle, "signature")
        verdict = await _verify(checksums, signature, certificates, request.now)
        check_artifact_pin(checksums, bundle)
        stage = make_stage(layout)
        try:
            tree = await _download_and_extract(request, source, bundle, stage)
            check_command(stage / TREE_DIR)
            manifest = build_manifest(layout, bundle, tree, verdict, request.now)
            _write_manifest(stage / TREE_DIR / MANIFEST_NAME, manifest)
            method = promote(layout, stage / TREE_DIR, method=options.promotion)
        finally:
            with anyio.CancelScope(shield=True):
                await anyio.to_thread.run_sync(_remove_stage, stage)

    logger.info("bundle.install.done bundle=%s promotion=%s", layout.bundle_id, method)
    return install_result(layout, manifest, promotion=method)


@contextlib.asynccontextmanager
async def _open_fetcher(fetcher: BundleFetcher | None) -> AsyncIterator[BundleFetcher]:
    if fetcher is not None:
        yield fetcher
        return

    async with BundleFetcher() as owned:
        yield owned


async def _fetch_trust_roots(
    request: _Request, selection: BundleSelection, source: BundleFetcher
) -> list[PinnedCertificate]:
    certificates = []
    for signer in selection.signers:
        root = signer.trust_root
        urls = [root.url] if root.url.strip() else _object_urls(request, root.name)
        data = await source.fetch_object(
            urls,
            name=root.name,
            expected_digest=root.digest,
            max_bytes=request.options.max_object_bytes,
            timeout=None,
        )
        certificates.append(PinnedCertificate(key_id=signer.key_id, certificate=data))

    return certificates


async def _fetch_pinned(
    request: _Request,
    source: BundleFetcher,
    bundle: ManagedRuntimeBundleDescriptor,
    kind: str,
) -> bytes:
    """Fetch the bundle's checksum or signature file and check its pinned digest."""
    name = bundle.checksum_name if kind == "checksum" else bundle.signature_name
    digest = bundle.checksum_digest if kind == "checksum" else bundle.signature_digest
    return await source.fetch_object(
        _object_urls(request, name),
        name=name,
        expected_digest=digest,
        max_bytes=request.options.max_object_bytes,
        timeout=None,
    )


async def _verify(
    checksums: bytes,
    signature: bytes,
    certificates: list[PinnedCertificate],
    now: datetime,
) -> SignatureVerdict:
    verify = functools.partial(
        verify_signature, checksums, signature, certificates, now=now
    )
    return await anyio.to_thread.run_sync(verify)


async def _download_and_extract(
    request: _Request,
    source: BundleFetcher,
    bundle: ManagedRuntimeBundleDescriptor,
    stage: Path,
) -> TreeRecord:
    options = request.options
    return await download_and_extract(
        source,
        _object_urls(request, bundle.artifact_name),
        name=bundle.artifact_name,
        expected_digest=bundle.artifact_digest,
        max_bytes=options.max_artifact_bytes,
        artifact=stage / ARTIFACT_FILE,
        tree=stage / TREE_DIR,
        limits=options.limits,
        progress=request.progress,
    )


def _object_urls(request: _Request, name: str) -> list[str]:
    bases = [*request.options.mirrors, request.catalog.source_base_url]
    return [f"{base.strip().rstrip('/')}/{name}" for base in bases if base.strip()]


def check_artifact_pin(
    checksums: bytes, bundle: ManagedRuntimeBundleDescriptor
) -> None:
    """
    Check that the signed checksum file pins the catalog's artifact digest.

    :raises ChecksumError: when it pins another digest, or none
    """
    pinned = pinned_digest(checksums, bundle.artifact_name)
    if pinned != bundle.artifact_digest:
        problem = f"it pins {pinned!r}, the catalog pins {bundle.artifact_digest!r}"
        raise ChecksumError(artifact_name=bundle.artifact_name, problem=problem)


def _write_manifest(path: Path, manifest: InstallManifest) -> None:
    try:
        write_manifest(path, manifest)
    except OSError as exc:
        raise InstallIOError(
            action="write manifest", path=str(path), reason=str(exc)
        ) from exc


def _remove_stage(stage: Path) -> None:
    # A failed cleanup must not hide the install's own outcome; the next run
    # removes what is left.
    try:
        remove_tree(stage)
    except OSError as exc:
        logger.warning("bundle.stage.cleanup_failed path=%s error=%s", stage, exc)


def check_command(tree: Path) -> None:
    """
    Check that ``bin/nerdctl`` is an executable regular file, reached without links.

    :raises InstallStateError: when it is missing, a link, or not executable
    """
    path = tree / "bin" / "nerdctl"
    try:
        bin_info = os.lstat(tree / "bin")
        info = os.lstat(path)
    except OSError as exc:
        reason = f"bundle command bin/nerdctl is missing: {exc.strerror}"
        raise InstallStateError(root=str(tree), reason=reason) from exc
    if not stat.S_ISDIR(bin_info.st_mode) or not stat.S_ISREG(info.st_mode):
        reason = "bundle command bin/nerdctl is not a regular file in a directory"
        raise InstallStateError(root=str(tree), reason=reason)
    if not info.st_mode & stat.S_IXUSR:
        reason = "bundle command bin/nerdctl is not executable"
        raise InstallStateError(root=str(tree), reason=reason)


async def reinstall_bundle(
    catalog: ManagedRuntimeBundleCatalog,
    bundle_id: str,
    install_root: str | os.PathLike[str],
    *,
    target_os: str,
    target_arch: str,
    options: InstallOptions | None = None,
    fetcher: BundleFetcher | None = None,
    progress: ProgressHook | None = None,
    now: datetime | None = None,
    timeout: float | None = None,
) -> ReinstallResult:
    """
    Install over the existing bundle root without removing it first, then run doctor.

    Takes the same arguments and raises the same errors as
    :func:`install_bundle`; a failed reinstall leaves the previous install
    untouched. ``timeout`` (seconds, default none) covers the install and
    the doctor run.
    """
    layout = bundle_layout(install_root, bundle_id)
    replaced = await anyio.to_thread.run_sync(os.path.lexists, layout.root)
    with anyio.fail_after(timeout):
        installed = await install_bundle(
            catalog,
            bundle_id,
            install_root,
            target_os=target_os,
            target_arch=target_arch,
            options=options,
            fetcher=fetcher,
            progress=progress,
            now=now,
        )
        doctor = await doctor_bundle(
            catalog,
            bundle_id,
            install_root,
            target_os=target_os,
            target_arch=target_arch,
            now=now,
        )
    uninstall = UninstallResult(
        bundle_id=bundle_id,
        root=installed.root,
        removed=replaced,
        manifest_path=installed.manifest_path,
    )
    return ReinstallResult(uninstall=uninstall, install=installed, doctor=doctor)
