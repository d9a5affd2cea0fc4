"""
Execution of one hardened container run through the probes' process layer.

Each container gets a unique ``--name``. When the timeout expires or the caller
cancels, killing the runtime CLI is not enough (a Docker daemon or Podman's
conmon keeps the container running), so the container itself is removed with
``<tool> rm -f <name>`` before the error propagates.
"""

from __future__ import annotations

import contextlib
import functools
import os
import secrets
import shutil
import stat
import tempfile
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import anyio
import anyio.to_thread
import attrs

from .._errors import CommandStartError, ProbeTimeoutError
from ..probes._env import build_child_env
from ..probes._process import run_command
from ._argv import build_run_argv
from ._env import check_env, write_env_file
from ._errors import SandboxRuntimeError, SandboxTimeoutError, UnsafePathError
from ._wire import ResourceUsage, RuntimeExecutionResult
from ._workspace import (
    loosen_workspace_modes,
    measure_workspace,
    restore_workspace_modes,
)

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Iterator, Mapping

    from ..probes._process import CommandResult
    from ._argv import RunSpec, RuntimeTarget

# Exit codes with which docker, podman and nerdctl report their own failures
# (125) or a command the container could not start (126, 127).
RUNTIME_FAULT_CODES = (125, 126, 127)
# Lines that only the runtime CLIs write when they fail.
_RUNTIME_ERROR_PREFIXES = ("docker: ", "Error: ", "Error response from daemon")
REMOVE_TIMEOUT = 30.0
# Podman's "rm -f" first waits 10 s for the container to stop; Docker's and
# nerdctl's kill at once.
_REMOVE_NOW = {"podman": ("--time", "0")}
_REMOVE_ATTEMPTS = 3
DEFAULT_MAX_OUTPUT = 1 << 20


async def execute_run(
    spec: RunSpec,
    target: RuntimeTarget,
    *,
    env: Mapping[str, str],
    timeout: float,
    operation: str,
    limit_hit: str = "timeout",
    build_state_dir: str | None = None,
) -> RuntimeExecutionResult:
    """
    Run ``spec`` on ``target`` and return the workload's exit code and output.

    The env travels in a 0600 file inside a private temporary directory that
    is removed on every path that Python code runs, cancellation included.
    stdout and stderr are each kept up to ``limits.output_bytes`` (1 MiB when
    it is 0); when output was cut, ``resource_usage.limit_hit`` is
    ``output_bytes``.

    :param env: the workload's environment variables.
    :param timeout: limit in seconds for the whole run.
    :param operation: name used in errors (``run-sandboxed-command``).
    :param limit_hit: label stored in ``resource_usage.limit_hit`` on timeout.
    :param build_state_dir: host directory mounted at ``/wfcompute-build``.
    :returns: the result; a non-zero ``exit_code`` is the workload's own.
    :raises SandboxRuntimeError: when the runtime itself failed.
    :raises SandboxTimeoutError: when ``timeout`` expired, after an attempt
        to remove the container. Its ``removed`` attribute tells whether the
        container is gone.
    :raises CommandStartError: when the runtime CLI cannot be started.
    :raises SandboxRequestError: when a value of ``spec`` is not acceptable.

    .. note::
       If this process is killed outright (SIGKILL), no cleanup runs: the env
       file's private directory stays in the temporary directory, and the
       container keeps running until something removes it by name.
    """
    spec = attrs.evolve(spec, workspace=checked_workspace(spec.workspace))
    name = f"{target.name_prefix}-{secrets.token_hex(8)}"
    make_argv = functools.partial(
        build_run_argv,
        spec,
        target,
        name=name,
        user=(os.getuid(), os.getgid()),
        build_state_dir=build_state_dir,
    )
    # Checked before the workspace modes or the env file are touched.
    make_argv(env_file=None)
    check_env(env)
    async with _readable_workspace(spec.workspace, enabled=spec.run_as_root):
        with _env_file(env) as env_file:
            argv = make_argv(env_file=env_file)
            max_output = spec.limits.output_bytes or DEFAULT_MAX_OUTPUT
            context = _RunContext(
                name=name,
                operation=operation,
                timeout=timeout,
                limit_hit=limit_hit,
                tool=target.tool,
                workspace=spec.workspace,
                started=datetime.now(UTC),
            )
            command = await _run_container(
                argv, target, name=name, timeout=timeout, max_output=max_output
            )
            return await _finish(command, context)


def checked_workspace(workspace: str) -> str:
    """
    Return ``workspace`` as an absolute path after checking it is a real directory.

    :raises UnsafePathError: when it does not exist, is a symlink or is not a
        directory.
    """
    path = os.path.abspath(workspace)
    try:
        mode = os.lstat(path).st_mode
    except FileNotFoundError:
        raise UnsafePathError(path=path, problem="does not exist") from None

    if stat.S_ISLNK(mode):
        raise UnsafePathError(path=path, problem="is a symlink")

    if not stat.S_ISDIR(mode):
        raise UnsafePathError(path=path, problem="is not a directory")

    return path


