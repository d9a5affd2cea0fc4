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
from ._json_api import from_json, to_json
from ._report_rules import report_problems, validate_report
from ._textrules import ScrubbedText, scrub_public_text
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
    "ScrubbedText",
    "WfcError",
    "from_json",
    "report_problems",
    "scrub_public_text",
    "to_json",
    "validate_report",
)
