"""The built-in backend definitions and lookup by tool name or backend id."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .._errors import ProbeConfigError
from .._wire import (
    ContainerRuntimeTool,
    RuntimeBackendFamily,
    RuntimeInstallBurden,
    RuntimeIsolationMode,
)
from ._types import BackendDefinition

if TYPE_CHECKING:
    from collections.abc import Sequence

# The ids are the seed's and stay for compatibility; isolation mode and install
# burden here are only expectations, the probe reports what it finds.
PODMAN = BackendDefinition(
    backend_id="podman-rootless",
    family=RuntimeBackendFamily.PODMAN,
    tool=ContainerRuntimeTool.PODMAN,
    executable="podman",
    isolation_mode=RuntimeIsolationMode.USER_NAMESPACE,
    install_burden=RuntimeInstallBurden.SYSTEM_INSTALLED,
)
DOCKER = BackendDefinition(
    backend_id="docker-desktop",
    family=RuntimeBackendFamily.DOCKER,
    tool=ContainerRuntimeTool.DOCKER,
    executable="docker",
    isolation_mode=RuntimeIsolationMode.VM_BACKED_CONTAINER,
    install_burden=RuntimeInstallBurden.DESKTOP_MANAGED,
)
NERDCTL = BackendDefinition(
    backend_id="nerdctl-containerd",
    family=RuntimeBackendFamily.NERDCTL,
    tool=ContainerRuntimeTool.NERDCTL,
    executable="nerdctl",
    isolation_mode=RuntimeIsolationMode.SHARED_KERNEL_CONTAINER,
    install_burden=RuntimeInstallBurden.SYSTEM_INSTALLED,
)
BUILTIN_BACKENDS = (PODMAN, DOCKER, NERDCTL)


def select_backends(names: Sequence[str]) -> tuple[BackendDefinition, ...]:
    """
    Return the built-in backends named by tool (``podman``) or id (``podman-rootless``).

    :raises ProbeConfigError: when a name matches no built-in backend.
    """
    chosen: list[BackendDefinition] = []
    for name in names:
        matches = [d for d in BUILTIN_BACKENDS if name in (d.backend_id, d.tool.value)]
        if not matches:
            known = ", ".join(
                f"{d.tool.value}/{d.backend_id}" for d in BUILTIN_BACKENDS
            )
            raise ProbeConfigError(
                field="backend", value=name, expected=f"one of {known}"
            )
        chosen.extend(d for d in matches if d not in chosen)
    return tuple(chosen)
