"""Tests of doctor on real installs: drift, links, CNI, version and catalog policy."""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path

import anyio
import attrs
import pytest

import bundle_fixtures
from bundle_fixtures import (
    SEED_BUNDLE_ID,
    ArchiveMember,
    GnuPG,
    GpgKey,
    ObjectServer,
    Release,
    build_archive,
    catalog_document,
    fake_command,
    make_release,
    nerdctl_full_members,
    write_catalog,
)
from wfc_container.bundles._catalog import load_bundle_catalog
from wfc_container.bundles._doctor import doctor_bundle
from wfc_container.bundles._install import install_bundle
from wfc_container.bundles._manifest import MANIFEST_NAME, DoctorResult
from wfc_container.bundles._uninstall import uninstall_bundle

# The shared GnuPG, release and mirror fixtures, made visible to this module.
gnupg = bundle_fixtures.gnupg
release_key = bundle_fixtures.release_key
release = bundle_fixtures.release
object_server = bundle_fixtures.object_server


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@attrs.define
class Installed:
    catalog: Path
    install_root: Path

    @property
    def root(self) -> Path:
        return self.install_root / SEED_BUNDLE_ID

    async def doctor(self, **kwargs: object) -> DoctorResult:
        catalog = load_bundle_catalog(self.catalog)
        options = {"target_os": "linux", "target_arch": "amd64", **kwargs}
        return await doctor_bundle(
            catalog,
            SEED_BUNDLE_ID,
            self.install_root,
            **options,  # type: ignore[arg-type]
        )


async def install_release(
    tmp_path: Path, server: ObjectServer, release: Release
) -> Installed:
    server.objects.update(release.objects())
    document = catalog_document(release, base_url=server.base_url)
    catalog_path = write_catalog(tmp_path / "catalog.json", document)
    install_root = tmp_path / "managed"
    catalog = load_bundle_catalog(catalog_path)
    await install_bundle(
        catalog, SEED_BUNDLE_ID, install_root, target_os="linux", target_arch="amd64"
    )
    return Installed(catalog=catalog_path, install_root=install_root)


async def install_members(
    tmp_path: Path,
    server: ObjectServer,
    gnupg: GnuPG,
    key: GpgKey,
    members: list[ArchiveMember],
) -> Installed:
    release = make_release(gnupg, key, artifact=build_archive(members))
    return await install_release(tmp_path, server, release)


@pytest.fixture
async def installed(
    tmp_path: Path, release: Release, object_server: ObjectServer
) -> Installed:
    return await install_release(tmp_path, object_server, release)


async def test_doctor_ok(installed: Installed) -> None:
    result = await installed.doctor()

    assert result.status == "ok"
    assert result.reason == ""
    assert result.scoped_store_enforced
    assert result.host_global_store_excluded
    assert result.version == "v2.3.1"
    assert result.warnings == ()


async def test_doctor_missing(tmp_path: Path, installed: Installed) -> None:
    other = Installed(catalog=installed.catalog, install_root=tmp_path / "empty")

    result = await other.doctor()

    assert result.status == "missing"
    assert result.reason == "bundle root is missing"


async def test_doctor_absent_root_untouched(
    tmp_path: Path, installed: Installed
) -> None:
    absent = tmp_path / "absent"
    other = Installed(catalog=installed.catalog, install_root=absent)

    result = await other.doctor()

    assert result.status == "missing"
    assert not absent.exists()


async def test_doctor_other_target(tmp_path: Path, installed: Installed) -> None:
    """A target the bundle is not built for is degraded, installed or not."""
    reason = "target linux/mips does not match the bundle's os/arch linux/amd64"
    absent = Installed(catalog=installed.catalog, install_root=tmp_path / "absent")

    on_install = await installed.doctor(target_arch="mips")
    on_absent = await absent.doctor(target_arch="mips")

    assert on_install.status == "degraded"
    assert on_install.reason == reason
    assert on_absent.status == "degraded"
    assert on_absent.reason == reason


async def test_doctor_bundle_id_reason(installed: Installed) -> None:
    catalog = load_bundle_catalog(installed.catalog)

    result = await doctor_bundle(
        catalog, "../x", installed.install_root, target_os="linux", target_arch="amd64"
    )

    assert result.status == "degraded"
    assert result.reason.startswith("invalid bundle id '../x': expected 1-128")


async def test_doctor_manifest_missing(installed: Installed) -> None:
    (installed.root / MANIFEST_NAME).unlink()

    result = await installed.doctor()

    assert (result.status, result.reason) == ("missing", "install manifest is missing")


async def test_doctor_manifest_garbage(installed: Installed) -> None:
    path = installed.root / MANIFEST_NAME
    path.write_text('{"bundle_id": 1}')

    result = await installed.doctor()

    assert result.status == "degraded"
    assert "install manifest cannot be read" in result.reason


async def test_doctor_command_symlinked(tmp_path: Path, installed: Installed) -> None:
    outside = tmp_path / "outside-nerdctl"
    outside.write_bytes(fake_command("nerdctl version 2.3.1"))
    command = installed.root / "bin/nerdctl"
    command.unlink()
    command.symlink_to(outside)

    result = await installed.doctor()

    assert result.status == "degraded"
    assert "symlink" in result.reason


