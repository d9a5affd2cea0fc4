"""Each managed runtime bundle descriptor rule, with the protocol's message."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import attrs
import pytest

from wfc_container._bundle_rules import bundle_problems
from wfc_container._wire import (
    ContainerRuntimeTool,
    ManagedRuntimeBundleDescriptor,
    ManagedRuntimeCVEPolicy,
    ManagedRuntimeScopedStorePolicy,
    ManagedRuntimeSignatureSubject,
    ManagedRuntimeTarget,
    ManagedRuntimeUpdatePolicy,
    RuntimeBackendFamily,
    RuntimeInstallBurden,
)

NOW = datetime(2023, 11, 14, 22, 13, 20, tzinfo=UTC)
ARTIFACT = "sha256:7a0d8efcf55b10b57d831541266adb9c6ec3d55b44ec041c95f6eb994d1faab9"
CHECKSUM = "sha256:8a0586ff11d4d5a5d19d59494a10af8c6d41dd95ca72ff347f62d5288bc5131a"
SIGNATURE = "sha256:f87400e0923e22eab251328bd210bb9e8d3bba2b58dbbb84699622474344d68c"
TRUST_ROOT = "sha256:812ecad48a498fe3fbda46805da3fb2e98328531e3aac3e171a63c9daa1d9206"
STORE = "sha256:311ab6244d878cf7280a5927f5af6063337ec262e35fd7c84c6579d07591337e"
CVE = "sha256:5bc9d3baf40fe716e68bfc469c53040351288caaaa048650aeadd6320ca6d7c1"

VALID = ManagedRuntimeBundleDescriptor(
    protocol_version="compute.v1alpha1",
    bundle_id="managed-containerd-linux-amd64",
    family=RuntimeBackendFamily.CONTAINERD,
    tool=ContainerRuntimeTool.NERDCTL,
    version="v2.3.1",
    os="linux",
    arch="amd64",
    artifact_name="nerdctl-full-2.3.1-linux-amd64.tar.gz",
    artifact_digest=ARTIFACT,
    checksum_name="SHA256SUMS",
    checksum_digest=CHECKSUM,
    signature_name="SHA256SUMS.asc",
    signature_digest=SIGNATURE,
    signature_issuer="containerd/nerdctl release",
    signature_key_id="E14F08B8908ED6E8",
    trust_root_digest=TRUST_ROOT,
    signature_subject=ManagedRuntimeSignatureSubject(
        artifact_digest=ARTIFACT,
        runtime_family="containerd",
        os="linux",
        arch="amd64",
        version="v2.3.1",
        channel="stable",
        conformance_profile="distroless-static-v1",
        scoped_store_policy_digest=STORE,
    ),
    valid_until=datetime(2026, 12, 31, tzinfo=UTC),
    update_policy=ManagedRuntimeUpdatePolicy(
        channel="stable", min_supported_version="v2.3.1"
    ),
    cve_policy=ManagedRuntimeCVEPolicy(policy_digest=CVE, updated_by_version="v2.3.1"),
    scoped_store=ManagedRuntimeScopedStorePolicy(
        required=True,
        namespace_strategy="opaque-worker-pool-scope",
        store_strategy="workflow-owned-content-store",
        policy_digest=STORE,
        cleanup_required=True,
        host_global_visibility_forbidden=True,
    ),
    supported_targets=(ManagedRuntimeTarget(os="linux", arch="amd64"),),
    conformance_profile="distroless-static-v1",
    install_burden=RuntimeInstallBurden.BUNDLED,
)

Change = Callable[[ManagedRuntimeBundleDescriptor], ManagedRuntimeBundleDescriptor]


def top(**changes: Any) -> Change:
    return lambda d: attrs.evolve(d, **changes)


def nested(name: str, **changes: object) -> Change:
    return lambda d: attrs.evolve(
        d, **{name: attrs.evolve(getattr(d, name), **changes)}
    )


def test_bundle_valid() -> None:
    assert bundle_problems(VALID, now=NOW) == ()


def test_bundle_zero_time() -> None:
    go_zero = datetime(1, 1, 1, tzinfo=UTC)

    assert bundle_problems(VALID, now=None) == ("validation time is required",)
    assert bundle_problems(VALID, now=go_zero) == ("validation time is required",)


def test_bundle_all_faults_reported_in_order() -> None:
    bad = attrs.evolve(VALID, bundle_id="", checksum_name="", install_burden=None)

    assert bundle_problems(bad, now=NOW) == (
        "bundle_id is required",
        "checksum_name is required",
        "install_burden is required",
    )


CASES: list[tuple[str, Change, tuple[str, ...]]] = [
    (
        "protocol-version",
        top(protocol_version="compute.v2"),
        ('protocol_version "compute.v2" is unsupported',),
    ),
    (
        "bundle-id-marker",
        top(bundle_id="secret-bundle"),
        ("bundle_id contains non-shippable runtime evidence",),
    ),
    ("family-missing", top(family=None), ("family is required",)),
    (
        "family-unknown",
        top(family="lxc"),
        (
            'family "lxc" is unsupported',
            "signature_subject.runtime_family must match family",
        ),
    ),
    ("tool-unknown", top(tool="ctr"), ('tool "ctr" is unsupported',)),
    (
        "version-path",
        top(version="v2/3"),
        (
            "version must not contain whitespace, scheme, path, query, or fragment",
            "signature_subject.version must match version",
        ),
    ),
    (
        "os-missing",
        top(os="", supported_targets=(ManagedRuntimeTarget(os="", arch="amd64"),)),
        ("os is required", "supported_targets[0].os is required"),
    ),
    (
        "arch-padded",
        top(arch=" amd64"),
        (
            "arch must not contain leading or trailing whitespace",
            "signature_subject.arch must match arch",
            "supported_targets must include os/arch",
        ),
    ),
    ("artifact-name", top(artifact_name=""), ("artifact_name is required",)),
    (
        "artifact-digest-upper",
        top(artifact_digest=ARTIFACT.upper().replace("SHA256", "sha256")),
        (
            "artifact_digest must be sha256:<64 lowercase hex chars>",
            "signature_subject.artifact_digest must match artifact_digest",
        ),
    ),
    ("checksum-digest", top(checksum_digest=""), ("checksum_digest is required",)),
    (
        "signature-name",
        top(signature_name="a b"),
        (
            "signature_name must not contain whitespace, scheme, path, query, or fragment",
        ),
    ),
    ("signature-digest", top(signature_digest=""), ("signature_digest is required",)),
    (
        "signature-issuer-blank",
        top(signature_issuer=" "),
        ("signature_issuer is required",),
    ),
    (
        "signature-issuer-marker",
        top(signature_issuer="token issuer"),
        ("signature_issuer contains non-shippable runtime evidence",),
    ),
    ("signature-key-id", top(signature_key_id=""), ("signature_key_id is required",)),
    (
        "trust-root-digest",
        top(trust_root_digest="sha256:abc"),
        ("trust_root_digest must be sha256:<64 lowercase hex chars>",),
    ),
    (
        "subject-artifact-missing",
        nested("signature_subject", artifact_digest=""),
        ("signature_subject.artifact_digest is required",),
    ),
    (
        "subject-artifact-mismatch",
        nested("signature_subject", artifact_digest=CHECKSUM),
        ("signature_subject.artifact_digest must match artifact_digest",),
    ),
    (
        "subject-family-missing",
        nested("signature_subject", runtime_family=""),
        ("signature_subject.runtime_family is required",),
    ),
    (
        "subject-family-unknown",
        nested("signature_subject", runtime_family="lxc"),
        (
            'signature_subject.runtime_family "lxc" is unsupported',
            "signature_subject.runtime_family must match family",
        ),
    ),
    (
        "subject-family-mismatch",
        nested("signature_subject", runtime_family="podman"),
        ("signature_subject.runtime_family must match family",),
    ),
    (
        "subject-os",
        nested("signature_subject", os="darwin"),
        ("signature_subject.os must match os",),
    ),
    (
        "subject-arch-missing",
        nested("signature_subject", arch=""),
        ("signature_subject.arch is required",),
    ),
    (
        "subject-channel",
        nested("signature_subject", channel="edge"),
        ("signature_subject.channel must match update_policy.channel",),
    ),
    (
        "subject-profile",
        nested("signature_subject", conformance_profile="other-v1"),
        ("signature_subject.conformance_profile must match conformance_profile",),
    ),
    (
        "subject-store-digest",
        nested("signature_subject", scoped_store_policy_digest=CVE),
        (
            "signature_subject.scoped_store_policy_digest must match scoped_store.policy_digest",
        ),
    ),
    ("valid-until-missing", top(valid_until=None), ("valid_until is required",)),
    (
        "valid-until-go-zero",
        top(valid_until=datetime(1, 1, 1, tzinfo=UTC)),
        ("valid_until is required",),
    ),
    ("valid-until-equal", top(valid_until=NOW), ("valid_until must be in the future",)),
    (
        "update-channel",
        nested("update_policy", channel=""),
        ("update_policy.channel is required",),
    ),
    (
        "update-min-version",
        nested("update_policy", min_supported_version=""),
        ("update_policy.min_supported_version is required",),
    ),
    (
        "update-blocked",
        nested("update_policy", blocked_versions=("v1", "v 2")),
        (
            "update_policy.blocked_versions[1] must not contain whitespace, scheme, path, query, or fragment",
        ),
    ),
    (
        "cve-digest",
        nested("cve_policy", policy_digest=""),
        ("cve_policy.policy_digest is required",),
    ),
    (
        "cve-blocked",
        nested("cve_policy", blocked_versions=("",)),
        ("cve_policy.blocked_versions[0] is required",),
    ),
    (
        "cve-revoked",
        nested("cve_policy", revoked_key_ids=("a:b",)),
        (
            "cve_policy.revoked_key_ids[0] must not contain whitespace, scheme, path, query, or fragment",
        ),
    ),
    (
        "cve-updated-by",
        nested("cve_policy", updated_by_version=""),
        ("cve_policy.updated_by_version is required",),
    ),
    (
        "store-required",
        nested("scoped_store", required=False),
        ("scoped_store.required must be true",),
    ),
    (
        "store-cleanup",
        nested("scoped_store", cleanup_required=False),
        ("scoped_store.cleanup_required must be true",),
    ),
    (
        "store-visibility",
        nested("scoped_store", host_global_visibility_forbidden=False),
        ("scoped_store.host_global_visibility_forbidden must be true",),
    ),
    (
        "store-namespace",
        nested("scoped_store", namespace_strategy=""),
        ("scoped_store.namespace_strategy is required",),
    ),
    (
        "store-strategy",
        nested("scoped_store", store_strategy="a/b"),
        (
            "scoped_store.store_strategy must not contain whitespace, scheme, path, query, or fragment",
        ),
    ),
    (
        "store-digest",
        nested("scoped_store", policy_digest=""),
        ("scoped_store.policy_digest is required",),
    ),
    ("targets-nil", top(supported_targets=None), ("supported_targets are required",)),
    ("targets-empty", top(supported_targets=()), ("supported_targets are required",)),
    (
        "targets-missing-pair",
        top(supported_targets=(ManagedRuntimeTarget(os="linux", arch="arm64"),)),
        ("supported_targets must include os/arch",),
    ),
    (
        "targets-bad-arch",
        top(
            supported_targets=(
                ManagedRuntimeTarget(os="linux", arch="amd64"),
                ManagedRuntimeTarget(os="linux", arch=""),
            )
        ),
        ("supported_targets[1].arch is required",),
    ),
    (
        "conformance-profile",
        top(conformance_profile=""),
        ("conformance_profile is required",),
    ),
    ("burden-missing", top(install_burden=None), ("install_burden is required",)),
    (
        "burden-not-bundled",
        top(install_burden=RuntimeInstallBurden.SYSTEM_INSTALLED),
        ("install_burden must be bundled for managed runtime bundles",),
    ),
]


@pytest.mark.parametrize(
    ("change", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_bundle_rule(change: Change, expected: tuple[str, ...]) -> None:
    assert bundle_problems(change(VALID), now=NOW) == expected


def test_bundle_extra_targets_allowed() -> None:
    targets = (
        ManagedRuntimeTarget(os="linux", arch="arm64"),
        ManagedRuntimeTarget(os="linux", arch="amd64"),
    )

    assert (
        bundle_problems(attrs.evolve(VALID, supported_targets=targets), now=NOW) == ()
    )
