"""Leaves of ``SandboxError``: one class per way a sandboxed run can fail."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .._errors import SandboxError

if TYPE_CHECKING:
    from collections.abc import Sequence

    from ._wire import RuntimeExecutionResult


class SandboxRequestError(SandboxError, ValueError):
    """A request value (image, env, network, path, limit) is not acceptable."""

    def __init__(
        self, *, field: str, value: object, expected: str, hint: str | None = None
    ) -> None:
        super().__init__(hint=hint)
        self.field = field
        self.value = value
        self.expected = expected

    def render(self) -> str:
        return f"invalid {self.field} {self.value!r}: expected {self.expected}"


class UnsafePathError(SandboxError, ValueError):
    """A path given for the workspace, a context or an artifact is not safe to use."""

    def __init__(self, *, path: str, problem: str) -> None:
        super().__init__()
        self.path = path
        self.problem = problem

    def render(self) -> str:
        return f"path {self.path!r} {self.problem}"


class ArtifactError(SandboxError, OSError):
    """An artifact named in the allowlist cannot be hashed."""

    def __init__(self, *, path: str, problem: str) -> None:
        super().__init__()
        self.path = path
        self.problem = problem

    def render(self) -> str:
        return f"artifact {self.path!r} {self.problem}"


class WorkspacePermissionError(SandboxError, OSError):
    """Workspace permissions could not be loosened for a root container or restored."""

    def __init__(self, *, action: str, paths: Sequence[str], reason: str) -> None:
        super().__init__()
        self.action = action
        self.paths = tuple(paths)
        self.reason = reason

    def render(self) -> str:
        listed = ", ".join(repr(path) for path in self.paths[:3])
        more = f" and {len(self.paths) - 3} more" if len(self.paths) > 3 else ""
        return f"cannot {self.action} workspace modes of {listed}{more}: {self.reason}"


class BuildDigestError(SandboxError):
    """The builder did not leave a valid sha256 image digest where the host reads it."""

    def __init__(self, *, path: str, problem: str) -> None:
        super().__init__()
        self.path = path
        self.problem = problem

    def render(self) -> str:
        return f"build digest file {self.path!r} {self.problem}"


class SandboxRuntimeError(SandboxError):
    """
    The container runtime itself failed, so the workload may never have run.

    ``result`` contains what was captured (exit code, output, times).
    """

    def __init__(
        self,
        *,
        tool: str,
        exit_code: int,
        message: str,
        result: RuntimeExecutionResult | None = None,
    ) -> None:
        super().__init__()
        self.tool = tool
        self.exit_code = exit_code
        self.message = message
        self.result = result

    def render(self) -> str:
        detail = f": {self.message}" if self.message else ""
        return f"{self.tool} run failed with exit code {self.exit_code}{detail}"


class SandboxTimeoutError(SandboxError, TimeoutError):
    """
    A workload did not finish within its timeout.

    ``removed`` tells whether the container is gone. ``result`` contains the
    times and ``resource_usage.limit_hit``.
    """

    def __init__(
        self,
        *,
        operation: str,
        timeout: float,
        container: str,
        removed: bool = True,
        result: RuntimeExecutionResult | None = None,
    ) -> None:
        super().__init__()
        self.operation = operation
        self.timeout = timeout
        self.container = container
        self.removed = removed
        self.result = result
        if not removed:
            self.hint = f"remove it with 'rm -f {container}' in its runtime"

    def render(self) -> str:
        state = "was removed" if self.removed else "could not be removed"
        return (
            f"{self.operation} timed out after {self.timeout:g} s;"
            f" container {self.container!r} {state}"
        )
