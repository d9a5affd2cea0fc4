"""Contracts built from the shipped adapter catalog, and the contract rules."""

from __future__ import annotations

import attrs
import pytest

from wfc_container._adapter_contract import (
    RuntimeDescriptor,
    adapter_contract,
    contract_problems,
)
from wfc_container._adapters_catalog import (
    RuntimeAdapterCatalog,
    RuntimeAdapterKind,
    WorkloadKind,
    load_runtime_adapters,
)
from wfc_container._gojson import dumps
from wfc_container._wire import ExecutionSecurityTier, ProofTier


@pytest.fixture
def catalog() -> RuntimeAdapterCatalog:
    return load_runtime_adapters()


def test_contract_each_adapter_valid(catalog: RuntimeAdapterCatalog) -> None:
    for entry in catalog.adapters:
        descriptor = RuntimeDescriptor(
            name=entry.adapter_id,
            version="v1.0.0",
            execution_security_tier=ExecutionSecurityTier.SANDBOXED_CONTAINER,
            proof_tier=ProofTier.ARTIFACT_HASH,
            image_digest="sha256:" + "a" * 64,
            rootfs_digest="sha256:" + "b" * 64,
        )

        contract = adapter_contract(entry, descriptor)

        assert contract_problems(contract) == ()
        assert contract.protocol_version == "compute.v1alpha1"
        assert contract.workload_kinds == entry.workload_kinds


def test_contract_fills_descriptor_name(catalog: RuntimeAdapterCatalog) -> None:
    descriptor = RuntimeDescriptor(
        version="v1",
        execution_security_tier=ExecutionSecurityTier.TRUSTED_NATIVE,
        proof_tier=ProofTier.RECEIPT_ONLY,
    )

    contract = adapter_contract(catalog.adapters[1], descriptor)

    assert contract.descriptor.name == "sandboxed-container-build"
    assert contract_problems(contract) == ()
    assert dumps(contract).startswith(
        '{"protocol_version":"compute.v1alpha1",'
        '"adapter_id":"sandboxed-container-build","descriptor":{'
        '"name":"sandboxed-container-build","version":"v1",'
        '"execution_security_tier":"trusted-native","proof_tier":"receipt-only"},'
        '"kinds":["execution"],"workload_kinds":["container-build"],'
    )


def test_contract_rule_failures(catalog: RuntimeAdapterCatalog) -> None:
    contract = attrs.evolve(
        adapter_contract(catalog.adapters[0], RuntimeDescriptor(version="v 1")),
        protocol_version="",
        kinds=(RuntimeAdapterKind.SERVICE_RUN, RuntimeAdapterKind.SERVICE_RUN),
        workload_kinds=(),
        runtime_profiles=("wasm",),  # type: ignore[arg-type]
        workspace_policy=None,
        conformance_profiles=("a", "a"),
        metadata={"bad key": "x"},
    )

    assert contract_problems(contract) == (
        "protocol_version is required",
        "descriptor.version must not contain whitespace",
        "descriptor.execution_security_tier is required",
        "descriptor.proof_tier is required",
        'kinds[1] "service-run" is duplicated',
        "workload_kinds are required",
        "service adapter kinds require a service or node-service workload",
        'runtime_profiles[0] "wasm" is unsupported',
        "workspace_policy is required",
        'conformance_profiles[1] "a" is duplicated',
        'metadata key "bad key" must not contain whitespace, scheme, path, query, '
        "or fragment",
    )


def test_contract_image_digests_required() -> None:
    contract = attrs.evolve(
        adapter_contract(
            load_runtime_adapters().adapters[0],
            RuntimeDescriptor(
                version="v1",
                execution_security_tier=ExecutionSecurityTier.MICROVM,
                proof_tier=ProofTier.ARTIFACT_HASH,
                rootfs_digest="sha256:" + "A" * 64,
            ),
        ),
        workload_kinds=(WorkloadKind.COMMAND,),
    )

    assert contract_problems(contract) == ("descriptor.image_digest is required",)
