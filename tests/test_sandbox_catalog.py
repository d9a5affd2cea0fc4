from __future__ import annotations

import os

import attrs
import pytest

from wfc_container import (
    DocumentError,
    ExecutionSecurityTier,
    ProofTier,
    RuntimeProfile,
)
from wfc_container._adapter_contract import RuntimeDescriptor, contract_problems
from wfc_container._adapters_catalog import (
    RuntimeWorkspacePolicy,
    WorkloadKind,
    load_runtime_adapters,
)
from wfc_container.sandbox import (
    SandboxRequestError,
    build_sandboxed_container,
    run_sandboxed_command,
)
from wfc_container.sandbox._catalog import (
    SANDBOXED_COMMAND,
    SANDBOXED_CONTAINER_BUILD,
    catalog_adapters,
    target_for_backend,
)


def test_catalog_adapters_shipped() -> None:
    adapters = catalog_adapters()
    assert adapters["sandboxed-command"].run is run_sandboxed_command
    assert adapters["sandboxed-command"].operation == "run-sandboxed-command"
    assert adapters["sandboxed-container-build"].run is build_sandboxed_container
    assert set(adapters) == {"sandboxed-command", "sandboxed-container-build"}


def test_catalog_adapters_mismatch() -> None:
    catalog = load_runtime_adapters()
    command, build = catalog.adapters
    changed = attrs.evolve(
        catalog,
        adapters=(
            attrs.evolve(command, operation="run-other"),
            attrs.evolve(build, workload_kinds=(WorkloadKind.COMMAND,)),
            attrs.evolve(command, adapter_id="service-runner"),
        ),
    )
    with pytest.raises(DocumentError) as caught:
        catalog_adapters(changed)
    assert caught.value.problems == (
        "operation 'run-other' differs from the implemented 'run-sandboxed-command'"
        " @ $.adapters[0].operation",
        "workload kinds ['command'] differ from the implemented ['container-build']"
        " @ $.adapters[1].workload_kinds",
        "adapter 'service-runner' is not implemented @ $.adapters[2]",
    )


@pytest.mark.parametrize(
    ("name", "tool"),
    [
        ("docker", "docker"),
        ("nerdctl", "nerdctl"),
        ("podman-rootless", "podman"),
        ("docker-desktop", "docker"),
        ("nerdctl-containerd", "nerdctl"),
    ],
)
def test_target_for_backend(name: str, tool: str) -> None:
    target = target_for_backend(name)
    assert target.tool == tool
    assert target.scope == ()


def test_target_podman_rootless_follows_euid() -> None:
    assert target_for_backend("podman").rootless is (os.geteuid() != 0)


def test_target_managed_rejected() -> None:
    with pytest.raises(SandboxRequestError) as caught:
        target_for_backend("managed-containerd-linux-amd64")
    assert "a system-installed backend" in str(caught.value)


def test_target_backend_without_adapter() -> None:
    catalog = load_runtime_adapters()
    first = catalog.runtime_backends[0]
    changed = attrs.evolve(
        catalog,
        runtime_backends=(
            attrs.evolve(first, executor_providers=("sandboxed-command",)),
        ),
    )
    with pytest.raises(SandboxRequestError) as caught:
        target_for_backend(
            first.backend_id, adapter_id="sandboxed-container-build", catalog=changed
        )
    assert str(caught.value) == (
        f"invalid backend {first.backend_id!r}: expected a backend that serves"
        " 'sandboxed-container-build' with docker, nerdctl or podman"
    )


def test_target_unknown() -> None:
    with pytest.raises(SandboxRequestError) as caught:
        target_for_backend("lxc")
    assert str(caught.value).startswith(
        "invalid backend 'lxc': expected one of docker, nerdctl, podman,"
        " podman-rootless"
    )


def descriptor() -> RuntimeDescriptor:
    return RuntimeDescriptor(
        version="v1.0.0",
        execution_security_tier=ExecutionSecurityTier.SANDBOXED_CONTAINER,
        proof_tier=ProofTier.ARTIFACT_HASH,
        image_digest="sha256:" + "b" * 64,
        rootfs_digest="sha256:" + "c" * 64,
    )


def test_command_contract() -> None:
    contract = SANDBOXED_COMMAND.contract(descriptor())
    assert contract.adapter_id == "sandboxed-command"
    assert contract.descriptor.name == "sandboxed-command"
    assert contract.workload_kinds == (WorkloadKind.COMMAND,)
    assert contract.runtime_profiles == (RuntimeProfile.SANDBOXED_OCI_V1,)
    assert contract.workspace_policy is RuntimeWorkspacePolicy.REQUIRED
    assert contract.conformance_profiles == ("sandboxed-command-v1",)
    assert contract_problems(contract) == ()


def test_build_contract() -> None:
    contract = SANDBOXED_CONTAINER_BUILD.contract(descriptor())
    assert contract.adapter_id == "sandboxed-container-build"
    assert contract.workload_kinds == (WorkloadKind.CONTAINER_BUILD,)
    assert contract.runtime_profiles == (RuntimeProfile.CONTAINER_BUILD_V1,)
    assert contract.conformance_profiles == ("container-build-v1",)
    assert contract_problems(contract) == ()


def test_catalog_entries_match_builtin() -> None:
    catalog = load_runtime_adapters()
    assert catalog.adapters == (
        SANDBOXED_COMMAND.catalog_entry(),
        SANDBOXED_CONTAINER_BUILD.catalog_entry(),
    )
