"""Child processes of probe steps: own session, exact env, capped output, group kill."""

from __future__ import annotations

import ctypes
import logging
import os
import shlex
import signal
import subprocess
import sys
import time
from typing import TYPE_CHECKING

import anyio
import attrs

from .._errors import CommandStartError, ProbeConfigError, ProbeTimeoutError

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    from anyio.abc import ByteReceiveStream, Process

logger = logging.getLogger("wfc_container.probes")

_PR_SET_CHILD_SUBREAPER = 36
# Bounds of the cleanup after a timeout, in seconds. They keep the whole cleanup
# under 0.3 s, so a hung step is reported soon after its timeout.
_TERM_GRACE = 0.1
_REAP_GRACE = 0.1
# A process that left the group (for example with setsid) can keep a pipe open
# after the group is gone, so reading stops this long after the leader exits.
_DRAIN_GRACE = 0.5


@attrs.frozen(kw_only=True)
class CommandResult:
    """
    Outcome of one command that ran to completion.

    ``exit_code`` is negative when a signal ended the command (``-9`` for
    SIGKILL). ``duration`` is in seconds. Each output stream keeps at most the
    ``max_output`` bytes passed to :func:`run_command`, and the matching
    ``*_truncated`` flag is set when more was read and dropped.
    """

    argv: tuple[str, ...]
    exit_code: int
    stdout: bytes
    stderr: bytes
    duration: float
    stdout_truncated: bool = False
    stderr_truncated: bool = False


class _Capture:
    """Bytes read from one pipe, kept up to a limit, the rest counted as dropped."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.chunks: list[bytes] = []
        self.size = 0
        self.truncated = False

    async def drain(self, stream: ByteReceiveStream | None) -> None:
        if stream is None:
            return

        async for chunk in stream:
            room = self.limit - self.size
            if len(chunk) > room:
                self.truncated = True
                chunk = chunk[:room]

            if chunk:
                self.chunks.append(chunk)
                self.size += len(chunk)

    def data(self) -> bytes:
        return b"".join(self.chunks)


class _Child:
    """A started command, its process group and what it has written so far."""

    def __init__(self, process: Process, max_output: int) -> None:
        self.process = process
        # start_new_session makes the child the leader of a new session and of
        # a new process group whose id is the child's pid.
        self.pgid = process.pid
        self.stdout = _Capture(max_output)
        self.stderr = _Capture(max_output)
        self.exit_code: int | None = None

    async def collect(self) -> None:
        """Read both pipes until EOF and record the leader's exit code."""
        async with anyio.create_task_group() as tg:
            tg.start_soon(self.stdout.drain, self.process.stdout)
            tg.start_soon(self.stderr.drain, self.process.stderr)
            self.exit_code = await self.process.wait()
            # Group members that outlive the leader would keep the pipes open
            # and the drains waiting, so they go with it.
            self.signal_group(signal.SIGKILL)
            tg.cancel_scope.deadline = anyio.current_time() + _DRAIN_GRACE

        if tg.cancel_scope.cancelled_caught:
            logger.warning(
                "probe.command.pipe_held_open pid=%s grace=%s",
                self.pgid,
                _DRAIN_GRACE,
            )

    async def close(self) -> None:
        """Kill what is left of the group and reap the leader and its orphans."""
        if self.exit_code is None:
            self.signal_group(signal.SIGTERM)
            with anyio.move_on_after(_TERM_GRACE):
                await self.process.wait()

        self.signal_group(signal.SIGKILL)
        await self.process.aclose()
        await self._reap_group()

    def signal_group(self, signum: signal.Signals) -> None:
        # NOTE: once the leader is reaped and no member is left, the kernel may
        # reuse the group id. A new group that got it in the microseconds
        # before this call would receive the signal.
        try:
            os.killpg(self.pgid, signum)
        except ProcessLookupError:
            pass

    async def _reap_group(self) -> None:
        # Only a subreaper inherits the group's orphans, so elsewhere the first
        # waitpid raises ChildProcessError. waitpid(-pgid) never touches the
        # children of other groups, which the event loop reaps on its own.
        with anyio.move_on_after(_REAP_GRACE):
            while True:
                try:
                    pid, _ = os.waitpid(-self.pgid, os.WNOHANG)  # noqa: ASYNC222
                except ChildProcessError:
                    return

                if pid == 0:
                    await anyio.sleep(0.005)

    def result(self, argv: tuple[str, ...], duration: float) -> CommandResult:
        assert self.exit_code is not None
        return CommandResult(
            argv=argv,
            exit_code=self.exit_code,
            stdout=self.stdout.data(),
            stderr=self.stderr.data(),
            duration=duration,
            stdout_truncated=self.stdout.truncated,
            stderr_truncated=self.stderr.truncated,
        )


