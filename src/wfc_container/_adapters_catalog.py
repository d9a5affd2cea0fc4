"""
The runtime adapter catalog: sandbox adapters, runtime backends and their contracts.

``catalogs/runtime-adapters.json`` lists the adapters this plugin offers and the
runtime backends that can serve them. It is checked for presence as the
original plugin does, and beyond that for known enum values, unique ids and
backends that name only adapters the catalog has.
"""

from __future__ import annotations

import enum
from typing import TYPE_CHECKING

import attrs

from ._bundle_rules import enum_problems, go_quote
from ._converter import structure_json
from ._errors import DocumentError
from ._resources import catalog_path
from ._textrules import identifier_problems
from ._wire import (
    OMIT_EMPTY,
    PROTOCOL_VERSION,
    ContainerRuntimeTool,
    ManagedRuntimeTarget,
    RuntimeBackendFamily,
    RuntimeInstallBurden,
    RuntimeIsolationMode,
    RuntimeProfile,
)

if TYPE_CHECKING:
    from collections.abc import Iterable
    from pathlib import Path

RUNTIME_ADAPTERS_FILE = "runtime-adapters.json"


class RuntimeAdapterKind(enum.StrEnum):
    """Mode an adapter runs work in: one execution or a long-lived service."""

    EXECUTION = "execution"
    SERVICE_RUN = "service-run"
    SERVICE_SESSION = "service-session"


class RuntimeWorkspacePolicy(enum.StrEnum):
    """Whether an adapter needs a host workspace mounted into the sandbox."""

    UNAVAILABLE = "unavailable"
    OPTIONAL = "optional"
    REQUIRED = "required"


class WorkloadKind(enum.StrEnum):
    """Kind of task a workload describes."""

    COMMAND = "command"
    CONTAINER_BUILD = "container-build"
    DOCKER_COMPOSE_BUILD = "docker-compose-build"
    BENCHMARK = "benchmark"
    TRAINING = "training"
    SERVICE = "service"
    NODE_SERVICE = "node-service"
    CONTENT_CACHE = "content-cache"
    SUPERVISOR = "supervisor"
    PRODUCT_CAPTURE = "product-capture"
    PROVIDER = "provider"
    WASM_COMPONENT = "wasm-component"


@attrs.frozen(kw_only=True)
class RuntimeAdapterCatalogEntry:
    """One sandbox adapter the plugin offers; every field is always written."""

    adapter_id: str
    operation: str
    kinds: tuple[RuntimeAdapterKind, ...]
    workload_kinds: tuple[WorkloadKind, ...]
    runtime_profiles: tuple[RuntimeProfile, ...]
    workspace_policy: RuntimeWorkspacePolicy | None
    conformance_profiles: tuple[str, ...]


@attrs.frozen(kw_only=True)
class RuntimeBackendCatalogEntry:
    """One runtime backend and the adapters (executor providers) it can serve."""

    backend_id: str
    families: tuple[RuntimeBackendFamily, ...]
    tools: tuple[ContainerRuntimeTool, ...]
    supported_targets: tuple[ManagedRuntimeTarget, ...] = attrs.field(
        default=(), metadata=OMIT_EMPTY
    )
    isolation_modes: tuple[RuntimeIsolationMode, ...]
    install_burdens: tuple[RuntimeInstallBurden, ...]
    runtime_profiles: tuple[RuntimeProfile, ...]
    executor_providers: tuple[str, ...]
    conformance_profiles: tuple[str, ...]


@attrs.frozen(kw_only=True)
class RuntimeAdapterCatalog:
    """The ``runtime-adapters.json`` document."""

    version: str
    protocol_version: str
    adapters: tuple[RuntimeAdapterCatalogEntry, ...]
    runtime_backends: tuple[RuntimeBackendCatalogEntry, ...] = attrs.field(
        default=(), metadata=OMIT_EMPTY
    )
    host_owned_responsibilities: tuple[str, ...]


def load_runtime_adapters(path: Path | None = None) -> RuntimeAdapterCatalog:
    """
    Read and check a runtime adapter catalog.

    :param path: the catalog file; the shipped ``catalogs/runtime-adapters.json``
        when omitted.
    :returns: the catalog, structured strictly and validated.
    :raises DocumentError: when the file is not valid JSON, has unknown keys or
        wrong types, or breaks a catalog rule.
    :raises OSError: when the file cannot be read.
    """
    path = path or catalog_path(RUNTIME_ADAPTERS_FILE)
    document = "runtime adapter catalog"
    catalog = structure_json(
        path.read_bytes(), RuntimeAdapterCatalog, document=document
    )
    problems = catalog_problems(catalog)
    if problems:
        raise DocumentError(document=document, problems=problems)

    return catalog


