from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest

from wfc_container._gojson import dumps
from wfc_container.sandbox import (
    CommandWorkload,
    ContainerBuildWorkload,
    EnvRef,
    ResourceLimits,
    SandboxRequestError,
    UnsafePathError,
    WorkloadKind,
    build_command_invocation,
    build_container_build_invocation,
)

if TYPE_CHECKING:
    from pathlib import Path


def command(tmp_path: Path, **changes: Any) -> dict[str, Any]:
    values: dict[str, Any] = {
        "task_id": "task-1",
        "lease_id": "lease-1",
        "image": "sandbox-image",
        "workspace": str(tmp_path),
        "workload": CommandWorkload(args=("true",)),
    }
    values.update(changes)
    return values


def test_command_invocation_request(tmp_path: Path) -> None:
    workload = CommandWorkload(
        args=("sh", "-c", "true"),
        env=(EnvRef(name="TOKEN", secret_ref="secret://token"),),
    )
    invocation = build_command_invocation(
        **command(tmp_path, workload=workload),
        resolved_env={"secret://token": "redacted-token"},
    )
    request = invocation.request
    assert request.protocol_version == "compute.v1alpha1"
    assert request.operation == "run-sandboxed-command"
    assert request.workload_kind is WorkloadKind.COMMAND
    assert request.env == {"TOKEN": "redacted-token"}
    assert request.input == {"args": ["sh", "-c", "true"]}
    assert invocation.network == "none"
    assert invocation.timeout == 60.0
    assert invocation.limit_hit == "timeout"


def test_command_request_json(tmp_path: Path) -> None:
    workload = CommandWorkload(
        args=("echo", "<hi>"),
        working_directory="work",
        env=(EnvRef(name="B", value_ref="v://b"), EnvRef(name="A", value_ref="v://a")),
    )
    invocation = build_command_invocation(
        **command(tmp_path, workload=workload),
        resolved_env={"v://a": "1", "v://b": "2"},
        limits=ResourceLimits(memory_bytes=1024),
    )
    assert dumps(invocation.request) == (
        '{"protocol_version":"compute.v1alpha1","task_id":"task-1",'
        '"lease_id":"lease-1","workload_kind":"command",'
        '"operation":"run-sandboxed-command",'
        '"input":{"args":["echo","\\u003chi\\u003e"],"working_directory":"work"},'
        '"env":{"A":"1","B":"2"},"limits":{"memory_bytes":1024}}'
    )


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"workspace": " "}, "invalid workspace ' ': expected a directory path"),
        ({"task_id": ""}, "invalid task_id '': expected a non-blank id"),
        ({"lease_id": " "}, "invalid lease_id ' ': expected a non-blank id"),
        (
            {"timeout": 0.0},
            "invalid timeout 0.0: expected a positive number of seconds",
        ),
        (
            {"timeout": float("nan")},
            "invalid timeout nan: expected a positive number of seconds",
        ),
        (
            {"limits": ResourceLimits(cpu_percent=-1)},
            "invalid limits.cpu_percent -1: expected 0 or more",
        ),
        (
            {"image": "--privileged"},
            "invalid image '--privileged': expected a reference without"
            " whitespace, not starting with '-'",
        ),
        (
            {"network": "host"},
            "invalid network 'host': expected 'none', 'bridge' or a managed"
            " 'wfcompute-*' network",
        ),
        (
            {"workload": CommandWorkload(args=())},
            "invalid command args (): expected at least one argument",
        ),
        (
            {"workload": CommandWorkload()},
            "invalid command args None: expected at least one argument",
        ),
        (
            {"workload": CommandWorkload(args=("x",), artifact_refs=("file://a",))},
            "invalid artifact ref 'file://a': expected artifact://<name> without '..'",
        ),
        (
            {"workload": CommandWorkload(args=("x",), artifact_refs=("artifact://",))},
            "invalid artifact ref 'artifact://': expected artifact://<name> without"
            " '..'",
        ),
        (
            {
                "workload": CommandWorkload(
                    args=("x",), artifact_refs=("artifact://a/../b",)
                )
            },
            "invalid artifact ref 'artifact://a/../b': expected artifact://<name>"
            " without '..'",
        ),
    ],
)
def test_command_invocation_rejected(
    tmp_path: Path, changes: dict[str, object], message: str
) -> None:
    with pytest.raises(SandboxRequestError) as caught:
        build_command_invocation(**command(tmp_path, **changes))
    assert str(caught.value) == message


