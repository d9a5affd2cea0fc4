"""Bind mounts in ``--mount`` syntax, which keeps ``:`` in paths harmless."""

from __future__ import annotations

import os

import attrs

from ._errors import SandboxRequestError

_MOUNT_UNSAFE = (",", '"', "\x00", "\r", "\n")


@attrs.frozen(kw_only=True)
class DataMount:
    """An extra bind mount; ``required_prefix`` confines the host path when set."""

    host_path: str
    container_path: str
    read_only: bool = True
    required_prefix: str = ""


def bind_mount(host_path: str, container_path: str, *, read_only: bool) -> str:
    """
    Return a ``--mount`` value binding ``host_path`` at ``container_path``.

    :raises SandboxRequestError: when a path contains a character that the
        ``--mount`` syntax cannot carry.
    """
    for label, path in (("mount source", host_path), ("mount target", container_path)):
        if any(char in path for char in _MOUNT_UNSAFE):
            raise SandboxRequestError(
                field=label,
                value=path,
                expected="a path without ',', '\"', NUL, CR or LF",
            )

    value = f"type=bind,src={host_path},dst={container_path}"
    return value + ",readonly" if read_only else value


def data_mount_args(mounts: tuple[DataMount, ...]) -> list[str]:
    """
    Return the ``--mount`` arguments of ``mounts``, each read-only by default.

    :raises SandboxRequestError: when a path is missing, escapes its required
        prefix, or is not usable as a container path.
    """
    args: list[str] = []
    for mount in mounts:
        host = mount.host_path.strip()
        container = mount.container_path.strip()
        if not host or not container:
            raise SandboxRequestError(
                field="mount",
                value=(mount.host_path, mount.container_path),
                expected="both a host path and a container path",
            )

        host = os.path.abspath(host)
        if mount.required_prefix:
            prefix = os.path.abspath(mount.required_prefix)
            if host != prefix and not host.startswith(prefix.rstrip("/") + "/"):
                raise SandboxRequestError(
                    field="mount source",
                    value=host,
                    expected=f"a path under {prefix!r}",
                )

        if not container.startswith("/") or ".." in container.split("/"):
            raise SandboxRequestError(
                field="mount target",
                value=container,
                expected="an absolute path without '..'",
            )

        target = os.path.normpath(container)
        args += ["--mount", bind_mount(host, target, read_only=mount.read_only)]

    return args
