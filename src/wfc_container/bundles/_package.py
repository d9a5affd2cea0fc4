"""
Release packaging: re-verify a bundle's upstream objects and refresh its catalog.

This replaces the original ``package-managed-runtime-bundle.sh``. It fetches
the trust roots, ``SHA256SUMS`` and ``SHA256SUMS.asc`` and checks their pinned
digests and the signature. It then checks that ``SHA256SUMS`` pins the
artifact, and writes a source manifest (with its SHA-256 beside it) and a
catalog whose entry is valid for a new period.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import anyio
import anyio.to_thread
import attrs

from .. import _gojson
from ._catalog import object_url, select_bundle
from ._download import BundleFetcher
from ._install import check_artifact_pin
from ._verify import PinnedCertificate, verify_signature

if TYPE_CHECKING:
    import os

    from ._catalog import BundleSelection, ManagedRuntimeBundleCatalog
    from ._verify import SignatureVerdict

CATALOG_NAME = "managed-runtime-bundles.json"
MAX_OBJECT_BYTES = 1 << 20


@attrs.frozen(kw_only=True)
class SourceObject:
    """One upstream object of a bundle: its kind, file name, URL and digest."""

    kind: str
    name: str
    url: str
    digest: str


@attrs.frozen(kw_only=True)
class SourceManifest:
    """Source URL and digest of each object of a bundle, verified at packaging time."""

    bundle_id: str
    generated_at: datetime
    signer_fingerprint: str
    objects: tuple[SourceObject, ...]


@attrs.frozen(kw_only=True)
class PackageResult:
    """Files the packaging command wrote, with the source manifest's digest."""

    bundle_id: str
    source_manifest_path: str
    source_manifest_digest: str
    catalog_path: str
    valid_until: datetime


async def package_bundle(
    catalog: ManagedRuntimeBundleCatalog,
    bundle_id: str,
    output_dir: str | os.PathLike[str],
    *,
    target_os: str,
    target_arch: str,
    mirrors: tuple[str, ...] = (),
    valid_days: int = 180,
    now: datetime | None = None,
    timeout: float | None = 300.0,
) -> PackageResult:
    """
    Re-verify ``bundle_id``'s upstream objects and write packaging outputs.

    Writes ``<bundle_id>.source.json``, ``<bundle_id>.source.json.sha256``
    and a refreshed ``managed-runtime-bundles.json`` into ``output_dir``.
    The refreshed entry must pass catalog policy at ``now``, so an expired
    catalog can be renewed but a blocked version or revoked key cannot.

    :param mirrors: base URLs tried before the catalog's source
    :param valid_days: days from ``now`` until the refreshed ``valid_until``
    :param timeout: limit in seconds for fetching and verifying (default 300)
    :raises CatalogPolicyError: when the catalog does not allow the bundle
    :raises DownloadError: when an object cannot be fetched from any source
    :raises SignatureError: when no allowed signer signed the checksum file
    :raises ChecksumError: when the checksum file does not pin the artifact
    """
    now = (now or datetime.now(UTC)).astimezone(UTC)
    # The refreshed entry is judged, so an expired catalog can be renewed while
    # every other policy rule (blocked versions, revoked keys, pins) still applies.
    refreshed = _refresh(catalog, bundle_id, now + timedelta(days=valid_days), now)
    selection = select_bundle(
        refreshed, bundle_id, target_os=target_os, target_arch=target_arch, now=now
    )
    bases = [*mirrors, catalog.source_base_url]
    with anyio.fail_after(timeout):
        async with BundleFetcher() as fetcher:
            objects, fetched = await _fetch_objects(fetcher, selection, bases)
    bundle = selection.bundle
    verdict = await _verify(selection, fetched, now)
    check_artifact_pin(fetched[bundle.checksum_name], bundle)
    artifact_url = object_url(catalog.source_base_url, bundle.artifact_name)
    objects.append(
        SourceObject(
            kind="artifact",
            name=bundle.artifact_name,
            url=artifact_url,
            digest=bundle.artifact_digest,
        )
    )
    source = SourceManifest(
        bundle_id=bundle_id,
        generated_at=now,
        signer_fingerprint=verdict.fingerprint,
        objects=tuple(objects),
    )
    return _write_outputs(Path(output_dir), source, refreshed)


async def _verify(
    selection: BundleSelection, fetched: dict[str, bytes], now: datetime
) -> SignatureVerdict:
    bundle = selection.bundle
    certificates = [
        PinnedCertificate(
            key_id=signer.key_id, certificate=fetched[signer.trust_root.name]
        )
        for signer in selection.signers
    ]
    checksums = fetched[bundle.checksum_name]
    signature = fetched[bundle.signature_name]
    return await anyio.to_thread.run_sync(
        lambda: verify_signature(checksums, signature, certificates, now=now)
    )


async def _fetch_objects(
    fetcher: BundleFetcher, selection: BundleSelection, bases: list[str]
) -> tuple[list[SourceObject], dict[str, bytes]]:
    bundle = selection.bundle
    wanted = [
        (
            "trust root",
            signer.trust_root.name,
            signer.trust_root.digest,
            [signer.trust_root.url] if signer.trust_root.url.strip() else [],
        )
        for signer in selection.signers
    ]
    wanted.append(("checksum", bundle.checksum_name, bundle.checksum_digest, []))
    wanted.append(("signature", bundle.signature_name, bundle.signature_digest, []))
    objects: list[SourceObject] = []
    fetched: dict[str, bytes] = {}
    for kind, name, digest, fixed in wanted:
        urls = fixed or [object_url(base, name) for base in bases if base.strip()]
        fetched[name] = await fetcher.fetch_object(
            urls,
            name=name,
            expected_digest=digest,
            max_bytes=MAX_OBJECT_BYTES,
            timeout=None,
        )
        objects.append(SourceObject(kind=kind, name=name, url=urls[-1], digest=digest))

    return objects, fetched


def _refresh(
    catalog: ManagedRuntimeBundleCatalog,
    bundle_id: str,
    valid_until: datetime,
    now: datetime,
) -> ManagedRuntimeBundleCatalog:
    # Only the first entry with the id is ever selected, so only it is refreshed.
    items = list(catalog.bundles or ())
    for index, item in enumerate(items):
        if item.bundle_id == bundle_id:
            items[index] = attrs.evolve(item, valid_until=valid_until)
            break
    bundles = tuple(items)
    return attrs.evolve(catalog, generated_at=now, bundles=bundles)


def _write_outputs(
    output_dir: Path, source: SourceManifest, catalog: ManagedRuntimeBundleCatalog
) -> PackageResult:
    output_dir.mkdir(parents=True, exist_ok=True)
    source_path = output_dir / f"{source.bundle_id}.source.json"
    data = (_gojson.dumps(source, indent=True) + "\n").encode()
    source_path.write_bytes(data)
    hex_digest = hashlib.sha256(data).hexdigest()
    digest_path = source_path.with_name(source_path.name + ".sha256")
    digest_path.write_text(f"{hex_digest}  {source_path.name}\n")
    catalog_path = output_dir / CATALOG_NAME
    catalog_path.write_text(_gojson.dumps(catalog, indent=True) + "\n")
    bundle = next(b for b in catalog.bundles or () if b.bundle_id == source.bundle_id)
    assert bundle.valid_until is not None
    return PackageResult(
        bundle_id=source.bundle_id,
        source_manifest_path=str(source_path),
        source_manifest_digest="sha256:" + hex_digest,
        catalog_path=str(catalog_path),
        valid_until=bundle.valid_until,
    )
