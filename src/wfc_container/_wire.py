"""
Wire types of the ``compute.v1alpha1`` protocol that runtime reports use.

Attribute names are the JSON keys and attribute order is the Go struct order, so
the Go-compatible encoder in ``_gojson`` can write them byte for byte. The
``omit`` metadata copies Go's tags: ``"empty"`` is ``omitempty`` and ``"zero"``
is ``omitzero``; fields without it are always written.
"""

from __future__ import annotations

import enum
from datetime import datetime

import attrs

PROTOCOL_VERSION = "compute.v1alpha1"

OMIT_EMPTY = {"omit": "empty"}
OMIT_ZERO = {"omit": "zero"}


class RuntimeBackendStatus(enum.StrEnum):
    """Verdict on one runtime backend."""

    SUPPORTED = "supported"
    DEGRADED = "degraded"
    UNSUPPORTED = "unsupported"


class RuntimeBackendFamily(enum.StrEnum):
    """Kind of container engine behind a backend."""

    PODMAN = "podman"
    DOCKER = "docker"
    NERDCTL = "nerdctl"
    CONTAINERD = "containerd"
    APPLE_CONTAINER = "apple-container"
    HYPER_V = "hyper-v"
    WSL = "wsl"


class ContainerRuntimeTool(enum.StrEnum):
    """Command-line tool used to drive a backend."""

    PODMAN = "podman"
    DOCKER = "docker"
    NERDCTL = "nerdctl"
    APPLE_CONTAINER = "apple-container"


class RuntimeIsolationMode(enum.StrEnum):
    """Strength of the separation between a workload and the host."""

    SHARED_KERNEL_CONTAINER = "shared-kernel-container"
    USER_NAMESPACE = "user-namespace"
    VM_BACKED_CONTAINER = "vm-backed-container"
    MICROVM = "microvm"
    CONFIDENTIAL_RUNTIME = "confidential-runtime"


class RuntimeInstallBurden(enum.StrEnum):
    """Installation the host owner had to make or run for the backend to exist."""

    BUNDLED = "bundled"
    SYSTEM_INSTALLED = "system-installed"
    DESKTOP_MANAGED = "desktop-managed"
    WSL_HYPER_V = "wsl-hyper-v"
    UNSUPPORTED = "unsupported"


class RuntimeProfile(enum.StrEnum):
    """Workload contract a backend can serve."""

    SANDBOXED_OCI_V1 = "sandboxed-oci-v1"
    CONTAINER_BUILD_V1 = "container-build-v1"
    SERVICE_OCI_V1 = "service-oci-v1"
    WASM_COMPONENT_V1 = "wasm-component-v1"
    BROWSER_WORKER_WASM_V1 = "browser-worker-wasm-v1"


class ExecutionSecurityTier(enum.StrEnum):
    """Security tier an executor claims."""

    TRUSTED_NATIVE = "trusted-native"
    HARDENED_CONTAINER = "hardened-container"
    SANDBOXED_CONTAINER = "sandboxed-container"
    MICROVM = "microvm"
    CONFIDENTIAL_CPU = "confidential-cpu"
    CONFIDENTIAL_GPU = "confidential-gpu"
    WASM_CAPABILITY = "wasm-capability"


class ProofTier(enum.StrEnum):
    """Kind of proof an executor attaches to its results."""

    RECEIPT_ONLY = "receipt-only"
    ARTIFACT_HASH = "artifact-hash"
    REPLICATED_QUORUM = "replicated-quorum"
    ATTESTED_RECEIPT = "attested-receipt"
    ATTESTED_QUORUM = "attested-quorum"
    ZK_REPLAY = "zk-replay"


@attrs.frozen(kw_only=True)
class ExecutorRef:
    """Executor a supported backend advertises for one provider."""

    provider: str
    version: str
    execution_security_tier: ExecutionSecurityTier | None = attrs.field(
        default=None, metadata=OMIT_EMPTY
    )
    proof_tier: ProofTier | None = attrs.field(default=None, metadata=OMIT_EMPTY)
    image_digest: str = attrs.field(default="", metadata=OMIT_EMPTY)
    rootfs_digest: str = attrs.field(default="", metadata=OMIT_EMPTY)


@attrs.frozen(kw_only=True)
class RuntimeBackendEvidence:
    """Evidence printed by the conformance probe program, as the host checked it."""

    digest: str = attrs.field(default="", metadata=OMIT_EMPTY)
    workspace: bool = attrs.field(default=False, metadata=OMIT_EMPTY)
    network: bool = attrs.field(default=False, metadata=OMIT_EMPTY)
    env: bool = attrs.field(default=False, metadata=OMIT_EMPTY)
    proof: bool = attrs.field(default=False, metadata=OMIT_EMPTY)
    cleanup: bool = attrs.field(default=False, metadata=OMIT_EMPTY)
    details: tuple[str, ...] = attrs.field(default=(), metadata=OMIT_EMPTY)

    def missing_flags(self) -> tuple[str, ...]:
        """Return the names of the conformance flags that are not true, in order."""
        flags = ("workspace", "network", "env", "proof", "cleanup")
        return tuple(name for name in flags if not getattr(self, name))


