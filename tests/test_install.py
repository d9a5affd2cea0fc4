"""
Tests of install, reinstall and uninstall against a real loopback mirror.

Releases are real tar.gz bundles whose SHA256SUMS a GnuPG key made in the test
signs. The mirror is an aiohttp server on 127.0.0.1 with fault injection.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import anyio
import attrs
import pytest

import bundle_fixtures
from bundle_fixtures import (
    SEED_BUNDLE_ID,
    ArchiveMember,
    Fault,
    GnuPG,
    GpgKey,
    ObjectServer,
    Release,
    build_archive,
    catalog_document,
    make_release,
    nerdctl_full_members,
    sha256_digest,
    write_archive,
    write_catalog,
)
from wfc_container.bundles._catalog import load_bundle_catalog
from wfc_container.bundles._doctor import doctor_bundle
from wfc_container.bundles._errors import (
    BundleLockedError,
    ChecksumError,
    DownloadError,
    InstallRootError,
    InstallStateError,
    SignatureError,
    UnsafeArchiveError,
)
from wfc_container.bundles._install import (
    InstallOptions,
    install_bundle,
    reinstall_bundle,
)
from wfc_container.bundles._layout import (
    STAGING_DIR,
    BundleIdError,
    bundle_layout,
    promote,
)
from wfc_container.bundles._manifest import MANIFEST_NAME, InstallResult
from wfc_container.bundles._uninstall import uninstall_bundle

# The shared GnuPG, release and mirror fixtures, made visible to this module.
gnupg = bundle_fixtures.gnupg
release_key = bundle_fixtures.release_key
release = bundle_fixtures.release
object_server = bundle_fixtures.object_server


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def root(tmp_path: Path) -> Path:
    return tmp_path / "managed"


def catalog_for(tmp_path: Path, release: Release, server: ObjectServer) -> Path:
    document = catalog_document(release, base_url=server.base_url)
    return write_catalog(tmp_path / "catalog.json", document)


async def install(
    catalog_path: Path, root: Path, options: InstallOptions | None = None
) -> InstallResult:
    catalog = load_bundle_catalog(catalog_path)
    return await install_bundle(
        catalog,
        SEED_BUNDLE_ID,
        root,
        options=options,
        target_os="linux",
        target_arch="amd64",
    )


async def doctor_status(catalog_path: Path, root: Path) -> tuple[str, str]:
    catalog = load_bundle_catalog(catalog_path)
    result = await doctor_bundle(
        catalog, SEED_BUNDLE_ID, root, target_os="linux", target_arch="amd64"
    )
    return result.status, result.reason


def publish(
    server: ObjectServer, tmp_path: Path, gnupg: GnuPG, key: GpgKey, artifact: bytes
) -> Path:
    """Serve a new release of ``artifact`` and return a catalog that pins it."""
    new = make_release(gnupg, key, artifact=artifact)
    server.objects.update(new.objects())
    return catalog_for(tmp_path, new, server)


def leftovers(root: Path) -> list[str]:
    staging = root / STAGING_DIR
    return sorted(os.listdir(staging)) if staging.exists() else []


async def test_install_seed_shape(
    tmp_path: Path, root: Path, release: Release, object_server: ObjectServer
) -> None:
    """Install gives the seed's result fields and keeps in-root links as shipped."""
    catalog = catalog_for(tmp_path, release, object_server)

    result = await install(catalog, root)

    bundle_root = root / SEED_BUNDLE_ID
    assert result.root == str(bundle_root)
    assert result.command_path == str(bundle_root / "bin/nerdctl")
    assert result.manifest_path == str(bundle_root / MANIFEST_NAME)
    assert result.file_digests["bin/nerdctl"].startswith("sha256:")
    assert MANIFEST_NAME not in result.file_digests
    assert result.promotion == "rename"
    assert (
        os.readlink(bundle_root / "bin/buildkit-cni-bridge") == "../libexec/cni/bridge"
    )
    assert (bundle_root / MANIFEST_NAME).stat().st_mode & 0o777 == 0o600
    assert leftovers(root) == []


