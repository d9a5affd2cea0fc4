"""The two sandbox adapters: run a command workload, build a container image."""

from __future__ import annotations

import os

import anyio.to_thread
import attrs

from ._argv import BUILD_CAPABILITIES, RunSpec, RuntimeTarget
from ._artifacts import hash_artifacts
from ._build_digest import (
    BUILDER_COMMAND,
    build_control_env,
    create_build_state_dir,
    read_build_digest,
    remove_build_state_dir,
)
from ._env import RESERVED_BUILD_PREFIX, check_env
from ._errors import SandboxRequestError
from ._invocation import SandboxInvocation, resolve_build_paths
from ._paths import reject_symlink_components, resolve_inside
from ._run import execute_run
from ._wire import (
    BUILD_OPERATION,
    COMMAND_OPERATION,
    CommandWorkload,
    ContainerBuildWorkload,
    RuntimeExecutionResult,
)


def local_target(
    tool: str, *, executable: str = "", namespace: str = ""
) -> RuntimeTarget:
    """
    Describe the runtime CLI ``tool`` on this host.

    Podman counts as rootless when this process is not root, which is how
    local Podman decides it; a remote Podman needs an explicit `RuntimeTarget`.

    :param executable: path of the CLI; empty means ``tool`` looked up on PATH.
    :param namespace: containerd namespace, for nerdctl only.
    """
    scope = ("--namespace", namespace) if namespace else ()
    rootless = tool == "podman" and os.geteuid() != 0
    return RuntimeTarget(
        tool=tool, executable=executable, scope=scope, rootless=rootless
    )


async def run_sandboxed_command(
    invocation: SandboxInvocation, target: RuntimeTarget
) -> RuntimeExecutionResult:
    """
    Run a command workload in a hardened container with the workspace mounted.

    The command runs as the caller's UID and GID, with a read-only root file
    system, no capabilities and no network unless the invocation requests
    ``bridge``. When the command exits 0 and the workload has an artifact
    allowlist, the result carries the hash of the named files (relative to the
    working directory) and the allowlist.

    :param invocation: from `build_command_invocation`; its ``timeout`` in
        seconds bounds the run.
    :returns: the result; a non-zero ``exit_code`` is the command's failure.
    :raises SandboxRuntimeError: when the runtime failed, not the command.
    :raises SandboxTimeoutError: when the timeout expired, after the container
        was removed (``removed`` tells whether that worked).
    :raises ArtifactError: when an allowlisted artifact cannot be hashed.
    :raises UnsafePathError: when the workspace or working directory is a
        symlink or escapes.
    """
    workload = invocation.workload
    if not isinstance(workload, CommandWorkload) or not workload.args:
        raise SandboxRequestError(
            field="workload", value=type(workload).__name__, expected="CommandWorkload"
        )

    spec = RunSpec(
        image=invocation.image,
        command=workload.args,
        workspace=invocation.workspace,
        working_dir=workload.working_directory,
        network=invocation.network,
        limits=invocation.request.limits,
    )
    result = await execute_run(
        spec,
        target,
        env=invocation.request.env,
        timeout=invocation.timeout,
        operation=COMMAND_OPERATION,
        limit_hit=invocation.limit_hit,
    )
    if result.exit_code != 0 or not workload.artifact_allowlist:
        return result

    artifact_hash = await anyio.to_thread.run_sync(
        _hash_allowlist, invocation.workspace, workload
    )
    return attrs.evolve(
        result, artifact_hash=artifact_hash, artifacts=workload.artifact_allowlist
    )


async def build_sandboxed_container(
    invocation: SandboxInvocation, target: RuntimeTarget
) -> RuntimeExecutionResult:
    """
    Run the builder image on a build workload and return the image digest.

    The builder runs as container root with a writable root file system and
    only ``CHOWN`` and ``FOWNER`` added. The workspace is made readable for it,
    and its modes are restored afterwards. The digest comes only from the
    file the builder writes in the host-created state directory mounted at
    ``/wfcompute-build``, never from its output.

    :param invocation: from `build_container_build_invocation`.
    :returns: the result; ``artifact_hash`` is the digest when the builder
        exits 0, and a non-zero ``exit_code`` is the build's failure.
    :raises BuildDigestError: when the builder exits 0 without a valid digest.
    :raises SandboxRuntimeError: when the runtime failed, not the build.
    :raises SandboxTimeoutError: when the timeout expired, after the container
        was removed (``removed`` tells whether that worked).
    :raises SandboxRequestError: when an env name uses the reserved prefix.
    """
    workload = invocation.workload
    if not isinstance(workload, ContainerBuildWorkload):
        raise SandboxRequestError(
            field="workload",
            value=type(workload).__name__,
            expected="ContainerBuildWorkload",
        )

    # Checked again: the workspace may have changed since the invocation was built.
    resolve_build_paths(invocation.workspace, workload)
    check_env(invocation.request.env, reserved_prefix=RESERVED_BUILD_PREFIX)
    env = build_control_env(workload) | invocation.request.env
    parent, state_dir = create_build_state_dir()
    try:
        result = await execute_run(
            _build_spec(invocation),
            target,
            env=env,
            timeout=invocation.timeout,
            operation=BUILD_OPERATION,
            limit_hit=invocation.limit_hit,
            build_state_dir=state_dir,
        )
        if result.exit_code != 0:
            return result

        return attrs.evolve(result, artifact_hash=read_build_digest(state_dir))
    finally:
        remove_build_state_dir(parent)


def _build_spec(invocation: SandboxInvocation) -> RunSpec:
    return RunSpec(
        image=invocation.image,
        command=(BUILDER_COMMAND,),
        workspace=invocation.workspace,
        working_dir=".",
        network=invocation.network,
        run_as_root=True,
        writable_rootfs=True,
        add_capabilities=BUILD_CAPABILITIES,
        limits=invocation.request.limits,
    )


def _hash_allowlist(workspace: str, workload: CommandWorkload) -> str:
    base = resolve_inside(workspace, workload.working_directory)
    reject_symlink_components(workspace, base)
    return hash_artifacts(base, workload.artifact_allowlist)
