"""Resolution of the endpoints that Docker, Podman and containerd clients use."""

from __future__ import annotations

import hashlib
import json
import os
import socket
from typing import TYPE_CHECKING

import anyio
import attrs

if TYPE_CHECKING:
    from collections.abc import Mapping

DEFAULT_DOCKER_HOST = "unix:///var/run/docker.sock"
DEFAULT_CONTAINERD_ADDRESS = "/run/containerd/containerd.sock"
DEFAULT_CONTEXT = "default"
_UNIX_SCHEME = "unix://"
_CONNECT_RETRY_DELAY = 0.01


@attrs.frozen(kw_only=True)
class DockerEndpoint:
    """
    The Docker context and daemon address that the ``docker`` CLI would use.

    ``source`` names what chose them: ``"DOCKER_HOST"``, ``"DOCKER_CONTEXT"``,
    ``"config.json currentContext"`` or ``"default"``. ``problem`` describes a
    config or context file that could not be read. When the named context
    has no readable metadata, ``host`` is empty, because the CLI would fail
    rather than fall back to the default socket.
    """

    context: str
    host: str
    source: str
    problem: str | None = None

    @property
    def unix_path(self) -> str | None:
        """Socket path of a ``unix://`` host, ``None`` for other schemes."""
        return _strip_unix_scheme(self.host)


@attrs.frozen(kw_only=True)
class PodmanMode:
    """
    Whether ``podman`` runs locally or talks to a remote service, and why.

    ``endpoint`` is the ``CONTAINER_HOST`` URL or the ``CONTAINER_CONNECTION``
    name in remote mode and ``None`` in local mode. ``source`` is the variable
    that selected remote mode, or ``"local"``.
    """

    remote: bool
    endpoint: str | None
    source: str


class _ConfigError(Exception):
    """A Docker config or context file exists but cannot be used."""


def resolve_docker_endpoint(env: Mapping[str, str]) -> DockerEndpoint:
    """
    Resolve the Docker context and host in the order the Docker CLI uses.

    ``DOCKER_HOST`` wins and forces the ``default`` context. Next comes
    ``DOCKER_CONTEXT``, then ``currentContext`` in ``config.json`` under
    ``$DOCKER_CONFIG`` (else ``$HOME/.docker``), then the default socket. A
    named context's host is read from
    ``contexts/meta/<sha256 hex of the name>/meta.json`` at
    ``Endpoints.docker.Host``. Empty variables count as unset, as in the CLI.

    :param env: the environment the ``docker`` command runs with.
    :returns: the context, the host and what selected them; file problems are
        reported in ``problem``, not raised.

    .. note::
       The ``--context`` and ``-H`` options are not considered, because probe
       commands do not pass them.
    """
    host = env.get("DOCKER_HOST")
    if host:
        return DockerEndpoint(context=DEFAULT_CONTEXT, host=host, source="DOCKER_HOST")

    config_dir = _docker_config_dir(env)
    context = env.get("DOCKER_CONTEXT")
    if context:
        return _resolve_context(config_dir, context, source="DOCKER_CONTEXT")

    if config_dir is None:
        return _default_endpoint()

    try:
        current = _read_current_context(os.path.join(config_dir, "config.json"))
    except _ConfigError as exc:
        # The CLI warns about an unreadable config.json and carries on with
        # the default context, so this does too.
        return _default_endpoint(problem=str(exc))

    if current:
        return _resolve_context(
            config_dir, current, source="config.json currentContext"
        )

    return _default_endpoint()


def resolve_podman_mode(env: Mapping[str, str]) -> PodmanMode:
    """
    Tell whether ``podman`` would run in remote mode with ``env``.

    Podman checks only whether ``CONTAINER_HOST`` or ``CONTAINER_CONNECTION``
    is present, so any value selects remote mode; ``CONTAINER_HOST`` is
    checked first, as podman does. Pass the environment built by
    ``build_child_env``, which has already dropped empty ones.

    :param env: the environment the ``podman`` command runs with.
    :returns: the mode, the endpoint and the variable that chose it.

    .. note::
       ``--remote``, ``--connection`` and the ``remote`` setting of
       ``containers.conf`` also select remote mode and are not considered.
    """
    for name in ("CONTAINER_HOST", "CONTAINER_CONNECTION"):
        if name in env:
            return PodmanMode(remote=True, endpoint=env[name], source=name)

    return PodmanMode(remote=False, endpoint=None, source="local")


def resolve_containerd_address(env: Mapping[str, str]) -> str:
    """
    Return the containerd socket path that ``nerdctl`` would use with ``env``.

    :param env: the environment the ``nerdctl`` command runs with.
    :returns: ``CONTAINERD_ADDRESS`` without a ``unix://`` prefix, or
        ``/run/containerd/containerd.sock`` when it is unset or empty.
    """
    address = env.get("CONTAINERD_ADDRESS")
    if not address:
        return DEFAULT_CONTAINERD_ADDRESS

    return _strip_unix_scheme(address) or address