async def test_install_fetch_order(
    tmp_path: Path, root: Path, release: Release, object_server: ObjectServer
) -> None:
    """The small pinned objects are fetched and checked before the artifact."""
    await install(catalog_for(tmp_path, release, object_server), root)

    paths = [request.path for request in object_server.requests]
    assert paths == [
        "/" + release.trust_root_name,
        "/SHA256SUMS",
        "/SHA256SUMS.asc",
        "/" + release.artifact_name,
    ]


async def test_install_dot_prefixed_bundle(
    tmp_path: Path,
    root: Path,
    gnupg: GnuPG,
    release_key: GpgKey,
    object_server: ObjectServer,
) -> None:
    artifact = build_archive(nerdctl_full_members(dot_prefix=True))
    catalog = publish(object_server, tmp_path, gnupg, release_key, artifact)

    result = await install(catalog, root)

    assert "bin/nerdctl" in result.file_digests
    assert await doctor_status(catalog, root) == ("ok", "")


async def test_uninstall_keeps_siblings(
    tmp_path: Path, root: Path, release: Release, object_server: ObjectServer
) -> None:
    catalog = catalog_for(tmp_path, release, object_server)
    await install(catalog, root)
    (root / "sibling.txt").write_text("keep")

    result = await uninstall_bundle(SEED_BUNDLE_ID, root)

    assert result.removed
    assert result.scoped_only
    assert not (root / SEED_BUNDLE_ID).exists()
    assert (root / "sibling.txt").read_text() == "keep"
    assert leftovers(root) == []


async def test_uninstall_missing_root(root: Path) -> None:
    result = await uninstall_bundle(SEED_BUNDLE_ID, root)

    assert not result.removed


async def test_uninstall_absent_root_untouched(root: Path) -> None:
    """Uninstall from an install root that does not exist creates nothing."""
    result = await uninstall_bundle(SEED_BUNDLE_ID, root / "absent")

    assert not result.removed
    assert result.root == str(root / "absent" / SEED_BUNDLE_ID)
    assert os.listdir(root.parent) == []


async def test_uninstall_empty_root_keeps_lock_dir(root: Path) -> None:
    """An existing root without the bundle still gets the lock, as before."""
    os.mkdir(root)

    result = await uninstall_bundle(SEED_BUNDLE_ID, root)

    assert not result.removed
    assert (root / ".locks" / f"{SEED_BUNDLE_ID}.lock").is_file()


async def test_uninstall_does_not_follow_links(
    tmp_path: Path, root: Path, release: Release, object_server: ObjectServer
) -> None:
    await install(catalog_for(tmp_path, release, object_server), root)
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "precious").write_text("x")
    (root / SEED_BUNDLE_ID / "share" / "out").symlink_to(outside)

    await uninstall_bundle(SEED_BUNDLE_ID, root)

    assert (outside / "precious").read_text() == "x"


async def test_reinstall_reports_replacement(
    tmp_path: Path, root: Path, release: Release, object_server: ObjectServer
) -> None:
    catalog = load_bundle_catalog(catalog_for(tmp_path, release, object_server))

    first = await reinstall_bundle(
        catalog, SEED_BUNDLE_ID, root, target_os="linux", target_arch="amd64"
    )
    second = await reinstall_bundle(
        catalog, SEED_BUNDLE_ID, root, target_os="linux", target_arch="amd64"
    )

    assert not first.uninstall.removed
    assert second.uninstall.removed
    assert second.doctor.status == "ok"
    assert second.install.promotion == "exchange"
    assert leftovers(root) == []


async def test_install_signature_not_repinned(
    tmp_path: Path, root: Path, release: Release, object_server: ObjectServer
) -> None:
    object_server.objects["SHA256SUMS.asc"] = b"tampered signature"

    with pytest.raises(DownloadError, match="digest mismatch"):
        await install(catalog_for(tmp_path, release, object_server), root)

    assert not (root / SEED_BUNDLE_ID).exists()


