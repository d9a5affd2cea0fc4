"""
Managed-runtime probe plans: which installed bundles the probe engine may probe.

This module is on the probe path, so it imports neither aiohttp nor the
OpenPGP verifier: only the catalog, the layout and the doctor's file checks.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

import attrs

from .. import _converter
from .._wire import (
    ContainerRuntimeTool,
    RuntimeBackendFamily,
    RuntimeInstallBurden,
    RuntimeIsolationMode,
)
from ..probes._claims import scope_name
from ..probes._hostinfo import host_arch, host_os
from ..probes._types import DEFAULT_CONFORMANCE_PROFILE, BackendDefinition
from ._catalog import load_bundle_catalog, select_bundle
from ._doctor import OK, Inspection, doctor_result, inspect_stable
from ._errors import CatalogPolicyError, InstallRootError
from ._layout import BundleLayout, bundle_layout

if TYPE_CHECKING:
    from datetime import datetime
    from pathlib import Path

    from .._wire import ManagedRuntimeBundleDescriptor
    from ._catalog import ManagedRuntimeBundleCatalog


@attrs.frozen(kw_only=True)
class ManagedProbePlan:
    """
    One installed bundle as the probe engine should treat it.

    ``blocked_reason`` is set (public text, no host paths) when the install
    is not healthy or the catalog no longer allows it. The engine then
    reports the backend degraded without running anything. ``state`` is the
    doctor result as JSON-ready data for the report's bundle section.
    """

    definition: BackendDefinition
    blocked_reason: str | None
    state: Mapping[str, object]


def plan_managed_probes(
    catalog_path: Path,
    install_root: Path,
    *,
    now: datetime,
    containerd_address: str | None = None,
) -> list[ManagedProbePlan]:
    """
    Plan a probe for each catalog bundle built for this host's OS and architecture.

    Blocking: it hashes every installed file, so call it from a worker thread
    in async code. Bundles for other targets are skipped; a repeated bundle
    id is planned once.

    :param containerd_address: passed to nerdctl as ``CONTAINERD_ADDRESS``
        (default: nerdctl's own default socket)
    :raises DocumentError: when the catalog is not valid JSON of the right form
    :raises CatalogReadError: when the catalog cannot be read
    """
    catalog = load_bundle_catalog(catalog_path)
    target = (host_os(), host_arch())
    plans: list[ManagedProbePlan] = []
    seen: set[str] = set()
    for bundle in catalog.bundles or ():
        if (bundle.os, bundle.arch) != target or bundle.bundle_id in seen:
            continue
        seen.add(bundle.bundle_id)
        try:
            layout = bundle_layout(install_root, bundle.bundle_id)
        except InstallRootError:
            continue
        blocked, state = _judge(catalog, bundle, layout, now)
        definition = _definition(bundle, layout, containerd_address)
        plans.append(
            ManagedProbePlan(definition=definition, blocked_reason=blocked, state=state)
        )

    return plans


def _judge(
    catalog: ManagedRuntimeBundleCatalog,
    bundle: ManagedRuntimeBundleDescriptor,
    layout: BundleLayout,
    now: datetime,
) -> tuple[str | None, Mapping[str, object]]:
    inspection = inspect_stable(layout, bundle)
    try:
        select_bundle(
            catalog,
            bundle.bundle_id,
            target_os=host_os(),
            target_arch=host_arch(),
            now=now,
        )
    except CatalogPolicyError as exc:
        if inspection.status == OK:
            reason = f"catalog policy failure: {'; '.join(exc.problems)}"
            inspection = attrs.evolve(inspection, status="degraded", reason=reason)

    result = doctor_result(layout, inspection, bundle, now, warn_days=30)
    state = _converter.unstructure(result)
    assert isinstance(state, dict)
    return _blocked_reason(inspection), state


def _blocked_reason(inspection: Inspection) -> str | None:
    if inspection.status == OK:
        return None
    # Doctor reasons name files relative to the bundle root, never host paths.
    return f"managed install {inspection.status}: {inspection.reason}"


def _definition(
    bundle: ManagedRuntimeBundleDescriptor,
    layout: BundleLayout,
    containerd_address: str | None,
) -> BackendDefinition:
    profile = bundle.conformance_profile or DEFAULT_CONFORMANCE_PROFILE
    # nerdctl looks for CNI plugins only in system directories unless CNI_PATH is set,
    # and a host /opt/cni/bin would silently win over the bundle's plugins.
    env = {"CNI_PATH": str(layout.cni_dir)}
    if containerd_address:
        env["CONTAINERD_ADDRESS"] = containerd_address

    return BackendDefinition(
        backend_id=bundle.bundle_id,
        family=RuntimeBackendFamily.CONTAINERD,
        tool=ContainerRuntimeTool.NERDCTL,
        executable=str(layout.command_path),
        isolation_mode=RuntimeIsolationMode.USER_NAMESPACE,
        install_burden=RuntimeInstallBurden.BUNDLED,
        conformance_profiles=(profile,),
        scope_args=("--namespace", scope_name(bundle.bundle_id, profile)),
        bundle=bundle,
        extra_env=env,
    )
