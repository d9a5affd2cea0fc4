"""Each runtime backend report rule, with the protocol's message."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import attrs
import pytest

from wfc_container import DocumentError
from wfc_container._report_rules import report_problems, validate_report
from wfc_container._wire import (
    ContainerRuntimeTool,
    ExecutionSecurityTier,
    ExecutorRef,
    ManagedRuntimeBundleDescriptor,
    ManagedRuntimeCVEPolicy,
    ManagedRuntimeScopedStorePolicy,
    ManagedRuntimeSignatureSubject,
    ManagedRuntimeTarget,
    ManagedRuntimeUpdatePolicy,
    ProofTier,
    RuntimeBackendEvidence,
    RuntimeBackendFamily,
    RuntimeBackendReport,
    RuntimeBackendStatus,
    RuntimeInstallBurden,
    RuntimeIsolationMode,
    RuntimeProfile,
)

NOW = datetime(2023, 11, 14, 22, 13, 20, tzinfo=UTC)
DIGEST = "sha256:" + "c" * 64
ARTIFACT = "sha256:" + "a" * 64
STORE = "sha256:" + "d" * 64


def executor(provider: str) -> ExecutorRef:
    return ExecutorRef(
        provider=provider,
        version="5.0.0",
        execution_security_tier=ExecutionSecurityTier.SANDBOXED_CONTAINER,
        proof_tier=ProofTier.ARTIFACT_HASH,
        image_digest="sha256:" + "E" * 64,
        rootfs_digest="sha256:" + "f" * 64,
    )


SUPPORTED = RuntimeBackendReport(
    protocol_version="compute.v1alpha1",
    backend_id="podman-rootless",
    family=RuntimeBackendFamily.PODMAN,
    tool=ContainerRuntimeTool.PODMAN,
    version="5.0.0",
    os="linux",
    arch="amd64",
    status=RuntimeBackendStatus.SUPPORTED,
    isolation_mode=RuntimeIsolationMode.USER_NAMESPACE,
    install_burden=RuntimeInstallBurden.SYSTEM_INSTALLED,
    runtime_profiles=(
        RuntimeProfile.SANDBOXED_OCI_V1,
        RuntimeProfile.CONTAINER_BUILD_V1,
    ),
    executor_providers=("sandboxed-command", "sandboxed-container-build"),
    executors=(executor("sandboxed-command"), executor("sandboxed-container-build")),
    conformance_profiles=("distroless-static-v1",),
    evidence=RuntimeBackendEvidence(
        digest=DIGEST, workspace=True, network=True, env=True, proof=True, cleanup=True
    ),
    generated_at=NOW,
)

DEGRADED = RuntimeBackendReport(
    backend_id="docker-desktop",
    family=RuntimeBackendFamily.DOCKER,
    status=RuntimeBackendStatus.DEGRADED,
    reason="conformance image not present",
    isolation_mode=RuntimeIsolationMode.VM_BACKED_CONTAINER,
    generated_at=NOW,
)

BUNDLE = ManagedRuntimeBundleDescriptor(
    bundle_id="managed-containerd-linux-amd64",
    family=RuntimeBackendFamily.CONTAINERD,
    tool=ContainerRuntimeTool.NERDCTL,
    version="v2.3.1",
    os="linux",
    arch="amd64",
    artifact_name="nerdctl-full-2.3.1-linux-amd64.tar.gz",
    artifact_digest=ARTIFACT,
    checksum_name="SHA256SUMS",
    checksum_digest=ARTIFACT,
    signature_name="SHA256SUMS.asc",
    signature_digest=ARTIFACT,
    signature_issuer="containerd/nerdctl release",
    signature_key_id="E14F08B8908ED6E8",
    trust_root_digest=ARTIFACT,
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
    cve_policy=ManagedRuntimeCVEPolicy(
        policy_digest=STORE, updated_by_version="v2.3.1"
    ),
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

BUNDLED = attrs.evolve(
    SUPPORTED,
    backend_id="managed-containerd-linux-amd64",
    family=RuntimeBackendFamily.CONTAINERD,
    tool=ContainerRuntimeTool.NERDCTL,
    version="v2.3.1",
    install_burden=RuntimeInstallBurden.BUNDLED,
    bundle=BUNDLE,
)

Change = Callable[[RuntimeBackendReport], RuntimeBackendReport]


def top(**changes: Any) -> Change:
    return lambda r: attrs.evolve(r, **changes)


def evidence(**changes: Any) -> Change:
    return lambda r: attrs.evolve(r, evidence=attrs.evolve(r.evidence, **changes))


def first_executor(**changes: Any) -> Change:
    def change(report: RuntimeBackendReport) -> RuntimeBackendReport:
        first = attrs.evolve(report.executors[0], **changes)
        return attrs.evolve(report, executors=(first, *report.executors[1:]))

    return change


@pytest.mark.parametrize(
    "report", [SUPPORTED, DEGRADED, BUNDLED], ids=["supported", "degraded", "bundled"]
)
def test_report_valid(report: RuntimeBackendReport) -> None:
    assert report_problems(report, now=NOW) == ()


IDENT = "must not contain whitespace, scheme, path, query, or fragment"
LEAK = "contains non-shippable runtime evidence"

SUPPORTED_CASES: list[tuple[str, Change, tuple[str, ...]]] = [
    ("backend-id", top(backend_id="podman rootless"), (f"backend_id {IDENT}",)),
    ("family-missing", top(family=None), ("family is required",)),
    ("family-unknown", top(family="lxc"), ('family "lxc" is unsupported',)),
    ("status-missing", top(status=None), ("status is required",)),
    ("status-unknown", top(status="fine"), ('status "fine" is unsupported',)),
    ("isolation-missing", top(isolation_mode=None), ("isolation_mode is required",)),
    (
        "isolation-unknown",
        top(isolation_mode="vm"),
        ('isolation_mode "vm" is unsupported',),
    ),
    ("generated-at", top(generated_at=None), ("generated_at is required",)),
    (
        "generated-at-go-zero",
        top(generated_at=datetime(1, 1, 1, tzinfo=UTC)),
        ("generated_at is required",),
    ),
    (
        "protocol-version",
        top(protocol_version="compute.v2"),
        ('protocol_version "compute.v2" is unsupported',),
    ),
    ("tool-unknown", top(tool="ctr"), ('tool "ctr" is unsupported',)),
    (
        "burden-unknown",
        top(install_burden="apt"),
        ('install_burden "apt" is unsupported',),
    ),
    ("version-leak", top(version="5.0 /home/x"), (f"version {LEAK}",)),
    ("os-multiline", top(os="linux\n"), ("os must be single-line text",)),
    ("arch-leak", top(arch="token"), (f"arch {LEAK}",)),
    (
        "profile-unknown",
        top(runtime_profiles=("wasm",)),
        ('runtime_profiles[0] "wasm" is unsupported',),
    ),
    (
        "provider-identifier",
        top(executor_providers=("sandboxed-command", "a/b")),
        (f"executor_providers[1] {IDENT}",),
    ),
    (
        "executor-missing-fields",
        first_executor(
            provider="", version="", execution_security_tier=None, proof_tier=None
        ),
        (
            "executors[0]: executor.provider is required",
            "executors[0]: executor.version is required",
            "executors[0]: executor.execution_security_tier is required",
            "executors[0]: executor.proof_tier is required",
        ),
    ),
    (
        "executor-provider",
        first_executor(provider="a:b"),
        (f"executors[0]: executor.provider {IDENT}",),
    ),
    (
        "executor-tier-unknown",
        first_executor(execution_security_tier="vm"),
        ('executors[0]: executor.execution_security_tier "vm" is unsupported',),
    ),
    (
        "executor-proof-unknown",
        first_executor(proof_tier="hope"),
        ('executors[0]: executor.proof_tier "hope" is unsupported',),
    ),
    (
        "executor-digests-missing",
        first_executor(image_digest="", rootfs_digest=""),
        (
            "executors[0]: executor.image_digest is required",
            "executors[0]: executor.rootfs_digest is required",
        ),
    ),
    (
        "executor-digest-bad",
        first_executor(image_digest="sha256:xyz"),
        ("executors[0]: executor.image_digest must be sha256:<64 hex chars>",),
    ),
    (
        "executor-version-leak",
        first_executor(version="5 cookie"),
        (f"executors[0].version {LEAK}",),
    ),
    (
        "conformance-identifier",
        top(conformance_profiles=("",)),
        ("conformance_profiles[0] is required",),
    ),
    (
        "details-leak",
        evidence(details=("ok", "secret")),
        (f"evidence.details[1] {LEAK}",),
    ),
    ("reason-leak", top(reason="bearer x"), (f"reason {LEAK}",)),
    (
        "constraint-leak",
        top(constraints=("a\rb",)),
        ("constraints[0] must be single-line text",),
    ),
    (
        "supported-bundled-without-bundle",
        top(install_burden=RuntimeInstallBurden.BUNDLED),
        ("bundle is required when install_burden is bundled",),
    ),
    (
        "supported-lists-empty",
        top(
            executor_providers=(),
            executors=(),
            runtime_profiles=(),
            conformance_profiles=(),
        ),
        (
            "executor_providers are required when runtime backend is supported",
            "runtime_profiles are required when runtime backend is supported",
            "conformance_profiles are required when runtime backend is supported",
        ),
    ),
    ("evidence-digest-missing", evidence(digest=""), ("evidence.digest is required",)),
    (
        "evidence-digest-upper",
        evidence(digest=DIGEST.upper().replace("SHA", "sha")),
        ("evidence.digest must be sha256:<64 lowercase hex chars>",),
    ),
    *[
        (
            f"evidence-{flag}",
            evidence(**{flag: False}),
            (f"evidence.{flag} must be true when runtime backend is supported",),
        )
        for flag in ("workspace", "network", "env", "proof", "cleanup")
    ],
]


@pytest.mark.parametrize(
    ("change", "expected"),
    [c[1:] for c in SUPPORTED_CASES],
    ids=[c[0] for c in SUPPORTED_CASES],
)
def test_report_supported_rule(change: Change, expected: tuple[str, ...]) -> None:
    assert report_problems(change(SUPPORTED), now=NOW) == expected


def test_report_tier_without_image_needs_no_digests() -> None:
    change = first_executor(
        execution_security_tier=ExecutionSecurityTier.TRUSTED_NATIVE,
        image_digest="",
        rootfs_digest="",
    )

    assert report_problems(change(SUPPORTED), now=NOW) == ()


@pytest.mark.parametrize(
    "status", [RuntimeBackendStatus.DEGRADED, RuntimeBackendStatus.UNSUPPORTED]
)
def test_report_not_supported_rules(status: RuntimeBackendStatus) -> None:
    report = attrs.evolve(SUPPORTED, status=status, reason=" ")

    assert report_problems(report, now=NOW) == (
        f"reason is required when runtime backend is {status.value}",
        "executor_providers must be empty unless runtime backend is supported",
        "executors must be empty unless runtime backend is supported",
    )


BUNDLED_CASES: list[tuple[str, Change, tuple[str, ...]]] = [
    (
        "burden-not-bundled",
        top(install_burden=RuntimeInstallBurden.SYSTEM_INSTALLED),
        ("install_burden must be bundled when bundle is present",),
    ),
    (
        "bundle-invalid",
        lambda r: attrs.evolve(r, bundle=attrs.evolve(BUNDLE, signature_digest="")),
        ("bundle: signature_digest is required",),
    ),
    (
        "bundle-expired",
        lambda r: attrs.evolve(r, bundle=attrs.evolve(BUNDLE, valid_until=NOW)),
        ("bundle: valid_until must be in the future",),
    ),
    (
        "family-mismatch",
        top(family=RuntimeBackendFamily.NERDCTL),
        ("bundle.family must match family",),
    ),
    (
        "tool-mismatch",
        top(tool=ContainerRuntimeTool.PODMAN),
        ("bundle.tool must match tool",),
    ),
    ("os-mismatch", top(os="darwin"), ("bundle.os must match os",)),
    ("arch-mismatch", top(arch="arm64"), ("bundle.arch must match arch",)),
    ("version-mismatch", top(version="v2.3.0"), ("bundle.version must match version",)),
    ("empty-side-skipped", top(os="", tool=None), ()),
]


@pytest.mark.parametrize(
    ("change", "expected"),
    [c[1:] for c in BUNDLED_CASES],
    ids=[c[0] for c in BUNDLED_CASES],
)
def test_report_bundle_rule(change: Change, expected: tuple[str, ...]) -> None:
    assert report_problems(change(BUNDLED), now=NOW) == expected


def test_report_rules_in_protocol_order() -> None:
    report = attrs.evolve(
        SUPPORTED,
        backend_id="",
        generated_at=None,
        reason="token",
        evidence=RuntimeBackendEvidence(),
    )

    problems = report_problems(report, now=NOW)

    assert problems[:3] == (
        "backend_id is required",
        "generated_at is required",
        f"reason {LEAK}",
    )
    assert problems[3] == "evidence.digest is required"


def test_validate_report_raises_document_error() -> None:
    with pytest.raises(DocumentError, match="status is required") as info:
        validate_report(attrs.evolve(DEGRADED, status=None, reason="x"))

    assert info.value.document == "runtime backend report"
    assert info.value.problems == ("status is required",)


def test_validate_report_uses_wall_clock() -> None:
    """Without ``now``, an expired bundle is judged against the current time."""
    expired = attrs.evolve(BUNDLE, valid_until=datetime(2020, 1, 1, tzinfo=UTC))

    validate_report(attrs.evolve(BUNDLED, bundle=expired), now=NOW.replace(year=2019))
    with pytest.raises(
        DocumentError, match="bundle: valid_until must be in the future"
    ):
        validate_report(attrs.evolve(BUNDLED, bundle=expired))
