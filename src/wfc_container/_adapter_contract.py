"""
Runtime adapter contracts built from catalog entries, and their validation.

A contract is what the host reads to learn what an adapter runs, under which
runtime descriptor, and which conformance profiles it passed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import attrs

from ._adapters_catalog import (
    RuntimeAdapterCatalogEntry,
    RuntimeAdapterKind,
    RuntimeWorkspacePolicy,
    WorkloadKind,
)
from ._bundle_rules import enum_problems, go_quote
from ._textrules import digest_problems, go_trim_space, identifier_problems
from ._wire import (
    OMIT_EMPTY,
    OMIT_ZERO,
    PROTOCOL_VERSION,
    ExecutionSecurityTier,
    ProofTier,
    RuntimeProfile,
)

if TYPE_CHECKING:
    import enum
    from collections.abc import Sequence

_TIERS_WITHOUT_IMAGE = frozenset(
    {ExecutionSecurityTier.TRUSTED_NATIVE, ExecutionSecurityTier.WASM_CAPABILITY}
)
_SERVICE_KINDS = frozenset(
    {RuntimeAdapterKind.SERVICE_RUN, RuntimeAdapterKind.SERVICE_SESSION}
)
_SERVICE_WORKLOADS = frozenset({WorkloadKind.SERVICE, WorkloadKind.NODE_SERVICE})


@attrs.frozen(kw_only=True)
class RuntimeDescriptor:
    """The runtime an adapter executes on, with its security and proof tiers."""

    name: str = ""
    version: str = ""
    execution_security_tier: ExecutionSecurityTier | None = attrs.field(
        default=None, metadata=OMIT_EMPTY
    )
    proof_tier: ProofTier | None = attrs.field(default=None, metadata=OMIT_EMPTY)
    image_digest: str = attrs.field(default="", metadata=OMIT_EMPTY)
    rootfs_digest: str = attrs.field(default="", metadata=OMIT_EMPTY)


@attrs.frozen(kw_only=True)
class RuntimeAdapterContract:
    """
    Promise an adapter makes to the host.

    .. note:: The protocol's ``residue_policy`` and ``provider_config`` fields
       are not modelled. Both are ``omitzero`` in Go, so a contract without
       them writes the same JSON, but a document that sets them is rejected.
    """

    protocol_version: str
    adapter_id: str
    descriptor: RuntimeDescriptor = attrs.field(
        default=RuntimeDescriptor(), metadata=OMIT_ZERO
    )
    kinds: tuple[RuntimeAdapterKind, ...]
    workload_kinds: tuple[WorkloadKind, ...]
    runtime_profiles: tuple[RuntimeProfile, ...] = attrs.field(
        default=(), metadata=OMIT_EMPTY
    )
    workspace_policy: RuntimeWorkspacePolicy | None
    conformance_profiles: tuple[str, ...]
    metadata: dict[str, str] = attrs.field(
        factory=dict, metadata={"omit": "empty", "go_map": True}
    )


def adapter_contract(
    entry: RuntimeAdapterCatalogEntry, descriptor: RuntimeDescriptor
) -> RuntimeAdapterContract:
    """
    Build the contract of a catalog adapter running on ``descriptor``.

    The descriptor's empty ``name`` is filled from the adapter id.
    """
    if not descriptor.name:
        descriptor = attrs.evolve(descriptor, name=entry.adapter_id)

    return RuntimeAdapterContract(
        protocol_version=PROTOCOL_VERSION,
        adapter_id=entry.adapter_id,
        descriptor=descriptor,
        kinds=entry.kinds,
        workload_kinds=entry.workload_kinds,
        runtime_profiles=entry.runtime_profiles,
        workspace_policy=entry.workspace_policy,
        conformance_profiles=entry.conformance_profiles,
    )


def contract_problems(contract: RuntimeAdapterContract) -> tuple[str, ...]:
    """Check a contract as the protocol does and return every problem in order."""
    problems: list[str] = []
    if not contract.protocol_version:
        problems.append("protocol_version is required")
    elif contract.protocol_version != PROTOCOL_VERSION:
        problems.append(
            f"protocol_version {go_quote(contract.protocol_version)} is unsupported"
        )
    problems += identifier_problems("adapter_id", contract.adapter_id)
    problems += descriptor_problems(contract.descriptor)
    problems += _kind_problems(contract)
    for index, profile in enumerate(contract.runtime_profiles):
        field = f"runtime_profiles[{index}]"
        problems += enum_problems(field, profile, RuntimeProfile, required=True)
    problems += enum_problems(
        "workspace_policy",
        contract.workspace_policy,
        RuntimeWorkspacePolicy,
        required=True,
    )
    problems += _conformance_problems(contract.conformance_profiles)
    for key in sorted(contract.metadata):
        problems += identifier_problems(f"metadata key {go_quote(key)}", key)
    return tuple(problems)


def _kind_problems(contract: RuntimeAdapterContract) -> list[str]:
    problems = _unique_enum_problems("kinds", contract.kinds, RuntimeAdapterKind)
    problems += _unique_enum_problems(
        "workload_kinds", contract.workload_kinds, WorkloadKind
    )
    has_service_kind = bool(_SERVICE_KINDS.intersection(contract.kinds))
    if has_service_kind and not _SERVICE_WORKLOADS.intersection(
        contract.workload_kinds
    ):
        problems.append(
            "service adapter kinds require a service or node-service workload"
        )

    return problems


def descriptor_problems(descriptor: RuntimeDescriptor) -> list[str]:
    """Check a runtime descriptor: name, version, tiers and image digests."""
    problems = identifier_problems("descriptor.name", descriptor.name)
    version = descriptor.version
    if not go_trim_space(version):
        problems.append("descriptor.version is required")
    elif any(char.isspace() or char == "\x00" for char in version):
        problems.append("descriptor.version must not contain whitespace")
    tier = descriptor.execution_security_tier
    problems += enum_problems(
        "descriptor.execution_security_tier", tier, ExecutionSecurityTier, required=True
    )
    problems += enum_problems(
        "descriptor.proof_tier", descriptor.proof_tier, ProofTier, required=True
    )
    needs_image = bool(tier) and tier not in _TIERS_WITHOUT_IMAGE
    for name in ("image_digest", "rootfs_digest"):
        problems += digest_problems(
            f"descriptor.{name}",
            getattr(descriptor, name),
            required=needs_image,
            lowercase_only=False,
        )

    return problems


def _unique_enum_problems(
    field: str, values: Sequence[object], cls: type[enum.Enum]
) -> list[str]:
    if not values:
        return [f"{field} are required"]

    problems: list[str] = []
    for index, value in enumerate(values):
        problems += enum_problems(f"{field}[{index}]", value, cls, required=True)
        if value in values[:index]:
            problems.append(f"{field}[{index}] {go_quote(value)} is duplicated")

    return problems


def _conformance_problems(profiles: Sequence[str]) -> list[str]:
    if not profiles:
        return ["conformance_profiles are required"]

    problems: list[str] = []
    for index, profile in enumerate(profiles):
        problems += identifier_problems(f"conformance_profiles[{index}]", profile)
        if profile in profiles[:index]:
            problems.append(
                f"conformance_profiles[{index}] {go_quote(profile)} is duplicated"
            )

    return problems
