"""Wiring between ``catalogs/runtime-adapters.json`` and the adapters here."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import attrs

from .._adapters_catalog import (
    RuntimeAdapterCatalog,
    WorkloadKind,
    load_runtime_adapters,
)
from .._errors import DocumentError
from .._wire import RuntimeInstallBurden
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
    run: AdapterRun


SANDBOX_ADAPTERS = (
    SandboxAdapter(
        adapter_id=COMMAND_ADAPTER,
        operation=COMMAND_OPERATION,
        workload_kind=WorkloadKind.COMMAND,
        run=run_sandboxed_command,
    ),
    SandboxAdapter(
        adapter_id=BUILD_ADAPTER,
        operation=BUILD_OPERATION,
        workload_kind=WorkloadKind.CONTAINER_BUILD,
        run=build_sandboxed_container,
    ),
)


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
