"""Tests for running probe commands: env, pipes, sessions, timeouts and group kills."""

from __future__ import annotations

import ctypes
import logging
import os
import shutil
import signal
import uuid
from typing import TYPE_CHECKING

import anyio
import pytest

from fakes import write_fake
from wfc_container._errors import CommandStartError, ProbeConfigError, ProbeTimeoutError
from wfc_container.probes._env import build_child_env
from wfc_container.probes._process import become_subreaper, run_command

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

    from anyio.abc import SocketStream

_PR_SET_CHILD_SUBREAPER = 36
_PR_GET_CHILD_SUBREAPER = 37
# Writes the shell's pid, which is also the id of the command's process group,
# then waits on a background child: the hang of a docker with no daemon.
HANG = 'echo $$ > "$PIDFILE"\nsleep 3600 &\nwait'


@pytest.fixture(params=["asyncio", "trio"])
def anyio_backend(request: pytest.FixtureRequest) -> str:
    backend: str = request.param
    return backend


@pytest.fixture
def bin_dir(tmp_path: Path) -> Path:
    path = tmp_path / "bin"
    path.mkdir()
    return path


@pytest.fixture
def env(tmp_path: Path, bin_dir: Path) -> dict[str, str]:
    """Return a probe environment with the fakes first on PATH and a pid file."""
    child = build_child_env(os.environ).env
    child["PATH"] = f"{bin_dir}:{child['PATH']}"
    child["PIDFILE"] = str(tmp_path / "pid")
    return child


@pytest.fixture
def subreaper() -> Iterator[None]:
    """Make the test process a subreaper for one test, then undo it."""
    assert become_subreaper()
    yield
    libc = ctypes.CDLL(None, use_errno=True)
    assert libc.prctl(_PR_SET_CHILD_SUBREAPER, 0, 0, 0, 0) == 0


def group_members(pgid: int) -> list[tuple[int, str]]:
    """Return ``(pid, state)`` of every process, zombies included, in a group."""
    members = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue

        try:
            with open(f"/proc/{entry}/stat") as file:
                stat = file.read()
        except OSError:
            continue

        # The command name is in parentheses and may contain spaces.
        fields = stat[stat.rindex(")") + 2 :].split()
        if int(fields[2]) == pgid:
            members.append((int(entry), fields[0]))

    return members


def processes_with_marker(marker: str) -> list[int]:
    """Return the pids whose environment contains ``marker`` (zombies have none)."""
    pids = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue

        try:
            with open(f"/proc/{entry}/environ", "rb") as file:
                environ = file.read()
        except OSError:
            continue

        if marker.encode() in environ:
            pids.append(int(entry))

    return pids


def read_pid(tmp_path: Path) -> int:
    return int((tmp_path / "pid").read_text())


async def test_run_command_exit_code(env: dict[str, str]) -> None:
    result = await run_command(
        ["sh", "-c", "echo out; echo err >&2; exit 7"], env=env, timeout=10, step="x"
    )

    assert result.exit_code == 7
    assert result.stdout == b"out\n"
    assert result.stderr == b"err\n"
    assert result.argv == ("sh", "-c", "echo out; echo err >&2; exit 7")
    assert result.stdout_truncated is False
    assert result.stderr_truncated is False
    assert result.duration >= 0


async def test_run_command_signal_exit(env: dict[str, str]) -> None:
    result = await run_command(
        ["sh", "-c", "kill -TERM $$"], env=env, timeout=10, step="x"
    )

    assert result.exit_code == -15


async def test_run_command_exact_env(env: dict[str, str]) -> None:
    """The child gets exactly the given variables, nothing inherited or added."""
    expected = {"PATH": env["PATH"], "ONLY_THIS": "value with spaces", "EMPTY": ""}

    result = await run_command(["env", "-0"], env=expected, timeout=10, step="x")

    lines = result.stdout.decode().split("\0")[:-1]
    assert dict(line.split("=", 1) for line in lines) == expected


async def test_run_command_stdin_devnull(env: dict[str, str]) -> None:
    result = await run_command(
        ["readlink", "/proc/self/fd/0"], env=env, timeout=10, step="x"
    )

    assert result.stdout == b"/dev/null\n"


async def test_run_command_new_session(env: dict[str, str]) -> None:
    """The child leads a new session and group, so it has no controlling tty."""
    result = await run_command(
        ["cat", "/proc/self/stat"], env=env, timeout=10, step="x"
    )

    stat = result.stdout.decode()
    pid = int(stat.split()[0])
    fields = stat[stat.rindex(")") + 2 :].split()
    assert int(fields[2]) == pid  # process group
    assert int(fields[3]) == pid  # session
    assert int(fields[4]) == 0  # controlling terminal


async def test_run_command_cwd(env: dict[str, str], tmp_path: Path) -> None:
    result = await run_command(
        ["pwd"], env=env, timeout=10, step="x", cwd=str(tmp_path)
    )

    assert result.stdout == f"{tmp_path}\n".encode()


