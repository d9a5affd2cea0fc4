"""Wiring between ``catalogs/runtime-adapters.json`` and the adapters here."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import attrs

from .._adapter_contract import (
    RuntimeAdapterContract,
    RuntimeDescriptor,
    adapter_contract,
)
from .._adapters_catalog import (
    RuntimeAdapterCatalog,
    RuntimeAdapterCatalogEntry,
    RuntimeAdapterKind,
    RuntimeWorkspacePolicy,
    WorkloadKind,
    load_runtime_adapters,
)
from .._errors import DocumentError
from .._wire import RuntimeInstallBurden, RuntimeProfile
from ._adapters import build_sandboxed_container, local_target, run_sandboxed_command
from ._argv import TOOLS, RuntimeTarget
from ._errors import SandboxRequestError
from ._invocation import SandboxInvocation
from ._wire import (
    BUILD_ADAPTER,
    BUILD_OPERATION,
    COMMAND_ADAPTER,
    COMMAND_OPERATION,
    RuntimeExecutionResult,
)

AdapterRun = Callable[
    [SandboxInvocation, RuntimeTarget], Awaitable[RuntimeExecutionResult]
]


@attrs.frozen(kw_only=True)
class SandboxAdapter:
    """An adapter this package implements, as the catalog names it."""

    adapter_id: str
    operation: str
    workload_kind: WorkloadKind
    runtime_profile: RuntimeProfile
    conformance_profile: str
    run: AdapterRun

    def catalog_entry(self) -> RuntimeAdapterCatalogEntry:
        """Return the catalog entry that describes this adapter."""
        return RuntimeAdapterCatalogEntry(
            adapter_id=self.adapter_id,
            operation=self.operation,
            kinds=(RuntimeAdapterKind.EXECUTION,),
            workload_kinds=(self.workload_kind,),
            runtime_profiles=(self.runtime_profile,),
            workspace_policy=RuntimeWorkspacePolicy.REQUIRED,
            conformance_profiles=(self.conformance_profile,),
        )

    def contract(self, descriptor: RuntimeDescriptor) -> RuntimeAdapterContract:
        """Return this adapter's contract on ``descriptor`` (empty name: the id)."""
        return adapter_contract(self.catalog_entry(), descriptor)


SANDBOXED_COMMAND = SandboxAdapter(
    adapter_id=COMMAND_ADAPTER,
    operation=COMMAND_OPERATION,
    workload_kind=WorkloadKind.COMMAND,
    runtime_profile=RuntimeProfile.SANDBOXED_OCI_V1,
    conformance_profile="sandboxed-command-v1",
    run=run_sandboxed_command,
)
SANDBOXED_CONTAINER_BUILD = SandboxAdapter(
    adapter_id=BUILD_ADAPTER,
    operation=BUILD_OPERATION,
    workload_kind=WorkloadKind.CONTAINER_BUILD,
    runtime_profile=RuntimeProfile.CONTAINER_BUILD_V1,
    conformance_profile="container-build-v1",
    run=build_sandboxed_container,
)
SANDBOX_ADAPTERS = (SANDBOXED_COMMAND, SANDBOXED_CONTAINER_BUILD)


def catalog_adapters(
    catalog: RuntimeAdapterCatalog | None = None,
) -> dict[str, SandboxAdapter]:
    """
    Return the implementation of every adapter the catalog lists, by adapter id.

    :param catalog: the adapter catalog; the shipped one when omitted.
    :raises DocumentError: when an entry has no implementation here, or its
        operation or workload kinds differ from the implementation's.
    """
    catalog = catalog or load_runtime_adapters()
    known = {adapter.adapter_id: adapter for adapter in SANDBOX_ADAPTERS}
    found: dict[str, SandboxAdapter] = {}
    problems: list[str] = []
    for index, entry in enumerate(catalog.adapters):
        where = f"$.adapters[{index}]"
        adapter = known.get(entry.adapter_id)
        if adapter is None:
            problems.append(
                f"adapter {entry.adapter_id!r} is not implemented @ {where}"
            )
            continue

        if entry.operation != adapter.operation:
            problems.append(
                f"operation {entry.operation!r} differs from the implemented"
                f" {adapter.operation!r} @ {where}.operation"
            )
        if tuple(entry.workload_kinds) != (adapter.workload_kind,):
            problems.append(
                f"workload kinds {[str(k) for k in entry.workload_kinds]!r} differ from"
                f" the implemented [{str(adapter.workload_kind)!r}]"
                f" @ {where}.workload_kinds"
            )
        found[entry.adapter_id] = adapter

    if problems:
        raise DocumentError(document="runtime adapter catalog", problems=problems)

    return found


def target_for_backend(
    name: str,
    *,
    adapter_id: str = COMMAND_ADAPTER,
    catalog: RuntimeAdapterCatalog | None = None,
) -> RuntimeTarget:
    """
    Return the local runtime CLI for a tool name or a catalog backend id.

    ``docker``, ``podman`` and ``nerdctl`` name the tool directly. A backend
    id must serve ``adapter_id`` and list one of those tools.

    :raises SandboxRequestError: when ``name`` is unknown, or the backend does
        not serve the adapter, is managed, or has no supported tool.

    A managed (bundled) backend is rejected, because its catalog entry does
    not name the installed ``nerdctl`` or the namespace it uses. Build a
    `RuntimeTarget` for such a backend instead.
    """
    if name in TOOLS:
        return local_target(name)

    catalog = catalog or load_runtime_adapters()
    for backend in catalog.runtime_backends:
        if backend.backend_id != name:
            continue

        if RuntimeInstallBurden.BUNDLED in backend.install_burdens:
            raise SandboxRequestError(
                field="backend",
                value=name,
                expected="a system-installed backend (a managed bundle needs a"
                " RuntimeTarget with its own nerdctl and namespace)",
            )

        tools = [str(tool) for tool in backend.tools if str(tool) in TOOLS]
        if adapter_id not in backend.executor_providers or not tools:
            raise SandboxRequestError(
                field="backend",
                value=name,
                expected=f"a backend that serves {adapter_id!r} with docker,"
                " nerdctl or podman",
            )
        return local_target(tools[0])

    known = ", ".join([*TOOLS, *(b.backend_id for b in catalog.runtime_backends)])
    raise SandboxRequestError(field="backend", value=name, expected=f"one of {known}")
