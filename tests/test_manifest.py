"""Tests of the install manifest: JSON form, tree scans and drift reasons."""

from __future__ import annotations

import io
import json
import os
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bundle_fixtures import build_archive, nerdctl_full_members
from wfc_container import DocumentError
from wfc_container.bundles._extract import TreeRecord, extract_tar_gz
from wfc_container.bundles._manifest import (
    MANIFEST_NAME,
    InstallManifest,
    decode_manifest,
    encode_manifest,
    find_drift,
    read_manifest,
    scan_tree,
    write_manifest,
)

SEED_KEYS = [
    "protocol_version",
    "bundle_id",
    "version",
    "os",
    "arch",
    "root",
    "command_path",
    "artifact_name",
    "artifact_digest",
    "checksum_name",
    "checksum_digest",
    "signature_name",
    "signature_digest",
    "signature_key_id",
    "trust_root_digest",
    "scoped_store_enforced",
    "host_global_store_excluded",
    "file_digests",
    "installed_at",
]


def make_manifest(record: TreeRecord, root: str = "/opt/r/b") -> InstallManifest:
    return InstallManifest(
        bundle_id="b",
        version="v2.3.1",
        os="linux",
        arch="amd64",
        root=root,
        command_path=root + "/bin/nerdctl",
        artifact_name="nerdctl-full-2.3.1-linux-amd64.tar.gz",
        artifact_digest="sha256:" + "a" * 64,
        checksum_name="SHA256SUMS",
        checksum_digest="sha256:" + "b" * 64,
        signature_name="SHA256SUMS.asc",
        signature_digest="sha256:" + "c" * 64,
        signature_key_id="E14F08B8908ED6E8",
        trust_root_digest="sha256:" + "d" * 64,
        scoped_store_enforced=True,
        host_global_store_excluded=True,
        file_digests=record.file_digests,
        installed_at=datetime(2026, 6, 11, 1, 2, 3, 400000, tzinfo=UTC),
        file_modes=record.file_modes,
        symlinks=record.symlinks,
    )


@pytest.fixture
def tree(tmp_path: Path) -> tuple[Path, TreeRecord]:
    root = tmp_path / "tree"
    root.mkdir()
    data = build_archive(nerdctl_full_members())
    record = extract_tar_gz(io.BytesIO(data), root, archive="a.tar.gz")
    return root, record


def test_manifest_key_order(tree: tuple[Path, TreeRecord]) -> None:
    text = encode_manifest(make_manifest(tree[1])).decode()
    keys = list(json.loads(text))

    assert keys[: len(SEED_KEYS)] == SEED_KEYS
    assert keys[len(SEED_KEYS) :] == ["file_modes", "symlinks"]
    assert text.endswith("}\n")
    assert '\n  "bundle_id": "b",\n' in text
    assert '"installed_at": "2026-06-11T01:02:03.4Z"' in text


def test_manifest_round_trip(tree: tuple[Path, TreeRecord]) -> None:
    manifest = make_manifest(tree[1])

    assert decode_manifest(encode_manifest(manifest)) == manifest


def test_manifest_reads_go_form(tree: tuple[Path, TreeRecord]) -> None:
    """A manifest the Go installer wrote (no modes, no link record) still loads."""
    document = json.loads(encode_manifest(make_manifest(tree[1])))
    del document["file_modes"], document["symlinks"]

    manifest = decode_manifest(json.dumps(document).encode())

    assert manifest.file_modes == {}
    assert manifest.symlinks == {}


def test_manifest_reports_all_faults() -> None:
    document = json.loads(
        encode_manifest(
            make_manifest(
                TreeRecord(file_digests={"x": "sha256:1"}, file_modes={}, symlinks={})
            )
        )
    )
    document["bundle_id"] = 7
    document["scoped_store_enforced"] = "yes"

    with pytest.raises(DocumentError) as info:
        decode_manifest(json.dumps(document).encode())

    assert len(info.value.problems) == 2
    assert any("$.bundle_id" in problem for problem in info.value.problems)
    assert any("$.scoped_store_enforced" in problem for problem in info.value.problems)


def test_manifest_file_mode(tmp_path: Path, tree: tuple[Path, TreeRecord]) -> None:
    path = tmp_path / MANIFEST_NAME
    write_manifest(path, make_manifest(tree[1]))

    assert path.stat().st_mode & 0o777 == 0o600
    assert read_manifest(path) == make_manifest(tree[1])


def test_manifest_read_refuses_symlink(tmp_path: Path) -> None:
    (tmp_path / "real.json").write_text("{}")
    (tmp_path / MANIFEST_NAME).symlink_to("real.json")

    with pytest.raises(OSError, match="Too many levels"):
        read_manifest(tmp_path / MANIFEST_NAME)


def test_scan_matches_extraction(tree: tuple[Path, TreeRecord]) -> None:
    root, record = tree
    write_manifest(root / MANIFEST_NAME, make_manifest(record))

    assert scan_tree(root) == record


def test_scan_rejects_fifo(tree: tuple[Path, TreeRecord]) -> None:
    os.mkfifo(tree[0] / "bin" / "pipe")

    with pytest.raises(ValueError, match="'bin/pipe' is not a regular file"):
        scan_tree(tree[0])


def test_scan_rejects_escaping_link(tree: tuple[Path, TreeRecord]) -> None:
    (tree[0] / "bin" / "evil").symlink_to("../../outside")

    with pytest.raises(ValueError, match="outside"):
        scan_tree(tree[0])


def drift_after(tree: tuple[Path, TreeRecord], change: str) -> str | None:
    root, record = tree
    manifest = make_manifest(record)
    if change == "content":
        (root / "bin/nerdctl").write_bytes(b"#!/bin/sh\necho other\n")
    elif change == "missing":
        (root / "libexec/cni/bridge").unlink()
    elif change == "added":
        (root / "bin/extra").write_bytes(b"")
    elif change == "mode":
        (root / "libexec/cni/LICENSE").chmod(0o755)
    elif change == "link":
        link = root / "bin/buildkit-cni-bridge"
        link.unlink()
        link.symlink_to("./../libexec/cni/bridge")
    return find_drift(manifest, scan_tree(root))


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ("content", "file digest mismatch for 'bin/nerdctl'"),
        (
            "missing",
            "file 'libexec/cni/bridge' listed in the install manifest is missing",
        ),
        ("added", "file 'bin/extra' is not listed in the install manifest"),
        (
            "mode",
            "file mode mismatch for 'libexec/cni/LICENSE': expected 0o644, found 0o755",
        ),
        (
            "link",
            "file digest mismatch for 'bin/buildkit-cni-bridge': symlink target is "
            "'./../libexec/cni/bridge', expected '../libexec/cni/bridge'",
        ),
    ],
)
def test_drift_reason(tree: tuple[Path, TreeRecord], change: str, reason: str) -> None:
    assert drift_after(tree, change) == reason


def test_drift_none(tree: tuple[Path, TreeRecord]) -> None:
    assert drift_after(tree, "none") is None


def test_drift_empty_manifest(tree: tuple[Path, TreeRecord]) -> None:
    manifest = make_manifest(TreeRecord(file_digests={}, file_modes={}, symlinks={}))

    assert find_drift(manifest, tree[1]) == "install manifest has no file digests"