async def test_run_command_truncates(env: dict[str, str]) -> None:
    script = "head -c 300000 /dev/zero; printf abc >&2"

    result = await run_command(
        ["sh", "-c", script], env=env, timeout=10, step="x", max_output=1000
    )

    assert result.stdout == b"\0" * 1000
    assert result.stdout_truncated is True
    assert result.stderr == b"abc"
    assert result.stderr_truncated is False
    assert result.exit_code == 0


async def test_run_command_output_at_limit(env: dict[str, str]) -> None:
    result = await run_command(
        ["printf", "abcd"], env=env, timeout=10, step="x", max_output=4
    )

    assert result.stdout == b"abcd"
    assert result.stdout_truncated is False


@pytest.mark.usefixtures("subreaper")
async def test_run_command_fc08_hang(
    env: dict[str, str], bin_dir: Path, tmp_path: Path
) -> None:
    """A docker that hangs in a child times out and leaves no process at all."""
    docker = write_fake(bin_dir, "docker", HANG)

    with pytest.raises(
        ProbeTimeoutError, match=r"^timed out in version step after 0\.5 s$"
    ) as info:
        await run_command(
            [str(docker), "version"], env=env, timeout=0.5, step="version"
        )

    assert info.value.step == "version"
    assert info.value.timeout == 0.5
    assert info.value.argv == (str(docker), "version")
    assert group_members(read_pid(tmp_path)) == []


async def test_run_command_hang_no_subreaper(
    env: dict[str, str], bin_dir: Path, tmp_path: Path
) -> None:
    """Without a subreaper the group is killed; init reaps the orphans later."""
    docker = write_fake(bin_dir, "docker", HANG)

    with pytest.raises(ProbeTimeoutError):
        await run_command([str(docker), "info"], env=env, timeout=0.5, step="version")

    # SIGKILL is sent, but an orphan may still be finishing its exit ("R") for a
    # moment under load, so wait a bounded time for it to become a zombie.
    pgid = read_pid(tmp_path)
    with anyio.move_on_after(2):
        while [m for m in group_members(pgid) if m[1] != "Z"]:  # noqa: ASYNC110
            await anyio.sleep(0.02)
    alive = [m for m in group_members(pgid) if m[1] != "Z"]
    assert alive == []


@pytest.mark.usefixtures("subreaper")
async def test_run_command_sigterm_ignored(
    env: dict[str, str], bin_dir: Path, tmp_path: Path
) -> None:
    """A group member that ignores SIGTERM still dies by SIGKILL."""
    script = "echo $$ > \"$PIDFILE\"\n(trap '' TERM; sleep 3600) &\nwait"
    fake = write_fake(bin_dir, "stubborn", script)

    with pytest.raises(ProbeTimeoutError):
        await run_command([str(fake)], env=env, timeout=0.5, step="run")

    assert group_members(read_pid(tmp_path)) == []


