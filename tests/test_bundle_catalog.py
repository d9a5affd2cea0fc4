"""Catalog loading, the shipped catalog, and the bundle selection policy."""

from __future__ import annotations

import copy
import json
import re
from datetime import UTC, datetime
from pathlib import Path

import pytest

from wfc_container import DocumentError, _gojson
from wfc_container.bundles._catalog import (
    ManagedRuntimeBundleCatalog,
    days_until_expiry,
    load_bundle_catalog,
    object_url,
    select_bundle,
)
from wfc_container.bundles._errors import CatalogPolicyError, CatalogReadError
from wfc_container.bundles._semver import parse_version

SHIPPED = (
    Path(__file__).resolve().parent.parent / "catalogs" / "managed-runtime-bundles.json"
)
BUNDLE_ID = "managed-containerd-linux-amd64"
GENERATED_AT = datetime(2026, 6, 11, tzinfo=UTC)
OTHER_ROOT_DIGEST = "sha256:" + "4" * 64


def shipped_document() -> dict[str, object]:
    document: dict[str, object] = json.loads(SHIPPED.read_text())
    return document


def bundle_of(document: dict[str, object]) -> dict[str, object]:
    bundles = document["bundles"]
    assert isinstance(bundles, list)
    bundle: dict[str, object] = bundles[0]
    return bundle


def catalog_from(
    document: dict[str, object], tmp_path: Path
) -> ManagedRuntimeBundleCatalog:
    path = tmp_path / "catalog.json"
    path.write_text(json.dumps(document))
    return load_bundle_catalog(path)


def rejection(
    document: dict[str, object],
    tmp_path: Path,
    *,
    bundle_id: str = BUNDLE_ID,
    target: tuple[str, str] = ("linux", "amd64"),
    now: datetime = GENERATED_AT,
) -> CatalogPolicyError:
    catalog = catalog_from(document, tmp_path)
    with pytest.raises(CatalogPolicyError) as info:
        select_bundle(
            catalog, bundle_id, target_os=target[0], target_arch=target[1], now=now
        )
    return info.value


def set_version(document: dict[str, object], version: str) -> None:
    bundle = bundle_of(document)
    bundle["version"] = version
    subject = bundle["signature_subject"]
    assert isinstance(subject, dict)
    subject["version"] = version


# --- the shipped catalog ---------------------------------------------------


def test_shipped_catalog_selects_at_generation() -> None:
    catalog = load_bundle_catalog(SHIPPED)

    selection = select_bundle(
        catalog, BUNDLE_ID, target_os="linux", target_arch="amd64", now=GENERATED_AT
    )

    bundle = selection.bundle
    assert catalog.release_tag == "v2.3.1"
    assert catalog.source_base_url == (
        "https://github.com/containerd/nerdctl/releases/download/v2.3.1"
    )
    assert len(catalog.bundles or ()) == 1
    assert bundle.artifact_name == "nerdctl-full-2.3.1-linux-amd64.tar.gz"
    assert bundle.artifact_digest == (
        "sha256:7a0d8efcf55b10b57d831541266adb9c6ec3d55b44ec041c95f6eb994d1faab9"
    )
    assert bundle.checksum_digest == (
        "sha256:8a0586ff11d4d5a5d19d59494a10af8c6d41dd95ca72ff347f62d5288bc5131a"
    )
    assert bundle.signature_digest == (
        "sha256:f87400e0923e22eab251328bd210bb9e8d3bba2b58dbbb84699622474344d68c"
    )
    assert [signer.key_id for signer in selection.signers] == ["E14F08B8908ED6E8"]
    assert selection.signers[0].trust_root.url == "https://github.com/ChengyuZhu6.gpg"


def test_shipped_catalog_has_no_placeholder_digests() -> None:
    text = SHIPPED.read_text()

    for digit in "0123456789":
        assert digit * 32 not in text


def test_shipped_catalog_round_trips_byte_for_byte() -> None:
    """The file is exactly what the Go-compatible encoder writes for its content."""
    catalog = load_bundle_catalog(SHIPPED)

    assert _gojson.dumps(catalog, indent=True) + "\n" == SHIPPED.read_text()


