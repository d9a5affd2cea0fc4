"""
Sandbox adapters against real Podman and Docker.

The images are made offline: a static busybox from Debian's busybox-static
package, packed into a root file system tar and imported with ``import``.
The builder image adds a small shell builder that writes the digest of the
Dockerfile into the build state directory and prints a forged digest marker.
"""

from __future__ import annotations

import hashlib
import io
import os
import secrets
import stat
import subprocess
import tarfile
from pathlib import Path
from typing import TYPE_CHECKING

import anyio
import attrs
import pytest

from real_fixtures import require_tool
from wfc_container.sandbox import (
    CommandWorkload,
    ContainerBuildWorkload,
    EnvRef,
    RuntimeTarget,
    SandboxRuntimeError,
    SandboxTimeoutError,
    build_command_invocation,
    build_container_build_invocation,
    build_sandboxed_container,
    local_target,
    run_sandboxed_command,
)

if TYPE_CHECKING:
    from collections.abc import Iterator

    from wfc_container.sandbox import RuntimeExecutionResult

pytestmark = pytest.mark.real

BUSYBOX = Path("/bin/busybox")
# Unique tags, so that test runs in parallel do not remove each other's images.
_RUN_TAG = secrets.token_hex(4)
COMMAND_IMAGE = f"localhost/wfcompute-sandbox-test:command-{_RUN_TAG}"
BUILDER_IMAGE = f"localhost/wfcompute-sandbox-test:builder-{_RUN_TAG}"
APPLETS = ("sh", "cat", "echo", "printf", "sleep", "touch", "sha256sum", "cut", "ls")
FORGED = "sha256:" + "f" * 64
BUILDER_SCRIPT = f"""#!/bin/sh
set -eu
echo "context=$WORKFLOW_COMPUTE_BUILD_CONTEXT"
echo "dockerfile=$WORKFLOW_COMPUTE_BUILD_DOCKERFILE"
echo "tags=$WORKFLOW_COMPUTE_BUILD_TAGS"
echo "push=$WORKFLOW_COMPUTE_BUILD_PUSH"
echo "config=$DOCKER_CONFIG_JSON"
context="/workspace/$WORKFLOW_COMPUTE_BUILD_CONTEXT"
dockerfile="$context/$WORKFLOW_COMPUTE_BUILD_DOCKERFILE"
sum=$(sha256sum "$dockerfile" | cut -d ' ' -f 1)
echo "WORKFLOW_COMPUTE_BUILD_DIGEST={FORGED}"
echo "{FORGED}" > /workspace/.wfcompute-container-build-digest
printf 'sha256:%s\\n' "$sum" > "$WORKFLOW_COMPUTE_BUILD_DIGEST_FILE"
"""
RUNTIMES = ("podman", "docker")


def rootfs_tar(builder: bool) -> bytes:
    if not BUSYBOX.exists():
        pytest.fail("/bin/busybox not found: install Debian's busybox-static")

    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for name in ("bin", "tmp", "proc", "sys", "dev", "etc", "usr/local/bin"):
            info = tarfile.TarInfo(name)
            info.type = tarfile.DIRTYPE
            info.mode = 0o1777 if name == "tmp" else 0o755
            tar.addfile(info)
        tar.add(BUSYBOX, arcname="bin/busybox")
        for applet in APPLETS:
            link = tarfile.TarInfo(f"bin/{applet}")
            link.type = tarfile.SYMTYPE
            link.linkname = "busybox"
            tar.addfile(link)
        if builder:
            script = BUILDER_SCRIPT.encode()
            info = tarfile.TarInfo("usr/local/bin/wfcompute-container-builder")
            info.mode = 0o755
            info.size = len(script)
            tar.addfile(info, io.BytesIO(script))
    return buffer.getvalue()