@pytest.mark.usefixtures("subreaper")
async def test_run_command_background_child(
    env: dict[str, str],
    bin_dir: Path,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A shell that exits while its child keeps stdout open returns its output.

    The group is killed as soon as the shell exits, so the pipes close at once,
    without waiting and without a warning about a pipe held open.
    """
    script = 'echo $$ > "$PIDFILE"\nsleep 3600 &\necho started'
    fake = write_fake(bin_dir, "leaver", script)
    caplog.set_level(logging.DEBUG, logger="wfc_container.probes")

    result = await run_command([str(fake)], env=env, timeout=10, step="version")

    assert result.exit_code == 0
    assert result.stdout == b"started\n"
    assert group_members(read_pid(tmp_path)) == []
    assert [r.levelno for r in caplog.records] == [logging.DEBUG, logging.DEBUG]


async def test_run_command_pipe_held_open(
    env: dict[str, str],
    bin_dir: Path,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A process that left the group and holds stdout does not block the result."""
    escape = """setsid sh -c 'echo $$ > "$PIDFILE"; exec sleep 3600' &"""
    wait_for_escape = 'until [ -s "$PIDFILE" ]; do sleep 0.01; done'
    fake = write_fake(bin_dir, "escaper", f"{escape}\n{wait_for_escape}\necho started")

    try:
        result = await run_command([str(fake)], env=env, timeout=10, step="version")
    finally:
        os.kill(read_pid(tmp_path), signal.SIGKILL)

    assert result.exit_code == 0
    assert result.stdout == b"started\n"
    assert [r.getMessage().split()[0] for r in caplog.records] == [
        "probe.command.pipe_held_open"
    ]


@pytest.mark.usefixtures("subreaper")
async def test_run_command_outer_cancel(
    env: dict[str, str], bin_dir: Path, tmp_path: Path
) -> None:
    """Cancellation from outside kills the group and still propagates."""
    docker = write_fake(bin_dir, "docker", HANG)

    with anyio.move_on_after(0.5) as scope:
        await run_command(
            [str(docker), "version"], env=env, timeout=None, step="version"
        )

    assert scope.cancelled_caught is True
    assert group_members(read_pid(tmp_path)) == []


@pytest.mark.usefixtures("subreaper")
async def test_run_command_concurrent(env: dict[str, str], bin_dir: Path) -> None:
    """Reaping one group never takes the exit status of another command.

    The commands exit between 0.31 s and 0.39 s, while the timed-out groups are
    being reaped, so a reaper that took any child would take theirs.
    """
    docker = write_fake(bin_dir, "docker", "sleep 3600 &\nwait")
    codes: dict[int, int] = {}
    timeouts: list[str] = []

    async def exit_with(code: int) -> None:
        script = f"sleep 0.3{code}; exit {code}"
        result = await run_command(["sh", "-c", script], env=env, timeout=10, step="x")
        codes[code] = result.exit_code

    async def hang(step: str) -> None:
        try:
            await run_command([str(docker)], env=env, timeout=0.3, step=step)
        except ProbeTimeoutError as exc:
            timeouts.append(exc.step)

    async with anyio.create_task_group() as tg:
        for step in ("version", "run"):
            tg.start_soon(hang, step)
        for code in range(1, 10):
            tg.start_soon(exit_with, code)

    assert codes == {code: code for code in range(1, 10)}
    assert sorted(timeouts) == ["run", "version"]


async def test_run_command_missing_executable(env: dict[str, str]) -> None:
    with pytest.raises(
        CommandStartError,
        match=r"^cannot start 'no-such-runtime': no such file or directory$",
    ) as info:
        await run_command(
            ["no-such-runtime", "version"], env=env, timeout=10, step="find"
        )

    assert info.value.argv == ("no-such-runtime", "version")
    assert isinstance(info.value.__cause__, FileNotFoundError)


async def test_run_command_not_executable(env: dict[str, str], bin_dir: Path) -> None:
    path = bin_dir / "plain"
    path.write_text("echo never\n")

    with pytest.raises(CommandStartError, match="permission denied") as info:
        await run_command([str(path)], env=env, timeout=10, step="find")

    assert isinstance(info.value.__cause__, PermissionError)


async def test_run_command_missing_cwd(env: dict[str, str], tmp_path: Path) -> None:
    missing = str(tmp_path / "gone")

    with pytest.raises(CommandStartError) as info:
        await run_command(["true"], env=env, timeout=10, step="x", cwd=missing)

    assert info.value.reason == f"no such file or directory: {missing!r}"
    assert isinstance(info.value.__cause__, FileNotFoundError)


async def test_run_command_empty_argv(env: dict[str, str]) -> None:
    with pytest.raises(ProbeConfigError, match=r"^invalid argv \(\): expected"):
        await run_command([], env=env, timeout=10, step="x")


async def test_run_command_negative_max_output(env: dict[str, str]) -> None:
    with pytest.raises(ProbeConfigError, match=r"^invalid max_output -1: expected"):
        await run_command(["true"], env=env, timeout=10, step="x", max_output=-1)


async def test_run_command_logs(
    env: dict[str, str], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="wfc_container.probes")

    await run_command(["sh", "-c", "exit 4"], env=env, timeout=10, step="x")

    assert [(r.name, r.levelno) for r in caplog.records] == [
        ("wfc_container.probes", logging.DEBUG),
        ("wfc_container.probes", logging.DEBUG),
    ]
    assert caplog.records[0].getMessage() == "probe.command.started argv=sh -c 'exit 4'"
    assert (
        caplog.records[1]
        .getMessage()
        .startswith("probe.command.finished exit_code=4 duration=")
    )


def test_become_subreaper_sets_flag(subreaper: None) -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    flag = ctypes.c_int(0)

    assert libc.prctl(_PR_GET_CHILD_SUBREAPER, ctypes.byref(flag), 0, 0, 0) == 0
    assert flag.value == 1


async def _hold_open(stream: SocketStream) -> None:
    async with stream:
        await anyio.sleep_forever()


@pytest.mark.skipif(shutil.which("docker") is None, reason="no docker client on PATH")
@pytest.mark.usefixtures("subreaper")
async def test_run_command_fc08_real_docker(
    env: dict[str, str], bin_dir: Path, tmp_path: Path
) -> None:
    """The real docker client stuck on a silent daemon times out and leaves nothing."""
    docker = shutil.which("docker")
    # exec keeps the pid, so the pid file names the docker process itself.
    wrapper = write_fake(
        bin_dir, "docker-wrapper", f'echo $$ > "$PIDFILE"\nexec {docker} "$@"'
    )
    marker = f"wfc-test-{uuid.uuid4().hex}"
    env |= {
        "DOCKER_CONFIG": str(tmp_path / "docker"),
        "WFC_TEST_MARKER": marker,
    }
    listener = await anyio.create_tcp_listener(local_host="127.0.0.1", local_port=0)
    port = listener.extra(anyio.abc.SocketAttribute.local_port)
    env["DOCKER_HOST"] = f"tcp://127.0.0.1:{port}"

    async with listener, anyio.create_task_group() as tg:
        tg.start_soon(listener.serve, _hold_open)
        with pytest.raises(ProbeTimeoutError) as info:
            await run_command(
                [str(wrapper), "version"], env=env, timeout=1, step="version"
            )

        tg.cancel_scope.cancel()

    assert info.value.timeout == 1
    assert group_members(read_pid(tmp_path)) == []
    assert processes_with_marker(marker) == []