async def test_install_signature_repinned(
    tmp_path: Path,
    root: Path,
    gnupg: GnuPG,
    release: Release,
    object_server: ObjectServer,
) -> None:
    """A re-pinned signature by a key outside the trust root fails verification."""
    stranger = gnupg.generate_key("Stranger <s@example.test>")
    forged = gnupg.sign(stranger, release.checksums)
    object_server.objects["SHA256SUMS.asc"] = forged
    forged_release = attrs.evolve(release, signature=forged)

    with pytest.raises(SignatureError):
        await install(catalog_for(tmp_path, forged_release, object_server), root)

    assert not any(r.path.endswith(".tar.gz") for r in object_server.requests)


async def test_install_checksum_pins_other_digest(
    tmp_path: Path,
    root: Path,
    gnupg: GnuPG,
    release_key: GpgKey,
    object_server: ObjectServer,
) -> None:
    """A validly signed SHA256SUMS that pins another artifact digest is rejected."""
    signed = make_release(gnupg, release_key)
    other = build_archive(nerdctl_full_members("9.9.9"))
    document = catalog_document(signed, base_url=object_server.base_url)
    bundle = document["bundles"][0]  # type: ignore[index]
    bundle["artifact_digest"] = sha256_digest(other)
    bundle["signature_subject"]["artifact_digest"] = sha256_digest(other)
    object_server.objects.update(signed.objects())

    with pytest.raises(ChecksumError):
        await install(write_catalog(tmp_path / "c.json", document), root)


@pytest.mark.parametrize(
    "member",
    [
        ArchiveMember(name="../escape", data=b"x"),
        ArchiveMember(name="bin/helper", kind="symlink", target="../../escape"),
    ],
)
async def test_install_rejects_unsafe_archive(
    member: ArchiveMember,
    tmp_path: Path,
    root: Path,
    gnupg: GnuPG,
    release_key: GpgKey,
    object_server: ObjectServer,
) -> None:
    artifact = build_archive([member, *nerdctl_full_members()])
    catalog = publish(object_server, tmp_path, gnupg, release_key, artifact)

    with pytest.raises(UnsafeArchiveError):
        await install(catalog, root)

    assert not (root.parent / "escape").exists()
    assert not (root / SEED_BUNDLE_ID).exists()
    assert leftovers(root) == []


async def test_install_symlinked_root(
    tmp_path: Path, release: Release, object_server: ObjectServer
) -> None:
    catalog = catalog_for(tmp_path, release, object_server)
    (tmp_path / "real").mkdir()
    (tmp_path / "link").symlink_to(tmp_path / "real")

    with pytest.raises(InstallRootError, match="symlink"):
        await install(catalog, tmp_path / "link")
    with pytest.raises(InstallRootError, match="symlink") as info:
        await install(catalog, tmp_path / "link" / "managed-runtime")

    assert info.value.hint is not None
    assert str(tmp_path / "real") in info.value.hint


@pytest.mark.parametrize(
    "bundle_id", [".locks", ".staging", "a/b", "..", "", "../x", "a.old", "b.previous"]
)
def test_layout_rejects_bundle_id(bundle_id: str, root: Path) -> None:
    with pytest.raises(InstallRootError) as info:
        bundle_layout(root, bundle_id)

    assert isinstance(info.value, BundleIdError)
    assert info.value.bundle_id == bundle_id
    assert info.value.path == str(root)


def test_layout_bundle_id_message(root: Path) -> None:
    """The message blames the bundle id, not the install root."""
    with pytest.raises(BundleIdError) as info:
        bundle_layout(root, "../x")

    assert str(info.value) == (
        "invalid bundle id '../x': expected 1-128 characters of [A-Za-z0-9._-]"
        " that start with a letter or digit and do not end in '.previous' or '.old'"
    )
    assert str(root) not in str(info.value)


def test_layout_relative_root_absolute(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)

    layout = bundle_layout("relative/dir", SEED_BUNDLE_ID)

    assert layout.install_root == tmp_path / "relative" / "dir"
    assert not (tmp_path / "relative").exists()