@pytest.mark.parametrize("entry", ["/abs", "../up"])
def test_command_allowlist_rejected(tmp_path: Path, entry: str) -> None:
    workload = CommandWorkload(args=("x",), artifact_allowlist=(entry,))
    with pytest.raises(UnsafePathError):
        build_command_invocation(**command(tmp_path, workload=workload))


def build(tmp_path: Path, **changes: Any) -> dict[str, Any]:
    values: dict[str, Any] = {
        "task_id": "task-1",
        "lease_id": "lease-1",
        "image": "builder-image",
        "workspace": str(tmp_path),
        "workload": ContainerBuildWorkload(context_directory=".", tags=("a:1",)),
    }
    values.update(changes)
    return values


def test_build_invocation_request(tmp_path: Path) -> None:
    (tmp_path / "Dockerfile").write_text("FROM scratch\n")
    workload = ContainerBuildWorkload(
        context_directory=".",
        tags=("example:test",),
        env=(EnvRef(name="DOCKER_CONFIG_JSON", secret_ref="secret://docker-config"),),
    )
    invocation = build_container_build_invocation(
        **build(tmp_path, workload=workload),
        resolved_env={"secret://docker-config": "{}"},
    )
    assert invocation.request.operation == "build-sandboxed-container"
    assert invocation.request.workload_kind is WorkloadKind.CONTAINER_BUILD
    assert invocation.request.env == {"DOCKER_CONFIG_JSON": "{}"}
    assert invocation.request.input == {
        "context_directory": ".",
        "tags": ["example:test"],
    }
    assert invocation.timeout == 3600.0


def test_build_reserved_env(tmp_path: Path) -> None:
    workload = ContainerBuildWorkload(
        context_directory=".",
        tags=("a:1",),
        env=(EnvRef(name="WORKFLOW_COMPUTE_BUILD_DIGEST_FILE", value_ref="v://x"),),
    )
    with pytest.raises(SandboxRequestError, match="reserved 'WORKFLOW_COMPUTE_BUILD_'"):
        build_container_build_invocation(
            **build(tmp_path, workload=workload),
            resolved_env={"v://x": "/tmp/x"},
        )


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"workspace": ""}, "invalid workspace '': expected a directory path"),
        (
            {"workload": ContainerBuildWorkload(context_directory="", tags=("a",))},
            "invalid context_directory '': expected a directory in the workspace"
            " ('.' for the workspace itself)",
        ),
        (
            {"workload": ContainerBuildWorkload(context_directory=".")},
            "invalid tags []: expected at least one image tag",
        ),
    ],
)
def test_build_invocation_rejected(
    tmp_path: Path, changes: dict[str, object], message: str
) -> None:
    with pytest.raises(SandboxRequestError) as caught:
        build_container_build_invocation(**build(tmp_path, **changes))
    assert str(caught.value) == message


def test_build_context_symlink(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    workspace = tmp_path / "ws"
    workspace.mkdir()
    (workspace / "context-link").symlink_to(outside)
    workload = ContainerBuildWorkload(context_directory="context-link", tags=("a",))
    with pytest.raises(UnsafePathError, match="is a symlink"):
        build_container_build_invocation(
            **build(tmp_path, workspace=str(workspace), workload=workload)
        )


def test_build_dockerfile_symlink(tmp_path: Path) -> None:
    (tmp_path / "outside-file").write_text("FROM scratch\n")
    workspace = tmp_path / "ws"
    workspace.mkdir()
    (workspace / "Dockerfile").symlink_to(tmp_path / "outside-file")
    with pytest.raises(UnsafePathError, match="is a symlink"):
        build_container_build_invocation(**build(tmp_path, workspace=str(workspace)))


@pytest.mark.parametrize(
    ("workload", "problem"),
    [
        (ContainerBuildWorkload(context_directory="../up", tags=("a",)), "escapes"),
        (ContainerBuildWorkload(context_directory="/abs", tags=("a",)), "relative"),
        (
            ContainerBuildWorkload(
                context_directory=".", dockerfile="../Dockerfile", tags=("a",)
            ),
            "escapes",
        ),
    ],
)
def test_build_paths_outside(
    tmp_path: Path, workload: ContainerBuildWorkload, problem: str
) -> None:
    with pytest.raises(UnsafePathError, match=problem):
        build_container_build_invocation(**build(tmp_path, workload=workload))
