"""Tests for resolving the Docker, Podman and containerd endpoints as the CLIs do."""

from __future__ import annotations

import json
import socket
from typing import TYPE_CHECKING

import pytest

from wfc_container.probes._endpoints import (
    DEFAULT_CONTAINERD_ADDRESS,
    DEFAULT_DOCKER_HOST,
    can_connect_unix,
    context_meta_path,
    resolve_containerd_address,
    resolve_docker_endpoint,
    resolve_podman_mode,
)
from wfc_container.probes._env import build_child_env

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

# Context directory names given in the field reports: SHA-256 of the name.
RD_DIGEST = "4573a839ffe27bbd6a9305d6ea6617b7332a5cb8659fbfdc256fe917eda0a79e"
DESKTOP_DIGEST = "fe9c6bd7a66301f49ca9b6a70b217107cd1284598bfc254700c989b916da791e"


@pytest.fixture(params=["asyncio", "trio"])
def anyio_backend(request: pytest.FixtureRequest) -> str:
    backend: str = request.param
    return backend


@pytest.fixture
def listening(tmp_path: Path) -> Iterator[socket.socket]:
    """Return a listening unix socket at ``tmp_path/listening.sock``."""
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(str(tmp_path / "listening.sock"))
    server.listen()
    yield server
    server.close()


def write_context(config_dir: Path, digest: str, name: str, host: str) -> None:
    """Write a context's ``meta.json`` the way ``docker context create`` does."""
    meta_dir = config_dir / "contexts" / "meta" / digest
    meta_dir.mkdir(parents=True)
    meta = {
        "Name": name,
        "Metadata": {},
        "Endpoints": {"docker": {"Host": host, "SkipTLSVerify": False}},
    }
    (meta_dir / "meta.json").write_text(json.dumps(meta))


def listen_unix(path: Path) -> socket.socket:
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(str(path))
    server.listen()
    return server


@pytest.mark.parametrize(
    ("name", "digest"),
    [("rd", RD_DIGEST), ("desktop-linux", DESKTOP_DIGEST)],
    ids=["rd", "desktop-linux"],
)
def test_context_meta_path_digest(name: str, digest: str) -> None:
    path = context_meta_path("/cfg", name)

    assert path == f"/cfg/contexts/meta/{digest}/meta.json"


@pytest.mark.parametrize(
    ("name", "digest", "sock"),
    [("rd", RD_DIGEST, "rd.sock"), ("desktop-linux", DESKTOP_DIGEST, "desktop.sock")],
    ids=["fc10-rd", "fc11-desktop-linux"],
)
async def test_docker_endpoint_current_context(
    tmp_path: Path, name: str, digest: str, sock: str
) -> None:
    """The current context in config.json wins over the default socket."""
    config_dir = tmp_path / "docker"
    config_dir.mkdir()
    (config_dir / "config.json").write_text(json.dumps({"currentContext": name}))
    write_context(config_dir, digest, name, f"unix://{tmp_path}/{sock}")
    server = listen_unix(tmp_path / sock)
    env = build_child_env({"DOCKER_CONFIG": str(config_dir), "HOME": "/nonexistent"})

    endpoint = resolve_docker_endpoint(env.env)
    try:
        reachable = await can_connect_unix(str(endpoint.unix_path), timeout=5)
    finally:
        server.close()

    assert endpoint.context == name
    assert endpoint.host == f"unix://{tmp_path}/{sock}"
    assert endpoint.source == "config.json currentContext"
    assert endpoint.problem is None
    assert endpoint.unix_path == f"{tmp_path}/{sock}"
    assert reachable is True


def test_docker_endpoint_host_wins(tmp_path: Path) -> None:
    """DOCKER_HOST forces the default context over DOCKER_CONTEXT and config.json."""
    config_dir = tmp_path / "docker"
    config_dir.mkdir()
    (config_dir / "config.json").write_text(json.dumps({"currentContext": "rd"}))
    env = {
        "DOCKER_HOST": "tcp://127.0.0.1:2375",
        "DOCKER_CONTEXT": "rd",
        "DOCKER_CONFIG": str(config_dir),
    }

    endpoint = resolve_docker_endpoint(env)

    assert endpoint.context == "default"
    assert endpoint.host == "tcp://127.0.0.1:2375"
    assert endpoint.source == "DOCKER_HOST"
    assert endpoint.unix_path is None