async def remove_container(target: RuntimeTarget, name: str) -> bool:
    """
    Force-remove container ``name`` and return whether it is gone.

    Each attempt runs ``rm -f`` and then checks ``ps -a``, because a runtime
    may still be creating the container when its CLI was killed.
    """
    prefix = target.command_prefix()
    env = _cli_env()
    for attempt in range(_REMOVE_ATTEMPTS):
        if attempt:
            await anyio.sleep(0.5)

        with contextlib.suppress(ProbeTimeoutError, CommandStartError):
            await run_command(
                [*prefix, "rm", "-f", *_REMOVE_NOW.get(target.tool, ()), name],
                env=env,
                timeout=REMOVE_TIMEOUT,
                step="remove",
            )
            listing = await run_command(
                [*prefix, "ps", "-a", "-q", "--filter", f"name=^{name}$"],
                env=env,
                timeout=REMOVE_TIMEOUT,
                step="remove",
            )
            if listing.exit_code == 0 and not listing.stdout.strip():
                return True

    return False


def runtime_fault(command: CommandResult) -> str | None:
    """
    Return the runtime's error line when ``command`` failed in the runtime itself.

    A fault is an exit code of 125, 126 or 127 together with an error line
    that only the runtime CLI writes, or a CLI that a signal ended.

    .. note::
       A workload that itself prints such a line to stderr and exits with 125,
       126 or 127 is reported as a runtime fault.
    """
    if command.exit_code < 0:
        return f"the runtime CLI was ended by signal {-command.exit_code}"

    if command.exit_code not in RUNTIME_FAULT_CODES:
        return None

    for line in command.stderr.decode("utf-8", errors="replace").splitlines():
        stripped = line.strip()
        if stripped.startswith(_RUNTIME_ERROR_PREFIXES) or "level=fatal" in stripped:
            return stripped

    return None


async def _run_container(
    argv: list[str],
    target: RuntimeTarget,
    *,
    name: str,
    timeout: float,
    max_output: int,
) -> CommandResult | bool:
    """Run ``argv``; on timeout remove the container and return whether it is gone."""
    try:
        return await run_command(
            argv, env=_cli_env(), timeout=timeout, step="run", max_output=max_output
        )
    except ProbeTimeoutError:
        removed = False
        with anyio.CancelScope(shield=True):
            removed = await remove_container(target, name)
        return removed
    except anyio.get_cancelled_exc_class():
        with anyio.CancelScope(shield=True):
            await remove_container(target, name)
        raise


@attrs.frozen(kw_only=True)
class _RunContext:
    name: str
    operation: str
    timeout: float
    limit_hit: str
    tool: str
    workspace: str
    started: datetime


async def _finish(
    command: CommandResult | bool, context: _RunContext
) -> RuntimeExecutionResult:
    """Build the result; raise for a timeout (``command`` is then ``removed``)."""
    finished = datetime.now(UTC)
    workspace_bytes = await anyio.to_thread.run_sync(
        measure_workspace, context.workspace
    )
    if isinstance(command, bool):
        usage = ResourceUsage(
            workspace_bytes=workspace_bytes, limit_hit=context.limit_hit
        )
        raise SandboxTimeoutError(
            operation=context.operation,
            timeout=context.timeout,
            container=context.name,
            removed=command,
            result=RuntimeExecutionResult(
                started_at=context.started, finished_at=finished, resource_usage=usage
            ),
        )

    result = _completed_result(command, context.started, finished, workspace_bytes)
    fault = runtime_fault(command)
    if fault is not None:
        raise SandboxRuntimeError(
            tool=context.tool, exit_code=command.exit_code, message=fault, result=result
        )

    return result


def _completed_result(
    command: CommandResult, started: datetime, finished: datetime, workspace_bytes: int
) -> RuntimeExecutionResult:
    truncated = command.stdout_truncated or command.stderr_truncated
    usage = ResourceUsage(
        workspace_bytes=workspace_bytes,
        output_bytes=len(command.stdout) + len(command.stderr),
        limit_hit="output_bytes" if truncated else "",
    )
    return RuntimeExecutionResult(
        started_at=started,
        finished_at=finished,
        exit_code=command.exit_code,
        stdout=command.stdout,
        stderr=command.stderr,
        resource_usage=usage,
    )


def _cli_env() -> dict[str, str]:
    # The runtime CLI gets only the session and endpoint variables; workload
    # variables go through the env file, never through the CLI's environment.
    return build_child_env(os.environ).env


@contextlib.asynccontextmanager
async def _readable_workspace(workspace: str, *, enabled: bool) -> AsyncIterator[None]:
    if not enabled:
        yield
        return

    records = await anyio.to_thread.run_sync(loosen_workspace_modes, workspace)
    try:
        yield
    finally:
        with anyio.CancelScope(shield=True):
            await anyio.to_thread.run_sync(restore_workspace_modes, workspace, records)


@contextlib.contextmanager
def _env_file(env: Mapping[str, str]) -> Iterator[str | None]:
    if not env:
        yield None
        return

    directory = tempfile.mkdtemp(prefix="wfcompute-sandbox-env-")
    try:
        yield write_env_file(directory, env)
    finally:
        shutil.rmtree(directory, ignore_errors=True)