async def run_command(
    argv: Sequence[str],
    *,
    env: Mapping[str, str],
    timeout: float | None,
    step: str,
    cwd: str | None = None,
    max_output: int = 1 << 20,
) -> CommandResult:
    """
    Run one command of a probe step and return its exit code and output.

    The child runs in a new session (so it has no controlling terminal and
    leads its own process group), reads stdin from ``/dev/null`` and gets
    exactly ``env`` as its environment, nothing inherited. stdout and stderr
    are read concurrently. When the command exits, the rest of its process group is
    killed, so a background child cannot hold the pipes open. A non-zero exit
    code is returned in the result, not raised.

    :param argv: the command and its arguments; ``argv[0]`` is looked up on
        the ``PATH`` of ``env`` unless it contains a slash.
    :param env: the complete environment of the child.
    :param timeout: limit in seconds for the whole command, or ``None`` for no
        limit. When it expires, the process group gets SIGTERM, then SIGKILL
        0.1 s later at most, and is reaped before the error is raised.
    :param step: name of the probe step, carried by the timeout error.
    :param cwd: working directory of the child; ``None`` keeps ours.
    :param max_output: bytes kept per stream; the rest is read and dropped.
    :returns: the exit code, the captured output and the duration.
    :raises CommandStartError: when the command cannot be started.
    :raises ProbeTimeoutError: when ``timeout`` expires first.
    :raises ProbeConfigError: when ``argv`` is empty or ``max_output`` is
        negative.

    .. note::
       Orphans of the command's group are reaped only when this process is a
       subreaper (see :func:`become_subreaper`); otherwise they are killed and
       left to init to reap. A process that moved to another process group or
       session is not killed.
    """
    command = _check_arguments(argv, max_output)
    logger.debug("probe.command.started argv=%s", shlex.join(command))
    started = time.monotonic()
    child = _Child(await _spawn(command, env=env, cwd=cwd), max_output)
    try:
        with anyio.move_on_after(timeout):
            await child.collect()
    finally:
        with anyio.CancelScope(shield=True):
            await child.close()

    if child.exit_code is None:
        assert timeout is not None
        raise ProbeTimeoutError(step=step, timeout=timeout, argv=command)

    duration = time.monotonic() - started
    logger.debug(
        "probe.command.finished exit_code=%s duration=%.3f", child.exit_code, duration
    )
    return child.result(command, duration)


def become_subreaper() -> bool:
    """
    Make this process the reaper of orphaned descendants (Linux only).

    A subreaper inherits the orphans of its descendants instead of init, so
    :func:`run_command` can reap the killed members of a command's process
    group itself. This matters when this process is PID 1 of a container,
    where such orphans would otherwise stay zombies.

    :returns: ``True`` when the setting took effect, ``False`` on other
        platforms or when ``prctl`` failed.

    .. note::
       The setting applies to the whole process and its threads. Orphans that
       left their process group, such as daemons a runtime starts for
       itself, become this process's children as well, and they remain
       zombies after they exit until this process exits.
    """
    if not sys.platform.startswith("linux"):
        return False

    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return bool(libc.prctl(_PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0)
    except (OSError, AttributeError):
        return False


def _check_arguments(argv: Sequence[str], max_output: int) -> tuple[str, ...]:
    command = tuple(argv)
    if not command:
        raise ProbeConfigError(
            field="argv", value=command, expected="a command and its arguments"
        )

    if max_output < 0:
        raise ProbeConfigError(
            field="max_output", value=max_output, expected="a size of 0 or more bytes"
        )

    return command


async def _spawn(
    argv: tuple[str, ...], *, env: Mapping[str, str], cwd: str | None
) -> Process:
    try:
        return await anyio.open_process(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            cwd=cwd,
            env=dict(env),
            start_new_session=True,
        )
    except OSError as exc:
        raise CommandStartError(argv=argv, reason=_describe(exc, argv)) from exc


def _describe(exc: OSError, argv: tuple[str, ...]) -> str:
    reason = exc.strerror or type(exc).__name__
    reason = reason[:1].lower() + reason[1:]
    # subprocess names the working directory when it is the part that failed.
    if exc.filename is not None and exc.filename not in (argv[0], os.fsencode(argv[0])):
        return f"{reason}: {exc.filename!r}"

    return reason