@pytest.fixture(scope="module", params=RUNTIMES)
def runtime(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    tool = str(request.param)
    require_tool(tool)
    directory = tmp_path_factory.mktemp(f"images-{tool}")
    for image, builder in ((COMMAND_IMAGE, False), (BUILDER_IMAGE, True)):
        tar = directory / f"{builder}.tar"
        tar.write_bytes(rootfs_tar(builder))
        subprocess.run(
            [tool, "import", "--change", 'CMD ["/bin/sh"]', str(tar), image],
            check=True,
            capture_output=True,
        )
    yield tool
    subprocess.run(
        [tool, "rmi", "-f", COMMAND_IMAGE, BUILDER_IMAGE],
        check=False,
        capture_output=True,
    )


@pytest.fixture
def prefix() -> str:
    """Return a container name prefix of this test alone (others run in parallel)."""
    return "wfcompute-test-" + secrets.token_hex(4)


def containers(tool: str, prefix: str) -> list[str]:
    listing = subprocess.run(
        [tool, "ps", "-a", "--format", "{{.Names}}"],
        check=True,
        capture_output=True,
        text=True,
    )
    return [name for name in listing.stdout.split() if name.startswith(prefix + "-")]


def target(tool: str, prefix: str) -> RuntimeTarget:
    return attrs.evolve(local_target(tool), name_prefix=prefix)


async def run(
    tool: str, workspace: Path, *args: str, prefix: str = "wfcompute", **kwargs: object
) -> RuntimeExecutionResult:
    workload = CommandWorkload(
        args=args,
        env=kwargs.pop("env", ()),  # type: ignore[arg-type]
        artifact_allowlist=kwargs.pop("allowlist", ()),  # type: ignore[arg-type]
    )
    invocation = build_command_invocation(
        task_id="task-1",
        lease_id="lease-1",
        image=str(kwargs.pop("image", COMMAND_IMAGE)),
        workspace=str(workspace),
        workload=workload,
        **kwargs,  # type: ignore[arg-type]
    )
    return await run_sandboxed_command(invocation, target(tool, prefix))


async def test_real_command_output_and_writes(
    runtime: str, tmp_path: Path, prefix: str
) -> None:
    script = "echo out; echo err >&2; echo data > result.txt"
    result = await run(
        runtime, tmp_path, "sh", "-c", script, allowlist=("result.txt",), prefix=prefix
    )
    assert result.exit_code == 0
    assert result.stdout == b"out\n"
    assert result.stderr == b"err\n"
    assert (tmp_path / "result.txt").read_text() == "data\n"
    digest = hashlib.sha256(b"result.txt\0data\n\0").hexdigest()
    assert result.artifact_hash == f"sha256:{digest}"
    assert containers(runtime, prefix) == []


async def test_real_env_arrives(runtime: str, tmp_path: Path) -> None:
    refs = (EnvRef(name="GREETING", value_ref="v://greeting"),)
    result = await run(
        runtime,
        tmp_path,
        "sh",
        "-c",
        'printf %s "$GREETING"',
        env=refs,
        resolved_env={"v://greeting": "hello = world 'quoted'"},
    )
    assert result.stdout == b"hello = world 'quoted'"


async def test_real_network_none(runtime: str, tmp_path: Path) -> None:
    result = await run(runtime, tmp_path, "cat", "/proc/net/dev")
    lines = result.stdout.decode().splitlines()[2:]
    assert [line.split(":")[0].strip() for line in lines] == ["lo"]


async def test_real_root_read_only(runtime: str, tmp_path: Path) -> None:
    result = await run(runtime, tmp_path, "touch", "/written")
    assert result.exit_code != 0
    assert b"Read-only file system" in result.stderr


async def test_real_workload_failure(runtime: str, tmp_path: Path) -> None:
    result = await run(runtime, tmp_path, "sh", "-c", "echo no >&2; exit 7")
    assert result.exit_code == 7
    assert result.stderr == b"no\n"


async def test_real_missing_image_is_runtime_fault(
    runtime: str, tmp_path: Path, prefix: str
) -> None:
    with pytest.raises(SandboxRuntimeError) as caught:
        await run(
            runtime,
            tmp_path,
            "true",
            image="localhost/wfcompute-absent:none",
            prefix=prefix,
        )
    assert caught.value.exit_code == 125
    assert containers(runtime, prefix) == []


async def test_real_timeout_removes_container(
    runtime: str, tmp_path: Path, prefix: str
) -> None:
    with pytest.raises(SandboxTimeoutError) as caught:
        await run(runtime, tmp_path, "sleep", "60", timeout=3.0, prefix=prefix)
    assert caught.value.removed is True
    assert caught.value.container.startswith(prefix + "-")
    assert caught.value.result is not None
    assert caught.value.result.resource_usage.limit_hit == "timeout"
    assert containers(runtime, prefix) == []


async def test_real_workspace_with_colon(runtime: str, tmp_path: Path) -> None:
    workspace = tmp_path / "work:space"
    workspace.mkdir()
    result = await run(runtime, workspace, "sh", "-c", "echo x > f")
    assert result.exit_code == 0
    assert (workspace / "f").read_text() == "x\n"


async def test_real_build_digest_from_state_dir(
    runtime: str, tmp_path: Path, prefix: str
) -> None:
    dockerfile = b"FROM scratch\nCOPY . /\n"
    (tmp_path / "app").mkdir()
    (tmp_path / "app" / "Dockerfile").write_bytes(dockerfile)
    (tmp_path / "app" / "Dockerfile").chmod(0o600)
    os.chmod(tmp_path, 0o700)
    workload = ContainerBuildWorkload(
        context_directory="app",
        tags=("example:one", "example:two"),
        env=(EnvRef(name="DOCKER_CONFIG_JSON", secret_ref="secret://cfg"),),
    )
    invocation = build_container_build_invocation(
        task_id="task-1",
        lease_id="lease-1",
        image=BUILDER_IMAGE,
        workspace=str(tmp_path),
        workload=workload,
        resolved_env={"secret://cfg": "{}"},
        timeout=60.0,
    )
    result = await build_sandboxed_container(invocation, target(runtime, prefix))
    lines = result.stdout.decode().splitlines()
    assert lines[:5] == [
        "context=app",
        "dockerfile=Dockerfile",
        'tags=["example:one","example:two"]',
        "push=false",
        "config={}",
    ]
    assert result.artifact_hash == "sha256:" + hashlib.sha256(dockerfile).hexdigest()
    assert stat.S_IMODE(os.stat(tmp_path).st_mode) == 0o700
    assert stat.S_IMODE((tmp_path / "app" / "Dockerfile").stat().st_mode) == 0o600
    assert containers(runtime, prefix) == []


async def test_real_cancel_removes_container(
    runtime: str, tmp_path: Path, prefix: str
) -> None:
    with anyio.move_on_after(3.0) as scope:
        await run(runtime, tmp_path, "sleep", "60", timeout=60.0, prefix=prefix)
    assert scope.cancelled_caught
    assert containers(runtime, prefix) == []