def test_docker_endpoint_context_variable(tmp_path: Path) -> None:
    """DOCKER_CONTEXT wins over currentContext in config.json."""
    config_dir = tmp_path / "docker"
    config_dir.mkdir()
    (config_dir / "config.json").write_text(
        json.dumps({"currentContext": "desktop-linux"})
    )
    write_context(config_dir, RD_DIGEST, "rd", "unix:///x/rd.sock")
    env = {"DOCKER_CONTEXT": "rd", "DOCKER_CONFIG": str(config_dir)}

    endpoint = resolve_docker_endpoint(env)

    assert endpoint.context == "rd"
    assert endpoint.host == "unix:///x/rd.sock"
    assert endpoint.source == "DOCKER_CONTEXT"


def test_docker_endpoint_home_config(tmp_path: Path) -> None:
    """Without DOCKER_CONFIG the config directory is ``$HOME/.docker``."""
    config_dir = tmp_path / ".docker"
    config_dir.mkdir()
    (config_dir / "config.json").write_text(json.dumps({"currentContext": "rd"}))
    write_context(config_dir, RD_DIGEST, "rd", "unix:///x/rd.sock")

    endpoint = resolve_docker_endpoint({"HOME": str(tmp_path)})

    assert endpoint.context == "rd"
    assert endpoint.host == "unix:///x/rd.sock"


def test_docker_endpoint_default(tmp_path: Path) -> None:
    endpoint = resolve_docker_endpoint({"HOME": str(tmp_path)})

    assert endpoint.context == "default"
    assert endpoint.host == DEFAULT_DOCKER_HOST
    assert endpoint.source == "default"
    assert endpoint.problem is None
    assert endpoint.unix_path == "/var/run/docker.sock"


def test_docker_endpoint_no_home() -> None:
    endpoint = resolve_docker_endpoint({})

    assert endpoint.host == DEFAULT_DOCKER_HOST
    assert endpoint.problem is None


def test_docker_endpoint_named_default(tmp_path: Path) -> None:
    """The context named ``default`` needs no metadata file."""
    endpoint = resolve_docker_endpoint(
        {"DOCKER_CONTEXT": "default", "DOCKER_CONFIG": str(tmp_path)}
    )

    assert endpoint.context == "default"
    assert endpoint.host == DEFAULT_DOCKER_HOST
    assert endpoint.source == "DOCKER_CONTEXT"


def test_docker_endpoint_empty_variables(tmp_path: Path) -> None:
    """Empty DOCKER_HOST and DOCKER_CONTEXT count as unset, as in the CLI."""
    env = {"DOCKER_HOST": "", "DOCKER_CONTEXT": "", "DOCKER_CONFIG": str(tmp_path)}

    endpoint = resolve_docker_endpoint(env)

    assert endpoint.host == DEFAULT_DOCKER_HOST
    assert endpoint.source == "default"


def test_docker_endpoint_missing_context(tmp_path: Path) -> None:
    """A context without metadata has no host, not the default socket."""
    (tmp_path / "config.json").write_text(json.dumps({"currentContext": "rd"}))

    endpoint = resolve_docker_endpoint({"DOCKER_CONFIG": str(tmp_path)})

    meta = context_meta_path(str(tmp_path), "rd")
    assert endpoint.context == "rd"
    assert endpoint.host == ""
    assert endpoint.unix_path is None
    assert endpoint.problem == f"context 'rd' not found: no metadata file {meta!r}"


def test_docker_endpoint_context_without_host(tmp_path: Path) -> None:
    meta_dir = tmp_path / "contexts" / "meta" / RD_DIGEST
    meta_dir.mkdir(parents=True)
    (meta_dir / "meta.json").write_text(json.dumps({"Name": "rd", "Endpoints": {}}))

    endpoint = resolve_docker_endpoint(
        {"DOCKER_CONTEXT": "rd", "DOCKER_CONFIG": str(tmp_path)}
    )

    meta = context_meta_path(str(tmp_path), "rd")
    assert endpoint.host == ""
    assert endpoint.problem == f"context 'rd' in {meta!r} has no Endpoints.docker.Host"


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        ("{not json", "invalid JSON in {path!r}: "),
        ("[]", "invalid {path!r}: expected a JSON object, found list"),
        (
            '{"currentContext": 5}',
            "invalid {path!r}: expected a string at currentContext, found 5",
        ),
    ],
    ids=["not-json", "not-object", "context-not-string"],
)
def test_docker_endpoint_bad_config(tmp_path: Path, content: str, problem: str) -> None:
    """An unusable config.json falls back to the default, as the CLI does, with a problem."""
    path = tmp_path / "config.json"
    path.write_text(content)

    endpoint = resolve_docker_endpoint({"DOCKER_CONFIG": str(tmp_path)})

    assert endpoint.host == DEFAULT_DOCKER_HOST
    assert endpoint.source == "default"
    assert endpoint.problem is not None
    assert endpoint.problem.startswith(problem.format(path=str(path)))


