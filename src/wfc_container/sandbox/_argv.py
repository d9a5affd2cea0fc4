"""
Argument vectors for ``docker run``, ``podman run`` and ``nerdctl run``.

The builder only computes; it creates no file and starts no process. Choices
that differ from the original design:

* The image comes after ``--``, and an image starting with ``-`` is rejected,
  so neither can become a runtime flag. The command follows the image, where
  every runtime stops parsing its own flags.
* Mounts use ``--mount type=bind,src=…,dst=…``, which has no ``:`` separator.
  Paths holding ``,``, ``"``, NUL, CR or LF are rejected, because those would
  break the comma-separated ``--mount`` syntax.
* ``--pull never`` keeps a missing image from being fetched from a registry.
* Podman gets ``--read-only-tmpfs=false`` with ``--read-only``, so ``/run`` and
  ``/var/tmp`` are read-only there as they are in Docker, and ``--userns
  keep-id`` only when it runs rootless (rootful Podman rejects it).
"""

from __future__ import annotations

import os
import re

import attrs

from ._errors import SandboxRequestError
from ._mounts import DataMount, bind_mount, data_mount_args
from ._wire import ResourceLimits

TOOLS = ("docker", "nerdctl", "podman")
NETWORKS = ("bridge", "none")
WORKSPACE_MOUNT = "/workspace"
TMP_TMPFS = "/tmp:rw,noexec,nosuid,nodev,size=64m"  # noqa: S108 - a container path
PIDS_LIMIT = 256
# Only the root build profile may add these capabilities (for chown in layers).
BUILD_CAPABILITIES = ("CHOWN", "FOWNER")
BUILD_STATE_DIR = "/wfcompute-build"
# The original's tmpfs for build state; builds here mount a host directory instead.
BUILD_TMPFS = "/wfcompute-build:rw,noexec,nosuid,nodev,size=512m"

_MANAGED_NETWORK = re.compile(r"wfcompute-[A-Za-z0-9._-]+")
_CAPABILITY = re.compile(r"[A-Z0-9_]+")
_RUNTIME_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")
_NAME_PREFIX = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")
_SCOPE_UNSAFE = frozenset(" \t\r\n/:?&#\\\x00")


@attrs.frozen(kw_only=True)
class RunSpec:
    """
    Settings of one container run that do not depend on the runtime tool.

    ``command`` follows the image; with ``override_entrypoint`` the image's
    entrypoint is cleared, so ``command[0]`` is the program. ``run_as_root``
    selects the build profile: no ``--user`` mapping, and the build
    capabilities and tmpfs become allowed.
    """

    image: str
    command: tuple[str, ...] = ()
    workspace: str
    working_dir: str = ""
    network: str = "none"
    run_as_root: bool = False
    writable_rootfs: bool = False
    add_capabilities: tuple[str, ...] = ()
    extra_tmpfs: tuple[str, ...] = ()
    data_mounts: tuple[DataMount, ...] = ()
    limits: ResourceLimits = attrs.field(factory=ResourceLimits)
    override_entrypoint: bool = False
    runtime_name: str = ""


@attrs.frozen(kw_only=True)
class RuntimeTarget:
    """
    The runtime CLI to drive.

    ``scope`` is ``("--namespace", NAME)`` for nerdctl and empty otherwise.
    ``rootless`` matters only for Podman. Container names are ``name_prefix``,
    a dash and 16 random hex digits, so a caller can find its own containers.
    """

    tool: str
    executable: str = ""
    scope: tuple[str, ...] = ()
    rootless: bool = False
    name_prefix: str = "wfcompute"

    def command_prefix(self) -> list[str]:
        """Return the executable and scope arguments that start every command."""
        return [self.executable or self.tool, *self.scope]


def build_run_argv(
    spec: RunSpec,
    target: RuntimeTarget,
    *,
    name: str,
    env_file: str | None,
    user: tuple[int, int],
    build_state_dir: str | None = None,
) -> list[str]:
    """
    Return the full argv of one hardened ``run``.

    :param name: container name, used to remove the container on timeout.
    :param env_file: path of the env file, or None when the env is empty.
    :param user: host UID and GID the container runs as, unless ``run_as_root``.
    :param build_state_dir: host directory mounted read-write at
        ``/wfcompute-build`` for the builder's digest file.
    :raises SandboxRequestError: when a value is not acceptable.
    """
    check_target(target)
    check_image(spec.image)
    argv = [*target.command_prefix(), "run", "--rm", "--name", name]
    argv += ["--pull", "never", "--network", check_network(spec.network)]
    argv += ["--cap-drop", "ALL", "--security-opt", "no-new-privileges"]
    argv += ["--pids-limit", str(PIDS_LIMIT), "--tmpfs", TMP_TMPFS]
    argv += _root_filesystem_args(spec, target)
    argv += _privilege_args(spec, target, user)
    argv += _limit_args(spec)
    argv += ["--mount", bind_mount(spec.workspace, WORKSPACE_MOUNT, read_only=False)]
    argv += ["-w", container_working_dir(spec.working_dir)]
    argv += data_mount_args(spec.data_mounts)
    if build_state_dir is not None:
        argv += [
            "--mount",
            bind_mount(build_state_dir, BUILD_STATE_DIR, read_only=False),
        ]

    if env_file is not None:
        argv += ["--env-file", env_file]

    if spec.override_entrypoint:
        if not spec.command or not spec.command[0].strip():
            raise SandboxRequestError(
                field="command", value=list(spec.command), expected="a program to run"
            )
        argv += ["--entrypoint", ""]

    return [*argv, "--", spec.image, *spec.command]


