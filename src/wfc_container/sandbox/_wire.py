"""
Wire types of sandboxed runs: the request, its workloads, and the result.

Attribute names are the JSON keys and attribute order is the Go struct order, as
in ``wfc_container._wire``. ``stdout`` and ``stderr`` are bytes, which the
encoder writes as padded base64, as Go does for ``[]byte``.
"""

from __future__ import annotations

from datetime import datetime

import attrs

from .._adapters_catalog import WorkloadKind
from .._wire import OMIT_EMPTY, OMIT_ZERO, PROTOCOL_VERSION

# Go sorts map keys on output; the encoder reads this marker.
GO_MAP = {"omit": "empty", "go_map": True}

COMMAND_ADAPTER = "sandboxed-command"
COMMAND_OPERATION = "run-sandboxed-command"
BUILD_ADAPTER = "sandboxed-container-build"
BUILD_OPERATION = "build-sandboxed-container"


@attrs.frozen(kw_only=True)
class EnvRef:
    """One workload environment variable, named by a reference the host resolves."""

    name: str
    value_ref: str = attrs.field(default="", metadata=OMIT_EMPTY)
    secret_ref: str = attrs.field(default="", metadata=OMIT_EMPTY)


# NOTE: the Go type also has ``confidential_payload``; it is not modelled here, so
# a request that carries one is rejected by the strict converter.
@attrs.frozen(kw_only=True)
class CommandWorkload:
    """A command to run in a sandboxed container with the workspace mounted."""

    # None is Go's nil slice, written as null.
    args: tuple[str, ...] | None = None
    working_directory: str = attrs.field(default="", metadata=OMIT_EMPTY)
    env: tuple[EnvRef, ...] = attrs.field(default=(), metadata=OMIT_EMPTY)
    artifact_refs: tuple[str, ...] = attrs.field(default=(), metadata=OMIT_EMPTY)
    artifact_allowlist: tuple[str, ...] = attrs.field(default=(), metadata=OMIT_EMPTY)


@attrs.frozen(kw_only=True)
class ContainerBuildWorkload:
    """An image build from a context directory inside the workspace."""

    context_directory: str = ""
    dockerfile: str = attrs.field(default="", metadata=OMIT_EMPTY)
    tags: tuple[str, ...] = attrs.field(default=(), metadata=OMIT_EMPTY)
    push_target_ref: str = attrs.field(default="", metadata=OMIT_EMPTY)
    pull_target_ref: str = attrs.field(default="", metadata=OMIT_EMPTY)
    env: tuple[EnvRef, ...] = attrs.field(default=(), metadata=OMIT_EMPTY)


@attrs.frozen(kw_only=True)
class ResourceLimits:
    """Upper bounds for one run; 0 means no limit."""

    cpu_percent: int = attrs.field(default=0, metadata=OMIT_EMPTY)
    memory_bytes: int = attrs.field(default=0, metadata=OMIT_EMPTY)
    workspace_bytes: int = attrs.field(default=0, metadata=OMIT_EMPTY)
    runtime_seconds: int = attrs.field(default=0, metadata=OMIT_EMPTY)
    network_egress_bytes: int = attrs.field(default=0, metadata=OMIT_EMPTY)
    output_bytes: int = attrs.field(default=0, metadata=OMIT_EMPTY)


@attrs.frozen(kw_only=True)
class ResourceUsage:
    """Resources one run used, and the limit that stopped it (``limit_hit``)."""

    cpu_millis: int = attrs.field(default=0, metadata=OMIT_EMPTY)
    gpu_millis: int = attrs.field(default=0, metadata=OMIT_EMPTY)
    max_memory_bytes: int = attrs.field(default=0, metadata=OMIT_EMPTY)
    network_rx_bytes: int = attrs.field(default=0, metadata=OMIT_EMPTY)
    network_tx_bytes: int = attrs.field(default=0, metadata=OMIT_EMPTY)
    workspace_bytes: int = attrs.field(default=0, metadata=OMIT_EMPTY)
    output_bytes: int = attrs.field(default=0, metadata=OMIT_EMPTY)
    limit_hit: str = attrs.field(default="", metadata=OMIT_EMPTY)


# NOTE: the Go type also has ``provider_config``; it is not modelled here.
@attrs.frozen(kw_only=True)
class RuntimeExecutionRequest:
    """
    Request an adapter executes.

    ``input`` is the workload without its env refs, as the JSON object Go embeds
    verbatim. ``env`` contains the resolved values.
    """

    protocol_version: str = PROTOCOL_VERSION
    task_id: str
    lease_id: str
    workload_kind: WorkloadKind
    operation: str = attrs.field(default="", metadata=OMIT_EMPTY)
    input: dict[str, object] | None = attrs.field(default=None, metadata=OMIT_EMPTY)
    env: dict[str, str] = attrs.field(factory=dict, metadata=GO_MAP)
    limits: ResourceLimits = attrs.field(factory=ResourceLimits, metadata=OMIT_ZERO)


@attrs.frozen(kw_only=True)
class RuntimeExecutionResult:
    """
    Outcome of one sandboxed run.

    A non-zero ``exit_code`` is the workload's own failure; runtime faults and
    timeouts are raised as errors that carry a result like this one.
    """

    started_at: datetime
    finished_at: datetime
    exit_code: int = attrs.field(default=0, metadata=OMIT_EMPTY)
    stdout: bytes = attrs.field(default=b"", metadata=OMIT_EMPTY)
    stderr: bytes = attrs.field(default=b"", metadata=OMIT_EMPTY)
    artifact_hash: str = attrs.field(default="", metadata=OMIT_EMPTY)
    artifacts: tuple[str, ...] = attrs.field(default=(), metadata=OMIT_EMPTY)
    result_preview: str = attrs.field(default="", metadata=OMIT_EMPTY)
    resource_usage: ResourceUsage = attrs.field(
        factory=ResourceUsage, metadata=OMIT_ZERO
    )