async def test_doctor_command_missing(installed: Installed) -> None:
    (installed.root / "bin/nerdctl").unlink()

    result = await installed.doctor()

    assert result.status == "missing"
    assert "'bin/nerdctl' is missing" in result.reason


async def test_doctor_command_changed(installed: Installed) -> None:
    (installed.root / "bin/nerdctl").write_bytes(fake_command("nerdctl version 2.3.1 "))

    result = await installed.doctor()

    assert result.status == "degraded"
    assert result.reason == "file digest mismatch for 'bin/nerdctl'"


async def test_doctor_link_respelled(installed: Installed) -> None:
    link = installed.root / "bin/buildkit-cni-bridge"
    link.unlink()
    link.symlink_to("./../libexec/cni/bridge")

    result = await installed.doctor()

    assert result.status == "degraded"
    assert "file digest" in result.reason
    assert "'./../libexec/cni/bridge'" in result.reason


async def test_doctor_catalog_expired(installed: Installed) -> None:
    """A catalog entry past valid_until degrades the install; doctor does not raise."""
    catalog = load_bundle_catalog(installed.catalog)
    bundle = (catalog.bundles or ())[0]
    assert bundle.valid_until is not None

    result = await installed.doctor(now=bundle.valid_until + timedelta(days=1))

    assert result.status == "degraded"
    assert result.reason.startswith("catalog policy failure")


async def test_doctor_expiry_warning(installed: Installed) -> None:
    catalog = load_bundle_catalog(installed.catalog)
    bundle = (catalog.bundles or ())[0]
    assert bundle.valid_until is not None

    result = await installed.doctor(now=bundle.valid_until - timedelta(days=9, hours=1))

    assert result.status == "ok"
    assert result.warnings == ("catalog entry expires in 9 days",)
    assert result.valid_until == bundle.valid_until


async def test_doctor_unsafe_root(tmp_path: Path, installed: Installed) -> None:
    (tmp_path / "link").symlink_to(installed.install_root)
    other = Installed(catalog=installed.catalog, install_root=tmp_path / "link")

    result = await other.doctor()

    assert result.status == "degraded"
    assert "symlink" in result.reason


async def test_doctor_root_is_foreign_symlink(
    tmp_path: Path, installed: Installed
) -> None:
    os.rename(installed.root, tmp_path / "moved")
    installed.root.symlink_to(tmp_path / "moved")

    result = await installed.doctor()

    assert result.status == "degraded"
    assert "symlink" in result.reason


async def test_doctor_version_mismatch(
    tmp_path: Path, gnupg: GnuPG, release_key: GpgKey, object_server: ObjectServer
) -> None:
    """The installed bin/nerdctl must report the manifest's version."""
    members = nerdctl_full_members()
    members = [
        attrs.evolve(m, data=fake_command("nerdctl version 2.1.6"))
        if m.name == "bin/nerdctl"
        else m
        for m in members
    ]
    installed = await install_members(
        tmp_path, object_server, gnupg, release_key, members
    )

    result = await installed.doctor()

    assert result.status == "degraded"
    assert result.reason == (
        "bin/nerdctl --version reports '2.1.6', the install manifest says '2.3.1'"
    )


async def test_doctor_links_to_text_files(
    tmp_path: Path, gnupg: GnuPG, release_key: GpgKey, object_server: ObjectServer
) -> None:
    """bin/ symlinks to 0644 files (nerdctl-full 2.0.4 to 2.1.6) are healthy."""
    members = [
        *nerdctl_full_members(),
        ArchiveMember(
            name="bin/buildkit-cni-LICENSE",
            kind="symlink",
            target="../libexec/cni/LICENSE",
        ),
        ArchiveMember(
            name="bin/buildkit-cni-README.md",
            kind="symlink",
            target="../libexec/cni/README.md",
        ),
    ]
    installed = await install_members(
        tmp_path, object_server, gnupg, release_key, members
    )

    assert (await installed.doctor()).status == "ok"

    (installed.root / "libexec/cni/README.md").unlink()
    result = await installed.doctor()
    assert result.status == "degraded"
    assert "'libexec/cni/README.md'" in result.reason


async def test_doctor_no_cni_plugins(
    tmp_path: Path, gnupg: GnuPG, release_key: GpgKey, object_server: ObjectServer
) -> None:
    members = [
        m
        for m in nerdctl_full_members()
        if not m.name.startswith(("libexec/cni/b", "libexec/cni/l", "bin/buildkit"))
    ]
    installed = await install_members(
        tmp_path, object_server, gnupg, release_key, members
    )

    result = await installed.doctor()

    assert result.status == "degraded"
    assert result.reason == "bundle ships no executable CNI plugins in 'libexec/cni/'"


def test_doctor_and_uninstall_under_trio(tmp_path: Path) -> None:
    """Only downloads need asyncio; doctor and uninstall run under trio too."""
    document = {"bundles": [], "generated_at": "2026-06-11T00:00:00Z"}
    catalog = load_bundle_catalog(write_catalog(tmp_path / "c.json", document))

    async def main() -> tuple[str, bool]:
        doctor = await doctor_bundle(
            catalog, SEED_BUNDLE_ID, tmp_path, target_os="linux", target_arch="amd64"
        )
        removed = await uninstall_bundle(SEED_BUNDLE_ID, tmp_path)
        return doctor.status, removed.removed

    status, removed = anyio.run(main, backend="trio")

    assert status == "missing"
    assert not removed
