"""
Real runs of the probe image on Podman, Docker and containerd.

Each runtime gets the engine's exact conformance argv; the negative cases drop
one piece of it and check that the matching flag or detail turns false.
"""

from __future__ import annotations

import subprocess
from typing import TYPE_CHECKING

import pytest

from real_fixtures import (
    MANAGED_NAMESPACE,
    NERDCTL_DOUBLE,
    NONCE_NAME,
    conformance_argv,
    container_names,
    loaded_image,
    make_workspace,
    probe_archive,
    require_tool,
    run_conformance,
)

if TYPE_CHECKING:
    from pathlib import Path

pytestmark = pytest.mark.real
__all__ = ("loaded_image", "probe_archive")  # fixtures used by name below

FLAGS = ("workspace", "network", "env", "proof", "cleanup")


def _listing(executable: str, scope_args: tuple[str, ...]) -> list[str]:
    if executable == str(NERDCTL_DOUBLE):
        return [executable, *scope_args, "ps", "-a", "-q"]
    return [executable, "ps", "-a", "--format", "{{.Names}}"]


def _runtime(name: str) -> tuple[str, tuple[str, ...]]:
    if name == "nerdctl-double":
        return str(NERDCTL_DOUBLE), ()
    if name == "nerdctl-double-managed":
        return str(NERDCTL_DOUBLE), ("--namespace", MANAGED_NAMESPACE)
    return require_tool(name), ()


@pytest.mark.parametrize(
    "argv",
    [
        ["podman", "image", "inspect", "--format", "{{.Id}}"],
        ["docker", "image", "inspect", "--format", "{{.Id}}"],
        [str(NERDCTL_DOUBLE), "image", "inspect", "--format", "{{.Id}}"],
        [str(NERDCTL_DOUBLE), "--namespace", MANAGED_NAMESPACE, "image", "inspect"],
    ],
    ids=["podman", "docker", "containerd", "containerd-managed"],
)
def test_real_image_present(loaded_image: str, argv: list[str]) -> None:
    result = subprocess.run([*argv, loaded_image], capture_output=True, text=True)

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() != ""


def test_real_archive_same_bytes(probe_archive: Path, tmp_path: Path) -> None:
    import anyio

    from wfc_container.image import build_probe_image

    again = anyio.run(build_probe_image, tmp_path / "again.tar")

    assert again.path.read_bytes() == probe_archive.read_bytes()


@pytest.mark.parametrize(
    "runtime", ["podman", "docker", "nerdctl-double", "nerdctl-double-managed"]
)
def test_real_conformance_passes(
    loaded_image: str, tmp_path: Path, runtime: str
) -> None:
    executable, scope_args = _runtime(runtime)
    scope = MANAGED_NAMESPACE if scope_args else None
    workspace = make_workspace(tmp_path)

    argv = conformance_argv(
        executable, workspace.path, scope_args=scope_args, scope=scope
    )

    run = run_conformance(argv)

    assert run.exit_code == 0, run.stderr
    assert {flag: run.evidence[flag] for flag in FLAGS} == dict.fromkeys(FLAGS, True)
    assert run.evidence["digest"] == workspace.expected_digest
    details = run.evidence["details"]
    assert isinstance(details, list)
    assert "read-only-rootfs:verified" in details
    assert "probe-program:0.1.0" in details
    if scope is not None:
        assert f"runtime-scope:{scope}" in details
    assert set(run.evidence) == {"digest", *FLAGS, "details"}
    assert workspace.names() == [NONCE_NAME]
    name = argv[argv.index("--name") + 1]
    assert name not in container_names(_listing(executable, scope_args))


@pytest.mark.parametrize("runtime", ["podman", "docker", "nerdctl-double"])
def test_real_without_read_only(
    loaded_image: str, tmp_path: Path, runtime: str
) -> None:
    executable, _ = _runtime(runtime)
    workspace = make_workspace(tmp_path)

    run = run_conformance(conformance_argv(executable, workspace.path, read_only=False))

    details = run.evidence["details"]
    assert isinstance(details, list)
    assert "read-only-rootfs:writable" in details
    assert "read-only-rootfs:verified" not in details


@pytest.mark.parametrize("runtime", ["podman", "docker", "nerdctl-double"])
def test_real_with_host_network(
    loaded_image: str, tmp_path: Path, runtime: str
) -> None:
    executable, _ = _runtime(runtime)
    workspace = make_workspace(tmp_path)

    run = run_conformance(conformance_argv(executable, workspace.path, network="host"))

    assert run.exit_code == 1
    assert run.evidence["network"] is False
    assert run.evidence["workspace"] is True
    assert "network: interface" in run.stderr


@pytest.mark.parametrize("runtime", ["podman", "docker", "nerdctl-double"])
def test_real_without_probe_env(
    loaded_image: str, tmp_path: Path, runtime: str
) -> None:
    executable, _ = _runtime(runtime)
    workspace = make_workspace(tmp_path)

    run = run_conformance(conformance_argv(executable, workspace.path, probe_env=False))

    assert run.exit_code == 1
    assert run.evidence["env"] is False
    assert run.evidence["network"] is True


@pytest.mark.parametrize("runtime", ["podman", "docker", "nerdctl-double"])
def test_real_without_mount(loaded_image: str, tmp_path: Path, runtime: str) -> None:
    executable, _ = _runtime(runtime)
    workspace = make_workspace(tmp_path)

    run = run_conformance(conformance_argv(executable, workspace.path, mount=False))

    assert run.exit_code == 1
    assert run.evidence["workspace"] is False
    assert run.evidence["proof"] is False
    assert "digest" not in run.evidence
    assert workspace.names() == [NONCE_NAME]
