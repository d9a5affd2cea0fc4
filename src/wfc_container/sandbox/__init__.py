"""
Sandbox adapters: run command and image-build workloads in hardened containers.

Build an invocation with `build_command_invocation` or
`build_container_build_invocation`, describe the runtime CLI with
`local_target` (or a `RuntimeTarget`), then await `run_sandboxed_command` or
`build_sandboxed_container`.
"""

from __future__ import annotations

from .._adapters_catalog import WorkloadKind
from ._adapters import build_sandboxed_container, local_target, run_sandboxed_command
from ._argv import RunSpec, RuntimeTarget, build_run_argv
from ._artifacts import hash_artifacts
from ._errors import (
    ArtifactError,
    BuildDigestError,
    SandboxRequestError,
    SandboxRuntimeError,
    SandboxTimeoutError,
    UnsafePathError,
    WorkspacePermissionError,
)
from ._invocation import (
    SandboxInvocation,
    build_command_invocation,
    build_container_build_invocation,
)
from ._mounts import DataMount
from ._wire import (
    CommandWorkload,
    ContainerBuildWorkload,
    EnvRef,
    ResourceLimits,
    ResourceUsage,
    RuntimeExecutionRequest,
    RuntimeExecutionResult,
)

__all__ = (
    "ArtifactError",
    "BuildDigestError",
    "CommandWorkload",
    "ContainerBuildWorkload",
    "DataMount",
    "EnvRef",
    "ResourceLimits",
    "ResourceUsage",
    "RunSpec",
    "RuntimeExecutionRequest",
    "RuntimeExecutionResult",
    "RuntimeTarget",
    "SandboxInvocation",
    "SandboxRequestError",
    "SandboxRuntimeError",
    "SandboxTimeoutError",
    "UnsafePathError",
    "WorkloadKind",
    "WorkspacePermissionError",
    "build_command_invocation",
    "build_container_build_invocation",
    "build_run_argv",
    "build_sandboxed_container",
    "hash_artifacts",
    "local_target",
    "run_sandboxed_command",
)
