from __future__ import annotations

import pytest

from wfc_container import SandboxError, WfcError
from wfc_container.sandbox import (
    ArtifactError,
    BuildDigestError,
    SandboxRequestError,
    SandboxRuntimeError,
    SandboxTimeoutError,
    UnsafePathError,
    WorkspacePermissionError,
)

CASES = [
    (
        SandboxRequestError(field="network", value="host", expected="none"),
        "invalid network 'host': expected none",
    ),
    (
        UnsafePathError(path="../x", problem="escapes the workspace"),
        "path '../x' escapes the workspace",
    ),
    (ArtifactError(path="out", problem="is a symlink"), "artifact 'out' is a symlink"),
    (
        WorkspacePermissionError(action="loosen", paths=["/ws"], reason="denied"),
        "cannot loosen workspace modes of '/ws': denied",
    ),
    (
        BuildDigestError(path="/s/d", problem="was not written"),
        "build digest file '/s/d' was not written",
    ),
    (
        SandboxRuntimeError(tool="docker", exit_code=125, message="docker: no image"),
        "docker run failed with exit code 125: docker: no image",
    ),
    (
        SandboxRuntimeError(tool="podman", exit_code=-9, message=""),
        "podman run failed with exit code -9",
    ),
    (
        SandboxTimeoutError(
            operation="run-sandboxed-command", timeout=1.5, container="c"
        ),
        "run-sandboxed-command timed out after 1.5 s; container 'c' was removed",
    ),
    (
        SandboxTimeoutError(
            operation="build-sandboxed-container",
            timeout=60,
            container="c",
            removed=False,
        ),
        "build-sandboxed-container timed out after 60 s; container 'c' could not be"
        " removed",
    ),
]


@pytest.mark.parametrize(("error", "message"), CASES)
def test_error_render(error: WfcError, message: str) -> None:
    assert str(error) == message
    assert isinstance(error, SandboxError)


def test_error_builtin_bases() -> None:
    assert issubclass(SandboxTimeoutError, TimeoutError)
    assert issubclass(SandboxRequestError, ValueError)
    assert issubclass(UnsafePathError, ValueError)
    assert issubclass(ArtifactError, OSError)
    assert issubclass(WorkspacePermissionError, OSError)


def test_timeout_hint_when_not_removed() -> None:
    error = SandboxTimeoutError(operation="x", timeout=1, container="c", removed=False)
    assert error.hint == "remove it with 'rm -f c' in its runtime"
    assert SandboxTimeoutError(operation="x", timeout=1, container="c").hint is None
