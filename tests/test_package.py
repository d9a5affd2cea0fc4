"""The packaging command against a loopback mirror of a signed release."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import anyio
import attrs
import pytest

from bundle_fixtures import (
    SEED_BUNDLE_ID,
    Fault,
    GnuPG,
    GpgKey,
    ObjectServer,
    Release,
    catalog_document,
    checksum_file,
    make_release,
    sha256_digest,
    write_catalog,
)
from wfc_container.bundles._catalog import (
    ManagedRuntimeBundleCatalog,
    load_bundle_catalog,
    select_bundle,
)
from wfc_container.bundles._errors import (
    ChecksumError,
    DownloadError,
    SignatureError,
)
from wfc_container.bundles._package import package_bundle


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(name="gnupg")
def gnupg_home() -> Iterator[GnuPG]:
    home = GnuPG()
    try:
        yield home
    finally:
        home.close()


@pytest.fixture(name="key")
def key_fixture(gnupg: GnuPG) -> GpgKey:
    return gnupg.generate_key("Packager <packager@example.test>")


@pytest.fixture(name="release")
def release_fixture(gnupg: GnuPG, key: GpgKey) -> Release:
    return make_release(gnupg, key)


@pytest.fixture(name="server")
async def server_fixture(release: Release) -> AsyncIterator[ObjectServer]:
    async with ObjectServer() as server:
        server.objects.update(release.objects())
        yield server


def load(
    tmp_path: Path,
    release: Release,
    server: ObjectServer,
    *,
    valid_until: datetime | None = None,
) -> ManagedRuntimeBundleCatalog:
    document = catalog_document(
        release, base_url=server.base_url, valid_until=valid_until
    )
    return load_bundle_catalog(write_catalog(tmp_path / "catalog.json", document))


def file_bytes(path: Path) -> bytes:
    return path.read_bytes()


def read_json(path: str) -> dict[str, object]:
    document: dict[str, object] = json.loads(Path(path).read_text())
    return document


async def test_package_writes_manifest_and_refreshed_catalog(
    tmp_path: Path, release: Release, server: ObjectServer
) -> None:
    catalog = load(tmp_path, release, server)
    now = datetime.now(UTC).replace(microsecond=0)
    out = tmp_path / "out"

    result = await package_bundle(
        catalog,
        SEED_BUNDLE_ID,
        out,
        now=now,
        valid_days=30,
        target_os="linux",
        target_arch="amd64",
    )

    manifest = read_json(result.source_manifest_path)
    items = manifest["objects"]
    assert isinstance(items, list)
    objects = {item["kind"]: item for item in items}
    assert manifest["bundle_id"] == SEED_BUNDLE_ID
    assert manifest["signer_fingerprint"] == release.key.fingerprint
    assert objects["checksum"] == {
        "kind": "checksum",
        "name": "SHA256SUMS",
        "url": server.url("SHA256SUMS"),
        "digest": sha256_digest(release.checksums),
    }
    assert objects["signature"]["digest"] == sha256_digest(release.signature)
    assert objects["trust root"]["digest"] == sha256_digest(release.trust_root)
    assert objects["artifact"]["digest"] == sha256_digest(release.artifact)
    assert result.valid_until == now + timedelta(days=30)


async def test_package_digest_file_checks_with_sha256sum(
    tmp_path: Path, release: Release, server: ObjectServer
) -> None:
    """The ``.sha256`` file beside the manifest is what ``sha256sum -c`` reads."""
    result = await package_bundle(
        load(tmp_path, release, server),
        SEED_BUNDLE_ID,
        tmp_path / "out",
        target_os="linux",
        target_arch="amd64",
    )

    manifest = Path(result.source_manifest_path)
    done = await anyio.run_process(
        ["sha256sum", "-c", manifest.name + ".sha256"], cwd=manifest.parent, check=False
    )
    assert done.returncode == 0, (done.stdout + done.stderr).decode()
    assert result.source_manifest_digest == sha256_digest(file_bytes(manifest))


async def test_package_refreshed_catalog_selects_later(
    tmp_path: Path, release: Release, server: ObjectServer
) -> None:
    now = datetime.now(UTC)
    catalog = load(tmp_path, release, server, valid_until=now + timedelta(days=3))

    result = await package_bundle(
        catalog,
        SEED_BUNDLE_ID,
        tmp_path / "out",
        now=now,
        valid_days=90,
        target_os="linux",
        target_arch="amd64",
    )

    refreshed = load_bundle_catalog(Path(result.catalog_path))
    later = now + timedelta(days=60)
    selection = select_bundle(
        refreshed, SEED_BUNDLE_ID, now=later, target_os="linux", target_arch="amd64"
    )
    original = (catalog.bundles or ())[0]
    assert attrs.evolve(selection.bundle, valid_until=original.valid_until) == original
    assert refreshed.trust_roots == catalog.trust_roots


async def test_package_mirror_tampered_signature(
    tmp_path: Path, release: Release, server: ObjectServer
) -> None:
    """A mirror's altered signature fails its pinned digest; upstream is used."""
    async with ObjectServer() as mirror:
        mirror.objects.update(release.objects())
        mirror.faults["SHA256SUMS.asc"] = Fault(replace_with=b"tampered signature")

        result = await package_bundle(
            load(tmp_path, release, server),
            SEED_BUNDLE_ID,
            tmp_path / "out",
            mirrors=(mirror.base_url,),
            target_os="linux",
            target_arch="amd64",
        )

    manifest = read_json(result.source_manifest_path)
    assert [r.path for r in mirror.requests].count("/SHA256SUMS.asc") == 1
    assert manifest["bundle_id"] == SEED_BUNDLE_ID