@attrs.frozen(kw_only=True)
class ManagedRuntimeSignatureSubject:
    """Claims the bundle's signature is bound to; every field is always written."""

    artifact_digest: str = ""
    runtime_family: str = ""
    os: str = ""
    arch: str = ""
    version: str = ""
    channel: str = ""
    conformance_profile: str = ""
    scoped_store_policy_digest: str = ""


@attrs.frozen(kw_only=True)
class ManagedRuntimeUpdatePolicy:
    """Update channel and version floor of a bundle."""

    channel: str = ""
    min_supported_version: str = ""
    blocked_versions: tuple[str, ...] = attrs.field(default=(), metadata=OMIT_EMPTY)


@attrs.frozen(kw_only=True)
class ManagedRuntimeCVEPolicy:
    """Versions and signing keys withdrawn because of vulnerabilities."""

    policy_digest: str = ""
    blocked_versions: tuple[str, ...] = attrs.field(default=(), metadata=OMIT_EMPTY)
    revoked_key_ids: tuple[str, ...] = attrs.field(default=(), metadata=OMIT_EMPTY)
    updated_by_version: str = ""


@attrs.frozen(kw_only=True)
class ManagedRuntimeScopedStorePolicy:
    """Isolation rules for a managed runtime's content store; every field is written."""

    required: bool = False
    namespace_strategy: str = ""
    store_strategy: str = ""
    policy_digest: str = ""
    cleanup_required: bool = False
    host_global_visibility_forbidden: bool = False


@attrs.frozen(kw_only=True)
class ManagedRuntimeTarget:
    """Operating system and architecture pair in Go names (``linux``, ``amd64``)."""

    os: str = ""
    arch: str = ""


@attrs.frozen(kw_only=True)
class ManagedRuntimeBundleDescriptor:
    """Pinned, signed runtime bundle as the catalog and bundled reports describe it."""

    protocol_version: str = attrs.field(default="", metadata=OMIT_EMPTY)
    bundle_id: str = ""
    family: RuntimeBackendFamily | None = None
    tool: ContainerRuntimeTool | None = attrs.field(default=None, metadata=OMIT_EMPTY)
    version: str = ""
    os: str = ""
    arch: str = ""
    artifact_name: str = ""
    artifact_digest: str = ""
    checksum_name: str = ""
    checksum_digest: str = ""
    signature_name: str = ""
    signature_digest: str = ""
    signature_issuer: str = ""
    signature_key_id: str = ""
    trust_root_digest: str = ""
    signature_subject: ManagedRuntimeSignatureSubject = ManagedRuntimeSignatureSubject()
    valid_until: datetime | None = attrs.field(default=None, metadata=OMIT_ZERO)
    update_policy: ManagedRuntimeUpdatePolicy = ManagedRuntimeUpdatePolicy()
    cve_policy: ManagedRuntimeCVEPolicy = ManagedRuntimeCVEPolicy()
    scoped_store: ManagedRuntimeScopedStorePolicy = ManagedRuntimeScopedStorePolicy()
    # None is Go's nil slice, written as null; an empty tuple is written as [].
    supported_targets: tuple[ManagedRuntimeTarget, ...] | None = None
    conformance_profile: str = ""
    install_burden: RuntimeInstallBurden | None = None


@attrs.frozen(kw_only=True)
class RuntimeBackendReport:
    """One backend's verdict, shipped to the Workflow Compute host."""

    protocol_version: str = attrs.field(default="", metadata=OMIT_EMPTY)
    backend_id: str
    family: RuntimeBackendFamily | None
    tool: ContainerRuntimeTool | None = attrs.field(default=None, metadata=OMIT_EMPTY)
    version: str = attrs.field(default="", metadata=OMIT_EMPTY)
    os: str = attrs.field(default="", metadata=OMIT_EMPTY)
    arch: str = attrs.field(default="", metadata=OMIT_EMPTY)
    status: RuntimeBackendStatus | None
    reason: str = attrs.field(default="", metadata=OMIT_EMPTY)
    isolation_mode: RuntimeIsolationMode | None
    install_burden: RuntimeInstallBurden | None = attrs.field(
        default=None, metadata=OMIT_EMPTY
    )
    runtime_profiles: tuple[RuntimeProfile, ...] = attrs.field(
        default=(), metadata=OMIT_EMPTY
    )
    executor_providers: tuple[str, ...] = attrs.field(default=(), metadata=OMIT_EMPTY)
    executors: tuple[ExecutorRef, ...] = attrs.field(default=(), metadata=OMIT_EMPTY)
    conformance_profiles: tuple[str, ...] = attrs.field(default=(), metadata=OMIT_EMPTY)
    evidence: RuntimeBackendEvidence = attrs.field(
        default=RuntimeBackendEvidence(), metadata=OMIT_ZERO
    )
    bundle: ManagedRuntimeBundleDescriptor | None = attrs.field(
        default=None, metadata=OMIT_EMPTY
    )
    generated_at: datetime | None = attrs.field(default=None, metadata=OMIT_ZERO)
    constraints: tuple[str, ...] = attrs.field(default=(), metadata=OMIT_EMPTY)
