"""
Install manifest and lifecycle results (JSON as the Go installer writes them).

The manifest keeps the Go installer's fields and ``file_digests`` (a symlink's value is
the SHA-256 of ``symlink:<target>``) and adds ``file_modes`` and ``symlinks``,
so that a doctor can tell a changed link target from a changed file.
"""

from __future__ import annotations

import hashlib
import os
import stat
from datetime import datetime
from typing import TYPE_CHECKING

import attrs

from .. import _converter, _gojson
from .._wire import PROTOCOL_VERSION
from ._extract import TreeRecord, check_symlink_target, symlink_digest

if TYPE_CHECKING:
    from pathlib import Path

    from .._wire import ManagedRuntimeBundleDescriptor
    from ._layout import BundleLayout
    from ._verify import SignatureVerdict

MANIFEST_NAME = "wfcompute-managed-runtime-install.json"
GO_MAP = {"go_map": True}
GO_MAP_OMIT_EMPTY = {"go_map": True, "omit": "empty"}
OMIT_EMPTY = {"omit": "empty"}
OMIT_ZERO = {"omit": "zero"}


@attrs.frozen(kw_only=True)
class InstallManifest:
    """
    Record of one install, stored as ``wfcompute-managed-runtime-install.json``.

    ``root`` and ``command_path`` are the final paths, never staging paths.
    ``file_digests`` never lists the manifest itself.
    """

    protocol_version: str = PROTOCOL_VERSION
    bundle_id: str
    version: str
    os: str
    arch: str
    root: str
    command_path: str
    artifact_name: str
    artifact_digest: str
    checksum_name: str
    checksum_digest: str
    signature_name: str
    signature_digest: str
    signature_key_id: str
    trust_root_digest: str
    scoped_store_enforced: bool
    host_global_store_excluded: bool
    file_digests: dict[str, str] = attrs.field(metadata=GO_MAP)
    installed_at: datetime
    file_modes: dict[str, int] = attrs.field(factory=dict, metadata=GO_MAP_OMIT_EMPTY)
    symlinks: dict[str, str] = attrs.field(factory=dict, metadata=GO_MAP_OMIT_EMPTY)
    signer_fingerprint: str = attrs.field(default="", metadata=OMIT_EMPTY)


@attrs.frozen(kw_only=True)
class InstallResult:
    """Outcome of an install: the Go installer's fields first, then additions."""

    bundle_id: str
    version: str
    root: str
    command_path: str
    manifest_path: str
    artifact_digest: str
    checksum_digest: str
    signature_digest: str
    trust_root_digest: str
    scoped_store_enforced: bool
    host_global_store_excluded: bool
    file_digests: dict[str, str] = attrs.field(metadata=GO_MAP)
    installed_at: datetime
    signer_fingerprint: str = attrs.field(default="", metadata=OMIT_EMPTY)
    promotion: str = attrs.field(default="", metadata=OMIT_EMPTY)


@attrs.frozen(kw_only=True)
class DoctorResult:
    """
    Health of one installed bundle: ``ok``, ``missing`` or ``degraded``.

    ``reason`` describes what is wrong when the status is not ``ok``; ``warnings``
    hold problems that do not degrade the install yet, such as a catalog
    entry close to its ``valid_until``.
    """

    status: str
    bundle_id: str
    version: str = attrs.field(default="", metadata=OMIT_EMPTY)
    root: str = attrs.field(default="", metadata=OMIT_EMPTY)
    command_path: str = attrs.field(default="", metadata=OMIT_EMPTY)
    manifest_path: str = attrs.field(default="", metadata=OMIT_EMPTY)
    artifact_digest: str = attrs.field(default="", metadata=OMIT_EMPTY)
    signature_digest: str = attrs.field(default="", metadata=OMIT_EMPTY)
    scoped_store_enforced: bool = attrs.field(default=False, metadata=OMIT_EMPTY)
    host_global_store_excluded: bool = attrs.field(default=False, metadata=OMIT_EMPTY)
    reason: str = attrs.field(default="", metadata=OMIT_EMPTY)
    valid_until: datetime | None = attrs.field(default=None, metadata=OMIT_ZERO)
    warnings: tuple[str, ...] = attrs.field(default=(), metadata=OMIT_EMPTY)


@attrs.frozen(kw_only=True)
class UninstallResult:
    """Outcome of an uninstall; ``scoped_only`` is always true."""

    bundle_id: str
    root: str
    removed: bool
    scoped_only: bool = True
    manifest_path: str


@attrs.frozen(kw_only=True)
class ReinstallResult:
    """
    Outcome of a reinstall.

    ``uninstall`` records only whether an install was replaced: a reinstall
    installs over the existing root and never removes it first.
    """

    uninstall: UninstallResult
    install: InstallResult
    doctor: DoctorResult


def encode_manifest(manifest: InstallManifest) -> bytes:
    """Return the manifest file's bytes: two-space indented JSON and a newline."""
    return (_gojson.dumps(manifest, indent=True) + "\n").encode()


def decode_manifest(data: bytes) -> InstallManifest:
    """
    Parse manifest bytes.

    :raises DocumentError: listing every fault with its JSON path
    """
    return _converter.structure_json(data, InstallManifest, document="install manifest")


def read_manifest(path: Path) -> InstallManifest:
    """
    Read and parse the manifest at ``path`` without following a symlink.

    :raises OSError: when the file cannot be opened or read
    :raises DocumentError: when it is not a valid manifest
    """
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
    with os.fdopen(fd, "rb") as file:
        return decode_manifest(file.read())