def test_shipped_catalog_fails_closed_at_valid_until() -> None:
    catalog = load_bundle_catalog(SHIPPED)
    deadline = datetime(2026, 12, 31, tzinfo=UTC)

    with pytest.raises(
        CatalogPolicyError, match="valid_until must be in the future"
    ) as info:
        select_bundle(
            catalog, BUNDLE_ID, target_os="linux", target_arch="amd64", now=deadline
        )

    assert info.value.bundle_id == BUNDLE_ID
    assert info.value.hint is not None
    assert "packaging command" in info.value.hint


def test_shipped_catalog_valid_just_before_deadline() -> None:
    catalog = load_bundle_catalog(SHIPPED)
    before = datetime(2026, 12, 30, 23, 59, 59, tzinfo=UTC)

    selection = select_bundle(
        catalog, BUNDLE_ID, target_os="linux", target_arch="amd64", now=before
    )

    assert days_until_expiry(selection.bundle, before) == 0


def test_days_until_expiry_counts_whole_days() -> None:
    catalog = load_bundle_catalog(SHIPPED)
    bundle = (catalog.bundles or ())[0]

    assert days_until_expiry(bundle, datetime(2026, 12, 4, 12, tzinfo=UTC)) == 26
    assert days_until_expiry(bundle, datetime(2026, 12, 4, tzinfo=UTC)) == 27
    assert days_until_expiry(bundle, datetime(2027, 1, 2, tzinfo=UTC)) == -2


# --- loading ---------------------------------------------------------------


def test_load_catalog_reports_every_fault(tmp_path: Path) -> None:
    document = shipped_document()
    document["minimum_version"] = 7
    bundle_of(document)["sneaky"] = True

    with pytest.raises(DocumentError) as info:
        catalog_from(document, tmp_path)

    problems = info.value.problems
    assert len(problems) == 2
    assert any(p.endswith("@ $.minimum_version") for p in problems)
    assert any("'sneaky'" in p and p.endswith("@ $.bundles[0]") for p in problems)


def test_load_catalog_missing_file(tmp_path: Path) -> None:
    with pytest.raises(CatalogReadError, match="No such file") as info:
        load_bundle_catalog(tmp_path / "absent.json")

    assert isinstance(info.value.__cause__, FileNotFoundError)


# --- selection policy ------------------------------------------------------


@pytest.mark.parametrize(
    "bundle_id",
    [".locks", ".staging", ".hidden", "managed.previous", "managed.old"],
)
def test_select_reserved_bundle_id(bundle_id: str, tmp_path: Path) -> None:
    document = shipped_document()
    bundle_of(document)["bundle_id"] = bundle_id

    error = rejection(document, tmp_path, bundle_id=bundle_id)

    assert any("installer keeps for its own directories" in p for p in error.problems)


def test_select_unknown_bundle(tmp_path: Path) -> None:
    error = rejection(shipped_document(), tmp_path, bundle_id="managed-other")

    assert error.problems == ("bundle not found in the catalog",)


def test_select_duplicate_bundle_id(tmp_path: Path) -> None:
    document = shipped_document()
    document["bundles"] = [bundle_of(document), copy.deepcopy(bundle_of(document))]

    error = rejection(document, tmp_path)

    assert error.problems == (
        "bundle id listed more than once, at $.bundles[0], $.bundles[1]",
    )


def test_select_target_must_match_artifact(tmp_path: Path) -> None:
    document = shipped_document()
    bundle_of(document)["supported_targets"] = [
        {"os": "linux", "arch": "amd64"},
        {"os": "linux", "arch": "arm64"},
    ]

    error = rejection(document, tmp_path, target=("linux", "arm64"))

    assert error.problems == (
        "supported_targets[1] linux/arm64 does not match the artifact's os/arch "
        "linux/amd64 @ $.bundles[0]",
        "target linux/arm64 does not match the artifact's os/arch linux/amd64 "
        "@ $.bundles[0]",
    )


def test_select_prerelease_below_minimum(tmp_path: Path) -> None:
    """``v2.3.1-rc.1`` precedes ``v2.3.1``, so a v2.3.1 minimum rejects it."""
    document = shipped_document()
    set_version(document, "v2.3.1-rc.1")

    error = rejection(document, tmp_path)

    assert "version 'v2.3.1-rc.1' is below minimum 'v2.3.1'" in error.problems


