"""Report, with evidence, which container runtimes on a host can run sandboxed work."""

from __future__ import annotations

from ._errors import (
    BundleError,
    CommandStartError,
    DocumentError,
    ImageError,
    ProbeConfigError,
    ProbeError,
    ProbeTimeoutError,
    SandboxError,
    WfcError,
)
from ._wire import (
    PROTOCOL_VERSION,
    ContainerRuntimeTool,
    ExecutionSecurityTier,
    ExecutorRef,
    ManagedRuntimeBundleDescriptor,
    ProofTier,
    RuntimeBackendEvidence,
    RuntimeBackendFamily,
    RuntimeBackendReport,
    RuntimeBackendStatus,
    RuntimeInstallBurden,
    RuntimeIsolationMode,
    RuntimeProfile,
)

__all__ = (
    "PROTOCOL_VERSION",
    "BundleError",
    "CommandStartError",
    "ContainerRuntimeTool",
    "DocumentError",
    "ExecutionSecurityTier",
    "ExecutorRef",
    "ImageError",
    "ManagedRuntimeBundleDescriptor",
    "ProbeConfigError",
    "ProbeError",
    "ProbeTimeoutError",
    "ProofTier",
    "RuntimeBackendEvidence",
    "RuntimeBackendFamily",
    "RuntimeBackendReport",
    "RuntimeBackendStatus",
    "RuntimeInstallBurden",
    "RuntimeIsolationMode",
    "RuntimeProfile",
    "SandboxError",
    "WfcError",
)
