"""Report, with evidence, which container runtimes on a host can run sandboxed work."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

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

# The JSON and validation helpers pull in cattrs and the rule tables, which the
# probe command does not need, so they load on first use.
_LAZY = {
    "from_json": "._json_api",
    "to_json": "._json_api",
    "report_problems": "._report_rules",
    "validate_report": "._report_rules",
}

if TYPE_CHECKING:
    from ._json_api import from_json, to_json
    from ._report_rules import report_problems, validate_report


def __getattr__(name: str) -> object:
    if name not in _LAZY:
        message = f"module {__name__!r} has no attribute {name!r}"
        raise AttributeError(message)
    value = getattr(importlib.import_module(_LAZY[name], __name__), name)
    globals()[name] = value
    return value
