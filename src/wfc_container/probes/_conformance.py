"""
The conformance run: its private workspace, its argv and the host's checks.

The host puts a random nonce file in a fresh 0700 workspace. The probe program
must return the SHA-256 of that file as the evidence digest, so a stale line,
or one written without access to this run's workspace, cannot pass. Afterwards
the host checks that the workspace contains nothing but the nonce.
"""

from __future__ import annotations

import hashlib
import os
import secrets
import shutil
import tempfile
from pathlib import Path

import attrs

NONCE_NAME = ".wfcompute-probe-nonce"
READ_ONLY_VERIFIED = "read-only-rootfs:verified"
SCOPE_DETAIL_PREFIX = "runtime-scope:"
SCOPE_ENV = "WFCOMPUTE_RUNTIME_SCOPE"
PROBE_ENV = "WFCOMPUTE_RUNTIME_PROBE"
PIDS_LIMIT = "256"


@attrs.frozen(kw_only=True)
class Workspace:
    """A probe's private workspace and the digest its nonce must produce."""

    path: Path
    expected_digest: str

    def leftovers(self) -> tuple[str, ...]:
        """Return the names in the workspace other than the nonce, sorted."""
        return tuple(sorted(n for n in os.listdir(self.path) if n != NONCE_NAME))


def create_workspace() -> Workspace:
    """Create a 0700 temporary workspace holding a fresh nonce file."""
    path = Path(tempfile.mkdtemp(prefix="wfcompute-runtime-probe-"))
    nonce = secrets.token_hex(32).encode()
    (path / NONCE_NAME).write_bytes(nonce)
    return Workspace(path=path, expected_digest=_sha256(nonce))


def remove_workspace(workspace: Workspace) -> None:
    """Delete the workspace tree; a failure here never changes a verdict."""
    shutil.rmtree(workspace.path, ignore_errors=True)


@attrs.frozen(kw_only=True)
class RunPlan:
    """Everything that shapes one conformance ``run`` command."""

    executable: str
    scope_args: tuple[str, ...]
    image: str
    command: tuple[str, ...]
    container_name: str
    workspace: Path
    keep_id: bool = False
    scope_name: str | None = None
    mount_label: str | None = None


def build_run_argv(plan: RunPlan) -> tuple[str, ...]:
    """
    Return the conformance argv.

    The original's arguments come first, in its order. The never-pull option and
    the hardening the sandbox adapters apply follow, so the probe tests the
    profile that a supported report advertises.
    """
    mount = f"{plan.workspace}:/workspace"
    if plan.mount_label:
        mount += f":{plan.mount_label}"
    argv = [plan.executable, *plan.scope_args, "run", "--rm"]
    argv += ["--name", plan.container_name, "--network", "none"]
    argv += ["-v", mount, "-w", "/workspace", "-e", f"{PROBE_ENV}=1", "--read-only"]
    argv += ["--pull", "never", "--cap-drop", "ALL"]
    argv += ["--security-opt", "no-new-privileges", "--pids-limit", PIDS_LIMIT]
    argv += ["--user", f"{os.geteuid()}:{os.getegid()}"]
    if plan.keep_id:
        argv += ["--userns", "keep-id"]
    if plan.scope_name:
        argv += ["-e", f"{SCOPE_ENV}={plan.scope_name}"]
    # "--" would end option parsing for docker, but podman and nerdctl then take
    # it as the image name, so the image is validated instead (no leading "-").
    argv += [plan.image, *plan.command]
    return tuple(argv)


def build_remove_argv(plan: RunPlan) -> tuple[str, ...]:
    """Return the argv that force-removes the conformance container by name."""
    return (plan.executable, *plan.scope_args, "rm", "-f", plan.container_name)


def new_container_name() -> str:
    """Return a unique container name for one conformance run."""
    return "wfcompute-probe-" + secrets.token_hex(8)


def _sha256(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()