async def test_reinstall_bad_artifact_keeps_previous(
    tmp_path: Path, root: Path, release: Release, object_server: ObjectServer
) -> None:
    catalog = catalog_for(tmp_path, release, object_server)
    await install(catalog, root)
    object_server.objects[release.artifact_name] = b"bad replacement"

    with pytest.raises(DownloadError):
        await reinstall_bundle(
            load_bundle_catalog(catalog),
            SEED_BUNDLE_ID,
            root,
            target_os="linux",
            target_arch="amd64",
        )

    assert (root / SEED_BUNDLE_ID / "bin/nerdctl").exists()
    assert await doctor_status(catalog, root) == ("ok", "")
    assert leftovers(root) == []


async def test_existing_root_without_manifest(
    tmp_path: Path, root: Path, release: Release, object_server: ObjectServer
) -> None:
    catalog = catalog_for(tmp_path, release, object_server)
    sentinel = root / SEED_BUNDLE_ID / "sentinel.txt"
    sentinel.parent.mkdir(parents=True)
    sentinel.write_text("mine")

    with pytest.raises(InstallStateError, match="install manifest"):
        await uninstall_bundle(SEED_BUNDLE_ID, root)
    with pytest.raises(InstallStateError, match="install manifest"):
        await install(catalog, root)

    assert sentinel.read_text() == "mine"


async def test_install_artifact_too_large(
    tmp_path: Path, root: Path, release: Release, object_server: ObjectServer
) -> None:
    options = InstallOptions(max_artifact_bytes=len(release.artifact) - 1)

    with pytest.raises(DownloadError, match="too large"):
        await install(catalog_for(tmp_path, release, object_server), root, options)

    assert leftovers(root) == []


async def test_install_mirror_order(
    tmp_path: Path, root: Path, release: Release, object_server: ObjectServer
) -> None:
    """A mirror that lacks the objects is tried first, then the catalog source."""
    options = InstallOptions(mirrors=(object_server.base_url + "/mirror",))

    await install(catalog_for(tmp_path, release, object_server), root, options)

    paths = [request.path for request in object_server.requests]
    assert paths[:2] == [
        "/mirror/" + release.trust_root_name,
        "/" + release.trust_root_name,
    ]


async def test_install_removes_crash_leftovers(
    tmp_path: Path, root: Path, release: Release, object_server: ObjectServer
) -> None:
    """Only this bundle's stale runs go, not those of an id it prefixes."""
    stale = root / STAGING_DIR / f"{SEED_BUNDLE_ID}@crashed"
    (stale / "tree").mkdir(parents=True)
    other = root / STAGING_DIR / f"{SEED_BUNDLE_ID}-b@running"
    other.mkdir()

    await install(catalog_for(tmp_path, release, object_server), root)

    assert leftovers(root) == [f"{SEED_BUNDLE_ID}-b@running"]


async def test_lock_blocks_second_process(
    tmp_path: Path, root: Path, release: Release, object_server: ObjectServer
) -> None:
    """A live holder blocks the install; once it is SIGKILLed, no stale lock remains."""
    catalog = catalog_for(tmp_path, release, object_server)
    layout = bundle_layout(root, SEED_BUNDLE_ID)
    layout.lock_path.parent.mkdir(parents=True)
    script = (
        "import fcntl, os, time\n"
        f"fd = os.open({str(layout.lock_path)!r}, os.O_RDWR | os.O_CREAT)\n"
        "fcntl.flock(fd, fcntl.LOCK_EX)\n"
        "print('held', flush=True)\n"
        "time.sleep(60)\n"
    )
    async with await anyio.open_process([sys.executable, "-c", script]) as holder:
        assert holder.stdout is not None
        assert (await holder.stdout.receive()).startswith(b"held")
        with pytest.raises(BundleLockedError):
            await install(catalog, root)
        holder.kill()

    await install(catalog, root)
    assert layout.lock_path.exists()


async def test_cancel_mid_download(
    tmp_path: Path, root: Path, release: Release, object_server: ObjectServer
) -> None:
    catalog = catalog_for(tmp_path, release, object_server)
    await install(catalog, root)
    before = (root / SEED_BUNDLE_ID / MANIFEST_NAME).read_bytes()
    object_server.faults[release.artifact_name] = Fault(stall_after=1000, stall=30)

    with anyio.move_on_after(1.0) as scope:
        await reinstall_bundle(
            load_bundle_catalog(catalog),
            SEED_BUNDLE_ID,
            root,
            target_os="linux",
            target_arch="amd64",
        )

    assert scope.cancelled_caught
    assert leftovers(root) == []
    assert (root / SEED_BUNDLE_ID / MANIFEST_NAME).read_bytes() == before


