"""Invocation builders: check a workload and turn it into an execution request."""

from __future__ import annotations

import math
import os
from typing import TYPE_CHECKING

import attrs

from .._adapters_catalog import WorkloadKind
from .._gojson import to_plain
from ._argv import check_image, check_network
from ._env import RESERVED_BUILD_PREFIX, resolve_env_refs
from ._errors import SandboxRequestError
from ._paths import reject_symlink_components, resolve_inside
from ._wire import (
    BUILD_OPERATION,
    COMMAND_OPERATION,
    CommandWorkload,
    ContainerBuildWorkload,
    ResourceLimits,
    RuntimeExecutionRequest,
)

if TYPE_CHECKING:
    from collections.abc import Mapping

COMMAND_TIMEOUT = 60.0
BUILD_TIMEOUT = 3600.0
ARTIFACT_SCHEME = "artifact://"


@attrs.frozen(kw_only=True)
class SandboxInvocation:
    """
    A checked request plus what the host needs to run it.

    ``workload`` keeps the env refs, and ``request.env`` contains their
    resolved values. ``timeout`` is in seconds. ``limit_hit`` is the label written to
    ``resource_usage.limit_hit`` when the timeout stops the run.
    """

    request: RuntimeExecutionRequest
    workload: CommandWorkload | ContainerBuildWorkload
    image: str
    workspace: str
    network: str = "none"
    timeout: float
    limit_hit: str = "timeout"


def build_command_invocation(
    *,
    task_id: str,
    lease_id: str,
    image: str,
    workspace: str,
    workload: CommandWorkload,
    resolved_env: Mapping[str, str] | None = None,
    network: str = "none",
    timeout: float = COMMAND_TIMEOUT,
    limits: ResourceLimits | None = None,
    limit_hit: str = "timeout",
) -> SandboxInvocation:
    """
    Check a command workload and build its ``run-sandboxed-command`` invocation.

    :param resolved_env: env values by the ``value_ref`` or ``secret_ref`` the
        workload names.
    :param network: ``none`` (the default), ``bridge`` or a ``wfcompute-*`` one.
    :param timeout: limit in seconds for the run, 60 by default.
    :raises SandboxRequestError: when a value is missing or not acceptable.
    :raises UnsafePathError: when an allowlist entry is absolute or escapes.
    """
    workspace = _check_common(task_id, lease_id, image, workspace, timeout, limits)
    _check_command_workload(workload)
    env = resolve_env_refs(workload.env, resolved_env or {})
    request = RuntimeExecutionRequest(
        task_id=task_id,
        lease_id=lease_id,
        workload_kind=WorkloadKind.COMMAND,
        operation=COMMAND_OPERATION,
        input=_payload(attrs.evolve(workload, env=())),
        env=env,
        limits=limits or ResourceLimits(),
    )
    return _invocation(request, workload, image, workspace, network, timeout, limit_hit)


def build_container_build_invocation(
    *,
    task_id: str,
    lease_id: str,
    image: str,
    workspace: str,
    workload: ContainerBuildWorkload,
    resolved_env: Mapping[str, str] | None = None,
    network: str = "none",
    timeout: float = BUILD_TIMEOUT,
    limits: ResourceLimits | None = None,
    limit_hit: str = "timeout",
) -> SandboxInvocation:
    """
    Check a build workload and build its ``build-sandboxed-container`` invocation.

    ``image`` is the builder image. The context directory and Dockerfile must
    lie inside the workspace without symlinks on the way; a Dockerfile that
    does not exist yet is accepted.

    :param timeout: limit in seconds for the build, one hour by default.
    :raises SandboxRequestError: when a value is missing or not acceptable,
        or an env name uses the reserved ``WORKFLOW_COMPUTE_BUILD_`` prefix.
    :raises UnsafePathError: when the context or Dockerfile escapes or passes
        a symlink.
    """
    workspace = _check_common(task_id, lease_id, image, workspace, timeout, limits)
    _check_build_workload(workload)
    resolve_build_paths(workspace, workload)
    env = resolve_env_refs(
        workload.env, resolved_env or {}, reserved_prefix=RESERVED_BUILD_PREFIX
    )
    request = RuntimeExecutionRequest(
        task_id=task_id,
        lease_id=lease_id,
        workload_kind=WorkloadKind.CONTAINER_BUILD,
        operation=BUILD_OPERATION,
        input=_payload(attrs.evolve(workload, env=())),
        env=env,
        limits=limits or ResourceLimits(),
    )
    return _invocation(request, workload, image, workspace, network, timeout, limit_hit)


