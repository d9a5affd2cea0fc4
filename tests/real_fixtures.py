"""
Fixtures and helpers for tests against real Podman, Docker and containerd.

The tests that use them are marked ``real`` and run only with
``WORKFLOW_COMPUTE_RUNTIME_PROBE_REAL=1``; then a missing runtime fails the
test instead of skipping it. The probe image is built once per session and
loaded into every runtime, so the tests do not depend on an earlier load.
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
import shutil
import subprocess
from pathlib import Path

import anyio
import attrs
import pytest

from wfc_container.image import PROBE_IMAGE_REFERENCE, build_probe_image
from wfc_container.image._load import load_probe_image
from wfc_container.probes._claims import scope_name

DOUBLES_DIR = Path(__file__).parent / "doubles"
NERDCTL_DOUBLE = DOUBLES_DIR / "nerdctl"
PROGRAM = "/usr/local/bin/wfcompute-sandbox-probe"
NONCE_NAME = ".wfcompute-probe-nonce"
# The namespace the managed bundle path uses for the catalog's bundle.
MANAGED_NAMESPACE = scope_name("managed-containerd-linux-amd64", "distroless-static-v1")


def require_tool(name: str) -> str:
    """Return the path of ``name``, failing the test when it is not installed."""
    path = shutil.which(name)
    if path is None:
        pytest.fail(f"{name} not found on PATH; run scripts/install-runtimes.sh")
    return path


def require_compiler() -> None:
    """Skip without gcc on a developer machine; fail in CI or real runs."""
    if shutil.which("gcc") is not None:
        return
    real = os.environ.get("WORKFLOW_COMPUTE_RUNTIME_PROBE_REAL") == "1"
    if real or os.environ.get("CI") == "true":
        pytest.fail("gcc not found on PATH; run scripts/install-runtimes.sh")
    pytest.skip("gcc not found on PATH: install gcc and libc6-dev")


@attrs.frozen(kw_only=True)
class ProbeWorkspace:
    """A workspace like the engine's: 0700, one nonce file, and its digest."""

    path: Path
    expected_digest: str

    def names(self) -> list[str]:
        """Return the sorted names in the workspace."""
        return sorted(os.listdir(self.path))


def make_workspace(parent: Path) -> ProbeWorkspace:
    """Create a probe workspace under ``parent``."""
    path = parent / ("ws-" + secrets.token_hex(4))
    path.mkdir(mode=0o700)
    nonce = secrets.token_hex(32).encode()
    (path / NONCE_NAME).write_bytes(nonce)
    digest = "sha256:" + hashlib.sha256(nonce).hexdigest()
    return ProbeWorkspace(path=path, expected_digest=digest)


def conformance_argv(
    executable: str,
    workspace: Path,
    *,
    scope_args: tuple[str, ...] = (),
    scope: str | None = None,
    network: str = "none",
    read_only: bool = True,
    probe_env: bool = True,
    mount: bool = True,
) -> list[str]:
    """Return the engine's conformance argv, optionally without one piece."""
    argv = [executable, *scope_args, "run", "--rm"]
    argv += ["--name", "wfcompute-probe-" + secrets.token_hex(8)]
    argv += ["--network", network]
    if mount:
        argv += ["-v", f"{workspace}:/workspace"]
    argv += ["-w", "/workspace"]
    if probe_env:
        argv += ["-e", "WFCOMPUTE_RUNTIME_PROBE=1"]
    if read_only:
        argv += ["--read-only"]
    argv += ["--pull", "never", "--cap-drop", "ALL"]
    argv += ["--security-opt", "no-new-privileges", "--pids-limit", "256"]
    argv += ["--user", f"{os.geteuid()}:{os.getegid()}"]
    if scope is not None:
        argv += ["-e", f"WFCOMPUTE_RUNTIME_SCOPE={scope}"]
    return [*argv, PROBE_IMAGE_REFERENCE, PROGRAM]


@attrs.frozen(kw_only=True)
class ProbeRun:
    """Exit code, parsed evidence line and stderr of one conformance run."""

    exit_code: int
    evidence: dict[str, object]
    stderr: str


def run_conformance(argv: list[str]) -> ProbeRun:
    """Run ``argv`` and parse the last stdout line as the evidence JSON."""
    result = subprocess.run(
        argv, capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL
    )
    lines = result.stdout.strip().splitlines()
    assert lines, f"no evidence on stdout; stderr: {result.stderr}"
    evidence = json.loads(lines[-1])
    assert isinstance(evidence, dict)
    return ProbeRun(
        exit_code=result.returncode, evidence=evidence, stderr=result.stderr
    )


def container_names(argv_prefix: list[str]) -> list[str]:
    """Return the output lines of a ``ps -a``-style listing command."""
    result = subprocess.run(argv_prefix, capture_output=True, text=True, check=True)
    return result.stdout.split()


@pytest.fixture(scope="session")
def probe_archive(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Build the probe image archive once per session."""
    require_compiler()
    path = tmp_path_factory.mktemp("image") / "probe-image.tar"
    anyio.run(build_probe_image, path)
    return path


@pytest.fixture(scope="session")
def loaded_image(probe_archive: Path) -> str:
    """Load the probe image into podman, docker and two containerd namespaces."""
    for tool in ("podman", "docker", "ctr"):
        require_tool(tool)
    loads = [
        ("podman", "default"),
        ("docker", "default"),
        ("containerd", "default"),
        ("containerd", MANAGED_NAMESPACE),
    ]
    for backend, namespace in loads:
        reference = anyio.run(_load, backend, probe_archive, namespace)
        assert reference == PROBE_IMAGE_REFERENCE
    return PROBE_IMAGE_REFERENCE


async def _load(backend: str, archive: Path, namespace: str) -> str:
    return await load_probe_image(backend, archive=archive, namespace=namespace)