def catalog_problems(doc: RuntimeAdapterCatalog) -> tuple[str, ...]:
    """
    Check a catalog and return every problem in order.

    The original plugin only checks that fields are present. This also checks
    enum values, that adapter and backend ids are unique identifiers, and that
    each backend's ``executor_providers`` names an adapter of the catalog.
    """
    problems: list[str] = []
    if not doc.version:
        problems.append("version is required")
    if doc.protocol_version != PROTOCOL_VERSION:
        got, want = go_quote(doc.protocol_version), go_quote(PROTOCOL_VERSION)
        problems.append(f"protocol_version = {got}, want {want}")
    if not doc.adapters:
        problems.append("at least one adapter is required")
    for index, adapter in enumerate(doc.adapters):
        problems += [f"adapters[{index}]: {p}" for p in adapter_entry_problems(adapter)]
    adapter_ids = {adapter.adapter_id for adapter in doc.adapters}
    for index, backend in enumerate(doc.runtime_backends):
        found = backend_entry_problems(backend, adapter_ids=adapter_ids)
        problems += [f"runtime_backends[{index}]: {p}" for p in found]
    if not doc.host_owned_responsibilities:
        problems.append("host_owned_responsibilities is required")
    problems += _duplicate_problems("adapters", [a.adapter_id for a in doc.adapters])
    problems += _duplicate_problems(
        "runtime_backends", [b.backend_id for b in doc.runtime_backends]
    )
    return tuple(problems)


def adapter_entry_problems(entry: RuntimeAdapterCatalogEntry) -> list[str]:
    """Check one adapter entry: every field present, enum values known."""
    problems = _required_problems(entry)
    if entry.adapter_id:
        problems += identifier_problems("adapter_id", entry.adapter_id)
    problems += _each_enum("kinds", entry.kinds, RuntimeAdapterKind)
    problems += _each_enum("workload_kinds", entry.workload_kinds, WorkloadKind)
    problems += _each_enum("runtime_profiles", entry.runtime_profiles, RuntimeProfile)
    if entry.workspace_policy:
        problems += enum_problems(
            "workspace_policy",
            entry.workspace_policy,
            RuntimeWorkspacePolicy,
            required=True,
        )

    return problems


def backend_entry_problems(
    entry: RuntimeBackendCatalogEntry, *, adapter_ids: Iterable[str]
) -> list[str]:
    """Check one backend entry, including that its providers are known adapters."""
    problems = _required_problems(entry, optional=("supported_targets",))
    if entry.backend_id:
        problems += identifier_problems("backend_id", entry.backend_id)
    problems += _each_enum("families", entry.families, RuntimeBackendFamily)
    problems += _each_enum("tools", entry.tools, ContainerRuntimeTool)
    problems += _each_enum(
        "isolation_modes", entry.isolation_modes, RuntimeIsolationMode
    )
    problems += _each_enum(
        "install_burdens", entry.install_burdens, RuntimeInstallBurden
    )
    problems += _each_enum("runtime_profiles", entry.runtime_profiles, RuntimeProfile)
    for index, target in enumerate(entry.supported_targets):
        problems += identifier_problems(f"supported_targets[{index}].os", target.os)
        problems += identifier_problems(f"supported_targets[{index}].arch", target.arch)
    known = set(adapter_ids)
    problems += [
        f"executor_providers[{index}] {go_quote(provider)} names no catalog adapter"
        for index, provider in enumerate(entry.executor_providers)
        if provider not in known
    ]
    return problems


def _required_problems(
    entry: RuntimeAdapterCatalogEntry | RuntimeBackendCatalogEntry,
    *,
    optional: tuple[str, ...] = (),
) -> list[str]:
    fields = attrs.fields(type(entry))
    return [
        f"{field.name} is required"
        for field in fields
        if field.name not in optional and not _present(getattr(entry, field.name))
    ]


def _present(value: object) -> bool:
    if isinstance(value, str):
        return bool(value.strip())

    return bool(value)


def _each_enum(field: str, values: Iterable[object], cls: type[enum.Enum]) -> list[str]:
    problems: list[str] = []
    for index, value in enumerate(values):
        problems += enum_problems(f"{field}[{index}]", value, cls, required=True)

    return problems


def _duplicate_problems(field: str, ids: list[str]) -> list[str]:
    seen: set[str] = set()
    problems: list[str] = []
    for index, value in enumerate(ids):
        if value and value in seen:
            problems.append(f"{field}[{index}]: id {go_quote(value)} is duplicated")
        seen.add(value)

    return problems