def check_target(target: RuntimeTarget) -> None:
    """
    Check the tool name, the container name prefix and the nerdctl scope.

    :raises SandboxRequestError: for an unknown tool, a bad prefix or a bad
        scope.
    """
    if target.tool not in TOOLS:
        raise SandboxRequestError(
            field="runtime tool", value=target.tool, expected=" or ".join(TOOLS)
        )

    if not _NAME_PREFIX.fullmatch(target.name_prefix):
        raise SandboxRequestError(
            field="container name prefix",
            value=target.name_prefix,
            expected="at most 64 letters, digits, '_', '.' or '-', starting with a"
            " letter or digit",
        )

    _check_scope(target)


def _check_scope(target: RuntimeTarget) -> None:
    if not target.scope:
        return

    if target.tool != "nerdctl":
        raise SandboxRequestError(
            field="runtime scope",
            value=list(target.scope),
            expected="no scope, because only nerdctl takes --namespace",
        )

    if len(target.scope) != 2 or target.scope[0] != "--namespace":
        raise SandboxRequestError(
            field="runtime scope", value=list(target.scope), expected="--namespace NAME"
        )

    namespace = target.scope[1]
    if (
        not namespace.strip()
        or namespace.startswith("-")
        or _SCOPE_UNSAFE & set(namespace)
    ):
        raise SandboxRequestError(
            field="runtime scope namespace",
            value=namespace,
            expected="a name without whitespace, '/', ':', '?', '&', '#', '\\' or NUL"
            " that does not start with '-'",
        )


def check_image(image: str) -> None:
    """
    Check that ``image`` is a plausible reference that cannot pass as a flag.

    :raises SandboxRequestError: when it is empty, starts with ``-`` or
        contains whitespace or control characters.
    """
    bad_char = any(char.isspace() or ord(char) < 0x20 for char in image)
    if not image or image.startswith("-") or bad_char:
        raise SandboxRequestError(
            field="image",
            value=image,
            expected="a reference without whitespace, not starting with '-'",
        )


def check_network(network: str) -> str:
    """
    Return the network name to pass; an empty ``network`` means ``none``.

    :raises SandboxRequestError: unless it is ``none``, ``bridge`` or a managed
        ``wfcompute-*`` network.
    """
    if network in ("", "none"):
        return "none"

    if network == "bridge" or _MANAGED_NETWORK.fullmatch(network):
        return network

    raise SandboxRequestError(
        field="network",
        value=network,
        expected="'none', 'bridge' or a managed 'wfcompute-*' network",
    )


def container_working_dir(value: str) -> str:
    """
    Map a workspace-relative working directory to its path in the container.

    :raises SandboxRequestError: when it is absolute, contains NUL, CR or LF,
        or leaves the workspace.
    """
    value = value.strip()
    if value in ("", "."):
        return WORKSPACE_MOUNT

    if value.startswith("/") or any(char in value for char in "\x00\r\n"):
        raise SandboxRequestError(
            field="working_dir",
            value=value,
            expected="a relative path in the workspace",
        )

    cleaned = os.path.normpath(value)
    if cleaned == ".":
        return WORKSPACE_MOUNT

    if cleaned == ".." or cleaned.startswith("../"):
        raise SandboxRequestError(
            field="working_dir", value=value, expected="a path inside the workspace"
        )

    return f"{WORKSPACE_MOUNT}/{cleaned}"


def _root_filesystem_args(spec: RunSpec, target: RuntimeTarget) -> list[str]:
    if spec.writable_rootfs:
        return []

    if target.tool == "podman":
        return ["--read-only", "--read-only-tmpfs=false"]

    return ["--read-only"]


def _privilege_args(
    spec: RunSpec, target: RuntimeTarget, user: tuple[int, int]
) -> list[str]:
    args: list[str] = []
    for capability in spec.add_capabilities:
        args += [
            "--cap-add",
            _check_capability(capability, run_as_root=spec.run_as_root),
        ]

    for tmpfs in spec.extra_tmpfs:
        args += ["--tmpfs", _check_tmpfs(tmpfs, run_as_root=spec.run_as_root)]

    if not spec.run_as_root:
        if target.tool == "podman" and target.rootless:
            args += ["--userns", "keep-id"]
        args += ["--user", f"{user[0]}:{user[1]}"]

    if spec.runtime_name:
        if not _RUNTIME_NAME.fullmatch(spec.runtime_name):
            raise SandboxRequestError(
                field="OCI runtime name",
                value=spec.runtime_name,
                expected="letters, digits, '.', '_' or '-', not starting with '-'",
            )
        args += ["--runtime", spec.runtime_name]

    return args


def _check_capability(capability: str, *, run_as_root: bool) -> str:
    if not _CAPABILITY.fullmatch(capability):
        raise SandboxRequestError(
            field="capability", value=capability, expected="an upper-case name"
        )

    if not run_as_root or capability not in BUILD_CAPABILITIES:
        raise SandboxRequestError(
            field="capability",
            value=capability,
            expected="CHOWN or FOWNER, and only for the root build profile",
        )

    return capability


def _check_tmpfs(tmpfs: str, *, run_as_root: bool) -> str:
    if not run_as_root or tmpfs != BUILD_TMPFS:
        raise SandboxRequestError(
            field="tmpfs",
            value=tmpfs,
            expected=f"{BUILD_TMPFS!r}, and only for the root build profile",
        )

    return tmpfs


def _limit_args(spec: RunSpec) -> list[str]:
    limits = spec.limits
    args: list[str] = []
    if limits.memory_bytes > 0:
        args += ["--memory", str(limits.memory_bytes)]

    if limits.cpu_percent > 0:
        args += ["--cpus", f"{limits.cpu_percent / 100:.2f}"]

    return args
