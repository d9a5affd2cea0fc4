from __future__ import annotations

import base64
import json
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
            "error: sandbox run: --env 'NOVALUE' is not NAME=VALUE",
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