def test_docker_endpoint_unreadable_config(tmp_path: Path) -> None:
    """A config.json that cannot be read is named with the OS error."""
    path = tmp_path / "config.json"
    path.mkdir()

    endpoint = resolve_docker_endpoint({"DOCKER_CONFIG": str(tmp_path)})

    assert endpoint.host == DEFAULT_DOCKER_HOST
    assert endpoint.problem == f"cannot read {str(path)!r}: Is a directory"


def test_podman_mode_local() -> None:
    mode = resolve_podman_mode(build_child_env({"PATH": "/usr/bin"}).env)

    assert mode.remote is False
    assert mode.endpoint is None
    assert mode.source == "local"


def test_podman_mode_fc13_empty_host() -> None:
    """An empty CONTAINER_HOST inherited by the caller leaves podman local."""
    env = build_child_env({"CONTAINER_HOST": "", "CONTAINER_CONNECTION": ""}).env

    mode = resolve_podman_mode(env)

    assert mode.remote is False
    assert mode.source == "local"


def test_podman_mode_present_empty() -> None:
    """Presence alone selects remote mode, as in podman, when a caller keeps it."""
    mode = resolve_podman_mode({"CONTAINER_HOST": ""})

    assert mode.remote is True
    assert mode.endpoint == ""
    assert mode.source == "CONTAINER_HOST"


def test_podman_mode_host_first() -> None:
    env = {
        "CONTAINER_HOST": "ssh://core@127.0.0.1:2222/run/podman/podman.sock",
        "CONTAINER_CONNECTION": "machine",
    }

    mode = resolve_podman_mode(env)

    assert mode.remote is True
    assert mode.endpoint == "ssh://core@127.0.0.1:2222/run/podman/podman.sock"
    assert mode.source == "CONTAINER_HOST"


def test_podman_mode_connection() -> None:
    mode = resolve_podman_mode({"CONTAINER_CONNECTION": "podman-machine-default"})

    assert mode.remote is True
    assert mode.endpoint == "podman-machine-default"
    assert mode.source == "CONTAINER_CONNECTION"


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({}, DEFAULT_CONTAINERD_ADDRESS),
        ({"CONTAINERD_ADDRESS": ""}, DEFAULT_CONTAINERD_ADDRESS),
        ({"CONTAINERD_ADDRESS": "/opt/c.sock"}, "/opt/c.sock"),
        ({"CONTAINERD_ADDRESS": "unix:///opt/c.sock"}, "/opt/c.sock"),
    ],
    ids=["unset", "empty", "path", "unix-url"],
)
def test_containerd_address(env: dict[str, str], expected: str) -> None:
    assert resolve_containerd_address(env) == expected


async def test_can_connect_unix_listening(listening: socket.socket) -> None:
    path = listening.getsockname()

    assert await can_connect_unix(path, timeout=5) is True


async def test_can_connect_unix_missing(tmp_path: Path) -> None:
    assert await can_connect_unix(str(tmp_path / "none.sock"), timeout=5) is False


async def test_can_connect_unix_refused(tmp_path: Path) -> None:
    """A socket file with no listener behind it refuses the connection."""
    path = tmp_path / "stale.sock"
    stale = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    stale.bind(str(path))
    stale.close()

    assert await can_connect_unix(str(path), timeout=5) is False


async def test_can_connect_unix_regular_file(tmp_path: Path) -> None:
    path = tmp_path / "file"
    path.write_text("")

    assert await can_connect_unix(str(path), timeout=5) is False


async def test_can_connect_unix_timeout(tmp_path: Path) -> None:
    """A listener whose backlog stays full counts as unreachable at the timeout."""
    path = str(tmp_path / "full.sock")
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(path)
    server.listen(0)
    queued = []
    try:
        while True:
            client = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            client.setblocking(False)
            queued.append(client)
            try:
                client.connect(path)
            except BlockingIOError:
                break

        reachable = await can_connect_unix(path, timeout=0.2)
    finally:
        for client in queued:
            client.close()

        server.close()

    assert reachable is False
