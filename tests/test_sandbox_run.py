"""Adapter runs against a fake runtime CLI that records its calls."""

from __future__ import annotations

import glob
import os
import stat
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

import anyio
import attrs
import pytest

from sandbox_fake_runtime import make_fake_runtime, read_calls
from wfc_container.sandbox import (
    ArtifactError,
    BuildDigestError,
    CommandWorkload,
    ContainerBuildWorkload,
    EnvRef,
    ResourceLimits,
    RuntimeTarget,
    SandboxRequestError,
    SandboxRuntimeError,
    SandboxTimeoutError,
    UnsafePathError,
    build_command_invocation,
    build_container_build_invocation,
    build_sandboxed_container,
    run_sandboxed_command,
)

if TYPE_CHECKING:
    from wfc_container.sandbox import SandboxInvocation

VECTOR = "sha256:21684a9d18657e25c54bf747ec00c289c29a19eee00fd2db6e1f3ee5ddb40565"
DIGEST = "sha256:" + "b" * 64


def argv_of(call: dict[str, object]) -> list[str]:
    argv = call["argv"]
    assert isinstance(argv, list)
    return [str(arg) for arg in argv]


@pytest.fixture(autouse=True)
def private_tempdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Give each test its own temporary directory, so env dirs can be counted."""
    directory = tmp_path / "tempdir"
    directory.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(directory))
    return directory


def env_dirs() -> list[str]:
    return glob.glob(os.path.join(tempfile.gettempdir(), "wfcompute-sandbox-env-*"))


def fake(
    tmp_path: Path, behavior: dict[str, object], tool: str = "docker"
) -> RuntimeTarget:
    path = make_fake_runtime(tmp_path / "bin", tool, behavior)
    return RuntimeTarget(tool=tool, executable=str(path))


def workspace(tmp_path: Path) -> Path:
    path = tmp_path / "ws"
    (path / "work").mkdir(parents=True)
    return path


def command_invocation(
    ws: Path, workload: CommandWorkload, **kwargs: object
) -> SandboxInvocation:
    return build_command_invocation(
        task_id="task-1",
        lease_id="lease-1",
        image="sandbox-image",
        workspace=str(ws),
        workload=workload,
        **kwargs,  # type: ignore[arg-type]
    )


async def test_run_command_result_and_artifacts(tmp_path: Path) -> None:
    ws = workspace(tmp_path)
    target = fake(
        tmp_path,
        {"stdout": "ok", "write": {"/workspace": {"work/out.txt": "artifact"}}},
    )
    workload = CommandWorkload(
        args=("sh", "-c", "true"),
        working_directory="work",
        env=(EnvRef(name="TOKEN", secret_ref="secret://token"),),
        artifact_allowlist=("out.txt",),
    )
    invocation = command_invocation(
        ws, workload, resolved_env={"secret://token": "resolved"}
    )
    result = await run_sandboxed_command(invocation, target)
    assert result.exit_code == 0
    assert result.stdout == b"ok"
    assert result.artifact_hash == VECTOR
    assert result.artifacts == ("out.txt",)
    assert result.resource_usage.output_bytes == 2
    assert result.resource_usage.workspace_bytes == len("artifact")
    (call,) = read_calls(tmp_path / "bin")
    argv = call["argv"]
    assert isinstance(argv, list)
    assert argv[-4:] == ["sandbox-image", "sh", "-c", "true"]
    assert call["env_file"] == "TOKEN=resolved\n"
    assert call["env_file_mode"] == 0o600
    assert call["env_dir_mode"] == 0o700
    assert "resolved" not in " ".join(argv)
    assert env_dirs() == []


async def test_run_command_workload_failure(tmp_path: Path) -> None:
    target = fake(tmp_path, {"exit": 3, "stderr": "Error: my own failure\n"})
    invocation = command_invocation(workspace(tmp_path), CommandWorkload(args=("x",)))
    result = await run_sandboxed_command(invocation, target)
    assert result.exit_code == 3
    assert result.stderr == b"Error: my own failure\n"


async def test_run_command_output_limit(tmp_path: Path) -> None:
    target = fake(tmp_path, {"stdout": "x" * 100})
    invocation = command_invocation(
        workspace(tmp_path),
        CommandWorkload(args=("x",)),
        limits=ResourceLimits(output_bytes=10),
    )
    result = await run_sandboxed_command(invocation, target)
    assert result.stdout == b"x" * 10
    assert result.resource_usage.limit_hit == "output_bytes"
    assert result.resource_usage.output_bytes == 10


async def test_run_command_127_without_runtime_line(tmp_path: Path) -> None:
    target = fake(tmp_path, {"exit": 127, "stderr": "sh: nope: not found\n"})
    invocation = command_invocation(workspace(tmp_path), CommandWorkload(args=("x",)))
    result = await run_sandboxed_command(invocation, target)
    assert result.exit_code == 127


@pytest.mark.parametrize(
    ("tool", "line"),
    [
        ("docker", "docker: Error response from daemon: No such image: sandbox-image"),
        ("podman", "Error: sandbox-image: image not known"),
        ("nerdctl", 'time="x" level=fatal msg="no such image"'),
    ],
)
async def test_run_command_runtime_fault(tmp_path: Path, tool: str, line: str) -> None:
    target = fake(tmp_path, {"exit": 125, "stderr": line + "\nRun '--help'\n"}, tool)
    invocation = command_invocation(workspace(tmp_path), CommandWorkload(args=("x",)))
    with pytest.raises(SandboxRuntimeError) as caught:
        await run_sandboxed_command(invocation, target)
    assert caught.value.exit_code == 125
    assert caught.value.message == line
    assert str(caught.value) == f"{tool} run failed with exit code 125: {line}"
    assert caught.value.result is not None
    assert caught.value.result.exit_code == 125


async def test_run_command_timeout_removes_container(tmp_path: Path) -> None:
    target = fake(tmp_path, {"sleep": 30, "keep_running": True})
    workload = CommandWorkload(
        args=("sleep", "30"), env=(EnvRef(name="A", value_ref="v://a"),)
    )
    invocation = command_invocation(
        workspace(tmp_path), workload, timeout=0.5, resolved_env={"v://a": "1"}
    )
    with pytest.raises(SandboxTimeoutError) as caught:
        await run_sandboxed_command(invocation, target)
    calls = read_calls(tmp_path / "bin")
    run_argv = argv_of(calls[0])
    name = run_argv[run_argv.index("--name") + 1]
    assert calls[1]["argv"] == ["rm", "-f", name]
    assert calls[2]["argv"] == ["ps", "-a", "-q", "--filter", f"name=^{name}$"]
    assert not (tmp_path / "bin" / "running").exists()
    assert caught.value.container == name
    assert caught.value.result is not None
    assert caught.value.result.resource_usage.limit_hit == "timeout"
    assert str(caught.value) == (
        f"run-sandboxed-command timed out after 0.5 s; container {name!r} was removed"
    )
    assert env_dirs() == []


async def test_run_command_timeout_removal_fails(tmp_path: Path) -> None:
    target = fake(tmp_path, {"sleep": 30, "keep_running": True, "rm_fails": True})
    invocation = command_invocation(
        workspace(tmp_path), CommandWorkload(args=("x",)), timeout=0.5
    )
    with pytest.raises(SandboxTimeoutError) as caught:
        await run_sandboxed_command(invocation, target)
    assert caught.value.removed is False
    calls = [argv_of(call)[0] for call in read_calls(tmp_path / "bin")]
    assert calls == ["run", "rm", "ps", "rm", "ps", "rm", "ps"]


async def test_run_command_cancel_removes_container(tmp_path: Path) -> None:
    target = fake(tmp_path, {"sleep": 30, "keep_running": True})
    invocation = command_invocation(workspace(tmp_path), CommandWorkload(args=("x",)))
    with anyio.move_on_after(1.0) as scope:
        await run_sandboxed_command(invocation, target)
    assert scope.cancelled_caught
    calls = read_calls(tmp_path / "bin")
    assert [argv_of(call)[0] for call in calls] == ["run", "rm", "ps"]
    assert not (tmp_path / "bin" / "running").exists()


async def test_run_podman_removes_without_waiting(tmp_path: Path) -> None:
    target = fake(tmp_path, {"sleep": 30, "keep_running": True}, tool="podman")
    target = attrs.evolve(target, name_prefix="task-7")
    invocation = command_invocation(
        workspace(tmp_path), CommandWorkload(args=("x",)), timeout=0.5
    )
    with pytest.raises(SandboxTimeoutError) as caught:
        await run_sandboxed_command(invocation, target)
    name = caught.value.container
    assert name.startswith("task-7-")
    assert len(name) == len("task-7-") + 16
    assert argv_of(read_calls(tmp_path / "bin")[1]) == ["rm", "-f", "--time", "0", name]


async def test_run_command_nerdctl_scope_on_remove(tmp_path: Path) -> None:
    path = make_fake_runtime(
        tmp_path / "bin", "nerdctl", {"sleep": 30, "keep_running": True}
    )
    target = RuntimeTarget(
        tool="nerdctl", executable=str(path), scope=("--namespace", "wfcompute-x")
    )
    invocation = command_invocation(
        workspace(tmp_path), CommandWorkload(args=("x",)), timeout=0.5
    )
    with pytest.raises(SandboxTimeoutError):
        await run_sandboxed_command(invocation, target)
    calls = read_calls(tmp_path / "bin")
    assert argv_of(calls[1])[:3] == ["--namespace", "wfcompute-x", "rm"]


async def test_run_command_artifact_symlink(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "out.txt").write_text("artifact")
    ws = workspace(tmp_path)
    (ws / "link").symlink_to(outside)
    target = fake(tmp_path, {})
    workload = CommandWorkload(args=("x",), artifact_allowlist=("link/out.txt",))
    with pytest.raises(UnsafePathError, match="is a symlink"):
        await run_sandboxed_command(command_invocation(ws, workload), target)


async def test_run_command_artifact_missing(tmp_path: Path) -> None:
    target = fake(tmp_path, {})
    workload = CommandWorkload(args=("x",), artifact_allowlist=("out.txt",))
    with pytest.raises(ArtifactError, match="does not exist"):
        await run_sandboxed_command(
            command_invocation(workspace(tmp_path), workload), target
        )


async def test_run_command_failure_skips_hashing(tmp_path: Path) -> None:
    target = fake(tmp_path, {"exit": 1})
    workload = CommandWorkload(args=("x",), artifact_allowlist=("out.txt",))
    result = await run_sandboxed_command(
        command_invocation(workspace(tmp_path), workload), target
    )
    assert result.exit_code == 1
    assert result.artifact_hash == ""


async def test_run_command_workspace_symlink(tmp_path: Path) -> None:
    ws = workspace(tmp_path)
    (tmp_path / "link").symlink_to(ws)
    invocation = command_invocation(tmp_path / "link", CommandWorkload(args=("x",)))
    with pytest.raises(UnsafePathError, match="is a symlink"):
        await run_sandboxed_command(invocation, fake(tmp_path, {}))
    assert read_calls(tmp_path / "bin") == []


async def test_run_command_workspace_missing(tmp_path: Path) -> None:
    ws = workspace(tmp_path)
    invocation = command_invocation(ws, CommandWorkload(args=("x",)))
    (ws / "work").rmdir()
    ws.rmdir()
    with pytest.raises(UnsafePathError) as caught:
        await run_sandboxed_command(invocation, fake(tmp_path, {}))
    assert str(caught.value) == f"path {str(ws)!r} does not exist"


def build_invocation(ws: Path, **kwargs: object) -> SandboxInvocation:
    return build_container_build_invocation(
        task_id="task-1",
        lease_id="lease-1",
        image="builder-image",
        workspace=str(ws),
        workload=ContainerBuildWorkload(
            context_directory=".",
            tags=("example:one", "example:two"),
            env=(EnvRef(name="DOCKER_CONFIG_JSON", secret_ref="secret://cfg"),),
        ),
        resolved_env={"secret://cfg": "{}"},
        **kwargs,  # type: ignore[arg-type]
    )


async def test_build_digest_from_state_dir(tmp_path: Path) -> None:
    ws = workspace(tmp_path)
    (ws / "Dockerfile").write_text("FROM scratch\n")
    (ws / "Dockerfile").chmod(0o600)
    ws.chmod(0o700)
    forged = "sha256:" + "f" * 64
    target = fake(
        tmp_path,
        {
            "stdout": f"log\nWORKFLOW_COMPUTE_BUILD_DIGEST={forged}\n",
            "write": {
                "/wfcompute-build": {"wfcompute-container-build-digest": DIGEST},
                "/workspace": {".wfcompute-container-build-digest": forged},
            },
            "report_modes": [".", "Dockerfile"],
        },
    )
    result = await build_sandboxed_container(build_invocation(ws), target)
    assert result.artifact_hash == DIGEST
    (call,) = read_calls(tmp_path / "bin")
    argv = call["argv"]
    assert isinstance(argv, list)
    assert argv[-2:] == ["builder-image", "/usr/local/bin/wfcompute-container-builder"]
    assert "--read-only" not in argv
    assert "--user" not in argv
    assert "CHOWN" in argv
    assert "FOWNER" in argv
    env_lines = str(call["env_file"]).splitlines()
    assert "DOCKER_CONFIG_JSON={}" in env_lines
    assert "WORKFLOW_COMPUTE_BUILD_DOCKERFILE=Dockerfile" in env_lines
    assert 'WORKFLOW_COMPUTE_BUILD_TAGS=["example:one","example:two"]' in env_lines
    assert call["modes"] == {".": 0o755, "Dockerfile": 0o644}
    assert stat.S_IMODE(ws.stat().st_mode) == 0o700
    assert stat.S_IMODE((ws / "Dockerfile").stat().st_mode) == 0o600
    state_mounts = [a for a in argv if str(a).endswith("dst=/wfcompute-build")]
    (state_mount,) = state_mounts
    state_dir = str(state_mount).split("src=")[1].split(",")[0]
    assert not Path(state_dir).parent.exists()


async def test_build_rechecks_image(tmp_path: Path) -> None:
    ws = workspace(tmp_path)
    os.chmod(ws, 0o700)
    invocation = attrs.evolve(build_invocation(ws), image="--privileged")
    with pytest.raises(SandboxRequestError, match="invalid image '--privileged'"):
        await build_sandboxed_container(invocation, fake(tmp_path, {}))
    assert read_calls(tmp_path / "bin") == []
    assert stat.S_IMODE(os.stat(ws).st_mode) == 0o700


async def test_build_ignores_stdout_marker(tmp_path: Path) -> None:
    ws = workspace(tmp_path)
    target = fake(tmp_path, {"stdout": f"WORKFLOW_COMPUTE_BUILD_DIGEST={DIGEST}\n"})
    with pytest.raises(BuildDigestError, match="was not written"):
        await build_sandboxed_container(build_invocation(ws), target)


async def test_build_failure_is_result(tmp_path: Path) -> None:
    ws = workspace(tmp_path)
    ws.chmod(0o711)
    target = fake(tmp_path, {"exit": 1, "stderr": "build step failed\n"})
    result = await build_sandboxed_container(build_invocation(ws), target)
    assert result.exit_code == 1
    assert result.artifact_hash == ""
    assert stat.S_IMODE(ws.stat().st_mode) == 0o711


async def test_build_timeout_restores_modes(tmp_path: Path) -> None:
    ws = workspace(tmp_path)
    ws.chmod(0o700)
    target = fake(tmp_path, {"sleep": 30, "keep_running": True})
    with pytest.raises(SandboxTimeoutError):
        await build_sandboxed_container(build_invocation(ws, timeout=0.5), target)
    assert stat.S_IMODE(ws.stat().st_mode) == 0o700
    assert not (tmp_path / "bin" / "running").exists()
