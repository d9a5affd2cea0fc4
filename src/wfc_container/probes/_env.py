"""The explicit environment that probe commands run with."""

from __future__ import annotations

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
    of the allowlist.
    """

    env: dict[str, str]
    dropped_empty: tuple[str, ...] = ()


def build_child_env(
    source: Mapping[str, str], *, extra: Mapping[str, str] | None = None
) -> ChildEnvironment:
    """
    Build the environment of probe commands from an allowlist of ``source``.

    Only the session variables (``PATH``, ``HOME``, ``USER``, ``LOGNAME``,
    ``TMPDIR`` and the ``XDG_*`` directories) and the endpoint and
    configuration selectors of Docker, Podman, containerd and nerdctl are
    copied. ``PATH`` defaults to the usual system directories when absent.
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
    :returns: the environment and the names of the dropped empty variables.
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

    env.setdefault("PATH", DEFAULT_PATH)
    env.update(FORCED_VARIABLES)
    if extra is not None:
        env.update(extra)

    return ChildEnvironment(env=env, dropped_empty=tuple(dropped))