async def test_package_checksum_misses_artifact(
    tmp_path: Path, gnupg: GnuPG, key: GpgKey, release: Release, server: ObjectServer
) -> None:
    checksums = checksum_file({f"{release.artifact_name}.sbom.json": b"sbom"})
    changed = attrs.evolve(
        release, checksums=checksums, signature=gnupg.sign(key, checksums)
    )
    server.objects.update(changed.objects())

    with pytest.raises(ChecksumError, match="no entry for this name"):
        await package_bundle(
            load(tmp_path, changed, server),
            SEED_BUNDLE_ID,
            tmp_path / "out",
            target_os="linux",
            target_arch="amd64",
        )

    assert not (tmp_path / "out").exists()


async def test_package_signed_by_other_key(
    tmp_path: Path, gnupg: GnuPG, release: Release, server: ObjectServer
) -> None:
    other = gnupg.generate_key("Other <other@example.test>")
    changed = attrs.evolve(release, signature=gnupg.sign(other, release.checksums))
    server.objects.update(changed.objects())

    with pytest.raises(SignatureError, match="not in the allowed set"):
        await package_bundle(
            load(tmp_path, changed, server),
            SEED_BUNDLE_ID,
            tmp_path / "out",
            target_os="linux",
            target_arch="amd64",
        )


async def test_package_trust_root_digest_mismatch(
    tmp_path: Path, gnupg: GnuPG, release: Release, server: ObjectServer
) -> None:
    other = gnupg.generate_key("Swap <swap@example.test>")
    server.objects[release.trust_root_name] = gnupg.export(other)

    with pytest.raises(DownloadError, match="digest mismatch"):
        await package_bundle(
            load(tmp_path, release, server),
            SEED_BUNDLE_ID,
            tmp_path / "out",
            target_os="linux",
            target_arch="amd64",
        )


async def test_package_refreshes_expired_catalog(
    tmp_path: Path, release: Release, server: ObjectServer
) -> None:
    now = datetime.now(UTC)
    catalog = load(tmp_path, release, server, valid_until=now - timedelta(days=1))

    result = await package_bundle(
        catalog,
        SEED_BUNDLE_ID,
        tmp_path / "out",
        now=now,
        target_os="linux",
        target_arch="amd64",
    )

    assert result.valid_until > now