async def can_connect_unix(path: str, *, timeout: float) -> bool:
    """
    Tell whether a unix socket at ``path`` accepts a connection.

    The connection is closed at once without sending anything. A listener
    whose backlog stays full until ``timeout`` counts as unreachable.

    :param path: the socket's file system path, without ``unix://``.
    :param timeout: limit in seconds for connecting.
    :returns: ``True`` when the connection succeeded, ``False`` on any
        ``OSError`` (missing file, refused, permission denied, path too long)
        or when ``timeout`` expired.
    """
    # anyio.connect_unix is not used: cancelled while the backlog is full, its
    # asyncio backend leaks the socket, and its trio backend reports success.
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.setblocking(False)
        with anyio.move_on_after(timeout):
            while True:
                try:
                    sock.connect(path)
                except BlockingIOError:
                    # Linux fails a non-blocking connect to a full backlog
                    # with EAGAIN and leaves the socket unconnected.
                    await anyio.sleep(_CONNECT_RETRY_DELAY)
                except OSError:
                    return False
                else:
                    return True

    return False


def context_meta_path(config_dir: str, context: str) -> str:
    """
    Return the path of a Docker context's ``meta.json`` under ``config_dir``.

    :param config_dir: the Docker config directory.
    :param context: the context name; its SHA-256 hex digest names the
        directory.
    :returns: ``<config_dir>/contexts/meta/<digest>/meta.json``.
    """
    digest = hashlib.sha256(context.encode()).hexdigest()
    return os.path.join(config_dir, "contexts", "meta", digest, "meta.json")


def _docker_config_dir(env: Mapping[str, str]) -> str | None:
    config_dir = env.get("DOCKER_CONFIG")
    if config_dir:
        return config_dir

    home = env.get("HOME")
    if home:
        return os.path.join(home, ".docker")

    return None


def _default_endpoint(*, problem: str | None = None) -> DockerEndpoint:
    return DockerEndpoint(
        context=DEFAULT_CONTEXT,
        host=DEFAULT_DOCKER_HOST,
        source="default",
        problem=problem,
    )


def _resolve_context(
    config_dir: str | None, context: str, *, source: str
) -> DockerEndpoint:
    if context == DEFAULT_CONTEXT:
        return DockerEndpoint(context=context, host=DEFAULT_DOCKER_HOST, source=source)

    if config_dir is None:
        problem = (
            f"cannot look up context {context!r}: neither DOCKER_CONFIG nor HOME is set"
        )
        return DockerEndpoint(context=context, host="", source=source, problem=problem)

    try:
        host = _read_context_host(context_meta_path(config_dir, context), context)
    except _ConfigError as exc:
        return DockerEndpoint(context=context, host="", source=source, problem=str(exc))

    return DockerEndpoint(context=context, host=host, source=source)


def _read_current_context(path: str) -> str | None:
    document = _read_json(path)
    if document is None:
        return None

    current = document.get("currentContext")
    if current is not None and not isinstance(current, str):
        msg = (
            f"invalid {path!r}: expected a string at currentContext, found {current!r}"
        )
        raise _ConfigError(msg)

    return current


def _read_context_host(path: str, context: str) -> str:
    document = _read_json(path)
    if document is None:
        msg = f"context {context!r} not found: no metadata file {path!r}"
        raise _ConfigError(msg)

    endpoints = document.get("Endpoints")
    docker = endpoints.get("docker") if isinstance(endpoints, dict) else None
    host = docker.get("Host") if isinstance(docker, dict) else None
    if not isinstance(host, str) or not host:
        msg = f"context {context!r} in {path!r} has no Endpoints.docker.Host"
        raise _ConfigError(msg)

    return host


def _read_json(path: str) -> dict[str, object] | None:
    """Return the JSON object in ``path``, or ``None`` when there is no such file."""
    try:
        with open(path, "rb") as file:
            document = json.load(file)
    except FileNotFoundError:
        return None
    except OSError as exc:
        msg = f"cannot read {path!r}: {exc.strerror or exc}"
        raise _ConfigError(msg) from None
    except ValueError as exc:
        msg = f"invalid JSON in {path!r}: {exc}"
        raise _ConfigError(msg) from None

    if not isinstance(document, dict):
        msg = (
            f"invalid {path!r}: expected a JSON object, found {type(document).__name__}"
        )
        raise _ConfigError(msg)

    return document


def _strip_unix_scheme(address: str) -> str | None:
    if address.startswith(_UNIX_SCHEME):
        return address[len(_UNIX_SCHEME) :]

    return None