def _invocation(
    request: RuntimeExecutionRequest,
    workload: CommandWorkload | ContainerBuildWorkload,
    image: str,
    workspace: str,
    network: str,
    timeout: float,
    limit_hit: str,
) -> SandboxInvocation:
    return SandboxInvocation(
        request=request,
        workload=workload,
        image=image,
        workspace=workspace,
        network=check_network(network),
        timeout=timeout,
        limit_hit=limit_hit,
    )


def resolve_build_paths(
    workspace: str, workload: ContainerBuildWorkload
) -> tuple[str, str]:
    """
    Return the absolute context directory and the Dockerfile name as given.

    :raises UnsafePathError: when either escapes or passes a symlink.
    :raises OSError: when the workspace cannot be examined.
    """
    root = os.path.normpath(workspace)
    context = resolve_inside(root, workload.context_directory)
    reject_symlink_components(root, context)
    dockerfile = workload.dockerfile or "Dockerfile"
    dockerfile_path = resolve_inside(context, dockerfile)
    reject_symlink_components(context, dockerfile_path)
    return context, dockerfile


def _check_common(
    task_id: str,
    lease_id: str,
    image: str,
    workspace: str,
    timeout: float,
    limits: ResourceLimits | None,
) -> str:
    for field, value in (("task_id", task_id), ("lease_id", lease_id)):
        if not value.strip():
            raise SandboxRequestError(
                field=field, value=value, expected="a non-blank id"
            )

    if not workspace.strip():
        raise SandboxRequestError(
            field="workspace", value=workspace, expected="a directory path"
        )

    if not (math.isfinite(timeout) and timeout > 0):
        raise SandboxRequestError(
            field="timeout", value=timeout, expected="a positive number of seconds"
        )

    for limit in attrs.fields(ResourceLimits):
        amount = getattr(limits or ResourceLimits(), limit.name)
        if amount < 0:
            raise SandboxRequestError(
                field=f"limits.{limit.name}", value=amount, expected="0 or more"
            )

    check_image(image)
    return os.path.abspath(workspace)


def _check_command_workload(workload: CommandWorkload) -> None:
    if not workload.args:
        raise SandboxRequestError(
            field="command args", value=workload.args, expected="at least one argument"
        )

    for ref in workload.artifact_refs:
        rest = ref.removeprefix(ARTIFACT_SCHEME)
        if rest == ref or not rest or ".." in ref:
            raise SandboxRequestError(
                field="artifact ref",
                value=ref,
                expected=f"{ARTIFACT_SCHEME}<name> without '..'",
            )

    # Lexical check only: the files do not exist until the workload has run.
    for entry in workload.artifact_allowlist:
        resolve_inside("/workspace", entry)


def _check_build_workload(workload: ContainerBuildWorkload) -> None:
    if not workload.context_directory.strip():
        raise SandboxRequestError(
            field="context_directory",
            value=workload.context_directory,
            expected="a directory in the workspace ('.' for the workspace itself)",
        )

    if not workload.tags:
        raise SandboxRequestError(
            field="tags", value=list(workload.tags), expected="at least one image tag"
        )


def _payload(workload: CommandWorkload | ContainerBuildWorkload) -> dict[str, object]:
    plain = to_plain(workload)
    assert isinstance(plain, dict)
    return plain