def test_select_prerelease_minimum_not_bypassed(tmp_path: Path) -> None:
    """A pre-release minimum still rejects older releases."""
    document = shipped_document()
    document["minimum_version"] = "v2.4.0-rc.1"

    error = rejection(document, tmp_path)

    assert error.problems == ("version 'v2.3.1' is below minimum 'v2.4.0-rc.1'",)


def test_select_bundle_minimum_applies_with_lower_catalog_minimum(
    tmp_path: Path,
) -> None:
    document = shipped_document()
    document["minimum_version"] = "v1.0.0"
    policy = bundle_of(document)["update_policy"]
    assert isinstance(policy, dict)
    policy["min_supported_version"] = "v2.4.0"

    error = rejection(document, tmp_path)

    assert error.problems == ("version 'v2.3.1' is below minimum 'v2.4.0'",)


def test_select_unparsable_version(tmp_path: Path) -> None:
    document = shipped_document()
    set_version(document, "latest")

    error = rejection(document, tmp_path)

    assert "version 'latest' is not a semantic version" in error.problems


@pytest.mark.parametrize(
    "where",
    ["catalog", "update_policy", "cve_policy"],
)
def test_select_blocked_version(where: str, tmp_path: Path) -> None:
    document = shipped_document()
    holder = document if where == "catalog" else bundle_of(document)[where]
    assert isinstance(holder, dict)
    holder["blocked_versions"] = ["v2.3.1"]

    error = rejection(document, tmp_path)

    assert error.problems == ("version 'v2.3.1' is blocked",)


def test_select_revoked_signing_key(tmp_path: Path) -> None:
    document = shipped_document()
    document["revoked_key_ids"] = ["e14f08b8908ed6e8"]

    error = rejection(document, tmp_path)

    assert error.problems == ("signing key 'E14F08B8908ED6E8' is revoked",)


def test_select_stable_key_mismatch(tmp_path: Path) -> None:
    document = shipped_document()
    document["stable_signing_key"] = "0123456789ABCDEF"

    error = rejection(document, tmp_path)

    assert error.problems == (
        "signing key 'E14F08B8908ED6E8' does not match stable signing key "
        "'0123456789ABCDEF' @ $.stable_signing_key",
    )


def test_select_stable_key_ignores_case(tmp_path: Path) -> None:
    document = shipped_document()
    document["stable_signing_key"] = "e14f08b8908ed6e8"
    catalog = catalog_from(document, tmp_path)

    selection = select_bundle(
        catalog, BUNDLE_ID, target_os="linux", target_arch="amd64", now=GENERATED_AT
    )

    assert selection.bundle.bundle_id == BUNDLE_ID


def test_select_reports_all_problems_at_once(tmp_path: Path) -> None:
    document = shipped_document()
    bundle = bundle_of(document)
    bundle["install_burden"] = "system-installed"
    bundle["checksum_digest"] = "sha256:ABC"
    document["blocked_versions"] = ["v2.3.1"]

    error = rejection(document, tmp_path)

    assert error.problems == (
        "checksum_digest must be sha256:<64 lowercase hex chars> @ $.bundles[0]",
        "install_burden must be bundled for managed runtime bundles @ $.bundles[0]",
        "version 'v2.3.1' is blocked",
    )
    assert error.hint is None


def test_select_subject_mismatch(tmp_path: Path) -> None:
    document = shipped_document()
    subject = bundle_of(document)["signature_subject"]
    assert isinstance(subject, dict)
    subject["arch"] = "arm64"

    error = rejection(document, tmp_path)

    assert error.problems == ("signature_subject.arch must match arch @ $.bundles[0]",)


def test_select_missing_trust_root(tmp_path: Path) -> None:
    document = shipped_document()
    document["trust_roots"] = []

    error = rejection(document, tmp_path)

    assert error.problems == (
        "no trust root for signing key 'E14F08B8908ED6E8' with digest "
        "'sha256:812ecad48a498fe3fbda46805da3fb2e98328531e3aac3e171a63c9daa1d9206'",
    )