def write_manifest(path: Path, manifest: InstallManifest) -> None:
    """Write the manifest with mode 0600 and flush it to disk."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
    fd = os.open(path, flags, 0o600)
    with os.fdopen(fd, "wb") as file:
        file.write(encode_manifest(manifest))
        file.flush()
        os.fsync(file.fileno())


def scan_tree(root: Path) -> TreeRecord:
    """
    Hash every regular file and symlink under ``root``, without following links.

    The top-level manifest file is skipped.

    :raises ValueError: when the tree contains a device, FIFO or socket, or a
        symlink whose target is absolute or leaves the root
    """
    digests: dict[str, str] = {}
    modes: dict[str, int] = {}
    links: dict[str, str] = {}
    for rel, info in _walk(root, ""):
        if stat.S_ISLNK(info.st_mode):
            target = os.readlink(root / rel)
            check_symlink_target(rel, target)
            links[rel] = target
            digests[rel] = symlink_digest(target)
        elif stat.S_ISREG(info.st_mode):
            digests[rel] = hash_file(root / rel)
            modes[rel] = stat.S_IMODE(info.st_mode)
        else:
            msg = f"{rel!r} is not a regular file, directory or symlink"
            raise ValueError(msg)

    return TreeRecord(file_digests=digests, file_modes=modes, symlinks=links)


def _walk(root: Path, prefix: str) -> list[tuple[str, os.stat_result]]:
    found: list[tuple[str, os.stat_result]] = []
    with os.scandir(root / prefix if prefix else root) as entries:
        ordered = sorted(entries, key=lambda entry: entry.name)
    for entry in ordered:
        rel = f"{prefix}{entry.name}"
        if rel == MANIFEST_NAME:
            continue
        info = entry.stat(follow_symlinks=False)
        if stat.S_ISDIR(info.st_mode):
            found.extend(_walk(root, rel + "/"))
        else:
            found.append((rel, info))

    return found


def hash_file(path: Path) -> str:
    """Return ``sha256:<hex>`` of the file at ``path``, refusing a symlink."""
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
    with os.fdopen(fd, "rb") as file:
        return "sha256:" + hashlib.file_digest(file, "sha256").hexdigest()


def find_drift(manifest: InstallManifest, actual: TreeRecord) -> str | None:
    """
    Return the first difference between the manifest and the tree, or ``None``.

    The reason names the file: a missing or unexpected path, a changed digest
    (for a symlink, its old and new target) or a changed mode.
    """
    expected = manifest.file_digests
    if not expected:
        return "install manifest has no file digests"

    for rel in sorted(expected.keys() | actual.file_digests.keys()):
        if rel not in actual.file_digests:
            return f"file {rel!r} listed in the install manifest is missing"
        if rel not in expected:
            return f"file {rel!r} is not listed in the install manifest"
        if expected[rel] != actual.file_digests[rel]:
            return _digest_reason(manifest, actual, rel)
        want_mode = manifest.file_modes.get(rel)
        have_mode = actual.file_modes.get(rel)
        if want_mode is not None and want_mode != have_mode:
            return _mode_reason(rel, want_mode, have_mode)

    return None


def _digest_reason(manifest: InstallManifest, actual: TreeRecord, rel: str) -> str:
    want_link = manifest.symlinks.get(rel)
    have_link = actual.symlinks.get(rel)
    if want_link is not None or have_link is not None:
        return (
            f"file digest mismatch for {rel!r}: symlink target is {have_link!r}, "
            f"expected {want_link!r}"
        )

    return f"file digest mismatch for {rel!r}"


def _mode_reason(rel: str, want: int, have: int | None) -> str:
    found = "not a regular file" if have is None else oct(have)
    return f"file mode mismatch for {rel!r}: expected {oct(want)}, found {found}"


def build_manifest(
    layout: BundleLayout,
    bundle: ManagedRuntimeBundleDescriptor,
    tree: TreeRecord,
    verdict: SignatureVerdict,
    now: datetime,
) -> InstallManifest:
    """Return the manifest of ``tree``, installed from ``bundle`` at ``now``."""
    return InstallManifest(
        bundle_id=bundle.bundle_id,
        version=bundle.version,
        os=bundle.os,
        arch=bundle.arch,
        root=str(layout.root),
        command_path=str(layout.command_path),
        artifact_name=bundle.artifact_name,
        artifact_digest=bundle.artifact_digest,
        checksum_name=bundle.checksum_name,
        checksum_digest=bundle.checksum_digest,
        signature_name=bundle.signature_name,
        signature_digest=bundle.signature_digest,
        signature_key_id=verdict.key_id,
        trust_root_digest=bundle.trust_root_digest,
        scoped_store_enforced=bundle.scoped_store.required,
        host_global_store_excluded=bundle.scoped_store.host_global_visibility_forbidden,
        file_digests=tree.file_digests,
        installed_at=now,
        file_modes=tree.file_modes,
        symlinks=tree.symlinks,
        signer_fingerprint=verdict.fingerprint,
    )


def install_result(
    layout: BundleLayout, manifest: InstallManifest, *, promotion: str = ""
) -> InstallResult:
    """Return the install result that describes ``manifest``."""
    return InstallResult(
        bundle_id=manifest.bundle_id,
        version=manifest.version,
        root=str(layout.root),
        command_path=str(layout.command_path),
        manifest_path=str(layout.manifest_path),
        artifact_digest=manifest.artifact_digest,
        checksum_digest=manifest.checksum_digest,
        signature_digest=manifest.signature_digest,
        trust_root_digest=manifest.trust_root_digest,
        scoped_store_enforced=manifest.scoped_store_enforced,
        host_global_store_excluded=manifest.host_global_store_excluded,
        file_digests=manifest.file_digests,
        installed_at=manifest.installed_at,
        signer_fingerprint=manifest.signer_fingerprint,
        promotion=promotion,
    )