async def test_cancel_mid_extract(
    tmp_path: Path,
    root: Path,
    gnupg: GnuPG,
    release_key: GpgKey,
    object_server: ObjectServer,
) -> None:
    path = tmp_path / "big.tar.gz"
    write_archive(path, nerdctl_full_members(), padding=96 << 20)
    catalog = publish(object_server, tmp_path, gnupg, release_key, path.read_bytes())
    padding = "tree/share/doc/nerdctl-full/padding.bin"

    def wait_for_padding() -> None:
        while not list((root / STAGING_DIR).glob(f"*/{padding}")):
            time.sleep(0.001)

    async def cancel_when_extracting(scope: anyio.CancelScope) -> None:
        await anyio.to_thread.run_sync(wait_for_padding)
        scope.cancel()

    async with anyio.create_task_group() as group:
        group.start_soon(cancel_when_extracting, group.cancel_scope)
        await install(catalog, root)

    assert not (root / SEED_BUNDLE_ID).exists()
    assert leftovers(root) == []


def test_promote_symlink_switch(tmp_path: Path) -> None:
    """The fallback keeps a working root through a switch and leaves no garbage."""
    layout = bundle_layout(tmp_path / "r", SEED_BUNDLE_ID)
    for version in ("old", "new"):
        stage = tmp_path / "r" / STAGING_DIR / f"{SEED_BUNDLE_ID}@{version}"
        (stage / "tree" / "bin").mkdir(parents=True)
        (stage / "tree" / "bin" / "nerdctl").write_text(version)

        method = promote(layout, stage / "tree", method="symlink")

        assert method == "symlink"
        assert (layout.root / "bin" / "nerdctl").read_text() == version

    assert layout.root.is_symlink()
    old_stage = tmp_path / "r" / STAGING_DIR / f"{SEED_BUNDLE_ID}@new" / "tree"
    assert (old_stage / "bin" / "nerdctl").read_text() == "old"


async def test_symlink_promotion_lifecycle(
    tmp_path: Path, root: Path, release: Release, object_server: ObjectServer
) -> None:
    """With the fallback, install, reinstall, doctor and uninstall all work."""
    catalog = catalog_for(tmp_path, release, object_server)
    options = InstallOptions(promotion="symlink")

    first = await install(catalog, root, options)
    second = await install(catalog, root, options)

    bundle_root = root / SEED_BUNDLE_ID
    assert (first.promotion, second.promotion) == ("symlink", "symlink")
    assert bundle_root.is_symlink()
    assert len(os.listdir(root / ".trees")) == 1
    assert await doctor_status(catalog, root) == ("ok", "")
    assert leftovers(root) == []

    result = await uninstall_bundle(SEED_BUNDLE_ID, root)

    assert result.removed
    assert not bundle_root.is_symlink()
    assert not bundle_root.exists()
    assert os.listdir(root / ".trees") == []
    assert leftovers(root) == []


async def test_reinstall_runs_new_version(
    tmp_path: Path,
    root: Path,
    gnupg: GnuPG,
    release_key: GpgKey,
    object_server: ObjectServer,
) -> None:
    """After a reinstall the bundle's nerdctl reports the new version."""
    for version in ("2.1.6", "2.2.0"):
        new = make_release(gnupg, release_key, version=version)
        object_server.objects.update(new.objects())
        document = catalog_document(new, base_url=object_server.base_url)
        catalog = write_catalog(tmp_path / f"catalog-{version}.json", document)
        result = await reinstall_bundle(
            load_bundle_catalog(catalog),
            SEED_BUNDLE_ID,
            root,
            target_os="linux",
            target_arch="amd64",
        )
        done = await anyio.run_process([result.install.command_path, "--version"])

        assert done.stdout == f"nerdctl version {version}\n".encode()
        assert result.doctor.status == "ok"

    assert leftovers(root) == []