def additional_signer_document() -> dict[str, object]:
    document = shipped_document()
    roots = document["trust_roots"]
    assert isinstance(roots, list)
    roots.append(
        {
            "key_id": "F35FF49760A865FA",
            "name": "maintainer-b.gpg",
            "digest": OTHER_ROOT_DIGEST,
        }
    )
    document["additional_signers"] = [
        {
            "bundle_id": BUNDLE_ID,
            "key_id": "F35FF49760A865FA",
            "trust_root_digest": OTHER_ROOT_DIGEST,
        },
        {"bundle_id": "another-bundle", "key_id": "AAAA", "trust_root_digest": "x"},
    ]
    return document


def test_select_additional_signers(tmp_path: Path) -> None:
    catalog = catalog_from(additional_signer_document(), tmp_path)

    selection = select_bundle(
        catalog, BUNDLE_ID, target_os="linux", target_arch="amd64", now=GENERATED_AT
    )

    assert [signer.key_id for signer in selection.signers] == [
        "E14F08B8908ED6E8",
        "F35FF49760A865FA",
    ]
    assert selection.signers[1].trust_root.name == "maintainer-b.gpg"


def test_select_revoked_additional_signer_dropped(tmp_path: Path) -> None:
    document = additional_signer_document()
    document["revoked_key_ids"] = ["F35FF49760A865FA"]
    catalog = catalog_from(document, tmp_path)

    selection = select_bundle(
        catalog, BUNDLE_ID, target_os="linux", target_arch="amd64", now=GENERATED_AT
    )

    assert [signer.key_id for signer in selection.signers] == ["E14F08B8908ED6E8"]


def test_select_additional_signer_needs_trust_root(tmp_path: Path) -> None:
    document = additional_signer_document()
    roots = document["trust_roots"]
    assert isinstance(roots, list)
    roots.pop()

    error = rejection(document, tmp_path)

    assert error.problems == (
        f"no trust root for signing key 'F35FF49760A865FA' with digest {OTHER_ROOT_DIGEST!r}",
    )


def test_select_requires_aware_time(tmp_path: Path) -> None:
    catalog = catalog_from(shipped_document(), tmp_path)

    with pytest.raises(ValueError, match="timezone-aware"):
        select_bundle(
            catalog,
            BUNDLE_ID,
            target_os="linux",
            target_arch="amd64",
            now=datetime(2026, 7, 1),
        )


def test_catalog_policy_error_message() -> None:
    error = CatalogPolicyError(bundle_id="b", problems=["one", "two"])

    assert (
        str(error) == "managed runtime bundle 'b' rejected by catalog policy: one; two"
    )


# --- helpers ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("older", "newer"),
    [
        ("1.0.0-alpha", "1.0.0-alpha.1"),
        ("1.0.0-alpha.1", "1.0.0-alpha.beta"),
        ("1.0.0-alpha.beta", "1.0.0-beta"),
        ("1.0.0-beta.2", "1.0.0-beta.11"),
        ("1.0.0-rc.1", "1.0.0"),
        ("v2.3.1", "v2.10.0"),
        ("v2.3.1-rc1", "v2.3.1"),
    ],
)
def test_semver_precedence(older: str, newer: str) -> None:
    older_version = parse_version(older)
    newer_version = parse_version(newer)

    assert older_version is not None
    assert newer_version is not None
    assert older_version < newer_version


def test_semver_equal_forms() -> None:
    assert parse_version("v2.3") == parse_version("2.3.0+build.7")


@pytest.mark.parametrize("text", ["latest", "v02.3.1", "1.2.3.4", "1.2.3-01", ""])
def test_semver_rejects(text: str) -> None:
    assert parse_version(text) is None


def test_object_url_joins_base() -> None:
    assert object_url(" https://example.test/rel/ ", "SHA256SUMS") == (
        "https://example.test/rel/SHA256SUMS"
    )
    assert object_url("", "SHA256SUMS") == "SHA256SUMS"


def test_shipped_catalog_names_no_host_paths() -> None:
    assert re.search(r"/home/|/Users/", SHIPPED.read_text()) is None
