"""The explicit environment that probe commands run with."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

import attrs

if TYPE_CHECKING:
    from collections.abc import Mapping

DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

# Variables that locate the user's files and per-user runtime directories.
SESSION_VARIABLES = (
    "PATH",
    "HOME",
    "USER",
    "LOGNAME",
    "TMPDIR",
    "XDG_RUNTIME_DIR",
    "XDG_CONFIG_HOME",
    "XDG_DATA_HOME",
)

# Variables that choose which daemon, context, connection or configuration a
# runtime CLI uses. They pass through so that a probe talks to the same
# endpoint as the user's own commands do.
SELECTOR_VARIABLES = (
    "DOCKER_HOST",
    "DOCKER_CONTEXT",
    "DOCKER_CONFIG",
    "DOCKER_CERT_PATH",
    "DOCKER_TLS_VERIFY",
    "DOCKER_API_VERSION",
    "CONTAINER_HOST",
    "CONTAINER_CONNECTION",
    "CONTAINERS_CONF",
    "CONTAINERS_STORAGE_CONF",
    "CONTAINERS_REGISTRIES_CONF",
    "CONTAINERD_ADDRESS",
    "CONTAINERD_NAMESPACE",
    "CONTAINERD_SNAPSHOTTER",
    "NERDCTL_TOML",
    "CNI_PATH",
)

# Runtime messages are matched as text, so they must not be translated.
FORCED_VARIABLES = {"LC_ALL": "C", "LANG": "C"}


@attrs.frozen(kw_only=True)
class ChildEnvironment:
    """
    Environment for probe commands, and the variables left out because empty.

    ``dropped_empty`` names the allowed variables that were set to an empty
    string in the source and are therefore absent from ``env``, in the order
    of the allowlist. ``dropped_path_entries`` lists the relative entries
    removed from ``PATH``.
    """

    env: dict[str, str]
    dropped_empty: tuple[str, ...] = ()
    dropped_path_entries: tuple[str, ...] = ()


def build_child_env(
    source: Mapping[str, str], *, extra: Mapping[str, str] | None = None
) -> ChildEnvironment:
    """
    Build the environment of probe commands from an allowlist of ``source``.

    Only the session variables (``PATH``, ``HOME``, ``USER``, ``LOGNAME``,
    ``TMPDIR`` and the ``XDG_*`` directories) and the endpoint and
    configuration selectors of Docker, Podman, containerd and nerdctl are
    copied. ``PATH`` keeps only its absolute entries, because an empty or
    relative entry would find a ``docker`` in whatever directory the probe
    runs from, and it defaults to the usual system directories when no entry
    is left.
    ``LC_ALL`` and ``LANG`` are set to ``C`` so that runtime messages read the
    same on every host. ``extra`` is applied last and may override anything,
    including the forced locale.

    An allowed variable whose value is empty is left out and named in
    ``dropped_empty``: for some of them the mere presence changes what a
    runtime does (podman switches to remote mode when ``CONTAINER_HOST`` or
    ``CONTAINER_CONNECTION`` exists, even if empty), and none of them means
    anything useful when empty.

    :param source: the variables to choose from, usually ``os.environ``.
    :param extra: variables added after the allowlist, such as a backend's
        own settings; their empty values are kept.
    :returns: the environment and what was left out of it.
    """
    env: dict[str, str] = {}
    dropped: list[str] = []
    for name in SESSION_VARIABLES + SELECTOR_VARIABLES:
        value = source.get(name)
        if value is None:
            continue

        if value == "":
            dropped.append(name)
        else:
            env[name] = value

    env["PATH"], relative = _keep_absolute(env.get("PATH"))
    env.update(FORCED_VARIABLES)
    if extra is not None:
        env.update(extra)

    return ChildEnvironment(
        env=env, dropped_empty=tuple(dropped), dropped_path_entries=relative
    )


def _keep_absolute(path: str | None) -> tuple[str, tuple[str, ...]]:
    if path is None:
        return DEFAULT_PATH, ()

    entries = path.split(os.pathsep)
    absolute = [entry for entry in entries if os.path.isabs(entry)]
    relative = tuple(entry for entry in entries if not os.path.isabs(entry))
    return os.pathsep.join(absolute) or DEFAULT_PATH, relative