def early_tree_kept(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [
        record.getMessage().rsplit("kept=", 1)[1]
        for record in caplog.records
        if record.getMessage().startswith("bundle.extract.early ")
    ]


async def test_extract_while_downloading(
    tmp_path: Path,
    root: Path,
    release: Release,
    object_server: ObjectServer,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A resumed transfer still feeds the early extraction, which is kept."""
    caplog.set_level("DEBUG", logger="wfc_container.bundles")
    object_server.faults[release.artifact_name] = Fault(drop_after=2000, times=1)

    await install(catalog_for(tmp_path, release, object_server), root)

    assert early_tree_kept(caplog) == ["True"]
    assert await doctor_status(catalog_for(tmp_path, release, object_server), root) == (
        "ok",
        "",
    )


async def test_rewriting_mirror_discards_early_tree(
    tmp_path: Path,
    root: Path,
    release: Release,
    object_server: ObjectServer,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Bytes from a mirror that fails the digest never reach the installed tree."""
    caplog.set_level("DEBUG", logger="wfc_container.bundles")
    # A different first member makes the forged bytes differ from the start.
    first = ArchiveMember(name="bin/aaa-forged", data=b"forged", mode=0o755)
    forged = build_archive([first, *nerdctl_full_members("6.6.6")])
    object_server.objects["m1/" + release.artifact_name] = forged
    # The pause gives the early extraction time to read the forged bytes.
    object_server.faults["m1/" + release.artifact_name] = Fault(
        stall_after=len(forged) // 2, stall=0.5
    )
    options = InstallOptions(mirrors=(object_server.base_url + "/m1",))
    catalog = catalog_for(tmp_path, release, object_server)

    result = await install(catalog, root, options)

    nerdctl = await anyio.run_process([result.command_path, "--version"])
    assert nerdctl.stdout == b"nerdctl version 2.3.1\n"
    assert early_tree_kept(caplog) == ["False"]
    assert await doctor_status(catalog, root) == ("ok", "")


async def test_failed_reinstall_keeps_old_binaries(
    tmp_path: Path,
    root: Path,
    gnupg: GnuPG,
    release_key: GpgKey,
    object_server: ObjectServer,
) -> None:
    """A reinstall that fails after extraction, before the switch, changes nothing."""
    old = make_release(gnupg, release_key, version="2.1.6")
    object_server.objects.update(old.objects())
    old_catalog = write_catalog(
        tmp_path / "old.json", catalog_document(old, base_url=object_server.base_url)
    )
    await install(old_catalog, root)
    # The archive ships a file where the installer writes its manifest.
    clash = ArchiveMember(name=MANIFEST_NAME, data=b"{}")
    artifact = build_archive([*nerdctl_full_members("2.2.0"), clash])
    new_catalog = publish(object_server, tmp_path, gnupg, release_key, artifact)

    with pytest.raises(UnsafeArchiveError, match="installer writes this path"):
        await install(new_catalog, root)

    command = root / SEED_BUNDLE_ID / "bin/nerdctl"
    done = await anyio.run_process([str(command), "--version"])
    assert done.stdout == b"nerdctl version 2.1.6\n"
    assert await doctor_status(old_catalog, root) == ("ok", "")
    assert leftovers(root) == []


def link_root_outside(tmp_path: Path, root: Path) -> Path:
    outside = tmp_path / "outside"
    (outside / "bin").mkdir(parents=True)
    (outside / MANIFEST_NAME).write_text("{}")
    root.mkdir()
    (root / SEED_BUNDLE_ID).symlink_to(outside)
    return outside


async def test_uninstall_root_symlink_out(tmp_path: Path, root: Path) -> None:
    """A bundle root that is a symlink out of the install root is never followed."""
    outside = link_root_outside(tmp_path, root)

    with pytest.raises(InstallRootError, match="symlink"):
        await uninstall_bundle(SEED_BUNDLE_ID, root)

    assert (outside / "bin").is_dir()
    assert (root / SEED_BUNDLE_ID).is_symlink()
