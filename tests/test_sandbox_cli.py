from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
from typing import TYPE_CHECKING

import pytest

from sandbox_fake_runtime import make_fake_runtime, read_calls
from wfc_container._cli import main

if TYPE_CHECKING:
    from pathlib import Path


@pytest.fixture
def fake_docker(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    directory = tmp_path / "bin"
    make_fake_runtime(directory, "docker", {"stdout": "hello\n", "exit": 0})
    monkeypatch.setenv("PATH", f"{directory}:/usr/bin:/bin")
    return directory


def run_cli(workspace: Path, *extra: str) -> list[str]:
    return [
        "sandbox",
        "run",
        "--backend",
        "docker",
        "--image",
        "sandbox-image",
        "--workspace",
        str(workspace),
        *extra,
    ]


def test_cli_prints_result(
    tmp_path: Path, fake_docker: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(run_cli(tmp_path, "--env", "A=x=1", "--", "sh", "-c", "echo hello"))
    output = json.loads(capsys.readouterr().out)
    assert code == 0
    assert base64.b64decode(output["stdout"]) == b"hello\n"
    assert "exit_code" not in output
    assert output["resource_usage"]["output_bytes"] == 6
    (call,) = read_calls(fake_docker)
    argv = call["argv"]
    assert isinstance(argv, list)
    assert argv[-4:] == ["sandbox-image", "sh", "-c", "echo hello"]
    assert call["env_file"] == "A=x=1\n"


def test_cli_workload_failure_exit(
    tmp_path: Path, fake_docker: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    make_fake_runtime(fake_docker, "docker", {"exit": 4})
    code = main(run_cli(tmp_path, "--", "false"))
    assert code == 1
    assert json.loads(capsys.readouterr().out)["exit_code"] == 4


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ((), "error: sandbox run: a command is required after --"),
        (
            ("--env", "NOVALUE", "--", "x"),
            "error: sandbox run: invalid --env 'NOVALUE': expected NAME=VALUE with a"
            " non-empty NAME",
        ),
        (
            ("--env", "1A=x", "--", "x"),
            "error: sandbox run: invalid env name '1A': expected a letter or '_'"
            " followed by letters, digits or '_'",
        ),
    ],
)
def test_cli_usage_errors(
    tmp_path: Path,
    fake_docker: Path,
    capsys: pytest.CaptureFixture[str],
    extra: tuple[str, ...],
    message: str,
) -> None:
    code = main(run_cli(tmp_path, *extra))
    assert code == 2
    assert capsys.readouterr().err.strip() == message
    assert read_calls(fake_docker) == []


def test_cli_unknown_backend(
    tmp_path: Path, fake_docker: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = run_cli(tmp_path, "--", "x")
    argv[argv.index("docker")] = "lxc"
    code = main(argv)
    assert code == 2
    err = capsys.readouterr().err
    assert err.startswith(
        "error: sandbox run: invalid backend 'lxc': expected one of docker, "
    )


def test_cli_runtime_fault_exit(
    tmp_path: Path, fake_docker: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    line = "docker: Error response from daemon: No such image: sandbox-image"
    make_fake_runtime(fake_docker, "docker", {"exit": 125, "stderr": line + "\n"})
    code = main(run_cli(tmp_path, "--", "true"))
    assert code == 1
    assert capsys.readouterr().err.strip() == (
        f"error: docker run failed with exit code 125: {line}"
    )


def test_cli_bad_timeout(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(run_cli(tmp_path, "--timeout", "0", "--", "x"))
    assert code == 2
    assert "invalid seconds '0': expected a positive number" in capsys.readouterr().err


def run_module(argv: list[str], fake_dir: Path) -> subprocess.CompletedProcess[str]:
    """Run ``python -m wfc_container ARGV`` with the fake runtime first on PATH."""
    env = dict(os.environ, PATH=f"{fake_dir}:/usr/bin:/bin")
    return subprocess.run(
        [sys.executable, "-m", "wfc_container", *argv],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )


@pytest.mark.parametrize(
    ("layout", "extra", "message"),
    [
        ("missing", (), "argument --workspace: path '{ws}' does not exist"),
        ("file", (), "argument --workspace: path '{ws}' is not a directory"),
        ("symlink", (), "argument --workspace: path '{ws}' is a symlink"),
        (
            "comma",
            (),
            "argument --workspace: invalid mount source '{ws}': expected a path"
            " without ',', '\"', NUL, CR or LF",
        ),
        (
            "directory",
            ("--artifact", "../../etc/passwd"),
            "argument --artifact: path '../../etc/passwd' escapes the workspace",
        ),
        (
            "directory",
            ("--artifact", "/etc/passwd"),
            "argument --artifact: path '/etc/passwd' must be relative",
        ),
        (
            "directory",
            ("--env", "=x"),
            "invalid --env '=x': expected NAME=VALUE with a non-empty NAME",
        ),
    ],
)
def test_cli_bad_path_usage(
    tmp_path: Path,
    fake_docker: Path,
    layout: str,
    extra: tuple[str, ...],
    message: str,
) -> None:
    """A bad path or env from argv is a usage error before the runtime is called."""
    workspace = tmp_path / ("work,space" if layout == "comma" else "work")
    if layout == "file":
        workspace.write_text("")
    elif layout == "symlink":
        (tmp_path / "real").mkdir()
        workspace.symlink_to(tmp_path / "real")
    elif layout != "missing":
        workspace.mkdir()

    done = run_module(run_cli(workspace, *extra, "--", "true"), fake_docker)

    assert done.returncode == 2
    assert done.stdout == ""
    expected = "error: sandbox run: " + message.format(ws=workspace)
    assert done.stderr.strip() == expected
    assert read_calls(fake_docker) == []


def test_cli_backend_lists_accepted(tmp_path: Path, fake_docker: Path) -> None:
    argv = run_cli(tmp_path, "--", "true")
    argv[argv.index("docker")] = "lxc"

    done = run_module(argv, fake_docker)

    assert done.returncode == 2
    assert done.stderr.startswith(
        "error: sandbox run: invalid backend 'lxc': expected one of docker, nerdctl,"
        " podman, "
    )
    assert "managed-containerd-linux-amd64" not in done.stderr
    assert read_calls(fake_docker) == []


def test_cli_managed_backend_hint(tmp_path: Path, fake_docker: Path) -> None:
    """A known backend the command cannot run keeps its reason and lists the rest."""
    argv = run_cli(tmp_path, "--", "true")
    argv[argv.index("docker")] = "managed-containerd-linux-amd64"

    done = run_module(argv, fake_docker)
    error, hint = done.stderr.splitlines()

    assert done.returncode == 2
    assert error.startswith(
        "error: sandbox run: invalid backend 'managed-containerd-linux-amd64':"
        " expected a system-installed backend"
    )
    assert hint.startswith("hint: sandbox run accepts docker, nerdctl, podman")
    assert "managed-containerd-linux-amd64" not in hint
    assert read_calls(fake_docker) == []
