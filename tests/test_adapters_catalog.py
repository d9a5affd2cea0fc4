"""The shipped plugin manifest and adapter catalog, their rules and contracts."""

from __future__ import annotations

import json
from pathlib import Path

import attrs
import pytest

from wfc_container import DocumentError
from wfc_container._adapters_catalog import (
    RuntimeAdapterCatalog,
    catalog_problems,
    load_runtime_adapters,
)
from wfc_container._gojson import dumps
from wfc_container._resources import catalog_path
from wfc_container._wire import (
    ContainerRuntimeTool,
    ManagedRuntimeTarget,
)

REPO = Path(__file__).resolve().parent.parent
PROVIDERS = ("sandboxed-command", "sandboxed-container-build")


@pytest.fixture
def manifest() -> dict[str, object]:
    data = json.loads((REPO / "plugin.json").read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


@pytest.fixture
def catalog() -> RuntimeAdapterCatalog:
    return load_runtime_adapters()


def test_plugin_manifest_identity(manifest: dict[str, object]) -> None:
    assert manifest["name"] == "workflow-plugin-compute-container"
    assert manifest["version"] == "0.0.0"
    assert isinstance(manifest["description"], str)
    assert manifest["description"].strip()


def test_plugin_manifest_refs_resolve(manifest: dict[str, object]) -> None:
    """Both catalog refs point into catalogs/ and name files that exist there."""
    adapters_ref = manifest["runtimeAdaptersRef"]
    bundles_ref = manifest["managedRuntimeBundlesRef"]

    assert adapters_ref == "catalogs/runtime-adapters.json"
    assert bundles_ref == "catalogs/managed-runtime-bundles.json"
    for ref in (adapters_ref, bundles_ref):
        assert isinstance(ref, str)
        assert (REPO / ref).is_file()
        assert catalog_path(Path(ref).name) == REPO / ref


def test_plugin_manifest_core_dependency(manifest: dict[str, object]) -> None:
    assert {"name": "workflow-plugin-compute-core", "constraint": ">=0.6.0"} in (
        manifest["dependencies"]  # type: ignore[operator]
    )


def test_catalog_shipped_valid(catalog: RuntimeAdapterCatalog) -> None:
    assert catalog_problems(catalog) == ()
    assert catalog.version == "1"
    assert catalog.protocol_version == "compute.v1alpha1"


def test_catalog_shipped_backends(catalog: RuntimeAdapterCatalog) -> None:
    tools = {backend.backend_id: backend.tools for backend in catalog.runtime_backends}

    assert [a.adapter_id for a in catalog.adapters] == list(PROVIDERS)
    assert tools == {
        "podman-rootless": (ContainerRuntimeTool.PODMAN,),
        "docker-desktop": (ContainerRuntimeTool.DOCKER,),
        "nerdctl-containerd": (ContainerRuntimeTool.NERDCTL,),
        "managed-containerd-linux-amd64": (ContainerRuntimeTool.NERDCTL,),
    }
    for backend in catalog.runtime_backends:
        assert backend.executor_providers == PROVIDERS


def test_catalog_shipped_managed_target(catalog: RuntimeAdapterCatalog) -> None:
    targets = {b.backend_id: b.supported_targets for b in catalog.runtime_backends}

    assert targets["managed-containerd-linux-amd64"] == (
        ManagedRuntimeTarget(os="linux", arch="amd64"),
    )
    assert targets["podman-rootless"] == ()


def test_catalog_shipped_is_go_layout(catalog: RuntimeAdapterCatalog) -> None:
    """The file is exactly what Go's MarshalIndent writes for the catalog."""
    text = catalog_path("runtime-adapters.json").read_text(encoding="utf-8")

    assert text == dumps(catalog, indent=True) + "\n"


def test_catalog_presence_rules(catalog: RuntimeAdapterCatalog) -> None:
    """The original presence checks, with its messages and prefixes."""
    adapter = attrs.evolve(catalog.adapters[0], operation="", kinds=())
    backend = attrs.evolve(
        catalog.runtime_backends[0], tools=(), conformance_profiles=()
    )
    bad = attrs.evolve(
        catalog,
        version="",
        protocol_version="compute.v1",
        adapters=(adapter, catalog.adapters[1]),
        runtime_backends=(backend,),
        host_owned_responsibilities=(),
    )

    assert catalog_problems(bad) == (
        "version is required",
        'protocol_version = "compute.v1", want "compute.v1alpha1"',
        "adapters[0]: operation is required",
        "adapters[0]: kinds is required",
        "runtime_backends[0]: tools is required",
        "runtime_backends[0]: conformance_profiles is required",
        "host_owned_responsibilities is required",
    )


def test_catalog_no_adapters(catalog: RuntimeAdapterCatalog) -> None:
    problems = catalog_problems(attrs.evolve(catalog, adapters=()))

    assert problems[0] == "at least one adapter is required"


def test_catalog_cross_checks(catalog: RuntimeAdapterCatalog) -> None:
    """Beyond presence: enum values, unknown providers and duplicate ids."""
    backend = attrs.evolve(
        catalog.runtime_backends[0],
        families=("lxc",),  # type: ignore[arg-type]
        executor_providers=("sandboxed-command", "gpu-runner"),
    )
    bad = attrs.evolve(
        catalog,
        adapters=(*catalog.adapters, catalog.adapters[0]),
        runtime_backends=(backend, catalog.runtime_backends[0]),
    )

    assert catalog_problems(bad) == (
        'runtime_backends[0]: families[0] "lxc" is unsupported',
        'runtime_backends[0]: executor_providers[1] "gpu-runner" names no catalog '
        "adapter",
        'adapters[2]: id "sandboxed-command" is duplicated',
        'runtime_backends[1]: id "podman-rootless" is duplicated',
    )


def test_load_rejects_unknown_key(tmp_path: Path) -> None:
    data = json.loads(catalog_path("runtime-adapters.json").read_text(encoding="utf-8"))
    data["adapters"][0]["kind"] = "execution"
    data["runtime_backends"][1]["tools"] = ["ctr"]
    path = tmp_path / "runtime-adapters.json"
    path.write_text(json.dumps(data), encoding="utf-8")

    with pytest.raises(DocumentError) as info:
        load_runtime_adapters(path)

    assert info.value.document == "runtime adapter catalog"
    assert info.value.problems == (
        "unknown key 'kind' @ $.adapters[0]",
        "invalid ContainerRuntimeTool 'ctr': expected one of "
        "['podman', 'docker', 'nerdctl', 'apple-container'] "
        "@ $.runtime_backends[1].tools[0]",
    )


def test_load_rejects_rule_failure(tmp_path: Path) -> None:
    data = json.loads(catalog_path("runtime-adapters.json").read_text(encoding="utf-8"))
    data["host_owned_responsibilities"] = None
    path = tmp_path / "runtime-adapters.json"
    path.write_text(json.dumps(data), encoding="utf-8")

    with pytest.raises(DocumentError, match="host_owned_responsibilities is required"):
        load_runtime_adapters(path)
